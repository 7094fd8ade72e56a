"""Denoise: spectral gating (spectral_gate.py; noisereduce for the non-stationary mode) with the noise profile taken
from a stretch that holds only noise.

The profile must come from noise, never from music: a spectral gate trained on a sustained tone (a drone under a
melody, a held chord) learns that tone as "noise" and gates it wherever it plays, which flattens a solo's dynamics
and opens holes in the accompaniment. So the quietest stretches of the take are candidates, quietest first, and a
candidate is used only when it is noise-like: little of its energy stands in spectral peaks above the local floor
(TONAL_MAX, the share in narrow lines: a drone or a held note is mostly lines, hiss is none), and its level is
steady (STEADY_DB across its parts: not a note's decay). When no candidate is noise, the stage leaves the take as
it is and says why. It also reports how much it changed the take's loudness range (EBU Tech 3342).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import welch

from ..analysis.levels import dual_mono, frame_rms_db
from ..analysis.loudness import loudness_range
from ..parallel import threads
from .base import Params, Processed, Processor, Report, param, register, reported
from .spectral_gate import Gate, noise_threshold

FRAME_S = 0.05
CANDIDATES = 6            # quiet stretches tried, quietest first
CANDIDATE_RANGE_DB = 12   # ... within this of the quietest
TONAL_MAX = 0.3           # at most this share of a profile's power may stand in narrow spectral lines
STEADY_DB = 3.0           # a profile's parts must agree in level within this (standard deviation)


class DenoiseParams(Params):
    strength: float = param(0.6, unit="fraction", ge=0.0, le=1.0, description="fraction of the noise removed")
    stationary: bool = param(True, unit="on/off", description="one noise profile from a noise-only stretch (on), "
                             "or a noise estimate that follows the take over time (off)")
    profile_s: float = param(0.5, unit="s", ge=0.1, le=10.0, description="length of the noise profile")
    skip_below_db: float = param(-80.0, unit="dBFS", ge=-140.0, le=0.0,
                                 description="leave audio alone when its noise is below this")
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
    lra_change_lu: float | None = reported(unit="LU", description="change of the take's loudness range", column=True)
    skipped: str | None = reported(description="why the stage left the audio alone", column=True)


def quiet_stretches(audio: np.ndarray, sample_rate: int, seconds: float) -> list[tuple[int, float]]:
    """Start frame and level (dBFS) of up to CANDIDATES non-overlapping stretches of `seconds`, quietest first,
    within CANDIDATE_RANGE_DB of the quietest; stretches with digital silence are left out."""
    levels = frame_rms_db(audio, sample_rate, FRAME_S)
    width = max(1, round(seconds / FRAME_S))
    if levels.size < width:
        return []
    power = 10 ** (levels / 10)
    cs = np.concatenate(([0.0], np.cumsum(power)))
    mean = (cs[width:] - cs[:-width]) / width
    silent = np.concatenate(([0], np.cumsum(levels < -100)))
    mean[(silent[width:] - silent[:-width]) > 0] = np.inf
    found: list[tuple[int, float]] = []
    while len(found) < CANDIDATES and np.isfinite(mean).any():
        i = int(np.argmin(mean))
        level = float(10 * np.log10(mean[i]))
        if found and level > found[0][1] + CANDIDATE_RANGE_DB:
            break
        found.append((int(i * FRAME_S * sample_rate), level))
        mean[max(0, i - width + 1): i + width] = np.inf
    return found


def noise_like(stretch: np.ndarray, sample_rate: int) -> str | None:
    """None when `stretch` (channels, frames) is noise; else what it holds instead."""
    mono = stretch.mean(axis=0)
    freqs, psd = welch(mono, sample_rate, nperseg=min(2048, mono.size))
    band = (freqs >= 100) & (freqs <= min(12_000, 0.45 * sample_rate))
    p = psd[band]
    if p.size < 16 or p.sum() <= 0:
        return "no spectrum to judge"
    floor = median_filter(p, size=31, mode="nearest")
    tonal = float(np.maximum(p - 4 * floor, 0).sum() / p.sum())
    if tonal > TONAL_MAX:
        return f"sustained tones ({100 * tonal:.0f} % of its power in spectral lines)"
    parts = frame_rms_db(stretch, sample_rate, FRAME_S)
    parts = parts[np.isfinite(parts)]
    if parts.size >= 3 and float(np.std(parts)) > STEADY_DB:
        return f"a changing level (parts {float(np.std(parts)):.1f} dB apart), not steady noise"
    return None


@register
class Denoise(Processor):
    """Spectral gating. Stationary mode uses a noise-only stretch as the noise profile; non-stationary mode tracks
    the noise over time. A take with no noise-only stretch, or whose noise is below `skip_below_db`, is left
    alone."""

    name = "denoise"
    Params = DenoiseParams
    Report = DenoiseReport

    def process(self, audio: np.ndarray, sample_rate: int) -> Processed:
        p = self.params
        candidates = quiet_stretches(audio, sample_rate, p.profile_s)
        if not candidates:
            return Processed(audio, sample_rate, {"skipped": "too short for a noise profile"})
        if candidates[0][1] < p.skip_below_db or p.strength == 0:
            return Processed(audio, sample_rate, {"noise_floor_before_db": round(candidates[0][1], 1),
                                                  "skipped": f"noise floor below {p.skip_below_db} dBFS"})
        width = round(p.profile_s * sample_rate)
        reasons = []
        for start, level in candidates:
            why = noise_like(audio[:, start:start + width], sample_rate)
            if why is None:
                return self._gate(audio, sample_rate, start, level)
            reasons.append(f"{start / sample_rate:.1f} s: {why}")
        return Processed(audio, sample_rate, {
            "noise_floor_before_db": round(candidates[0][1], 1),
            "skipped": "no noise-only stretch to take a profile from (the quietest ones hold music: "
                       + "; ".join(reasons[:2]) + ")"})

    def _gate(self, audio: np.ndarray, sample_rate: int, start: int, level: float) -> Processed:
        p = self.params
        stop = start + round(p.profile_s * sample_rate)
        hop = round(p.n_fft * (1 - p.overlap))
        if p.stationary:
            out = self._stationary(audio, sample_rate, start, stop, hop)
        else:
            import noisereduce  # here, not at the top: it imports torch, seconds that only this mode pays

            out = noisereduce.reduce_noise(
                y=audio, sr=sample_rate, stationary=False, prop_decrease=p.strength, n_fft=p.n_fft, hop_length=hop,
                # The mask smoothing must span at least one STFT bin and hop (low rates have wide ones).
                freq_mask_smooth_hz=max(p.freq_smooth_hz, 2 * sample_rate / p.n_fft + 1),
                time_mask_smooth_ms=max(p.time_smooth_ms, 1000 * hop / sample_rate + 1),
            ).astype(np.float32).reshape(audio.shape)
        after = frame_rms_db(out[:, start:stop], sample_rate, FRAME_S)
        return Processed(out, sample_rate, {
            "noise_profile_start_s": round(start / sample_rate, 3), "noise_floor_before_db": round(level, 1),
            "noise_floor_after_db": round(float(10 * np.log10(np.mean(10 ** (after / 10)))), 1),
            "lra_change_lu": round(loudness_range(out, sample_rate) - loudness_range(audio, sample_rate), 2)})

    def _stationary(self, audio: np.ndarray, sample_rate: int, start: int, stop: int, hop: int) -> np.ndarray:
        p = self.params
        workers = threads()
        threshold = noise_threshold(audio[:, start:stop].mean(axis=0), p.n_fft, hop, workers)
        gate = Gate(threshold, p.n_fft, hop, p.strength,
                    smooth_bins=max(1, round(p.freq_smooth_hz / (sample_rate / p.n_fft))),
                    smooth_frames=max(1, round(p.time_smooth_ms / 1000 * sample_rate / hop)), workers=workers)
        out = np.empty_like(audio, dtype=np.float32)
        if dual_mono(audio):                 # the usual generated take after `channels: stereo`: gate once
            gate(audio[0], out[0])
            out[1:] = out[0]
            return out
        for ch, row in zip(audio, out, strict=True):
            gate(ch, row)
        return out
