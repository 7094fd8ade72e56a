"""Engines: where the resumable runner's tasks run (remaster.runner). The runner decides what to run (it skips
what is recorded) and reports; an engine only runs the rest and yields their outcomes as they finish.

    local   this process (jobs=1), or a pool of spawned worker processes on this machine (the default; nothing to
            install)
    ray     a Ray cluster (`pip install 'sori[ray]'`): stateless work as Ray tasks (one CPU each, retried when their
            worker dies), work with a `setup()` (a loaded codec) as Ray actors, one GPU each when the cluster has GPUs

Whatever the engine, every task runs through `runner.Worker.attempt` in the process that runs it: that worker
writes the outputs and then the record, atomically, on the file system every worker and the runner share; so the
same outputs, records and reports come out of every engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from ..errors import SoriError
from ..runner import Outcome, Records, Task
from .local import LocalEngine

ENGINES = ("local", "ray")
MAX_LOCAL_JOBS = 64

Advance = Callable[[Task, int], None]      # (task, units): progress inside a task, reported to the runner's bar


class Engine(Protocol):
    name: str
    checks_records: bool     # its workers decide what is finished (the runner hands them every task)

    def execute(self, work: Callable[[Any], dict[str, Any]], tasks: Sequence[Task], records: Records,
                advance: Advance) -> Iterator[Outcome]:
        """Run every task (none of them recorded yet) and yield its outcome as it finishes."""
        ...


def make_engine(name: str = "local", *, jobs: int | None = None, address: str | None = None,
                gpus: float | str = 0, cpus: float = 1) -> Engine:
    """The engine called `name`. `jobs`: worker processes (local, default 1) or at most that many tasks at once
    (ray, default every CPU of the cluster, or every GPU for GPU work). `address`: the Ray cluster to join (default:
    start one on this machine). `gpus`, `cpus`: what each Ray actor asks for (`gpus="auto"`: one GPU when the
    cluster has any)."""
    if name == "local":
        if address is not None:
            raise SoriError("--address names a Ray cluster: use it with --engine ray")
        if jobs is not None and not 1 <= jobs <= MAX_LOCAL_JOBS:
            raise SoriError(f"--jobs {jobs}: the local engine runs 1 to {MAX_LOCAL_JOBS} processes; more machines: "
                            "--engine ray")
        return LocalEngine(1 if jobs is None else jobs)
    if name == "ray":
        try:
            from .ray import RayEngine
        except ImportError as e:
            if e.name != "ray":
                raise
            raise SoriError("--engine ray needs Ray, an optional part of Sori: pip install 'sori[ray]'") from None
        return RayEngine(address=address, jobs=jobs, gpus=gpus, cpus=cpus)
    raise SoriError(f"--engine '{name}' is not one of {', '.join(ENGINES)}")


__all__ = ["ENGINES", "Advance", "Engine", "LocalEngine", "make_engine"]
