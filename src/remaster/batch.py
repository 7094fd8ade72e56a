"""Batch mastering of a folder tree, on the resumable runner (remaster.runner).

Every audio file under IN_DIR is mastered to the same relative path under OUT_DIR (with the preset's
extension). Each finished output gets a record in OUT_DIR/.sori/records/ holding the SHA-256 of its input and
of the resolved preset (its fingerprint) and of the output itself; a later run skips a file whose hashes still
match, so an interrupted batch resumes without redoing finished work. Outputs and records are written atomically,
so a killed batch leaves either a complete file or none. The files are mastered by the runner's engine: this
process, a pool of worker processes (`jobs`), or a Ray cluster (`engine="ray"`, remaster.engines) whose workers
read IN_DIR and write OUT_DIR on a shared file system: the same outputs, records and report whatever the engine.
A bad file becomes a failed row of the report and the batch carries on; the exit status tells whether any file
failed.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from . import audio as audio_io
from . import presets
from .analysis import Metrics
from .analysis.loudness import integrated_loudness
from .api import as_audio, remaster, save
from .chain import Chain
from .engines import Engine, make_engine
from .errors import SoriError
from .processors import processor_class
from .regenerate import Context
from .runner import FileFingerprint, Runner, Task
from .view.curves import take_curves

STATE_DIR = ".sori"
# Formats people try to feed in that we do not read: a failed row, not silence.
AUDIO_LIKE = {".aif", ".aiff", ".m4a", ".aac", ".wma", ".opus", ".alac", ".ape", ".wv", ".caf", ".mid", ".midi"}


@dataclass(frozen=True)
class Job:
    source: Path
    rel: Path            # relative to the input folder
    output: Path


def check_folders(in_dir: Path, out_dir: Path) -> None:
    if not in_dir.is_dir():
        raise SoriError(f"{in_dir}: no such folder")
    a, b = in_dir.resolve(), out_dir.resolve()
    if a == b or b.is_relative_to(a) or a.is_relative_to(b):
        raise SoriError(f"{out_dir}: the output folder must be outside the input folder {in_dir} (and not "
                        "contain it); Sori never writes into the input tree")
    if out_dir.exists() and not out_dir.is_dir():
        raise SoriError(f"{out_dir}: exists and is not a folder")


def visible_files(root: Path) -> Iterator[Path]:
    """Every file under `root` in sorted order, leaving out hidden files and folders (a leading dot: our own state
    folder, editors' and macOS' leftovers). Links to folders are not followed."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(dirpath) / name


def discover(in_dir: Path, out_dir: Path, fmt: str) -> tuple[list[Job], list[dict[str, Any]]]:
    """Jobs for every readable-looking audio file, and failed rows for the ones that cannot be jobs."""
    root = in_dir.resolve()
    jobs: list[Job] = []
    failed: list[dict[str, Any]] = []
    candidates: list[Path] = []
    for p in visible_files(in_dir):
        suffix = p.suffix.lower()
        rel = p.relative_to(in_dir)
        if suffix in AUDIO_LIKE:
            failed.append(_failed_row(rel, f"unsupported format '{suffix}'; allowed: "
                                      f"{', '.join(sorted(s.lstrip('.') for s in audio_io.READ_SUFFIXES))}"))
        elif suffix in audio_io.READ_SUFFIXES:
            if p.is_symlink() and not p.resolve().is_relative_to(root):
                failed.append(_failed_row(rel, "symbolic link pointing outside the input folder; skipped"))
            else:
                candidates.append(rel)
    targets: dict[Path, list[Path]] = {}
    for rel in candidates:
        targets.setdefault(rel.with_suffix(f".{fmt}"), []).append(rel)
    taken = set(targets)
    for target, rels in targets.items():
        for rel in rels:
            out_rel = target
            if len(rels) > 1 and rel.suffix.lower() != f".{fmt}":
                # a.wav and a.mp3 side by side: the one not already in the output format keeps its extension.
                out_rel = rel.with_name(f"{rel.stem}_{rel.suffix.lstrip('.').lower()}.{fmt}")
                if out_rel in taken:
                    failed.append(_failed_row(rel, f"output name {out_rel} is taken by another input; rename it"))
                    continue
                taken.add(out_rel)
            jobs.append(Job(in_dir / rel, rel, out_dir / out_rel))
    return sorted(jobs, key=lambda j: str(j.rel)), failed


