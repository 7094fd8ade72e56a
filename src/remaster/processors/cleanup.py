"""Cleanup: remove DC offset and subsonic rumble before anything measures or boosts them."""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfilt

from .base import Params, Processed, Processor, Report, param, register, reported

CHUNK = 1 << 18


class CleanupParams(Params):
    dc: bool = param(True, unit="on/off", description="subtract each channel's mean (DC offset)")
    highpass_hz: float = param(20.0, unit="Hz", ge=0.0, le=300.0,
                               description="Butterworth high-pass corner against rumble; 0 turns it off")
    order: int = param(2, unit="order", ge=1, le=8, description="high-pass filter order (6 dB per octave each)")


class CleanupReport(Report):
    dc_removed: float | None = reported(unit="FS", description="largest DC offset removed, as a fraction of full "
                                        "scale", column=True)
    highpass_hz: float | None = reported(unit="Hz", description="high-pass corner used (0: off)")


@register
class Cleanup(Processor):
    """Subtract each channel's mean, then a Butterworth high-pass (DC and rumble below `highpass_hz`)."""

    name = "cleanup"
    Params = CleanupParams
    Report = CleanupReport

    def process(self, audio: np.ndarray, sample_rate: int) -> Processed:
        p = self.params
        offsets = audio.mean(axis=-1, keepdims=True, dtype=np.float64)
        if not p.dc and p.highpass_hz <= 0:
            return Processed(audio, sample_rate, {"dc_removed": 0.0, "highpass_hz": p.highpass_hz})
        sos = butter(p.order, p.highpass_hz, btype="highpass", fs=sample_rate, output="sos") \
            if p.highpass_hz > 0 else None
        shift = offsets.astype(np.float32) if p.dc else np.zeros_like(offsets, dtype=np.float32)
        out = np.empty_like(audio, dtype=np.float32)
        state = np.zeros((sos.shape[0], audio.shape[0], 2)) if sos is not None else None
        for a in range(0, audio.shape[-1], CHUNK):          # a chunk at a time: no full-length float64 copy
            block = audio[:, a: a + CHUNK] - shift
            if sos is not None:
                block, state = sosfilt(sos, block, axis=-1, zi=state)
            out[:, a: a + CHUNK] = block
        return Processed(out, sample_rate, {"dc_removed": float(np.abs(offsets).max()) if p.dc else 0.0,
                                            "highpass_hz": p.highpass_hz})
