"""Denoise: spectral gating (noisereduce) with the noise profile taken from the quietest stretch."""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..analysis.levels import frame_rms_db
from .base import Params, Processed, Processor, Report, param, register, reported

FRAME_S = 0.05


class DenoiseParams(Params):
    strength: float = param(0.6, unit="fraction", ge=0.0, le=1.0, description="fraction of the noise removed")
    stationary: bool = param(True, unit="on/off", description="one noise profile from the quietest stretch "
                             "(on), or a noise estimate that follows the take over time (off)")
    profile_s: float = param(0.5, unit="s", ge=0.1, le=10.0, description="length of the noise profile")
    skip_below_db: float = param(-80.0, unit="dBFS", ge=-140.0, le=0.0,
                                 description="leave audio alone when its quietest stretch is below this")
    n_fft: Literal[512, 1024, 2048, 4096] = param(1024, unit="samples", description="STFT frame length")
    overlap: Literal[0.5, 0.75] = param(0.5, unit="fraction",
                                        description="STFT frame overlap; 0.75 is smoother and twice as slow")
    # noisereduce smooths its mask over 500 Hz by default, which averages each harmonic line with the empty
    # bins around it: on tonal music that cost 10-30 % of the level for no extra noise removed (measured).
    freq_smooth_hz: float = param(100.0, unit="Hz", ge=0.0, le=2000.0, description="mask smoothing across frequency")
    time_smooth_ms: float = param(50.0, unit="ms", ge=0.0, le=500.0, description="mask smoothing across time")


class DenoiseReport(Report):
    noise_profile_start_s: float | None = reported(unit="s", description="where the noise profile was taken")
    noise_floor_before_db: float | None = reported(unit="dBFS", description="level of the profile stretch before",
                                                   column=True)
    noise_floor_after_db: float | None = reported(unit="dBFS", description="level of the profile stretch after",
                                                  column=True)
    skipped: str | None = reported(description="why the stage left the audio alone", column=True)


def quietest_stretch(audio: np.ndarray, sample_rate: int, seconds: float) -> tuple[int, float] | None:
    """Start frame and level (dBFS) of the quietest `seconds` that hold no digital silence."""
    levels = frame_rms_db(audio, sample_rate, FRAME_S)
    width = max(1, round(seconds / FRAME_S))
    if levels.size < width:
        return None
    power = 10 ** (levels / 10)
    cs = np.concatenate(([0.0], np.cumsum(power)))
    mean = (cs[width:] - cs[:-width]) / width
    silent = np.concatenate(([0], np.cumsum(levels < -100)))
    mean[(silent[width:] - silent[:-width]) > 0] = np.inf
    if not np.isfinite(mean).any():
        return None
    i = int(np.argmin(mean))
    return int(i * FRAME_S * sample_rate), float(10 * np.log10(mean[i]))


@register
class Denoise(Processor):
    """Spectral gating. Stationary mode uses the quietest stretch as the noise profile; non-stationary
    mode tracks the noise over time. Audio whose quietest stretch is below `skip_below_db` is left alone."""

    name = "denoise"
    Params = DenoiseParams
    Report = DenoiseReport

    def process(self, audio: np.ndarray, sample_rate: int) -> Processed:
        p = self.params
        found = quietest_stretch(audio, sample_rate, p.profile_s)
        if found is None:
            return Processed(audio, sample_rate, {"skipped": "too short for a noise profile"})
        start, level = found
        info = {"noise_profile_start_s": round(start / sample_rate, 3), "noise_floor_before_db": round(level, 1)}
        if level < p.skip_below_db or p.strength == 0:
            return Processed(audio, sample_rate, {**info, "skipped": f"noise floor below {p.skip_below_db} dBFS"})
        stop = start + round(p.profile_s * sample_rate)
        hop = round(p.n_fft * (1 - p.overlap))
        import noisereduce  # here, not at the top: it imports torch, seconds that `sori presets` need not pay

        out = noisereduce.reduce_noise(
            y=audio, sr=sample_rate, stationary=p.stationary, prop_decrease=p.strength, n_fft=p.n_fft,
            hop_length=hop,
            # The mask smoothing must span at least one STFT bin and hop (low rates have wide ones).
            freq_mask_smooth_hz=max(p.freq_smooth_hz, 2 * sample_rate / p.n_fft + 1),
            time_mask_smooth_ms=max(p.time_smooth_ms, 1000 * hop / sample_rate + 1),
            y_noise=audio[:, start:stop] if p.stationary else None,
        ).astype(np.float32)
        after = frame_rms_db(out[:, start:stop], sample_rate, FRAME_S)
        info["noise_floor_after_db"] = round(float(10 * np.log10(np.mean(10 ** (after / 10)))), 1)
        return Processed(out.reshape(audio.shape), sample_rate, info)
