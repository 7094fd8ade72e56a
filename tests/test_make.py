"""Re-generation of sour takes from their sidecars, and `make`: prompt -> raw takes -> masters -> one report.

Everything runs on the tiny MusicGen of tests/tiny_musicgen.py (random weights, built here, never downloaded).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from generate import takes as takes_mod
from generate.errors import GenerateError
from generate.make import make
from generate.prompt import build_prompt
from generate.regenerate import TakeRegenerator, derive_seed, sour_windows
from generate.takes import generate_takes
from remaster.analysis.dissonance import Finding
from remaster.processors.dissonance import Dissonance
from remaster.regenerate import Request, load_sidecar
from tests.tiny_musicgen import RATE


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _read(path: Path) -> np.ndarray:
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    assert rate == RATE
    return data.T


def _take(loaded, out: Path, duration: float, seed: int = 5, **kw) -> tuple[Path, dict]:
    [wav] = generate_takes(loaded, "sad gayageum sanjo", n=1, duration=duration, seed=seed, top_k=20, out_dir=out,
                           progress=False, **kw)
    sidecar, _ = load_sidecar(wav)
    assert sidecar is not None
    return wav, sidecar


def test_derive_seed_is_new_reproducible_and_in_range() -> None:
    seeds = [derive_seed(41, k) for k in range(1, 6)]
    assert seeds == [derive_seed(41, k) for k in range(1, 6)]
    assert len(set(seeds) | {41, 42, 43}) == 8
    assert all(0 <= s < 2**31 for s in seeds)
    assert derive_seed(42, 1) != derive_seed(41, 1)


def test_sour_windows_picks_the_windows_a_finding_overlaps() -> None:
    windows = [{"index": 0, "start_seconds": 0.0, "end_seconds": 2.0},
               {"index": 1, "start_seconds": 2.0, "end_seconds": 3.5},
               {"index": 2, "start_seconds": 3.5, "end_seconds": 5.0}]
    assert sour_windows(windows, [{"start": 2.5, "end": 2.8}]) == [1]
    assert sour_windows(windows, [{"start": 1.9, "end": 2.1}, {"start": 4.9, "end": 5.0}]) == [0, 1, 2]
    assert sour_windows(windows, [{"start": 6.0, "end": 7.0}]) == []


def test_a_short_take_is_made_again_whole_with_a_new_seed(loaded, tmp_path: Path) -> None:
    wav, sidecar = _take(loaded, tmp_path / "a", 1.0)
    take = TakeRegenerator(loaded)(Request(sidecar, 2, ({"kind": "detuned", "start": 0.3, "end": 0.5},), wav))
    new_seed = derive_seed(5, 2)
    assert take.sample_rate == RATE and take.audio.shape == (1, RATE)
    assert take.sidecar["seed"] == new_seed and take.sidecar["prompt"] == "sad gayageum sanjo"
    regen = take.sidecar["regenerated"]
    assert regen["from_seed"] == 5 and regen["attempt"] == 2 and regen["scope"] == "take"
    assert regen["findings"][0]["start"] == 0.3
    # exactly the take `generate` makes with that seed and the same parameters
    same, _ = _take(loaded, tmp_path / "b", 1.0, seed=new_seed)
    np.testing.assert_array_equal(take.audio, _read(same))
    assert not np.array_equal(take.audio, _read(wav))


def test_a_long_take_redoes_only_the_sour_window(loaded, tmp_path: Path) -> None:
    wav, sidecar = _take(loaded, tmp_path, 4.0, tail_seconds=0.5, crossfade_seconds=0.2)
    windows = sidecar["windows"]
    assert len(windows) >= 3
    w = windows[1]
    sour = {"kind": "detuned", "start": w["start_seconds"] + 0.3, "end": w["start_seconds"] + 0.6, "cents": 60.0}
    take = TakeRegenerator(loaded)(Request(sidecar, 1, (sour,), wav))
    original = _read(wav)
    assert take.audio.shape == original.shape
    assert take.sidecar["regenerated"]["scope"] == "window" and take.sidecar["regenerated"]["windows"] == [1]
    start, end = round(w["start_seconds"] * RATE), round(w["end_seconds"] * RATE)
    xf = round(0.2 * RATE)
    np.testing.assert_array_equal(take.audio[:, :start - xf], original[:, :start - xf])    # before: untouched
    np.testing.assert_array_equal(take.audio[:, end:], original[:, end:])                  # after: untouched
    middle = slice(start, end - xf)
    assert np.abs(take.audio[:, middle] - original[:, middle]).max() > 1e-3               # the window: new

    # scope="take" makes the whole take again instead
    whole = TakeRegenerator(loaded, scope="take")(Request(sidecar, 1, (sour,), wav))
    assert whole.sidecar["regenerated"]["scope"] == "take"
    assert not np.array_equal(whole.audio[:, :start - xf], original[:, :start - xf])


def test_attempts_are_written_and_reused(loaded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wav, sidecar = _take(loaded, tmp_path / "raw", 1.0)
    request = Request(sidecar, 1, ({"kind": "detuned", "start": 0.1, "end": 0.4},), wav)
    first = TakeRegenerator(loaded, out_dir=tmp_path / "retries")(request)
    path = tmp_path / "retries" / "take_000.retry1.wav"
    written, _ = load_sidecar(path)
    assert path.is_file() and written is not None and written["seed"] == first.sidecar["seed"]
    assert written["audio"] == path.name

    def no_model(*_a, **_k):
        raise AssertionError("the attempt on disk should have been reused")
    monkeypatch.setattr(takes_mod, "_call", no_model)
    monkeypatch.setattr("generate.regenerate._call", no_model)
    monkeypatch.setattr("generate.regenerate.render", no_model)
    again = TakeRegenerator(loaded, out_dir=tmp_path / "retries")(request)
    np.testing.assert_array_equal(again.audio, first.audio)


def test_regenerator_refuses_another_model_or_a_bare_sidecar(loaded, tmp_path: Path) -> None:
    wav, sidecar = _take(loaded, tmp_path, 0.5)
    with pytest.raises(GenerateError, match="this regenerator holds"):
        TakeRegenerator(loaded)(Request({**sidecar, "model": "facebook/musicgen-large"}, 1, (), wav))
    with pytest.raises(GenerateError, match="'seed'"):
        TakeRegenerator(loaded)(Request({"prompt": "x", "duration": 1.0}, 1, (), wav))
    with pytest.raises(GenerateError, match="scope"):
        TakeRegenerator(loaded, scope="bar")


def _sour_until(monkeypatch: pytest.MonkeyPatch, sour_calls: set[int]) -> list[int]:
    """Make the dissonance check find a sour note on its calls numbered in `sour_calls` (0-based), the real
    check otherwise: the tiny model's noise has no notes to be sour, and this test is about what happens next."""
    real = Dissonance.analyse
    calls: list[int] = []

    def analyse(self, audio, rate):
        result = real(self, audio, rate)
        if len(calls) in sour_calls:
            result.findings = [Finding(0.2, 0.5, "detuned", 60.0, "A4+60", "A4")]
        calls.append(len(result.findings))
        return result
    monkeypatch.setattr(Dissonance, "analyse", analyse)
    return calls


