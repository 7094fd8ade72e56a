"""The category taxonomy and the prompt builder: Korean or English words in, an English MusicGen caption out.

    from generate.categories import build_prompt, load_taxonomy
    load_taxonomy().find("가야금").en                    # 'gayageum'
    build_prompt(instruments="가야금", genres="산조", moods="슬픈", tempo="중모리", solo=True).caption
    build_prompt(keywords="슬픈 가야금 산조 중모리").categories

The taxonomy is data (`data/categories.yaml`, shipped in the wheel): fields instruments, genres, moods, tempos (with
the eight jangdan mapped to BPM ranges), modes and etc, each entry with its English and Korean names and aliases.
It was built from the raw `textunes_category_ver1.0.3.json` with its wrong translations fixed (listed in
`data/FIXES.md`) plus the gugak entries of `gugak.md`.

Matching ignores case, spaces, hyphens and apostrophes and NFC-normalises Hangul, so "Lo-Fi", "lofi" and "lo fi" are
one name, as are "일렉 기타" and "일렉기타". A word that names nothing raises `UnknownCategory` with one line that
names the word, the field and the closest known categories (compared letter by letter, Hangul as jamo).
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .errors import GenerateError, UnknownCategory

FIELDS = ("instruments", "genres", "moods", "tempos", "modes", "etc")
SINGULAR = {"instruments": "instrument", "genres": "genre", "moods": "mood", "tempos": "tempo", "modes": "mode",
            "etc": "tag"}
_ENTRY_KEYS = {"en", "ko", "aliases", "popular", "gugak", "ensemble", "describe", "caption", "bpm", "beats",
               "character", "feel", "flag"}
_FLAGS = {"solo"}

_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
_LATIN = re.compile(r"[A-Za-z]")
_IGNORED = re.compile(r"[\s\-_'’`.]+")                      # left out when names are compared
_SPLIT = re.compile(r"[\s,;/|+·、，()\[\]{}\"“”!?]+")          # separators between keywords
_BPM = re.compile(r"^(\d{2,3})\s*bpm$", re.IGNORECASE)

# Korean particles and endings that may follow a name without a space ("가야금으로", "재즈풍의"); longest first.
_PARTICLES = tuple(sorted(
    ["은", "는", "이", "가", "을", "를", "의", "로", "으로", "에", "에서", "와", "과", "도", "만", "랑", "이랑", "하고",
     "처럼", "같은", "같이", "풍", "풍의", "스타일", "스타일의", "느낌", "느낌의", "으로는", "에서는", "에는", "로는"],
    key=len, reverse=True))
# Filler words that carry nothing for a caption; dropped from free text without a note.
_STOP_EN = {"a", "an", "the", "and", "or", "with", "of", "for", "in", "on", "to", "by", "at", "some", "music", "song",
            "songs", "track", "tune", "piece", "style", "please", "make", "create", "generate", "me", "i", "want",
            "like", "that", "is", "bgm"}
_STOP_KO = {"음악", "노래", "곡", "느낌", "느낌의", "스타일", "스타일의", "풍", "분위기", "분위기의", "같은",
            "그리고", "및", "만들어줘", "만들어", "만들어주세요", "주세요", "해줘", "해주세요", "원해요", "좀",
            "연주", "연주한", "연주하는", "들려주는", "어울리는", "위한"}


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


def _entry(field: str, raw: Any, where: str) -> Entry:
    if not isinstance(raw, dict):
        raise GenerateError(f"{where}: an entry must be a mapping, got {raw!r}")
    unknown = set(raw) - _ENTRY_KEYS
    if unknown:
        raise GenerateError(f"{where}: unknown keys {sorted(unknown)}; allowed are {sorted(_ENTRY_KEYS)}")
    for key in ("en", "ko"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise GenerateError(f"{where}: '{key}' must be a non-empty string, got {raw.get(key)!r}")
    aliases = raw.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise GenerateError(f"{where} ({raw['en']}): 'aliases' must be a list of strings, got {aliases!r}")
    for key in ("describe", "caption", "beats", "character", "feel"):
        if key in raw and not isinstance(raw[key], str):
            raise GenerateError(f"{where} ({raw['en']}): '{key}' must be a string, got {raw[key]!r}")
    for key in ("popular", "gugak", "ensemble"):
        if key in raw and not isinstance(raw[key], bool):
            raise GenerateError(f"{where} ({raw['en']}): '{key}' must be true or false, got {raw[key]!r}")
    bpm = raw.get("bpm")
    if bpm is not None:
        if (not isinstance(bpm, list) or len(bpm) != 2 or not all(isinstance(b, int) for b in bpm)
                or not 0 < bpm[0] <= bpm[1] <= 400):
            raise GenerateError(f"{where} ({raw['en']}): 'bpm' must be [low, high] beats per minute, got {bpm!r}")
        bpm = (bpm[0], bpm[1])
    if field == "tempos" and bpm is None:
        raise GenerateError(f"{where} ({raw['en']}): a tempo needs 'bpm: [low, high]'")
    if raw.get("flag") is not None and raw["flag"] not in _FLAGS:
        raise GenerateError(f"{where} ({raw['en']}): 'flag' must be one of {sorted(_FLAGS)}, got {raw['flag']!r}")
    if has_hangul(raw["en"]) or any(has_hangul(raw.get(k) or "") for k in ("describe", "caption", "feel")):
        raise GenerateError(f"{where} ({raw['en']}): English names and caption words must not contain Hangul")
    nfc = functools.partial(unicodedata.normalize, "NFC")
    return Entry(field=field, en=nfc(raw["en"].strip()), ko=nfc(raw["ko"].strip()),
                 aliases=tuple(nfc(a.strip()) for a in aliases), popular=raw.get("popular", False),
                 gugak=raw.get("gugak", False), ensemble=raw.get("ensemble", False), describe=raw.get("describe"),
                 caption=raw.get("caption"), bpm=bpm, beats=raw.get("beats"), character=raw.get("character"),
                 feel=raw.get("feel"), flag=raw.get("flag"))


def read_taxonomy(text: str, source: str = "categories.yaml") -> Taxonomy:
    """Build a taxonomy from YAML text; errors name the source, the field and the entry."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise GenerateError(f"{source}: not valid YAML: {exc}".replace("\n", " ")) from exc
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


