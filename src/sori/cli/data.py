"""`sori data prepare`, `sori data tokenize`, `sori train`: fine-tuning MusicGen on gugak."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import AddressOpt, RunOnOpt

# --- sori data prepare ---------------------------------------------------------------------------------------------

def _words(values: list[str] | None) -> list[str]:
    """Repeatable filter options; "가야금,대금" counts as two."""
    return [w.strip() for v in values or [] for w in v.split(",") if w.strip()]


def prepare_cmd(
    source: Annotated[Path, typer.Argument(help="the AI Hub 71470 folder (or one above it), or a folder of audio "
                                                "with a .txt or .json caption beside each file")],
    output: Annotated[Path, typer.Option("--output", "-o", help="the dataset folder to write (new, or the same "
                                                                "one to resume)")],
    instrument: Annotated[list[str] | None, typer.Option("--instrument", "-i", help="keep clips with this "
                                                         "instrument, e.g. 가야금 (repeatable: any of them)")] = None,
    genre: Annotated[list[str] | None, typer.Option("--genre", "-g", help="keep this genre, e.g. 산조 "
                                                                          "(repeatable)")] = None,
    jangdan: Annotated[list[str] | None, typer.Option("--jangdan", help="keep this jangdan, e.g. 중모리 "
                                                                        "(repeatable)")] = None,
    mode: Annotated[list[str] | None, typer.Option("--mode", help="keep this mode: 평조 or 계면조 "
                                                                  "(repeatable)")] = None,
    sample_rate: Annotated[int, typer.Option("--sample-rate", help="output rate in Hz (MusicGen: 32000)")] = 32_000,
    min_seconds: Annotated[float, typer.Option("--min-seconds", help="shortest window; shorter sound is "
                                                                     "dropped")] = 10.0,
    max_seconds: Annotated[float, typer.Option("--max-seconds", help="longest window; longer sound is cut into "
                                                                     "equal windows")] = 30.0,
    silence_db: Annotated[float, typer.Option("--silence-db", help="quieter than this (dBFS) is silence")] = -50.0,
    silence_gap: Annotated[float, typer.Option("--silence-gap", help="a silence this long (s) splits a "
                                                                     "clip")] = 1.0,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="worker processes (default: CPU count); with "
                                             "--engine ray, clips at once (default: the cluster's CPUs)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="auto, aihub (AI Hub 71470) or folder")] = "auto",
    valid_fraction: Annotated[float, typer.Option("--valid-fraction", help="folder format: share of clips put in "
                                                                           "the valid split")] = 0.05,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
    engine: RunOnOpt = "local",
    address: AddressOpt = None,
) -> None:
    """Cut a gugak dataset into captioned training windows (manifest.jsonl/.parquet, stats, problems); resumes.

    On a Ray cluster (--engine ray), every node must see SOURCE and the output folder at the same paths."""
    from generate.finetune.prepare import prepare
    result = prepare(source, output, instruments=_words(instrument), genres=_words(genre), jangdan=_words(jangdan),
                     modes=_words(mode), sample_rate=sample_rate, min_seconds=min_seconds, max_seconds=max_seconds,
                     silence_db=silence_db, silence_gap=silence_gap, jobs=jobs, fmt=fmt,
                     valid_fraction=valid_fraction, progress=not quiet, engine=engine, address=address)
    for line in result.summary():
        typer.echo(line)


# --- sori data tokenize / sori train -------------------------------------------------------------------------------


def tokenize_cmd(
    dataset: Annotated[Path, typer.Argument(help="a folder made by `sori data prepare`")],
    model: Annotated[str, typer.Option("--model", "-m", envvar="SORI_MODEL",
                                       help="the MusicGen whose EnCodec encodes the windows: hub id or folder")]
    = "facebook/musicgen-small",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="cache folder (default: "
                                                                       "DATASET/tokens/<model>)")] = None,
    shard_size: Annotated[int, typer.Option("--shard-size", help="windows per shard file")] = 512,
    batch_size: Annotated[int, typer.Option("--batch-size", help="windows encoded at once")] = 8,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:N, mps")] = "auto",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
    engine: RunOnOpt = "local",
    address: AddressOpt = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, help="with --engine ray: workers, each with the "
                                             "codec loaded once (default: one per GPU, else one per 4 CPUs)")]
    = None,
) -> None:
    """Encode every window once with the model's EnCodec into a sharded token cache (resumes where it stopped).

    With --engine ray the shards are encoded by workers on the cluster, on GPUs when it has them; every node must
    see DATASET at the same path and have the model (a hub id in its cache, or a folder on the shared file system)."""
    from generate.finetune.tokens import read_manifest, tokenize
    from generate.musicgen import load_model
    from remaster.progress import progress_bar
    total = len(read_manifest(dataset))        # a missing or empty manifest fails before the model loads
    loaded = load_model(model, device=device, dtype="fp32", engine="transformers")   # and the model before the bar
    with progress_bar("tokenize", enabled=not quiet) as bar:
        task = bar.add_task("", total=total)
        result = tokenize(dataset, model, cache_dir=output, shard_size=shard_size, batch_size=batch_size,
                          device=device, loaded=loaded, engine=engine, address=address, jobs=jobs,
                          on_progress=lambda done, _total: bar.update(task, completed=done))
    typer.echo(f"{result.cache_dir}: {result.windows} windows ({result.encoded} encoded now), {result.frames} "
               f"frames in {result.shards} shards")


def train_cmd(
    config: Annotated[Path, typer.Argument(help="training config (YAML); examples in configs/finetune/")],
    fresh: Annotated[bool, typer.Option("--fresh", help="start over: delete this run's checkpoints")] = False,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="override the config's max_steps")] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", help="override the config's output")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Fine-tune MusicGen (LoRA or full) on a token cache; resumes from the run's last checkpoint.

    Several GPUs or nodes: `accelerate launch -m generate.finetune.train CONFIG` (same config, no code change)."""
    from generate.finetune.config import load_config
    from generate.finetune.train import summary, train
    result = train(load_config(config, max_steps=max_steps, output=output), fresh=fresh, progress=not quiet)
    if result.main_process:
        typer.echo(summary(result))
