"""generate.taxonomy and generate.prompt: the taxonomy (package data), lookups, keyword parsing and captions."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from generate.errors import GenerateError, UnknownCategory
from generate.prompt import Prompt, build_prompt, parse_keywords, parse_text
from generate.taxonomy import FIELDS, SINGULAR, load_taxonomy, normalize, read_taxonomy
from remaster.errors import SoriError

RAW = Path(__file__).with_name("data") / "textunes_category_ver1.0.3.json"      # the raw category data
HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
ACRONYM_KO = {"808", "ASMR", "EDM"}          # the only Korean names written in Latin letters, as Koreans write them

# Raw keys whose meaning changed: (field, raw Korean key) -> the `en` it finds now, or None if it names nothing.
# Every other raw key must find the same entry as its raw English value (test_every_raw_entry_is_accounted_for).
RAW_FIXES: dict[tuple[str, str], str | None] = {
    ("moods", "겁내는"): None, ("moods", "펑키한"): "funky", ("genres", "집"): None, ("genres", "깊은 집"): None,
    ("genres", "국가"): None, ("genres", "영혼"): None, ("genres", "영혼의 음악"): None, ("genres", "그네"): None,
    ("genres", "황홀"): None, ("genres", "날뛰다"): None, ("genres", "산업"): None, ("genres", "경마"): None,
    ("genres", "고전"): None, ("genres", "라틴어"): None, ("genres", "인도 사람"): None, ("genres", "잔잔한"): "calm",
    ("genres", "미묘한"): None, ("genres", "일렉트로니카"): "electronica", ("genres", "여행"): "travel",
    ("genres", "네오"): None, ("genres", "그룹"): None, ("genres", "견본"): None, ("genres", "오케스트라"): "orchestra",
    ("instruments", "현악기"): "strings", ("instruments", "턱 하프"): None, ("instruments", "민족 피리"): None,
    ("instruments", "민족 타악기"): None, ("instruments", "뮤지컬 앙상블"): None,
    ("moods", "대기"): None, ("moods", "차가운"): None, ("moods", "탄력"): None, ("moods", "평온한"): "peaceful",
    ("moods", "냉기"): None, ("moods", "초초"): None, ("moods", "부서지기 쉬운"): None, ("moods", "극심한"): None,
    ("moods", "빛"): None, ("moods", "열망"): None, ("moods", "침침한"): None, ("moods", "찌는 듯한"): None,
    ("moods", "밑줄"): None, ("moods", "충만한"): None, ("moods", "상승 기조"): None, ("moods", "과학"): None,
    ("moods", "파이"): None,
}
# Raw English values that were wrong or fragments; they name nothing now.
RAW_VALUES_DROPPED = {"Electric", "Sci", "Fi", "Neo", "Group", "Samples"}
# The corrected Korean names: en -> ko.
FIXED_KO = {
    "funky": "펑키한", "funny": "웃긴", "house": "하우스", "deep house": "딥 하우스", "country": "컨트리",
    "soul": "소울", "swing": "스윙", "trance": "트랜스", "rave": "레이브", "industrial": "인더스트리얼",
    "racing": "레이싱", "classical": "클래식", "Latin music": "라틴 음악", "Indian music": "인도 음악",
    "ambient": "앰비언트", "ethereal": "천상의", "world music": "월드 뮤직", "electronica": "일렉트로니카",
    "funk": "훵크", "bowed string instrument": "찰현악기", "jaw harp": "구금", "ethnic flute": "에스닉 플루트",
    "ethnic percussion": "에스닉 타악기", "ensemble": "합주", "music box": "오르골", "wah-wah guitar": "와우 기타",
    "hammond organ": "해먼드 오르간", "atmospheric": "분위기 있는", "bleak": "황량한", "bouncy": "통통 튀는",
    "carefree": "걱정 없는", "chill": "느긋한", "driving": "질주하는", "edgy": "날 선", "fragile": "연약한",
    "haunting": "뇌리에 맴도는", "intense": "강렬한", "light": "가벼운", "longing": "애타는", "sensual": "관능적인",
    "somber": "침울한", "sophisticated": "고급스러운", "soulful": "소울풀한", "sultry": "요염한", "upbeat": "경쾌한",
    "spooky": "으스스한", "silly": "우스꽝스러운", "chant": "성가", "uplifting": "희망을 주는", "sci-fi": "공상과학",
    "old school hip hop": "올드스쿨 힙합", "trip hop": "트립합", "neo soul": "네오 소울", "sad": "슬픈",
    "background music": "배경음악", "European music": "유럽 음악", "lively": "활기찬", "wedding": "결혼식",
    "travel": "여행", "orchestral": "오케스트라 음악", "orchestra": "오케스트라", "punk": "펑크",
}
JANGDAN = ["진양조", "중모리", "중중모리", "굿거리", "세마치", "엇모리", "자진모리", "휘모리",
           "단모리", "엇중모리", "동살풀이", "타령", "도드리"]
GUGAK_INSTRUMENTS = ["가야금", "거문고", "대금", "소금", "단소", "피리", "태평소", "해금", "아쟁", "양금", "생황",
                     "장구", "북", "꽹과리", "징",
                     "퉁소", "소고", "나발", "편종", "편경", "박", "좌고", "비파", "대아쟁", "25현가야금", "세피리",
                     "목탁"]
GUGAK_GENRES = ["국악", "정악", "산조", "민요", "판소리", "시나위", "풍물", "사물놀이", "창작국악", "퓨전국악",
                "가곡", "가사", "시조", "정가", "단가", "병창", "남도민요", "경기민요", "굿", "범패", "대취타",
                "영산회상", "수제천", "종묘제례악"]
# Every word issue 15 found not understood, with the field and the entry it must find.
ISSUE_15_WORDS = {
    "아리랑": ("tunes", "Arirang"), "단모리": ("tempos", "danmori"), "엇중모리": ("tempos", "eotjungmori"),
    "동살풀이": ("tempos", "dongsalpuri"), "타령": ("tempos", "taryeong"), "도드리": ("tempos", "dodeuri"),
    "가곡": ("genres", "gagok"), "가사": ("genres", "gasa"), "시조": ("genres", "sijo"), "정가": ("genres", "jeongga"),
    "단가": ("genres", "danga"), "병창": ("genres", "byeongchang"), "남도민요": ("genres", "namdo minyo"),
    "경기민요": ("genres", "gyeonggi minyo"), "굿": ("genres", "gut"), "무속": ("genres", "gut"),
    "범패": ("genres", "beompae"), "대취타": ("genres", "daechwita"), "영산회상": ("genres", "yeongsan hoesang"),
    "수제천": ("genres", "sujecheon"), "종묘제례악": ("genres", "jongmyo jeryeak"), "퉁소": ("instruments", "tungso"),
    "소고": ("instruments", "sogo"), "나발": ("instruments", "nabal"), "편종": ("instruments", "pyeonjong"),
    "편경": ("instruments", "pyeongyeong"), "박": ("instruments", "bak"), "좌고": ("instruments", "jwago"),
    "비파": ("instruments", "bipa"), "대아쟁": ("instruments", "dae-ajaeng"),
    "25현가야금": ("instruments", "25-string gayageum"), "세피리": ("instruments", "sepiri"), "한": ("moods", "han"),
    "서정적인": ("moods", "lyrical"),
}
ACCOMPANIMENT = ("accompan", "ensemble", "band", "orchestra", "quartet", "backing", "backed", "trio", "duet")


@pytest.fixture(scope="module")
def tax():
    return load_taxonomy()


def _strip_descriptors(caption: str) -> str:
    return re.sub(r"\([^)]*\)", "", caption)


# --- the data ------------------------------------------------------------------------------------------------------

def test_taxonomy_is_package_data_with_all_fields(tax):
    assert load_taxonomy() is tax                                     # cached
    assert set(tax.fields) == set(FIELDS)
    assert all(tax.entries(f) for f in FIELDS)
    assert tax.durations_s == (15, 30, 60)
    gugak = {e.ko for e in tax.entries("instruments") if e.gugak}
    assert gugak == set(GUGAK_INSTRUMENTS)
    assert all(e.describe and "Korean" in e.describe for e in tax.entries("instruments") if e.gugak)
    assert {e.ko for e in tax.entries("tempos") if e.gugak} == set(JANGDAN)
    assert {e.ko for e in tax.entries("genres") if e.gugak} == set(GUGAK_GENRES)
    assert {e.ko for e in tax.entries("modes") if e.gugak} == {"평조", "계면조"}
    assert all(e.bpm and e.bpm[0] <= e.bpm[1] for e in tax.entries("tempos"))
    assert tax.find("slow").bpm == (60, 80) and tax.find("fast").bpm[0] > tax.find("medium").bpm[1]
    assert sum(e.popular for e in tax.entries("instruments")) == 15


@pytest.mark.parametrize(("word", "expected"), ISSUE_15_WORDS.items())
def test_the_whole_gugak_vocabulary_is_known(tax, word, expected):
    entry = tax.find(word)
    assert (entry.field, entry.en) == expected
    assert entry.gugak and HANGUL.search(entry.ko) and not HANGUL.search(entry.en)
    if entry.field == "instruments":
        assert entry.describe and "Korean" in entry.describe
    # a romanisation finds it too (the English name, or an alias written in Latin letters)
    assert tax.find(entry.en) is entry
    assert any(not HANGUL.search(a) for a in entry.aliases) or entry.field == "moods", entry


def test_no_odd_suggestions_for_gugak_words(tax):
    """Issue 15: 한 used to suggest 화난 (angry), 정가 성가 (chant); they are entries of their own now."""
    assert tax.find("한").en == "han" and tax.find("정가").en == "jeongga"
    assert build_prompt(moods="한").categories["moods"] == ["han"]


def test_tunes_have_a_jangdan_and_a_midi_file(tax):
    from importlib import resources
    for tune in tax.entries("tunes"):
        assert tune.midi and resources.files("generate").joinpath("data", "tunes", tune.midi).is_file(), tune
        assert tax.tempo_of(tune) is not None and tax.tempo_of(tune).gugak
    p = build_prompt(keywords="아리랑 해금")
    assert p.tune == "Arirang" and "Arirang" in p.caption and p.categories["tempos"] == ["semachi"]
    assert build_prompt(keywords="진도 아리랑").tune == "Jindo Arirang"


def test_moods_do_not_make_a_caption_korean_but_gugak_material_does():
    assert "Korean" not in build_prompt(instruments="piano", moods="애절한").caption
    assert build_prompt(keywords="아리랑").caption.startswith("traditional Korean music")


def test_english_names_are_english_and_korean_names_are_korean(tax):
    latin_ko = set()
    for e in tax.all_entries():
        for text in (e.en, e.describe or "", e.caption or "", e.feel or ""):
            assert not HANGUL.search(text), (e.field, e.en, text)
        if not HANGUL.search(e.ko):
            latin_ko.add(e.ko)
            assert re.fullmatch(r"[0-9A-Z&]+", e.ko), e     # acronyms only
        assert e.ko == unicodedata.normalize("NFC", e.ko)
    assert latin_ko == ACRONYM_KO


def test_no_two_entries_share_a_normalised_name(tax):
    seen: dict[str, tuple[str, str]] = {}
    for e in tax.all_entries():
        for name in set(map(normalize, e.names)):
            assert name not in seen, f"{name!r}: {seen.get(name)} and {(e.field, e.en)}"
            seen[name] = (e.field, e.en)


def test_raw_data_fixes_hold(tax):
    for (field, key), expected in RAW_FIXES.items():
        found = tax.lookup(key)
        assert (found.en if found else None) == expected, (field, key)
    for en, ko in FIXED_KO.items():
        assert tax.find(en).ko == ko, en
        assert tax.find(ko).en == en, ko
    assert tax.lookup("겁내는") is None and tax.find("Funky").ko == "펑키한"
    assert tax.find("Funny").ko != "펑키한"
    assert tax.find("House", "genres").ko == "하우스" and tax.lookup("집") is None
    assert tax.find("찬트").en == "chant" and tax.find("고양").en == "uplifting"
    assert tax.find("Sci-Fi").ko == "공상과학"
    for value in RAW_VALUES_DROPPED:
        assert tax.lookup(value) is None, value


@pytest.mark.skipif(not RAW.exists(), reason="raw reference data not available")
def test_every_raw_entry_is_accounted_for(tax):
    """Each raw Korean key either finds the entry its English value finds, or is a listed fix."""
    raw = json.loads(RAW.read_text(encoding="utf-8"))
    checked = 0
    for field in ("instruments", "genres", "moods"):
        for split in ("popular", "normal"):
            for key, value in raw[field][split].items():
                checked += 1
                if (field, key) in RAW_FIXES:
                    continue                                    # checked in test_raw_data_fixes_hold
                assert value not in RAW_VALUES_DROPPED, (field, key, value)
                assert tax.find(key) is tax.find(value), (field, key, value)
                if split == "popular":
                    assert tax.find(key).popular, key
    assert checked > 300
    for value in raw["tempos"]:
        assert tax.find(value, "tempos").bpm


# --- lookups -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("word", "en"), [
    ("가야금", "gayageum"), ("Gayageum", "gayageum"), ("kayagum", "gayageum"), ("가얏고", "gayageum"),
    (unicodedata.normalize("NFD", "가야금"), "gayageum"), ("taegum", "daegeum"), ("장고", "janggu"),
    ("일렉 기타", "electric guitar"), ("일렉기타", "electric guitar"), ("Electric-Guitar", "electric guitar"),
    ("통기타", "acoustic guitar"), ("LoFi", "lo-fi"), ("lo fi", "lo-fi"), ("HIP-HOP", "hip hop"), ("bongo", "bongos"),
    ("Drum", "drums"), ("중모리", "jungmori"), ("chungmori", "jungmori"), ("계면조", "gyemyeonjo"),
    ("kyemyonjo", "gyemyeonjo"), ("사물 놀이", "samulnori"), ("잔잔한", "calm"), ("BGM", "background music"),
    ("R&B", "R&B"), ("알앤비", "R&B"), ("808", "808 bass"), ("Children`", "children's music"),
    ("유럽 ", "European music"),
])
def test_find_korean_english_alias_romanization(tax, word, en):
    assert tax.find(word).en == en


def test_find_in_a_field(tax):
    assert tax.find("슬픈", "moods").en == "sad"
    with pytest.raises(UnknownCategory) as err:
        tax.find("슬픈", "genres")
    assert "is a mood" in str(err.value) and "슬픈 (sad)" in str(err.value)
    with pytest.raises(GenerateError, match="unknown category field"):
        tax.find("piano", "instrument")


@pytest.mark.parametrize(("word", "field", "expected"), [
    ("산죠", "genres", "산조 (sanjo)"), ("가야굼", "instruments", "가야금 (gayageum)"),
    ("gayagm", None, "가야금 (gayageum)"), ("jungmoori", "tempos", "중모리 (jungmori)"),
    ("guitr", "instruments", "기타 (guitar)"),
])
def test_unknown_word_gives_one_line_with_suggestions(tax, word, field, expected):
    with pytest.raises(UnknownCategory) as err:
        tax.find(word, field)
    msg = str(err.value)
    assert isinstance(err.value, SoriError) and isinstance(err.value, GenerateError)
    assert "\n" not in msg and len(msg) < 300
    assert msg.startswith(f"unknown {SINGULAR[field] if field else 'category'} '{word}'")
    assert err.value.word == word and err.value.field == field
    assert f"did you mean {expected}" in msg
    assert err.value.suggestions[0] == expected and len(err.value.suggestions) <= 3


def test_unknown_word_without_close_match_lists_a_few_known(tax):
    with pytest.raises(UnknownCategory) as err:
        tax.find("xyzzy", "moods")
    msg = str(err.value)
    assert "did you mean" not in msg and "known moods include" in msg and msg.count("(") <= 7


# --- keywords ------------------------------------------------------------------------------------------------------

def test_parse_mixed_korean_text_finds_the_four():
    found = parse_keywords("슬픈 가야금 산조 중모리")
    assert [(e.field, e.en) for e in found] == [("moods", "sad"), ("instruments", "gayageum"), ("genres", "sanjo"),
                                               ("tempos", "jungmori")]


def test_parse_is_greedy_longest_first():
    assert [e.en for e in parse_keywords("일렉 기타, acoustic guitar 기타")] == ["electric guitar", "acoustic guitar",
                                                                           "guitar"]
    assert [e.en for e in parse_keywords("old school hip hop and hip hop")] == ["old school hip hop", "hip hop"]
    assert [e.en for e in parse_keywords("비 오는 날 꿈꾸는 듯한 피아노")] == ["rainy day", "dreamy", "piano"]


def test_parse_particles_compounds_and_leftovers():
    parsed = parse_text("가야금산조, 해금으로 연주한 슬픈 음악 with soft tape hiss for a rainy night walk "
                        "90 bpm 뭐시기")
    assert [e.en for e in parsed.entries] == ["gayageum", "sanjo", "haegeum", "sad", "rainy day", "night"]
    assert parsed.free == ["soft tape hiss", "walk"]
    assert parsed.dropped == ["뭐시기"]
    assert parsed.bpm == 90
    assert parse_keywords("") == [] and parse_keywords("piano piano 피아노") == [load_taxonomy().find("piano")]


# --- prompts -------------------------------------------------------------------------------------------------------

def test_gugak_solo_prompt():
    p = build_prompt(instruments="가야금", genres="산조", moods=["슬픈", "애절한"], tempo="중모리", mode="계면조",
                     solo=True)
    assert p.caption.startswith("traditional Korean sanjo, solo gayageum (Korean 12-string zither")
    assert "75 bpm" in p.caption and "jungmori" in p.caption and "gyemyeonjo mode" in p.caption
    assert p.caption.endswith("gayageum alone, no other instruments")
    assert p.solo and p.instrument == "gayageum" and p.bpm == 75 and p.language == "ko"
    assert p.categories == {"instruments": ["gayageum"], "genres": ["sanjo"], "moods": ["sad", "plaintive"],
                            "tempos": ["jungmori"], "modes": ["gyemyeonjo"], "etc": [], "tunes": []}


@pytest.mark.parametrize("instrument", [*GUGAK_INSTRUMENTS, "piano", "acoustic guitar", "cello"])
def test_solo_caption_has_one_instrument_alone(tax, instrument):
    p = build_prompt(instruments=instrument, moods="calm", tempo="slow", solo=True)
    entry = tax.find(instrument, "instruments")
    assert "solo" in p.caption and "no other instruments" in p.caption and f"{entry.en} alone" in p.caption
    assert p.categories["instruments"] == [entry.en] and p.instrument == entry.en
    plain = _strip_descriptors(p.caption).casefold().replace(entry.en.casefold(), "")
    others = [e.en for e in tax.entries("instruments") if e is not entry
              and re.search(rf"\b{re.escape(e.en.casefold())}\b", plain)]
    assert others == [], p.caption
    assert not any(word in plain for word in ACCOMPANIMENT), p.caption


def test_solo_needs_exactly_one_instrument_and_no_ensemble():
    with pytest.raises(GenerateError, match="exactly one instrument, got 2"):
        build_prompt(instruments=["가야금", "해금"], solo=True)
    with pytest.raises(GenerateError, match="exactly one instrument, got none"):
        build_prompt(genres="산조", solo=True)
    with pytest.raises(GenerateError, match="exactly one instrument, got 2"):
        build_prompt(keywords="가야금 대금 독주")
    with pytest.raises(GenerateError, match="ensemble genre 시나위"):
        build_prompt(instruments="대금", genres="시나위", solo=True)
    with pytest.raises(GenerateError, match="ensemble instrument"):
        build_prompt(instruments="orchestra", solo=True)
    p = build_prompt(keywords="해금 독주 진양조")                  # the keyword 독주 switches solo on
    assert p.solo and p.instrument == "haegeum" and "no other instruments" in p.caption
    assert "solo" not in p.categories["etc"]


@pytest.mark.parametrize("jangdan", JANGDAN)
def test_jangdan_sets_bpm_within_its_range(tax, jangdan):
    entry = tax.find(jangdan, "tempos")
    p = build_prompt(tempo=jangdan)
    assert entry.bpm[0] <= p.bpm <= entry.bpm[1]
    assert f"{entry.en} rhythm around {p.bpm} bpm" in p.caption
    assert p.caption.startswith("traditional Korean music")             # jangdan implies traditional Korean
    assert p.categories["tempos"] == [entry.en]


def test_traditional_korean_is_implied_once():
    assert "Korean" not in build_prompt(instruments="piano", genres="jazz").caption
    assert build_prompt(instruments="대금").caption.startswith("traditional Korean music, daegeum (")
    p = build_prompt(instruments="가야금", genres="산조")
    assert p.caption.startswith("traditional Korean sanjo") and "traditional Korean music" not in p.caption
    assert build_prompt(genres="국악", instruments="haegeum").caption.count("traditional Korean") == 1
    assert build_prompt(genres="lofi", instruments="가야금").caption.startswith(
        "lo-fi blended with traditional Korean music")


def test_korean_keywords_make_an_english_caption():
    p = build_prompt(keywords="잔잔한 해금 대금 굿거리, 유튜브 브이로그 배경음악 뭐시기")
    assert not HANGUL.search(p.caption)
    assert p.categories["instruments"] == ["haegeum", "daegeum"] and p.categories["moods"] == ["calm"]
    assert p.bpm == 85 and "gutgeori" in p.caption and "background music" in p.caption
    assert p.dropped == ["뭐시기"] and len(p.notes) == 1 and "뭐시기" in p.notes[0]
    assert p.language == "ko"


def test_captions_are_english_and_deterministic(tax):
    cases = [dict(keywords="신나는 사물놀이 휘모리"), dict(keywords="거문고 독주 진양조 평조 고요한 새벽"),
             dict(instruments=["piano", "strings"], genres="cinematic", moods="hopeful", tempo="느린"),
             dict(instruments="acoustic guitar", genres="로파이", extra="비 오는 날 카페 분위기", tempo=85),
             dict(keywords="lo-fi hip hop piano for studying 80 bpm", extra="with vinyl crackle")]
    for kw in cases:
        a, b = build_prompt(**kw), build_prompt(**kw)
        assert a == b and a.caption
        assert not HANGUL.search(a.caption), a.caption
    p = build_prompt(instruments=["가야금", "gayageum", "kayagum"], moods=["sad", "슬픈", "슬픔"])
    assert p.categories["instruments"] == ["gayageum"] and p.categories["moods"] == ["sad"]
    assert p.language == "mixed"
    assert build_prompt(**cases[3]).bpm == 85 and "85 bpm" in build_prompt(**cases[3]).caption
    e = build_prompt(**cases[4])
    assert e.bpm == 80 and e.caption.endswith("with vinyl crackle") and e.language == "en"


def test_explicit_unknown_category_raises():
    with pytest.raises(UnknownCategory, match="unknown instrument '가야굼'; did you mean 가야금"):
        build_prompt(instruments="가야굼")
    with pytest.raises(GenerateError, match="out of range"):
        build_prompt(tempo=5)


def test_prompt_to_dict_round_trips_through_json():
    p = build_prompt(instruments="가야금", genres="산조", moods="슬픈", tempo="중모리", solo=True,
                     keywords="잔잔한 뭐시기")
    d = p.to_dict()
    back = json.loads(json.dumps(d, ensure_ascii=False))
    assert back == d and Prompt.from_dict(back) == p
    assert set(d) >= {"caption", "categories", "solo", "instrument", "bpm", "language"}


# --- data validation and import weight -----------------------------------------------------------------------------

def test_bad_taxonomy_data_gets_a_clear_error():
    clash = "fields:\n  instruments:\n    - {en: piano, ko: 피아노}\n  moods:\n    - {en: calm, ko: 피아노}\n"
    with pytest.raises(GenerateError, match="'피아노' of moods 'calm' is also a name of instruments 'piano'"):
        read_taxonomy(clash, "x.yaml")
    with pytest.raises(GenerateError, match="must not contain Hangul"):
        read_taxonomy("fields:\n  moods:\n    - {en: 슬픈, ko: 슬픈}\n", "x.yaml")
    with pytest.raises(GenerateError, match="a tempo needs"):
        read_taxonomy("fields:\n  tempos:\n    - {en: slow, ko: 느린}\n", "x.yaml")
    with pytest.raises(GenerateError, match="unknown keys"):
        read_taxonomy("fields:\n  moods:\n    - {en: sad, ko: 슬픈, colour: blue}\n", "x.yaml")


def test_importing_generate_stays_light():
    code = ("import sys, generate, generate.prompt; generate.prompt.build_prompt(keywords='가야금');"
            "print(sorted(m for m in ('torch', 'transformers', 'torchaudio') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
