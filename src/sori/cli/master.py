"""`sori remaster`, `sori batch`, `sori analyze`, `sori check`: mastering and measuring files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .common import AddressOpt, JsonOpt, PresetOpt, QuietOpt, RunOnOpt, SetOpt, each_file, fmt, overrides, set_option

PlatformOpt = Annotated[str | None, typer.Option(
    "--platform", help="deliver for one service: spotify, youtube, tidal, apple-music, amazon-music, deezer")]
AcceptOpt = Annotated[bool, typer.Option("--accept-off-target", help="exit 0 even when a master missed its loudness "
                                         "or true-peak target (it is still written and reported)")]


def remaster_cmd(
    source: Annotated[Path, typer.Argument(help="input audio (wav, flac, ogg, mp3)")],
    output: Annotated[str, typer.Option("--output", "-o", help="output file (.wav, .flac, .mp3), or a folder to "
                                                               "write into (an existing one, or a path ending in /)")],
    preset: PresetOpt = "streaming",
    set_: SetOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the full report as JSON")] = False,
    accept_off_target: AcceptOpt = False,
    platform: PlatformOpt = None,
    report_html: Annotated[Path | None, typer.Option("--report", help="also write an HTML report (A/B player, "
                                                     "plots, stages) to this .html file")] = None,
) -> None:
    """Master one file. Exit 1 when the master misses a target (unless --accept-off-target).

    Example: sori remaster take.wav -o master.wav --preset gugak-solo --set loudness.target_lufs=-15 --report take.html
    """
    from remaster import presets
    from remaster.api import remaster, save
    from remaster.errors import SoriError

    resolved = presets.load(preset, with_platform(overrides(set_), platform))
    output = _output_file(output, source, resolved.output.format)
    if output.exists() and source.exists() and output.resolve() == source.resolve():
        raise SoriError(f"{output}: is the input; Sori never overwrites its input, choose another output")
    blocker = next((p for p in output.parents if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise SoriError(f"{blocker}: is a file, so {output} cannot be written; choose another output path")
    if report_html is not None:
        _check_html_path(report_html, source)
    mastered = remaster(source, preset=resolved)
    written = save(output, mastered)
    report = {**mastered.report, "output_path": str(written)}
    if report_html is not None:
        report["report_html"] = str(_write_single_report(report_html, source, written, mastered, resolved))
    if as_json:
        typer.echo(json.dumps(report, indent=1))
        return
    a = report["after"]
    off = f"; OFF TARGET: {report['off_target']}" if report.get("off_target") else ""
    typer.echo(f"{source} -> {written}: {fmt(a['integrated_lufs'], ' LUFS')}, {fmt(a['true_peak_dbtp'], ' dBTP')}, "
               f"{a['sample_rate']} Hz, {_format(written, mastered.output.bit_depth)} ({report['seconds']:.1f} s)"
               f"{_checked(report)}{off}")
    if report.get("report_html"):
        typer.echo(f"see and hear it: {report['report_html']}")
    if off and not accept_off_target:
        raise typer.Exit(1)


def _checked(report: dict) -> str:
    """'; check: 2 finding(s), first detuned at 3.41 s' (FAILED when the take did not pass), or nothing."""
    verdict = report.get("verdict")
    if not verdict:
        return ""
    return f"; check{'' if verdict['passed'] else ' FAILED'}: {verdict['summary']}"


def _check_html_path(path: Path, source: Path) -> None:
    """Before any work: the report's path is one Sori can write (and the extra that draws it is installed)."""
    from remaster.errors import SoriError
    from remaster.view import page

    if path.suffix.lower() not in (".html", ".htm"):
        raise SoriError(f"--report {path}: give a path ending in .html")
    if path.exists() and source.exists() and path.resolve() == source.resolve():
        raise SoriError(f"--report {path}: is the input; choose another path")
    if not page.available():
        raise SoriError(f"--report: {page.EXTRA_HINT}")


