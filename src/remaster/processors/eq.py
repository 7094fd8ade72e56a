"""EQ: shelves, peaks and low/high-pass filters (pedalboard)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pedalboard

from ..errors import ProcessingError
from . import streaming
from .base import Params, Processed, Processor, Report, param, register, reported


class Band(Params):
    type: Literal["low_shelf", "high_shelf", "peak", "highpass", "lowpass"] = param(
        unit="choice", description="filter shape")
    freq_hz: float = param(unit="Hz", ge=10.0, le=40_000.0, description="corner or centre frequency")
    gain_db: float = param(0.0, unit="dB", ge=-24.0, le=24.0, description="boost or cut (shelves and peaks)")
    q: float = param(0.7071, unit="Q", gt=0.05, le=20.0, description="bandwidth: higher is narrower")
    slope_db: Literal[6, 12, 18, 24] = param(12, unit="dB/octave", description="roll-off of highpass/lowpass")


class EqParams(Params):
    bands: list[Band] = param(unit="bands", default_factory=list, max_length=32,
                              description="filters applied in order")


class EqReport(Report):
    bands: int | None = reported(unit="count", description="filters applied")


def _plugins(band: Band) -> list[pedalboard.Plugin]:
    if band.type == "low_shelf":
        return [pedalboard.LowShelfFilter(band.freq_hz, band.gain_db, band.q)]
    if band.type == "high_shelf":
        return [pedalboard.HighShelfFilter(band.freq_hz, band.gain_db, band.q)]
    if band.type == "peak":
        return [pedalboard.PeakFilter(band.freq_hz, band.gain_db, band.q)]
    # pedalboard's pass filters are first order (6 dB/octave): cascade them for steeper slopes.
    kind = pedalboard.HighpassFilter if band.type == "highpass" else pedalboard.LowpassFilter
    return [kind(band.freq_hz) for _ in range(band.slope_db // 6)]


@register
class Eq(Processor):
    name = "eq"
    Params = EqParams
    Report = EqReport

    def process(self, audio: np.ndarray, sample_rate: int) -> Processed:
        bands = self.params.bands
        for i, band in enumerate(bands):
            if band.freq_hz >= sample_rate / 2:
                raise ProcessingError(
                    f"{self.label}.bands.{i}: {band.freq_hz:g} Hz is at or above the Nyquist frequency of "
                    f"{sample_rate} Hz audio; place '{self.label}' after 'resample' or lower the frequency")
        if not bands:
            return Processed(audio, sample_rate, {"bands": 0})
        board = pedalboard.Pedalboard([plugin for b in bands for plugin in _plugins(b)])
        return Processed(streaming.process(board, audio, sample_rate), sample_rate, {"bands": len(bands)})
