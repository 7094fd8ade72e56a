"""`sori generate`, `sori make`, `sori categories`: MusicGen takes from prompts and categories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .common import JsonOpt, PresetOpt, QuietOpt, SetOpt, fmt, overrides

if TYPE_CHECKING:
    from generate.request import Plan

DEFAULT_MODEL = "facebook/musicgen-small"

# Words typed without quotes are one prompt, as they would be with them.
PromptArg = Annotated[list[str] | None, typer.Argument(
    help="what to make, in Korean or English words (e.g. 슬픈 가야금 산조 중모리); or use the options below",
    show_default=False)]
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
MelodyOpt = Annotated[str | None, typer.Option("--melody", help="reference audio or MIDI file to follow, or a folk "
                                                                "tune's name such as 아리랑 (musicgen-melody models)")]
FromTextOpt = Annotated[str | None, typer.Option(
    "--from-text", help="a text file (UTF-8) of Korean or English prose - a blog post, diary, a novel's paragraph, a "
                        "poem - to make fitting music for; - reads stdin")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="print the caption, the mapping (which words led to "
                                                           "which caption parts) and the parameters, then exit")]


# what `generate` and `make` share: the request (words, model, sampling) and where the takes go
REQUEST_OPTIONS = ("text", "instrument", "genre", "mood", "tempo", "mode", "extra", "solo", "from_text", "duration",
                   "n", "seed", "model", "adapter", "device", "dtype", "engine", "int8", "guidance", "top_k",
                   "top_p", "temperature", "melody")


def _plan(options: dict[str, Any]) -> tuple[Plan, Path]:
    """The request of a command's options checked whole (words, files, numbers, model id) before any model loads,
    and its output folder."""
    from generate.request import Request, read_text_source

    o = {k: options[k] for k in REQUEST_OPTIONS}
    if isinstance(o["text"], list):
        o["text"] = " ".join(o["text"]) or None
    source = o.pop("from_text")
    prose = read_text_source(source) if source is not None else None
    names = {"instruments": o.pop("instrument") or [], "genres": o.pop("genre") or [], "moods": o.pop("mood") or []}
    return Request(prose=prose, **names, **o).check(), _out_dir(options["output"])


def _out_dir(path: Path) -> Path:
    from generate.errors import GenerateError

    if path.exists() and not path.is_dir():
        raise GenerateError(f"{path}: exists and is not a folder; -o takes a folder for the takes")
    return path


def _show(plan: Plan, dry_run: bool, as_json: bool, quiet: bool) -> None:
    """Before the model loads: the caption and the mapping (stderr, unless quiet); the whole plan for --dry-run
    (stdout)."""
    if dry_run and as_json:
        typer.echo(json.dumps(plan.to_dict(), ensure_ascii=False, indent=1))
    elif dry_run:
        typer.echo("\n".join(plan.lines()))
    elif not quiet:
        typer.echo("\n".join(line for line in plan.lines() if not line.startswith(("model:", "takes:", "sampling:"))),
                   err=True)


def generate_cmd(
    text: PromptArg = None, instrument: InstrumentOpt = None, genre: GenreOpt = None, mood: MoodOpt = None,
    tempo: TempoOpt = None, mode: ModeOpt = None, extra: ExtraOpt = "", solo: SoloOpt = False,
    from_text: FromTextOpt = None,
    duration: DurationOpt = 10.0, n: NOpt = 1, seed: SeedOpt = None, output: OutOpt = Path("takes"),
    model: ModelOpt = DEFAULT_MODEL, adapter: AdapterOpt = None, device: DeviceOpt = "auto",
    dtype: DtypeOpt = "auto", engine: EngineOpt = "auto", int8: Int8Opt = False, guidance: GuidanceOpt = 3.0,
    top_k: TopKOpt = 250, top_p: TopPOpt = 0.0, temperature: TempOpt = 1.0, melody: MelodyOpt = None,
    dry_run: DryRunOpt = False, quiet: QuietOpt = False, as_json: JsonOpt = False,
) -> None:
    """Generate N raw takes (WAV + sidecar JSON each) from a prompt, categories, or prose (--from-text)."""
    plan, out = _plan(locals())
    _show(plan, dry_run, as_json, quiet)
    if dry_run:
        return
    paths = plan.generate(out, progress=not quiet)
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
    from_text: FromTextOpt = None,
    duration: DurationOpt = 10.0, n: NOpt = 1, seed: SeedOpt = None, output: OutOpt = Path("made"),
    preset: PresetOpt = "streaming", set_: SetOpt = None,
    retries: Annotated[int | None, typer.Option(
        "--retries", help="make a sour take again, up to N times (the preset's check stages ask for new takes)")]
    = None,
    model: ModelOpt = DEFAULT_MODEL, adapter: AdapterOpt = None, device: DeviceOpt = "auto",
    dtype: DtypeOpt = "auto", engine: EngineOpt = "auto", int8: Int8Opt = False, guidance: GuidanceOpt = 3.0,
    top_k: TopKOpt = 250, top_p: TopPOpt = 0.0, temperature: TempOpt = 1.0, melody: MelodyOpt = None,
    dry_run: DryRunOpt = False, quiet: QuietOpt = False, as_json: JsonOpt = False,
) -> None:
    """Generate takes, master them with a preset (making sour takes again if it asks), and write one report."""
    plan, out = _plan(locals())
    from generate.make import make, resolve_preset
    resolve_preset(preset, overrides(set_), retries)      # a bad preset fails before the model loads
    _show(plan, dry_run, as_json, quiet)
    if dry_run:
        return
    r = plan.request
    result = make(plan.load(), plan.prompt, out_dir=out, preset=preset, overrides=overrides(set_), retries=retries,
                  n=n, duration=duration, seed=seed, progress=not quiet, guidance_scale=guidance, top_k=top_k,
                  top_p=top_p, temperature=temperature, melody=plan.melody["source"] if plan.melody else None,
                  stem=r.stem)
    if as_json:
        typer.echo(result.report.read_text(encoding="utf-8").rstrip())
    else:
        for row in result.rows:
            typer.echo(_line(row))
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


def _width(text: str) -> int:
    """Columns a terminal gives `text`: Hangul and other wide characters take two."""
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _entry_dict(e: Any) -> dict[str, Any]:
    d = {"field": e.field, "en": e.en, "ko": e.ko, "aliases": list(e.aliases), "gugak": e.gugak,
         "popular": e.popular}
    for key in ("describe", "caption", "beats", "character", "midi", "jangdan"):
        if getattr(e, key):
            d[key] = getattr(e, key)
    if e.bpm:
        d["bpm"] = list(e.bpm)
    return d


def _table(entries: list[Any], aliases: bool) -> list[str]:
    """Rows aligned by display width: Korean name, English name, tempo range or tune file, aliases."""
    ko_w = max((_width(e.ko) for e in entries), default=0) + 2
    en_w = max((_width(e.en) for e in entries), default=0) + 2
    extras = [f"{e.bpm[0]}-{e.bpm[1]} bpm" if e.bpm else (e.midi or "") for e in entries]
    ex_w = max((_width(x) + 2 for x in extras if x), default=0)
    rows = []
    for e, extra in zip(entries, extras, strict=True):
        names = ", ".join(e.aliases) if aliases and e.aliases else ""
        rows.append(f"  {_pad(e.ko, ko_w)}{_pad(e.en, en_w)}{_pad(extra, ex_w)}{names}".rstrip())
    return rows


def _search(word: str, as_json: bool) -> None:
    from generate.lexicon import load_lexicon
    from generate.taxonomy import SINGULAR, load_taxonomy, normalize
    tax, lex = load_taxonomy(), load_lexicon()
    entries = tax.search(word)
    key = normalize(word)
    cues = [(w, cue) for w, cue in lex.words() if key and (key in normalize(w) or normalize(w) in key)]
    if as_json:
        typer.echo(json.dumps({"categories": [_entry_dict(e) for e in entries],
                               "lexicon": [{"word": w, "group": c.group,
                                            "suggests": {f: [e.en for e in es] for f, es in c.suggest.items()}}
                                           for w, c in cues]}, ensure_ascii=False, indent=1))
        return
    if not entries and not cues:
        typer.echo(f"nothing matches '{word}'; `sori categories` lists every field")
        raise typer.Exit(1)
    for f in dict.fromkeys(e.field for e in entries):
        typer.echo(f"{f}:")
        for row in _table([e for e in entries if e.field == f], aliases=True):
            typer.echo(row)
    if cues:
        typer.echo("in prose (the mood lexicon):")
        w_w = max(_width(w) for w, _ in cues) + 2
        for w, cue in cues:
            said = "; ".join(f"{SINGULAR[f]} {', '.join(e.en for e in es)}" for f, es in cue.suggest.items())
            typer.echo(f"  {_pad(w, w_w)}{cue.group}: {said}")


def categories_cmd(
    field: Annotated[str | None, typer.Argument(
        help="a field: instruments, genres, moods, tempos, modes, etc, tunes (or in Korean 악기, 장르, 분위기, 빠르기, "
             "장단, 조, 곡); or `search WORD`")] = None,
    word: Annotated[str | None, typer.Argument(help="with search: the word to look for, e.g. 바람")] = None,
    gugak: Annotated[bool, typer.Option("--gugak", help="only Korean traditional entries")] = False,
    aliases: Annotated[bool, typer.Option("--aliases/--no-aliases", help="show each entry's other names")] = True,
    as_json: JsonOpt = False,
) -> None:
    """The words `generate` and `make` know: Korean and English names and aliases of each category; search them."""
    from generate.errors import GenerateError
    from generate.taxonomy import FIELDS, SINGULAR, field_named, load_taxonomy
    if field is not None and field.strip().lower() in ("search", "검색", "찾기"):
        if not word:
            raise GenerateError("categories search needs a word, e.g. `sori categories search 바람`")
        _search(word, as_json)
        return
    if word is not None:
        raise GenerateError(f"categories takes one field; to look for '{word}' use `sori categories search {word}`")
    tax = load_taxonomy()
    fields = [field_named(field)] if field else [(f, False) for f in FIELDS]
    listing = {f: [e for e in tax.entries(f) if e.gugak or not (gugak or only_gugak)] for f, only_gugak in fields}
    if as_json:
        typer.echo(json.dumps({f: [_entry_dict(e) for e in es] for f, es in listing.items()}, ensure_ascii=False,
                              indent=1))
        return
    for f, entries in listing.items():
        typer.echo(f"{f} ({len(entries)})")
        for row in _table(entries, aliases):
            typer.echo(row)
        if not entries:
            typer.echo(f"  (no {'gugak ' if gugak else ''}{SINGULAR[f]})")
