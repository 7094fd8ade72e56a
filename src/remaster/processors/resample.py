"""Sample-rate conversion with soxr."""

from __future__ import annotations

from typing import Literal

import numpy as np
import soxr

from .base import Params, Processed, Processor, Report, param, register, reported


class ResampleParams(Params):
    sample_rate: int = param(48_000, unit="Hz", ge=8_000, le=192_000, description="output sample rate")
    quality: Literal["VHQ", "HQ", "MQ", "LQ"] = param("HQ", unit="choice", description="soxr quality recipe")


class ResampleReport(Report):
    from_hz: int | None = reported(unit="Hz", description="input sample rate")
    to_hz: int | None = reported(unit="Hz", description="output sample rate")


def resample(audio: np.ndarray, rate_in: int, rate_out: int, quality: str = "HQ") -> np.ndarray:
    if rate_in == rate_out:
        return audio
    out = soxr.resample(np.ascontiguousarray(audio.T), rate_in, rate_out, quality=quality)
    return np.ascontiguousarray(out.reshape(-1, audio.shape[0]).T, dtype=np.float32)


@register
class Resample(Processor):
    name = "resample"
    Params = ResampleParams
    Report = ResampleReport

    def process(self, audio: np.ndarray, sample_rate: int) -> Processed:
        target = self.params.sample_rate
        out = resample(audio, sample_rate, target, self.params.quality)
        return Processed(out, target, {"from_hz": sample_rate, "to_hz": target})
