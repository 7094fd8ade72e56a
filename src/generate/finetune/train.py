"""Fine-tune MusicGen's decoder on a token cache: `sori train CONFIG.yaml`; the loop is `train()` below.

    sori train configs/finetune/gugak-lora.yaml                       # one GPU, or the CPU for tiny models
    accelerate launch --multi_gpu --num_processes 8 -m generate.finetune.train configs/finetune/gugak-lora.yaml

What is trained: the decoder (all of it, or LoRA adapters on its attention and feed-forward layers) and, in full
fine-tuning, the projection from the text encoder. The T5 text encoder and EnCodec stay frozen; audio was encoded
once into the cache (`sori data tokenize`), so a step reads integer codes only.

The objective is MusicGen's (Copet et al. 2023, "Simple and Controllable Music Generation", section 2): the K
codebooks are interleaved with the delay pattern (codebook k lags k steps) and each codebook's next token is
predicted with cross-entropy; the loss is the mean over codebooks. Captions are dropped (10 % by default) by
zeroing the text states and their mask, which is exactly the null condition MusicGen's classifier-free guidance
uses at generation time.

Optimiser: AdamW (betas 0.9/0.95, weight decay 0.1 on matrices only), linear warm-up then cosine decay, gradient
clipping, gradient accumulation. Checkpoints hold the trainable weights, the optimiser, the scheduler, every RNG and
the data position, so a resumed run continues with exactly the losses of an uninterrupted one. Each is written to a
temporary folder and renamed. `accelerate` gives mixed precision (bf16/fp16 autocast on GPUs), DDP over several
GPUs or nodes, and TensorBoard logs; the same file runs on one CPU.

What the loop stands on lives beside this file: `config.py` (the YAML), `batches.py` (micro-batches and the delay
pattern), `model.py` (the module trained, LoRA, the loss, the optimiser) and `checkpoint.py` (resume and export).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from ..errors import GenerateError
from .batches import Batches, delay_pattern, eval_batches
from .checkpoint import checkpoints, export_model, load_checkpoint, save_checkpoint, with_rng_kept
from .config import TrainConfig, load_config, mixed_precision
from .model import DecoderLM, lm_loss, make_optimizer, prepare_model


@dataclasses.dataclass
class TrainResult:
    output: Path
    step: int
    losses: list[tuple[int, float]]          # (step, training loss) of the steps this call ran
    val_loss: float | None
    val_per_codebook: list[float] | None
    export: Path | None
    resumed_from: int | None = None
    main_process: bool = True                # False on the other processes of a distributed run


def train(cfg: TrainConfig, *, fresh: bool = False, progress: bool = True, stop_after: int | None = None,
          loaded: Any = None) -> TrainResult:
    """Run (or resume) the training that `cfg` describes, then export the result into OUTPUT/final.

    `stop_after`: stop once that many steps are done, as an interruption would (the checkpoint is saved first).
    `loaded`: an already loaded base model (`generate.musicgen.Loaded`), as tests pass."""
    run = start(cfg, fresh=fresh, loaded=loaded)
    if (done := finished_before(run)) is not None:
        run.accelerator.end_training()
        return done
    open_run_folder(run)
    losses: list[tuple[int, float]] = []
    val: tuple[float, list[float]] | None = None
    speed = _Throughput()
    with _bar(progress and run.main, cfg.max_steps, run.step) as bar:
        while run.step < cfg.max_steps:
            loss, tokens = train_step(run)
            run.step += 1
            step = run.step
            losses.append((step, loss))
            speed.add(tokens)
            row: dict[str, Any] = {"step": step, "loss": loss, "lr": run.scheduler.get_last_lr()[0],
                                   "epoch": run.batches.epoch}
            if _due(step, cfg.log_every, cfg):
                row["tokens_per_s"] = speed.rate()
            if _due(step, cfg.eval_every, cfg):
                val = evaluate(run)
                row |= _val_row(val)
            log(run, row)
            if cfg.sample_every and cfg.samples.prompts and _due(step, cfg.sample_every, cfg):
                write_samples(run.accelerator, run.module, run.loaded, cfg, run.out / "samples" / f"step-{step:07d}")
            stopping = stop_after is not None and step >= stop_after
            if _due(step, cfg.save_every, cfg) or stopping:
                save_checkpoint(run.out, step, run.module, run.optimizer, run.scheduler, run.batches, cfg,
                                run.accelerator, {"val_loss": val[0] if val else None})
            _show(bar, step, loss, val)
            if stopping:
                break
    export = None
    if run.step >= cfg.max_steps:
        export = export_model(run.accelerator, run.module, run.loaded, cfg, run.out, run.step, val)
    run.accelerator.end_training()
    return TrainResult(run.out, run.step, losses, val[0] if val else None, val[1] if val else None, export,
                       run.resumed_from, run.main)


# --------------------------------------------------------------------------------------------------- one step


def train_step(run: Run) -> tuple[float, float]:
    """One optimiser step over `grad_accum` micro-batches: the loss (mean over processes) and the tokens it was
    computed on (sum over processes)."""
    cfg, accelerator = run.cfg, run.accelerator
    total, count = 0.0, 0.0
    for micro in range(cfg.grad_accum):
        sync = micro == cfg.grad_accum - 1          # DDP all-reduces the gradients of the last micro-batch only
        with contextlib.nullcontext() if sync else accelerator.no_sync(run.module):
            loss, _, c = forward(run, run.batches.next())
            accelerator.backward(loss / cfg.grad_accum)
        total += loss.item() / cfg.grad_accum
        count += c.sum().item()
    if cfg.grad_clip > 0:
        accelerator.clip_grad_norm_(run.module.parameters(), cfg.grad_clip)
    run.optimizer.step()
    run.scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)
    device = accelerator.device
    loss_all = accelerator.reduce(torch.tensor(total, device=device), "mean").item()
    tokens = accelerator.reduce(torch.tensor(count, device=device), "sum").item()
    return loss_all, tokens


def forward(run: Run, batch: dict[str, Any]) -> tuple[Any, Any, Any]:
    """`lm_loss` of one batch: captions tokenized, codes laid out in the delay pattern, the decoder's logits."""
    device = run.accelerator.device
    text = run.loaded.processor.tokenizer(batch["captions"], padding=True, return_tensors="pt")
    codes, lengths = batch["codes"].to(device), batch["lengths"].to(device)
    inputs, targets, mask = delay_pattern(codes, lengths, run.start_token)
    logits = run.module(text["input_ids"].to(device), text["attention_mask"].to(device), batch["keep"].to(device),
                        inputs)
    return lm_loss(logits, targets, mask)