def _failed_row(rel: Path, reason: str) -> dict[str, Any]:
    return {"input": str(rel), "output": None, "status": "failed", "reason": reason}


def master_file(payload: tuple[Job, presets.Preset, Context | None]) -> dict[str, Any]:
    """Master one file to its output (the runner's work: in a worker process, or in this one with a context such
    as a regenerator). Returns the report and the curves report.html draws (kept in the record, so a resumed batch
    draws the files it skips); a SoriError fails this file alone."""
    job, preset, context = payload
    mastered = remaster(job.source, preset=preset, context=context)
    save(job.output, mastered)
    raw, rate, _ = as_audio(job.source)
    return {"report": mastered.report, "curves": take_curves(raw, rate, mastered, preset)}


def file_task(job: Job, preset: presets.Preset, out_dir: Path, context: Context | None = None) -> Task:
    """The runner's task for one file: its fingerprint is the input's sha256 and the resolved preset's (computed
    where the record is checked: on a cluster, by the workers)."""
    out_rel = job.output.relative_to(out_dir)
    return Task(key=str(out_rel), fingerprint=FileFingerprint(job.source, (preset.sha256,)),
                outputs=(job.output,), payload=(job, preset, context), label=str(job.rel))


def remove_stale_temps(out_dir: Path) -> int:
    """Temporary files a killed run left behind (only ours: they carry the temp marker)."""
    n = 0
    if out_dir.is_dir():
        for dirpath, _, filenames in os.walk(out_dir):
            for name in filenames:
                if audio_io.TEMP_MARK in name:
                    (Path(dirpath) / name).unlink(missing_ok=True)
                    n += 1
    return n


@dataclass
class BatchResult:
    rows: list[dict[str, Any]]
    report_json: Path
    report_csv: Path
    album: dict[str, Any] | None = None
    report_html: Path | None = None       # None without plotly (the `studio` extra)

    @property
    def failed(self) -> int:
        return sum(r["status"] == "failed" for r in self.rows)

    @property
    def off_target(self) -> int:
        """Masters written (now or by an earlier run) that missed a target."""
        return sum(bool(r.get("off_target")) for r in self.rows)

    @property
    def failed_checks(self) -> int:
        """Masters whose check stages did not pass (their findings are in report.csv and report.json)."""
        return sum(((r.get("report") or {}).get("verdict") or {}).get("passed") is False for r in self.rows)

    def count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.rows)


