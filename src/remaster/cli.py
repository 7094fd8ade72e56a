"""The `sori` command line. Errors are one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from . import audio as audio_io
from . import presets
from .analysis import analyze
from .api import remaster, save
from .batch import run_batch
from .errors import SoriError
from .presets.loader import merge
from .processors.dissonance import Dissonance
from .progress import progress_bar

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Sori: generate music, and master it to streaming grade.")
presets_app = typer.Typer(no_args_is_help=True, help="List, show and validate presets.")
app.add_typer(presets_app, name="presets")

PresetOpt = Annotated[str, typer.Option("--preset", "-p", help="built-in preset name or a .yaml path")]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", help="override one preset key, e.g. --set loudness.target_lufs=-16 (repeatable)")]


def _overrides(items: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        out = merge(out, presets.parse_override(item))
    return out


def _fmt(v: Any, unit: str = "", digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-inf" + unit
    return f"{v:.{digits}f}{unit}" if isinstance(v, float) else f"{v}{unit}"


@app.command("remaster")
def remaster_cmd(
    source: Annotated[Path, typer.Argument(help="input audio (wav, flac, ogg, mp3)")],
    output: Annotated[Path, typer.Option("--output", "-o", help="output file, or a folder to write into")],
    preset: PresetOpt = "streaming",
    set_: SetOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the full report as JSON")] = False,
) -> None:
    """Master one file."""
    overrides = _overrides(set_)
    resolved = presets.load(preset, overrides)
    if output.is_dir():
        output = output / f"{source.stem}.{resolved.output.format}"
    if output.suffix.lower().lstrip(".") not in audio_io.WRITE_FORMATS:
        output = output.with_name(output.name + f".{resolved.output.format}")
    if output.exists() and source.exists() and output.resolve() == source.resolve():
        raise SoriError(f"{output}: is the input; Sori never overwrites its input, choose another output")
    blocker = next((p for p in output.parents if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise SoriError(f"{blocker}: is a file, so {output} cannot be written; choose another output path")
    mastered = remaster(source, preset=resolved)
    written = save(output, mastered, resolved)
    report = {**mastered.report, "output_path": str(written)}
    if as_json:
        typer.echo(json.dumps(report, indent=1))
        return
    a = report["after"]
    typer.echo(f"{source} -> {written}: {_fmt(a['integrated_lufs'], ' LUFS')}, {_fmt(a['true_peak_dbtp'], ' dBTP')}, "
               f"{a['sample_rate']} Hz, {resolved.output.bit_depth}-bit ({report['seconds']:.1f} s)")
    if not report["targets"]["ok"]:
        missed = [k for k, v in report["targets"].items() if k != "ok" and not v]
        typer.echo(f"warning: missed target(s): {', '.join(missed)}", err=True)


@app.command("batch")
def batch_cmd(
    in_dir: Annotated[Path, typer.Argument(help="folder of takes (searched recursively)")],
    out_dir: Annotated[Path, typer.Argument(help="where masters go (mirrors the input tree)")],
    preset: PresetOpt = "streaming",
    set_: SetOpt = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, max=64, help="worker processes")] = 1,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Master every audio file under IN_DIR into OUT_DIR; resumable; writes report.json and report.csv."""
    result = run_batch(in_dir, out_dir, preset, _overrides(set_), jobs=jobs, progress=not quiet)
    typer.echo(f"done {result.count('done')}, skipped {result.count('skipped')} (already mastered), "
               f"failed {result.failed}; report: {result.report_json} and {result.report_csv}")
    for row in result.rows:
        if row["status"] == "failed":
            typer.echo(f"failed: {row['input']}: {row['reason']}", err=True)
    if result.failed:
        raise typer.Exit(1)


