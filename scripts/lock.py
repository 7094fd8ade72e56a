"""Refresh `requirements.lock` from the ranges in `pyproject.toml` (run by `make lock`; see the README's "The lock").

    python scripts/lock.py                      # newest versions the ranges allow
    python scripts/lock.py --upgrade-package transformers    # only that one moves; the rest stay as locked
    python scripts/lock.py --check              # exit 1 when the lock no longer satisfies pyproject.toml

uv resolves once for every platform and every Python from 3.11 up (`--universal`), choosing one version of each
package for all of them where it can (`--fork-strategy fewest`), with the sha256 of every file of that version.
uv writes a requirement over several lines; this script joins each into one line, so that the `git diff` of a
refresh shows one changed line per package that moved.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
EXTRAS = ("dev", "bench", "ray", "studio", "poly")
OVERRIDES = ROOT / "scripts" / "lock-overrides.txt"
HEADER = """\
# The exact environment of `make demo`, `make test` and CI: every package, its version and the sha256 of each of its
# files, one package per line. Written by `make lock` (scripts/lock.py) from the ranges in pyproject.toml; do not edit
# by hand. Installed with `uv pip sync` (the Makefile), which also removes whatever the lock does not list.
"""


def one_line_per_package(compiled: str) -> list[str]:
    """uv's `name==v ; marker \\` + `--hash=...` continuation lines, as one line per package; comments dropped."""
    lines: list[str] = []
    current = ""
    for raw in compiled.splitlines():
        text = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("--hash") else raw.strip()
        if not text:
            continue
        continued = text.endswith("\\")
        text = text.rstrip("\\").strip()
        current = f"{current} {text}".strip() if current else text
        if not continued:
            lines.append(current)
            current = ""
    if current:
        lines.append(current)
    return lines


def compile_lock(uv: str, extra_args: list[str]) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "lock.txt"
        cmd = [uv, "pip", "compile", str(ROOT / "pyproject.toml"), "--universal", "--python-version", "3.11",
               "--fork-strategy", "fewest", "--generate-hashes", "--no-header", "--no-annotate",
               "--output-file", str(out), "--quiet", "--override", str(OVERRIDES), *(f"--extra={e}" for e in EXTRAS),
               *extra_args]
        if LOCK.exists():
            # uv keeps a locked version unless told to move it (--upgrade / --upgrade-package).
            shutil.copy(LOCK, out)
        subprocess.run(cmd, check=True, cwd=ROOT)
        return out.read_text(encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--upgrade-package", "-P", action="append", default=[], metavar="NAME",
                    help="move only this package (and what it needs) to the newest allowed version")
    ap.add_argument("--keep", action="store_true", help="keep every locked version that still fits the ranges")
    ap.add_argument("--check", action="store_true", help="only say whether the lock fits pyproject.toml")
    args = ap.parse_args()
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        print("lock: uv is not installed; run `make .venv/.installed` first, or `pip install uv`", file=sys.stderr)
        return 2
    extra: list[str] = []
    if args.upgrade_package:
        extra += [f"--upgrade-package={p}" for p in args.upgrade_package]
    elif not (args.keep or args.check):
        extra.append("--upgrade")
    body = "\n".join(one_line_per_package(compile_lock(uv, extra))) + "\n"
    text = HEADER + body
    if args.check:
        current = LOCK.read_text(encoding="utf-8") if LOCK.exists() else ""
        if current != text:
            print("lock: requirements.lock does not match pyproject.toml; run `make lock` and commit it",
                  file=sys.stderr)
            return 1
        print("lock: requirements.lock matches pyproject.toml")
        return 0
    tmp = LOCK.with_name(LOCK.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(LOCK)
    print(f"lock: wrote {LOCK.name} ({len(body.splitlines())} packages); review `git diff {LOCK.name}` and commit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