def run_batch(in_dir: str | os.PathLike, out_dir: str | os.PathLike, preset: str | os.PathLike = "streaming",
              overrides: dict[str, Any] | None = None, jobs: int | None = None, progress: bool = True,
              console: Console | None = None, overwrite: bool = False, album: bool = False,
              engine: str | Engine = "local", address: str | None = None) -> BatchResult:
    """Master IN_DIR into OUT_DIR. A file already at an output's place that this batch did not write (no record
    of it) is left alone and its input fails, unless `overwrite`. `album`: one gain for every take (see
    `album_gain`), so the album keeps its relative levels. `engine`: "local" (`jobs` processes, default 1) or
    "ray" (the cluster at `address`, default one started here; `jobs`: at most that many files at once)."""
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    check_folders(in_dir, out_dir)
    runs_on = make_engine(engine, jobs=jobs, address=address) if isinstance(engine, str) else engine
    resolved = presets.load(preset, overrides)
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out_dir)
    work, rows = discover(in_dir, out_dir, resolved.output.format)
    album_doc = None
    if album:
        resolved, album_doc = album_gain(work, resolved, out_dir, runs_on, progress, console)
    runner = Runner(out_dir / STATE_DIR, master_file, engine=runs_on, label="mastering", progress=progress,
                    console=console)
    tasks = []
    for job in work:
        try:
            audio_io.check_readable(job.source)
            task = file_task(job, resolved, out_dir)
        except (SoriError, OSError) as e:
            reason = str(e) if isinstance(e, SoriError) else f"{job.rel}: cannot read: {e.strerror or e}"
            rows.append(_failed_row(job.rel, reason))
            continue
        if job.output.exists() and not overwrite and not runner.wrote(task.key, job.output):
            rows.append(_failed_row(job.rel, f"{job.output}: exists and was not written by this batch (no record "
                                    "of it); Sori leaves it alone: pass --overwrite to replace it"))
            continue
        tasks.append(task)
    curves: dict[str, Any] = {}
    for outcome in runner.run(tasks):
        job = outcome.task.payload[0]
        row: dict[str, Any] = {"input": str(job.rel), "output": outcome.task.key, "status": outcome.status,
                               "reason": outcome.reason, "seconds": outcome.seconds}
        if outcome.status == "failed":
            row["output"] = None
        else:
            row["report"] = outcome.result.get("report", {})
            curves[str(job.rel)] = outcome.result.get("curves")
            if row["report"].get("off_target"):
                row["off_target"] = row["report"]["off_target"]
        rows.append(row)
    remove_stale_temps(out_dir)         # what a worker killed mid-file left (its file was done again elsewhere)
    rows.sort(key=lambda r: r["input"])
    if album_doc is not None:
        album_doc.update(_album_after(rows, album_doc["target_lufs"]))
    result = _write_reports(rows, out_dir, resolved, in_dir, overrides or {}, album_doc)
    result.report_html = write_html(rows, curves, in_dir, out_dir, resolved, album_doc)
    return result


def write_html(rows: list[dict[str, Any]], curves: dict[str, Any], in_dir: Path, out_dir: Path,
               preset: presets.Preset, album: dict[str, Any] | None = None) -> Path | None:
    """report.html beside report.json (remaster.view.page); None when plotly (the `studio` extra) is missing."""
    from .view import page

    if not page.available():
        return None
    takes = [page.Take(r["input"], r["status"], r.get("reason") or "", r.get("report"), curves.get(r["input"]),
                       in_dir / r["input"], out_dir / r["output"] if r.get("output") else None) for r in rows]
    meta = {"title": f"Sori · {out_dir.name or out_dir} · {len(rows)} file{'s' if len(rows) != 1 else ''}",
            "preset": preset.name, "input": str(in_dir), "output": str(out_dir), "album": album}
    return page.write_report(out_dir / "report.html", takes, meta)


def measure_file(payload: tuple[Job, presets.Preset]) -> dict[str, Any]:
    """Album mode's first pass: the take's integrated loudness after the stages that process it, before the
    finishing ones (checks left out: they do not change the audio)."""
    job, preset = payload
    audio, rate, _ = as_audio(job.source)
    procs = [p for p in preset.processors() if not p.finishing and not p.checks_only]
    out = Chain(procs)(audio, rate)
    return {"lufs": integrated_loudness(out.audio, out.sample_rate), "seconds": out.audio.shape[-1] / out.sample_rate}


def energy_mean_lufs(levels: list[tuple[float, float]]) -> float:
    """The loudness of takes played one after another, from each take's (LUFS, seconds): the duration-weighted
    mean of their powers (an album's loudness without its own gating across takes, as album gain tools do)."""
    finite = [(lufs, s) for lufs, s in levels if math.isfinite(lufs) and s > 0]
    if not finite:
        return -math.inf
    total = sum(s for _, s in finite)
    return 10 * math.log10(sum(s * 10 ** (lufs / 10) for lufs, s in finite) / total)