def evaluate(run: Run) -> tuple[float, list[float]] | None:
    """The validation loss (mean over codebooks, and per codebook) over the whole split, shared by the processes;
    None without a validation split."""
    if not run.valid:
        return None
    accelerator, device = run.accelerator, run.accelerator.device
    run.module.eval()
    sums = torch.zeros(run.loaded.num_codebooks, device=device)
    counts = torch.zeros(run.loaded.num_codebooks, device=device)
    with torch.no_grad():
        for b in eval_batches(run.valid, run.cfg.batch_size, run.frames, accelerator.process_index,
                              accelerator.num_processes, run.cfg.eval_batches):
            _, s, c = forward(run, b)
            sums, counts = sums + s, counts + c
    run.module.train()
    sums, counts = accelerator.reduce(sums, "sum"), accelerator.reduce(counts, "sum")
    per = (sums / counts.clamp_min(1)).tolist()
    return float(np.mean(per)), per


def log(run: Run, row: dict[str, Any]) -> None:
    """A step's row to TensorBoard (train/loss, val/loss_cb0, ...) and, from the main process, to OUTPUT/log.jsonl."""
    run.accelerator.log({f"train/{k}" if not k.startswith("val") else k.replace("val_", "val/"): v
                         for k, v in row.items() if k != "step"}, step=row["step"])
    if run.main:
        with (run.out / "log.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")


def _due(step: int, every: int, cfg: TrainConfig) -> bool:
    """Every `every` steps, and at the last one."""
    return step % every == 0 or step == cfg.max_steps


def _val_row(val: tuple[float, list[float]] | None) -> dict[str, float]:
    if val is None:
        return {}
    return {"val_loss": val[0]} | {f"val_loss_cb{k}": v for k, v in enumerate(val[1])}