def test_make_writes_raw_takes_masters_and_one_report(loaded, tmp_path: Path) -> None:
    prompt = build_prompt(instruments="가야금", moods="슬픈", solo=True)
    result = make(loaded, prompt, out_dir=tmp_path, n=2, duration=1.0, seed=11, top_k=20, progress=False)
    doc = json.loads(result.report.read_text(encoding="utf-8"))
    assert result.report == tmp_path / "report.json"
    assert "solo gayageum" in doc["prompt"] and "no other instruments" in doc["prompt"]
    assert doc["categories"]["solo"] is True
    assert doc["preset"] == "streaming" and doc["summary"]["done"] == 2 and doc["summary"]["failed"] == 0
    for i, row in enumerate(doc["rows"]):
        assert row["raw"] == f"raw/take_{i:03d}.wav" and row["mastered"] == f"mastered/take_{i:03d}.wav"
        assert row["seed"] == 11 + i and row["kept"] == "original" and row["kept_raw"] == row["raw"]
        raw_info, master_info = sf.info(tmp_path / row["raw"]), sf.info(tmp_path / row["mastered"])
        assert raw_info.samplerate == RATE and master_info.samplerate == 48000
        assert row["before"]["sample_rate"] == RATE and row["after"]["sample_rate"] == 48000
        assert row["checks"]["passed"] in (True, False) and row["checks"]["findings"] is not None
        assert row["after"]["integrated_lufs"] == pytest.approx(-14.0, abs=1.0)
    assert not (tmp_path / "retries").exists()


