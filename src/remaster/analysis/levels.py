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


def mean_power_spectrum(audio: np.ndarray, sample_rate: int, n_fft: int = 4096, max_frames: int = 600,
                        remove_dc: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and mean power spectrum of the channel mean: Hann-windowed frames, up to `max_frames`
    of them spread evenly over the audio (never closer than half a frame)."""
    mono = audio.mean(axis=0) if audio.ndim == 2 else audio
    n_fft = min(n_fft, 1 << max(6, (mono.size.bit_length() - 1)))
    if mono.size < n_fft:
        mono = np.pad(mono, (0, n_fft - mono.size))
    count = max(1, min(max_frames, (mono.size - n_fft) // (n_fft // 2) + 1))
    starts = np.linspace(0, mono.size - n_fft, count).astype(np.int64)
    frames = mono[starts[:, None] + np.arange(n_fft)[None, :]]
    if remove_dc:
        frames = frames - frames.mean(axis=1, keepdims=True)
    frames = frames * np.hanning(n_fft).astype(np.float32)
    power = np.square(np.abs(np.fft.rfft(frames, axis=1))).mean(axis=0)
    return np.fft.rfftfreq(n_fft, 1 / sample_rate), power


def spectral_rolloff_hz(audio: np.ndarray, sample_rate: int, fraction: float = 0.99) -> float:
    """Frequency below which `fraction` of the energy lies (mean spectrum of up to 2000 frames)."""
    if audio.shape[-1] < 64 or not np.any(audio):
        return 0.0
    freqs, power = mean_power_spectrum(audio, sample_rate, max_frames=2000, remove_dc=True)
    cum = np.cumsum(power)
    return float(freqs[min(np.searchsorted(cum, fraction * cum[-1]), freqs.size - 1)])
