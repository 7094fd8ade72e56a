"""Look-ahead brickwall limiter on the true-peak (4x oversampled) envelope.

The gain curve is the running minimum of the gain each frame needs, taken over a window reaching
`lookahead` into the future and `release` into the past, then averaged over about +-lookahead. Every value
in that average is at most the gain the frame needs, so the ceiling holds without a feedback loop, and the
whole curve is computed with vectorised filters.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import minimum_filter1d, uniform_filter1d

from ..analysis import truepeak
from ..analysis.levels import db
from .base import Params, Processed, Processor, Report, param, register, reported


def block_size(sample_rate: int) -> int:
    """About 0.67 ms at 48 kHz, and a divisor of the 100 ms loudness step, so block sums nest in steps."""
    step = round(0.1 * sample_rate)
    return next(d for d in range(32, 0, -1) if step % d == 0)


def block_peaks(env: np.ndarray, sample_rate: int) -> np.ndarray:
    """The largest value of each limiter block (see `block_gains`)."""
    d = block_size(sample_rate)
    m = -(-env.size // d)
    padded = np.zeros(m * d, dtype=np.float32)
    padded[: env.size] = env
    return padded.reshape(m, d).max(axis=1)


def block_gains(peak: np.ndarray, ceiling: float, sample_rate: int, lookahead_ms: float,
                release_ms: float) -> np.ndarray:
    """Per-block gain (<= 1) keeping each block's `peak * gain` at or under `ceiling` (linear); see `expand`.

    Each block of a few dozen frames needs the gain of its loudest frame. The average spans one block less
    than the look-ahead on each side, so both neighbours of a block are also at or under that block's need,
    and so is any value interpolated between them.
    """
    d = block_size(sample_rate)
    with np.errstate(divide="ignore"):
        need = np.minimum(1.0, ceiling / np.maximum(peak, 1e-12)).astype(np.float32)
    if need.min() >= 1.0:
        return need
    ahead = max(1, -(-round(lookahead_ms * sample_rate / 1000) // d))
    behind = max(ahead + 1, -(-round(release_ms * sample_rate / 1000) // d))
    # Running minimum over blocks [b - behind, b + ahead]; scipy centres a window of `size` on
    # [b - (size - 1 - size // 2), b + size // 2] and `origin` shifts it.
    size = behind + ahead + 1
    held = minimum_filter1d(need, size=size, origin=(size - 1 - size // 2) - ahead, mode="nearest")
    return uniform_filter1d(held, size=2 * ahead - 1, mode="nearest") if ahead > 1 else held


def expand(blocks: np.ndarray, frames: int, sample_rate: int) -> np.ndarray:
    """Per-frame gain: linear between block centres (each frame mixes its block with the nearer neighbour)."""
    d = block_size(sample_rate)
    if blocks.min() >= 1.0:
        return np.ones(frames, np.float32)
    offset = (np.arange(d, dtype=np.float32) - (d - 1) / 2) / d          # -0.5 .. 0.5 of a block
    w = np.abs(offset)
    half = d // 2                                                        # frames before the centre
    left = np.concatenate((blocks[:1], blocks[:-1]))
    right = np.concatenate((blocks[1:], blocks[-1:]))
    out = np.empty((blocks.size, d), dtype=np.float32)
    np.multiply(blocks[:, None], 1 - w[None, :], out=out)
    out[:, :half] += left[:, None] * w[None, :half]
    out[:, half:] += right[:, None] * w[None, half:]
    return out.reshape(-1)[:frames]


def gain_curve(env: np.ndarray, ceiling: float, sample_rate: int, lookahead_ms: float,
               release_ms: float) -> np.ndarray:
    """Per-frame gain (<= 1) keeping `env * gain` at or under `ceiling`."""
    blocks = block_gains(block_peaks(env, sample_rate), ceiling, sample_rate, lookahead_ms, release_ms)
    return expand(blocks, env.size, sample_rate)


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
    ceiling_db: float = param(-1.0, unit="dB", ge=-30.0, le=0.0, description="the peak the output never exceeds")
    lookahead_ms: float = param(2.0, unit="ms", ge=0.1, le=20.0, description="how early gain starts to fall")
    release_ms: float = param(60.0, unit="ms", ge=1.0, le=2000.0, description="how slowly gain recovers")
    true_peak: bool = param(True, unit="on/off", description="limit the 4x oversampled (true) peak, not only the "
                            "sample peak")


class LimiterReport(Report):
    limited_fraction: float | None = reported(unit="fraction", description="share of the frames turned down")
    max_reduction_db: float | None = reported(unit="dB", description="deepest gain reduction")
    peak_out_db: float | None = reported(unit="dB", description="peak of the output", column=True)


@register
class Limiter(Processor):
    """Brickwall limiter: true peak (or sample peak) never above `ceiling_db`."""

    name = "limiter"
    Params = LimiterParams
    Report = LimiterReport

    def process(self, audio: np.ndarray, sample_rate: int) -> Processed:
        p = self.params
        # A small margin absorbs the interpolation of the gain curve between frames.
        out, info = limit(audio, sample_rate, p.ceiling_db - 0.05, p.lookahead_ms, p.release_ms, p.true_peak)
        peak = truepeak.true_peak(out) if p.true_peak else float(np.abs(out).max())
        info["peak_out_db"] = round(db(peak), 3) if peak > 0 else -math.inf
        return Processed(out, sample_rate, info)