class _Throughput:
    """Tokens per second since the last logged step."""

    def __init__(self) -> None:
        self.since, self.tokens = time.perf_counter(), 0.0

    def add(self, tokens: float) -> None:
        self.tokens += tokens

    def rate(self) -> float:
        now = time.perf_counter()
        rate = self.tokens / max(now - self.since, 1e-9)
        self.since, self.tokens = now, 0.0
        return rate


def _show(bar: Any, step: int, loss: float, val: tuple[float, list[float]] | None) -> None:
    if bar.tasks:
        bar.update(bar.tasks[0].id, completed=step, description=f"loss {loss:.3f}"
                   + (f"  val {val[0]:.3f}" if val else ""))


# ------------------------------------------------------------------------------------------------------ set-up


@dataclasses.dataclass
class Run:
    """A run set up: what the loop steps and where it writes. `step` is the last step done (0 on a fresh run)."""

    cfg: TrainConfig
    out: Path
    accelerator: Any
    loaded: Any                             # the base model (`generate.musicgen.Loaded`)
    module: Any                             # DecoderLM, as accelerate prepared it
    optimizer: Any
    scheduler: Any
    batches: Batches
    valid: list[Any]                        # the validation windows
    frames: int                             # frames of each training crop
    start_token: int                        # the decoder's start token (the delay pattern's filler)
    step: int = 0
    resumed_from: int | None = None

    @property
    def main(self) -> bool:
        return self.accelerator.is_main_process


def start(cfg: TrainConfig, *, fresh: bool = False, loaded: Any = None) -> Run:
    """Everything before the first step: the accelerator, the data, the model made trainable, the optimiser, and the
    run's last checkpoint loaded. The order is the RNG's: the seed is set before LoRA draws its initial weights."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    from .tokens import TokenCache

    out = Path(cfg.output)
    cache = TokenCache(cfg.data)
    accelerator = Accelerator(mixed_precision=mixed_precision(cfg.mixed_precision), log_with="tensorboard",
                              project_dir=str(out))
    if fresh and accelerator.is_main_process:
        shutil.rmtree(out / "checkpoints", ignore_errors=True)
        (out / "log.jsonl").unlink(missing_ok=True)
    accelerator.wait_for_everyone()
    set_seed(cfg.seed)
    n_train = len(cache.split("train"))
    if n_train < cfg.batch_size * accelerator.num_processes:       # before the model loads: fail fast
        raise GenerateError(f"{cfg.data}: the training split has {n_train} windows, fewer than one global batch "
                            f"(batch_size {cfg.batch_size} x {accelerator.num_processes} processes); lower batch_size")
    loaded = _base_model(cfg, cache, loaded)
    frames, start_token = _crop_frames(cfg, loaded), _start_token(loaded.model)
    module = DecoderLM(prepare_model(loaded.model, cfg))
    module.train()
    optimizer, scheduler = make_optimizer(module, cfg)
    module, optimizer = accelerator.prepare(module, optimizer)
    batches = Batches(cache.split("train"), cfg.batch_size, frames, cfg.seed, accelerator.process_index,
                      accelerator.num_processes, cfg.caption, cfg.caption_dropout)
    run = Run(cfg, out, accelerator, loaded, module, optimizer, scheduler, batches, cache.split("valid"), frames,
              start_token)
    done = checkpoints(out)
    if done:
        state = load_checkpoint(done[-1], module, optimizer, scheduler, batches, cfg, accelerator)
        run.step = run.resumed_from = int(state["step"])
    return run


def _base_model(cfg: TrainConfig, cache: Any, loaded: Any) -> Any:
    """The base model (loaded on the CPU in fp32: accelerate places it), checked against the cache's codec."""
    from .. import musicgen
    if loaded is None:
        loaded = musicgen.load_model(cfg.model, device="cpu", dtype="fp32", engine="transformers")
    if cache.codebooks != loaded.num_codebooks or abs(cache.frame_rate - loaded.frame_rate) > 1e-6:
        raise GenerateError(f"{cfg.data} was encoded for {cache.meta.get('model')} ({cache.codebooks} codebooks at "
                            f"{cache.frame_rate:g} Hz), not {cfg.model}: tokenize the dataset with this model")
    return loaded


def _crop_frames(cfg: TrainConfig, loaded: Any) -> int:
    """segment_seconds in frames, within the decoder's positions (the delay pattern adds codebooks - 1)."""
    positions = int(loaded.model.config.decoder.max_position_embeddings)
    return min(round(cfg.segment_seconds * loaded.frame_rate), positions - loaded.num_codebooks + 1)


