"""Fade in and out."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from .base import Context, Params, Processed, Processor, register


class FadeParams(Params):
    in_ms: float = Field(0.0, ge=0.0, le=60_000.0)
    out_ms: float = Field(0.0, ge=0.0, le=60_000.0)
    curve: Literal["linear", "sine"] = "sine"


def _ramp(n: int, curve: str) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n, endpoint=False, dtype=np.float64) + 0.5 / max(n, 1)
    return (np.sin(t * np.pi / 2) if curve == "sine" else t).astype(np.float32)


@register
class Fade(Processor):
    name = "fade"
    Params = FadeParams

    def process(self, audio: np.ndarray, sample_rate: int, context: Context) -> Processed:
        p = self.params
        frames = audio.shape[-1]
        n_in = min(frames // 2, round(p.in_ms * sample_rate / 1000))
        n_out = min(frames // 2, round(p.out_ms * sample_rate / 1000))
        out = audio.copy()
        if n_in:
            out[:, :n_in] *= _ramp(n_in, p.curve)
        if n_out:
            out[:, frames - n_out:] *= _ramp(n_out, p.curve)[::-1]
        return Processed(out, sample_rate, {"in_s": n_in / sample_rate, "out_s": n_out / sample_rate})
