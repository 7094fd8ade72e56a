"""The category taxonomy: every instrument, genre, mood, tempo (jangdan), mode and tag Sori knows, by any name.

    from generate.taxonomy import load_taxonomy
    load_taxonomy().find("가야금").en                    # 'gayageum'
    load_taxonomy().lookup("lofi", "genres")            # Entry(field='genres', en='lo-fi', ...) or None

The taxonomy is data (`data/categories.yaml`, shipped in the wheel): fields instruments, genres, moods, tempos (with
the jangdan mapped to BPM ranges), modes, etc and tunes (folk tunes with a MIDI file each), each entry with its
English and Korean names and aliases. Fields have Korean names too (악기, 장르, 분위기, 빠르기, 장단, 조, 곡): see
`field_named`.
It was built from the raw `textunes_category_ver1.0.3.json` with its wrong translations fixed (listed in
`data/FIXES.md`) plus the gugak entries of `gugak.md`. Captions are built from it by `generate.prompt`.

Matching ignores case, spaces, hyphens and apostrophes and NFC-normalises Hangul, so "Lo-Fi", "lofi" and "lo fi" are
one name, as are "일렉 기타" and "일렉기타". A word that names nothing raises `UnknownCategory` with one line that
names the word, the field and the closest known categories (compared letter by letter, Hangul as jamo).
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .errors import GenerateError, UnknownCategory

FIELDS = ("instruments", "genres", "moods", "tempos", "modes", "etc", "tunes")
SINGULAR = {"instruments": "instrument", "genres": "genre", "moods": "mood", "tempos": "tempo", "modes": "mode",
            "etc": "tag", "tunes": "tune"}
# The fields whose gugak entries make a caption say "traditional Korean" (a mood or an occasion does not).
KOREAN_MATERIAL = ("instruments", "genres", "tempos", "modes", "tunes")
# Field names as people type them, Korean and English: name -> (field, only gugak entries). 장단 is the gugak tempos.
FIELD_NAMES: dict[str, tuple[str, bool]] = {
    **{f: (f, False) for f in FIELDS}, **{s: (f, False) for f, s in SINGULAR.items()},
    "악기": ("instruments", False), "장르": ("genres", False), "갈래": ("genres", False),
    "분위기": ("moods", False), "감정": ("moods", False), "무드": ("moods", False),
    "빠르기": ("tempos", False), "템포": ("tempos", False), "속도": ("tempos", False),
    "장단": ("tempos", True), "jangdan": ("tempos", True), "rhythms": ("tempos", True),
    "조": ("modes", False), "선법": ("modes", False), "음계": ("modes", False), "scales": ("modes", False),
    "기타": ("etc", False), "태그": ("etc", False), "용도": ("etc", False), "tags": ("etc", False),
    "곡": ("tunes", False), "민요곡": ("tunes", False), "선율": ("tunes", False), "가락": ("tunes", False),
    "melodies": ("tunes", False), "songs": ("tunes", False),
}
_ENTRY_KEYS = {"en", "ko", "aliases", "popular", "gugak", "ensemble", "describe", "caption", "bpm", "beats",
               "character", "feel", "flag", "midi", "jangdan"}
_FLAGS = {"solo"}

_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
_IGNORED = re.compile(r"[\s\-_'’`.]+")                      # left out when names are compared


def normalize(word: str) -> str:
    """The form names are compared in: NFC, case-folded, without spaces, hyphens, underscores, dots, apostrophes."""
    return _IGNORED.sub("", unicodedata.normalize("NFC", word).casefold())


def has_hangul(text: str) -> bool:
    return bool(_HANGUL.search(unicodedata.normalize("NFC", text)))


def _jamo(key: str) -> str:
    """Hangul syllables split into jamo (NFD), so '산죠' and '산조' differ by one letter, not one syllable."""
    return unicodedata.normalize("NFD", key)


@dataclass(frozen=True)
class Entry:
    """One category: its field, canonical English name (as a caption says it), Korean name and aliases."""

    field: str
    en: str
    ko: str
    aliases: tuple[str, ...] = ()
    popular: bool = False
    gugak: bool = False
    ensemble: bool = False
    describe: str | None = None     # instruments: a short English descriptor MusicGen understands
    caption: str | None = None      # the phrase a caption uses instead of `en`
    bpm: tuple[int, int] | None = None
    beats: str | None = None
    character: str | None = None
    feel: str | None = None
    flag: str | None = None
    midi: str | None = None         # tunes: the MIDI file in generate/data/tunes/
    jangdan: str | None = None      # tunes: the tempo entry (its `en`) the tune is usually sung in

    @property
    def names(self) -> tuple[str, ...]:
        return (self.en, self.ko, *self.aliases)

    @property
    def label(self) -> str:
        """How messages show it: Korean name with the English one, e.g. '산조 (sanjo)'."""
        return self.en if normalize(self.ko) == normalize(self.en) else f"{self.ko} ({self.en})"

    @property
    def mid_bpm(self) -> int | None:
        return None if self.bpm is None else round((self.bpm[0] + self.bpm[1]) / 2)

    def phrase(self, bpm: int | None = None) -> str:
        """The English caption phrase for this entry."""
        if self.field == "instruments":
            return f"{self.en} ({self.describe})" if self.describe else self.en
        if self.field == "tempos":
            bpm = self.mid_bpm if bpm is None else bpm
            if self.gugak:
                return f"{self.feel} {self.en} rhythm around {bpm} bpm" if self.feel else f"{self.en} rhythm"
            return f"{self.en} tempo around {bpm} bpm"
        if self.field == "modes":
            return self.caption or f"{self.en} mode"
        return self.caption or self.en


class Taxonomy:
    """The categories per field, with lookup by any name of an entry (Korean, English or alias)."""

    def __init__(self, fields: dict[str, tuple[Entry, ...]], durations_s: Sequence[int] = (), source: str = "") -> None:
        self.fields = {f: tuple(fields.get(f, ())) for f in FIELDS}
        self.durations_s = tuple(durations_s)
        self.source = source
        self._index: dict[str, dict[str, Entry]] = {f: {} for f in FIELDS}
        owner: dict[str, Entry] = {}
        for f, entries in self.fields.items():
            for entry in entries:
                for name in entry.names:
                    key = normalize(name)
                    other = owner.get(key)
                    if other is not None and other is not entry:
                        raise GenerateError(f"{source}: the name '{name}' of {entry.field} '{entry.en}' is also a name "
                                            f"of {other.field} '{other.en}'; names must be unique across fields")
                    owner[key] = entry
                    self._index[f][key] = entry
        self.max_words = max((len(n.split()) for e in self.all_entries() for n in e.names), default=1)
        for tune in self.fields["tunes"]:
            if tune.jangdan is not None and self.lookup(tune.jangdan, "tempos") is None:
                raise GenerateError(f"{source}: tune '{tune.en}' names the jangdan '{tune.jangdan}', which is not a "
                                    "tempo entry")

    def entries(self, field: str) -> tuple[Entry, ...]:
        return self.fields[check_field(field)]

    def all_entries(self) -> list[Entry]:
        return [e for f in FIELDS for e in self.fields[f]]

    def lookup(self, word: str, field: str | None = None) -> Entry | None:
        """The entry `word` names, or None. English plurals are forgiven ('bongo' finds 'bongos' and back)."""
        fields = FIELDS if field is None else (check_field(field),)
        key = normalize(word)
        if not key:
            return None
        keys = [key]
        if not has_hangul(key) and len(key) > 3:
            keys.append(key[:-1] if key.endswith("s") else key + "s")
        for k in keys:
            for f in fields:
                hit = self._index[f].get(k)
                if hit is not None:
                    return hit
        return None

    def find(self, word: str, field: str | None = None) -> Entry:
        """The entry `word` names, in `field` or any field; `UnknownCategory` (one line, with suggestions) if none."""
        entry = self.lookup(word, field)
        if entry is not None:
            return entry
        raise UnknownCategory(self.unknown_message(word, field), word=word, field=field,
                              suggestions=tuple(e.label for e in self.suggest(word, field)))

    def suggest(self, word: str, field: str | None = None, n: int = 3, cutoff: float = 0.6) -> list[Entry]:
        """The closest known entries: close spellings (Hangul compared as jamo), then names that contain the word."""
        fields = FIELDS if field is None else (check_field(field),)
        key = normalize(word)
        by_key: dict[str, Entry] = {}
        for f in fields:
            for k, e in self._index[f].items():
                by_key.setdefault(_jamo(k), e)
        found: list[Entry] = []
        if key:
            for k in difflib.get_close_matches(_jamo(key), list(by_key), n=4 * n, cutoff=cutoff):
                if by_key[k] not in found:
                    found.append(by_key[k])
            if len(key) >= 2 and cutoff <= 0.6:
                for f in fields:
                    for k, e in self._index[f].items():
                        if (key in k or k in key) and len(k) >= 2 and e not in found:
                            found.append(e)
        return found[:n]

    def search(self, word: str, field: str | None = None) -> list[Entry]:
        """Entries with a name that contains `word` (or that `word` contains); if none, close spellings."""
        key = normalize(word)
        fields = FIELDS if field is None else (check_field(field),)
        if not key:
            return []
        hits = [e for f in fields for e in self.fields[f]
                if any(key in (n := normalize(name)) or (len(n) >= 2 and n in key) for name in e.names)]
        return hits or self.suggest(word, field, n=5, cutoff=0.75)

    def tempo_of(self, tune: Entry) -> Entry | None:
        """The jangdan a tune is usually sung in."""
        return self.lookup(tune.jangdan, "tempos") if tune.jangdan else None

    def unknown_message(self, word: str, field: str | None) -> str:
        what = SINGULAR[field] if field else "category"
        line = f"unknown {what} '{word}'"
        if field is not None:
            elsewhere = self.lookup(word)
            if elsewhere is not None:
                return f"{line}; '{word}' is a {SINGULAR[elsewhere.field]}: {elsewhere.label}, not a {what}"
        close = self.suggest(word, field)
        if close:
            line += "; did you mean " + " or ".join(e.label for e in close) + "?"
        pool = self.fields[field] if field else [e for f in FIELDS for e in self.fields[f][:2]]
        examples = [e.label for e in pool if e not in close][:5]
        plural = field if field and field != "etc" else ("tags" if field else "categories")
        return f"{line} (known {plural} include {', '.join(examples)}, ...)"


def check_field(field: str) -> str:
    if field not in FIELDS:
        raise GenerateError(f"unknown category field '{field}'; fields are {', '.join(FIELDS)}")
    return field


def field_named(name: str) -> tuple[str, bool]:
    """The field a name means, English or Korean ('악기', 'instrument', '장단'), and whether it lists only gugak
    entries (장단: the jangdan among the tempos); one line with the known names if it means none."""
    hit = FIELD_NAMES.get(normalize(name))
    if hit is not None:
        return hit
    close = difflib.get_close_matches(_jamo(normalize(name)), [_jamo(k) for k in FIELD_NAMES], n=2, cutoff=0.6)
    hint = f"did you mean {' or '.join(unicodedata.normalize('NFC', c) for c in close)}? " if close else ""
    raise GenerateError(f"unknown category field '{name}'; {hint}fields are {', '.join(FIELDS)} (in Korean 악기, "
                        "장르, 분위기, 빠르기, 장단, 조, 기타, 곡)")


def _entry(field: str, raw: Any, where: str) -> Entry:
    """One entry of the YAML, checked; every message names where it is (`source: field[i] (en)`)."""
    _check_names(raw, where)
    where = f"{where} ({raw['en']})"
    aliases = _aliases(raw.get("aliases", []), where)
    _check_types(raw, where)
    bpm = _bpm_range(field, raw.get("bpm"), where)
    if raw.get("flag") is not None and raw["flag"] not in _FLAGS:
        raise GenerateError(f"{where}: 'flag' must be one of {sorted(_FLAGS)}, got {raw['flag']!r}")
    if field == "tunes" and not raw.get("midi"):
        raise GenerateError(f"{where}: a tune needs 'midi: FILE.mid' (its melody in generate/data/tunes/)")
    if has_hangul(raw["en"]) or any(has_hangul(raw.get(k) or "") for k in ("describe", "caption", "feel")):
        raise GenerateError(f"{where}: English names and caption words must not contain Hangul")
    nfc = functools.partial(unicodedata.normalize, "NFC")
    return Entry(field=field, en=nfc(raw["en"].strip()), ko=nfc(raw["ko"].strip()),
                 aliases=tuple(nfc(a.strip()) for a in aliases), popular=raw.get("popular", False),
                 gugak=raw.get("gugak", False), ensemble=raw.get("ensemble", False), describe=raw.get("describe"),
                 caption=raw.get("caption"), bpm=bpm, beats=raw.get("beats"), character=raw.get("character"),
                 feel=raw.get("feel"), flag=raw.get("flag"), midi=raw.get("midi"), jangdan=raw.get("jangdan"))


def _check_names(raw: Any, where: str) -> None:
    """A mapping of known keys with non-empty 'en' and 'ko': what every later message needs."""
    if not isinstance(raw, dict):
        raise GenerateError(f"{where}: an entry must be a mapping, got {raw!r}")
    unknown = set(raw) - _ENTRY_KEYS
    if unknown:
        raise GenerateError(f"{where}: unknown keys {sorted(unknown)}; allowed are {sorted(_ENTRY_KEYS)}")
    for key in ("en", "ko"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise GenerateError(f"{where}: '{key}' must be a non-empty string, got {raw.get(key)!r}")


def _aliases(aliases: Any, where: str) -> list[str]:
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise GenerateError(f"{where}: 'aliases' must be a list of strings, got {aliases!r}")
    return aliases


def _check_types(raw: dict[str, Any], where: str) -> None:
    for key in ("describe", "caption", "beats", "character", "feel", "midi", "jangdan"):
        if key in raw and not isinstance(raw[key], str):
            raise GenerateError(f"{where}: '{key}' must be a string, got {raw[key]!r}")
    for key in ("popular", "gugak", "ensemble"):
        if key in raw and not isinstance(raw[key], bool):
            raise GenerateError(f"{where}: '{key}' must be true or false, got {raw[key]!r}")


def _bpm_range(field: str, bpm: Any, where: str) -> tuple[int, int] | None:
    if bpm is None:
        if field == "tempos":
            raise GenerateError(f"{where}: a tempo needs 'bpm: [low, high]'")
        return None
    if (not isinstance(bpm, list) or len(bpm) != 2 or not all(isinstance(b, int) for b in bpm)
            or not 0 < bpm[0] <= bpm[1] <= 400):
        raise GenerateError(f"{where}: 'bpm' must be [low, high] beats per minute, got {bpm!r}")
    return bpm[0], bpm[1]


def parse_yaml(text: str, source: str) -> Any:
    """YAML text of a data file (the taxonomy, the lexicon, the code tables); a syntax error is one line naming it."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise GenerateError(f"{source}: not valid YAML: {exc}".replace("\n", " ")) from exc


