"""Stage traces: the tracks a stage computed anyway (the limiter's gain curve, the pitch track), thinned for plots.

A processor may return them beside its audio (`Processed.traces`); they are not part of the report (its structure
is published and stays small), they travel beside it (`Mastered.traces`, per stage label) to whoever draws the take:
the HTML report and the studio (remaster.view). Each trace is plain data on a regular time grid (`t0`, `dt` in
seconds), so drawing it needs no knowledge of the stage.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_POINTS = 1000           # a plot is about a thousand pixels wide: more points only cost bytes


def hop_for(frames: int, sample_rate: int, max_points: int = MAX_POINTS, min_hop_s: float = 0.01) -> int:
    """Frames per plotted point: at least `min_hop_s`, and no more than `max_points` points over the take."""
    return max(1, round(min_hop_s * sample_rate), -(-frames // max_points))


def gain_reduction(curve: np.ndarray, sample_rate: int) -> dict[str, Any]:
    """A per-frame gain curve (<= 1) as its deepest reduction per plotted point, in dB (0 where nothing was done)."""
    hop = hop_for(curve.size, sample_rate)
    m = -(-curve.size // hop)
    padded = np.ones(m * hop, dtype=np.float32)
    padded[: curve.size] = curve
    return reduction(padded.reshape(m, hop).min(axis=1), hop, sample_rate)


def reduction(low: np.ndarray, hop: int, sample_rate: int) -> dict[str, Any]:
    """The trace of the lowest gain (linear) of each span of `hop` frames: see `gain_reduction`."""
    with np.errstate(divide="ignore"):
        db = 20 * np.log10(np.maximum(np.minimum(low, 1.0), 1e-6))
    return {"t0": hop / sample_rate / 2, "dt": hop / sample_rate, "db": np.minimum(db, 0.0).astype(np.float32)}


def pitch(times: np.ndarray, cents: np.ndarray, max_points: int = 2 * MAX_POINTS) -> dict[str, Any]:
    """A pitch track (MIDI cents, NaN where unpitched) on its frame grid, every k-th frame past `max_points`."""
    step = max(1, -(-times.size // max_points))
    dt = float(times[1] - times[0]) * step if times.size > 1 else 0.02
    return {"t0": float(times[0]) if times.size else 0.0, "dt": dt,
            "cents": np.asarray(cents[::step], dtype=np.float32)}
