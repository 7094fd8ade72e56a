"""Look-ahead brickwall limiter on the true-peak (4x oversampled) envelope.

The gain curve is the running minimum of the gain each frame needs, taken over a window reaching
`lookahead` into the future and `release` into the past, then averaged over +-lookahead. Every value in that
average is at most the gain the frame needs, so the ceiling holds without a feedback loop, and the whole
curve is computed with vectorised filters.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import Field
from scipy.ndimage import minimum_filter1d, uniform_filter1d

from ..analysis import truepeak
from ..analysis.levels import db
from .base import Context, Params, Processed, Processor, register


def gain_curve(env: np.ndarray, ceiling: float, sample_rate: int, lookahead_ms: float,
               release_ms: float) -> np.ndarray:
    """Per-frame gain (<= 1) that keeps `env * gain` at or under `ceiling` (linear)."""
    with np.errstate(divide="ignore"):
        need = np.minimum(1.0, ceiling / np.maximum(env, 1e-12)).astype(np.float32)
    if need.min() >= 1.0:
        return np.ones_like(need)
    ahead = max(1, round(lookahead_ms * sample_rate / 1000))
    behind = max(ahead, round(release_ms * sample_rate / 1000))
    # Running minimum over [n - behind, n + ahead]; scipy centres a window of `size` on
    # [n - (size - 1 - size // 2), n + size // 2] and `origin` shifts it.
    size = behind + ahead + 1
    held = minimum_filter1d(need, size=size, origin=(size - 1 - size // 2) - ahead, mode="nearest")
    return uniform_filter1d(held, size=2 * ahead + 1, mode="nearest")

def limit(audio: np.ndarray, sample_rate: int, ceiling_db: float, lookahead_ms: float = 2.0,
          release_ms: float = 60.0, true_peak: bool = True,
          env: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    ceiling = 10 ** (ceiling_db / 20)
    if env is None:
        env = truepeak.envelope(audio, ceiling / 1.5) if true_peak else np.abs(audio).max(axis=0)
    g = gain_curve(env, ceiling, sample_rate, lookahead_ms, release_ms)
    reduced = g < 1.0
    out = (audio * g[None, :]).astype(np.float32) if reduced.any() else audio
    return out, {"limited_fraction": round(float(reduced.mean()), 5),
                 "max_reduction_db": round(-db(float(g.min())), 2) if reduced.any() else 0.0}


class LimiterParams(Params):
    ceiling_db: float = Field(-1.0, ge=-30.0, le=0.0)
    lookahead_ms: float = Field(2.0, ge=0.1, le=20.0)
    release_ms: float = Field(60.0, ge=1.0, le=2000.0)
    true_peak: bool = True


@register
class Limiter(Processor):
    """Brickwall limiter: true peak (or sample peak) never above `ceiling_db`."""

    name = "limiter"
    Params = LimiterParams

    def process(self, audio: np.ndarray, sample_rate: int, context: Context) -> Processed:
        p = self.params
        # A small margin absorbs the interpolation of the gain curve between frames.
        out, info = limit(audio, sample_rate, p.ceiling_db - 0.05, p.lookahead_ms, p.release_ms, p.true_peak)
        peak = truepeak.true_peak(out) if p.true_peak else float(np.abs(out).max())
        info["peak_out_db"] = round(db(peak), 3) if peak > 0 else -math.inf
        return Processed(out, sample_rate, info)