def read_taxonomy(text: str, source: str = "categories.yaml") -> Taxonomy:
    """Build a taxonomy from YAML text; errors name the source, the field and the entry."""
    data = parse_yaml(text, source)
    if not isinstance(data, dict) or not isinstance(data.get("fields"), dict):
        raise GenerateError(f"{source}: expected a mapping with 'fields'")
    unknown = set(data["fields"]) - set(FIELDS)
    if unknown:
        raise GenerateError(f"{source}: unknown fields {sorted(unknown)}; allowed are {', '.join(FIELDS)}")
    fields = {f: tuple(_entry(f, raw, f"{source}: {f}[{i}]") for i, raw in enumerate(data["fields"].get(f) or []))
              for f in FIELDS}
    return Taxonomy(fields, data.get("durations_s") or (), source)


@functools.cache
def load_taxonomy() -> Taxonomy:
    """The built-in taxonomy (package data), loaded once."""
    text = resources.files("generate").joinpath("data", "categories.yaml").read_text(encoding="utf-8")
    return read_taxonomy(text, "generate/data/categories.yaml")


def load_taxonomy_file(path: str | Path) -> Taxonomy:
    """A taxonomy from another YAML file in the same format (for experiments; not cached)."""
    path = Path(path)
    return read_taxonomy(path.read_text(encoding="utf-8"), str(path))
