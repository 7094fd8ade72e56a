"""The local engine: tasks in this process (one job: nothing is pickled, so work may hold a loaded model or a
regenerator), or in a pool of spawned worker processes on this machine.

Ctrl-C stops the pool at once: workers ignore SIGINT and the parent terminates them; what a worker was writing is
a temporary file that the next run removes. A worker sends back only a few hundred bytes (its outcome's status,
reason and time; the parent reads the result from the task's record): a pipe takes a message that small in one
write, so a worker terminated while sending cannot leave half of one, on which the pool's result thread, and with
it the exit, would wait for ever. (A batch's result, its report and curves, is some 20 kB: two writes.)
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from ..runner import Outcome, Records, Task, Worker, ticking

if TYPE_CHECKING:
    from . import Advance

_worker: Worker | None = None       # in a pool process: its Worker, made once by the initializer


def _worker_start(threads: int, work: Callable[[Any], dict[str, Any]], records: Records) -> None:
    """Workers share the cores (numpy's, soxr's and torch's thread pools would each take all of them; torch reads
    OMP_NUM_THREADS when first imported) and leave Ctrl-C to the parent, which stops them: one message, no
    tracebacks."""
    global _worker
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker = Worker(work, records)


Sent = tuple[str, str, float, "dict[str, Any] | None"]


def _pool_attempt(task: Task) -> Sent:
    """The outcome of one task, less what the parent has: the task, and the result where its record holds it."""
    assert _worker is not None, "the pool's initializer makes the worker"
    outcome = _worker.attempt(task)
    recorded = outcome.status in ("done", "skipped")      # Worker.attempt records every finished task
    return outcome.status, outcome.reason, outcome.seconds, None if recorded else outcome.result


def _received(task: Task, sent: Sent, records: Records) -> Outcome:
    status, reason, seconds, result = sent
    if result is None:
        try:
            result = records.result(task.key)
        except (OSError, ValueError) as e:
            return Outcome(task, "failed", reason=f"cannot read the record of {task.key}: {e}", seconds=seconds)
    return Outcome(task, status, result, reason, seconds)  # type: ignore[arg-type]


class LocalEngine:
    name = "local"
    checks_records = False      # the runner checks the records here, and hands over only what is left

    def __init__(self, jobs: int = 1) -> None:
        self.jobs = max(1, int(jobs))

    def execute(self, work: Callable[[Any], dict[str, Any]], tasks: Sequence[Task], records: Records,
                advance: Advance) -> Iterator[Outcome]:
        if self.jobs == 1 or len(tasks) <= 1:
            worker = Worker(work, records)
            for task in tasks:
                with ticking(lambda n, task=task: advance(task, n)):
                    outcome = worker.attempt(task)
                yield outcome
            return
        yield from self._pool(work, tasks, records)

    def _pool(self, work: Callable[[Any], dict[str, Any]], tasks: Sequence[Task], records: Records
              ) -> Iterator[Outcome]:
        ctx = multiprocessing.get_context("spawn")   # no fork: workers never inherit locks or threads
        threads = max(1, (os.cpu_count() or 1) // self.jobs)
        pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=ctx, initializer=_worker_start,
                                   initargs=(threads, work, records))
        try:
            futures: dict[Future, Task] = {pool.submit(_pool_attempt, t): t for t in tasks}
            for fut in as_completed(futures):
                try:
                    yield _received(futures[fut], fut.result(), records)
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
