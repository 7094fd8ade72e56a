"""Fine-tune MusicGen's decoder on a token cache: `sori train CONFIG.yaml`, the whole loop in this one file.

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
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import random
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import GenerateError

# --------------------------------------------------------------------------------------------------- configuration


class LoraSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    r: int = Field(16, ge=1)
    alpha: float = Field(32.0, gt=0)
    dropout: float = Field(0.05, ge=0, lt=1)
    # suffixes of the decoder's linear layers; the T5 encoder's are q/k/v/o and EnCodec has none, so these
    # names reach the decoder only
    target_modules: list[str] = ["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"]


class SampleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompts: list[str] = []
    seconds: float = Field(10.0, gt=0)
    guidance: float = Field(3.0, ge=0)
    top_k: int = Field(250, ge=0)
    seed: int = 0


class TrainConfig(BaseModel):
    """`sori train`'s YAML. Paths are relative to the working directory."""

    model_config = ConfigDict(extra="forbid")
    model: str = Field(description="base model: hub id or a folder saved with save_pretrained")
    data: str = Field(description="token cache folder made by `sori data tokenize`")
    output: str = Field(description="run folder: checkpoints, logs, samples, the final export")
    method: Literal["lora", "full"] = "lora"
    lora: LoraSettings = LoraSettings()
    caption: Literal["caption", "caption_ko", "both"] = "caption"
    caption_dropout: float = Field(0.1, ge=0, le=1)
    segment_seconds: float = Field(30.0, gt=0, description="random crop of each window (shorter ones are padded)")
    batch_size: int = Field(8, ge=1, description="windows per device per micro-batch")
    grad_accum: int = Field(1, ge=1)
    max_steps: int = Field(1000, ge=1)
    learning_rate: float = Field(1e-4, gt=0)
    min_lr_ratio: float = Field(0.0, ge=0, le=1, description="the cosine's floor, as a fraction of learning_rate")
    warmup_steps: int = Field(100, ge=0)
    weight_decay: float = Field(0.1, ge=0)
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = Field(1.0, ge=0, description="max gradient norm; 0 turns clipping off")
    mixed_precision: Literal["auto", "no", "bf16", "fp16"] = "auto"
    gradient_checkpointing: bool = False
    log_every: int = Field(10, ge=1)
    eval_every: int = Field(500, ge=1)
    eval_batches: int = Field(0, ge=0, description="0: the whole validation split")
    save_every: int = Field(500, ge=1)
    keep_checkpoints: int = Field(2, ge=1)
    sample_every: int = Field(0, ge=0, description="0: no sample takes")
    samples: SampleSettings = SampleSettings()
    seed: int = 1234

    @field_validator("betas")
    @classmethod
    def _betas(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not all(0 <= b < 1 for b in v):
            raise ValueError(f"each beta must be within 0..1 (exclusive of 1), got {list(v)}")
        return v

    def fingerprint(self) -> str:
        """What a resumed run must share with the run it continues (the schedule's length may change)."""
        keep = self.model_dump(include={"model", "data", "method", "lora", "caption", "caption_dropout",
                                        "segment_seconds", "batch_size", "grad_accum", "seed"})
        return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:16]


