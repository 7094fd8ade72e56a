"""Stationary spectral gating, the noise reduction the `denoise` stage applies (the method of Sainburg's
noisereduce, reimplemented here in float32, blockwise and multi-threaded).

From a noise-only profile: the mean and spread of each frequency bin's level (dB) give a threshold per bin,
mean + N_STD * std. Each STFT bin of the take that stands above its threshold is kept; the others are turned down
by `strength`. The mask is smoothed across frequency and time (two box filters each way: a triangle) so the gate
opens and closes without musical noise, and the take is resynthesised by weighted overlap-add.

The work goes in blocks of frames, each with enough context on both sides for the smoothing and the overlap-add,
so the result is the same as one pass over the whole take while memory stays a few blocks, whatever the length; the
FFTs run on `workers` threads (scipy.fft releases the GIL).
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sp_fft
from scipy.ndimage import uniform_filter1d

N_STD = 1.5                  # threshold: this many standard deviations above the profile's mean level
BLOCK_FRAMES = 2048          # STFT frames a block holds (plus context)
EPS = 1e-10


def _frames(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    count = 1 + (x.shape[-1] - n_fft) // hop
    return np.lib.stride_tricks.as_strided(x, (count, n_fft), (x.strides[-1] * hop, x.strides[-1]), writeable=False)


def noise_threshold(noise: np.ndarray, n_fft: int, hop: int, workers: int = 1) -> np.ndarray:
    """Per-bin power threshold (linear) from a mono noise-only stretch."""
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    x = np.ascontiguousarray(noise, dtype=np.float32)
    if x.size < n_fft:
        x = np.pad(x, (0, n_fft - x.size))
    spec = sp_fft.rfft(_frames(x, n_fft, hop) * window, axis=-1, workers=workers)
    level = 10 * np.log10(np.abs(spec) ** 2 + EPS)
    return (10 ** ((level.mean(axis=0) + N_STD * level.std(axis=0)) / 10)).astype(np.float32)


class Gate:
    """The gate for one take: `gate(channel)` returns the gated channel (float32, same length)."""

    def __init__(self, threshold: np.ndarray, n_fft: int, hop: int, strength: float, smooth_bins: int,
                 smooth_frames: int, workers: int = 1) -> None:
        self.threshold, self.n_fft, self.hop = threshold, n_fft, hop
        self.strength, self.workers = strength, workers
        self.smooth_bins, self.smooth_frames = smooth_bins, smooth_frames
        self.window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
        # frames of context a block needs on each side: the mask smoothing reaches `smooth_frames`, and a frame
        # overlaps n_fft / hop neighbours
        self.context = smooth_frames + n_fft // hop + 1

    def _mask(self, power: np.ndarray) -> np.ndarray:
        keep = (power > self.threshold).astype(np.float32)
        mask = keep * self.strength + (1.0 - self.strength)
        for axis, size in ((1, self.smooth_bins), (0, self.smooth_frames)):
            if size > 1:
                for _ in range(2):          # box twice: a triangle
                    mask = uniform_filter1d(mask, size=size, axis=axis, mode="nearest")
        return mask

    def __call__(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The gated channel `x`, written into `out` (or a new array). Frame k covers samples
        [k * hop - n_fft, k * hop) of `x` (zeros outside the take); each block of frames writes the samples only
        its frames finish, from a local overlap-add, so nothing but `out` is as long as the take."""
        n, hop, n_fft = x.shape[-1], self.hop, self.n_fft
        out = np.empty(n, dtype=np.float32) if out is None else out
        reach = n_fft // hop                                      # frames that overlap one sample
        total = -(-(n + n_fft) // hop)                            # frames until the last sample is covered
        w2 = np.broadcast_to(self.window ** 2, (BLOCK_FRAMES + 2 * self.context, n_fft))
        for f0 in range(reach, total + reach, BLOCK_FRAMES):
            f1 = min(f0 + BLOCK_FRAMES, total + reach)
            first, last = f0 - reach + 1, f1                       # frames that finish samples [f0*hop, f1*hop)
            lo, hi = first - self.context, last + self.context       # with context for the mask smoothing
            seg = _segment(x, lo * hop - n_fft, (hi - 1) * hop)
            spec = sp_fft.rfft(_frames(seg, n_fft, hop) * self.window, axis=-1, workers=self.workers)
            spec *= self._mask(spec.real ** 2 + spec.imag ** 2)
            frames = sp_fft.irfft(spec, n=n_fft, axis=-1, workers=self.workers).astype(np.float32)
            frames *= self.window
            used = slice(first - lo, last - lo)
            acc = np.zeros((last - first + reach) * hop, dtype=np.float32)
            norm = np.zeros_like(acc)
            _overlap_add(acc, frames[used], 0, hop)
            _overlap_add(norm, w2[: last - first], 0, hop)
            start = (f0 - first) * hop                              # sample f0*hop within acc
            a, b = f0 * hop - n_fft, f1 * hop - n_fft               # in the take's coordinates
            ca, cb = max(a, 0), min(b, n)
            if cb > ca:
                out[ca:cb] = acc[start + ca - a: start + cb - a] / np.maximum(norm[start + ca - a: start + cb - a],
                                                                              1e-6)
        return out


def _segment(x: np.ndarray, a: int, b: int) -> np.ndarray:
    """x[a:b] with zeros where [a, b) reaches outside x."""
    if a >= 0 and b <= x.size:
        return np.ascontiguousarray(x[a:b], dtype=np.float32)
    seg = np.zeros(b - a, dtype=np.float32)
    lo, hi = max(a, 0), min(b, x.size)
    if hi > lo:
        seg[lo - a: hi - a] = x[lo:hi]
    return seg


def _overlap_add(out: np.ndarray, frames: np.ndarray, start: int, hop: int) -> None:
    """out[start + k * hop: ... + n_fft] += frames[k] for every k, in n_fft / hop vectorised adds."""
    count, n_fft = frames.shape
    parts = n_fft // hop
    for r in range(parts):
        piece = frames[:, r * hop: (r + 1) * hop]                     # (count, hop)
        begin = start + r * hop
        out[begin: begin + count * hop].reshape(count, hop)[:] += piece
