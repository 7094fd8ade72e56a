"""The one resumable runner: a list of tasks, run by an engine (this process, a pool of worker processes, or a Ray
cluster: remaster.engines), each finished task recorded so that a second run skips it. Batch mastering, dataset
preparation, tokenization and `sori make` all run on it.

    runner = Runner(out_dir / ".sori", work, jobs=2, label="mastering")            # the local engine
    runner = Runner(out_dir / ".sori", work, engine=make_engine("ray", address="10.0.0.1:6379"))
    for outcome in runner.run(tasks):           # Outcome(task, status, result, reason, seconds), in finishing order
        ...

A `Task` names its `key` (which record is its own), its `fingerprint` (a hash of everything its outputs depend on:
the input's bytes, the settings) and its `outputs`. When a task finishes, its record (`STATE/records/<key>.json`)
stores the fingerprint, the sha256 of every output and what `work` returned, written atomically after the outputs,
by the worker that ran it (`Records`: on a cluster, the state folder is on the shared file system). A later run
skips a task whose record still matches: same fingerprint, and every output still there with its recorded hash (or
only there, with `verify="exists"`, for tasks with many large outputs). So a batch stopped in any way, `kill -9`
included, redoes only what had not finished. Before tasks run, the outputs they will write are claimed
(STATE/claims.json), so that an output left by a task stopped between writing it and recording it is still Sori's
to replace on the next run, while a file Sori never set out to write is left alone. A worker that is handed a task
already finished (a Ray retry of a task whose worker died after recording it) returns the record instead of writing
the outputs again. A fingerprint that needs the input's bytes (`FileFingerprint`) is computed where the record is
checked: by the runner for the local engine, by the workers on a cluster (`Engine.checks_records`), so no one
process reads every input and output.

`work(payload) -> dict` runs one task. A work object with a `setup()` method is set up once per worker process
(tokenization loads its codec there). A task whose outputs are known only once it ran (a clip cut into as many
windows as it has) lists them in the result's `"outputs"` (paths relative to the state folder's parent); they are
recorded and checked like the task's own. A SoriError it raises fails that task alone, with its message as the
reason; any other exception too, reported as an internal error; the rest carry on (never retried: only a worker's
death is). Work may report progress inside a task with `tick(n)` (a task counts `Task.size` units on the bar).
Ctrl-C stops the workers at once and raises KeyboardInterrupt once; finished tasks stay recorded.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rich.console import Console

from .audio import atomic_write_text
from .errors import SoriError
from .progress import progress_bar

if TYPE_CHECKING:
    from .engines import Engine

Status = Literal["done", "skipped", "failed"]
SKIPPED = "already done with these settings"
Verify = Literal["sha256", "exists"]
CLAIMS = "claims.json"


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
class FileFingerprint:
    """A fingerprint that hashes a file's bytes when it is needed, in whichever process checks the record:
    `fingerprint(sha256 of path, *parts)`."""

    path: Path
    parts: tuple[Any, ...] = ()

    def __call__(self) -> str:
        return fingerprint(sha256_file(self.path), *self.parts)


@dataclass(frozen=True)
class Task:
    key: str                          # unique and stable: names the record (may contain '/')
    fingerprint: str | FileFingerprint    # everything the outputs depend on
    outputs: tuple[Path, ...] = ()    # files the task writes
    payload: Any = None               # what `work` gets; picklable when it runs in another process
    label: str = ""                   # shown on the progress bar
    size: int = 1                     # units on the progress bar (tokenization: windows)


def resolved(task: Task) -> Task:
    """The task with its fingerprint computed (reads the input when it is a FileFingerprint)."""
    if isinstance(task.fingerprint, str):
        return task
    return replace(task, fingerprint=task.fingerprint())


@dataclass
class Outcome:
    task: Task
    status: Status
    result: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    seconds: float = 0.0


class Records:
    """The records of finished tasks under STATE/records/, read and written by whichever process needs them (the
    runner to skip, a worker to record what it finished): plain files, so a shared file system is all a cluster
    needs. Output names are relative to STATE's parent."""

    def __init__(self, state_dir: str | os.PathLike, verify: Verify = "sha256", run: str = "") -> None:
        self.state_dir = Path(state_dir)
        self.verify = verify
        self.run = run              # this run's id, stored in the records it writes

    def _matching(self, task: Task) -> dict[str, Any] | None:
        """The record of a task (its fingerprint resolved) that still matches it, else None."""
        try:
            record = self._read(task.key)
            if record.get("fingerprint") != task.fingerprint:
                return None
            hashes = record.get("outputs") or {}
            if any(self.name(out) not in hashes for out in task.outputs):
                return None
            root = self.state_dir.parent
            for name, want in hashes.items():
                out = root / name
                if not out.is_file() or (self.verify == "sha256" and sha256_file(out) != want):
                    return None
            return record
        except (OSError, ValueError, AttributeError):
            return None

    def path(self, key: str) -> Path:
        return self.state_dir / "records" / f"{key}.json"

    def _read(self, key: str) -> dict[str, Any]:
        return json.loads(self.path(key).read_text(encoding="utf-8"))

    def name(self, path: Path) -> str:
        root = self.state_dir.parent
        return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)

    def finished(self, task: Task) -> dict[str, Any] | None:
        """The result recorded for a task that still matches its record, else None."""
        try:
            record = self._matching(resolved(task))
        except OSError:                 # the input went away: not finished, and the work will say why
            return None
        return None if record is None else (record.get("result") or {})

    def result(self, key: str) -> dict[str, Any]:
        """The result in task `key`'s record, unchecked: for the parent of the worker that has just written it."""
        return self._read(key).get("result") or {}

    def finished_by(self, task: Task) -> tuple[dict[str, Any], str] | None:
        """(result, run id) of a resolved task's matching record, else None."""
        record = self._matching(task)
        return None if record is None else (record.get("result") or {}, str(record.get("run", "")))

    def wrote(self, key: str, path: Path) -> bool:
        """Whether task `key` wrote `path` (its record says so) or was started to write it (a claim: stopped between
        its output and its record): a place Sori may write again."""
        try:
            record = self._read(key)
            if self.name(path) in (record.get("outputs") or {}):
                return True
        except (OSError, ValueError, AttributeError):
            pass
        return self.name(path) in self._claims().get(key, ())

    def claim(self, tasks: Sequence[Task]) -> None:
        """Note, before they run, the outputs these tasks will write (one file, STATE/claims.json), so that an
        output whose task was stopped before its record was written is still known as Sori's. Claims of tasks
        recorded since are dropped."""
        if not tasks:
            return
        claims = {k: v for k, v in self._claims().items() if not self.path(k).is_file()}
        claims.update({t.key: [self.name(p) for p in t.outputs] for t in tasks})
        atomic_write_text(self.state_dir / CLAIMS, json.dumps(claims, ensure_ascii=False))

    def _claims(self) -> dict[str, list[str]]:
        try:
            claims = json.loads((self.state_dir / CLAIMS).read_text(encoding="utf-8"))
            return claims if isinstance(claims, dict) else {}
        except (OSError, ValueError):
            return {}

    def write(self, outcome: Outcome) -> None:
        task = outcome.task
        root = self.state_dir.parent
        outputs = [*task.outputs, *(root / name for name in outcome.result.get("outputs", ()))]
        hashes = {self.name(p): (sha256_file(p) if self.verify == "sha256" else "") for p in outputs}
        doc = {"key": task.key, "fingerprint": task.fingerprint, "outputs": hashes, "result": outcome.result,
               "run": self.run}
        atomic_write_text(self.path(task.key), json.dumps(doc, indent=1, ensure_ascii=False))


