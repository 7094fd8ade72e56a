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
                "--solo", "-d", "0.5", "-n", "2", "--seed", "7", "-o", out, "--model", tiny_dir, "--top-k", "20", "-q")
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
