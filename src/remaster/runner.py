"""The one resumable runner: a list of tasks, run in this process or a pool of worker processes, each finished task
recorded so that a second run skips it. Batch mastering, dataset preparation, tokenization and `sori make` all run
on it.

    runner = Runner(out_dir / ".sori", work, jobs=2, label="mastering")
    for outcome in runner.run(tasks):           # Outcome(task, status, result, reason, seconds), in finishing order
        ...

A `Task` names its `key` (which record is its own), its `fingerprint` (a hash of everything its outputs depend on:
the input's bytes, the settings) and its `outputs`. When a task finishes, its record (`STATE/records/<key>.json`)
stores the fingerprint, the sha256 of every output and what `work` returned, written atomically after the outputs.
A later run skips a task whose record still matches: same fingerprint, and every output still there with its
recorded hash (or only there, with `verify="exists"`, for tasks with many large outputs). So a batch stopped in any
way, `kill -9` included, redoes only what had not finished.

`work(payload) -> dict` runs one task. A task whose outputs are known only once it ran (a clip cut into as many
windows as it has) lists them in the result's `"outputs"` (paths relative to the state folder's parent); they are
recorded and checked like the task's own. A SoriError it raises fails that task alone, with its message as the reason;
any other exception too, reported as an internal error; the rest carry on. Ctrl-C stops the pool at once (workers
ignore SIGINT; the parent terminates them) and raises KeyboardInterrupt once; finished tasks stay recorded.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rich.console import Console

from .audio import atomic_write_text
from .errors import SoriError
from .progress import progress_bar

Status = Literal["done", "skipped", "failed"]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fingerprint(*parts: Any) -> str:
    """A hash of JSON-able parts (hashes, settings): a task's fingerprint."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class Task:
    key: str                          # unique and stable: names the record (may contain '/')
    fingerprint: str                  # everything the outputs depend on
    outputs: tuple[Path, ...] = ()    # files the task writes
    payload: Any = None               # what `work` gets; picklable when jobs > 1
    label: str = ""                   # shown on the progress bar


@dataclass
class Outcome:
    task: Task
    status: Status
    result: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    seconds: float = 0.0


def run_one(work: Callable[[Any], dict[str, Any]], task: Task) -> Outcome:
    """Run `work` on one task; never raises (but KeyboardInterrupt): a failure is an Outcome with its reason."""
    start = time.perf_counter()
    try:
        result, status, reason = work(task.payload) or {}, "done", ""
    except SoriError as e:
        result, status, reason = {}, "failed", str(e)
    except MemoryError:
        result, status, reason = {}, "failed", "out of memory; split the input or run with fewer --jobs"
    except Exception as e:   # a bug must not stop the other tasks; the row says what happened
        result, status, reason = {}, "failed", f"internal error: {type(e).__name__}: {e}"
    return Outcome(task, status, result, reason, round(time.perf_counter() - start, 3))


def _worker_start(threads: int) -> None:
    """Workers share the cores (numpy's, soxr's and torch's thread pools would each take all of them; torch reads
    OMP_NUM_THREADS when first imported) and leave Ctrl-C to the parent, which stops them: one message, no
    tracebacks."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Runner:
    def __init__(self, state_dir: str | os.PathLike, work: Callable[[Any], dict[str, Any]], *, jobs: int = 1,
                 label: str = "", progress: bool = True, console: Console | None = None,
                 verify: Literal["sha256", "exists"] = "sha256") -> None:
        self.state_dir = Path(state_dir)
        self.work = work
        self.jobs = max(1, int(jobs))
        self.label = label
        self.progress = progress
        self.console = console or Console(stderr=True)
        self.verify = verify

    # --- records ---------------------------------------------------------------------------------------------------

    def record_path(self, key: str) -> Path:
        return self.state_dir / "records" / f"{key}.json"

    def finished(self, task: Task) -> dict[str, Any] | None:
        """The result recorded for a task that still matches its record, else None."""
        try:
            record = json.loads(self.record_path(task.key).read_text(encoding="utf-8"))
            if record.get("fingerprint") != task.fingerprint:
                return None
            hashes = record.get("outputs") or {}
            if any(self._name(out) not in hashes for out in task.outputs):
                return None
            root = self.state_dir.parent
            for name, want in hashes.items():
                out = root / name
                if not out.is_file() or (self.verify == "sha256" and sha256_file(out) != want):
                    return None
            return record.get("result") or {}
        except (OSError, ValueError, AttributeError):
            return None

    def wrote(self, key: str, path: Path) -> bool:
        """Whether task `key` wrote `path` (its record says so): a place Sori may write again."""
        try:
            record = json.loads(self.record_path(key).read_text(encoding="utf-8"))
            return self._name(path) in (record.get("outputs") or {})
        except (OSError, ValueError, AttributeError):
            return False

    def _name(self, path: Path) -> str:
        root = self.state_dir.parent
        return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)

    def _record(self, outcome: Outcome) -> None:
        task = outcome.task
        root = self.state_dir.parent
        outputs = [*task.outputs, *(root / name for name in outcome.result.get("outputs", ()))]
        hashes = {self._name(p): (sha256_file(p) if self.verify == "sha256" else "") for p in outputs}
        doc = {"key": task.key, "fingerprint": task.fingerprint, "outputs": hashes, "result": outcome.result}
        atomic_write_text(self.record_path(task.key), json.dumps(doc, indent=1, ensure_ascii=False))

    # --- running ---------------------------------------------------------------------------------------------------

    def run(self, tasks: Sequence[Task]) -> Iterator[Outcome]:
        """Every task's outcome, skipped ones first; the rest as they finish."""
        with progress_bar(self.label, enabled=self.progress, console=self.console) as bar:
            bar_task = bar.add_task("", total=len(tasks))
            pending = []
            for task in tasks:
                recorded = self.finished(task)
                if recorded is None:
                    pending.append(task)
                    continue
                bar.advance(bar_task)
                yield Outcome(task, "skipped", recorded, "already done with these settings")
            for outcome in self._execute(pending):
                if outcome.status == "done":
                    self._record(outcome)
                bar.update(bar_task, description=outcome.task.label or outcome.task.key)
                bar.advance(bar_task)
                yield outcome

    def _execute(self, tasks: list[Task]) -> Iterator[Outcome]:
        if self.jobs == 1 or len(tasks) <= 1:
            for task in tasks:
                yield run_one(self.work, task)
            return
        ctx = multiprocessing.get_context("spawn")   # no fork: workers never inherit locks or threads
        threads = max(1, (os.cpu_count() or 1) // self.jobs)
        pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=ctx, initializer=_worker_start,
                                   initargs=(threads,))
        try:
            futures: dict[Future, Task] = {pool.submit(run_one, self.work, t): t for t in tasks}
            for fut in as_completed(futures):
                try:
                    yield fut.result()
                except BrokenProcessPool:
                    yield Outcome(futures[fut], "failed", reason="worker process died (out of memory?); run the "
                                  "same command again to resume")
        except BaseException:
            _stop(pool)
            raise
        pool.shutdown()


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop now: end the workers and drop what has not started (what a worker was writing is a temporary file that
    the next run removes). The executor has no public way to end running workers before Python 3.14."""
    workers = list((getattr(pool, "_processes", None) or {}).values())
    for proc in workers:
        proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in workers:
        proc.join(timeout=2)
