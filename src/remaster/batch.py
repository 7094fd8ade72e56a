"""Batch mastering of a folder tree, on the resumable runner (remaster.runner).

Every audio file under IN_DIR is mastered to the same relative path under OUT_DIR (with the preset's
extension). Each finished output gets a record in OUT_DIR/.sori/records/ holding the SHA-256 of its input and
of the resolved preset (its fingerprint) and of the output itself; a later run skips a file whose hashes still
match, so an interrupted batch resumes without redoing finished work. Outputs and records are written atomically,
so a killed batch leaves either a complete file or none. A bad file becomes a failed row of the report and
the batch carries on; the exit status tells whether any file failed.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from . import audio as audio_io
from . import presets
from .analysis import Metrics
from .api import remaster, save
from .errors import SoriError
from .processors import processor_class
from .regenerate import Context
from .runner import Runner, Task, fingerprint, sha256_file

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
    as a regenerator). Returns the report; a SoriError fails this file alone."""
    job, preset, context = payload
    mastered = remaster(job.source, preset=preset, context=context)
    save(job.output, mastered)
    return {"report": mastered.report}


def file_task(job: Job, preset: presets.Preset, out_dir: Path, context: Context | None = None) -> Task:
    """The runner's task for one file: its fingerprint is the input's sha256 and the resolved preset's."""
    out_rel = job.output.relative_to(out_dir)
    return Task(key=str(out_rel), fingerprint=fingerprint(sha256_file(job.source), preset.sha256),
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
              overrides: dict[str, Any] | None = None, jobs: int = 1, progress: bool = True,
              console: Console | None = None) -> BatchResult:
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    check_folders(in_dir, out_dir)
    resolved = presets.load(preset, overrides)
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out_dir)
    work, rows = discover(in_dir, out_dir, resolved.output.format)
    tasks = []
    for job in work:
        try:
            audio_io.check_readable(job.source)
            tasks.append(file_task(job, resolved, out_dir))
        except (SoriError, OSError) as e:
            reason = str(e) if isinstance(e, SoriError) else f"{job.rel}: cannot read: {e.strerror or e}"
            rows.append(_failed_row(job.rel, reason))
    runner = Runner(out_dir / STATE_DIR, master_file, jobs=jobs, label="mastering", progress=progress,
                    console=console)
    for outcome in runner.run(tasks):
        job = outcome.task.payload[0]
        row: dict[str, Any] = {"input": str(job.rel), "output": outcome.task.key, "status": outcome.status,
                               "reason": outcome.reason, "seconds": outcome.seconds}
        if outcome.status == "failed":
            row["output"] = None
        else:
            row["report"] = outcome.result.get("report", {})
            if row["report"].get("off_target"):
                row["off_target"] = row["report"]["off_target"]
        rows.append(row)
    rows.sort(key=lambda r: r["input"])
    return _write_reports(rows, out_dir, resolved, in_dir)


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


def _write_reports(rows: list[dict[str, Any]], out_dir: Path, preset: presets.Preset, in_dir: Path) -> BatchResult:
    summary = {s: sum(r["status"] == s for r in rows) for s in ("done", "skipped", "failed")}
    summary["off_target"] = sum(bool(r.get("off_target")) for r in rows)
    summary["failed_checks"] = sum(((r.get("report") or {}).get("verdict") or {}).get("passed") is False for r in rows)
    doc = {"input_dir": str(in_dir), "output_dir": str(out_dir), "preset": preset.name,
           "preset_sha256": preset.sha256, "summary": summary, "files": rows}
    report_json = out_dir / "report.json"
    report_csv = out_dir / "report.csv"
    audio_io.atomic_write_text(report_json, json.dumps(doc, indent=1))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=csv_columns(preset), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(_flat(r) for r in rows)
    audio_io.atomic_write_text(report_csv, buf.getvalue())
    return BatchResult(rows, report_json, report_csv)
