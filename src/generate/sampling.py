"""The sampling parameters of a take and what a request for takes must satisfy: checked before any model loads, so
this module imports nothing heavy (`generate.request` and the CLI use it before numpy or torch are needed)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from .errors import GenerateError

MAX_SEED = 2**31 - 1


@dataclass(frozen=True)
class Sampling:
    """The sampling parameters of a generation, as the sidecar records them."""

    guidance_scale: float = 3.0
    top_k: int = 250
    top_p: float = 0.0
    temperature: float = 1.0

    def check(self) -> None:
        if not (math.isfinite(self.guidance_scale) and self.guidance_scale >= 0):
            raise GenerateError(f"guidance_scale {self.guidance_scale}: must be a number >= 0 (1 or less turns "
                                "classifier-free guidance off)")
        if self.top_k < 0:
            raise GenerateError(f"top_k {self.top_k}: must be >= 0 (0 turns top-k filtering off)")
        if not 0.0 <= self.top_p <= 1.0:
            raise GenerateError(f"top_p {self.top_p}: must be within 0..1 (0 turns nucleus sampling off)")
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            raise GenerateError(f"temperature {self.temperature}: must be > 0")

    def generate_kwargs(self) -> dict[str, Any]:
        return {"do_sample": True, "guidance_scale": self.guidance_scale if self.guidance_scale > 1 else None,
                "top_k": int(self.top_k), "top_p": self.top_p if 0.0 < self.top_p < 1.0 else 1.0,
                "temperature": float(self.temperature)}


def check_request(n: int, duration: float, seed: int | None, sampling: Sampling, stem: str = "take") -> Sampling:
    """What a request for takes must satisfy, checked before any model loads."""
    if n < 1:
        raise GenerateError(f"n {n}: the number of takes must be at least 1")
    if not stem or "/" in stem or os.sep in stem:
        raise GenerateError(f"stem '{stem}': must be a plain file name prefix")
    sampling.check()
    if not (math.isfinite(duration) and duration > 0):
        raise GenerateError(f"duration {duration}: must be a positive number of seconds")
    if seed is not None and not 0 <= seed <= MAX_SEED - n:
        raise GenerateError(f"seed {seed}: must be within 0..{MAX_SEED - n} for {n} takes")
    return sampling
