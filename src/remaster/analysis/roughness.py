"""Sensory roughness from spectral peaks, after Plomp and Levelt ("Tonal consonance and critical bandwidth",
JASA 1965) in the parametrisation of Sethares ("Local consonance and the relationship between timbre and
scale", JASA 1993).

Two partials f1 < f2 with amplitudes a1, a2 beat roughly when they are close within a critical band:

    d = a1 * a2 * (exp(-b1 * s * (f2 - f1)) - exp(-b2 * s * (f2 - f1))),   s = d* / (s1 * f1 + s2)

with b1 = 3.5, b2 = 5.75, d* = 0.24, s1 = 0.0207, s2 = 18.96. A frame's roughness is the sum over pairs of its
strongest peaks, divided by the sum of their squared amplitudes, so it does not depend on level. It is the
second signal of the dissonance check, for tonal stretches where no single pitch can be tracked (chords,
dense polyphony); noise and drums, whose spectra have no clear peaks, are not tonal and get no value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks

B1, B2, D_STAR, S1, S2 = 3.5, 5.75, 0.24, 0.0207, 18.96


def pair_roughness(freqs: np.ndarray, amps: np.ndarray) -> float:
    """Plomp–Levelt roughness of a set of partials, normalised by their total squared amplitude."""
    if len(freqs) < 2:
        return 0.0
    order = np.argsort(freqs)
    f, a = freqs[order], amps[order]
    i, j = np.triu_indices(len(f), k=1)
    s = D_STAR / (S1 * f[i] + S2)
    diff = f[j] - f[i]
    d = a[i] * a[j] * (np.exp(-B1 * s * diff) - np.exp(-B2 * s * diff))
    return float(d.sum() / np.sum(a * a))


@dataclass(frozen=True)
class RoughnessTrack:
    times: np.ndarray         # frame centres, seconds
    roughness: np.ndarray     # NaN where the frame is quiet or not tonal
    tonality: np.ndarray      # share of the frame's power in its peaks
    hop_s: float


def roughness_track(mono: np.ndarray, sample_rate: int, hop_s: float = 0.05, window_s: float = 0.128,
                    max_peaks: int = 24, floor_db: float = -50.0, min_tonality: float = 0.6,
                    gate_db: float = -50.0, fmax: float = 5000.0,
                    pitched: tuple[np.ndarray, np.ndarray] | None = None) -> RoughnessTrack:
    """Roughness of each frame of a mono signal. Peaks: local maxima within `floor_db` of the frame's
    strongest, below `fmax`; a frame is tonal when the bins around its peaks hold `min_tonality` of its power.
    `pitched` = (times, has_pitch) of a pitch track: frames with a tracked pitch are skipped (NaN)."""
    n = 1 << int(np.ceil(np.log2(window_s * sample_rate)))
    hop = max(1, round(hop_s * sample_rate))
    padded = np.pad(mono.astype(np.float64), n // 2)
    count = max(0, 1 + (len(padded) - n) // hop)
    window = np.hanning(n)
    top = int(fmax * n / sample_rate)
    times = np.arange(count) * hop / sample_rate
    rough = np.full(count, np.nan)
    tonal = np.zeros(count)
    skip = np.zeros(count, bool)
    if pitched is not None and len(pitched[0]):
        skip = np.interp(times, pitched[0], pitched[1].astype(float)) > 0.5
    level = 20 * np.log10(np.maximum(np.sqrt(np.mean(np.square(mono, dtype=np.float64))), 1e-12))
    for k in range(count):
        frame = padded[k * hop:k * hop + n]
        if skip[k] or 10 * np.log10(np.mean(frame ** 2) + 1e-20) < max(gate_db, level - 30):
            continue
        power = np.abs(np.fft.rfft(frame * window)[:top]) ** 2
        if power.max() <= 0:
            continue
        peaks, _ = find_peaks(power, height=power.max() * 10 ** (floor_db / 10))
        if peaks.size == 0:
            continue
        peaks = peaks[np.argsort(power[peaks])[::-1][:max_peaks]]
        near = np.clip(peaks[:, None] + np.arange(-2, 3)[None, :], 0, len(power) - 1)
        tonal[k] = power[np.unique(near)].sum() / power.sum()
        if tonal[k] < min_tonality:
            continue
        # parabolic interpolation on the log spectrum for the peak frequencies
        lp = np.log(power + 1e-30)
        left, mid, right = lp[np.maximum(peaks - 1, 0)], lp[peaks], lp[np.minimum(peaks + 1, len(lp) - 1)]
        denom = left - 2 * mid + right
        shift = np.where(np.abs(denom) > 1e-12, 0.5 * (left - right) / np.where(denom == 0, 1, denom), 0.0)
        freqs = (peaks + np.clip(shift, -0.5, 0.5)) * sample_rate / n
        rough[k] = pair_roughness(freqs, np.sqrt(power[peaks]))
    return RoughnessTrack(times, rough, tonal, hop / sample_rate)
