"""The trial harness's cache (benchmarks/trial.py): a tracker's output is reused only for the same audio, the same
arguments and the same code, and a trial's changes are checked before any work."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import trial
from bench_dissonance import Result

from remaster.analysis import dissonance


def _counting() -> tuple[list, object]:
    calls: list = []

    def track(audio: np.ndarray, rate: int, *, hop: float = 0.02) -> float:
        calls.append(rate)
        return float(audio.sum()) * hop

    return calls, track


def test_the_cache_reuses_a_result_only_for_the_same_audio_and_arguments(tmp_path: Path) -> None:
    calls, track = _counting()
    cached = trial.memoised(track, tmp_path, trial.pitch)
    a = np.arange(8, dtype=np.float32)
    assert cached(a, 16000) == cached(a.copy(), 16000) == pytest.approx(28 * 0.02)
    assert len(calls) == 1
    b = a.copy()
    b[3] += 1e-3                      # one sample apart is other audio
    cached(b, 16000)
    cached(a, 22050)
    cached(a, 16000, hop=0.01)
    cached(a.astype(np.float64), 16000)   # the same values in another dtype are other bytes
    assert len(calls) == 5
    # kept on disk: a fresh wrapper (another worker, another run) reads it back
    again = trial.memoised(track, tmp_path, trial.pitch)
    assert again(b, 16000) == pytest.approx(float(b.sum()) * 0.02)
    assert len(calls) == 5


def test_a_change_to_the_code_behind_a_result_is_never_read_from_the_cache(tmp_path: Path) -> None:
    calls, track = _counting()
    trial.memoised(track, tmp_path, trial.pitch)(np.ones(4), 16000)
    trial.memoised(track, tmp_path, trial.roughness)(np.ones(4), 16000)   # other source: another folder
    assert len(calls) == 2
    assert len(list(tmp_path.iterdir())) == 2
    # a constant the computation reads, set by a trial (`--set`), is part of the key too
    trial.memoised(track, tmp_path, (22050, 256))(np.ones(4), 16000)
    trial.memoised(track, tmp_path, (22050, 512))(np.ones(4), 16000)
    assert len(calls) == 4


def test_a_module_s_constants_are_part_of_its_fingerprint(monkeypatch: pytest.MonkeyPatch) -> None:
    before = trial._fingerprint(trial.roughness)
    name = next(k for k in vars(trial.roughness) if k.isupper() and isinstance(getattr(trial.roughness, k), float))
    monkeypatch.setattr(trial.roughness, name, getattr(trial.roughness, name) + 1.0)
    assert trial._fingerprint(trial.roughness) != before


def test_a_setting_is_applied_and_a_bad_one_stops_with_what_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dissonance, "HIGH_CENTS", dissonance.HIGH_CENTS)      # restored after the test
    trial.apply_changes(["dissonance.HIGH_CENTS=1.5"], [])
    assert dissonance.HIGH_CENTS == 1.5
    with pytest.raises(SystemExit, match=r"dissonance\.NO_SUCH_RULE.*MODULE\.NAME=VALUE"):
        trial.apply_changes(["dissonance.NO_SUCH_RULE=1"], [])
    with pytest.raises(SystemExit, match=r"no os\.path"):
        trial.apply_changes(["os.path=1"], [])
    with pytest.raises(SystemExit, match=r"'forty' is no Python literal"):
        trial.apply_changes(["dissonance.HIGH_CENTS=forty"], [])
    assert dissonance.HIGH_CENTS == 1.5


def test_a_trial_s_changes_are_checked_before_any_work_but_not_run(tmp_path: Path) -> None:
    # run in the main process and again in a worker forked from it, a patch wrapping a function would wrap it twice
    patch = tmp_path / "p.py"
    patch.write_text("raise RuntimeError('ran in the main process')\n")
    trial.check_changes([], [patch])
    bad = tmp_path / "bad.py"
    bad.write_text("def (:\n")
    with pytest.raises(SystemExit, match=r"--patch .*bad\.py: line 1"):
        trial.check_changes([], [bad])
    with pytest.raises(SystemExit, match=r"no dissonance\.NO_SUCH_RULE"):
        trial.check_changes(["dissonance.NO_SUCH_RULE=1"], [])


def _result(variant: str, errors: list[dict], findings: list[dict], matches: list) -> Result:
    truth = {"variant": variant, "errors": errors}
    return Result(Path(f"{variant}.wav"), truth, findings, 1.0, "auto", "mono", matches)


def test_differences_name_each_error_found_or_lost_and_each_negative_flagged_or_cleared() -> None:
    error = {"kind": "detune50", "start": 1.25, "found_midi": 60.5}
    finding = {"kind": "detuned", "start": 1.3, "end": 1.6}
    base = [_result("detune50", [error], [], []), _result("clean", [], [finding], []),
            _result("offset", [], [], [])]
    new = [_result("detune50", [error], [finding], [(0, 0)]), _result("clean", [], [], []),
           _result("offset", [], [finding], [])]
    lines = trial.differences(base, new)
    assert lines == ["found detune50.wav detune50 at 1.25 s (midi 60.5)", "clear clean.wav",
                     "FLAG  offset.wav: detuned at 1.30 s"]
    assert trial.differences(new, base)[0].startswith("LOST  detune50.wav")
