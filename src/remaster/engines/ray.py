"""The Ray engine: the runner's tasks spread over a Ray cluster (https://docs.ray.io, Ray Core: tasks, actors,
fault tolerance). Install with `pip install 'sori[ray]'`.

    ray start --head                                  # on one machine: the cluster (prints its ADDRESS)
    ray start --address ADDRESS                       # on every other machine: join it
    sori batch IN OUT --engine ray --address ADDRESS  # anywhere in the cluster: the job

Every machine has the same Sori environment and sees IN and OUT at the same paths (a shared file system). Workers
read the inputs and write the outputs and the records there themselves (`runner.Worker.attempt`: atomic writes,
the record after the outputs); only outcomes (results, reasons) travel back to the driver. Without an address Ray
starts a cluster on this machine for the job and stops it after.

- Stateless work (mastering, cutting clips) runs as Ray tasks of one CPU each, at most `jobs` at once (default: two
  per CPU of the cluster, so no worker waits for the next file).
- Work with a `setup()` (tokenization: the codec) runs on `jobs` actors that set it up once each; an actor asks for
  one GPU when the cluster has GPUs (`gpus="auto"`), else `cpus` CPUs (torch's threads follow them).
- A worker that dies (SIGKILL, the out-of-memory killer, a lost node) has its task run again elsewhere, up to
  RETRIES times: Ray's retries for system failures. A task that fails for its own reasons is an outcome (a failed
  row), never retried: exceptions do not leave `Worker.attempt`. A retry of a task whose record was written before
  its worker died returns that record: no output is written twice.
- The workers also check the records (`checks_records`): hashing every input and output to decide what to skip is
  spread over the cluster instead of read by the driver alone; a task recorded by an earlier run comes back
  "skipped".
- Progress inside a task (`runner.tick`) goes to a small actor that the driver reads, so the job's one bar moves
  with the workers.
- Ctrl-C ends the job: the driver disconnects (or stops the cluster it started), and Ray kills the job's workers;
  what they were writing is a temporary file the next run removes. Finished files are recorded.
"""

from __future__ import annotations

import logging
import socket
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import ray
from ray.exceptions import RayError, RayTaskError

from ..errors import SoriError
from ..runner import Outcome, Records, Task, Worker, ticking

if TYPE_CHECKING:
    from . import Advance

RETRIES = 3          # runs of a task after its worker died, before it is a failed row
POLL_S = 0.5         # how often the driver reads the workers' progress


def connect(address: str | None) -> bool:
    """Join the cluster at `address`, or start one on this machine; True when this call started the connection
    (the caller then ends it). Already connected (a script that called ray.init itself): that cluster."""
    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
    if address is None:
        kwargs["include_dashboard"] = False
    try:
        ray.init(address=address, **kwargs)
    except (ConnectionError, ValueError, RuntimeError) as e:
        raise SoriError(f"--address {address}: cannot join that Ray cluster ({e}); check `ray status` on its head "
                        "node") from None
    return True


