"""Sample-rate conversion with soxr."""

from __future__ import annotations

from typing import Literal

import numpy as np
import soxr
from pydantic import Field

from .base import Context, Params, Processed, Processor, register


class ResampleParams(Params):
    sample_rate: int = Field(48_000, ge=8_000, le=192_000)
    quality: Literal["VHQ", "HQ", "MQ", "LQ"] = "HQ"


def resample(audio: np.ndarray, rate_in: int, rate_out: int, quality: str = "HQ") -> np.ndarray:
    if rate_in == rate_out:
        return audio
    out = soxr.resample(np.ascontiguousarray(audio.T), rate_in, rate_out, quality=quality)
    return np.ascontiguousarray(out.reshape(-1, audio.shape[0]).T, dtype=np.float32)


@register
class Resample(Processor):
    name = "resample"
    Params = ResampleParams

    def process(self, audio: np.ndarray, sample_rate: int, context: Context) -> Processed:
        target = self.params.sample_rate
        out = resample(audio, sample_rate, target, self.params.quality)
        return Processed(out, target, {"from_hz": sample_rate, "to_hz": target})