def _start_token(model: Any) -> int:
    gen = model.generation_config
    return int(gen.decoder_start_token_id if gen.decoder_start_token_id is not None else gen.bos_token_id)


def finished_before(run: Run) -> TrainResult | None:
    """The result of a run that had already done its max_steps and exported them: nothing is left to do."""
    card_path = run.out / "final" / "sori-train.json"
    if run.step < run.cfg.max_steps or not card_path.is_file():
        return None
    card = json.loads(card_path.read_text(encoding="utf-8"))
    if card.get("steps") != run.step:
        return None
    return TrainResult(run.out, run.step, [], card.get("val_loss"), card.get("val_loss_per_codebook"),
                       run.out / "final", run.resumed_from, run.main)


def open_run_folder(run: Run) -> None:
    """OUTPUT with its config.yaml and a log without the rows of steps this run does again; TensorBoard started."""
    if run.main:
        from remaster.audio import atomic_write_text
        run.out.mkdir(parents=True, exist_ok=True)
        _log_rows(run.out / "log.jsonl", run.step)
        atomic_write_text(run.out / "config.yaml", yaml.safe_dump(run.cfg.model_dump(mode="json"), sort_keys=False,
                                                                  allow_unicode=True))
    run.accelerator.init_trackers("tensorboard", config=run.cfg.hparams())


def _log_rows(path: Path, upto: int) -> None:
    """Drop log rows after `upto`: they belong to steps a resumed run does again."""
    if not path.is_file():
        return
    from remaster.audio import atomic_write_text
    keep = [line for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= upto]
    atomic_write_text(path, "".join(line + "\n" for line in keep))


def _bar(enabled: bool, total: int, done: int) -> Any:
    from remaster.progress import progress_bar
    bar = progress_bar("train", enabled=enabled, remaining=True)
    if enabled:
        bar.add_task("", total=total, completed=done)
    return bar


def write_samples(accelerator: Any, module: Any, loaded: Any, cfg: TrainConfig, folder: Path) -> None:
    """Takes of the config's sample prompts with the current weights (main process), for listening along."""
    from remaster.audio import atomic_write_text, write

    from ..takes import Sampling, render
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        inner = accelerator.unwrap_model(module)
        current = dataclasses.replace(loaded, model=inner.model, device=str(accelerator.device),
                                      engine="transformers")
        sampling = Sampling(guidance_scale=cfg.samples.guidance, top_k=cfg.samples.top_k)
        folder.mkdir(parents=True, exist_ok=True)

        def make() -> None:
            inner.eval()
            try:
                for i, prompt in enumerate(cfg.samples.prompts):
                    seconds = min(cfg.samples.seconds, loaded.max_seconds)
                    audio, _ = render(current, prompt, seconds, sampling, seed=cfg.samples.seed + i)
                    write(folder / f"sample-{i:02d}.wav", audio, loaded.sample_rate, bit_depth=16)
                atomic_write_text(folder / "prompts.json", json.dumps(cfg.samples.prompts, ensure_ascii=False,
                                                                      indent=2))
            finally:
                inner.train()
        with accelerator.autocast():
            with_rng_kept(make)
    accelerator.wait_for_everyone()


def main(argv: list[str] | None = None) -> None:
    """`python -m generate.finetune.train CONFIG.yaml [--fresh]`: the form `accelerate launch -m` runs."""
    import argparse

    from remaster.errors import SoriError
    parser = argparse.ArgumentParser(prog="generate.finetune.train", description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--fresh", action="store_true", help="start over: delete this run's checkpoints")
    parser.add_argument("--max-steps", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        result = train(load_config(args.config, max_steps=args.max_steps), fresh=args.fresh)
    except SoriError as e:
        print(f"sori: error: {e}", file=sys.stderr)
        sys.exit(2)
    if result.main_process:
        print(summary(result))


def summary(result: TrainResult) -> str:
    parts = [f"step {result.step}"]
    if result.losses:
        parts.append(f"loss {result.losses[-1][1]:.4f}")
    if result.val_loss is not None:
        parts.append(f"val loss {result.val_loss:.4f}")
    if result.export is not None:
        parts.append(f"export {result.export} (sori generate --model {result.export})")
    return "; ".join(parts)


if __name__ == "__main__":
    main()