def check_address(address: str) -> None:
    """Ray retries an unreachable address for minutes: answer at once when nothing listens there."""
    if address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise SoriError(f"--address {address}: not HOST:PORT (the address `ray start --head` printed), 'auto' or "
                        "ray://HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as e:
        raise SoriError(f"--address {address}: no Ray cluster answers there ({e.strerror or e}); start one with "
                        "`ray start --head` on that machine, or leave out --address to run on this one") from None


def _run_task(work: Callable[[Any], dict[str, Any]], records: Records, task: Task) -> Outcome:
    """One task in a Ray worker process (work and records arrive as object refs, resolved by Ray)."""
    return Worker(work, records).attempt(task)


@cache
def _remote_task() -> Any:
    return ray.remote(num_cpus=1, max_retries=RETRIES, retry_exceptions=False)(_run_task)


class _Actor:
    """A worker that keeps its set-up work (a loaded codec) for every task it is given."""

    def __init__(self, work: Callable[[Any], dict[str, Any]], records: Records, ticks: Any) -> None:
        self.worker = Worker(work, records)
        self.ticks = ticks

    def attempt(self, task: Task) -> Outcome:
        with ticking(lambda n: self.ticks.add.remote(task.key, n)):
            return self.worker.attempt(task)


class _Ticks:
    """Units done inside running tasks, by task key, since the driver last asked."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, key: str, n: int) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def take(self) -> dict[str, int]:
        out, self.counts = self.counts, {}
        return out


def _outcome(ref: Any, task: Task) -> Outcome:
    try:
        return ray.get(ref)
    except RayTaskError as e:        # an exception outside the work (Worker.attempt catches the work's own)
        return Outcome(task, "failed", reason=f"internal error: {type(e.cause).__name__}: {e.cause}")
    except RayError as e:
        return Outcome(task, "failed", reason=f"its worker died {RETRIES + 1} times ({type(e).__name__}: killed, out "
                       "of memory, or its node lost); run the same command again to resume")


class RayEngine:
    name = "ray"
    checks_records = True       # the workers hash inputs and outputs to check records: not the driver alone

    def __init__(self, address: str | None = None, jobs: int | None = None, gpus: float | str = 0,
                 cpus: float = 1) -> None:
        if jobs is not None and jobs < 1:
            raise SoriError(f"--jobs {jobs}: need at least 1")
        if address is not None:
            check_address(address)              # before the job starts, not when its first file is due
        self.address, self.jobs, self.gpus, self.cpus = address, jobs, gpus, cpus

    def execute(self, work: Callable[[Any], dict[str, Any]], tasks: Sequence[Task], records: Records,
                advance: Advance) -> Iterator[Outcome]:
        if not tasks:
            return
        started = connect(self.address)
        try:
            if hasattr(work, "setup"):
                yield from self._on_actors(work, tasks, records, advance)
            else:
                yield from self._as_tasks(work, tasks, records, cancel=not started)
        finally:
            if started:      # the job ends with this driver: Ray kills whatever of it still runs
                ray.shutdown()

    def _as_tasks(self, work: Callable[[Any], dict[str, Any]], tasks: Sequence[Task], records: Records,
                  cancel: bool) -> Iterator[Outcome]:
        remote = _remote_task()
        work_ref, records_ref = ray.put(work), ray.put(records)
        slots = self.jobs or max(1, 2 * int(ray.cluster_resources().get("CPU", 1)))
        queue, running = deque(tasks), {}
        try:
            while queue or running:
                while queue and len(running) < slots:
                    task = queue.popleft()
                    running[remote.remote(work_ref, records_ref, task)] = task
                ready, _ = ray.wait(list(running), num_returns=1, timeout=POLL_S)
                for ref in ready:
                    yield _outcome(ref, running.pop(ref))
        except BaseException:
            # Stopped early in a driver that stays connected: cancel what runs (a KeyboardInterrupt in the task:
            # its temporary file is removed). Not force=True: Ray 2.60 can abort the driver when a task finishes
            # while it is being killed.
            for ref in running if cancel else ():
                ray.cancel(ref)
            raise

    def _actor_resources(self) -> tuple[dict[str, float], int]:
        """What each actor asks for, and how many actors there are: `jobs`, or as many as fit, never more than fit
        in the cluster now (an actor that cannot be placed would hold its tasks forever)."""
        total = ray.cluster_resources()
        gpus = (1.0 if total.get("GPU", 0) >= 1 else 0.0) if self.gpus == "auto" else float(self.gpus)
        if gpus:
            fit = int(total.get("GPU", 0) // gpus)
            return {"num_gpus": gpus, "num_cpus": 1}, max(1, min(self.jobs or fit, fit))
        biggest = max((n["Resources"].get("CPU", 0) for n in ray.nodes() if n.get("Alive")), default=1)
        cpus = min(float(self.cpus), biggest, total.get("CPU", 1) / (self.jobs or 1))
        cpus = max(1.0, float(int(cpus)))                     # whole CPUs: torch's threads follow them
        fit = int(total.get("CPU", 1) // cpus)
        return {"num_cpus": cpus}, max(1, min(self.jobs or fit, fit))

    def _on_actors(self, work: Callable[[Any], dict[str, Any]], tasks: Sequence[Task], records: Records,
                   advance: Advance) -> Iterator[Outcome]:
        resources, fit = self._actor_resources()
        ticks = ray.remote(num_cpus=0)(_Ticks).remote()
        cls = ray.remote(_Actor).options(**resources, max_restarts=RETRIES, max_task_retries=RETRIES,
                                         scheduling_strategy="SPREAD")
        work_ref, records_ref = ray.put(work), ray.put(records)
        idle = deque(cls.remote(work_ref, records_ref, ticks) for _ in range(min(fit, len(tasks))))
        queue, running = deque(tasks), {}
        by_key = {t.key: t for t in tasks}
        try:
            while queue or running:
                while queue and idle:
                    actor, task = idle.popleft(), queue.popleft()
                    running[actor.attempt.remote(task)] = (task, actor)
                if not running:          # every actor is gone: the rest cannot run
                    yield from (Outcome(t, "failed", reason="no worker left (each died "
                                        f"{RETRIES + 1} times); run the same command again") for t in queue)
                    return
                ready, _ = ray.wait(list(running), num_returns=1, timeout=POLL_S)
                for key, n in ray.get(ticks.take.remote()).items():
                    advance(by_key[key], n)
                for ref in ready:
                    task, actor = running.pop(ref)
                    outcome = _outcome(ref, task)
                    if not (outcome.status == "failed" and outcome.reason.startswith("its worker died")):
                        idle.append(actor)
                    yield outcome
        finally:
            for actor in (*idle, *(a for _, a in running.values())):
                ray.kill(actor)
            ray.kill(ticks)
