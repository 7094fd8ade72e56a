"""Loudness per ITU-R BS.1770-4 (integrated, gated) and loudness range per EBU Tech 3342.

The K-weighting filter is designed for any sample rate from the analogue prototype parameters of the
standard's two stages (a +4 dB high shelf near 1.7 kHz and the RLB high-pass near 38 Hz), which reproduce
the 48 kHz coefficients printed in BS.1770. pyloudnorm is the reference implementation in the tests; this
module exists because mastering measures loudness several times per file, and a cumulative-sum gating
pass over one filtered signal is an order of magnitude faster.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import sosfilt

from .levels import dual_mono

ABSOLUTE_GATE = -70.0
RELATIVE_GATE = -10.0
LRA_RELATIVE_GATE = -20.0
BLOCK_S, STEP_S = 0.4, 0.1        # 400 ms blocks, 75 % overlap
SHORT_TERM_S = 3.0


def k_weighting_sos(sample_rate: int) -> np.ndarray:
    """Second-order sections of the K-weighting filter (pre-filter shelf, then RLB high-pass)."""
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / sample_rate)
    vh = 10 ** (gain_db / 20)
    vb = vh ** 0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = [(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0,
             1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / sample_rate)
    a0 = 1 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    return np.array([shelf, highpass])


def channel_weights(channels: int) -> np.ndarray:
    """BS.1770 weights: 1.0 for front channels, 1.41 for surrounds; LFE excluded (5.1 order L R C LFE Ls Rs)."""
    if channels == 6:
        return np.array([1.0, 1.0, 1.0, 0.0, 1.41, 1.41])
    if channels == 5:
        return np.array([1.0, 1.0, 1.0, 1.41, 1.41])
    return np.ones(channels)


def weighted_power(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """K-weighted, channel-weighted instantaneous power summed over channels, shape (frames,)."""
    return power_sums(audio, sample_rate, 1)


def power_sums(audio: np.ndarray, sample_rate: int, block: int, scale: float = 1.0) -> np.ndarray:
    """Sums of K-weighted, channel-weighted power over consecutive blocks of `block` frames (a partial last
    block is dropped), filtered in chunks with the filter state carried across: the same numbers as
    summing `weighted_power`, without a full-length float64 copy of the signal."""
    weights = channel_weights(audio.shape[0])
    if dual_mono(audio):                     # filter one channel, count it twice
        audio, weights = audio[:1], weights[:1] * 2
    weights = weights * scale
    sos = k_weighting_sos(sample_rate)
    state = np.zeros((sos.shape[0], audio.shape[0], 2))
    n = audio.shape[-1] // block
    out = np.empty(n)
    step = block * max(1, (1 << 18) // block)
    for start in range(0, n * block, step):
        stop = min(start + step, n * block)
        y, state = sosfilt(sos, audio[:, start:stop], axis=-1, zi=state)
        np.square(y, out=y)
        out[start // block: stop // block] = (weights @ y).reshape(-1, block).sum(axis=1)
    return out


def step_length(sample_rate: int) -> int:
    return round(STEP_S * sample_rate)


def _window_means(steps: np.ndarray, step: int, window_s: float) -> np.ndarray:
    k = round(window_s / STEP_S)
    if steps.size < k:
        return np.empty(0)
    return np.convolve(steps, np.ones(k), mode="valid") / (k * step)


def lufs(mean_power: np.ndarray | float) -> np.ndarray | float:
    with np.errstate(divide="ignore"):
        return -0.691 + 10 * np.log10(mean_power)


def integrated_from_steps(steps: np.ndarray, step: int) -> float:
    """Gated integrated loudness from 100 ms step sums of K-weighted power."""
    blocks = _window_means(steps, step, BLOCK_S)
    if blocks.size == 0:
        return -math.inf
    loud = blocks[lufs(blocks) > ABSOLUTE_GATE]
    if loud.size == 0:
        return -math.inf
    relative = lufs(loud.mean()) + RELATIVE_GATE
    gated = loud[lufs(loud) > relative]
    return float(lufs(gated.mean()))


def integrated_loudness(audio: np.ndarray, sample_rate: int, scale: float = 1.0) -> float:
    """Integrated loudness in LUFS (-inf for silence) of float audio shaped (channels, frames).

    `scale` multiplies the power: 2.0 measures one channel as the dual-mono pair it stands for.
    """
    if audio.shape[-1] < round(BLOCK_S * sample_rate):
        # Shorter than one 400 ms block: the ungated mean is the only measure there is.
        return float(lufs(scale * weighted_power(audio, sample_rate).mean())) if audio.shape[-1] else -math.inf
    step = step_length(sample_rate)
    return integrated_from_steps(power_sums(audio, sample_rate, step, scale), step)


def loudness_range_from_steps(steps: np.ndarray, step: int) -> float:
    short = _window_means(steps, step, SHORT_TERM_S)
    levels = lufs(short[short > 0]) if short.size else np.empty(0)
    levels = levels[levels > ABSOLUTE_GATE]
    if levels.size < 2:
        return 0.0
    relative = lufs(np.mean(10 ** ((levels + 0.691) / 10))) + LRA_RELATIVE_GATE
    gated = levels[levels > relative]
    if gated.size < 2:
        return 0.0
    lo, hi = np.percentile(gated, [10, 95])
    return float(hi - lo)


def loudness_range(audio: np.ndarray, sample_rate: int) -> float:
    """Loudness range (LU) per EBU Tech 3342: spread of gated 3 s short-term loudness, 10th to 95th percentile."""
    step = step_length(sample_rate)
    return loudness_range_from_steps(power_sums(audio, sample_rate, step), step)
