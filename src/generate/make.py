"""From a prompt to mastered takes in one call: generate, master with a preset, re-generate sour takes, report.

    from generate.make import make
    result = make(load_model("facebook/musicgen-small"), build_prompt(instruments="가야금", solo=True),
                  out_dir="out", n=4, duration=30, preset="gugak-solo", retries=2)

The folder it fills:

    out/raw/take_000.wav, take_000.json     the takes as generated, with their sidecars
    out/retries/take_000.retry1.wav, .json  new attempts at sour takes (only when the preset asks for them)
    out/mastered/take_000.wav               the masters (the kept attempt, mastered)
    out/report.json                         one row per take, tying the raw take, its attempts and its master

The preset decides about re-generation (`dissonance.action: regenerate`); `retries=N` asks for it with N attempts.
A second run with the same arguments resumes: finished takes, attempts and masters are kept, not made again.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from remaster import audio as audio_io
from remaster import presets
from remaster.batch import STATE_DIR, Job, finished, master_one, remove_stale_temps, sha256_file
from remaster.presets.loader import merge
from remaster.processors.base import Context
from remaster.progress import progress_bar
from remaster.regenerate import load_sidecar

from .errors import GenerateError
from .musicgen import Loaded
from .prompt import Prompt
from .regenerate import TakeRegenerator
from .takes import generate_takes


@dataclass
class MakeResult:
    rows: list[dict[str, Any]]
    report: Path

    @property
    def failed(self) -> int:
        return sum(r["status"] == "failed" for r in self.rows)


def _dissonance(report: dict[str, Any]) -> dict[str, Any] | None:
    for stage in report.get("stages", []):
        if stage.get("processor") == "dissonance":
            return stage
    return None


def _row(i: int, raw: Path, out: Path, batch_row: dict[str, Any]) -> dict[str, Any]:
    """One take in the report: its raw file and seed, its master, and what the dissonance stage kept."""
    sidecar, _ = load_sidecar(raw)
    report = batch_row.get("report") or {}
    row: dict[str, Any] = {"take": i, "seed": (sidecar or {}).get("seed"), "raw": str(raw.relative_to(out)),
                           "sidecar": str(raw.with_suffix(".json").relative_to(out)),
                           "mastered": batch_row.get("output") and str(Path("mastered") / batch_row["output"]),
                           "status": batch_row["status"], "reason": batch_row.get("reason", ""),
                           "kept": "original", "kept_raw": str(raw.relative_to(out)),
                           "kept_seed": (sidecar or {}).get("seed")}
    stage = _dissonance(report)
    if stage is not None:
        kept_sidecar = stage.get("kept_sidecar") or {}
        row["dissonance"] = {"findings": len(stage.get("findings", [])), "passed": stage.get("passed"),
                             "action": stage.get("action"),
                             "original_findings": (stage.get("original") or {}).get("findings"),
                             "attempts": [{k: a.get(k) for k in ("attempt", "findings", "score", "error")
                                           if a.get(k) is not None}
                                          | {"seed": (a.get("sidecar") or {}).get("seed")}
                                          for a in stage.get("attempts", [])]}
        if stage.get("regeneration_error"):
            row["dissonance"]["error"] = stage["regeneration_error"]
        if stage.get("kept", "original") != "original":
            row["kept"] = stage["kept"]
            row["kept_seed"] = kept_sidecar.get("seed")
            row["kept_raw"] = str(Path("retries") / kept_sidecar["audio"]) if kept_sidecar.get("audio") else None
    for side in ("before", "after"):
        metrics = report.get(side) or {}
        row[side] = {k: metrics.get(k) for k in ("integrated_lufs", "true_peak_dbtp", "sample_rate", "duration_s")}
    row["on_target"] = (report.get("targets") or {}).get("ok")
    row["report"] = report
    return row


def resolve_preset(preset: str | os.PathLike, overrides: dict[str, Any] | None = None,
                   retries: int | None = None) -> presets.Preset:
    """The preset `make` masters with; `retries=N` turns its dissonance stage to re-generation with N attempts."""
    resolved = presets.load(preset, overrides)
    if retries is not None:
        if not 1 <= retries <= 20:
            raise GenerateError(f"retries {retries}: must be within 1..20 (attempts at a sour take)")
        if not any(s.kind == "dissonance" and s.enabled for s in resolved.stages):
            raise GenerateError(f"--retries needs a dissonance stage, and preset '{resolved.name}' has none "
                                "enabled; use a preset with one (streaming, gugak-solo)")
        resolved = presets.load(preset, merge(overrides or {}, {"dissonance": {"action": "regenerate",
                                                                                "max_attempts": retries}}))
    return resolved


def make(loaded: Loaded, prompt: Prompt | str, *, out_dir: str | os.PathLike, preset: str | os.PathLike = "streaming",
         overrides: dict[str, Any] | None = None, retries: int | None = None, n: int = 1, duration: float = 10.0,
         seed: int | None = None, progress: bool = True, **generation: Any) -> MakeResult:
    """Generate `n` takes into `out_dir/raw`, master them into `out_dir/mastered`, write `out_dir/report.json`.

    `generation` goes to `generate_takes` (guidance_scale, top_k, top_p, temperature, melody, ...)."""
    resolved = resolve_preset(preset, overrides, retries)      # a bad preset fails before any generation
    out = Path(out_dir)
    raw_dir, master_dir, retry_dir = out / "raw", out / "mastered", out / "retries"
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out)             # what a killed run left half-written
    raws = generate_takes(loaded, prompt, n=n, duration=duration, seed=seed, out_dir=raw_dir, progress=progress,
                          **generation)

    master_dir.mkdir(parents=True, exist_ok=True)
    context = Context(regenerator=TakeRegenerator(loaded, out_dir=retry_dir))
    rows = []
    with progress_bar("mastering", enabled=progress) as bar:
        task = bar.add_task("", total=len(raws))
        for i, raw in enumerate(raws):
            bar.update(task, description=raw.name)
            rel = Path(raw.name)
            job = Job(raw, rel, master_dir / rel.with_suffix(f".{resolved.output.format}"),
                      out / STATE_DIR / "records" / f"{rel.name}.json")
            input_sha = sha256_file(raw)
            record = finished(job, input_sha, resolved.sha256)
            if record is not None:
                batch_row = {"input": str(rel), "output": str(job.output.relative_to(master_dir)),
                             "status": "skipped", "reason": "already mastered with this preset",
                             "report": record.get("report", {})}
            else:
                batch_row = master_one(job, resolved, input_sha, master_dir, context=context)
            rows.append(_row(i, raw, out, batch_row))
            bar.advance(task)

    caption = prompt.caption if isinstance(prompt, Prompt) else str(prompt)
    summary = {s: sum(r["status"] == s for r in rows) for s in ("done", "skipped", "failed")}
    summary["regenerated"] = sum(r["kept"] != "original" for r in rows)
    summary["dissonance_passed"] = sum(bool((r.get("dissonance") or {}).get("passed")) for r in rows)
    doc = {"prompt": caption, "categories": prompt.to_dict() if isinstance(prompt, Prompt) else None,
           "model": loaded.model_id, "adapter": loaded.adapter, "preset": resolved.name,
           "preset_sha256": resolved.sha256, "duration": duration, "takes": n, "summary": summary, "rows": rows}
    report = out / "report.json"
    audio_io.atomic_write_text(report, json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
    return MakeResult(rows, report)
