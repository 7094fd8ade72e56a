"""True peak per ITU-R BS.1770-4 Annex 2: the peak of the signal oversampled, read between the samples.

Two tiers, because mastering measures the true peak of long files many times:

- a fast 4x polyphase interpolator (16 taps a phase). Its grid and its roll-off near Nyquist can read up
  to about 0.4 dB low on content above 19 kHz, and the accurate tier below up to 0.6 dB high there, so
  the fast reading times FAST_MARGIN (+1.2 dB) bounds the accurate one; blocks whose sample peak times
  the filter's largest gain cannot reach the level of interest are not interpolated at all;
- an accurate 8x interpolator (24 taps a phase, cut-off just past Nyquist, so it errs on the high side:
  under 0.1 dB low anywhere, up to 1 dB high only for content above 20 kHz). It is evaluated only at the
  frames the fast tier cannot clear, and its reading is the true peak this module reports.

A limiter that pushes peaks to exactly the meter's ceiling finds the meter's worst case on every peak,
which is why the ceiling is checked against the accurate tier and not the fast one.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import correlate1d
from scipy.signal import firwin

from .levels import dual_mono

OVERSAMPLE = 4
TAPS_PER_PHASE = 16
BLOCK = 2048
FAST_MARGIN = 10 ** (1.2 / 20)
FINE_OVERSAMPLE = 8
FINE_TAPS = 24


@lru_cache(maxsize=1)
def _phases() -> tuple[np.ndarray, float]:
    """Sub-filters of the fast tier's three in-between phases, and the largest L1 gain of any phase."""
    n = OVERSAMPLE * TAPS_PER_PHASE + 1
    h = firwin(n, 1.0 / OVERSAMPLE, window=("kaiser", 8.0)) * OVERSAMPLE
    subs = [h[p::OVERSAMPLE][:TAPS_PER_PHASE].astype(np.float32) for p in range(1, OVERSAMPLE)]
    bound = max(1.0, *(float(np.abs(s).sum()) for s in subs))
    return np.stack(subs), bound


@lru_cache(maxsize=1)
def _fine_matrix() -> tuple[np.ndarray, float]:
    """(FINE_TAPS, 7) matrix: a window x[n-11 .. n+12] times it gives the 7 values between n and n+1."""
    n = FINE_OVERSAMPLE * FINE_TAPS + 1
    h = firwin(n, 1.02 / FINE_OVERSAMPLE, window=("kaiser", 8.0)) * FINE_OVERSAMPLE
    m = np.empty((FINE_TAPS, FINE_OVERSAMPLE - 1), dtype=np.float32)
    for p in range(1, FINE_OVERSAMPLE):
        # Phase p/8 after frame n is sum_k h[p + 8k] x[n + half - k]; window index i holds x[n - half + 1 + i].
        taps = h[p::FINE_OVERSAMPLE][:FINE_TAPS]
        m[:, p - 1] = taps[::-1]
    bound = float(np.abs(m).sum(axis=0).max())
    return m, bound


def filter_gain() -> float:
    """The largest L1 gain of any interpolation phase of either tier: |interpolated| <= this * max |nearby|."""
    return max(_phases()[1], _fine_matrix()[1])


def _interpolated_peaks(x: np.ndarray) -> np.ndarray:
    """Fast tier: per-frame max |sample| over the original and the 3 in-between phases; x is (..., frames)."""
    subs, _ = _phases()
    out = np.abs(x)
    for sub in subs:
        # Phase p between frames n and n+1 is sum_k h[p + 4k] x[n + 8 - k]: a correlation with the
        # reversed sub-filter, centred one tap left of the middle (origin -1).
        y = correlate1d(x, sub[::-1].copy(), axis=-1, mode="constant", origin=-1)
        np.maximum(out, np.abs(y), out=out)
    return out


def _block_max(mono_peak: np.ndarray) -> np.ndarray:
    nblk = math.ceil(mono_peak.size / BLOCK)
    padded = np.zeros(nblk * BLOCK, dtype=np.float32)
    padded[: mono_peak.size] = mono_peak
    return padded.reshape(nblk, BLOCK).max(axis=1)


