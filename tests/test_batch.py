"""Batch mastering: mirrors the tree, resumes after SIGKILL without redoing work, reports every file."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from remaster.audio import TEMP_MARK, read
from remaster.batch import STATE_DIR, run_batch
from tests.clirun import SORI
from tests.signals import degrade, drum_loop, mix, pluck_melody

from .conftest import write_wav


def make_inputs(root: Path, n: int = 12, seconds_bars: int = 4) -> list[Path]:
    paths = []
    for i in range(n):
        rng = np.random.default_rng(i)
        piece = degrade(mix(pluck_melody(32_000, rng, bars=seconds_bars), drum_loop(32_000, rng, bars=seconds_bars)),
                        rng)
        sub = root / ("album" if i % 3 else "") / ("disc2" if i % 4 == 1 else "")
        paths.append(write_wav(sub / f"take_{i:02d}.wav", piece.audio, 32_000))
    return paths


def tree(root: Path, hidden: bool = False) -> dict[str, str]:
    """Relative path -> sha256 of every file (hidden state files only when asked)."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_file() and (hidden or not any(part.startswith(".") for part in rel.parts)):
            out[str(rel)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def temps(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if TEMP_MARK in p.name]


def sori(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([SORI, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("in")
    make_inputs(root)
    return root


@pytest.fixture(scope="module")
def reference(inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ref")
    result = run_batch(inputs, out, progress=False)
    assert result.count("done") == 12 and result.failed == 0
    return out


def test_batch_mirrors_the_tree_and_reports(inputs: Path, reference: Path) -> None:
    before = tree(inputs, hidden=True)
    outputs = {k for k in tree(reference) if k.endswith(".wav")}
    assert outputs == {k for k in tree(inputs)}                      # same relative paths, same names
    assert "album/disc2/take_01.wav" in outputs
    audio, rate = read(reference / "album" / "disc2" / "take_01.wav")
    assert rate == 48_000 and audio.shape[0] == 2
    doc = json.loads((reference / "report.json").read_text())
    failed_checks = sum(not r["report"]["verdict"]["passed"] for r in doc["files"])
    assert doc["summary"] == {"done": 12, "skipped": 0, "failed": 0, "off_target": 0, "failed_checks": failed_checks}
    row = doc["files"][0]
    assert row["report"]["before"]["integrated_lufs"] == pytest.approx(-30, abs=1)
    assert row["report"]["after"]["integrated_lufs"] == pytest.approx(-14, abs=0.5)
    assert [s["stage"] for s in row["report"]["stages"]][-2:] == ["fade", "loudness"]
    rows = list(csv.DictReader((reference / "report.csv").open()))
    assert len(rows) == 12 and {"before_integrated_lufs", "after_true_peak_dbtp", "stages", "seconds",
                                 "reason"} <= set(rows[0])
    assert float(rows[0]["after_true_peak_dbtp"]) <= -1.0
    assert tree(inputs, hidden=True) == before                            # the input tree is untouched


def test_sigkill_then_resume_redoes_nothing_and_ends_identical(inputs: Path, reference: Path,
                                                               tmp_path: Path) -> None:
    out = tmp_path / "out"
    records = out / STATE_DIR / "records"
    proc = sori("batch", str(inputs), str(out), "--jobs", "2", "--quiet", start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if records.exists() and len(list(records.rglob("*.json"))) >= 3:
            break
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {p: p.stat() for p in (out.rglob("*.wav")) if not p.name.startswith(".")}
    assert 3 <= len(finished) < 12, "the kill must land mid-batch"
    ref = tree(reference)
    # Whatever exists after the kill is complete: identical to the uninterrupted run.
    for path in finished:
        rel = str(path.relative_to(out))
        assert hashlib.sha256(path.read_bytes()).hexdigest() == ref[rel]
    done_records = len(list(records.rglob("*.json")))

    again = sori("batch", str(inputs), str(out), "--quiet")
    _, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr
    doc = json.loads((out / "report.json").read_text())
    assert doc["summary"]["skipped"] >= done_records
    assert doc["summary"]["done"] + doc["summary"]["skipped"] == 12
    for path, st in finished.items():
        rel = str(path.relative_to(out))
        row = next(r for r in doc["files"] if r["output"] == rel)
        if row["status"] == "skipped":                 # not rewritten: same inode, same mtime
            assert path.stat().st_ino == st.st_ino and path.stat().st_mtime_ns == st.st_mtime_ns
    assert {k: v for k, v in tree(out).items() if k.endswith(".wav")} == \
        {k: v for k, v in ref.items() if k.endswith(".wav")}
    assert temps(out) == []


def test_resume_redoes_changed_inputs_presets_and_damaged_outputs(tmp_path: Path) -> None:
    src = tmp_path / "in"
    paths = make_inputs(src, n=3, seconds_bars=2)
    out = tmp_path / "out"
    assert run_batch(src, out, progress=False).count("done") == 3
    again = run_batch(src, out, progress=False)
    assert again.count("skipped") == 3 and again.count("done") == 0

    x, rate = read(paths[0])
    write_wav(paths[0], x * 0.5, rate)                                 # a changed input
    damaged = out / paths[1].relative_to(src)
    damaged.write_bytes(damaged.read_bytes()[:1000])                   # a damaged output
    third = run_batch(src, out, progress=False)
    status = {r["input"]: r["status"] for r in third.rows}
    assert status[str(paths[0].relative_to(src))] == "done"
    assert status[str(paths[1].relative_to(src))] == "done"
    assert status[str(paths[2].relative_to(src))] == "skipped"
    assert read(damaged)[0].shape[1] > 1000
    changed = run_batch(src, out, preset="streaming", overrides={"loudness": {"target_lufs": -16}}, progress=False)
    assert changed.count("done") == 3                                  # another preset: everything is redone


def test_stale_temp_files_of_a_killed_run_are_removed(tmp_path: Path) -> None:
    src = tmp_path / "in"
    make_inputs(src, n=1, seconds_bars=1)
    out = tmp_path / "out"
    out.mkdir()
    stale = out / f".take_00.wav{TEMP_MARK}abc123"
    stale.write_bytes(b"half a file")
    run_batch(src, out, progress=False)
    assert not stale.exists()


def test_same_name_in_two_formats_both_mastered(tmp_path: Path) -> None:
    src = tmp_path / "in"
    rng = np.random.default_rng(0)
    piece = degrade(pluck_melody(32_000, rng, bars=2), rng)
    write_wav(src / "song.wav", piece.audio, 32_000)
    write_wav(src / "song.flac", piece.audio, 32_000)
    result = run_batch(src, tmp_path / "out", progress=False)
    assert sorted(r["output"] for r in result.rows) == ["song.wav", "song_flac.wav"]
