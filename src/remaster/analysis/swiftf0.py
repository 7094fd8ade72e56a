"""SwiftF0 (Nieradzik, "SwiftF0: Fast and Accurate Monophonic Pitch Detection", 2025): a small convolutional
network over an STFT of 16 kHz audio that gives a pitch (46.875-2093.75 Hz) and a voicing confidence for every
256-sample frame (16 ms). Its model.onnx ships inside the `swift-f0` wheel and runs here on onnxruntime.

The file is read from the installed distribution, found through its metadata (the package is not imported),
and checked against the sha256 of the model this code was written for. One session per process, built on first
use. Long takes are cut into windows of `WINDOW_S` with `CONTEXT_S` of audio on each side, so memory stays flat.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import numpy as np

from .packaged import packaged_file

RATE = 16_000
HOP = 256                     # samples per frame: 16 ms
FMIN, FMAX = 46.875, 2093.75
# Its reading drifts more than 10 cents off a tone within 90 cents of the top of the range it is given, and pins
# there (with fmax 2000 Hz, every tone from 1930 Hz up reads 1950 Hz): a reading that high says only "somewhere up
# there" (pure and harmonic tones, 1800-2300 Hz, README).
TOP_MARGIN_CENTS = 90.0
WINDOW_S = 30.0
CONTEXT_S = 0.25
MODEL_SHA256 = "6385e8c2ebc3872e82c9ff5946228de44cd3be77a750ea53698b7dbfe94b0a22"
_REINSTALL = "reinstall the environment with `make` (or `pip install --force-reinstall --no-deps swift-f0==0.3.0`)"


def model_path() -> Path:
    """The installed swift-f0 distribution's model.onnx, checked; the package is not imported."""
    return packaged_file("swift-f0", "swift_f0/model.onnx", MODEL_SHA256, "SwiftF0's model",
                         "the pitch tracker 'swiftf0'", f"{_REINSTALL}, or choose dissonance.model: tiny")


def threads() -> int:
    """The cores this process may use, at most four (the network gains nothing past that)."""
    try:
        return max(1, min(4, len(os.sched_getaffinity(0))))
    except AttributeError:      # not on Linux
        return max(1, min(4, os.cpu_count() or 1))


@functools.lru_cache(maxsize=1)
def session() -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads()
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")   # a shared machine: do not spin
    return onnxruntime.InferenceSession(str(model_path()), options, providers=["CPUExecutionProvider"])


def _run(audio: np.ndarray, fmin: float, fmax: float) -> tuple[np.ndarray, np.ndarray]:
    pitch, confidence = session().run(["pitch", "confidence"], {
        "audio": audio[None, :].astype(np.float32), "fmin": np.asarray(fmin, np.float32),
        "fmax": np.asarray(fmax, np.float32)})
    return np.asarray(pitch[0], np.float64), np.asarray(confidence[0], np.float64)


def infer(mono16k: np.ndarray, fmin: float = FMIN, fmax: float = FMAX) -> tuple[np.ndarray, np.ndarray]:
    """Pitch (Hz) and confidence (0..1) of frame i, centred at i * HOP samples, for 16 kHz mono audio."""
    fmin, fmax = max(FMIN, fmin), min(FMAX, fmax)
    frames = max(1, len(mono16k) // HOP)
    step, context = round(WINDOW_S * RATE / HOP), round(CONTEXT_S * RATE / HOP)
    pitch, confidence = np.zeros(frames), np.zeros(frames)
    for start in range(0, frames, step):
        stop = min(frames, start + step)
        left = max(0, start - context)
        right = min(frames, stop + context)
        chunk = mono16k[left * HOP:right * HOP + (HOP if right == frames else 0)]
        p, c = _run(np.ascontiguousarray(chunk), fmin, fmax)
        take = slice(start - left, start - left + stop - start)
        got_p, got_c = p[take], c[take]
        pitch[start:start + len(got_p)], confidence[start:start + len(got_c)] = got_p, got_c
    return pitch, confidence
