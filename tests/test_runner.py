"""The runner's records and claims: what a stopped job leaves is known as Sori's, what it never wrote is not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from remaster.runner import CLAIMS, Runner, Task


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
