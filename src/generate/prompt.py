"""The prompt builder: Korean or English words in, an English MusicGen caption out.

    from generate.prompt import build_prompt
    build_prompt(instruments="가야금", genres="산조", moods="슬픈", tempo="중모리", solo=True).caption
    build_prompt(keywords="슬픈 가야금 산조 중모리").categories

Named categories must be entries of the taxonomy (`generate.taxonomy`). Free text (keywords) is parsed for the known
names in it (longest first, Korean particles and spacing forgiven); English leftovers stay as written. Korean
leftovers go through the Korean reader (`generate.prose`: Kiwi lemmas and the mood lexicon), which may imply
categories for fields nothing named; a leftover that is a misspelt name ('가야굼') is an `UnknownWords` error naming
the closest known words, so that no instrument is ever dropped silently; the rest is left out with a note.
Every prompt keeps its mapping: which words led to which caption parts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import GenerateError, UnknownWords
from .taxonomy import FIELDS, KOREAN_MATERIAL, SINGULAR, Entry, Taxonomy, has_hangul, load_taxonomy

_LATIN = re.compile(r"[A-Za-z]")
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


# --- free text -----------------------------------------------------------------------------------------------------

@dataclass
class ParsedText:
    """Free text split into known entries (in order of appearance, no duplicates) and what is left over."""

    entries: list[Entry] = field(default_factory=list)
    words: list[str] = field(default_factory=list)      # the text that named each of `entries`
    free: list[str] = field(default_factory=list)       # English runs of unknown words, for the caption as written
    dropped: list[str] = field(default_factory=list)    # Korean words that name no category (a caption is English)
    bpm: int | None = None                              # "90 bpm" / "90bpm" in the text


def strip_particle(token: str) -> list[str]:
    """`token` without each Korean particle or ending it may end with ('가야금으로' -> ['가야금'], ...)."""
    return [token[: -len(p)] for p in _PARTICLES if token.endswith(p) and len(token) > len(p)]


def segment(token: str, taxonomy: Taxonomy) -> list[Entry] | None:
    """A Hangul token written without spaces ('가야금산조') as known names of two or more syllables each, or None."""
    if not token:
        return []
    for end in range(len(token), 1, -1):
        entry = taxonomy.lookup(token[:end])
        if entry is not None:
            rest = [] if token[end:] in _PARTICLES else segment(token[end:], taxonomy)
            if rest is not None:
                return [entry, *rest]
    return None


def parse_text(text: str, taxonomy: Taxonomy | None = None) -> ParsedText:
    """Split free Korean/English text into known entries, longest names first, and leftover free text."""
    tax = taxonomy or load_taxonomy()
    tokens = [t for t in _SPLIT.split(unicodedata.normalize("NFC", text or "")) if t.strip(".:")]
    reader = _Reader()
    i = 0
    while i < len(tokens):
        bpm, span = _bpm_at(tokens, i)
        if bpm is not None:
            reader.close_run()
            reader.out.bpm = reader.out.bpm or bpm
        elif span == 0 and (hit := longest_name(tokens, i, tax)) is not None:
            reader.add([hit[0]], " ".join(tokens[i:i + hit[1]]))
            span = hit[1]
        else:
            reader.unknown(tokens[i], tax)
            span = max(span, 1)
        i += span
    reader.close_run()
    return reader.out


class _Reader:
    """One parse under way: what it found so far, and the run of unknown English words not yet closed."""

    def __init__(self) -> None:
        self.out = ParsedText()
        self.run: list[str] = []

    def close_run(self) -> None:
        words = list(self.run)
        while words and words[0].casefold().strip(".:") in _STOP_EN:
            words.pop(0)
        while words and words[-1].casefold().strip(".:") in _STOP_EN:
            words.pop()
        if words:
            self.out.free.append(" ".join(words).strip(".:"))
        self.run.clear()

    def add(self, entries: Iterable[Entry], words: str) -> None:
        self.close_run()
        for e in entries:
            if e not in self.out.entries:
                self.out.entries.append(e)
                self.out.words.append(words)

    def unknown(self, token: str, tax: Taxonomy) -> None:
        """A token that starts no known name: names written together ('가야금산조'), a Korean word left out, or an
        English word kept for the caption."""
        if not has_hangul(token):
            self.run.append(token)
            return
        segments = segment(token, tax)
        if segments:
            self.add(segments, token)
            return
        self.close_run()
        base = next((b for b in strip_particle(token) if b in _STOP_KO), token)
        if base not in _STOP_KO and token not in self.out.dropped:
            self.out.dropped.append(token)


def _bpm_at(tokens: Sequence[str], i: int) -> tuple[int | None, int]:
    """A tempo written '90bpm' or '90 bpm' at tokens[i]: its beats per minute (None when it is not one such as a
    one-digit number) and how many tokens it spans (0: no tempo there)."""
    m = _BPM.match(tokens[i])
    if m is not None:
        return int(m.group(1)), 1
    if tokens[i].isdigit() and i + 1 < len(tokens) and tokens[i + 1].casefold() == "bpm":
        m = _BPM.match(tokens[i] + "bpm")
        return (int(m.group(1)) if m is not None else None), 2
    return None, 0


def longest_name(tokens: Sequence[str], i: int, tax: Taxonomy) -> tuple[Entry, int] | None:
    """The longest known name that starts at tokens[i] (its last word may carry a particle), and its word count."""
    for n in range(min(tax.max_words, len(tokens) - i), 0, -1):
        words = tokens[i:i + n]
        variants = [" ".join(words)] + [" ".join([*words[:-1], w]) for w in strip_particle(words[-1])]
        hit = next((e for v in variants if (e := tax.lookup(v)) is not None), None)
        if hit is not None:
            return hit, n
    return None


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
    tune: str | None = None             # a folk tune named in the request (its `en`), for --melody
    mapping: list[dict[str, Any]] = field(default_factory=list)     # which words led to which caption parts

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def mapping_lines(self) -> list[str]:
        """The mapping as lines for people: '가야금 -> instrument gayageum (named)'."""
        return [f"{m['words']} -> {SINGULAR.get(m['field'], m['field'])} {m['category']} ({m['via']})"
                for m in self.mapping]

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
                 bpm: int | None = None,
                 tunes: str | Entry | Iterable[str | Entry] = ()) -> Prompt:
    """Build an English caption from categories and/or free Korean/English keywords.

    Explicit categories must be known (else `UnknownCategory`). Keywords are parsed for known names; their Korean
    leftovers go through the Korean reader (generate.prose), which may suggest categories for fields nothing named;
    a leftover that looks like a misspelt name is an `UnknownWords` error (one line, the closest known words for
    each); other leftovers are listed in `dropped` and `notes`. English leftovers stay in the caption as written.
    `solo=True` (or the keyword 독주/solo) needs exactly one instrument and no ensemble genre, and phrases the
    caption so that instrument plays alone. `tempo` is a tempo or jangdan name, or a BPM. `bpm` overrides the beats
    per minute the caption states. A tune (아리랑) with no tempo named brings its jangdan.
    """
    tax = taxonomy or load_taxonomy()
    own_bpm = _check_bpm(bpm) if bpm is not None else None
    req = _Request()
    for f, value in (("instruments", instruments), ("genres", genres), ("moods", moods), ("etc", etc),
                     ("tunes", tunes)):
        for v in _names(value):
            req.name(v, f, tax)
    req.tempo(tempo, tax)
    if mode is not None:
        req.name(mode, "modes", tax)
    req.free_text(keywords, extra, tax)
    req.one_each()
    req.tune_tempo(tax)

    picked = req.picked
    solo = solo or any(e.flag == "solo" for e in picked["etc"])
    picked["etc"] = [e for e in picked["etc"] if e.flag != "solo"]
    inst = picked["instruments"]
    if solo:
        _check_solo(inst, picked["genres"])
    tempo_entry = picked["tempos"][0] if picked["tempos"] else None
    bpm = own_bpm if own_bpm is not None else req.bpm
    if bpm is None and tempo_entry is not None:
        bpm = tempo_entry.mid_bpm
    return Prompt(caption=_caption(picked, solo, bpm, req.free),
                  categories={f: [e.en for e in picked[f]] for f in FIELDS},
                  solo=solo,
                  instrument=inst[0].en if solo else None,
                  bpm=bpm,
                  language=detect_language(req.words),
                  free_text=req.free,
                  dropped=req.dropped,
                  notes=req.notes,
                  tune=picked["tunes"][0].en if picked["tunes"] else None,
                  mapping=req.mapping)


@dataclass
class _Request:
    """What a request names, gathered before the caption is phrased."""

    picked: dict[str, list[Entry]] = field(default_factory=lambda: {f: [] for f in FIELDS})
    words: list[str] = field(default_factory=list)      # every word given, for the input's language
    free: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    mapping: list[dict[str, Any]] = field(default_factory=list)
    bpm: int | None = None                              # given as the tempo or in the keywords

    def name(self, value: str | Entry, field_name: str, tax: Taxonomy, via: str = "option") -> None:
        self.words.append(value if isinstance(value, str) else value.en)
        entry = _resolve(value, field_name, tax)
        self.pick(entry, value if isinstance(value, str) else entry.ko, via)

    def pick(self, entry: Entry, words: str, via: str) -> None:
        if entry not in self.picked[entry.field]:
            self.mapping.append({"words": words, "field": entry.field, "category": entry.en, "via": via})
        self.picked[entry.field].append(entry)

    def tempo(self, tempo: str | int | Entry | None, tax: Taxonomy) -> None:
        """A tempo name, or beats per minute as a number or text ('90', '90bpm')."""
        if isinstance(tempo, bool):
            raise GenerateError(f"tempo must be a tempo name or beats per minute, got {tempo!r}")
        if isinstance(tempo, int) or (isinstance(tempo, str) and (tempo.strip().isdigit()
                                                                  or _BPM.match(tempo.strip()))):
            self.bpm = _check_bpm(int(tempo) if isinstance(tempo, int) else int(re.sub(r"\D", "", tempo)))
        elif tempo is not None:
            self.name(tempo, "tempos", tax)

    def free_text(self, keywords: str | None, extra: str, tax: Taxonomy) -> None:
        """Keywords (and Korean `extra`) parsed for known names; English `extra` goes in as written."""
        for text in (t for t in (keywords, extra if extra and has_hangul(extra) else None) if t):
            self.words.append(text)
            parsed = parse_text(text, tax)
            for e, words in zip(parsed.entries, parsed.words, strict=True):
                self.pick(e, words, "named")
            self.free.extend(parsed.free)
            self.dropped.extend(d for d in parsed.dropped if d not in self.dropped)
            if self.bpm is None and parsed.bpm is not None:
                self.bpm = parsed.bpm
        if extra and not has_hangul(extra):
            self.words.append(extra)
            self.free.append(" ".join(extra.split()))
        if self.dropped:
            self.leftovers(tax)

    def leftovers(self, tax: Taxonomy) -> None:
        """Korean words no name matched: read by the Korean reader (names inflected, lexicon cues), misspelt names
        refused in one line, the rest noted."""
        from .prose import choose, read_text

        reading = read_text(" ".join(self.dropped), tax)
        understood = {h.words for h in reading.hits}
        choice = choose(reading, tax, keep=self.picked, defaults=False)
        for f in FIELDS:
            for e in choice.picked[f]:
                row = next(m for m in choice.mapping if m["category"] == e.en and m["field"] == f)
                self.pick(e, row["words"], row["via"])
        rest = [w for w in self.dropped if not any(u in w or w in u for u in understood)]
        typos = _typos(rest, tax)
        if typos:
            raise UnknownWords(typos)
        self.dropped = rest
        if rest:
            listed = ", ".join(f"'{w}'" for w in rest)
            self.notes.append(f"{listed} {'is' if len(rest) == 1 else 'are'} not a known category; left out of "
                              "the English caption")

    def tune_tempo(self, tax: Taxonomy) -> None:
        """A tune named without a tempo brings the jangdan it is sung in."""
        if self.picked["tunes"] and not self.picked["tempos"] and self.bpm is None:
            jangdan = tax.tempo_of(self.picked["tunes"][0])
            if jangdan is not None:
                self.picked["tempos"] = [jangdan]
                self.mapping.append({"words": self.picked["tunes"][0].ko, "field": "tempos",
                                     "category": jangdan.en, "via": "the tune's jangdan"})

    def one_each(self) -> None:
        """No duplicates (first mention first), and one tempo, one mode and one tune at most."""
        for f in FIELDS:
            self.picked[f] = list(dict.fromkeys(self.picked[f]))
        for f in ("tempos", "modes", "tunes"):
            if len(self.picked[f]) > 1:
                kept, *rest = self.picked[f]
                self.notes.append(f"one {SINGULAR[f]} only: kept {kept.label}, ignored "
                                  f"{', '.join(e.label for e in rest)}")
                self.picked[f] = [kept]
                self.mapping = [m for m in self.mapping if m["field"] != f or m["category"] == kept.en]


def _typos(words: Sequence[str], tax: Taxonomy) -> dict[str, tuple[str, ...]]:
    """The words that look like misspelt names ('가야굼' for 가야금), with the closest names: close in jamo, and not
    a word Kiwi knows (전주 is a city, not a misspelt 전투)."""
    from .korean import known_word

    out: dict[str, tuple[str, ...]] = {}
    for word in words:
        for base in (word, *strip_particle(word)):
            close = tax.suggest(base, cutoff=0.75)
            if close and not known_word(base):
                out[word] = tuple(e.label for e in close)
                break
    return out


def _check_solo(inst: Sequence[Entry], genres: Sequence[Entry]) -> None:
    if len(inst) != 1:
        got = "none" if not inst else f"{len(inst)}: {', '.join(e.label for e in inst)}"
        raise GenerateError(f"solo needs exactly one instrument, got {got}; "
                            "name the one instrument that plays alone, e.g. 가야금 (gayageum)")
    group = [e for e in (*inst, *genres) if e.ensemble]
    if group:
        raise GenerateError(f"solo cannot go with the ensemble {SINGULAR[group[0].field]} {group[0].label}; "
                            "drop it or turn solo off")


def _caption(picked: dict[str, list[Entry]], solo: bool, bpm: int | None, free: Sequence[str]) -> str:
    """The English caption: genres, instruments, moods, tempo, mode, tags, free words; duplicates once."""
    inst = picked["instruments"]
    tempo = picked["tempos"][0] if picked["tempos"] else None
    parts = _genre_phrases(picked)
    if inst:
        parts.append(f"solo {inst[0].phrase()}" if solo else _and_join([e.phrase() for e in inst]))
    if picked["moods"]:
        parts.append(_and_join([e.phrase() for e in picked["moods"]]))
    if tempo is not None:
        parts.append(tempo.phrase(bpm))
    elif bpm is not None:
        parts.append(f"{bpm} bpm")
    parts.extend(e.phrase() for e in picked["modes"])
    parts.extend(e.phrase() for e in picked["tunes"])
    parts.extend(e.phrase() for e in picked["etc"])
    parts.extend(free)
    if solo:
        parts.append(f"{inst[0].en} alone, no other instruments")
    caption = ", ".join(dict.fromkeys(p for p in parts if p))
    if has_hangul(caption):                            # cannot happen: English names are checked when loading
        raise GenerateError(f"internal error: the caption is not English: {caption}")
    return caption


def _genre_phrases(picked: dict[str, list[Entry]]) -> list[str]:
    """The genres; 'traditional Korean music' is added when a gugak category is in and no genre says Korean."""
    phrases = [e.phrase() for e in picked["genres"]]
    korean = any(e.gugak for f in KOREAN_MATERIAL for e in picked[f])
    if korean and not any("korean" in p.casefold() for p in phrases):
        return [f"{', '.join(phrases)} blended with traditional Korean music" if phrases
                else "traditional Korean music"]
    return phrases
