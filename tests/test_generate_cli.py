"""`sori generate`, `sori make` and `sori categories`, run through the CLI's `main()` on the tiny MusicGen."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf

from tests.clirun import one_error
from tests.tiny_musicgen import RATE


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))


def test_generate_from_korean_categories(sori, tiny_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "takes"
    proc = sori("generate", "--instrument", "가야금", "--genre", "산조", "--mood", "슬픈", "--tempo", "중모리",
                "--solo", "-d", "0.5", "-n", "2", "--seed", "7", "-o", out, "--model", tiny_dir, "--top-k", "20")
    assert proc.returncode == 0, proc.stderr
    assert "caption: " in proc.stderr and "solo gayageum" in proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == [str(out / "take_000.wav"), str(out / "take_001.wav")]
    assert "seed 7" in lines[0] and "seed 8" in lines[1]
    sidecar = json.loads((out / "take_001.json").read_text(encoding="utf-8"))
    assert sidecar["seed"] == 8 and sidecar["categories"]["solo"] is True
    assert sidecar["categories"]["instrument"] == "gayageum" and "no other instruments" in sidecar["prompt"]
    assert sidecar["generation"]["top_k"] == 20
    assert sf.info(out / "take_000.wav").samplerate == RATE


def test_generate_from_free_korean_text_as_json(sori, tiny_dir: Path, tmp_path: Path) -> None:
    proc = sori("generate", "슬픈 해금 독주", "-d", "0.3", "--seed", "1", "-o", tmp_path, "--model", tiny_dir,
                "--json", "-q")
    assert proc.returncode == 0, proc.stderr
    [take] = json.loads(proc.stdout)
    assert take["seed"] == 1 and "haegeum" in take["prompt"] and Path(take["audio"]).is_file()


def test_make_writes_takes_masters_and_report(sori, tiny_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "made"
    proc = sori("make", "calm gayageum", "-d", "1", "-n", "1", "--seed", "2", "-o", out, "--model", tiny_dir,
                "--preset", "streaming", "--set", "loudness.target_lufs=-16", "-q")
    assert proc.returncode == 0, proc.stderr
    assert f"report: {out / 'report.json'}" in proc.stdout
    assert "raw/take_000.wav -> mastered/take_000.wav" in proc.stdout
    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    [row] = doc["rows"]
    assert row["after"]["integrated_lufs"] == pytest.approx(-16.0, abs=1.0)
    assert (out / row["raw"]).is_file() and (out / row["mastered"]).is_file()


@pytest.mark.parametrize(("args", "words"), [
    (["generate", "--instrument", "가야굼"], ["가야굼", "가야금"]),
    (["generate"], ["nothing to make", "sori categories"]),
    (["generate", "gayageum", "-n", "0"], ["n 0", "at least 1"]),
    (["generate", "gayageum", "-d", "-1"], ["duration", "positive"]),
    (["generate", "gayageum", "--model", "facebook/musicgen-small"], ["musicgen-small", "HF_HUB_OFFLINE"]),
    (["generate", "gayageum", "--model", "./no/such/model"], ["no such model directory"]),
    (["generate", "gayageum", "--engine", "fastest"], ["fastest", "transformers"]),
    (["make", "gayageum", "--preset", "streamingg"], ["streamingg", "did you mean 'streaming'"]),
    (["make", "gayageum", "--retries", "0"], ["retries 0", "1..20"]),
    (["categories", "colours"], ["colours", "instruments"]),
])
def test_bad_input_is_one_line(sori, tiny_dir: Path, tmp_path: Path, args: list[str], words: list[str]) -> None:
    if "--model" not in args and args[0] != "categories":
        args = [*args, "--model", str(tiny_dir)]
    line = one_error(sori(*args, "-o", tmp_path / "out", "-q") if args[0] != "categories" else sori(*args))
    for word in words:
        assert word in line, line
    assert not (tmp_path / "out" / "take_000.wav").exists()


def test_output_that_is_a_file_is_refused(sori, tiny_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("mine", encoding="utf-8")
    line = one_error(sori("generate", "gayageum", "-o", target, "--model", tiny_dir, "-q"))
    assert "notes.txt" in line and "not a folder" in line
    assert target.read_text(encoding="utf-8") == "mine"


def test_categories_lists_jangdan_with_tempo(sori) -> None:
    proc = sori("categories", "tempos", "--gugak")
    assert proc.returncode == 0
    line = next(x for x in proc.stdout.splitlines() if "중모리" in x)
    assert "jungmori" in line.lower() and "bpm" in line


def _display_width(text: str) -> int:
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


@pytest.mark.parametrize(("name", "field", "includes"), [
    ("악기", "instruments", ["가야금", "퉁소", "25현가야금"]), ("장르", "genres", ["범패", "종묘제례악"]),
    ("분위기", "moods", ["애절한", "한"]), ("빠르기", "tempos", ["느린", "단모리"]), ("조", "modes", ["계면조"]),
    ("곡", "tunes", ["아리랑", "옹헤야"]), ("instrument", "instruments", ["가야금"]),
])
def test_categories_takes_korean_field_names(sori, name: str, field: str, includes: list[str]) -> None:
    proc = sori("categories", name)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith(f"{field} (")
    names = [line.split()[0] for line in proc.stdout.splitlines()[1:]]
    assert set(includes) <= set(names)


def test_categories_gugak_moods_jangdan_and_aliases(sori) -> None:
    moods = sori("categories", "moods", "--gugak").stdout
    assert moods.startswith("moods (7)")
    for word in ("애절한", "흥겨운", "웅장한", "우아한", "한", "서정적인", "엄숙한"):
        assert f"\n  {word} " in moods
    assert "구슬픈" in moods                                   # aliases are shown
    assert "구슬픈" not in sori("categories", "moods", "--gugak", "--no-aliases").stdout
    jangdan = sori("categories", "장단").stdout.splitlines()
    assert jangdan[0] == "tempos (13)" and not any("보통" in line for line in jangdan)


def test_categories_columns_align_by_display_width(sori) -> None:
    for field in ("instruments", "tempos", "tunes", "moods"):
        rows = sori("categories", field).stdout.splitlines()[1:]
        starts = set()
        for row in rows:
            ko = row[2:].split("  ")[0]
            rest = row[2 + len(ko):]
            starts.add(_display_width(row[:2 + len(ko)]) + len(rest) - len(rest.lstrip(" ")))
        assert len(starts) == 1, (field, starts)            # the English column starts at one screen column


def test_categories_search_and_json(sori) -> None:
    proc = sori("categories", "search", "바람")
    assert proc.returncode == 0
    assert "in prose (the mood lexicon):" in proc.stdout and "wind: instrument daegeum" in proc.stdout
    assert "흥겨운" in proc.stdout                               # 신바람 is an alias of 흥겨운
    found = json.loads(sori("categories", "search", "아리랑", "--json").stdout)
    assert {c["en"] for c in found["categories"]} >= {"Arirang", "Jindo Arirang", "Miryang Arirang"}
    arirang = next(c for c in found["categories"] if c["en"] == "Arirang")
    assert arirang["midi"] == "arirang.mid" and arirang["jangdan"] == "semachi" and "본조 아리랑" in arirang["aliases"]
    typo = sori("categories", "search", "가야굼").stdout
    assert "가야금" in typo
    listing = json.loads(sori("categories", "장단", "--json").stdout)
    assert list(listing) == ["tempos"] and all(e["gugak"] and e["bpm"] for e in listing["tempos"])
    nothing = sori("categories", "search", "zzzzqqq")
    assert nothing.returncode == 1 and "nothing matches" in nothing.stdout


def test_categories_bad_field_is_one_line(sori) -> None:
    line = one_error(sori("categories", "악귀"))
    assert "unknown category field '악귀'" in line and "did you mean 악기" in line
    assert "search" in one_error(sori("categories", "search"))