def _write_single_report(path: Path, source: Path, written: Path, mastered, preset) -> Path:
    from remaster.api import as_audio
    from remaster.view import page
    from remaster.view.curves import take_curves

    raw, rate, _ = as_audio(source)
    take = page.Take(source.name, "done", "", mastered.report, take_curves(raw, rate, mastered, preset), source,
                     written)
    return page.write_report(path, [take], {"title": f"Sori · {source.name}", "preset": preset.name,
                                            "input": str(source), "output": str(written)})


def with_platform(over: dict, platform: str | None) -> dict:
    return {**over, "platform": platform} if platform else over


def _format(path: Path, bit_depth: int) -> str:
    return "mp3" if path.suffix.lower() == ".mp3" else f"{bit_depth}-bit"


def _output_file(text: str, source: Path, fmt: str) -> Path:
    """`-o`: a folder (existing, or written with a trailing slash) gets `<input name>.<format>`; a file keeps its
    extension when Sori writes it, gets the format's when it has none, and is refused otherwise."""
    from remaster.api import output_path

    folder = text.endswith(("/", "\\")) or Path(text).is_dir()
    return output_path(Path(text) / f"{source.stem}.{fmt}" if folder else Path(text), fmt)


def batch_cmd(
    in_dir: Annotated[Path, typer.Argument(help="folder of takes (searched recursively)")],
    out_dir: Annotated[Path, typer.Argument(help="where masters go (mirrors the input tree)")],
    preset: PresetOpt = "streaming",
    set_: SetOpt = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, max=4096, help="worker processes (default 1); "
                                             "with --engine ray, files at once (default: the cluster's CPUs)")]
    = None,
    quiet: QuietOpt = False,
    accept_off_target: AcceptOpt = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="replace files at the output places that this "
                                            "batch did not write (by default they are left alone)")] = False,
    platform: PlatformOpt = None,
    album: Annotated[bool, typer.Option("--album", help="one gain for every take, so the album keeps its "
                                        "relative levels (its loudness on the target)")] = False,
    engine: RunOnOpt = "local",
    address: AddressOpt = None,
) -> None:
    """Master every audio file under IN_DIR into OUT_DIR; resumable; writes report.json and report.csv.

    Exit 1 when a file failed, or a master missed its target (unless --accept-off-target). On a Ray cluster
    (--engine ray), every node must see IN_DIR and OUT_DIR at the same paths.

    Example: sori batch takes/ masters/ --jobs 2 --set loudness.target_lufs=-16
    """
    from remaster.batch import run_batch

    result = run_batch(in_dir, out_dir, preset, with_platform(overrides(set_), platform), jobs=jobs,
                       progress=not quiet, overwrite=overwrite, album=album, engine=engine, address=address)
    typer.echo(f"mastered {result.count('done')}, skipped {result.count('skipped')} (already mastered), "
               f"failed {result.failed}, off target {result.off_target}, failed checks {result.failed_checks}; "
               f"report: {result.report_json} and {result.report_csv}")
    typer.echo(f"see and hear it: {result.report_html}" if result.report_html else
               "report.html not written: it needs plotly (pip install 'sori[studio]')")
    if result.album:
        a = result.album
        off = "" if a["on_target"] else ", OFF TARGET"
        typer.echo(f"album: {a['takes']} takes at {a['input_lufs']:.1f} LUFS, one gain of {a['gain_db']:+.2f} dB: "
                   f"{a['output_lufs']:.1f} LUFS (target {a['target_lufs']:g}){off}")
    for row in result.rows:
        verdict = (row.get("report") or {}).get("verdict") or {}
        if row["status"] == "failed":
            typer.echo(f"failed: {row['input']}: {row['reason']}", err=True)
        elif row.get("off_target"):
            typer.echo(f"off target: {row['input']}: {row['off_target']}", err=True)
        if verdict and not verdict.get("passed"):
            typer.echo(f"check: {row['input']}: {verdict.get('summary')}", err=True)
    if result.failed or (result.off_target and not accept_off_target):
        raise typer.Exit(1)


