"""`sori generate`, `sori make`, `sori categories`: MusicGen takes from prompts and categories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .common import JsonOpt, PresetOpt, QuietOpt, SetOpt, fmt, overrides

if TYPE_CHECKING:
    from generate.prompt import Prompt

DEFAULT_MODEL = "facebook/musicgen-small"

PromptArg = Annotated[str | None, typer.Argument(
    help="what to make, in Korean or English words (e.g. '슬픈 가야금 산조 중모리'); or use the options below")]
InstrumentOpt = Annotated[list[str] | None, typer.Option("--instrument", "-i",
                                                         help="instrument, e.g. 가야금 (repeatable)")]
GenreOpt = Annotated[list[str] | None, typer.Option("--genre", "-g", help="genre, e.g. 산조 (repeatable)")]
MoodOpt = Annotated[list[str] | None, typer.Option("--mood", help="mood, e.g. 슬픈 (repeatable)")]
TempoOpt = Annotated[str | None, typer.Option("--tempo", "-t", help="tempo or jangdan (중모리), or beats per minute")]
ModeOpt = Annotated[str | None, typer.Option("--mode", help="gugak mode: 평조 or 계면조")]
ExtraOpt = Annotated[str, typer.Option("--extra", help="free English words added to the caption")]
SoloOpt = Annotated[bool, typer.Option("--solo", help="one instrument alone, no accompaniment")]
DurationOpt = Annotated[float, typer.Option("--duration", "-d", help="seconds per take (longer than the model's "
                                                                      "30 s window: continued window by window)")]
NOpt = Annotated[int, typer.Option("-n", help="number of takes")]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="seed of the first take; take i uses seed + i")]
OutOpt = Annotated[Path, typer.Option("--output", "-o", help="output folder")]
ModelOpt = Annotated[str, typer.Option("--model", "-m", envvar="SORI_MODEL",
                                       help="hub id, local folder, LoRA adapter folder, or audiocraft "
                                            "LM checkpoint")]
AdapterOpt = Annotated[str | None, typer.Option(
    "--adapter", help="a LoRA adapter folder or an audiocraft LM checkpoint (lm_final.pt) over --model")]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:N, mps")]
DtypeOpt = Annotated[str, typer.Option("--dtype", help="auto, fp32, fp16, bf16")]
EngineOpt = Annotated[str, typer.Option("--engine", help="auto, sori (Sori's decoding loop), transformers")]
Int8Opt = Annotated[bool, typer.Option("--int8", help="int8 weights for the decoder (CPU; faster, not bit-exact)")]
GuidanceOpt = Annotated[float, typer.Option("--guidance", help="classifier-free guidance scale (1 turns it off)")]
TopKOpt = Annotated[int, typer.Option("--top-k", help="sample from the k likeliest tokens (0: off)")]
TopPOpt = Annotated[float, typer.Option("--top-p", help="nucleus sampling threshold (0: off)")]
TempOpt = Annotated[float, typer.Option("--temperature", help="sampling temperature")]
MelodyOpt = Annotated[Path | None, typer.Option("--melody", help="reference audio or MIDI file to follow "
                                                                 "(musicgen-melody models)")]


def _prompt(text: str | None, instrument: list[str] | None, genre: list[str] | None, mood: list[str] | None,
            tempo: str | None, mode: str | None, extra: str, solo: bool) -> Prompt:
    from generate.errors import GenerateError
    from generate.prompt import build_prompt

    if not (text or instrument or genre or mood or tempo or mode or extra):
        raise GenerateError("nothing to make: give a prompt (e.g. '슬픈 가야금 산조') or --instrument/--genre/--mood/"
                            "--tempo; `sori categories` lists the known words")
    return build_prompt(instruments=instrument or (), genres=genre or (), moods=mood or (), tempo=tempo, mode=mode,
                        extra=extra, solo=solo, keywords=text or None)


def _out_dir(path: Path) -> Path:
    from generate.errors import GenerateError

    if path.exists() and not path.is_dir():
        raise GenerateError(f"{path}: exists and is not a folder; -o takes a folder for the takes")
    return path


def _check(n: int, duration: float, seed: int | None, guidance: float, top_k: int, top_p: float,
           temperature: float) -> None:
    from generate.takes import Sampling, check_request
    check_request(n, duration, seed, Sampling(guidance, top_k, top_p, temperature))


def _load(model: str, adapter: str | None, device: str, dtype: str, engine: str, int8: bool):
    from generate.musicgen import load_model
    return load_model(model, adapter=adapter, device=device, dtype=dtype, engine=engine, quantize=int8)


def _show_prompt(prompt: Prompt) -> None:
    typer.echo(f"caption: {prompt.caption}", err=True)
    for note in prompt.notes:
        typer.echo(f"note: {note}", err=True)


def generate_cmd(
    text: PromptArg = None, instrument: InstrumentOpt = None, genre: GenreOpt = None, mood: MoodOpt = None,
    tempo: TempoOpt = None, mode: ModeOpt = None, extra: ExtraOpt = "", solo: SoloOpt = False,
    duration: DurationOpt = 10.0, n: NOpt = 1, seed: SeedOpt = None, output: OutOpt = Path("takes"),
    model: ModelOpt = DEFAULT_MODEL, adapter: AdapterOpt = None, device: DeviceOpt = "auto",
    dtype: DtypeOpt = "auto", engine: EngineOpt = "auto", int8: Int8Opt = False, guidance: GuidanceOpt = 3.0,
    top_k: TopKOpt = 250, top_p: TopPOpt = 0.0, temperature: TempOpt = 1.0, melody: MelodyOpt = None,
    quiet: QuietOpt = False, as_json: JsonOpt = False,
) -> None:
    """Generate N raw takes (WAV + sidecar JSON each) from a prompt or categories."""
    prompt = _prompt(text, instrument, genre, mood, tempo, mode, extra, solo)
    out = _out_dir(output)
    _check(n, duration, seed, guidance, top_k, top_p, temperature)
    loaded = _load(model, adapter, device, dtype, engine, int8)
    _show_prompt(prompt)
    from generate.takes import generate_takes
    paths = generate_takes(loaded, prompt, n=n, duration=duration, seed=seed, guidance_scale=guidance, top_k=top_k,
                           top_p=top_p, temperature=temperature, melody=melody, out_dir=out, progress=not quiet)
    sidecars = [json.loads(p.with_suffix(".json").read_text(encoding="utf-8")) for p in paths]
    if as_json:
        typer.echo(json.dumps([{"audio": str(p), "seed": s["seed"], "prompt": s["prompt"],
                                "seconds": s["timings"]["seconds"]} for p, s in zip(paths, sidecars, strict=True)],
                              ensure_ascii=False, indent=1))
        return
    for p, s in zip(paths, sidecars, strict=True):
        typer.echo(f"{p}  seed {s['seed']}  {s['duration']:g} s  ({s['timings']['seconds']:.1f} s to make)")


def make_cmd(
    text: PromptArg = None, instrument: InstrumentOpt = None, genre: GenreOpt = None, mood: MoodOpt = None,
    tempo: TempoOpt = None, mode: ModeOpt = None, extra: ExtraOpt = "", solo: SoloOpt = False,
    duration: DurationOpt = 10.0, n: NOpt = 1, seed: SeedOpt = None, output: OutOpt = Path("made"),
    preset: PresetOpt = "streaming", set_: SetOpt = None,
    retries: Annotated[int | None, typer.Option(
        "--retries", help="make a sour take again, up to N times (the preset's check stages ask for new takes)")]
    = None,
    model: ModelOpt = DEFAULT_MODEL, adapter: AdapterOpt = None, device: DeviceOpt = "auto",
    dtype: DtypeOpt = "auto", engine: EngineOpt = "auto", int8: Int8Opt = False, guidance: GuidanceOpt = 3.0,
    top_k: TopKOpt = 250, top_p: TopPOpt = 0.0, temperature: TempOpt = 1.0, melody: MelodyOpt = None,
    quiet: QuietOpt = False, as_json: JsonOpt = False,
) -> None:
    """Generate takes, master them with a preset (making sour takes again if it asks), and write one report."""
    prompt = _prompt(text, instrument, genre, mood, tempo, mode, extra, solo)
    out = _out_dir(output)
    _check(n, duration, seed, guidance, top_k, top_p, temperature)
    from generate.make import make, resolve_preset
    resolve_preset(preset, overrides(set_), retries)      # a bad preset fails before the model loads
    loaded = _load(model, adapter, device, dtype, engine, int8)
    _show_prompt(prompt)
    result = make(loaded, prompt, out_dir=out, preset=preset, overrides=overrides(set_), retries=retries, n=n,
                  duration=duration, seed=seed, progress=not quiet, guidance_scale=guidance, top_k=top_k,
                  top_p=top_p, temperature=temperature, melody=melody)
    if as_json:
        typer.echo(result.report.read_text(encoding="utf-8").rstrip())
    else:
        for r in result.rows:
            typer.echo(_line(r))
        typer.echo(f"report: {result.report}")
    if result.failed:
        raise typer.Exit(2)


def _line(r: dict[str, Any]) -> str:
    if r["status"] == "failed":
        return f"{r['raw']}: failed: {r['reason']}"
    d = r.get("checks") or {}
    sour = "" if not d else (" in tune" if d.get("passed") else f" {d.get('findings')} sour finding(s)")
    kept = "" if r["kept"] == "original" else f", kept {r['kept']} ({r['kept_raw']}, seed {r['kept_seed']})"
    after = r.get("after") or {}
    again = " (already made)" if r["status"] == "skipped" else ""
    return (f"{r['raw']} -> {r['mastered']}  {fmt(after.get('integrated_lufs'), ' LUFS')}  "
            f"{fmt(after.get('true_peak_dbtp'), ' dBTP')}{sour}{kept}{again}")


def categories_cmd(
    field: Annotated[str | None, typer.Argument(help="instruments, genres, moods, tempos, modes or etc")] = None,
    gugak: Annotated[bool, typer.Option("--gugak", help="only Korean traditional entries")] = False,
) -> None:
    """The words `generate` and `make` know: Korean and English names of each category."""
    from generate.taxonomy import FIELDS, SINGULAR, check_field, load_taxonomy
    tax = load_taxonomy()
    for f in [check_field(field)] if field else FIELDS:
        entries = [e for e in tax.entries(f) if e.gugak or not gugak]
        typer.echo(f"{f} ({len(entries)})")
        for e in entries:
            extra = f"  {e.bpm[0]}-{e.bpm[1]} bpm" if e.bpm else ""
            typer.echo(f"  {e.ko:<12} {e.en}{extra}")
        if not entries:
            typer.echo(f"  (no {'gugak ' if gugak else ''}{SINGULAR[f]})")
