"""Look-ahead brickwall limiter on the true-peak (4x oversampled) envelope.

Per block of a few dozen frames, the gain (in dB) each block needs to stay at or under the ceiling. The gain curve
follows it down at once and recovers at a steady rate in dB (a release ramp, computed for the whole take at once
as a running minimum of `need + rate * elapsed`); a running minimum over +-lookahead then starts each reduction
early, and an average over about +-lookahead smooths the steps. Every value that enters a frame's average is at
most that frame's need, so the ceiling holds without a feedback loop.

The release is program-dependent, to keep transients: where limiting is sparse (a drum hit or a click here and
there, under SPARSE_FRACTION of the take), the gain recovers 10 dB every FAST_RELEASE_MS, so a kick keeps its body
after its click is turned down; where limiting is dense (a loud, sustained mix, over DENSE_FRACTION), it recovers
10 dB every `release_ms`, which does not pump or distort; in between the two curves are blended. Both are at or
under the need everywhere, so any blend is too.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import minimum_filter1d, uniform_filter1d

from .. import traces
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


FAST_RELEASE_MS = 20.0     # 10 dB of recovery for isolated transients
SPARSE_FRACTION = 0.05     # up to this share of limited blocks the fast release applies alone
DENSE_FRACTION = 0.3       # at this share (and above) the slow release applies fully
RELEASE_DB = 10.0          # `release_ms` is the time to recover this much


def _release(need_db: np.ndarray, db_per_block: float) -> np.ndarray:
    """The curve that meets `need_db` (<= 0) at once and recovers at `db_per_block`: min over s <= b of
    need[s] + rate * (b - s), as a cumulative minimum."""
    ramp = db_per_block * np.arange(need_db.size, dtype=np.float64)
    return (np.minimum.accumulate(need_db - ramp) + ramp).astype(np.float32)


def release_blend(need: np.ndarray) -> float:
    """0 (fast release) to 1 (the preset's release) from the share of blocks that need limiting."""
    share = float(np.count_nonzero(need < 1.0)) / max(1, need.size)
    return float(np.clip((share - SPARSE_FRACTION) / (DENSE_FRACTION - SPARSE_FRACTION), 0.0, 1.0))


def block_gains(peak: np.ndarray, ceiling: float, sample_rate: int, lookahead_ms: float,
                release_ms: float, blend: float | None = None) -> np.ndarray:
    """Per-block gain (<= 1) keeping each block's `peak * gain` at or under `ceiling` (linear); see `expand`.

    `blend` (0 fast .. 1 slow release; default from this take's own share of limited blocks) is fixed by a caller
    that searches over gains, so that the loudness through the limiter never falls as the gain rises."""
    d = block_size(sample_rate)
    with np.errstate(divide="ignore"):
        need = np.minimum(1.0, ceiling / np.maximum(peak, 1e-12)).astype(np.float32)
    if need.min() >= 1.0:
        return need
    need_db = 20 * np.log10(need)
    ms_per_block = 1000 * d / sample_rate
    w = release_blend(need) if blend is None else blend
    slow = _release(need_db, RELEASE_DB * ms_per_block / release_ms) if w > 0 else None
    fast = _release(need_db, RELEASE_DB * ms_per_block / min(FAST_RELEASE_MS, release_ms)) if w < 1 else None
    held_db = slow if fast is None else fast if slow is None else (1 - w) * fast + w * slow
    ahead = max(1, -(-round(lookahead_ms * sample_rate / 1000) // d))
    # running minimum over [b - ahead, b + ahead]: the reduction starts `ahead` early and every frame whose
    # smoothing window reaches block b sees at most b's need
    held = 10 ** (minimum_filter1d(held_db, size=2 * ahead + 1, mode="nearest") / 20)
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


def expand_range(blocks: np.ndarray, a: int, b: int, sample_rate: int) -> np.ndarray:
    """expand(blocks, ...)[a:b] without expanding the whole take: only the blocks around [a, b)."""
    d = block_size(sample_rate)
    first, last = max(0, a // d - 1), min(blocks.size, -(-b // d) + 1)
    if first == 0 and last == blocks.size:
        return expand(blocks, blocks.size * d, sample_rate)[a:b]
    part = blocks[first:last]
    # `expand` repeats its edge blocks as their own neighbours: inside the take, give it the real ones
    left = blocks[first - 1: first] if first > 0 else part[:1]
    right = blocks[last: last + 1] if last < blocks.size else part[-1:]
    full = expand(np.concatenate([left, part, right]), (part.size + 2) * d, sample_rate)
    offset = (first - 1) * d
    return full[a - offset: b - offset]


def expand_at(blocks: np.ndarray, frames: np.ndarray, sample_rate: int) -> np.ndarray:
    """expand(blocks, ...)[frames] for a few frames, without expanding the take."""
    d = block_size(sample_rate)
    k = np.minimum(frames // d, blocks.size - 1)
    o = frames - k * d
    w = np.abs((o - (d - 1) / 2) / d)
    other = np.where(o < d // 2, np.maximum(k - 1, 0), np.minimum(k + 1, blocks.size - 1))
    return blocks[k] * (1 - w) + blocks[other] * w


def span_minima(blocks: np.ndarray, frames: int, hop: int, sample_rate: int) -> np.ndarray:
    """The lowest gain of expand(blocks, frames, ...) in each span of `hop` frames: the curve is linear between
    block centres, so its lowest point in a span is a centre inside it or one of the span's ends."""
    d = block_size(sample_rate)
    starts = np.arange(0, frames, hop)
    ends = np.minimum(starts + hop, frames) - 1
    low = np.minimum(expand_at(blocks, starts, sample_rate), expand_at(blocks, ends, sample_rate))
    centre = (d - 1) / 2
    first = np.ceil((starts - centre) / d).clip(0, blocks.size - 1).astype(np.int64)
    last = np.floor((ends - centre) / d).clip(-1, blocks.size - 1).astype(np.int64)
    has = last >= first
    # blocks first[i] .. first[i+1]-1, and the last span's up to its last centre (not the padding's)
    inside = np.minimum.reduceat(blocks[: max(int(last.max()), int(first.max())) + 1], first)
    # a span whose next span starts at the same block (no centre inside) has nothing more than its ends
    return np.where(has, np.minimum(low, inside), low)


def gain_curve(env: np.ndarray, ceiling: float, sample_rate: int, lookahead_ms: float,
               release_ms: float) -> np.ndarray:
    """Per-frame gain (<= 1) keeping `env * gain` at or under `ceiling`."""
    blocks = block_gains(block_peaks(env, sample_rate), ceiling, sample_rate, lookahead_ms, release_ms)
    return expand(blocks, env.size, sample_rate)


def limit(audio: np.ndarray, sample_rate: int, ceiling_db: float, lookahead_ms: float = 2.0,
          release_ms: float = 60.0, true_peak: bool = True,
          env: np.ndarray | None = None, curve: list | None = None) -> tuple[np.ndarray, dict]:
    """`curve`: a list the per-frame gain is appended to (for its trace)."""
    ceiling = 10 ** (ceiling_db / 20)
    if env is None:
        env = truepeak.envelope(audio, ceiling / 1.5) if true_peak else np.abs(audio).max(axis=0)
    g = gain_curve(env, ceiling, sample_rate, lookahead_ms, release_ms)
    if curve is not None:
        curve.append(g)
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
    finishing = True
    Params = LimiterParams
    Report = LimiterReport

    def process(self, audio: np.ndarray, sample_rate: int) -> Processed:
        p = self.params
        # A small margin absorbs the interpolation of the gain curve between frames.
        curve: list[np.ndarray] = []
        out, info = limit(audio, sample_rate, p.ceiling_db - 0.05, p.lookahead_ms, p.release_ms, p.true_peak,
                          curve=curve)
        peak = truepeak.true_peak(out) if p.true_peak else float(np.abs(out).max())
        info["peak_out_db"] = round(db(peak), 3) if peak > 0 else -math.inf
        return Processed(out, sample_rate, info, {"gain_reduction": traces.gain_reduction(curve[0], sample_rate)})
