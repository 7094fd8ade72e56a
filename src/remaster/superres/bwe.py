"""Model-free bandwidth extension: synthesise the missing band above a detected cutoff.

The band is rebuilt in the STFT domain and added to the untouched signal below it:
- its spectral envelope continues the slope measured over the half octave below the cutoff (dB per
  octave, fitted on the long-term spectrum), so the new band sits where the instrument's own roll-off
  points, and a dark instrument gets almost nothing;
- its level follows, frame by frame, the energy just below the cutoff, so transients (a pluck, a hi-hat)
  carry into the new band at the same instant instead of being smeared into steady hiss;
- its fine structure is noise with a smooth magnitude and random phase: nothing is copied up from the
  harmonics below, so there are no inharmonic tones, no aliasing and no tonal peaks above the cutoff.
`amount` scales the new band's level (1.0 = the continued envelope).
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sp_fft

from ..parallel import threads

N_FFT = 1024
HOP = N_FFT // 2
RAMP_HZ = 400.0            # the new band fades in over this width, just above the cutoff
GUARD_HZ = 300.0           # the measured band stops this far below the cutoff (the low-pass's slope)
SLOPE_LIMITS = (-80.0, -3.0)    # dB per octave: never brighter than -3; dark instruments fall fast
ANCHOR_HZ = 2000.0         # each frame's level is read from this band just under the cutoff


def _window() -> np.ndarray:
    # sqrt-Hann analysis and synthesis at 50 % overlap: the squared windows sum to one.
    return np.sqrt(np.hanning(N_FFT + 1)[:N_FFT]).astype(np.float32)


CHUNK_FRAMES = 512            # STFT frames per pass (about 5 s at 48 kHz): memory stays flat


def _frame_count(n: int) -> int:
    """Frames of HOP covering the take from half a window before its start to a whole hop plus half a window
    after its end."""
    return (n + 2 * HOP + (-n) % HOP + HOP - N_FFT) // HOP + 1


def _spectra(audio: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """rfft of the windowed frames with these indices (frame k starts half a window before sample k * HOP; zeros
    outside the take): (channels, frames, bins). Reads only these frames: no padded copy of the take."""
    idx = frames[:, None] * HOP - HOP + np.arange(N_FFT)[None, :]
    inside = (idx >= 0) & (idx < audio.shape[-1])
    segs = audio[:, np.clip(idx, 0, audio.shape[-1] - 1)] * inside
    return sp_fft.rfft(segs * _window(), axis=-1, workers=threads())


def slope_db_per_octave(freqs: np.ndarray, level_db: np.ndarray, lo: float, hi: float) -> float:
    """Least-squares slope of `level_db` against log2(frequency) between `lo` and `hi`."""
    band = (freqs >= lo) & (freqs <= hi)
    if band.sum() < 4:
        return SLOPE_LIMITS[0]
    slope = np.polyfit(np.log2(freqs[band]), level_db[band], 1)[0]
    return float(np.clip(slope, *SLOPE_LIMITS))


def extend(audio: np.ndarray, sample_rate: int, cutoff_hz: float, amount: float = 1.0,
           top_hz: float = 20_000.0, seed: int = 0) -> np.ndarray:
    """`audio` (already at its output rate) with the band from `cutoff_hz` to `top_hz` synthesised."""
    nyquist = sample_rate / 2
    top_hz = min(top_hz, 0.96 * nyquist)
    if amount <= 0 or cutoff_hz >= top_hz - RAMP_HZ or audio.shape[-1] < HOP or not np.any(audio):
        return audio
    freqs = np.fft.rfftfreq(N_FFT, 1 / sample_rate)
    edge = cutoff_hz - GUARD_HZ
    src = (freqs >= edge - ANCHOR_HZ) & (freqs < edge)
    if not src.any():
        return audio
    n = audio.shape[-1]
    frames = _frame_count(n)
    chunks = [(i, min(CHUNK_FRAMES, frames - i)) for i in range(0, frames, CHUNK_FRAMES)]
    # Pass 1: the long-term spectrum (up to 1024 frames spread over the take), for the slope: the local
    # trend just under the cutoff (half an octave), where the instrument's own roll-off shows; a wider fit
    # would let the strong low band speak for the top.
    sample = np.unique(np.linspace(0, frames - 1, min(frames, 1024)).astype(np.int64))
    power = np.square(np.abs(_spectra(audio, sample)))
    long_term = 10 * np.log10(power.mean(axis=(0, 1)) + 1e-20)
    slope = slope_db_per_octave(freqs, long_term, cutoff_hz / np.sqrt(2), edge)
    centre = np.sqrt(max(edge - ANCHOR_HZ, freqs[1]) * edge)        # a low cutoff: the source band starts at DC
    target = (freqs > cutoff_hz - RAMP_HZ / 2) & (freqs <= top_hz)
    f = freqs[target]
    shape = 10 ** (slope * np.log2(f / centre) / 10)                   # power relative to the source band
    ramp = np.clip((f - (cutoff_hz - RAMP_HZ / 2)) / RAMP_HZ, 0, 1)
    ramp *= np.clip((top_hz - f) / 1000.0, 0, 1)                       # a gentle top instead of a wall
    rng = np.random.default_rng(seed)
    window = _window()
    out = audio.copy()                  # the band is added to a copy; the frames are read from the input
    # Pass 2: per frame, the level just under the cutoff sets the new band's level (transients carry).
    for first, count in chunks:
        spec = _spectra(audio, first + np.arange(count))
        frame_level = np.square(np.abs(spec[:, :, src])).mean(axis=-1, keepdims=True)
        magnitude = np.sqrt(frame_level * shape[None, None, :]) * ramp[None, None, :] * amount
        phase = np.exp(2j * np.pi * rng.random((1, count, f.size)))    # shared: dual mono stays so
        new = np.zeros_like(spec)
        new[:, :, target] = magnitude * phase
        pieces = sp_fft.irfft(new, n=N_FFT, axis=-1, workers=threads()).astype(np.float32) * window
        for k in range(count):    # ~100 frames a second: a Python loop over frames is cheap
            start = (first + k) * HOP - HOP
            lo, hi = max(0, start), min(n, start + N_FFT)
            if hi > lo:
                out[:, lo:hi] += pieces[:, k, lo - start: hi - start]
    return out
