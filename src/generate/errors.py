"""Errors of the generation side. They subclass `SoriError`, so the CLI shows them as one line without a traceback."""

from __future__ import annotations

from remaster.errors import SoriError


class GenerateError(SoriError):
    """Bad generation input: a category, prompt or option the generator cannot use."""


class UnknownCategory(GenerateError):
    """A word that names no category. The message names the word, the field and the closest known categories."""

    def __init__(self, message: str, *, word: str, field: str | None, suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.word = word
        self.field = field
        self.suggestions = suggestions


class UnknownWords(GenerateError):
    """Words of a prompt that look like misspelt category names: one line naming each with its closest names."""

    def __init__(self, words: dict[str, tuple[str, ...]]) -> None:
        parts = [f"'{w}' (did you mean {' or '.join(close)}?)" for w, close in words.items()]
        noun = "word" if len(words) == 1 else "words"
        super().__init__(f"unknown {noun} {', '.join(parts)}; fix the spelling, or see `sori categories search "
                         "WORD`")
        self.words = words