def _candidate_blocks(mono_peak: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    bound = filter_gain()
    bm = _block_max(mono_peak)
    # Neighbouring blocks feed the filter's edges.
    ext = bm.copy()
    ext[1:] = np.maximum(ext[1:], bm[:-1])
    ext[:-1] = np.maximum(ext[:-1], bm[1:])
    return np.nonzero(ext * bound > level)[0], ext


def _pad(audio: np.ndarray) -> np.ndarray:
    """Zero halo before, and a halo plus a block after, so every block slice is in range."""
    frames = audio.shape[-1]
    padded = np.zeros((audio.shape[0], frames + 2 * TAPS_PER_PHASE + BLOCK), dtype=np.float32)
    padded[:, TAPS_PER_PHASE: TAPS_PER_PHASE + frames] = audio
    return padded


def _block_envelope(padded: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """Fast-tier readings (max over channels) of the given blocks, shape (len(blocks), BLOCK): for frame n
    the largest of frame n's and frame n+1's, since a crest just before n+1 lies nearest the grid point
    at n+1, which belongs to the next frame."""
    halo = TAPS_PER_PHASE
    idx = blocks[:, None] * BLOCK + np.arange(BLOCK + 2 * halo)[None, :]
    segs = padded[:, idx]                                   # (channels, nblocks, BLOCK + 2 halo)
    peaks = _interpolated_peaks(segs).max(axis=0)
    return np.maximum(peaks[:, halo: halo + BLOCK], peaks[:, halo + 1: halo + BLOCK + 1])


def _fine_peaks(audio: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Accurate tier at the given frames: max over channels of |x[n]| and the 7 values up to x[n+1]."""
    m, _ = _fine_matrix()
    half = FINE_TAPS // 2
    padded = np.zeros((audio.shape[0], audio.shape[-1] + FINE_TAPS), dtype=np.float32)
    padded[:, half - 1: half - 1 + audio.shape[-1]] = audio
    windows = sliding_window_view(padded, FINE_TAPS, axis=-1)   # window n holds x[n-11 .. n+12]
    out = np.zeros(frames.size, dtype=np.float32)
    for start in range(0, frames.size, 1 << 18):
        chunk = frames[start: start + (1 << 18)]
        for c in range(audio.shape[0]):
            w = windows[c, chunk]
            vals = np.abs(w @ m).max(axis=1)
            np.maximum(vals, np.abs(w[:, half - 1]), out=vals)
            np.maximum(out[start: start + chunk.size], vals, out=out[start: start + chunk.size])
    return out


def _fast_envelope(audio: np.ndarray, level: float) -> np.ndarray:
    """Per-frame upper bound of the true peak from the fast tier: interpolated (times FAST_MARGIN) where it
    can exceed `level`, and the neighbourhood's sample peak times the filter gain elsewhere (<= `level`)."""
    peak = np.abs(audio).max(axis=0)
    blocks, ext = _candidate_blocks(peak, level / FAST_MARGIN)
    full = np.repeat((ext * filter_gain()).astype(np.float32)[:, None], BLOCK, axis=1)
    if blocks.size:
        padded = _pad(audio)
        for start in range(0, blocks.size, 256):
            chunk = blocks[start: start + 256]
            full[chunk] = _block_envelope(padded, chunk) * FAST_MARGIN
    return full.reshape(-1)[: peak.size]


def _distinct(audio: np.ndarray) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float32)
    return audio[:1] if dual_mono(audio) else audio       # dual mono: one channel tells all


def envelope(audio: np.ndarray, level: float) -> np.ndarray:
    """Per-frame true peak (max over channels, linear): the accurate reading wherever the true peak can
    exceed `level`, an upper bound that is at or under `level` elsewhere."""
    audio = _distinct(audio)
    env = _fast_envelope(audio, level)
    frames = np.nonzero(env > level)[0]
    if frames.size:
        env[frames] = _fine_peaks(audio, frames)
    return env


def true_peak(audio: np.ndarray, blocks: np.ndarray | None = None) -> float:
    """True peak (linear, max over channels) of float audio shaped (channels, frames), or of the given
    blocks (indices of BLOCK frames) only.

    Loudest blocks first; a block is skipped once its bound cannot beat the best accurate reading so far.
    """
    audio = _distinct(audio)
    if audio.size == 0:
        return 0.0
    peak = np.abs(audio).max(axis=0)
    own = _block_max(peak)
    _, ext = _candidate_blocks(peak, 0.0)
    blocks = np.arange(own.size) if blocks is None else blocks
    best = float(own[blocks].max())          # the accurate reading is never below the sample peak
    order = blocks[np.argsort(-ext[blocks], kind="stable")]
    padded = _pad(audio)
    gain = filter_gain()
    for start in range(0, order.size, 64):
        chunk = order[start: start + 64]
        chunk = chunk[ext[chunk] * gain > best]
        if chunk.size == 0:
            break
        bound = _block_envelope(padded, chunk) * FAST_MARGIN          # (blocks, BLOCK) upper bounds
        rows, cols = np.nonzero(bound > best)
        if rows.size:
            frames = chunk[rows] * BLOCK + cols
            frames = frames[frames < audio.shape[-1]]
            if frames.size:
                best = max(best, float(_fine_peaks(audio, frames).max()))
    return best


def true_peak_db(audio: np.ndarray) -> float:
    tp = true_peak(audio)
    return 20 * math.log10(tp) if tp > 0 else -math.inf
