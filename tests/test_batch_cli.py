"""What `sori batch` and `sori remaster` promise a producer who checks only the summary line in the morning, tried
through the installed `sori` command: Ctrl-C stops at once and resumes, files Sori did not write are left alone,
off-target masters are counted and fail the run, overrides are recorded, output paths mean what they say."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.clirun import SORI
from tests.signals import peaky_drum_loop

from .conftest import tone, write_wav


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SORI, *map(str, args)], capture_output=True, text=True, timeout=600, cwd=cwd)


def takes(folder: Path, n: int, seconds: float = 4.0) -> list[Path]:
    return [write_wav(folder / f"take_{i:02d}.wav", tone(220 * (1 + i % 5), seconds, 32_000, -20 - i % 7), 32_000)
            for i in range(n)]


def test_ctrl_c_stops_a_pool_batch_at_once_and_it_resumes(tmp_path: Path) -> None:
    n = 40                           # enough that the pool is still busy when Ctrl-C comes (the check is fast)
    takes(tmp_path / "in", n, seconds=6.0)
    out = tmp_path / "out"
    proc = subprocess.Popen([SORI, "batch", tmp_path / "in", out, "--jobs", "2", "-q"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    records = out / ".sori" / "records"
    deadline = time.monotonic() + 300
    while not (records.is_dir() and any(records.glob("*.json"))) and time.monotonic() < deadline:
        time.sleep(0.05)
    start = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    stopped = time.monotonic() - start
    assert proc.returncode == 130 and stopped < 2.0, (proc.returncode, stopped)
    assert err.strip().splitlines() == ["sori: interrupted; finished work is kept: run the same command again to "
                                        "resume"], err
    finished = len(list(records.glob("*.json")))
    assert 1 <= finished < n
    again = run("batch", tmp_path / "in", out, "--jobs", "2", "-q")
    assert again.returncode == 0, again.stderr
    assert f"mastered {n - finished}, skipped {finished} (already mastered)" in again.stdout
    assert not list(out.rglob("*.sori-tmp-*"))                     # what the killed workers were writing is gone


def test_batch_leaves_files_it_did_not_write_alone(tmp_path: Path) -> None:
    takes(tmp_path / "in", 2)
    mine = tmp_path / "out" / "take_00.wav"
    write_wav(mine, tone(440, 1.0, 44_100), 44_100)
    before = mine.read_bytes()
    first = run("batch", tmp_path / "in", tmp_path / "out", "-q")
    assert first.returncode == 1 and mine.read_bytes() == before
    assert "take_00.wav: exists and was not written by this batch" in first.stderr and "--overwrite" in first.stderr
    rows = {r["input"]: r for r in json.loads((tmp_path / "out" / "report.json").read_text())["files"]}
    assert rows["take_00.wav"]["status"] == "failed" and rows["take_01.wav"]["status"] == "done"
    forced = run("batch", tmp_path / "in", tmp_path / "out", "-q", "--overwrite")
    assert forced.returncode == 0 and mine.read_bytes() != before
    # its own files it may replace: a changed input is mastered again without --overwrite
    write_wav(tmp_path / "in" / "take_01.wav", tone(330, 4.0, 32_000, -25), 32_000)
    third = run("batch", tmp_path / "in", tmp_path / "out", "-q")
    assert third.returncode == 0 and "mastered 1, skipped 1" in third.stdout


def test_off_target_masters_are_counted_explained_and_fail_the_run(tmp_path: Path) -> None:
    loop = peaky_drum_loop(seconds=6.0)
    write_wav(tmp_path / "in" / "loop.wav", loop.audio, loop.sample_rate, "FLOAT")
    takes(tmp_path / "in", 1)
    tight = ("--set", "loudness.max_limiting_db=2", "--set", "compressor=null", "--set", "dissonance=null")
    done = run("batch", tmp_path / "in", tmp_path / "out", "-q", *tight)
    assert done.returncode == 1
    assert "mastered 2, skipped 0 (already mastered), failed 0, off target 1" in done.stdout
    assert "off target: loop.wav: missed loudness" in done.stderr and "over the 2 dB budget" in done.stderr
    with open(tmp_path / "out" / "report.csv", newline="") as f:
        rows = {r["input"]: r for r in csv.DictReader(f)}
    assert "needs" in rows["loop.wav"]["off_target"] and rows["take_00.wav"]["off_target"] == ""
    assert rows["loop.wav"]["on_target"] == "False"
    doc = json.loads((tmp_path / "out" / "report.json").read_text())
    assert doc["summary"]["off_target"] == 1
    assert doc["overrides"] == {"loudness": {"max_limiting_db": 2}, "compressor": None, "dissonance": None}
    assert "compressor" not in doc["preset_resolved"]["chain"]
    accepted = run("batch", tmp_path / "in", tmp_path / "out", "-q", "--accept-off-target", *tight)
    assert accepted.returncode == 0 and "skipped 2" in accepted.stdout and "off target 1" in accepted.stdout
    one = run("remaster", tmp_path / "in" / "loop.wav", "-o", tmp_path / "one.wav", *tight)
    assert one.returncode == 1 and "OFF TARGET: missed loudness" in one.stdout and (tmp_path / "one.wav").is_file()


def test_output_paths_mean_what_they_say(tmp_path: Path) -> None:
    (src,) = takes(tmp_path, 1)
    no_check = ("--set", "dissonance=null")
    assert run("remaster", src, "-o", "masters/", *no_check, cwd=tmp_path).returncode == 0
    assert (tmp_path / "masters" / "take_00.wav").is_file() and not (tmp_path / "masters.wav").exists()
    (tmp_path / "existing").mkdir()
    assert run("remaster", src, "-o", "existing", *no_check, cwd=tmp_path).returncode == 0
    assert (tmp_path / "existing" / "take_00.wav").is_file()
    assert run("remaster", src, "-o", "plain", *no_check, cwd=tmp_path).returncode == 0
    assert (tmp_path / "plain.wav").is_file()
    mp3 = run("remaster", src, "-o", "preview.mp3", *no_check, cwd=tmp_path)
    assert mp3.returncode == 0 and "mp3" in mp3.stdout
    data, rate = sf.read(tmp_path / "preview.mp3")
    assert rate == 48_000 and data.shape[1] == 2 and np.abs(data).max() > 0.1
    bad = run("remaster", src, "-o", "x.ogg", *no_check, cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        "sori: error: x.ogg: Sori cannot write '.ogg' files; allowed: .wav, .flac, .mp3"]
    assert not list(tmp_path.glob("x.ogg*"))


@pytest.mark.parametrize("stage", ["dissonance", "denoise"])
def test_set_stage_null_removes_the_stage(tmp_path: Path, stage: str) -> None:
    (src,) = takes(tmp_path, 1)
    done = run("remaster", src, "-o", tmp_path / "m.wav", "--json", "--set", f"{stage}=null",
               "--set", "loudness.target_lufs=-16")
    report = json.loads(done.stdout)
    assert stage not in [s["stage"] for s in report["stages"]]
    assert report["after"]["integrated_lufs"] == pytest.approx(-16, abs=0.5)


def test_the_two_bandwidth_figures_say_what_they_measure(tmp_path: Path) -> None:
    (src,) = takes(tmp_path, 1)
    report = json.loads(run("remaster", src, "-o", tmp_path / "m.wav", "--json", "--set", "dissonance=null").stdout)
    superres = next(s for s in report["stages"] if s["processor"] == "superres")
    assert {"input_cutoff_hz", "output_cutoff_hz"} <= set(superres) and "output_bandwidth_hz" not in superres
    assert "rolloff_hz" in report["after"] and "bandwidth_hz" not in report["after"]
    assert report["after"]["rolloff_hz"] < superres["output_cutoff_hz"]      # a tone: energy low, content to the top