def load_config(path: str | os.PathLike, **overrides: Any) -> TrainConfig:
    """Read and validate a training config; errors name the file and the key."""
    from remaster.processors.base import format_validation_error
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise GenerateError(f"{p}: cannot read the training config ({e.strerror or e})") from None
    except yaml.YAMLError as e:
        raise GenerateError(f"{p}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise GenerateError(f"{p}: expected a mapping of settings (model, data, output, ...)")
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as e:
        raise GenerateError(f"{p}: {format_validation_error(e, model=TrainConfig)}") from None


# ------------------------------------------------------------------------------------------------------------ data


def delay_pattern(codes: Any, lengths: Any, start: int) -> tuple[Any, Any, Any]:
    """Inputs, targets and the loss mask of a batch of codes (B, K, T) under MusicGen's delay pattern.

    The sequence is T + K positions: position 0 is the start token for every codebook, and codebook k holds frame t
    at position t + k + 1; positions before a codebook starts or after it ends hold the start token (as in
    generation) and carry no loss. Inputs are positions 0..T+K-2, targets 1..T+K-1."""
    import torch
    b, k, t = codes.shape
    seq = codes.new_full((b, k, t + k), start)
    valid = torch.zeros((b, k, t + k), dtype=torch.bool, device=codes.device)
    real = torch.arange(t, device=codes.device)[None, :] < lengths[:, None]          # (B, T)
    for q in range(k):
        seq[:, q, q + 1:q + 1 + t] = codes[:, q]
        valid[:, q, q + 1:q + 1 + t] = real
    return seq[..., :-1], seq[..., 1:], valid[..., 1:]


class Batches:
    """Micro-batches from the training split: a fresh permutation every epoch, this process's share of each global
    batch, random crops of `frames`. The crop and the caption dropout of an item come from a generator seeded by
    (seed, epoch, index), so the data position (epoch, pos) is the whole state to save."""

    def __init__(self, windows: Sequence[Any], batch: int, frames: int, seed: int, rank: int = 0, world: int = 1,
                 caption: str = "caption", dropout: float = 0.0) -> None:
        if len(windows) < batch * world:
            raise GenerateError(f"the training split has {len(windows)} windows, fewer than one global batch "
                                f"(batch_size {batch} x {world} processes); lower batch_size")
        self.windows, self.batch, self.frames, self.seed = windows, batch, frames, seed
        self.rank, self.world, self.caption, self.dropout = rank, world, caption, dropout
        self.epoch, self.pos = 0, 0
        self._perm: tuple[int, Any] | None = None

    def _order(self) -> Any:
        import torch
        if self._perm is None or self._perm[0] != self.epoch:
            g = torch.Generator().manual_seed(self.seed * 1000003 + self.epoch)
            self._perm = (self.epoch, torch.randperm(len(self.windows), generator=g))
        return self._perm[1]

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "pos": self.pos}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.pos = int(state["epoch"]), int(state["pos"])

    def plan(self) -> dict[str, Any]:
        """The next micro-batch as a plan: window indices, crop offsets (frames), captions, caption kept (1/0)."""
        import torch
        step = self.batch * self.world
        if self.pos + step > len(self.windows):
            self.epoch, self.pos = self.epoch + 1, 0
        order = self._order()
        first = self.pos + self.rank * self.batch
        items = [int(i) for i in order[first:first + self.batch]]
        self.pos += step
        offsets, captions, keep = [], [], []
        for i in items:
            w = self.windows[i]
            rng = np.random.default_rng([self.seed, self.epoch, i])
            total = w.codes.shape[1]
            offsets.append(int(rng.integers(0, total - self.frames + 1)) if total > self.frames else 0)
            field = self.caption if self.caption != "both" else ("caption", "caption_ko")[int(rng.integers(2))]
            captions.append(w.record.get(field) or w.record["caption"])
            keep.append(float(rng.random() >= self.dropout))
        return {"items": items, "offsets": offsets, "captions": captions, "keep": torch.tensor(keep)}

    def next(self) -> dict[str, Any]:
        p = self.plan()
        codes = [self.windows[i].codes[:, o:o + self.frames] for i, o in zip(p["items"], p["offsets"], strict=True)]
        return collate(codes, p["captions"]) | {"keep": p["keep"]}


def collate(codes: Sequence[Any], captions: Sequence[str]) -> dict[str, Any]:
    """Codes (K, t_i) of one batch padded to the longest, with their lengths."""
    import torch
    k, longest = codes[0].shape[0], max(c.shape[1] for c in codes)
    out = torch.zeros((len(codes), k, longest), dtype=torch.long)
    for i, c in enumerate(codes):
        out[i, :, :c.shape[1]] = c.long()
    return {"codes": out, "lengths": torch.tensor([c.shape[1] for c in codes]), "captions": list(captions)}


