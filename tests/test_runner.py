"""The runner's records and claims: what a stopped job leaves is known as Sori's, what it never wrote is not."""

from __future__ import annotations

import json
import pickle
import select
from pathlib import Path

import pytest

from remaster.engines import local
from remaster.errors import SoriError
from remaster.runner import CLAIMS, Records, Runner, Task, Worker


def test_an_output_written_just_before_a_stop_stays_sori_s(tmp_path: Path) -> None:
    out, theirs = tmp_path / "a.wav", tmp_path / "b.wav"
    theirs.write_text("someone else's")

    def stopped(_: object) -> dict:
        out.write_text("master")          # the output is in place, its record not yet: Ctrl-C lands here
        raise KeyboardInterrupt

    task = Task("a", "settings-1", (out,))
    runner = Runner(tmp_path / ".sori", stopped, progress=False)
    with pytest.raises(KeyboardInterrupt):
        list(runner.run([task]))
    assert out.is_file() and runner.finished(task) is None
    assert runner.wrote("a", out)                         # claimed before it ran: the next run may replace it
    assert not runner.wrote("a", theirs) and not runner.wrote("b", out)

    done = Runner(tmp_path / ".sori", lambda _: out.write_text("master") and {}, progress=False)
    assert [o.status for o in done.run([task])] == ["done"]
    assert done.finished(task) == {} and done.wrote("a", out)
    # a later job's claims drop the recorded task's
    later = Runner(tmp_path / ".sori", lambda _: {}, progress=False)
    list(later.run([Task("c", "x", (tmp_path / "c.wav",))]))
    assert set(json.loads((tmp_path / ".sori" / CLAIMS).read_text())) == {"c"}


def _big_work(name: str) -> dict:
    """A result the size of a batch's (its report and curves: some 20 kB pickled), or a failure."""
    if name == "bad":
        raise SoriError("bad: not an audio file")
    return {"name": name, "curve": [i / 7 for i in range(5_000)]}


def test_a_pool_worker_sends_back_what_a_pipe_takes_in_one_write(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker terminated by Ctrl-C while sending a message of two writes leaves half of it in the pipe, and the
    pool's result thread (which the exit waits for) waits for the rest for ever: what a worker sends is at most
    PIPE_BUF bytes, which a pipe takes in one write; the parent reads the result from the record."""
    records = Records(tmp_path / ".sori", run="this-run")
    monkeypatch.setattr(local, "_worker", Worker(_big_work, records))
    for name, status in (("ok", "done"), ("bad", "failed")):
        task = Task(name, "f", (), name)
        sent = local._pool_attempt(task)
        assert len(pickle.dumps(sent)) < select.PIPE_BUF
        got = local._received(task, sent, records)
        assert (got.task, got.status) == (task, status)
        assert got.result == ({} if name == "bad" else _big_work(name))
        assert got.reason == ("bad: not an audio file" if name == "bad" else "")
    again = local._pool_attempt(Task("ok", "f", (), "ok"))          # a retry finds its record: still small
    assert again[0] == "done" and len(pickle.dumps(again)) < select.PIPE_BUF

    tasks = [Task(n, "f", (), n) for n in ("a", "b", "c", "bad")]
    pooled = {o.task.key: o for o in local.LocalEngine(jobs=2).execute(
        _big_work, tasks, Records(tmp_path / "pool", run="r"), lambda t, n: None)}
    alone = {o.task.key: o for o in local.LocalEngine(jobs=1).execute(
        _big_work, tasks, Records(tmp_path / "alone", run="r"), lambda t, n: None)}
    assert {k: (o.status, o.result, o.reason) for k, o in pooled.items()} == \
        {k: (o.status, o.result, o.reason) for k, o in alone.items()}
    assert pooled["a"].result == _big_work("a") and pooled["bad"].status == "failed"