def album_gain(work: list[Job], preset: presets.Preset, out_dir: Path, engine: Engine, progress: bool,
               console: Console | None) -> tuple[presets.Preset, dict[str, Any]]:
    """Measure every take before its finishing stages (resumable), and return the preset with one gain for all of
    them: the album's loudness brought to the loudness stage's target."""
    stage = next((s for s in preset.stages if s.enabled and processor_class(s.kind).delivery_keys), None)
    if stage is None:
        raise SoriError(f"--album needs a loudness stage, and preset '{preset.name}' has none enabled")
    target_key = processor_class(stage.kind).delivery_keys[0]
    target = float(getattr(stage.params, target_key))
    runner = Runner(out_dir / STATE_DIR / "album", measure_file, engine=engine, label="measuring",
                    progress=progress, console=console)
    tasks = [Task(key=str(job.rel), fingerprint=FileFingerprint(job.source, (preset.sha256,)),
                  payload=(job, preset), label=str(job.rel)) for job in work]
    levels = [(o.result["lufs"], o.result["seconds"]) for o in runner.run(tasks) if o.status != "failed"]
    loudness = energy_mean_lufs(levels)
    if not math.isfinite(loudness):
        raise SoriError("--album: no take has any signal to measure")
    gain = target - loudness
    fixed = presets.load(preset, {stage.label: {"fixed_gain_db": round(gain, 2)}})
    return fixed, {"target_lufs": target, "input_lufs": round(loudness, 2), "gain_db": round(gain, 2),
                   "takes": len(levels)}


def _album_after(rows: list[dict[str, Any]], target: float) -> dict[str, Any]:
    levels = [((r.get("report") or {}).get("after", {}).get("integrated_lufs"),
               (r.get("report") or {}).get("after", {}).get("duration_s")) for r in rows if r["status"] != "failed"]
    loudness = energy_mean_lufs([(x, d) for x, d in levels if x is not None and d])
    return {"output_lufs": round(loudness, 2), "on_target": abs(loudness - target) <= 0.5}


def csv_columns(preset: presets.Preset) -> list[str]:
    """The CSV's columns, from the declarations: the row, each measurement before and after (analysis.Metrics),
    the verdict, and every report field a stage of this preset declares as a column (`<stage>.<field>`)."""
    columns = ["input", "output", "status", "reason", "off_target", "seconds", "stages"]
    columns += [f"{side}_{name}" for side in ("before", "after") for name in Metrics.columns()]
    columns += ["on_target", "passed_checks", "findings"]
    for stage in preset.stages:
        if stage.enabled:
            report = processor_class(stage.kind).Report
            columns += [f"{stage.label}.{name}" for name, info in report.model_fields.items()
                        if (info.json_schema_extra or {}).get("column")]
    return columns


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    report = row.get("report") or {}
    flat = {k: row.get(k) for k in ("input", "output", "status", "reason", "off_target", "seconds")}
    flat["stages"] = ";".join(s["stage"] for s in report.get("stages", []))
    for side in ("before", "after"):
        metrics = report.get(side) or {}
        for key in Metrics.columns():
            flat[f"{side}_{key}"] = metrics.get(key)
    flat["on_target"] = (report.get("targets") or {}).get("ok")
    verdict = report.get("verdict") or {}
    flat["passed_checks"] = verdict.get("passed")
    flat["findings"] = verdict.get("findings")
    for stage in report.get("stages", []):
        for key, value in stage.items():
            flat[f"{stage['stage']}.{key}"] = value
    return flat


def _write_reports(rows: list[dict[str, Any]], out_dir: Path, preset: presets.Preset, in_dir: Path,
                   overrides: dict[str, Any], album: dict[str, Any] | None = None) -> BatchResult:
    summary = {s: sum(r["status"] == s for r in rows) for s in ("done", "skipped", "failed")}
    summary["off_target"] = sum(bool(r.get("off_target")) for r in rows)
    summary["failed_checks"] = sum(((r.get("report") or {}).get("verdict") or {}).get("passed") is False for r in rows)
    doc = {"input_dir": str(in_dir), "output_dir": str(out_dir), "preset": preset.name,
           "preset_sha256": preset.sha256, "overrides": overrides, "preset_resolved": preset.resolved(),
           "summary": summary, **({"album": album} if album else {}), "files": rows}
    report_json = out_dir / "report.json"
    report_csv = out_dir / "report.csv"
    audio_io.atomic_write_text(report_json, json.dumps(doc, indent=1))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=csv_columns(preset), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(_flat(r) for r in rows)
    audio_io.atomic_write_text(report_csv, buf.getvalue())
    return BatchResult(rows, report_json, report_csv, album)
