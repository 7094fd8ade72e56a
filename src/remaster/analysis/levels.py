"""Sample-level measures: peaks, clipping, crest factor, DC offset, noise floor, spectral bandwidth."""

from __future__ import annotations

import math

import numpy as np

CLIP_LEVEL = 0.9999          # about -0.001 dBFS: at or above full scale once quantised
FLOOR_DB = -120.0


def db(x: float) -> float:
    return 20 * math.log10(x) if x > 0 else -math.inf


def dual_mono(audio: np.ndarray) -> bool:
    """Two identical channels: the usual generated take after mono is duplicated to stereo."""
    return audio.ndim == 2 and audio.shape[0] == 2 and bool(np.array_equal(audio[0], audio[1]))


def sample_peak(audio: np.ndarray) -> float:
    return float(np.abs(audio).max()) if audio.size else 0.0


def clipped_samples(audio: np.ndarray) -> int:
    return int(np.count_nonzero(np.abs(audio) >= CLIP_LEVEL))


def rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if audio.size else 0.0


def crest_factor_db(audio: np.ndarray) -> float:
    r = rms(audio)
    return db(sample_peak(audio) / r) if r > 0 else 0.0


def dc_offset(audio: np.ndarray) -> float:
    """Largest per-channel mean (linear, signed)."""
    means = audio.mean(axis=-1, dtype=np.float64)
    return float(means[np.argmax(np.abs(means))])


def frame_rms_db(audio: np.ndarray, sample_rate: int, frame_s: float = 0.05) -> np.ndarray:
    """RMS level in dBFS of consecutive frames of the channel mean."""
    mono = audio.mean(axis=0) if audio.ndim == 2 else audio
    n = max(1, int(frame_s * sample_rate))
    usable = mono[: mono.size // n * n]
    if usable.size == 0:
        usable, n = mono, mono.size
    ms = np.square(usable.reshape(-1, n), dtype=np.float64).mean(axis=1)
    with np.errstate(divide="ignore"):
        return 10 * np.log10(np.maximum(ms, 1e-24))


def noise_floor_db(audio: np.ndarray, sample_rate: int) -> float:
    """Level of the quiet frames (10th percentile of 50 ms RMS), DC and digital silence excluded."""
    levels = frame_rms_db(audio - audio.mean(axis=-1, keepdims=True), sample_rate)
    levels = levels[levels > -200]
    if levels.size == 0:
        return FLOOR_DB
    return float(max(FLOOR_DB, np.percentile(levels, 10)))


def spectral_bandwidth_hz(audio: np.ndarray, sample_rate: int, fraction: float = 0.99,
                          n_fft: int = 4096, max_frames: int = 2000) -> float:
    """Frequency below which `fraction` of the energy lies: Hann-windowed power spectra of up to
    `max_frames` frames spread evenly over the channel mean, averaged."""
    mono = audio.mean(axis=0) if audio.ndim == 2 else audio
    if mono.size < 64 or not np.any(mono):
        return 0.0
    n_fft = min(n_fft, 1 << (mono.size.bit_length() - 1))
    count = mono.size // n_fft
    starts = np.linspace(0, mono.size - n_fft, min(count, max_frames)).astype(np.int64)
    frames = mono[starts[:, None] + np.arange(n_fft)[None, :]]
    frames = (frames - frames.mean(axis=1, keepdims=True)) * np.hanning(n_fft).astype(np.float32)
    power = np.square(np.abs(np.fft.rfft(frames, axis=1))).mean(axis=0)
    cum = np.cumsum(power)
    freqs = np.fft.rfftfreq(n_fft, 1 / sample_rate)
    return float(freqs[min(np.searchsorted(cum, fraction * cum[-1]), freqs.size - 1)])
