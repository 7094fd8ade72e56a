"""Fade in and out."""

from __future__ import annotations

from typing import Literal

import numpy as np

from .base import Params, Processed, Processor, Report, param, register, reported


class FadeParams(Params):
    in_ms: float = param(0.0, unit="ms", ge=0.0, le=60_000.0, description="fade-in length (at most half the take)")
    out_ms: float = param(0.0, unit="ms", ge=0.0, le=60_000.0, description="fade-out length (at most half the take)")
    curve: Literal["linear", "sine"] = param("sine", unit="choice", description="shape of the gain ramp")


class FadeReport(Report):
    in_s: float | None = reported(unit="s", description="fade-in applied")
    out_s: float | None = reported(unit="s", description="fade-out applied")


def _ramp(n: int, curve: str) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n, endpoint=False, dtype=np.float64) + 0.5 / max(n, 1)
    return (np.sin(t * np.pi / 2) if curve == "sine" else t).astype(np.float32)


@register
class Fade(Processor):
    name = "fade"
    Params = FadeParams
    Report = FadeReport

    def process(self, audio: np.ndarray, sample_rate: int) -> Processed:
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
