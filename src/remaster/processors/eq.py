"""EQ: shelves, peaks and low/high-pass filters (pedalboard)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pedalboard
from pydantic import Field

from ..errors import ProcessingError
from .base import Context, Params, Processed, Processor, register


class Band(Params):
    type: Literal["low_shelf", "high_shelf", "peak", "highpass", "lowpass"]
    freq_hz: float = Field(ge=10.0, le=40_000.0)
    gain_db: float = Field(0.0, ge=-24.0, le=24.0)
    q: float = Field(0.7071, gt=0.05, le=20.0)


class EqParams(Params):
    bands: list[Band] = Field(default_factory=list, max_length=32)


def _plugin(band: Band) -> pedalboard.Plugin:
    if band.type == "low_shelf":
        return pedalboard.LowShelfFilter(band.freq_hz, band.gain_db, band.q)
    if band.type == "high_shelf":
        return pedalboard.HighShelfFilter(band.freq_hz, band.gain_db, band.q)
    if band.type == "peak":
        return pedalboard.PeakFilter(band.freq_hz, band.gain_db, band.q)
    if band.type == "highpass":
        return pedalboard.HighpassFilter(band.freq_hz)
    return pedalboard.LowpassFilter(band.freq_hz)


@register
class Eq(Processor):
    name = "eq"
    Params = EqParams

    def process(self, audio: np.ndarray, sample_rate: int, context: Context) -> Processed:
        bands = self.params.bands
        for i, band in enumerate(bands):
            if band.freq_hz >= sample_rate / 2:
                raise ProcessingError(
                    f"{self.label}.bands.{i}: {band.freq_hz:g} Hz is at or above the Nyquist frequency of "
                    f"{sample_rate} Hz audio; place '{self.label}' after 'resample' or lower the frequency")
        if not bands:
            return Processed(audio, sample_rate, {"bands": 0})
        board = pedalboard.Pedalboard([_plugin(b) for b in bands])
        return Processed(board(audio, sample_rate), sample_rate, {"bands": len(bands)})