def eval_batches(windows: Sequence[Any], batch: int, frames: int, rank: int = 0, world: int = 1,
                 limit: int = 0) -> list[dict[str, Any]]:
    """The validation split in order, the middle `frames` of each window (away from the codec's edge frames), true
    captions; this process's share."""
    import torch
    out = []
    for n, i in enumerate(range(rank * batch, len(windows), batch * world)):
        if limit and n >= limit:
            break
        ws = windows[i:i + batch]
        mid = [max(0, (w.codes.shape[1] - frames) // 2) for w in ws]
        out.append(collate([w.codes[:, m:m + frames] for w, m in zip(ws, mid, strict=True)],
                           [w.record["caption"] for w in ws])
                   | {"keep": torch.ones(len(ws))})
    return out


# ----------------------------------------------------------------------------------------------------------- model


def _module_class() -> type:
    import torch

    class _DecoderLM(torch.nn.Module):
        """MusicGen under its frozen text encoder, as one module whose forward gives the decoder's logits: the
        module accelerate prepares (DDP synchronises gradients through a module's own forward)."""

        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model            # MusicgenForConditionalGeneration, or a PeftModel around it

        @property
        def base(self) -> Any:
            m = self.model
            return m.get_base_model() if hasattr(m, "get_base_model") else m

        def forward(self, input_ids: Any, attention_mask: Any, keep: Any, tokens: Any) -> Any:
            base = self.base
            with torch.no_grad():
                states = base.text_encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            if (base.text_encoder.config.hidden_size != base.decoder.config.hidden_size
                    and base.decoder.config.cross_attention_hidden_size is None):
                states = base.enc_to_dec_proj(states)
            mask = attention_mask * keep[:, None].to(attention_mask.dtype)
            states = states * mask[..., None].to(states.dtype)
            b, k, s = tokens.shape
            logits = base.decoder(input_ids=tokens.reshape(b * k, s), encoder_hidden_states=states,
                                  encoder_attention_mask=mask).logits
            return logits.reshape(b, k, s, -1)

    return _DecoderLM


def prepare_model(model: Any, cfg: TrainConfig) -> Any:
    """Freeze the text encoder and the codec; LoRA on the decoder, or the whole decoder trainable."""
    for p in model.parameters():
        p.requires_grad_(False)
    if cfg.method == "lora":
        from peft import LoraConfig, get_peft_model
        lcfg = LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                          target_modules=list(cfg.lora.target_modules), bias="none")
        try:
            with warnings.catch_warnings():     # peft asks transformers 5 for a renamed attribute
                warnings.simplefilter("ignore", FutureWarning)
                model = get_peft_model(model, lcfg)
        except ValueError as e:
            raise GenerateError(f"lora.target_modules {cfg.lora.target_modules}: {str(e).splitlines()[0]}") from None
    else:
        for name, p in model.named_parameters():
            if name.startswith(("decoder.", "enc_to_dec_proj.")):
                p.requires_grad_(True)
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if cfg.gradient_checkpointing:
        enable = getattr(base.decoder, "activation_checkpointing_enable", None)     # transformers >= 5.x
        if enable is not None:
            enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            base.decoder.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return model


def lm_loss(logits: Any, targets: Any, mask: Any) -> tuple[Any, Any, Any]:
    """Cross-entropy per codebook over the masked positions: (mean over codebooks, per-codebook sums, counts)."""
    import torch
    b, k, s, v = logits.shape
    ce = torch.nn.functional.cross_entropy(logits.float().reshape(-1, v), targets.masked_fill(~mask, -100).reshape(-1),
                                           reduction="none", ignore_index=-100).reshape(b, k, s)
    m = mask.to(ce.dtype)
    sums, counts = (ce * m).sum(dim=(0, 2)), m.sum(dim=(0, 2))
    return (sums / counts.clamp_min(1)).mean(), sums.detach(), counts.detach()


# ------------------------------------------------------------------------------------------------------ checkpoints


def _rng_state() -> dict[str, Any]:
    import torch
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    import torch
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _trainable_state(module: Any) -> dict[str, Any]:
    return {n: p.detach().cpu().contiguous() for n, p in module.named_parameters() if p.requires_grad}


def _checkpoints(out: Path) -> list[Path]:
    root = out / "checkpoints"
    return sorted(p for p in root.glob("step-*") if p.is_dir() and (p / "state.json").is_file()) \
        if root.is_dir() else []


def save_checkpoint(out: Path, step: int, module: Any, optimizer: Any, scheduler: Any, batches: Batches,
                    cfg: TrainConfig, accelerator: Any, extra: dict[str, Any]) -> Path:
    """Everything a resumed run needs, in checkpoints/step-NNNNNN, written to a temporary folder and renamed."""
    import torch
    from safetensors.torch import save_file
    final = out / "checkpoints" / f"step-{step:07d}"
    tmp = out / "checkpoints" / f".step-{step:07d}.tmp"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    torch.save(_rng_state(), tmp / f"rng-{accelerator.process_index}.pt")
    if accelerator.is_main_process:
        save_file(_trainable_state(accelerator.unwrap_model(module)), str(tmp / "trainable.safetensors"))
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
        if accelerator.scaler is not None:            # fp16: the loss scale carries on too
            torch.save(accelerator.scaler.state_dict(), tmp / "scaler.pt")
        state = {"step": step, "data": batches.state_dict(), "world": accelerator.num_processes,
                 "fingerprint": cfg.fingerprint(), **extra}
        (tmp / "state.json").write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        for old in _checkpoints(out)[:-cfg.keep_checkpoints]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


def load_checkpoint(path: Path, module: Any, optimizer: Any, scheduler: Any, batches: Batches, cfg: TrainConfig,
                    accelerator: Any) -> dict[str, Any]:
    import torch
    from safetensors.torch import load_file
    state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    if state.get("fingerprint") != cfg.fingerprint():
        raise GenerateError(f"{path}: this checkpoint is of a run with another model, data, method or batch; "
                            "use a new `output`, or pass --fresh to start over in this one")
    if state.get("world") != accelerator.num_processes:
        raise GenerateError(f"{path}: saved with {state.get('world')} processes, resumed with "
                            f"{accelerator.num_processes}; the data order depends on it: launch the same number")
    unwrapped = accelerator.unwrap_model(module)
    weights = load_file(str(path / "trainable.safetensors"))
    expected = {n for n, p in unwrapped.named_parameters() if p.requires_grad}
    if set(weights) != expected:
        raise GenerateError(f"{path}: its weights do not match this run's trainable parameters")
    unwrapped.load_state_dict(weights, strict=False)
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", map_location="cpu", weights_only=False))
    scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=False))
    if accelerator.scaler is not None and (path / "scaler.pt").is_file():
        accelerator.scaler.load_state_dict(torch.load(path / "scaler.pt", weights_only=False))
    batches.load_state_dict(state["data"])
    _set_rng_state(torch.load(path / f"rng-{accelerator.process_index}.pt", weights_only=False))
    return state


