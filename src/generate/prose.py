"""Korean prose to a caption: a blog post, a diary, a novel's paragraph or a poem becomes categories a gugak
musician would choose, and every choice says which words led to it.

    from generate.prose import prompt_from_text
    p = prompt_from_text("달빛이 고요한 산사에서 스님의 목탁 소리를 들었다.")
    p.caption        # 'Korean Buddhist chant (beompae), slow and meditative, moktak (...), serene and ...'
    p.mapping_lines()  # ['목탁 -> instrument moktak (named)', '산사, 스님 -> genre beompae (lexicon: ...)', ...]

Two passes read the text (`read_text`):

1. Names, on the surface: the taxonomy's names as written, longest first, particles and spacing forgiven (as
   keyword prompts are parsed: `generate.prompt`), e.g. 비 오는 날, 가야금산조, 신나는.
2. Lemmas, through Kiwi (`generate.korean`): names written inflected (슬퍼서 -> 슬프다 -> 슬픈), and the mood
   lexicon (`generate.lexicon`): emotion words, seasons, places, times of day, ceremonies (제사, 잔치, 장례, 봄,
   달밤, 바다, 산사 ...) with the categories they suggest. Names that mostly mean something else in prose (소금 salt,
   북 north, 가사 lyrics) count only next to a musical word; a negated word (걱정도 없이, 슬프지 않다) counts not.

`choose` then keeps, per field, what was named before what is only suggested, and the strongest of each: up to three
instruments, two genres, two moods, one tempo, one mode, two occasions, one tune. A genre with no instrument brings
its usual line-up (sanjo: gayageum); a gugak text with no mode gets the mode of its first mood (sad: gyemyeonjo).
A text that names nothing musical gets "traditional Korean music" with a note saying so, never an empty caption.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .lexicon import Lexicon, load_lexicon
from .prompt import Prompt, build_prompt, longest_name, segment
from .taxonomy import FIELDS, KOREAN_MATERIAL, Entry, Taxonomy, has_hangul, load_taxonomy, normalize

NAMED = 2.0                     # a name counts as much as two cue words
_RANK = (1.0, 0.8, 0.6, 0.5)    # a cue's first suggestion in a field counts most
_TOKEN = re.compile(r"[^\s,;/|+·、，()\[\]{}\"“”‘’'!?.…~「」『』<>《》]+")

# How many of each field a caption keeps, and the score an entry that is only suggested needs.
LIMITS = {"instruments": 3, "genres": 2, "moods": 2, "tempos": 1, "modes": 1, "etc": 2, "tunes": 1}
SUGGESTED_MIN = {"instruments": 1.0, "genres": 1.5, "moods": 1.0, "tempos": 1.0, "modes": 1.0, "etc": 1.0,
                 "tunes": 99.0}
MAX_CHARS = 100_000             # longer text is cut here, with a note (a novel's chapter is about 20,000)


@dataclass
class Hit:
    """One category a word of the text leads to."""

    entry: Entry
    words: str
    via: str                    # "named" or "lexicon: <group>"
    weight: float
    start: int                  # where in the text, for the order of first mention


@dataclass
class Reading:
    """What a text names and suggests, hit by hit."""

    hits: list[Hit] = field(default_factory=list)
    covered: list[tuple[int, int]] = field(default_factory=list)   # spans read as names on the surface

    def named(self, f: str) -> list[Entry]:
        return _ranked([h for h in self.hits if h.entry.field == f and h.via == "named"])

    def suggested(self, f: str) -> list[tuple[Entry, float]]:
        scores = _scores([h for h in self.hits if h.entry.field == f])
        return [(e, s) for e, (s, _) in sorted(scores.items(), key=lambda kv: (-kv[1][0], kv[1][1]))]


def _scores(hits: Sequence[Hit]) -> dict[Entry, tuple[float, int]]:
    out: dict[Entry, tuple[float, int]] = {}
    for h in hits:
        score, first = out.get(h.entry, (0.0, h.start))
        out[h.entry] = (score + h.weight, min(first, h.start))
    return out


def _ranked(hits: Sequence[Hit]) -> list[Entry]:
    scores = _scores(hits)
    return [e for e, _ in sorted(scores.items(), key=lambda kv: (-kv[1][0], kv[1][1]))]


# --- reading ---------------------------------------------------------------------------------------------------------

def read_text(text: str, taxonomy: Taxonomy | None = None, lexicon: Lexicon | None = None) -> Reading:
    """Every name and cue in `text`, Korean or English."""
    tax, lex = taxonomy or load_taxonomy(), lexicon or load_lexicon()
    text = unicodedata.normalize("NFC", text or "")[:MAX_CHARS]
    reading = Reading()
    _surface(text, tax, lex, reading)
    _lemmas(text, tax, lex, reading)
    return reading


def _surface(text: str, tax: Taxonomy, lex: Lexicon, reading: Reading) -> None:
    """Pass 1: names as written (not the ambiguous ones: the lemma pass weighs those in their context)."""
    tokens = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    words = [t[0] for t in tokens]
    i = 0
    while i < len(tokens):
        hit = longest_name(words, i, tax)
        if hit is not None and not lex.is_ambiguous(words[i]) and not lex.is_ambiguous(hit[0].ko) \
                and not lex.is_tagged(hit[0].ko):
            entry, n = hit
            start, end = tokens[i][1], tokens[i + n - 1][2]
            reading.hits.append(Hit(entry, text[start:end], "named", NAMED, start))
            reading.covered.append((start, end))
            i += n
            continue
        parts = segment(words[i], tax) if has_hangul(words[i]) and len(words[i]) > 2 else None
        if parts and len(parts) > 1 and not any(lex.is_ambiguous(p.ko) for p in parts):
            _, start, end = tokens[i]
            reading.hits.extend(Hit(p, words[i], "named", NAMED, start) for p in parts)
            reading.covered.append((start, end))
        i += 1


def _lemmas(text: str, tax: Taxonomy, lex: Lexicon, reading: Reading) -> None:
    """Pass 2: names by lemma, ambiguous names in context, and the lexicon's cues."""
    from .korean import read_words

    every = read_words(text)
    negated = {w.start for w in every if w.negated}
    reading.hits = [h for h in reading.hits if h.start not in negated]       # 걱정도 없이, read on the surface
    words = [w for w in every if not any(a <= w.start and w.end <= b for a, b in reading.covered)]
    lemmas = [w.lemma for w in words]
    skip = 0
    for i, w in enumerate(words):
        if skip:
            skip -= 1
            continue
        if w.start in negated:                  # 걱정도 없이: not worried; 슬프지 않다: not sad
            continue
        phrases = lex.phrases_from(lemmas[i:i + lex.max_phrase])
        if phrases:
            n, cue = max(phrases, key=lambda p: p[0])
            _cue_hits(reading, cue, " ".join(x.text for x in words[i:i + n]), w.start)
            skip = n - 1
            continue
        entry = next((e for f in w.forms if (e := tax.lookup(f)) is not None), None)
        if entry is not None and lex.is_tagged(w.lemma) and w.tag != "NNG":
            entry = None                                         # 한 as "one" (MM), not 한 (han)
        if entry is not None and (not lex.is_ambiguous(w.lemma) or _in_context(words, i, lex, tax)):
            reading.hits.append(Hit(entry, w.text, "named", NAMED, w.start))
            continue
        for form in _english_forms(w.lemma) if w.tag == "SL" else w.forms:
            for cue in lex.cues_for(form):
                _cue_hits(reading, cue, w.text, w.start)
            if lex.cues_for(form):
                break


