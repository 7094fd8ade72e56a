"""Running `sori` in-process for tests: `main(argv)` with its exit code and captured output."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest


def run_main(capfd: pytest.CaptureFixture[str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    from generate.cli import main
    capfd.readouterr()
    argv = [str(a) for a in args]
    try:
        main(argv)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    out, err = capfd.readouterr()
    return subprocess.CompletedProcess(argv, code, out, err)


def one_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The one `sori: error:` line of a failed run (exit 2, no traceback)."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sori: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]
