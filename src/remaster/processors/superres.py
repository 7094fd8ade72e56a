"""Super-resolution to 48 kHz (see remaster.superres): `bwe` (built in), `audiosr` (diffusion), `none`."""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..superres import audiosr_client as audiosr
from ..superres.bwe import extend
from ..superres.cutoff import detect_cutoff
from .base import Params, Processed, Processor, Report, param, register, reported
from .resample import resample


class SuperresParams(Params):
    backend: Literal["bwe", "audiosr", "none"] = param(
        "bwe", unit="choice", description="bwe: built-in bandwidth extension; audiosr: diffusion model in its own "
        "environment; none: resampling only")
    sample_rate: int = param(48_000, unit="Hz", ge=8_000, le=192_000, description="output sample rate")
    quality: Literal["VHQ", "HQ", "MQ", "LQ"] = param("HQ", unit="choice", description="soxr quality recipe")
    amount: float = param(1.0, unit="ratio", ge=0.0, le=2.0, description="level of the synthesised band (bwe)")
    cutoff_hz: float | None = param(None, unit="Hz", ge=1_000, le=96_000,
                                    description="override the detected cutoff of the input")
    top_hz: float = param(20_000.0, unit="Hz", ge=4_000, le=96_000, description="highest frequency bwe synthesises")
    model: Literal["basic", "speech"] = param("basic", unit="choice", description="AudioSR model (audiosr)")
    device: str = param("auto", unit="device", description="AudioSR device: auto, cpu, cuda, cuda:N, mps")
    steps: int = param(50, unit="steps", ge=1, le=1000, description="AudioSR diffusion steps")
    guidance: float = param(3.5, unit="scale", ge=0.0, le=20.0, description="AudioSR classifier-free guidance")
    seed: int = param(0, unit="seed", description="AudioSR random seed")
    chunk_s: float = param(10.24, unit="s", ge=2.0, le=60.0, description="AudioSR chunk length for long takes")
    overlap_s: float = param(0.5, unit="s", ge=0.0, le=5.0, description="AudioSR chunk overlap")
    python: str | None = param(None, unit="path", description="interpreter of an environment with audiosr")


class SuperresReport(Report):
    backend: str | None = reported(unit="choice", description="backend used")
    from_hz: int | None = reported(unit="Hz", description="input sample rate")
    to_hz: int | None = reported(unit="Hz", description="output sample rate")
    input_cutoff_hz: float | None = reported(unit="Hz", description="where the input's content ends", column=True)
    output_cutoff_hz: float | None = reported(unit="Hz", description="where the output's content ends (found as the "
                                              "input's is)", column=True)


@register
class Superres(Processor):
    """Resample to `sample_rate` and rebuild the band above the input's real cutoff."""

    name = "superres"
    Params = SuperresParams
    Report = SuperresReport

    def process(self, audio: np.ndarray, sample_rate: int) -> Processed:
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
                                     "output_cutoff_hz": round(detect_cutoff(out, rate), 1)})
