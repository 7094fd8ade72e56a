"""Sample-level measures: peaks, clipping, crest factor, DC offset, noise floor, spectral bandwidth."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import fft as sp_fft

from ..parallel import threads

CLIP_LEVEL = 0.9999          # about -0.001 dBFS: at or above full scale once quantised
FLOOR_DB = -120.0


def db(x: float) -> float:
    return 20 * math.log10(x) if x > 0 else -math.inf


def dual_mono(audio: np.ndarray) -> bool:
    """Two identical channels: the usual generated take after mono is duplicated to stereo."""
    return audio.ndim == 2 and audio.shape[0] == 2 and bool(np.array_equal(audio[0], audio[1]))


def sample_peak(audio: np.ndarray, chunk: int = 1 << 18) -> float:
    return max((float(np.abs(audio[..., a: a + chunk]).max()) for a in range(0, audio.shape[-1], chunk)),
               default=0.0)


def clipped_samples(audio: np.ndarray) -> int:
    return int(np.count_nonzero(np.abs(audio) >= CLIP_LEVEL))


def rms(audio: np.ndarray) -> float:
    flat = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
    return float(np.sqrt(float(np.dot(flat, flat)) / flat.size)) if flat.size else 0.0      # BLAS, no copy


def crest_factor_db(audio: np.ndarray) -> float:
    r = rms(audio)
    return db(sample_peak(audio) / r) if r > 0 else 0.0


def dc_offset(audio: np.ndarray) -> float:
    """Largest per-channel mean (linear, signed)."""
    means = audio.mean(axis=-1, dtype=np.float64)
    return float(means[np.argmax(np.abs(means))])


def frame_rms_db(audio: np.ndarray, sample_rate: int, frame_s: float = 0.05, chunk: int = 1 << 18) -> np.ndarray:
    """RMS level in dBFS of consecutive frames of the channel mean, a chunk at a time."""
    n = max(1, int(frame_s * sample_rate))
    total = audio.shape[-1]
    if total < n:
        n = max(1, total)
    step = max(n, chunk // n * n)
    parts = []
    for a in range(0, total // n * n, step):
        block = audio[..., a: min(a + step, total // n * n)]
        mono = block.mean(axis=0, dtype=np.float64) if block.ndim == 2 else block.astype(np.float64)
        parts.append(np.square(mono.reshape(-1, n)).mean(axis=1))
    ms = np.concatenate(parts) if parts else np.zeros(1)
    with np.errstate(divide="ignore"):
        return 10 * np.log10(np.maximum(ms, 1e-24))


def noise_floor_db(audio: np.ndarray, sample_rate: int) -> float:
    """Level of the quiet frames (10th percentile of 50 ms RMS), DC and digital silence excluded."""
    levels = frame_rms_db(audio - audio.mean(axis=-1, keepdims=True), sample_rate)
    levels = levels[levels > -200]
    if levels.size == 0:
        return FLOOR_DB
    return float(max(FLOOR_DB, np.percentile(levels, 10)))


@dataclass(frozen=True)
class LevelStats:
    sample_peak: float
    clipped: int
    rms: float
    dc: float
    noise_floor_db: float


def level_stats(audio: np.ndarray, sample_rate: int, frame_s: float = 0.05, chunk: int = 1 << 18) -> LevelStats:
    """Sample peak, clipped samples, RMS, DC offset and noise floor in one pass over the take, a chunk at a time
    (no full-length temporaries): the same numbers as sample_peak, clipped_samples, rms, dc_offset and
    noise_floor_db."""
    n = audio.shape[-1]
    frame = max(1, min(n, int(frame_s * sample_rate)))
    step = max(frame, chunk // frame * frame)
    peak, clipped, sumsq = 0.0, 0, 0.0
    sums = np.zeros(audio.shape[0])
    frame_sum, frame_sq = [], []
    for a in range(0, n, step):
        block = audio[:, a: a + step]
        mag = np.abs(block)
        peak = max(peak, float(mag.max(initial=0.0)))
        clipped += int(np.count_nonzero(mag >= CLIP_LEVEL))
        sums += block.sum(axis=1, dtype=np.float64)
        sumsq += float(np.einsum("ij,ij->", block, block, dtype=np.float64))
        mono = block.mean(axis=0, dtype=np.float64)
        f = mono[: mono.size // frame * frame].reshape(-1, frame)      # the last partial frame is left out
        frame_sum.append(f.sum(axis=1))
        frame_sq.append(np.square(f).sum(axis=1))
    means = sums / max(n, 1)
    return LevelStats(peak, clipped, math.sqrt(sumsq / max(1, audio.size)), float(means[np.argmax(np.abs(means))]),
                      _floor(np.concatenate(frame_sum), np.concatenate(frame_sq), frame, float(means.mean())))


def _floor(frame_sum: np.ndarray, frame_sq: np.ndarray, frame: int, dc: float) -> float:
    """noise_floor_db from per-frame sums of the channel mean, its DC removed (mean((x - m)^2) expanded)."""
    ms = frame_sq / frame - 2 * dc * frame_sum / frame + dc * dc
    with np.errstate(divide="ignore"):
        levels = 10 * np.log10(np.maximum(ms, 1e-24))
    levels = levels[levels > -200]
    return float(max(FLOOR_DB, np.percentile(levels, 10))) if levels.size else FLOOR_DB


def mean_power_spectrum(audio: np.ndarray, sample_rate: int, n_fft: int = 4096, max_frames: int = 600,
                        remove_dc: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and mean power spectrum of the channel mean: Hann-windowed frames, up to `max_frames`
    of them spread evenly over the audio (never closer than half a frame)."""
    audio = audio if audio.ndim == 2 else audio[None, :]
    size = audio.shape[-1]
    n_fft = min(n_fft, 1 << max(6, (size.bit_length() - 1)))
    if size < n_fft:
        audio = np.pad(audio, ((0, 0), (0, n_fft - size)))
        size = n_fft
    count = max(1, min(max_frames, (size - n_fft) // (n_fft // 2) + 1))
    starts = np.linspace(0, size - n_fft, count).astype(np.int64)
    # the channel mean of the chosen frames only: no whole-take mono copy
    frames = audio[:, starts[:, None] + np.arange(n_fft)[None, :]].mean(axis=0)
    if remove_dc:
        frames = frames - frames.mean(axis=1, keepdims=True)
    frames = frames.astype(np.float32, copy=False) * np.hanning(n_fft).astype(np.float32)
    spec = sp_fft.rfft(frames, axis=1, workers=threads())
    power = (spec.real ** 2 + spec.imag ** 2).mean(axis=0, dtype=np.float64)
    return np.fft.rfftfreq(n_fft, 1 / sample_rate), power


def spectral_rolloff_hz(audio: np.ndarray, sample_rate: int, fraction: float = 0.99) -> float:
    """Frequency below which `fraction` of the energy lies (mean spectrum of up to 2000 frames)."""
    if audio.shape[-1] < 64 or not np.any(audio):
        return 0.0
    freqs, power = mean_power_spectrum(audio, sample_rate, max_frames=400, remove_dc=True)
    cum = np.cumsum(power)
    return float(freqs[min(np.searchsorted(cum, fraction * cum[-1]), freqs.size - 1)])
