"""Korean text as content words with their lemmas, through Kiwi (kiwipiepy), whose model ships in its wheel.

    from generate.korean import read_words
    [(w.text, w.lemma, w.tag) for w in read_words("달밤에 대금을 불었다")]
    # [('달밤', '달밤', 'NNG'), ('대금', '대금', 'NNG'), ('불었', '불다', 'VV')]

Kiwi (Lee Minchul, https://github.com/bab2min/Kiwi) is a Korean morphological analyzer; `kiwipiepy-model` carries its
language model in the wheel, so it loads offline (about 1 s, once per process, and only when Korean free text needs
it: `sori --help` and category prompts never load it). Its tags are the Sejong tag set (NNG common noun, NNP proper
noun, VV verb, VA adjective, MAG adverb, XR root, MM determiner, J* particles, E* endings).

A `Word` is one content morpheme with the names to look it up by: the lemma (슬프다), and for verbs and adjectives
also the adnominal form a category name uses (슬픈, 고요한, 신나는); a root or noun with 하다 counts as one word
(흐뭇 + 하 -> 흐뭇하다, 흐뭇한; 고요 + 하 -> 고요하다, 고요한), and keeps the bare root among its forms.
The determiner 한 (one) and the noun 한 (han, 恨) share a spelling: Kiwi tags the first MM, and an MM that a
particle follows (한이, 한을) is read as the noun.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from typing import Any

CONTENT_TAGS = frozenset({"NNG", "NNP", "VV", "VA", "MAG", "XR", "SL"})
# Negators, as Kiwi tags them: 않다 (VX), 없다 (VA), 없이 (MAG), 아니다 (VCN), and the adverbs 안, 못, 아니 (MAG).
_NEGATORS = {("않", "VX"), ("없", "VA"), ("없이", "MAG"), ("아니", "VCN"), ("아니", "MAG"), ("안", "MAG"),
             ("못", "MAG"), ("못하", "VX")}
_FUNCTION = ("J", "E", "XS", "VCP", "SF", "SP")         # particles, endings, suffixes: what a negator may follow
_PREDICATES = {"VV": "는", "VA": "ᆫ"}          # adnominal endings: 불다 -> 부는, 슬프다 -> 슬픈


@dataclass(frozen=True)
class Word:
    """One content word of a text: where it is, its lemma, its tag and the forms a name may take."""

    text: str           # as written in the text (the morpheme's surface)
    lemma: str          # dictionary form: 슬프다, 달밤
    tag: str
    start: int          # character offsets in the text
    end: int
    forms: tuple[str, ...]      # lemma first, then adnominal forms (슬픈), for looking names up
    unknown: bool = False       # Kiwi does not know it (an out-of-vocabulary guess)
    negated: bool = False       # 걱정도 없이, 슬프지 않다, 안 슬프다, 눈은 아니 오고: said not to be


# Kiwi scores an out-of-vocabulary noun far below a known word of the same length (measured: 가야굼 -25.8,
# 가야금 -13.6, 전주 -10.7): below this a single-morpheme noun is treated as unknown (a possible misspelling).
OOV_SCORE = -18.0


@functools.cache
def kiwi() -> Any:
    """The analyzer, loaded once. Without the multi-word dictionary (not needed here) it loads twice as fast."""
    from kiwipiepy import Kiwi
    return Kiwi(load_multi_dict=False)


def _adnominal(stem: str, tag: str) -> list[str]:
    ending = _PREDICATES.get(tag)
    if ending is None:
        return []
    try:
        return [unicodedata.normalize("NFC", kiwi().join([(stem, tag), (ending, "ETM")]))]
    except Exception:       # join refuses odd stems; the lemma alone is still looked up
        return []


def read_words(text: str) -> list[Word]:
    """The content words of `text`, in order."""
    text = unicodedata.normalize("NFC", text or "")
    if not text.strip():
        return []
    tokens = kiwi().tokenize(text)
    words: list[Word] = []
    i = 0
    while i < len(tokens):
        word, used = _word_at(tokens, i, text)
        if word is not None:
            if _negated(tokens, i, used):
                word = Word(**{**word.__dict__, "negated": True})
            words.append(word)
        i += used
    return words


def _is_negator(t: Any) -> bool:
    return (t.form, t.tag) in _NEGATORS


def _negated(tokens: list[Any], i: int, used: int) -> bool:
    """Whether the word at tokens[i:i + used] is negated: a negator right before it (안 슬프다), or after it with
    only particles and endings between (슬프지 않다, 걱정도 없이)."""
    if i > 0 and tokens[i - 1].tag == "MAG" and _is_negator(tokens[i - 1]):
        return True
    for t in tokens[i + used:i + used + 4]:
        if _is_negator(t):
            return True
        if not t.tag.startswith(_FUNCTION):
            return False
    return False


def _word_at(tokens: list[Any], i: int, text: str) -> tuple[Word | None, int]:
    """The content word starting at tokens[i] (None if that token is none) and how many tokens it spans."""
    t = tokens[i]
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    if t.tag in ("XR", "NNG") and nxt is not None and nxt.tag in ("XSA", "XSV"):
        stem = t.form + nxt.form                                 # 흐뭇 + 하 -> 흐뭇하다, 고요 + 하 -> 고요하다
        tag = "VA" if nxt.tag == "XSA" else "VV"
        return _make(text, t.start, nxt.end, stem + "다", tag, [stem + "다", *_adnominal(stem, tag), t.form]), 2
    if t.tag == "MM" and t.form == "한" and nxt is not None and nxt.tag.startswith("J"):
        return _make(text, t.start, t.end, "한", "NNG", ["한"]), 1     # 한이 서리다: the noun, not "one"
    if t.tag not in CONTENT_TAGS:
        return None, 1
    lemma = t.lemma if t.tag in _PREDICATES else t.form
    forms = [lemma, *_adnominal(t.form, t.tag)] if t.tag in _PREDICATES else [lemma]
    word = _make(text, t.start, t.end, lemma, t.tag, forms,
                 unknown=t.tag in ("NNG", "NNP") and t.score < OOV_SCORE)
    return word, 1


def _make(text: str, start: int, end: int, lemma: str, tag: str, forms: list[str], unknown: bool = False) -> Word:
    return Word(text=text[start:end], lemma=unicodedata.normalize("NFC", lemma), tag=tag, start=start, end=end,
                forms=tuple(dict.fromkeys(unicodedata.normalize("NFC", f) for f in forms if f)), unknown=unknown)


def known_word(token: str) -> bool:
    """Whether Kiwi reads `token` as one word it knows (a noun, verb or adjective with its endings), rather than an
    unknown string it had to guess at: a misspelt category ('가야굼', '산죠') is not one."""
    tokens = kiwi().tokenize(unicodedata.normalize("NFC", token))
    content = [t for t in tokens if t.tag in CONTENT_TAGS or t.tag == "MM"]
    if len(content) != 1 or content[0].score < OOV_SCORE:
        return False
    # the content morpheme must carry the word: '산죠' read as the noun 산 plus the ending 죠 is a guess at an
    # unknown string, not a reading of a word (Korean stems of one syllable take endings of their own: 산이, 산에)
    return len(content[0].form) >= 2 or len(token) == 1