def analyze_cmd(
    files: Annotated[list[Path], typer.Argument(help="audio files to measure")],
    as_json: JsonOpt = False,
) -> None:
    """Measure loudness, loudness range, true peak, levels, noise floor and spectral roll-off."""
    from remaster.analysis import analyze

    results, failed = each_file(files, lambda data, rate: analyze(data, rate).to_dict(), "measuring", as_json)
    if as_json:
        typer.echo(json.dumps(results, indent=1))
    else:
        for name, m in results.items():
            typer.echo(
                f"{name}: {fmt(m['integrated_lufs'], ' LUFS')}  LRA {fmt(m['loudness_range_lu'], ' LU')}  "
                f"TP {fmt(m['true_peak_dbtp'], ' dBTP', 2)}  peak {fmt(m['sample_peak_dbfs'], ' dBFS', 2)}  "
                f"clipped {m['clipped_samples']}  crest {fmt(m['crest_factor_db'], ' dB')}  "
                f"DC {m['dc_offset']:+.4f}  floor {fmt(m['noise_floor_dbfs'], ' dBFS')}  "
                f"rolloff {m['rolloff_hz'] / 1000:.1f} kHz  {m['duration_s']:.2f} s  {m['sample_rate']} Hz  "
                f"{m['channels']} ch")
    if failed:
        raise typer.Exit(1)


def check_cmd(
    files: Annotated[list[Path], typer.Argument(help="audio files to check")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON; each finding has start and end in seconds")]
    = False,
    style: Annotated[str, typer.Option("--style", help="western | gugak | auto: scales and ornament tolerance")]
    = "auto",
    model: Annotated[str, typer.Option("--model", help="pitch tracker: swiftf0 (default), or CREPE tiny or full")]
    = "swiftf0",
    voices: Annotated[str, typer.Option("--voices", help="auto | mono (one line) | melody (the top line of a mix) "
                                        "| poly (every voice of a mix)")]
    = "auto",
    set_: Annotated[list[str] | None, set_option("dissonance.tolerance_cents=30")] = None,
) -> None:
    """Find sour notes: detuned or out-of-key notes (CREPE pitch) and rough stretches. Exit 1 when any is found.

    Example: sori check take.wav --style gugak --set dissonance.tolerance_cents=30
    """
    from remaster.errors import SoriError
    from remaster.processors import Dissonance

    extra = overrides(set_)
    params = {"style": style, "model": model, "voices": voices, **extra.pop("dissonance", {})}
    if extra:
        raise SoriError(f"--set: check takes dissonance.* keys only, got {', '.join(sorted(extra))}")
    stage = Dissonance(**params)
    results, failed = each_file(files, lambda data, rate: stage.analyse(data, rate).summary(), "checking", as_json)
    if as_json:
        typer.echo(json.dumps(results, indent=1))
    else:
        for name, r in results.items():
            _print_check(name, r)
    if failed:
        raise typer.Exit(2)
    if any(r["findings"] for r in results.values()):
        raise typer.Exit(1)


def _print_check(name: str, r: dict) -> None:
    count = len(r["findings"])
    typer.echo(f"{name}: {count} finding{'s' if count != 1 else ''} (score {r['score']:.1f}), "
               f"{r['notes']} notes, tuning A4 = {r['tuning_reference_hz']:.1f} Hz "
               f"({r['tuning_reference_cents']:+.0f} cents), scale {r['scale'] or '-'}, {r['voices']}")
    for x in r["findings"]:
        what = (f"{x['cents']:+.0f} cents, found {x['found']}, expected {x['expected']}"
                if x["kind"] != "rough" else f"roughness {x['roughness']:.3f}")
        typer.echo(f"  {x['start']:8.2f} – {x['end']:8.2f} s  {x['kind']:<10} {what}")


__all__ = ["analyze_cmd", "batch_cmd", "check_cmd", "remaster_cmd"]