# --- free text -----------------------------------------------------------------------------------------------------

@dataclass
class ParsedText:
    """Free text split into known entries (in order of appearance, no duplicates) and what is left over."""

    entries: list[Entry] = field(default_factory=list)
    free: list[str] = field(default_factory=list)       # English runs of unknown words, for the caption as written
    dropped: list[str] = field(default_factory=list)    # Korean words that name no category (a caption is English)
    bpm: int | None = None                              # "90 bpm" / "90bpm" in the text


def _strip_particle(token: str) -> list[str]:
    return [token[: -len(p)] for p in _PARTICLES if token.endswith(p) and len(token) > len(p)]


def _segment(token: str, taxonomy: Taxonomy) -> list[Entry] | None:
    """A Hangul token written without spaces ('가야금산조') as known names of two or more syllables each, or None."""
    if not token:
        return []
    for end in range(len(token), 1, -1):
        entry = taxonomy.lookup(token[:end])
        if entry is not None:
            rest = [] if token[end:] in _PARTICLES else _segment(token[end:], taxonomy)
            if rest is not None:
                return [entry, *rest]
    return None


def parse_text(text: str, taxonomy: Taxonomy | None = None) -> ParsedText:
    """Split free Korean/English text into known entries, longest names first, and leftover free text."""
    tax = taxonomy or load_taxonomy()
    tokens = [t for t in _SPLIT.split(unicodedata.normalize("NFC", text or "")) if t.strip(".:")]
    out = ParsedText()
    run: list[str] = []

    def close_run() -> None:
        words = list(run)
        while words and words[0].casefold().strip(".:") in _STOP_EN:
            words.pop(0)
        while words and words[-1].casefold().strip(".:") in _STOP_EN:
            words.pop()
        if words:
            out.free.append(" ".join(words).strip(".:"))
        run.clear()

    def add(entries: Iterable[Entry]) -> None:
        close_run()
        for e in entries:
            if e not in out.entries:
                out.entries.append(e)

    i = 0
    while i < len(tokens):
        token = tokens[i]
        m = _BPM.match(token)
        if m is None and token.isdigit() and i + 1 < len(tokens) and tokens[i + 1].casefold() == "bpm":
            m = _BPM.match(token + "bpm")
            i += 1
        if m is not None:
            close_run()
            out.bpm = out.bpm or int(m.group(1))
            i += 1
            continue
        for n in range(min(tax.max_words, len(tokens) - i), 0, -1):
            words = tokens[i:i + n]
            variants = [" ".join(words)] + [" ".join([*words[:-1], w]) for w in _strip_particle(words[-1])]
            hit = next((e for v in variants if (e := tax.lookup(v)) is not None), None)
            if hit is not None:
                add([hit])
                i += n
                break
        else:
            segments = _segment(token, tax) if has_hangul(token) else None
            if segments:
                add(segments)
            elif has_hangul(token):
                close_run()
                base = next((b for b in _strip_particle(token) if b in _STOP_KO), token)
                if base not in _STOP_KO and token not in out.dropped:
                    out.dropped.append(token)
            else:
                run.append(token)
            i += 1
    close_run()
    return out


