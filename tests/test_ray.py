"""The Ray engine (remaster.engines.ray) on a local two-CPU Ray cluster that this module starts once: the same
outputs, records and reports as the local engine for batch mastering, dataset preparation and tokenization; a worker
killed with SIGKILL mid-file has its file redone elsewhere and nothing else written twice; an interrupted job resumes
without redoing finished files; a task that fails for its own reasons is a row, never a retry."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import ray

from generate.finetune import tokens as tok
from generate.finetune.prepare import prepare
from remaster.batch import STATE_DIR, run_batch
from remaster.engines import make_engine
from remaster.errors import SoriError
from remaster.runner import Outcome, Records, Task
from tests.aihub_fixture import write_aihub_fixture
from tests.clirun import SORI, one_error
from tests.signals import degrade, mix, pluck_melody
from tests.test_batch import temps, tree

from .conftest import write_wav

ROOT = Path(__file__).resolve().parents[1]
LIGHT = {"dissonance": None}          # CREPE is the slow stage and is not what these tests are about
N = 8                                 # takes that master


@pytest.fixture(scope="module")
def cluster() -> Any:
    """A Ray cluster on this machine for the module: 2 CPUs, no dashboard; its address, for `--address`."""
    ctx = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING",
                   runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})       # workers import tests.* too
    yield ctx.address_info["gcs_address"]
    ray.shutdown()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("in")
    for i in range(N):
        rng = np.random.default_rng(100 + i)
        piece = degrade(mix(pluck_melody(32_000, rng, bars=2)), rng)
        write_wav(root / ("disc" if i % 2 else "") / f"take_{i}.wav", piece.audio, 32_000)
    (root / "broken.wav").write_bytes(b"RIFF not really a wave file")          # fails for its own reasons
    (root / "notes.mid").write_bytes(b"MThd")                                  # a failed row before any engine
    return root


@pytest.fixture(scope="module")
def reference(inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local")
    result = run_batch(inputs, out, overrides=LIGHT, progress=False)
    assert (result.count("done"), result.failed) == (N, 2)
    return out


def untimed(x: Any) -> Any:
    """A report or record without what depends on the clock, the run or the folder it was written to."""
    if isinstance(x, dict):
        return {k: untimed(v) for k, v in x.items() if k not in ("seconds", "output_dir", "run")}
    if isinstance(x, list):
        return [untimed(v) for v in x]
    return x


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return [{k: v for k, v in row.items() if not k.endswith("seconds")} for row in csv.DictReader(f)]


def records(out: Path) -> dict[str, Any]:
    return {str(p.relative_to(out)): untimed(json.loads(p.read_text())) for p in (out / STATE_DIR).rglob("*.json")}


def masters(out: Path) -> dict[str, str]:
    return {k: v for k, v in tree(out).items() if k.endswith(".wav")}


def recorded_masters(out: Path) -> dict[Path, tuple[int, int]]:
    """The masters whose records are written (finished files), with their inode and modification time."""
    recs = out / STATE_DIR / "records"
    found = {}
    for rec in recs.rglob("*.json") if recs.is_dir() else ():
        path = out / str(rec.relative_to(recs))[:-len(".json")]
        found[path] = (path.stat().st_ino, path.stat().st_mtime_ns)
    return found


def sori(*args: str | Path) -> subprocess.Popen:
    return subprocess.Popen([SORI, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def our_task_workers() -> list[int]:
    """Worker processes of this module's cluster running a task now: Ray titles them `ray::_run_task` while they
    run one. Only the children of this process' own raylet: other clusters on the machine are not ours."""
    def ppid(pid: int) -> int:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])

    found = []
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and (d / "cmdline").read_bytes().startswith(b"ray::_run_task"):
                raylet = ppid(int(d.name))
                if ppid(raylet) == os.getpid():
                    found.append(int(d.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


# --- batch ---------------------------------------------------------------------------------------------------------

def test_ray_batch_matches_the_local_engine(cluster: str, inputs: Path, reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "ray"
    result = run_batch(inputs, out, overrides=LIGHT, progress=False, engine="ray", address=cluster)
    assert (result.count("done"), result.failed) == (N, 2)
    assert masters(out) == masters(reference)                                 # byte for byte
    assert records(out) == records(reference)                                 # same fingerprints, hashes, results
    assert untimed(json.loads((out / "report.json").read_text())) == \
        untimed(json.loads((reference / "report.json").read_text()))
    assert csv_rows(out / "report.csv") == csv_rows(reference / "report.csv")
    broken = next(r for r in result.rows if r["input"] == "broken.wav")
    assert broken["status"] == "failed" and "broken.wav" in broken["reason"]
    assert temps(out) == []

    again = run_batch(inputs, out, overrides=LIGHT, progress=False, engine="ray", address=cluster)
    assert (again.count("skipped"), again.count("done")) == (N, 0)            # the same resume rule


def test_a_worker_killed_mid_file_has_its_file_redone_and_nothing_else(cluster: str, inputs: Path,
                                                                       reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = sori("batch", inputs, out, "--engine", "ray", "--address", cluster, "--set", "dissonance=null", "-q")
    victim, deadline = None, time.monotonic() + 180
    while victim is None and time.monotonic() < deadline and proc.poll() is None:
        busy = our_task_workers()
        if busy and (out / STATE_DIR / "records").is_dir():               # mid-run: some files done, one going
            victim = busy[0]
            os.kill(victim, signal.SIGKILL)
            break
        time.sleep(0.02)
    assert victim is not None, "no worker was caught mid-file"
    at_kill = recorded_masters(out)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err                               # 1: broken.wav and notes.mid, nothing else
    doc = json.loads((out / "report.json").read_text())
    assert doc["summary"] == {"done": N, "skipped": 0, "failed": 2, "off_target": 0, "failed_checks": 0}
    assert sorted(r["input"] for r in doc["files"]) == sorted({r["input"] for r in doc["files"]})   # each once
    assert masters(out) == masters(reference)
    assert len(list((out / STATE_DIR / "records").rglob("*.json"))) == N
    for path, (ino, mtime) in at_kill.items():                     # finished before the kill: never written again
        assert (path.stat().st_ino, path.stat().st_mtime_ns) == (ino, mtime), path
    assert temps(out) == []                                        # the killed worker's half file is gone


def test_an_interrupted_job_resumes_without_redoing_finished_files(cluster: str, inputs: Path, reference: Path,
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "out"
    recs = out / STATE_DIR / "records"
    proc = sori("batch", inputs, out, "--engine", "ray", "--address", cluster, "--set", "dissonance=null", "-q",
                "--jobs", "1")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        if recs.is_dir() and len(list(recs.rglob("*.json"))) >= 2:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)                                # Ctrl-C
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err, err
    time.sleep(1.0)
    finished = recorded_masters(out)
    done_before = len(list(recs.rglob("*.json")))
    assert 2 <= done_before < N, "the interrupt must land mid-job"
    time.sleep(1.0)
    assert len(list(recs.rglob("*.json"))) == done_before, "the job's tasks were stopped with it"

    again = sori("batch", inputs, out, "--engine", "ray", "--address", cluster, "--set", "dissonance=null", "-q")
    _, err = again.communicate(timeout=300)
    assert again.returncode == 1, err
    doc = json.loads((out / "report.json").read_text())
    assert doc["summary"]["skipped"] == done_before and doc["summary"]["done"] == N - done_before
    for path, stat in finished.items():
        assert (path.stat().st_ino, path.stat().st_mtime_ns) == stat, path    # not redone
    assert masters(out) == masters(reference)
    assert temps(out) == []


# --- the engine ----------------------------------------------------------------------------------------------------

def _logged_work(payload: tuple[str, str]) -> dict[str, Any]:
    """Work that logs every call: how many times a task really ran."""
    log, name = payload
    with open(log, "a") as f:
        f.write(f"{name}\n")
    if name == "bug":
        raise ValueError("boom")
    if name == "bad":
        raise SoriError(f"{name}: not an audio file")
    return {"name": name}


def test_failures_of_the_work_are_rows_not_retries_and_recorded_tasks_are_not_run_again(cluster: str,
                                                                                         tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    recs = Records(tmp_path / STATE_DIR, run="this-run")
    tasks = [Task(key=n, fingerprint="f", payload=(str(log), n)) for n in ("ok", "bug", "bad", "retried", "earlier")]
    recs.write(Outcome(tasks[3], "done", {"name": "retried"}))      # recorded by this run: a retry finds it
    Records(tmp_path / STATE_DIR, run="an-earlier-run").write(Outcome(tasks[4], "done", {"name": "earlier"}))
    outcomes = {o.task.key: o for o in make_engine("ray", address=cluster).execute(_logged_work, tasks, recs,
                                                                                     lambda t, n: None)}
    assert outcomes["ok"].status == "done" and outcomes["ok"].result == {"name": "ok"}
    assert (outcomes["bug"].status, outcomes["bug"].reason) == ("failed", "internal error: ValueError: boom")
    assert (outcomes["bad"].status, outcomes["bad"].reason) == ("failed", "bad: not an audio file")
    assert (outcomes["retried"].status, outcomes["retried"].result) == ("done", {"name": "retried"})
    assert (outcomes["earlier"].status, outcomes["earlier"].result) == ("skipped", {"name": "earlier"})
    assert sorted(log.read_text().split()) == ["bad", "bug", "ok"]          # each once; the recorded ones never
    assert recs.finished(tasks[0]) == {"name": "ok"} and recs.finished(tasks[1]) is None


def test_engine_choices_fail_in_one_line(sori_main, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    assert "--engine 'spark' is not one of local, ray" in one_error(sori_main("batch", src, tmp_path / "o",
                                                                              "--engine", "spark"))
    assert "use it with --engine ray" in one_error(sori_main("batch", src, tmp_path / "o", "--address", "h:1"))
    assert "1 to 64 processes" in one_error(sori_main("batch", src, tmp_path / "o", "--jobs", "500"))
    start = time.monotonic()
    line = one_error(sori_main("batch", src, tmp_path / "o", "--engine", "ray", "--address", "127.0.0.1:9"))
    assert "no Ray cluster answers there" in line and "ray start --head" in line
    assert time.monotonic() - start < 30                        # Ray alone would retry for minutes
    assert "not HOST:PORT" in one_error(sori_main("batch", src, tmp_path / "o", "--engine", "ray",
                                                  "--address", "nowhere"))


def test_without_ray_installed_the_engine_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.delitem(sys.modules, "remaster.engines.ray", raising=False)
    with pytest.raises(SoriError, match=r"pip install 'sori\[ray\]'"):
        make_engine("ray")
    assert make_engine("local", jobs=2).jobs == 2                   # the local engine needs nothing more


@pytest.fixture
def sori_main(capfd: pytest.CaptureFixture[str]):
    from tests.clirun import run_main
    return lambda *args: run_main(capfd, *args)


# --- dataset preparation and tokenization --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def aihub(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return write_aihub_fixture(tmp_path_factory.mktemp("aihub"), sample_rate=16_000)


SHORT = {"min_seconds": 1.0, "max_seconds": 3.0, "sample_rate": 8_000, "progress": False}


@pytest.fixture(scope="module")
def dataset(aihub: dict, tmp_path_factory: pytest.TempPathFactory):
    """The fixture prepared by the local engine, in this process."""
    return prepare(aihub["root"], tmp_path_factory.mktemp("local") / "set", jobs=1, **SHORT)


def test_prepare_on_ray_matches_the_local_engine(cluster: str, aihub: dict, dataset, tmp_path: Path) -> None:
    on_ray = prepare(aihub["root"], tmp_path / "set", engine="ray", address=cluster, **SHORT)
    assert on_ray.rows == dataset.rows and on_ray.processed == dataset.processed == dataset.clips
    assert tree(dataset.out_dir) == tree(tmp_path / "set")     # windows, manifests, stats, problems
    assert records(dataset.out_dir) == records(tmp_path / "set")
    assert prepare(aihub["root"], tmp_path / "set", engine="ray", address=cluster, **SHORT).skipped == dataset.clips


def test_tokenize_on_ray_actors_matches_the_local_engine(cluster: str, dataset, tiny_dir: Path, loaded,
                                                         tmp_path: Path) -> None:
    dataset = dataset.out_dir
    local = tok.tokenize(dataset, str(tiny_dir), cache_dir=tmp_path / "local", loaded=loaded, shard_size=4,
                         batch_size=2)
    seen: list[int] = []
    on_ray = tok.tokenize(dataset, str(tiny_dir), cache_dir=tmp_path / "ray", loaded=loaded, shard_size=4,
                          batch_size=2, engine="ray", address=cluster, jobs=2,
                          on_progress=lambda done, total: seen.append(done))
    assert (on_ray.encoded, on_ray.frames, on_ray.shards) == (local.encoded, local.frames, local.shards)
    assert local.shards >= 3
    assert tree(tmp_path / "ray") == tree(tmp_path / "local")                   # shards, cache.json
    assert records(tmp_path / "ray") == records(tmp_path / "local")
    assert seen == sorted(seen) and seen[-1] == local.windows                # one bar, fed as shards finish
    again = tok.tokenize(dataset, str(tiny_dir), cache_dir=tmp_path / "ray", loaded=loaded, shard_size=4,
                         batch_size=2, engine="ray", address=cluster)
    assert again.encoded == 0
