"""`sori train`'s YAML: `TrainConfig` (every key, its default and its bounds) and `load_config`.

    from generate.finetune.config import load_config
    cfg = load_config("configs/finetune/gugak-lora.yaml", max_steps=100)     # overrides, as the CLI passes them
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import GenerateError


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

    def hparams(self) -> dict[str, Any]:
        """The settings flattened ('lora.r', lists joined): TensorBoard's hparams take scalars and strings only."""
        return _flat(self.model_dump(mode="json"))


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


def mixed_precision(setting: str) -> str:
    """The config's mixed_precision for accelerate: 'auto' is bf16 on GPUs that have it, fp16 on older ones."""
    import torch
    if setting != "auto":
        return setting
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "no"


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
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