def parse_keywords(text: str, taxonomy: Taxonomy | None = None) -> list[Entry]:
    """The known categories in free Korean/English text, in order, without duplicates (leftovers are not errors)."""
    return parse_text(text, taxonomy).entries


# --- prompts -------------------------------------------------------------------------------------------------------

@dataclass
class Prompt:
    """An English MusicGen caption and what it was built from; `to_dict()` is what the sidecar JSON stores."""

    caption: str
    categories: dict[str, list[str]]
    solo: bool = False
    instrument: str | None = None       # the solo instrument
    bpm: int | None = None
    language: str | None = None         # of the input: 'ko', 'en', 'mixed', or None when there were no words
    free_text: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Prompt:
        return cls(**data)


def detect_language(texts: Iterable[str]) -> str | None:
    joined = " ".join(texts)
    ko, en = has_hangul(joined), bool(_LATIN.search(joined))
    return "mixed" if ko and en else "ko" if ko else "en" if en else None


def _names(value: str | Entry | Iterable[str | Entry] | None) -> list[str | Entry]:
    if value is None:
        return []
    if isinstance(value, str | Entry):
        value = [value]
    out: list[str | Entry] = []
    for v in value:
        if isinstance(v, str):
            out.extend(p.strip() for p in v.split(",") if p.strip())
        else:
            out.append(v)
    return out


def _resolve(value: str | Entry, field: str, tax: Taxonomy) -> Entry:
    if isinstance(value, Entry):
        if value.field != field:
            raise GenerateError(f"'{value.en}' is a {SINGULAR[value.field]}, not a {SINGULAR[field]}")
        return value
    return tax.find(value, field)


def _and_join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _check_bpm(bpm: int) -> int:
    if isinstance(bpm, bool) or not isinstance(bpm, int) or not 20 <= bpm <= 300:
        raise GenerateError(f"tempo {bpm} bpm is out of range; use 20 to 300 bpm or a tempo name such as 중모리")
    return bpm