# --- in the worker -------------------------------------------------------------------------------------------------

_tick: Callable[[int], None] | None = None


def tick(n: int = 1) -> None:
    """Report `n` units of the running task done (tokenization: windows encoded), from whichever process runs it,
    to the job's one progress bar. Outside a runner it does nothing."""
    if _tick is not None:
        _tick(n)


@contextmanager
def ticking(sink: Callable[[int], None] | None) -> Iterator[None]:
    """Send `tick` to `sink` while a task runs (each engine brings its own way back to the bar)."""
    global _tick
    old, _tick = _tick, sink
    try:
        yield
    finally:
        _tick = old


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


class Worker:
    """What one worker process holds: the work (set up once, on its first task) and the records. `attempt` is all
    an engine calls, in whatever process it runs tasks."""

    def __init__(self, work: Callable[[Any], dict[str, Any]], records: Records) -> None:
        self.work = work
        self.records = records
        self._ready = not hasattr(work, "setup")
        self._setup_error = ""

    def _setup(self) -> str:
        if not self._ready:
            self._ready = True
            try:
                self.work.setup()            # type: ignore[attr-defined]
            except SoriError as e:
                self._setup_error = str(e)
            except Exception as e:
                self._setup_error = f"internal error: {type(e).__name__}: {e}"
        return self._setup_error

    def attempt(self, task: Task) -> Outcome:
        """Run one task and record it, unless its record already matches: then its recorded result, and nothing
        written again ("skipped" when an earlier run recorded it; "done" when this run did, and this is a retry of
        a task whose worker died after recording it)."""
        try:
            task = resolved(task)
        except OSError as e:
            return Outcome(task, "failed", reason=f"cannot read the input of {task.key}: {e.strerror or e}")
        recorded = self.records.finished_by(task)
        if recorded is not None:
            result, run = recorded
            if run == self.records.run:
                return Outcome(task, "done", result)
            return Outcome(task, "skipped", result, SKIPPED)
        error = self._setup()
        if error:
            return Outcome(task, "failed", reason=error)
        outcome = run_one(self.work, task)
        if outcome.status == "done":
            try:
                self.records.write(outcome)
            except (OSError, SoriError) as e:
                return Outcome(task, "failed", reason=f"cannot record {task.key}: {e}", seconds=outcome.seconds)
        return outcome


