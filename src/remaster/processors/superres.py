"""Super-resolution to 48 kHz (see remaster.superres): `bwe` (built in), `audiosr` (diffusion), `none`."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from ..superres import audiosr_client as audiosr
from ..superres.bwe import extend
from ..superres.cutoff import detect_cutoff
from .base import Context, Params, Processed, Processor, register
from .resample import resample


class SuperresParams(Params):
    backend: Literal["bwe", "audiosr", "none"] = "bwe"
    sample_rate: int = Field(48_000, ge=8_000, le=192_000)
    quality: Literal["VHQ", "HQ", "MQ", "LQ"] = "HQ"
    amount: float = Field(1.0, ge=0.0, le=2.0, description="level of the synthesised band (bwe)")
    cutoff_hz: float | None = Field(None, ge=1_000, le=96_000, description="override the detected cutoff")
    top_hz: float = Field(20_000.0, ge=4_000, le=96_000, description="highest frequency bwe synthesises")
    model: Literal["basic", "speech"] = "basic"
    device: str = "auto"
    steps: int = Field(50, ge=1, le=1000)
    guidance: float = Field(3.5, ge=0.0, le=20.0)
    seed: int = 0
    chunk_s: float = Field(10.24, ge=2.0, le=60.0)
    overlap_s: float = Field(0.5, ge=0.0, le=5.0)
    python: str | None = Field(None, description="interpreter of an environment with audiosr")


@register
class Superres(Processor):
    """Resample to `sample_rate` and rebuild the band above the input's real cutoff."""

    name = "superres"
    Params = SuperresParams

    def process(self, audio: np.ndarray, sample_rate: int, context: Context) -> Processed:
        p = self.params
        if p.backend == "audiosr":
            out = audiosr.super_resolve(audio, sample_rate, model=p.model, device=p.device, steps=p.steps,
                                        guidance=p.guidance, seed=p.seed, chunk_s=p.chunk_s,
                                        overlap_s=p.overlap_s, python=p.python)
            rate = audiosr.OUTPUT_RATE
            if rate != p.sample_rate:
                out, rate = resample(out, rate, p.sample_rate, p.quality), p.sample_rate
            cutoff = detect_cutoff(resample(audio, sample_rate, rate, p.quality), rate)
        else:
            rate = p.sample_rate
            out = resample(audio, sample_rate, rate, p.quality)
            cutoff = p.cutoff_hz or detect_cutoff(out, rate)
            if p.backend == "bwe" and cutoff < rate / 2:
                out = extend(out, rate, cutoff, p.amount, p.top_hz)
        return Processed(out, rate, {"backend": p.backend, "from_hz": sample_rate, "to_hz": rate,
                                     "input_cutoff_hz": round(cutoff, 1),
                                     "output_bandwidth_hz": round(detect_cutoff(out, rate), 1)})
