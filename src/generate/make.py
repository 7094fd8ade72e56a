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
from remaster.batch import STATE_DIR, Job, file_task, master_file, remove_stale_temps
from remaster.processors import processor_class
from remaster.regenerate import Context, load_sidecar
from remaster.runner import Runner

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


def _regeneration(report: dict[str, Any], out: Path) -> dict[str, Any]:
    """What the take's checks found and which attempt was kept, from the report's `verdict` and `regeneration`."""
    verdict = report.get("verdict") or {}
    section = report.get("regeneration") or {}
    row: dict[str, Any] = {"findings": verdict.get("findings"), "passed": verdict.get("passed"),
                           "summary": verdict.get("summary")}
    if section:
        row["original_findings"] = (section.get("original") or {}).get("findings")
        row["attempts"] = [{k: a.get(k) for k in ("attempt", "findings", "score", "error") if a.get(k) is not None}
                           | {"seed": (a.get("sidecar") or {}).get("seed")} for a in section.get("attempts", [])]
        if section.get("error"):
            row["error"] = section["error"]
    return row


def _row(i: int, raw: Path, out: Path, batch_row: dict[str, Any]) -> dict[str, Any]:
    """One take in the report: its raw file and seed, its master, and what its checks kept."""
    sidecar, _ = load_sidecar(raw)
    report = batch_row.get("report") or {}
    row: dict[str, Any] = {"take": i, "seed": (sidecar or {}).get("seed"), "raw": str(raw.relative_to(out)),
                           "sidecar": str(raw.with_suffix(".json").relative_to(out)),
                           "mastered": batch_row.get("output") and str(Path("mastered") / batch_row["output"]),
                           "status": batch_row["status"], "reason": batch_row.get("reason", ""),
                           "kept": "original", "kept_raw": str(raw.relative_to(out)),
                           "kept_seed": (sidecar or {}).get("seed")}
    if report.get("verdict"):
        row["checks"] = _regeneration(report, out)
    section = report.get("regeneration") or {}
    if section.get("kept", "original") != "original":
        kept_sidecar = section.get("kept_sidecar") or {}
        row["kept"] = section["kept"]
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
    """The preset `make` masters with; `retries=N` has every check stage that can ask for new takes ask for N."""
    resolved = presets.load(preset, overrides)
    if retries is None:
        return resolved
    if not 1 <= retries <= 20:
        raise GenerateError(f"retries {retries}: must be within 1..20 (attempts at a sour take)")
    asks = {s.label: ask for s in resolved.stages
            if s.enabled and (ask := processor_class(s.kind).retry_overrides(retries)) is not None}
    if not asks:
        raise GenerateError(f"--retries needs a check stage that can ask for new takes (dissonance), and preset "
                            f"'{resolved.name}' has none enabled; use a preset with one (streaming, gugak-solo)")
    return presets.load(preset, presets.merge(overrides or {}, asks))


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
    jobs = [Job(raw, Path(raw.name), master_dir / Path(raw.name).with_suffix(f".{resolved.output.format}"))
            for raw in raws]
    # In this process (jobs=1): the regenerator holds the loaded model.
    runner = Runner(out / STATE_DIR, master_file, label="mastering", progress=progress)
    outcomes = {o.task.key: o for o in runner.run([file_task(j, resolved, master_dir, context) for j in jobs])}
    rows = []
    for i, (raw, job) in enumerate(zip(raws, jobs, strict=True)):
        o = outcomes[str(job.output.relative_to(master_dir))]
        batch_row = {"output": o.task.key if o.status != "failed" else None, "status": o.status,
                     "reason": o.reason, "report": o.result.get("report", {})}
        rows.append(_row(i, raw, out, batch_row))

    caption = prompt.caption if isinstance(prompt, Prompt) else str(prompt)
    summary = {s: sum(r["status"] == s for r in rows) for s in ("done", "skipped", "failed")}
    summary["regenerated"] = sum(r["kept"] != "original" for r in rows)
    summary["checks_passed"] = sum(bool((r.get("checks") or {}).get("passed")) for r in rows)
    doc = {"prompt": caption, "categories": prompt.to_dict() if isinstance(prompt, Prompt) else None,
           "model": loaded.model_id, "license": loaded.license, "adapter": loaded.adapter,
           "adapter_format": loaded.adapter_format, "preset": resolved.name,
           "preset_sha256": resolved.sha256, "duration": duration, "takes": n, "summary": summary, "rows": rows}
    report = out / "report.json"
    audio_io.atomic_write_text(report, json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
    return MakeResult(rows, report)