def _cue_hits(reading: Reading, cue: Any, words: str, start: int) -> None:
    for entries in cue.suggest.values():
        for rank, entry in enumerate(entries):
            weight = cue.weight * _RANK[min(rank, len(_RANK) - 1)]
            reading.hits.append(Hit(entry, words, f"lexicon: {cue.group}", weight, start))


def _in_context(words: Sequence[Any], i: int, lex: Lexicon, tax: Taxonomy) -> bool:
    """Whether an ambiguous name (소금, 북, 가사) at words[i] is meant as music: a musical word within the window,
    not a proper noun to Kiwi, and not one of the words that make it mean something else right before it."""
    if words[i].tag == "NNP":                       # Kiwi reads it as a name: 북 (the North), 박 (a surname)
        return False
    if i > 0 and normalize(words[i - 1].lemma) in lex.not_after.get(normalize(words[i].lemma), frozenset()):
        return False
    near = [*words[max(0, i - lex.window):i], *words[i + 1:i + 1 + lex.window]]
    for w in near:
        if normalize(w.lemma) in lex.context:
            return True
        other = tax.lookup(w.lemma)
        if other is not None and other.field in ("instruments", "genres") and not lex.is_ambiguous(w.lemma):
            return True
    return False


def _english_forms(word: str) -> list[str]:
    """An English word and the forms its lexicon entry may have: moonlit -> moonlit; flowers -> flower."""
    w = word.casefold()
    forms = [w]
    for suffix in ("ing", "ed", "es", "s"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            forms.append(w[: -len(suffix)])
    return forms


# --- choosing --------------------------------------------------------------------------------------------------------

@dataclass
class Choice:
    """The categories kept per field, and the mapping rows that explain them."""

    picked: dict[str, list[Entry]]
    mapping: list[dict[str, Any]]
    notes: list[str]


def choose(reading: Reading, taxonomy: Taxonomy | None = None, lexicon: Lexicon | None = None,
           keep: dict[str, list[Entry]] | None = None, defaults: bool = True) -> Choice:
    """Per field: what was named, then what is suggested strongly enough, up to LIMITS. `keep` holds categories
    already chosen (options, keywords): a field that has some takes nothing from the text. `defaults`: a genre's
    line-up, a mood's mode, and traditional Korean music for a text that names nothing (prose, not keywords)."""
    tax, lex = taxonomy or load_taxonomy(), lexicon or load_lexicon()
    keep = keep or {}
    picked: dict[str, list[Entry]] = {}
    for f in FIELDS:
        if keep.get(f):
            picked[f] = []
            continue
        named = reading.named(f)
        rest = [e for e, score in reading.suggested(f) if e not in named and score >= SUGGESTED_MIN[f]]
        picked[f] = (named + ([] if named and f in ("tempos", "modes", "tunes") else rest))[:LIMITS[f]]
    if any(e.flag == "solo" for e in picked["etc"]) and len(picked["instruments"]) != 1:
        picked["etc"] = [e for e in picked["etc"] if e.flag != "solo"]     # prose says 독주 loosely
    mapping = _mapping(reading, picked)
    notes: list[str] = []
    if defaults:
        _fill_defaults(picked, keep, tax, lex, mapping, notes)
    return Choice(picked, mapping, notes)


def _mapping(reading: Reading, picked: dict[str, list[Entry]]) -> list[dict[str, Any]]:
    rows = []
    for f in FIELDS:
        for entry in picked[f]:
            hits = [h for h in reading.hits if h.entry is entry]
            named = [h for h in hits if h.via == "named"]
            chosen = named or hits
            words = list(dict.fromkeys(h.words for h in sorted(chosen, key=lambda h: h.start)))
            vias = list(dict.fromkeys(h.via for h in chosen))
            rows.append({"words": ", ".join(words[:4]) + (", ..." if len(words) > 4 else ""), "field": f,
                         "category": entry.en, "via": "; ".join(vias[:2]),
                         "score": round(sum(h.weight for h in hits), 2)})
    return rows


def _fill_defaults(picked: dict[str, list[Entry]], keep: dict[str, list[Entry]], tax: Taxonomy, lex: Lexicon,
                   mapping: list[dict[str, Any]], notes: list[str]) -> None:
    """A genre's usual instruments, a tune's jangdan, a gugak text's mode; never nothing at all."""
    genres = picked["genres"] or keep.get("genres") or []
    if not picked["instruments"] and not keep.get("instruments"):
        for g in genres:
            line_up = lex.genre_instruments.get(g, ())
            if line_up:
                picked["instruments"] = list(line_up)[:2]
                mapping.extend({"words": g.ko, "field": "instruments", "category": e.en, "via": "the genre's usual "
                                "line-up", "score": 0.0} for e in picked["instruments"])
                break
    if not any(picked[f] or keep.get(f) for f in FIELDS):
        picked["genres"] = [tax.find("traditional Korean music", "genres")]
        mapping.append({"words": "", "field": "genres", "category": "traditional Korean music",
                        "via": "default: nothing in the text named music", "score": 0.0})
        notes.append("nothing in the text named an instrument, genre, mood or tempo; using traditional Korean music "
                     "(add words such as 가야금, 산조, 슬픈, or options such as --instrument)")
    gugak = any(e.gugak for f in KOREAN_MATERIAL for e in (*picked[f], *(keep.get(f) or [])))
    moods = picked["moods"] or keep.get("moods") or []
    if gugak and not picked["modes"] and not keep.get("modes"):
        mood = next((m for m in moods if m in lex.mood_modes), None)
        if mood is not None:
            picked["modes"] = [lex.mood_modes[mood]]
            mapping.append({"words": f"mood {mood.en}", "field": "modes", "category": lex.mood_modes[mood].en,
                            "via": "the mood's mode", "score": 0.0})


# --- prompts ---------------------------------------------------------------------------------------------------------

def prompt_from_text(text: str, *, instruments: Sequence[str | Entry] = (), genres: Sequence[str | Entry] = (),
                     moods: Sequence[str | Entry] = (), tempo: str | int | None = None, mode: str | None = None,
                     solo: bool = False, extra: str = "", keywords: str | None = None,
                     taxonomy: Taxonomy | None = None) -> Prompt:
    """A prompt from prose (Korean or English): its categories as `choose` keeps them, with the mapping. Options and
    keywords given beside the text (`instruments=...`) win over what the text suggests for their field."""
    from .errors import GenerateError

    tax = taxonomy or load_taxonomy()
    if not (text or "").strip():
        raise GenerateError("the text is empty; give a file with a paragraph or more of prose (or - for stdin)")
    reading = read_text(text, tax)
    given = build_prompt(instruments=instruments, genres=genres, moods=moods, tempo=tempo, mode=mode,
                         keywords=keywords, taxonomy=tax)
    keep = {f: [tax.find(n, f) for n in names] for f, names in given.categories.items()}
    choice = choose(reading, tax, keep=keep)
    merged = {f: [*keep.get(f, []), *choice.picked[f]] for f in FIELDS}
    prompt = build_prompt(instruments=merged["instruments"], genres=merged["genres"], moods=merged["moods"],
                          tempo=merged["tempos"][0] if merged["tempos"] else None,
                          mode=merged["modes"][0] if merged["modes"] else None, etc=merged["etc"],
                          tunes=merged["tunes"], extra=", ".join(p for p in (*given.free_text, extra) if p),
                          solo=solo, taxonomy=tax, bpm=given.bpm)
    prompt.mapping = [*given.mapping, *choice.mapping, *[m for m in prompt.mapping if m["via"] == "the tune's jangdan"]]
    prompt.notes = [*given.notes, *prompt.notes, *choice.notes]
    if len(text) > MAX_CHARS:
        prompt.notes.append(f"the text is {len(text):,} characters; only the first {MAX_CHARS:,} were read")
    prompt.language = "ko" if has_hangul(text) else prompt.language or "en"
    return prompt
