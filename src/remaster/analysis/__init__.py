"""Measurements of audio: loudness, true peak, levels and spectrum. See `analyze` for the full report."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from . import levels, loudness, truepeak

__all__ = ["Metrics", "analyze", "levels", "loudness", "truepeak"]


def _m(unit: str, description: str, column: bool = True) -> Any:
    return field(metadata={"unit": unit, "description": description, "column": column})


@dataclass(frozen=True)
class Metrics:
    """What `analyze` measures; each field declares its unit and whether the batch CSV has a column for it."""

    integrated_lufs: float = _m("LUFS", "integrated loudness, ITU-R BS.1770-4 (None: silent)")
    loudness_range_lu: float = _m("LU", "loudness range, EBU Tech 3342")
    true_peak_dbtp: float = _m("dBTP", "true peak, 4x oversampled (BS.1770-4 Annex 2)")
    sample_peak_dbfs: float = _m("dBFS", "largest sample")
    clipped_samples: int = _m("count", "samples at or over full scale")
    crest_factor_db: float = _m("dB", "peak to RMS", column=False)
    dc_offset: float = _m("FS", "largest channel mean", column=False)
    noise_floor_dbfs: float = _m("dBFS", "level of the quietest stretch")
    rolloff_hz: float = _m("Hz", "spectral roll-off: the frequency below which 99 % of the energy lies (not where "
                           "the content ends: a superres stage reports that as its cutoffs)")
    duration_s: float = _m("s", "length")
    sample_rate: int = _m("Hz", "sample rate")
    channels: int = _m("count", "channels")

    @classmethod
    def columns(cls) -> list[str]:
        return [f.name for f in fields(cls) if f.metadata.get("column")]

    def to_dict(self) -> dict[str, float | int | None]:
        # JSON has no infinity: silence reads as None.
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else
                    (round(v, 4) if isinstance(v, float) else v)) for k, v in asdict(self).items()}


def analyze(audio: np.ndarray, sample_rate: int) -> Metrics:
    """Every measure of the report for float audio shaped (channels, frames)."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None, :]
    step = loudness.step_length(sample_rate)
    steps = loudness.power_sums(audio, sample_rate, step)
    stats = levels.level_stats(audio, sample_rate)
    return Metrics(
        integrated_lufs=loudness.integrated_loudness(audio, sample_rate) if steps.size < 4 else
        loudness.integrated_from_steps(steps, step),
        loudness_range_lu=loudness.loudness_range_from_steps(steps, step),
        true_peak_dbtp=truepeak.true_peak_db(audio),
        sample_peak_dbfs=levels.db(stats.sample_peak),
        clipped_samples=stats.clipped,
        crest_factor_db=levels.db(stats.sample_peak / stats.rms) if stats.rms > 0 else 0.0,
        dc_offset=stats.dc,
        noise_floor_dbfs=stats.noise_floor_db,
        rolloff_hz=levels.spectral_rolloff_hz(audio, sample_rate),
        duration_s=audio.shape[-1] / sample_rate,
        sample_rate=int(sample_rate),
        channels=int(audio.shape[0]),
    )