def build_prompt(instruments: str | Entry | Iterable[str | Entry] = (),
                 genres: str | Entry | Iterable[str | Entry] = (),
                 moods: str | Entry | Iterable[str | Entry] = (),
                 tempo: str | int | Entry | None = None,
                 mode: str | Entry | None = None,
                 extra: str = "",
                 solo: bool = False,
                 keywords: str | None = None,
                 etc: str | Entry | Iterable[str | Entry] = (),
                 taxonomy: Taxonomy | None = None,
                 bpm: int | None = None) -> Prompt:
    """Build an English caption from categories and/or free Korean/English keywords.

    Explicit categories must be known (else `UnknownCategory`); keywords are parsed leniently: their known words
    become categories and the rest stays free text (Korean leftovers are left out of the English caption and listed
    in `dropped` and `notes`). `solo=True` (or the keyword 독주/solo) needs exactly one instrument and no ensemble
    genre, and phrases the caption so that instrument plays alone. `tempo` is a tempo or jangdan name, or a BPM.
    `bpm` overrides the beats per minute the caption states (a recording's own tempo beside its jangdan name).
    """
    tax = taxonomy or load_taxonomy()
    own_bpm = _check_bpm(bpm) if bpm is not None else None
    picked: dict[str, list[Entry]] = {f: [] for f in FIELDS}
    notes: list[str] = []
    words: list[str] = []
    bpm = None                                         # from here on: the bpm the caption states

    for name, f in ((instruments, "instruments"), (genres, "genres"), (moods, "moods"), (etc, "etc")):
        for v in _names(name):
            words.append(v if isinstance(v, str) else v.en)
            picked[f].append(_resolve(v, f, tax))
    if isinstance(tempo, bool):
        raise GenerateError(f"tempo must be a tempo name or beats per minute, got {tempo!r}")
    if isinstance(tempo, int) or (isinstance(tempo, str) and (tempo.strip().isdigit() or _BPM.match(tempo.strip()))):
        bpm = _check_bpm(int(tempo) if isinstance(tempo, int) else int(re.sub(r"\D", "", tempo)))
    elif tempo is not None:
        words.append(tempo if isinstance(tempo, str) else tempo.en)
        picked["tempos"].append(_resolve(tempo, "tempos", tax))
    if mode is not None:
        words.append(mode if isinstance(mode, str) else mode.en)
        picked["modes"].append(_resolve(mode, "modes", tax))

    free: list[str] = []
    dropped: list[str] = []
    texts = [t for t in (keywords, extra if extra and has_hangul(extra) else None) if t]
    for text in texts:
        words.append(text)
        parsed = parse_text(text, tax)
        for e in parsed.entries:
            picked[e.field].append(e)
        free.extend(parsed.free)
        dropped.extend(d for d in parsed.dropped if d not in dropped)
        if bpm is None and parsed.bpm is not None:
            bpm = parsed.bpm
    if extra and not has_hangul(extra):                # English free text goes in as written
        words.append(extra)
        free.append(" ".join(extra.split()))
    for word in dropped:
        close = tax.suggest(word, cutoff=0.75)
        hint = f" (did you mean {' or '.join(e.label for e in close)}?)" if close else ""
        notes.append(f"'{word}' is not a known category{hint}; left out of the English caption")

    for f in FIELDS:                                   # no duplicates, first mention first
        picked[f] = list(dict.fromkeys(picked[f]))
    for f in ("tempos", "modes"):
        if len(picked[f]) > 1:
            kept, *rest = picked[f]
            notes.append(f"one {SINGULAR[f]} only: kept {kept.label}, ignored {', '.join(e.label for e in rest)}")
            picked[f] = [kept]
    if any(e.flag == "solo" for e in picked["etc"]):
        solo = True
    picked["etc"] = [e for e in picked["etc"] if e.flag != "solo"]

    inst = picked["instruments"]
    if solo:
        if len(inst) != 1:
            got = "none" if not inst else f"{len(inst)}: {', '.join(e.label for e in inst)}"
            raise GenerateError(f"solo needs exactly one instrument, got {got}; "
                                "name the one instrument that plays alone, e.g. 가야금 (gayageum)")
        group = [e for e in (*inst, *picked["genres"]) if e.ensemble]
        if group:
            raise GenerateError(f"solo cannot go with the ensemble {SINGULAR[group[0].field]} {group[0].label}; "
                                "drop it or turn solo off")

    tempo_entry = picked["tempos"][0] if picked["tempos"] else None
    if own_bpm is not None:
        bpm = own_bpm
    if bpm is None and tempo_entry is not None:
        bpm = tempo_entry.mid_bpm

    parts: list[str] = []
    genre_phrases = [e.phrase() for e in picked["genres"]]
    korean = any(e.gugak for f in FIELDS for e in picked[f])
    if korean and not any("korean" in p.casefold() for p in genre_phrases):
        parts.append(f"{', '.join(genre_phrases)} blended with traditional Korean music" if genre_phrases
                     else "traditional Korean music")
    else:
        parts.extend(genre_phrases)
    if inst:
        parts.append(f"solo {inst[0].phrase()}" if solo else _and_join([e.phrase() for e in inst]))
    if picked["moods"]:
        parts.append(_and_join([e.phrase() for e in picked["moods"]]))
    if tempo_entry is not None:
        parts.append(tempo_entry.phrase(bpm))
    elif bpm is not None:
        parts.append(f"{bpm} bpm")
    parts.extend(e.phrase() for e in picked["modes"])
    parts.extend(e.phrase() for e in picked["etc"])
    parts.extend(free)
    if solo:
        parts.append(f"{inst[0].en} alone, no other instruments")
    caption = ", ".join(dict.fromkeys(p for p in parts if p))
    if has_hangul(caption):                            # cannot happen: English names are checked when loading
        raise GenerateError(f"internal error: the caption is not English: {caption}")

    return Prompt(caption=caption,
                  categories={f: [e.en for e in picked[f]] for f in FIELDS},
                  solo=solo,
                  instrument=inst[0].en if solo else None,
                  bpm=bpm,
                  language=detect_language(words),
                  free_text=free,
                  dropped=dropped,
                  notes=notes)
