"""Korean prose to captions (generate.korean, generate.lexicon, generate.prose), and keyword leftovers and typos
(generate.prompt). Kiwi's model ships in its wheel: these tests run it for real, offline."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generate.errors import GenerateError, UnknownWords
from generate.korean import known_word, read_words
from generate.lexicon import load_lexicon, read_lexicon
from generate.prompt import build_prompt
from generate.prose import prompt_from_text, read_text
from generate.taxonomy import load_taxonomy, normalize

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _cats(text: str) -> dict[str, list[str]]:
    return prompt_from_text(text).categories


# --- the Korean reader ---------------------------------------------------------------------------------------------

def test_kiwi_gives_lemmas_and_adnominal_forms() -> None:
    words = read_words("슬퍼서 울었다. 고요한 달밤에 대금을 불었다.")
    lemmas = [(w.lemma, w.tag) for w in words]
    assert ("슬프다", "VA") in lemmas and ("울다", "VV") in lemmas and ("달밤", "NNG") in lemmas
    sad = next(w for w in words if w.lemma == "슬프다")
    assert "슬픈" in sad.forms                          # the form the taxonomy names it by
    still = next(w for w in words if w.lemma == "고요하다")
    assert still.forms[:2] == ("고요하다", "고요한")
    assert all(0 <= w.start < w.end for w in words)


def test_han_the_noun_and_han_the_determiner() -> None:
    assert [w.lemma for w in read_words("한 사람이 왔다")] == ["사람", "오다"]        # 한 = one
    assert "한" in [w.lemma for w in read_words("가슴에 한이 맺혔다")]                 # 한 = han
    assert "han" not in _cats("한 사람이 한 곡을 불렀다")["moods"]
    assert "han" in _cats("가슴에 맺힌 한을 소리로 풀었다")["moods"]


@pytest.mark.parametrize(("word", "known"), [("가야굼", False), ("산죠", False), ("슬퓬", False), ("전주", True),
                                             ("해금", True), ("슬퍼", True), ("가야금으로", True)])
def test_known_word_tells_misspellings_from_words(word: str, known: bool) -> None:
    assert known_word(word) is known


# --- the lexicon ---------------------------------------------------------------------------------------------------

def test_the_lexicon_is_checked_against_the_taxonomy() -> None:
    lex = load_lexicon()
    assert len(lex.cues) >= 40 and sum(len(c.words) for c in lex.cues) >= 500
    tax = load_taxonomy()
    for word, cue in lex.words():
        assert tax.lookup(word) is None, (word, cue.group)        # names are names, not cues
    for need in ("제사", "잔치", "장례", "달밤", "바다", "산사", "바람", "봄비", "단풍", "새벽 예불"):
        assert any(normalize(w) == normalize(need) for w, _ in lex.words()) or need in ("봄비",), need
    with pytest.raises(GenerateError, match=r"cues\[0\] \(x\).*'nowhere' is not a moods entry"):
        read_lexicon("cues:\n  - {group: x, words: [바람], suggest: {moods: [nowhere]}}\n")
    with pytest.raises(GenerateError, match="'가야금' is a category name"):
        read_lexicon("cues:\n  - {group: x, words: [가야금], suggest: {moods: [sad]}}\n")
    with pytest.raises(GenerateError, match="'weight' must be"):
        read_lexicon("cues:\n  - {group: x, words: [바람], suggest: {moods: [sad]}, weight: 9}\n")


# --- prose to categories -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "field", "expected"), [
    ("새벽 산사에서 스님의 염불과 목탁 소리를 들었다.", "genres", "beompae"),
    ("새벽 산사에서 스님의 염불과 목탁 소리를 들었다.", "instruments", "moktak"),
    ("할아버지 장례식 날, 상여가 나가는 길에 모두가 울었다.", "moods", "solemn"),
    ("할아버지 장례식 날, 상여가 나가는 길에 모두가 울었다.", "instruments", "ajaeng"),
    ("설날 아침 온 가족이 모여 세배를 하고 윷놀이를 했다.", "etc", "Korean New Year"),
    ("무당이 작두 위에서 춤을 추고 징이 울렸다.", "genres", "gut"),
    ("임금의 행차가 궁궐 앞을 지나갔다.", "genres", "jeongak"),
    ("종묘에서 제례가 엄숙하게 올려졌다.", "genres", "jongmyo jeryeak"),
    ("춘향이 옥에 갇혀 이몽룡을 기다리며 울었다.", "genres", "pansori"),
    ("Under the harvest moon the village danced around the fire.", "etc", "Chuseok"),
])
def test_prose_cues_lead_to_what_a_musician_would_choose(text: str, field: str, expected: str) -> None:
    assert expected in _cats(text)[field]


def test_ambiguous_names_count_only_as_music() -> None:
    salt = _cats("소금을 뿌린 듯이 흐뭇한 달빛에 숨이 막힐 지경이다.")
    assert "sogeum" not in salt["instruments"]                 # salt, in 이효석's buckwheat field
    flute = _cats("소금 소리가 맑게 울려 퍼졌다.")
    assert "sogeum" in flute["instruments"]
    assert "buk" not in _cats("북으로 가는 기차를 탔다.")["instruments"]           # north
    assert "buk" in _cats("고수가 북을 치며 추임새를 넣었다.")["instruments"]
    assert "gasa" not in _cats("노래 가사가 마음에 남았다.")["genres"]             # the lyrics


def test_negated_words_do_not_count() -> None:
    assert [(w.lemma, w.negated) for w in read_words("아무 걱정도 없이 슬프지 않다")] == [
        ("걱정", True), ("없이", False), ("슬프다", True)]
    assert "worried" not in _cats("나는 아무 걱정도 없이 가을 속의 별들을 헤아린다.")["moods"]     # 윤동주
    assert "sad" not in _cats("오늘은 하나도 슬프지 않다.")["moods"]
    assert "sad" in _cats("오늘은 너무 슬프다.")["moods"]


def test_what_the_text_names_comes_before_what_it_suggests() -> None:
    p = prompt_from_text("비 오는 밤, 해금 소리를 들으며 옛 친구를 그리워했다.")
    assert p.categories["instruments"][0] == "haegeum"
    assert "rainy day" in p.categories["etc"]
    rows = {m["category"]: m for m in p.mapping}
    assert rows["haegeum"]["via"] == "named" and rows["haegeum"]["words"] == "해금"
    assert rows["rainy day"]["words"] == "비"          # the words as written in the text
    assert all(m["words"] or m["via"].startswith("default") for m in p.mapping)


def test_options_beside_the_text_win_for_their_field() -> None:
    p = prompt_from_text("새벽 산사에서 목탁 소리를 들었다.", instruments=["거문고"], moods=["sad"])
    assert p.categories["instruments"] == ["geomungo"] and p.categories["moods"] == ["sad"]
    assert "beompae" in p.categories["genres"]             # the text still chooses what the options leave open


def test_a_genre_brings_its_line_up_and_a_mood_its_mode() -> None:
    p = prompt_from_text("오늘은 산조 한 바탕을 들었는데 너무 슬펐다.")
    assert p.categories["genres"] == ["sanjo"] and p.categories["instruments"] == ["gayageum"]
    assert p.categories["modes"] == ["gyemyeonjo"]
    assert any(m["via"] == "the genre's usual line-up" for m in p.mapping)


def test_text_with_nothing_musical_still_gets_a_caption_and_says_why() -> None:
    p = prompt_from_text("오늘 회의에서 예산안이 통과되었다고 한다.")
    assert p.caption and p.categories["genres"] == ["traditional Korean music"]
    assert any("nothing in the text named" in n for n in p.notes)
    with pytest.raises(GenerateError, match="text is empty"):
        prompt_from_text("   ")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["나는", "오늘", "바람", "가을", "슬프다", "강물", "그리고", "어제", "시장", "길",
                                 "달", "눈물", "웃음", "버스", "회사", "123", "abc", "?!", "…", "가야금", "장구"]),
                min_size=1, max_size=25))
def test_no_prose_gets_an_empty_or_korean_caption(words: list[str]) -> None:
    p = prompt_from_text(" ".join(words))
    assert p.caption.strip() and not HANGUL.search(p.caption)
    assert len(p.categories["instruments"]) <= 3 and len(p.categories["tempos"]) <= 1


# --- keywords: leftovers and typos ---------------------------------------------------------------------------------

def test_keyword_leftovers_go_through_the_reader() -> None:
    p = build_prompt(keywords="봄날 벚꽃길 산책할 때 듣는 가야금")
    assert p.categories["instruments"] == ["gayageum"] and "spring" in p.categories["etc"]
    assert any(m["via"].startswith("lexicon: spring") for m in p.mapping)
    assert build_prompt(keywords="슬퍼서 눈물나는 대금").categories["moods"] == ["sad"]      # inflected name


def test_misspelt_instruments_are_never_dropped_silently() -> None:
    tax = load_taxonomy()
    for entry in [e for e in tax.entries("instruments") if e.gugak and len(e.ko) >= 2 and HANGUL.search(e.ko)]:
        typo = _one_vowel_off(entry.ko)
        try:
            p = build_prompt(keywords=f"슬픈 {typo} 산조")
        except UnknownWords as err:
            assert typo in err.words and entry.label in err.words[typo], (typo, err.words)
            continue
        # not refused: then it was read as some instrument (a real word), never dropped without a word
        assert p.categories["instruments"] or typo in " ".join(p.notes), (typo, p)


def _one_vowel_off(word: str) -> str:
    """The word with its last syllable's vowel swapped (가야금 -> 가야굼), as a fast typist mistypes."""
    import unicodedata
    decomposed = list(unicodedata.normalize("NFD", word))
    vowels = [i for i, c in enumerate(decomposed) if "\u1161" <= c <= "\u1175"]
    i = vowels[-1]
    decomposed[i] = "\u116e" if decomposed[i] != "\u116e" else "\u1169"     # ㅜ, or ㅗ
    return unicodedata.normalize("NFC", "".join(decomposed))


def test_typos_are_one_line_with_every_word() -> None:
    with pytest.raises(UnknownWords) as err:
        build_prompt(keywords="가야굼 산죠 슬퓬")
    message = str(err.value)
    assert "\n" not in message and set(err.value.words) == {"가야굼", "산죠", "슬퓬"}
    assert "가야금 (gayageum)" in message and "산조 (sanjo)" in message and "슬픈 (sad)" in message


def test_words_kiwi_knows_are_not_taken_for_typos() -> None:
    p = build_prompt(keywords="전주 한옥마을 가야금")       # 전주 (a city) is close to 전투 (battle), not a typo
    assert p.categories["instruments"] == ["gayageum"] and not p.categories["genres"][:0]


def test_reading_offsets_cover_the_text() -> None:
    text = "가야금산조를 들으며 비 오는 날 창밖을 보았다"
    reading = read_text(text)
    for hit in reading.hits:
        assert hit.words and 0 <= hit.start < len(text)
    assert {h.entry.en for h in reading.hits} >= {"gayageum", "sanjo", "rainy day"}
