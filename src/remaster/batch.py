"""Batch mastering of a folder tree.

Every audio file under IN_DIR is mastered to the same relative path under OUT_DIR (with the preset's
extension). Each finished output gets a record in OUT_DIR/.sori/records/ holding the SHA-256 of its input,
of the resolved preset and of the output itself; a later run skips a file whose three hashes still match,
so an interrupted batch resumes without redoing finished work. Outputs and records are written atomically,
so a killed batch leaves either a complete file or none. A bad file becomes a failed row of the report and
the batch carries on; the exit status tells whether any file failed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from . import audio as audio_io
from . import presets
from .api import remaster, save
from .errors import SoriError
from .processors.base import Context
from .progress import progress_bar

STATE_DIR = ".sori"
# Formats people try to feed in that we do not read: a failed row, not silence.
AUDIO_LIKE = {".aif", ".aiff", ".m4a", ".aac", ".wma", ".opus", ".alac", ".ape", ".wv", ".caf", ".mid", ".midi"}
METRIC_COLUMNS = ["integrated_lufs", "true_peak_dbtp", "loudness_range_lu", "sample_peak_dbfs",
                  "clipped_samples", "noise_floor_dbfs", "bandwidth_hz", "sample_rate", "channels", "duration_s"]


@dataclass(frozen=True)
class Job:
    source: Path
    rel: Path            # relative to the input folder
    output: Path
    record: Path


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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
            jobs.append(Job(in_dir / rel, rel, out_dir / out_rel, out_dir / STATE_DIR / "records" /
                            out_rel.with_name(out_rel.name + ".json")))
    return sorted(jobs, key=lambda j: str(j.rel)), failed


def _failed_row(rel: Path, reason: str) -> dict[str, Any]:
    return {"input": str(rel), "output": None, "status": "failed", "reason": reason}


def finished(job: Job, input_sha: str, preset_sha: str) -> dict[str, Any] | None:
    """The record of a finished output that still matches its input and preset, else None."""
    try:
        record = json.loads(job.record.read_text(encoding="utf-8"))
        if (record.get("input_sha256") == input_sha and record.get("preset_sha256") == preset_sha
                and job.output.is_file() and sha256_file(job.output) == record.get("output_sha256")):
            return record
    except (OSError, ValueError):
        pass
    return None


def master_one(job: Job, preset: presets.Preset, input_sha: str, out_root: Path,
               context: Context | None = None) -> dict[str, Any]:
    """Master one file (in a worker process, or in this one with a `context` such as a regenerator).
    Never raises: failures become rows."""
    start = time.perf_counter()
    row: dict[str, Any] = {"input": str(job.rel), "output": str(job.output.relative_to(out_root))}
    try:
        mastered = remaster(job.source, preset=preset, context=context)
        save(job.output, mastered, preset)
        report = mastered.report
        record = {"input_sha256": input_sha, "preset_sha256": preset.sha256,
                  "output_sha256": sha256_file(job.output), "report": report}
        audio_io.atomic_write_text(job.record, json.dumps(record, indent=1))
        row.update(status="done", reason="", report=report)
    except SoriError as e:
        row.update(status="failed", reason=str(e), output=None)
    except MemoryError:
        row.update(status="failed", reason="out of memory; split the file or run with fewer --jobs", output=None)
    except Exception as e:   # a bug must not stop the other files; the row says what happened
        row.update(status="failed", reason=f"internal error: {type(e).__name__}: {e}", output=None)
    row["seconds"] = round(time.perf_counter() - start, 3)
    return row


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
    console = console or Console(stderr=True)
    pending: list[tuple[Job, str]] = []
    bar = progress_bar("mastering", enabled=progress, console=console)
    with bar:
        task = bar.add_task("", total=len(work))
        for job in work:
            try:
                audio_io.check_readable(job.source)
                input_sha = sha256_file(job.source)
            except (SoriError, OSError) as e:
                reason = str(e) if isinstance(e, SoriError) else f"{job.rel}: cannot read: {e.strerror or e}"
                rows.append(_failed_row(job.rel, reason))
                bar.advance(task)
                continue
            record = finished(job, input_sha, resolved.sha256)
            if record is not None:
                rows.append({"input": str(job.rel), "output": str(job.output.relative_to(out_dir)),
                             "status": "skipped", "reason": "already mastered with this preset",
                             "seconds": 0.0, "report": record.get("report", {})})
                bar.advance(task)
            else:
                pending.append((job, input_sha))
        for row in _run(pending, resolved, out_dir, max(1, jobs), bar, task):
            rows.append(row)
    rows.sort(key=lambda r: r["input"])
    return _write_reports(rows, out_dir, resolved, in_dir)


def _run(pending: list[tuple[Job, str]], preset: presets.Preset, out_dir: Path, jobs: int,
         bar: Progress, task: Any):
    if jobs == 1 or len(pending) <= 1:
        for job, sha in pending:
            bar.update(task, description=str(job.rel))
            yield master_one(job, preset, sha, out_dir)
            bar.advance(task)
        return
    ctx = multiprocessing.get_context("spawn")   # no fork: worker state never inherits locks or threads
    threads = max(1, (os.cpu_count() or 1) // jobs)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_limit_threads,
                             initargs=(threads,)) as pool:
        futures = {pool.submit(master_one, job, preset, sha, out_dir): job for job, sha in pending}
        for fut in as_completed(futures):
            job = futures[fut]
            try:
                row = fut.result()
            except BrokenProcessPool:
                row = _failed_row(job.rel, "worker process died (out of memory?); run again to resume")
            bar.update(task, description=str(job.rel))
            bar.advance(task)
            yield row


def _limit_threads(threads: int) -> None:
    """Share the cores between workers: torch (the pitch check) would otherwise take all of them in each. It
    reads OMP_NUM_THREADS when it is first imported, so a worker that never needs torch never loads it."""
    os.environ["OMP_NUM_THREADS"] = str(threads)


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    report = row.get("report") or {}
    flat = {k: row.get(k) for k in ("input", "output", "status", "reason", "seconds")}
    flat["stages"] = ";".join(s["stage"] for s in report.get("stages", []))
    for side in ("before", "after"):
        metrics = report.get(side) or {}
        for key in METRIC_COLUMNS:
            flat[f"{side}_{key}"] = metrics.get(key)
    flat["on_target"] = (report.get("targets") or {}).get("ok")
    return flat


def _write_reports(rows: list[dict[str, Any]], out_dir: Path, preset: presets.Preset, in_dir: Path) -> BatchResult:
    summary = {s: sum(r["status"] == s for r in rows) for s in ("done", "skipped", "failed")}
    doc = {"input_dir": str(in_dir), "output_dir": str(out_dir), "preset": preset.name,
           "preset_sha256": preset.sha256, "summary": summary, "files": rows}
    report_json = out_dir / "report.json"
    report_csv = out_dir / "report.csv"
    audio_io.atomic_write_text(report_json, json.dumps(doc, indent=1))
    flat = [_flat(r) for r in rows]
    buf = io.StringIO()
    columns = list(_flat({"report": {}}).keys())
    writer = csv.DictWriter(buf, fieldnames=columns)
    writer.writeheader()
    writer.writerows(flat)
    audio_io.atomic_write_text(report_csv, buf.getvalue())
    return BatchResult(rows, report_json, report_csv)