@app.command("analyze")
def analyze_cmd(
    files: Annotated[list[Path], typer.Argument(help="audio files to measure")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Measure loudness, true peak, levels and bandwidth."""
    results, failed = _each_file(files, lambda data, rate: analyze(data, rate).to_dict(), "measuring", as_json)
    if as_json:
        typer.echo(json.dumps(results, indent=1))
    else:
        for name, m in results.items():
            typer.echo(
                f"{name}: {_fmt(m['integrated_lufs'], ' LUFS')}  LRA {_fmt(m['loudness_range_lu'], ' LU')}  "
                f"TP {_fmt(m['true_peak_dbtp'], ' dBTP', 2)}  peak {_fmt(m['sample_peak_dbfs'], ' dBFS', 2)}  "
                f"clipped {m['clipped_samples']}  crest {_fmt(m['crest_factor_db'], ' dB')}  "
                f"DC {m['dc_offset']:+.4f}  floor {_fmt(m['noise_floor_dbfs'], ' dBFS')}  "
                f"bw {m['bandwidth_hz'] / 1000:.1f} kHz  {m['duration_s']:.2f} s  {m['sample_rate']} Hz  "
                f"{m['channels']} ch")
    if failed:
        raise typer.Exit(1)


@app.command("check")
def check_cmd(
    files: Annotated[list[Path], typer.Argument(help="audio files to check")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON; each finding has start and end in seconds")]
    = False,
    style: Annotated[str, typer.Option("--style", help="western | gugak | auto: scales and ornament tolerance")]
    = "auto",
    model: Annotated[str, typer.Option("--model", help="CREPE model: tiny (fast) or full (slower, finer)")] = "tiny",
    set_: SetOpt = None,
) -> None:
    """Find sour notes: detuned or out-of-key notes (CREPE pitch) and rough stretches. Exit 1 when any is found."""
    overrides = _overrides(set_)
    params = {"style": style, "model": model, **overrides.get("dissonance", {})}
    extra = set(overrides) - {"dissonance"}
    if extra:
        raise SoriError(f"--set: check takes dissonance.* keys only, got {', '.join(sorted(extra))}")
    stage = Dissonance(**params)
    results, failed = _each_file(files, lambda data, rate: stage.analyse(data, rate).summary(), "checking", as_json)
    if as_json:
        typer.echo(json.dumps(results, indent=1))
    else:
        for name, r in results.items():
            count = len(r["findings"])
            typer.echo(f"{name}: {count} finding{'s' if count != 1 else ''} (score {r['score']:.1f}), "
                       f"{r['notes']} notes, tuning A4 = {r['tuning_reference_hz']:.1f} Hz "
                       f"({r['tuning_reference_cents']:+.0f} cents), scale {r['scale'] or '-'}")
            for x in r["findings"]:
                what = (f"{x['cents']:+.0f} cents, found {x['found']}, expected {x['expected']}"
                        if x["kind"] != "rough" else f"roughness {x['roughness']:.3f}")
                typer.echo(f"  {x['start']:8.2f} – {x['end']:8.2f} s  {x['kind']:<10} {what}")
    if failed:
        raise typer.Exit(2)
    if any(r["findings"] for r in results.values()):
        raise typer.Exit(1)


def _each_file(files: list[Path], measure: Any, label: str, quiet: bool) -> tuple[dict[str, Any], int]:
    """Read and measure each file; a bad file is one error line and does not stop the others."""
    results: dict[str, Any] = {}
    failed = 0
    for f in _progress(files, label, quiet=quiet or len(files) < 2):
        try:
            data, rate = audio_io.read(f)
            results[str(f)] = measure(data, rate)
        except SoriError as e:
            failed += 1
            typer.echo(f"sori: error: {e}", err=True)
    return results, failed


def _progress(items: list[Path], label: str, quiet: bool):
    if quiet:
        yield from items
        return
    with progress_bar(label, transient=True) as bar:
        task = bar.add_task("", total=len(items))
        for item in items:
            bar.update(task, description=str(item))
            yield item
            bar.advance(task)


@presets_app.command("list")
def presets_list() -> None:
    """The built-in presets."""
    for name in presets.available():
        typer.echo(f"{name:14s} {presets.load(name).description}")


@presets_app.command("show")
def presets_show(name: Annotated[str, typer.Argument(help="preset name or .yaml path")], set_: SetOpt = None) -> None:
    """The preset as it will run: inheritance and overrides resolved."""
    p = presets.load(name, _overrides(set_))
    typer.echo(yaml.safe_dump(p.resolved(), sort_keys=False, allow_unicode=True).rstrip())


@presets_app.command("validate")
def presets_validate(files: Annotated[list[Path], typer.Argument(help="preset files")]) -> None:
    """Check preset files; prints the first problem of each, exits non-zero if any is invalid."""
    bad = 0
    for f in files:
        try:
            p = presets.load(f)
            typer.echo(f"ok: {f} ({len(p.stages)} stages: {', '.join(s.label for s in p.stages)})")
        except SoriError as e:
            bad += 1
            typer.echo(f"sori: error: {e}", err=True)
    if bad:
        raise typer.Exit(2)


def main(argv: list[str] | None = None) -> None:
    """Entry point. Usage errors and exits come from typer as SystemExit; anything else ends here."""
    try:
        app(args=argv, prog_name="sori")
    except SoriError as e:
        print(f"sori: error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("sori: interrupted; run the same command again to resume", file=sys.stderr)
        sys.exit(130)
    except Exception as e:   # the last line of defence: one line, not a traceback
        print(f"sori: internal error: {type(e).__name__}: {e} (please report this with the command you ran)",
              file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
