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
    whole = mono_peak.size // BLOCK * BLOCK
    out = mono_peak[:whole].reshape(-1, BLOCK).max(axis=1)
    return np.append(out, mono_peak[whole:].max()) if whole < mono_peak.size else out


def _candidate_blocks(mono_peak: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    bound = filter_gain()
    bm = _block_max(mono_peak)
    # Neighbouring blocks feed the filter's edges.
    ext = bm.copy()
    ext[1:] = np.maximum(ext[1:], bm[:-1])
    ext[:-1] = np.maximum(ext[:-1], bm[1:])
    return np.nonzero(ext * bound > level)[0], ext


def _gather(audio: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """audio[:, s: s + length] for each start s, zeros outside the take: (channels, len(starts), length). Reads
    only what is asked for, so no padded copy of the whole take is made."""
    idx = starts[:, None] + np.arange(length)[None, :]
    inside = (idx >= 0) & (idx < audio.shape[-1])
    segs = audio[:, np.clip(idx, 0, audio.shape[-1] - 1)]
    segs *= inside
    return segs


def _block_envelope(audio: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """Fast-tier readings (max over channels) of the given blocks, shape (len(blocks), BLOCK): for frame n
    the largest of frame n's and frame n+1's, since a crest just before n+1 lies nearest the grid point
    at n+1, which belongs to the next frame."""
    halo = TAPS_PER_PHASE
    segs = _gather(audio, blocks * BLOCK - halo, BLOCK + 2 * halo)      # (channels, nblocks, BLOCK + 2 halo)
    peaks = _interpolated_peaks(segs).max(axis=0)
    return np.maximum(peaks[:, halo: halo + BLOCK], peaks[:, halo + 1: halo + BLOCK + 1])


def _fine_peaks(audio: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Accurate tier at the given frames: max over channels of |x[n]| and the 7 values up to x[n+1]."""
    m, _ = _fine_matrix()
    half = FINE_TAPS // 2
    out = np.zeros(frames.size, dtype=np.float32)
    for start in range(0, frames.size, 1 << 15):
        chunk = frames[start: start + (1 << 15)]
        windows = _gather(audio, chunk - (half - 1), FINE_TAPS)          # window n holds x[n-11 .. n+12]
        for w in windows:
            vals = np.abs(w @ m).max(axis=1)
            np.maximum(vals, np.abs(w[:, half - 1]), out=vals)
            np.maximum(out[start: start + chunk.size], vals, out=out[start: start + chunk.size])
    return out


def _some_block_max(audio: np.ndarray, blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Like _block_max and _candidate_blocks' `ext`, but arrays indexed like the whole take's blocks with only
    `blocks` and their neighbours filled in (the rest 0)."""
    nblk = math.ceil(audio.shape[-1] / BLOCK)
    need = np.unique(np.clip(np.concatenate([blocks - 1, blocks, blocks + 1]), 0, nblk - 1))
    own = np.zeros(nblk, dtype=np.float32)
    for start in range(0, need.size, 64):
        chunk = need[start: start + 64]
        own[chunk] = np.abs(_gather(audio, chunk * BLOCK, BLOCK)).max(axis=(0, 2))
    ext = own.copy()
    ext[1:] = np.maximum(ext[1:], own[:-1])
    ext[:-1] = np.maximum(ext[:-1], own[1:])
    return own, ext


def envelope_peaks(audio: np.ndarray, level: float, block: int) -> np.ndarray:
    """The maximum of `envelope(audio, level)` over each run of `block` frames, computed a few seconds at a time:
    no full-length envelope is kept."""
    audio = _distinct(audio)
    n = audio.shape[-1]
    span = math.lcm(BLOCK, block) * max(1, (1 << 18) // math.lcm(BLOCK, block))
    out = np.empty(-(-n // block), dtype=np.float32)
    gain = filter_gain()
    for a in range(0, n, span):
        b = min(n, a + span)
        first, last = a // BLOCK, -(-b // BLOCK)                  # truepeak blocks of this span
        _, ext = _some_block_max(audio, np.arange(first, last))
        env = np.repeat((ext[first:last] * gain).astype(np.float32), BLOCK)[: b - a]
        cand = np.nonzero(ext[first:last] * gain > level / FAST_MARGIN)[0] + first
        for start in range(0, cand.size, 256):
            chunk = cand[start: start + 256]
            reading = (_block_envelope(audio, chunk) * FAST_MARGIN).reshape(-1)
            frames = (chunk[:, None] * BLOCK + np.arange(BLOCK)[None, :]).reshape(-1)
            keep = frames < b
            env[frames[keep] - a] = reading[keep]
        fine = np.nonzero(env > level)[0]
        if fine.size:
            env[fine] = _fine_peaks(audio, fine + a)
        whole = env.size // block * block
        out[a // block: a // block + whole // block] = env[:whole].reshape(-1, block).max(axis=1)
        if whole < env.size:
            out[-1] = env[whole:].max()
    return out


def _mono_peak(audio: np.ndarray, chunk: int = 1 << 18) -> np.ndarray:
    """Per frame, the largest |sample| over the channels, a chunk at a time (no full-size temporary)."""
    out = np.empty(audio.shape[-1], dtype=np.float32)
    for a in range(0, audio.shape[-1], chunk):
        np.max(np.abs(audio[:, a: a + chunk]), axis=0, out=out[a: a + chunk])
    return out


def _fast_envelope(audio: np.ndarray, level: float) -> np.ndarray:
    """Per-frame upper bound of the true peak from the fast tier: interpolated (times FAST_MARGIN) where it
    can exceed `level`, and the neighbourhood's sample peak times the filter gain elsewhere (<= `level`)."""
    peak = _mono_peak(audio)
    blocks, ext = _candidate_blocks(peak, level / FAST_MARGIN)
    full = np.repeat((ext * filter_gain()).astype(np.float32)[:, None], BLOCK, axis=1)
    for start in range(0, blocks.size, 256):
        chunk = blocks[start: start + 256]
        full[chunk] = _block_envelope(audio, chunk) * FAST_MARGIN
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
    if blocks is None:
        peak = _mono_peak(audio)
        own = _block_max(peak)
        _, ext = _candidate_blocks(peak, 0.0)
        del peak
        blocks = np.arange(own.size)
    else:                                   # only these blocks (and their neighbours) are read
        own, ext = _some_block_max(audio, blocks)
    best = float(own[blocks].max())          # the accurate reading is never below the sample peak
    order = blocks[np.argsort(-ext[blocks], kind="stable")]
    gain = filter_gain()
    for start in range(0, order.size, 64):
        chunk = order[start: start + 64]
        chunk = chunk[ext[chunk] * gain > best]
        if chunk.size == 0:
            break
        bound = _block_envelope(audio, chunk) * FAST_MARGIN            # (blocks, BLOCK) upper bounds
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