# --- in the parent -------------------------------------------------------------------------------------------------

class Runner:
    def __init__(self, state_dir: str | os.PathLike, work: Callable[[Any], dict[str, Any]], *, jobs: int = 1,
                 engine: Engine | None = None, label: str = "", progress: bool = True,
                 console: Console | None = None, verify: Verify = "sha256",
                 on_progress: Callable[[int, int], None] | None = None) -> None:
        from .engines import LocalEngine
        self.records = Records(state_dir, verify, run=uuid.uuid4().hex)
        self.state_dir = self.records.state_dir
        self.work = work
        self.engine = engine if engine is not None else LocalEngine(jobs)
        self.label = label
        self.progress = progress
        self.console = console or Console(stderr=True)
        self.on_progress = on_progress

    def record_path(self, key: str) -> Path:
        return self.records.path(key)

    def finished(self, task: Task) -> dict[str, Any] | None:
        return self.records.finished(task)

    def wrote(self, key: str, path: Path) -> bool:
        return self.records.wrote(key, path)

    def _check(self, task: Task) -> Task | dict[str, Any]:
        """A finished task's recorded result, or the task to run (its fingerprint computed, when it can be)."""
        try:
            task = resolved(task)
        except OSError:
            return task                      # the worker says why it cannot be read
        recorded = self.records.finished(task)
        return task if recorded is None else recorded

    def run(self, tasks: Sequence[Task]) -> Iterator[Outcome]:
        """Every task's outcome, as they finish (with the local engine, skipped ones first)."""
        with progress_bar(self.label, enabled=self.progress, console=self.console) as bar:
            total = sum(t.size for t in tasks)
            bar_task = bar.add_task("", total=total)
            shown: dict[str, int] = {}
            done = 0

            def advance(task: Task, n: int) -> None:
                nonlocal done
                n = max(0, min(n, task.size - shown.get(task.key, 0)))   # a retried task ticks again: not past its size
                shown[task.key] = shown.get(task.key, 0) + n
                done += n
                bar.advance(bar_task, n)
                if self.on_progress is not None and n:
                    self.on_progress(done, total)

            pending = []
            for task in tasks:
                recorded = task if self.engine.checks_records else self._check(task)
                if isinstance(recorded, Task):      # to run (its workers check it, or it is not finished)
                    pending.append(recorded)
                    continue
                advance(task, task.size)
                yield Outcome(task, "skipped", recorded, SKIPPED)
            self.records.claim(pending)
            for outcome in self.engine.execute(self.work, pending, self.records, advance):
                bar.update(bar_task, description=outcome.task.label or outcome.task.key)
                advance(outcome.task, outcome.task.size)
                yield outcome
