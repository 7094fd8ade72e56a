"""The code tables of AI Hub 71470's labels (`codes.yaml` beside this module): instrument, genre, jangdan and mode
codes with their Korean and English names, and the taxonomy entry each stands for.

    from generate.finetune.codes import load_codes
    load_codes().instruments["SP01"].name        # 'gayageum': the English name manifests use

`codes.yaml` is data, with its sources noted there; `read_codes` checks it against the taxonomy
(`generate/data/categories.yaml`), so a row that names an entry the taxonomy lacks is one clear error.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ..errors import GenerateError
from ..taxonomy import Entry, Taxonomy, has_hangul, load_taxonomy, normalize, parse_yaml

_TABLES = ("instruments", "jangdan", "mode_prefixes", "genres", "genre_letters")
_CODE_KEYS_ALLOWED = {"ko", "en", "taxonomy", "caption", "melodic", "ensemble", "title"}
# Which taxonomy field a code table's `taxonomy:` names.
_TABLE_FIELD = {"instruments": "instruments", "jangdan": "tempos", "mode_prefixes": "modes", "genres": "genres",
                "genre_letters": "genres"}


@dataclass(frozen=True)
class Code:
    """One row of a code table in codes.yaml (or a category of a folder dataset's JSON)."""

    code: str
    ko: str
    en: str                         # English name ('' for a code that names nothing, such as NB0013 기타)
    entry: Entry | None = None      # the taxonomy entry, when the taxonomy has one
    caption: str | None = None      # English caption words when there is no entry
    melodic: bool = True
    ensemble: bool = False
    title: str | None = None        # jangdan: counts only when the title contains this word

    @property
    def name(self) -> str:
        """The English name manifests use: the taxonomy's where it has the entry."""
        return self.entry.en if self.entry is not None else self.en

    @property
    def phrase(self) -> str:
        return self.caption or self.en

    @property
    def is_ensemble(self) -> bool:
        return self.ensemble or (self.entry is not None and self.entry.ensemble)

    def keys(self) -> set[str]:
        names = {self.ko, self.en, *(self.entry.names if self.entry is not None else ())}
        return {normalize(n) for n in names if n and normalize(n)}


@dataclass(frozen=True)
class Codes:
    instruments: dict[str, Code]
    jangdan: dict[str, Code]
    mode_prefixes: dict[str, Code]
    genres: dict[str, Code]
    genre_letters: dict[str, Code]
    title_genres: tuple[tuple[str, str], ...]       # (word, genre code), longest word first
    title_jangdan: tuple[tuple[str, str], ...]

    def find_name(self, field_name: str, word: str) -> Code | None:
        """A code-table row by its Korean or English name, for names the taxonomy lacks (e.g. 비파)."""
        tables = {"instruments": (self.instruments,), "genres": (self.genres, self.genre_letters),
                  "tempos": (self.jangdan,), "modes": (self.mode_prefixes,)}[field_name]
        key = normalize(word)
        for table in tables:
            for code in table.values():
                if key and key in {normalize(code.ko), normalize(code.en)}:
                    return code
        return None

    def wrap(self, entry: Entry) -> Code:
        """A taxonomy entry as a code-table row; unpitched as the code table says (장구, 북, ...)."""
        unpitched = any(c.entry is entry and not c.melodic for c in self.instruments.values())
        return Code(code="", ko=entry.ko, en=entry.en, entry=entry, ensemble=entry.ensemble, melodic=not unpitched)


def read_codes(text: str, source: str = "codes.yaml", taxonomy: Taxonomy | None = None) -> Codes:
    """Code tables from YAML text; errors name the source, the table and the code."""
    tax = taxonomy or load_taxonomy()
    data = parse_yaml(text, source)
    if not isinstance(data, dict):
        raise GenerateError(f"{source}: expected a mapping with {', '.join(_TABLES)}")
    tables = {table: _table(data.get(table), table, source, tax) for table in _TABLES}
    return Codes(**tables, title_genres=_title_words(data, "title_genres", tables, "genres", source),
                 title_jangdan=_title_words(data, "title_jangdan", tables, "jangdan", source))


def _table(raw: Any, table: str, source: str, tax: Taxonomy) -> dict[str, Code]:
    if not isinstance(raw, dict) or not raw:
        raise GenerateError(f"{source}: '{table}' must be a mapping of code to entry")
    return {str(code).upper(): _row(str(code).upper(), row, _TABLE_FIELD[table], f"{source}: {table}.{code}", tax)
            for code, row in raw.items()}


def _row(code: str, row: Any, field_name: str, where: str, tax: Taxonomy) -> Code:
    if not isinstance(row, dict):
        raise GenerateError(f"{where}: an entry must be a mapping, got {row!r}")
    unknown = set(row) - _CODE_KEYS_ALLOWED
    if unknown:
        raise GenerateError(f"{where}: unknown keys {sorted(unknown)}; allowed are {sorted(_CODE_KEYS_ALLOWED)}")
    if not isinstance(row.get("ko"), str) or not row["ko"].strip():
        raise GenerateError(f"{where}: 'ko' must be a non-empty string")
    entry = None
    if row.get("taxonomy") is not None:
        entry = tax.lookup(str(row["taxonomy"]), field_name)
        if entry is None:
            raise GenerateError(f"{where}: taxonomy entry '{row['taxonomy']}' is not a known {field_name} entry of "
                                "the taxonomy")
    en = row.get("en", entry.en if entry is not None else None)
    if not isinstance(en, str) or has_hangul(en) or has_hangul(row.get("caption") or ""):
        raise GenerateError(f"{where}: needs 'en' (English, no Hangul) or a 'taxonomy' entry")
    return Code(code=code, ko=_nfc(row["ko"].strip()), en=en.strip(), entry=entry, caption=row.get("caption"),
                melodic=bool(row.get("melodic", True)), ensemble=bool(row.get("ensemble", False)),
                title=_nfc(row["title"]) if row.get("title") else None)


def _title_words(data: dict[str, Any], key: str, tables: dict[str, dict[str, Code]], table: str,
                 source: str) -> tuple[tuple[str, str], ...]:
    """Words of a title that name a code of `table` (e.g. 산조 -> a genre), longest first."""
    raw = data.get(key) or {}
    if not isinstance(raw, dict):
        raise GenerateError(f"{source}: '{key}' must be a mapping of word to code")
    for word, code in raw.items():
        if str(code).upper() not in tables[table]:
            raise GenerateError(f"{source}: {key}.{word}: code '{code}' is not in '{table}'")
    return tuple(sorted(((_nfc(str(w)), str(c).upper()) for w, c in raw.items()), key=lambda wc: -len(wc[0])))


@functools.cache
def load_codes() -> Codes:
    """The built-in code tables (package data next to this module), loaded once."""
    text = resources.files("generate.finetune").joinpath("codes.yaml").read_text(encoding="utf-8")
    return read_codes(text, "generate/finetune/codes.yaml")


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)
