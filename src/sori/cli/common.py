"""What every command shares: the error style, the preset and `--set` options, number formatting, a progress
loop over files. Nothing here imports numpy or a model library at import time."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

PresetOpt = Annotated[str, typer.Option("--preset", "-p", help="built-in preset name or a .yaml path")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print the result as JSON")]
RunOnOpt = Annotated[str, typer.Option("--engine", help="where the work runs: local (this machine's processes) or "
                                       "ray (a Ray cluster: the sori\\[ray] extra)")]
AddressOpt = Annotated[str | None, typer.Option("--address", help="with --engine ray: the cluster's address "
                                                "(HOST:PORT from `ray start --head`; default $RAY_ADDRESS, else "
                                                "a cluster started on this machine for the job)")]


def set_option(example: str) -> Any:
    """`--set KEY=VALUE` (repeatable), with an example that the command accepts."""
    return typer.Option("--set", help=f"override one preset key, e.g. --set {example} (repeatable)")


SetOpt = Annotated[list[str] | None, set_option("loudness.target_lufs=-16")]


def overrides(items: list[str] | None) -> dict[str, Any]:
    """`--set` values as one nested mapping (later ones win; `--set STAGE=null` removes the stage)."""
    from remaster import presets

    out: dict[str, Any] = {}
    for item in items or []:
        out = presets.combine(out, presets.parse_override(item))
    return out


def fmt(v: Any, unit: str = "", digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-inf" + unit
    return f"{v:.{digits}f}{unit}" if isinstance(v, float) else f"{v}{unit}"


def error(message: str) -> None:
    """One error line on stderr, in the style every command uses."""
    typer.echo(f"sori: error: {message}", err=True)


def each_file(files: list[Path], measure: Callable[[Any, int], Any], label: str,
              quiet: bool) -> tuple[dict[str, Any], int]:
    """Read and measure each file; a bad file is one error line and does not stop the others."""
    from remaster import audio as audio_io
    from remaster.errors import SoriError

    results: dict[str, Any] = {}
    failed = 0
    for f in progress(files, label, quiet=quiet or len(files) < 2):
        try:
            data, rate = audio_io.read(f)
            results[str(f)] = measure(data, rate)
        except SoriError as e:
            failed += 1
            error(str(e))
    return results, failed


def progress(items: list[Path], label: str, quiet: bool) -> Iterator[Path]:
    if quiet:
        yield from items
        return
    from remaster.progress import progress_bar

    with progress_bar(label, transient=True) as bar:
        task = bar.add_task("", total=len(items))
        for item in items:
            bar.update(task, description=str(item))
            yield item
            bar.advance(task)


def main(app: typer.Typer, argv: list[str] | None = None) -> None:
    """Run the app. Usage errors and exits come from typer as SystemExit; a SoriError is one line and exit 2;
    anything else is one line and exit 1, never a traceback."""
    from remaster.errors import SoriError

    try:
        app(args=argv, prog_name="sori")
    except SystemExit as e:
        if e.code == 130:            # typer turns Ctrl-C into a silent exit 130
            print("sori: interrupted; finished work is kept: run the same command again to resume", file=sys.stderr)
        raise
    except SoriError as e:
        print(f"sori: error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("sori: interrupted; finished work is kept: run the same command again to resume", file=sys.stderr)
        sys.exit(130)
    except Exception as e:   # the last line of defence: one line, not a traceback
        print(f"sori: internal error: {type(e).__name__}: {e} (please report this with the command you ran)",
              file=sys.stderr)
        sys.exit(1)