def test_make_regenerates_sour_takes_and_resumes(loaded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # take 0: original sour, attempt 1 sour, attempt 2 clean; take 1: original sour, attempt 1 clean
    calls = _sour_until(monkeypatch, {0, 1, 3})
    result = make(loaded, "calm haegeum", out_dir=tmp_path, n=2, duration=1.0, seed=3, top_k=20, retries=3,
                  progress=False)
    assert calls == [1, 1, 0, 1, 0]
    doc = json.loads(result.report.read_text(encoding="utf-8"))
    r0, r1 = doc["rows"]
    assert (r0["kept"], r0["kept_raw"], r0["kept_seed"]) == ("attempt 2", "retries/take_000.retry2.wav",
                                                            derive_seed(3, 2))
    assert (r1["kept"], r1["kept_raw"], r1["kept_seed"]) == ("attempt 1", "retries/take_001.retry1.wav",
                                                            derive_seed(4, 1))
    assert [a["findings"] for a in r0["checks"]["attempts"]] == [1, 0]
    assert r0["checks"]["passed"] is True and r0["checks"]["original_findings"] == 1
    assert doc["summary"]["regenerated"] == 2
    for row in (r0, r1):
        kept, _ = load_sidecar(tmp_path / row["kept_raw"])
        assert kept is not None and kept["regenerated"]["from_seed"] == row["seed"]
    assert sorted(p.name for p in (tmp_path / "retries").glob("*.wav")) == [
        "take_000.retry1.wav", "take_000.retry2.wav", "take_001.retry1.wav"]

    # the same command again: nothing is generated or mastered again, and the report says the same
    def no_model(*_a, **_k):
        raise AssertionError("a finished take was made again")
    monkeypatch.setattr("generate.takes.render", no_model)
    monkeypatch.setattr("generate.regenerate.render", no_model)
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "mastered").glob("*.wav")}
    again = make(loaded, "calm haegeum", out_dir=tmp_path, n=2, duration=1.0, seed=3, top_k=20, retries=3,
                 progress=False)
    rows = json.loads(again.report.read_text(encoding="utf-8"))["rows"]
    assert [r["status"] for r in rows] == ["skipped", "skipped"]
    assert [r["kept_raw"] for r in rows] == [r0["kept_raw"], r1["kept_raw"]]
    assert before == {p: p.stat().st_mtime_ns for p in (tmp_path / "mastered").glob("*.wav")}


def test_make_rejects_a_bad_preset_before_generating(loaded, tmp_path: Path) -> None:
    from remaster.errors import SoriError
    with pytest.raises(SoriError, match="streamingg"):
        make(loaded, "calm haegeum", out_dir=tmp_path / "x", preset="streamingg", progress=False)
    with pytest.raises(GenerateError, match="retries"):
        make(loaded, "calm haegeum", out_dir=tmp_path / "x", retries=0, progress=False)
    assert not (tmp_path / "x").exists()


def test_regenerator_loads_the_takes_own_model_engine_and_weights(tiny_dir: Path, tmp_path: Path) -> None:
    from generate.musicgen import load_model
    int8 = load_model(str(tiny_dir), device="cpu", quantize=True)
    wav, sidecar = _take(int8, tmp_path / "a", 0.5)
    assert sidecar["quantized"] is True and sidecar["engine"] == int8.engine == "sori"
    regen = TakeRegenerator(device="cpu")         # no model given: the sidecar's, as it was loaded
    take = regen(Request(sidecar, 1, (), wav))
    assert regen.loaded is not None and regen.loaded.quantized and regen.loaded.model_id == str(tiny_dir)
    same, _ = _take(int8, tmp_path / "b", 0.5, seed=derive_seed(5, 1))
    np.testing.assert_array_equal(take.audio, _read(same))
