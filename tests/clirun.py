"""Running `sori` for tests: in-process through the installed entry point's function (`sori.cli.main`), or as the
installed `sori` command itself (SORI) in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SORI = str(Path(sys.executable).with_name("sori"))      # the console script the package installs


def run_main(capfd: pytest.CaptureFixture[str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    from sori.cli import main
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
