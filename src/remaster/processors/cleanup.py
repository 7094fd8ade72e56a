"""Cleanup: remove DC offset and subsonic rumble before anything measures or boosts them."""

from __future__ import annotations

import numpy as np
from pydantic import Field
from scipy.signal import butter, sosfilt

from .base import Context, Params, Processed, Processor, register


class CleanupParams(Params):
    dc: bool = True
    highpass_hz: float = Field(20.0, ge=0.0, le=300.0, description="0 turns the high-pass off")
    order: int = Field(2, ge=1, le=8)


@register
class Cleanup(Processor):
    """Subtract each channel's mean, then a Butterworth high-pass (DC and rumble below `highpass_hz`)."""

    name = "cleanup"
    Params = CleanupParams

    def process(self, audio: np.ndarray, sample_rate: int, context: Context) -> Processed:
        p = self.params
        offsets = audio.mean(axis=-1, keepdims=True, dtype=np.float64)
        out = (audio - offsets).astype(np.float32) if p.dc else audio
        if p.highpass_hz > 0:
            sos = butter(p.order, p.highpass_hz, btype="highpass", fs=sample_rate, output="sos")
            out = sosfilt(sos, out, axis=-1).astype(np.float32)
        return Processed(out, sample_rate, {"dc_removed": float(np.abs(offsets).max()) if p.dc else 0.0,
                                            "highpass_hz": p.highpass_hz})
