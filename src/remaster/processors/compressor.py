"""Compressor (pedalboard) with make-up gain."""

from __future__ import annotations

import math

import numpy as np
import pedalboard

from ..analysis.levels import db, rms, sample_peak
from ..analysis.loudness import integrated_loudness
from ..errors import ProcessingError
from . import streaming
from .base import Params, Processed, Processor, Report, param, register, reported


class CompressorParams(Params):
    threshold_db: float = param(-18.0, unit="dB", ge=-60.0, le=30.0,
                                description="level above which gain is reduced: dBFS, or dB above the take's "
                                "integrated loudness when `relative`")
    relative: bool = param(False, unit="on/off", description="threshold in dB above the input's integrated "
                           "loudness, so takes at any level get the same treatment")
    ratio: float = param(2.0, unit="ratio", ge=1.0, le=30.0, description="input dB over the threshold per output dB")
    attack_ms: float = param(10.0, unit="ms", ge=0.1, le=500.0, description="how fast gain reduction starts")
    release_ms: float = param(150.0, unit="ms", ge=1.0, le=5000.0, description="how fast gain reduction recovers")
    makeup_db: float = param(0.0, unit="dB", ge=-24.0, le=24.0, description="gain added after compression")


class CompressorReport(Report):
    threshold_db: float | None = reported(unit="dBFS", description="threshold used, when it was relative")
    crest_in_db: float | None = reported(unit="dB", description="peak-to-RMS ratio before")
    crest_out_db: float | None = reported(unit="dB", description="peak-to-RMS ratio after", column=True)


@register
class Compressor(Processor):
    name = "compressor"
    Params = CompressorParams
    Report = CompressorReport

    def process(self, audio: np.ndarray, sample_rate: int) -> Processed:
        p = self.params
        threshold = p.threshold_db
        info: dict = {}
        if p.relative:
            level = integrated_loudness(audio, sample_rate)
            threshold = min(0.0, (level if math.isfinite(level) else -70.0) + p.threshold_db)
            info["threshold_db"] = round(threshold, 2)
        elif p.threshold_db > 0:
            raise ProcessingError(f"{self.label}.threshold_db: {p.threshold_db} dB is above full scale; "
                                  "allowed: -60 to 0 (or set relative: true)")
        plugins = [pedalboard.Compressor(threshold, p.ratio, p.attack_ms, p.release_ms)]
        if p.makeup_db:
            plugins.append(pedalboard.Gain(p.makeup_db))
        out = streaming.process(pedalboard.Pedalboard(plugins), audio, sample_rate)
        crest_in = db(sample_peak(audio) / max(rms(audio), 1e-12))
        crest_out = db(sample_peak(out) / max(rms(out), 1e-12))
        info.update(crest_in_db=round(crest_in, 2), crest_out_db=round(crest_out, 2))
        return Processed(out, sample_rate, info)