# ----------------------------------------------------------------------------------------------------- the loop


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


def _schedule(cfg: TrainConfig) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < cfg.warmup_steps:
            return (step + 1) / (cfg.warmup_steps + 1)
        span = max(1, cfg.max_steps - cfg.warmup_steps)
        progress = min(1.0, (step - cfg.warmup_steps) / span)
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return factor


def _mixed_precision(setting: str) -> str:
    import torch
    if setting != "auto":
        return setting
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "no"


def _log_rows(path: Path, upto: int) -> None:
    """Drop log rows after `upto`: they belong to steps a resumed run does again."""
    if not path.is_file():
        return
    from remaster.audio import atomic_write_text
    keep = [line for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= upto]
    atomic_write_text(path, "".join(line + "\n" for line in keep))


def train(cfg: TrainConfig, *, fresh: bool = False, progress: bool = True, stop_after: int | None = None,
          loaded: Any = None) -> TrainResult:
    """Run (or resume) the training that `cfg` describes, then export the result into OUTPUT/final.

    `stop_after`: stop once that many steps are done, as an interruption would (the checkpoint is saved first).
    `loaded`: an already loaded base model (`generate.musicgen.Loaded`), as tests pass."""
    import torch
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    from .. import musicgen
    from .tokens import TokenCache

    out = Path(cfg.output)
    cache = TokenCache(cfg.data)
    accelerator = Accelerator(mixed_precision=_mixed_precision(cfg.mixed_precision), log_with="tensorboard",
                              project_dir=str(out))
    main = accelerator.is_main_process
    if fresh and main:
        shutil.rmtree(out / "checkpoints", ignore_errors=True)
        (out / "log.jsonl").unlink(missing_ok=True)
    accelerator.wait_for_everyone()
    set_seed(cfg.seed)
    n_train = len(cache.split("train"))
    if n_train < cfg.batch_size * accelerator.num_processes:       # before the model loads: fail fast
        raise GenerateError(f"{cfg.data}: the training split has {n_train} windows, fewer than one global batch "
                            f"(batch_size {cfg.batch_size} x {accelerator.num_processes} processes); lower batch_size")

    if loaded is None:
        loaded = musicgen.load_model(cfg.model, device="cpu", dtype="fp32", engine="transformers")
    base = loaded.model
    if cache.codebooks != loaded.num_codebooks or abs(cache.frame_rate - loaded.frame_rate) > 1e-6:
        raise GenerateError(f"{cfg.data} was encoded for {cache.meta.get('model')} ({cache.codebooks} codebooks at "
                            f"{cache.frame_rate:g} Hz), not {cfg.model}: tokenize the dataset with this model")
    gen = base.generation_config
    start = int(gen.decoder_start_token_id if gen.decoder_start_token_id is not None else gen.bos_token_id)
    positions = int(base.config.decoder.max_position_embeddings)
    frames = min(round(cfg.segment_seconds * loaded.frame_rate), positions - loaded.num_codebooks + 1)
    model = prepare_model(base, cfg)
    module = _module_class()(model)
    module.train()
    trainable = [p for p in module.parameters() if p.requires_grad]
    decay = [p for p in trainable if p.dim() >= 2]          # no decay on biases and norms
    rest = [p for p in trainable if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                   {"params": rest, "weight_decay": 0.0}],
                                  lr=cfg.learning_rate, betas=cfg.betas)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(cfg))
    module, optimizer = accelerator.prepare(module, optimizer)

    train_windows, valid_windows = cache.split("train"), cache.split("valid")
    batches = Batches(train_windows, cfg.batch_size, frames, cfg.seed, accelerator.process_index,
                      accelerator.num_processes, cfg.caption, cfg.caption_dropout)
    step, resumed_from = 0, None
    done = _checkpoints(out)
    if done:
        state = load_checkpoint(done[-1], module, optimizer, scheduler, batches, cfg, accelerator)
        step = resumed_from = int(state["step"])
    if step >= cfg.max_steps and (out / "final" / "sori-train.json").is_file():
        card = json.loads((out / "final" / "sori-train.json").read_text(encoding="utf-8"))
        if card.get("steps") == step:         # finished before: nothing to do
            accelerator.end_training()
            return TrainResult(out, step, [], card.get("val_loss"), card.get("val_loss_per_codebook"),
                               out / "final", resumed_from, main)
    log_path = out / "log.jsonl"
    if main:
        from remaster.audio import atomic_write_text
        out.mkdir(parents=True, exist_ok=True)
        _log_rows(log_path, step)
        atomic_write_text(out / "config.yaml", yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False,
                                                              allow_unicode=True))
    accelerator.init_trackers("tensorboard", config=_flat(cfg.model_dump(mode="json")))
    tokenizer = loaded.processor.tokenizer
    device = accelerator.device

    def run(batch: dict[str, Any]) -> tuple[Any, Any, Any]:
        text = tokenizer(batch["captions"], padding=True, return_tensors="pt")
        codes, lengths = batch["codes"].to(device), batch["lengths"].to(device)
        inputs, targets, mask = delay_pattern(codes, lengths, start)
        logits = module(text["input_ids"].to(device), text["attention_mask"].to(device),
                        batch["keep"].to(device), inputs)
        return lm_loss(logits, targets, mask)

    def evaluate() -> tuple[float, list[float]] | None:
        if not valid_windows:
            return None
        module.eval()
        sums = torch.zeros(loaded.num_codebooks, device=device)
        counts = torch.zeros(loaded.num_codebooks, device=device)
        with torch.no_grad():
            for b in eval_batches(valid_windows, cfg.batch_size, frames, accelerator.process_index,
                                  accelerator.num_processes, cfg.eval_batches):
                _, s, c = run(b)
                sums, counts = sums + s, counts + c
        module.train()
        sums, counts = accelerator.reduce(sums, "sum"), accelerator.reduce(counts, "sum")
        per = (sums / counts.clamp_min(1)).tolist()
        return float(np.mean(per)), per

    losses: list[tuple[int, float]] = []
    val: tuple[float, list[float]] | None = None
    bar = _bar(progress and main, cfg.max_steps, step)
    t_last, tokens = time.perf_counter(), 0.0
    with bar:
        while step < cfg.max_steps:
            total, count = 0.0, 0.0
            for micro in range(cfg.grad_accum):
                sync = micro == cfg.grad_accum - 1
                with contextlib.nullcontext() if sync else accelerator.no_sync(module):
                    loss, _, c = run(batches.next())
                    accelerator.backward(loss / cfg.grad_accum)
                total += loss.item() / cfg.grad_accum
                count += c.sum().item()
            if cfg.grad_clip > 0:
                accelerator.clip_grad_norm_(module.parameters(), cfg.grad_clip)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            loss_all = accelerator.reduce(torch.tensor(total, device=device), "mean").item()
            tokens += accelerator.reduce(torch.tensor(count, device=device), "sum").item()
            losses.append((step, loss_all))
            row: dict[str, Any] = {"step": step, "loss": loss_all, "lr": scheduler.get_last_lr()[0],
                                   "epoch": batches.epoch}
            if step % cfg.log_every == 0 or step == cfg.max_steps:
                now = time.perf_counter()
                row["tokens_per_s"] = tokens / max(now - t_last, 1e-9)
                t_last, tokens = now, 0.0
            if step % cfg.eval_every == 0 or step == cfg.max_steps:
                val = evaluate()
                if val is not None:
                    row["val_loss"] = val[0]
                    row.update({f"val_loss_cb{k}": v for k, v in enumerate(val[1])})
            accelerator.log({f"train/{k}" if not k.startswith("val") else k.replace("val_", "val/"): v
                             for k, v in row.items() if k != "step"}, step=step)
            if main:
                with log_path.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(row) + "\n")
            if cfg.sample_every and cfg.samples.prompts and (step % cfg.sample_every == 0 or step == cfg.max_steps):
                write_samples(accelerator, module, loaded, cfg, out / "samples" / f"step-{step:07d}")
            stopping = stop_after is not None and step >= stop_after
            if step % cfg.save_every == 0 or step == cfg.max_steps or stopping:
                save_checkpoint(out, step, module, optimizer, scheduler, batches, cfg, accelerator,
                                {"val_loss": val[0] if val else None})
            if bar.tasks:
                bar.update(bar.tasks[0].id, completed=step, description=f"loss {loss_all:.3f}"
                           + (f"  val {val[0]:.3f}" if val else ""))
            if stopping:
                break
    export = None
    if step >= cfg.max_steps:
        export = export_model(accelerator, module, loaded, cfg, out, step, val)
    accelerator.end_training()
    return TrainResult(out, step, losses, val[0] if val else None, val[1] if val else None, export, resumed_from,
                       main)


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """TensorBoard's hparams take scalars and strings only."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flat(v, key + "."))
        elif isinstance(v, list | tuple):
            out[key] = ", ".join(map(str, v))
        else:
            out[key] = v
    return out


def _bar(enabled: bool, total: int, done: int) -> Any:
    from remaster.progress import progress_bar
    bar = progress_bar("train", enabled=enabled, remaining=True)
    if enabled:
        bar.add_task("", total=total, completed=done)
    return bar


def _with_rng_kept(fn: Callable[[], Any]) -> Any:
    """Run `fn` without disturbing any RNG, so samples and evaluation leave the training randomness as it was."""
    state = _rng_state()
    try:
        return fn()
    finally:
        _set_rng_state(state)


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
            _with_rng_kept(make)
    accelerator.wait_for_everyone()


def export_model(accelerator: Any, module: Any, loaded: Any, cfg: TrainConfig, out: Path, step: int,
                 val: tuple[float, list[float]] | None) -> Path:
    """OUTPUT/final: the LoRA adapter alone (its config names the base model) or the whole fine-tuned model with
    its processor; either loads with `sori generate --model OUTPUT/final`."""
    final = out / "final"
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        tmp = out / ".final.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        inner = accelerator.unwrap_model(module).model
        if cfg.method == "lora":
            inner.save_pretrained(str(tmp))
            cfg_path = tmp / "adapter_config.json"
            adapter = json.loads(cfg_path.read_text(encoding="utf-8"))
            local = Path(cfg.model).expanduser()
            adapter["base_model_name_or_path"] = str(local.resolve()) if local.is_dir() else cfg.model
            cfg_path.write_text(json.dumps(adapter, indent=2) + "\n", encoding="utf-8")
        else:
            inner.save_pretrained(str(tmp))
            loaded.processor.save_pretrained(str(tmp))
        card = {"base_model": cfg.model, "method": cfg.method, "steps": step, "data": cfg.data,
                "val_loss": val[0] if val else None, "val_loss_per_codebook": val[1] if val else None,
                "config": cfg.model_dump(mode="json")}
        (tmp / "sori-train.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        old = out / ".final.old"
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


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
