"""A clip's categories (`Labels`, as code-table rows) made into its English caption (through
`generate.prompt.build_prompt`, as `sori generate` builds one from a request) and its Korean caption."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..prompt import build_prompt
from ..taxonomy import Entry, Taxonomy, has_hangul, load_taxonomy, normalize
from .codes import Code


@dataclass
class Labels:
    """A clip's categories as code-table rows (or taxonomy entries wrapped as rows), before captions are made."""

    instruments: list[Code] = field(default_factory=list)
    unknown_instruments: list[str] = field(default_factory=list)
    genre: Code | None = None
    jangdan: Code | None = None
    mode: Code | None = None
    bpm: int | None = None
    solo: bool | None = None            # None: decide by the rule in `decide_solo`

    def decide_solo(self) -> bool:
        """One instrument only, a melodic one that is not a group, nothing unknown, and no ensemble genre."""
        if self.solo is not None:
            return self.solo
        return (len(self.instruments) == 1 and not self.unknown_instruments and self.instruments[0].melodic
                and not self.instruments[0].is_ensemble and not (self.genre is not None and self.genre.is_ensemble))

    def names(self) -> dict[str, frozenset[str]]:
        one = {"genres": self.genre, "tempos": self.jangdan, "modes": self.mode}
        out = {"instruments": frozenset(k for c in self.instruments for k in c.keys())}
        out.update({f: frozenset(c.keys()) if c is not None else frozenset() for f, c in one.items()})
        return out


def captions(labels: Labels, gugak: bool = True, taxonomy: Taxonomy | None = None) -> tuple[str, str, bool]:
    """The English caption (through `build_prompt`), the Korean caption, and whether the clip is solo.

    Categories the taxonomy has go in as taxonomy entries; the rest as English free text (`extra`). `gugak` adds
    "traditional Korean music" when nothing else in the caption says so. `GenerateError` when no caption can be
    made (e.g. solo without one instrument)."""
    tax = taxonomy or load_taxonomy()
    solo = labels.decide_solo()
    jangdan = labels.jangdan if labels.jangdan is not None and labels.jangdan.en else None
    return _english(labels, jangdan, solo, gugak, tax), _korean(labels, jangdan, solo, gugak), solo


def _english(labels: Labels, jangdan: Code | None, solo: bool, gugak: bool, tax: Taxonomy) -> str:
    inst_entries = [c.entry for c in labels.instruments if c.entry is not None]
    solo_entry = solo and len(inst_entries) == 1 and len(labels.instruments) == 1
    if solo and not solo_entry and labels.instruments:
        free = [f"solo {labels.instruments[0].phrase}"]                # the taxonomy lacks this instrument
    else:
        free = [c.phrase for c in labels.instruments if c.entry is None and c.phrase and not has_hangul(c.phrase)]
    genres = _genre(labels.genre, free)
    tempo = jangdan.entry if jangdan is not None else None
    if jangdan is not None and tempo is None and not has_hangul(jangdan.en):
        free.append(f"{jangdan.en} rhythm")
    mode = labels.mode.entry if labels.mode is not None else None
    if mode is None and labels.mode is not None and labels.mode.en and not has_hangul(labels.mode.en):
        free.append(labels.mode.phrase)
    if gugak and not any(e.gugak for e in (*inst_entries, *genres, tempo, mode) if e is not None):
        genres.append(tax.find("traditional Korean music", "genres"))
    return build_prompt(instruments=inst_entries, genres=genres, tempo=tempo, mode=mode, solo=solo_entry,
                        extra=", ".join(free), bpm=labels.bpm, taxonomy=tax).caption


def _genre(genre: Code | None, free: list[str]) -> list[Entry]:
    """The genre as a taxonomy entry; where the taxonomy lacks it, its English words go first into `free`."""
    if genre is None:
        return []
    if genre.entry is not None:
        if genre.en and normalize(genre.en) != normalize(genre.entry.en):
            free.append(genre.en)                                     # the piece's form, e.g. yeongsan hoesang
        return [genre.entry]
    if genre.phrase and not has_hangul(genre.phrase):
        free.insert(0, genre.phrase)
    return []


def _korean(labels: Labels, jangdan: Code | None, solo: bool, gugak: bool) -> str:
    ko: list[str] = []
    if labels.instruments:
        names = ", ".join(c.ko for c in labels.instruments)
        alone = "독창" if labels.instruments[0].code.startswith("V") else "독주"     # a voice sings alone: 독창
        ko.append(f"{names} {alone}" if solo else names)
    if labels.genre is not None:
        ko.append(labels.genre.ko)
    if jangdan is not None:
        ko.append(jangdan.ko if jangdan.ko.endswith("장단") else f"{jangdan.ko} 장단")
    if labels.mode is not None:
        ko.append(labels.mode.ko)
    if gugak and not any("국악" in part for part in ko):
        ko.append("국악")
    return ", ".join(ko)
