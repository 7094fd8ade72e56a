"""The mood lexicon: what words of Korean (or English) prose suggest to a gugak musician (`data/lexicon.yaml`).

    from generate.lexicon import load_lexicon
    lex = load_lexicon()
    [c.group for c in lex.cues_for("달밤")]        # ['moon and stars']
    lex.cues_for("달밤")[0].suggest["instruments"]  # (Entry(en='daegeum', ...), Entry(en='gayageum', ...))

Each cue is a group of words (Kiwi lemmas; a phrase of several lemmas is matched word by word) with the taxonomy
entries they suggest and a weight. The file also says which category names are ambiguous in prose (소금 is mostly
salt) and what makes them count, the instruments a genre implies, and the mode a mood implies. Everything is checked
against the taxonomy when it loads: a suggestion that names no entry, or a cue word that is itself a category name
(names are matched as names, and count double), is an error naming the file and the group.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from .errors import GenerateError
from .taxonomy import FIELDS, Entry, Taxonomy, load_taxonomy, normalize, parse_yaml


@dataclass(frozen=True)
class Cue:
    """A group of words and what they suggest, per field, in order of preference."""

    group: str
    words: tuple[str, ...]
    en: tuple[str, ...]
    suggest: dict[str, tuple[Entry, ...]]
    weight: float = 1.0


@dataclass
class Lexicon:
    cues: list[Cue]
    ambiguous: dict[str, str] = field(default_factory=dict)         # normalised name -> what it mostly means
    tagged: frozenset[str] = frozenset()        # names Kiwi's tag decides (한: MM "one", NNG "han")
    not_after: dict[str, frozenset[str]] = field(default_factory=dict)
    context: frozenset[str] = frozenset()
    window: int = 4
    genre_instruments: dict[Entry, tuple[Entry, ...]] = field(default_factory=dict)
    mood_modes: dict[Entry, Entry] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_word: dict[str, list[Cue]] = {}
        self._phrases: dict[str, list[tuple[tuple[str, ...], Cue]]] = {}
        for cue in self.cues:
            for w in (*cue.words, *cue.en):
                parts = tuple(normalize(p) for p in w.split())
                if len(parts) == 1:
                    self._by_word.setdefault(parts[0], []).append(cue)
                else:
                    self._phrases.setdefault(parts[0], []).append((parts, cue))
        self.max_phrase = max((len(p) for ps in self._phrases.values() for p, _ in ps), default=1)

    def cues_for(self, word: str) -> list[Cue]:
        """The cues a single lemma (or English word) belongs to."""
        return self._by_word.get(normalize(word), [])

    def phrases_from(self, lemmas: list[str]) -> list[tuple[int, Cue]]:
        """Phrases (several lemmas) that start at lemmas[0]: their length in words and their cue."""
        first = normalize(lemmas[0]) if lemmas else ""
        keys = tuple(normalize(w) for w in lemmas)
        return [(len(p), cue) for p, cue in self._phrases.get(first, []) if keys[:len(p)] == p]

    def is_ambiguous(self, name: str) -> bool:
        return normalize(name) in self.ambiguous

    def is_tagged(self, name: str) -> bool:
        return normalize(name) in self.tagged

    def words(self) -> Iterable[tuple[str, Cue]]:
        for cue in self.cues:
            for w in cue.words:
                yield w, cue


def _entries(names: Any, field_name: str, tax: Taxonomy, where: str) -> tuple[Entry, ...]:
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise GenerateError(f"{where}: expected a list of {field_name} names, got {names!r}")
    out = []
    for n in names:
        entry = tax.lookup(n, field_name)
        if entry is None:
            raise GenerateError(f"{where}: '{n}' is not a {field_name} entry of the taxonomy")
        out.append(entry)
    return tuple(out)


def _cue(raw: Any, i: int, source: str, tax: Taxonomy) -> Cue:
    where = f"{source}: cues[{i}]"
    if not isinstance(raw, dict) or not isinstance(raw.get("group"), str):
        raise GenerateError(f"{where}: a cue is a mapping with 'group', 'words' and 'suggest'")
    where = f"{where} ({raw['group']})"
    unknown = set(raw) - {"group", "words", "en", "suggest", "weight"}
    if unknown:
        raise GenerateError(f"{where}: unknown keys {sorted(unknown)}")
    words = raw.get("words") or []
    if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
        raise GenerateError(f"{where}: 'words' must be a list of words")
    for w in words:
        hit = tax.lookup(w)
        if hit is not None:
            raise GenerateError(f"{where}: '{w}' is a category name ({hit.label}); names are matched as names, "
                                "leave it out of the lexicon")
    suggest = raw.get("suggest")
    if not isinstance(suggest, dict) or not suggest or set(suggest) - set(FIELDS):
        raise GenerateError(f"{where}: 'suggest' must map fields ({', '.join(FIELDS)}) to entry names")
    weight = raw.get("weight", 1.0)
    if not isinstance(weight, int | float) or not 0 < weight <= 5:
        raise GenerateError(f"{where}: 'weight' must be a number in (0, 5], got {weight!r}")
    return Cue(group=raw["group"], words=tuple(w.strip() for w in words),
               en=tuple(str(w).strip() for w in raw.get("en") or []),
               suggest={f: _entries(v, f, tax, f"{where}.suggest.{f}") for f, v in suggest.items()},
               weight=float(weight))


def read_lexicon(text: str, source: str = "lexicon.yaml", taxonomy: Taxonomy | None = None) -> Lexicon:
    """A lexicon from YAML text, checked against the taxonomy; errors name the source and the group."""
    tax = taxonomy or load_taxonomy()
    data = parse_yaml(text, source)
    if not isinstance(data, dict) or not isinstance(data.get("cues"), list):
        raise GenerateError(f"{source}: expected a mapping with 'cues'")
    cues = [_cue(raw, i, source, tax) for i, raw in enumerate(data["cues"])]
    amb = data.get("ambiguous") or {}
    ambiguous = {normalize(k): str(v) for k, v in (amb.get("words") or {}).items()}
    genres = {tax.find(g, "genres"): _entries(v, "instruments", tax, f"{source}: genre_instruments.{g}")
              for g, v in (data.get("genre_instruments") or {}).items()}
    modes: dict[Entry, Entry] = {}
    for mode, moods in (data.get("mood_modes") or {}).items():
        for mood in _entries(moods, "moods", tax, f"{source}: mood_modes.{mode}"):
            modes[mood] = tax.find(mode, "modes")
    tagged = frozenset(normalize(w) for w in amb.get("tagged") or [])
    for name in (*ambiguous, *tagged):
        if tax.lookup(name) is None:
            raise GenerateError(f"{source}: ambiguous: '{name}' is not a category name")
    return Lexicon(cues=cues, ambiguous=ambiguous, tagged=tagged,
                   not_after={normalize(k): frozenset(normalize(w) for w in v)
                              for k, v in (amb.get("not_after") or {}).items()},
                   context=frozenset(normalize(w) for w in amb.get("context") or []),
                   window=int(amb.get("window", 4)), genre_instruments=genres, mood_modes=modes)


@functools.cache
def load_lexicon() -> Lexicon:
    """The built-in lexicon (package data), loaded once."""
    text = resources.files("generate").joinpath("data", "lexicon.yaml").read_text(encoding="utf-8")
    return read_lexicon(text, "generate/data/lexicon.yaml")
