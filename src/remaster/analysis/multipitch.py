"""Every voice of a mix: Spotify's Basic Pitch (Bittner, Bosch, Rubinstein, Meseguer-Brocal and Ewert, "A
Lightweight Instrument-Agnostic Model for Polyphonic Note Transcription and Multipitch Estimation", ICASSP 2022).

Its network (`nmp.onnx`, shipped inside the basic-pitch wheel, run here on onnxruntime; the package is never
imported) takes windows of 43844 samples at 22.05 kHz and gives, every 256 samples (86 frames a second), three
posteriorgrams: note activity and onsets on the 88 piano keys, and a pitch contour on 264 bins, three to a
semitone from A0. Windows overlap by 30 frames; 15 are dropped on each side of each window.

Notes are cut from the note posteriorgram (a key active above `NOTE_ON` for `MIN_NOTE_S`, split at onset peaks),
and each note's centre is read from the contour: the activation-weighted mean of the bins within 70 cents of
its key, over the note's middle, so a note 50 cents off its key shows as such. The notes are the same
`notes.Note` the monophonic path makes, and the check judges them the same way.
"""

from __future__ import annotations

import functools
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from ..errors import ProcessingError
from .notes import Note, runs
from .packaged import packaged_file

RATE = 22_050
WINDOW = 43_844
HOP = 256
OVERLAP = 30                   # frames
FPS = RATE / HOP
KEY0 = 21                      # the first key and contour bin: A0
BINS_PER_SEMITONE = 3
NOTE_ON, ONSET_ON = 0.4, 0.7
MIN_NOTE_S = 0.1
MODEL_SHA256 = "2c3c1d144bfa61ad236e92e169c13535c880469a12a047d4e73451f2c059a0ec"
_INSTALL = ("install it with `pip install --no-deps basic-pitch==0.4.0` (its TensorFlow requirement is not needed) "
            "or choose dissonance.voices: mono")


def model_path() -> Path:
    """The installed basic-pitch distribution's nmp.onnx, checked; the package is not imported."""
    return packaged_file("basic-pitch", "basic_pitch/saved_models/icassp_2022/nmp.onnx", MODEL_SHA256,
                         "Basic Pitch's model", "the polyphonic pitch check", _INSTALL)


def available() -> bool:
    try:
        model_path()
    except ProcessingError:
        return False
    return True


@functools.lru_cache(maxsize=1)
def session() -> Any:
    import onnxruntime

    from .swiftf0 import threads

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(model_path()), options, providers=["CPUExecutionProvider"])


def posteriorgrams(mono: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(note (frames, 88), onset (frames, 88), contour (frames, 264)) for mono float audio."""
    x = soxr.resample(mono.astype(np.float32), sample_rate, RATE, "HQ") if sample_rate != RATE else mono
    half = OVERLAP // 2
    x = np.concatenate([np.zeros(half * HOP, np.float32), x.astype(np.float32)])
    step = WINDOW - OVERLAP * HOP
    starts = range(0, max(1, len(x)), step)
    windows = np.stack([np.pad(x[s:s + WINDOW], (0, max(0, WINDOW - len(x[s:s + WINDOW])))) for s in starts])
    sess = session()
    names = [o.name for o in sess.get_outputs()]
    outs = {}
    for k in range(0, len(windows), 8):
        got = sess.run(names, {sess.get_inputs()[0].name: windows[k:k + 8, :, None]})
        for name, value in zip(names, got, strict=True):
            outs.setdefault(name, []).append(value)
    by_width: dict[int, list[np.ndarray]] = {}
    for value in (np.concatenate(v) for v in outs.values()):
        by_width.setdefault(value.shape[-1], []).append(value[:, half:-half].reshape(-1, value.shape[-1]))
    frames = int(np.ceil(len(mono) * RATE / sample_rate / HOP))
    contour = by_width[264][0][:frames]
    # the two 88-key outputs: onsets are the sparser
    a, b = (v[:frames] for v in by_width[88])
    note, onset = (a, b) if a.mean() >= b.mean() else (b, a)
    return note, onset, contour


def _centre(contour: np.ndarray, key: int, s: int, e: int) -> float | None:
    """MIDI cents of a note on `key` over frames [s, e): contour bins within 70 cents, weighted, middle frames."""
    mid = slice(s + (e - s) // 4, e - (e - s) // 4 if e - s >= 4 else e)
    centre_bin = (key - KEY0) * BINS_PER_SEMITONE
    lo, hi = max(0, centre_bin - 2), min(contour.shape[1], centre_bin + 3)
    w = contour[mid, lo:hi]
    if w.sum() <= 1e-6:
        return None
    per_frame = (w * np.arange(lo, hi)).sum(axis=1) / np.maximum(w.sum(axis=1), 1e-9)
    strong = w.sum(axis=1) > 0.5 * w.sum(axis=1).max()
    return 100.0 * KEY0 + 100.0 / BINS_PER_SEMITONE * float(np.median(per_frame[strong]))


def find_voices(mono: np.ndarray, sample_rate: int) -> tuple[list[Note], np.ndarray]:
    """The notes of every voice (sorted by start), and the number of voices sounding in each frame."""
    note, onset, contour = posteriorgrams(mono, sample_rate)
    min_frames = max(2, round(MIN_NOTE_S * FPS))
    out: list[Note] = []
    active = note > NOTE_ON
    for k in range(note.shape[1]):
        peaks = np.flatnonzero((onset[1:-1, k] > ONSET_ON) & (onset[1:-1, k] >= onset[:-2, k])
                               & (onset[1:-1, k] > onset[2:, k])) + 1
        for a, b in runs(active[:, k]):
            cuts = [a, *[c for c in peaks if a + min_frames <= c <= b - min_frames], b]
            for s, e in itertools.pairwise(cuts):
                if e - s < min_frames:
                    continue
                centre = _centre(contour, KEY0 + k, s, e)
                if centre is None:
                    continue
                level = float(note[s:e, k].mean())
                out.append(Note(start=s / FPS, end=e / FPS, centre=centre, stable_s=(e - s) / FPS,
                                vibrato_cents=0.0, slide_in_cents=0.0, slide_out_cents=0.0,
                                level_db=20 * np.log10(max(level, 1e-6))))
    out.sort(key=lambda n: (n.start, n.centre))
    return out, active.sum(axis=1)
