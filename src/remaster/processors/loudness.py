"""Loudness normalisation to an integrated target (ITU-R BS.1770-4) under a true-peak ceiling, with a bounded
limiting budget.

Gain alone cannot meet both targets when the crest factor is high, so gain and a look-ahead true-peak limiter are
solved together. The K-weighted power and the true-peak envelope are measured once; the loudness through the
limiter at a given gain is estimated from them cheaply, and it never falls as the gain rises, so the gain is found
by a bracketed search (regula falsi, Illinois variant) between the gain that needs no limiting and the gain at
which the limiter would reduce the loudest peak by exactly `max_limiting_db`. No gain beyond that bound is ever
tried, so the stage cannot run away on peaky material. The result is then measured exactly; the exact error
corrects the aim of the next round. It stops within 0.05 LU of the target with the true peak at or under the
ceiling, or at the budget: then the master is off target, and the report says what it reached and how much
limiting the target would have needed (or, with `when_off_target: refuse`, the take is refused).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from .. import traces
from ..analysis import loudness, truepeak
from ..analysis.levels import dual_mono
from ..errors import ProcessingError
from .base import Params, Processed, Processor, Report, param, register, reported
from .limiter import block_gains, block_size, expand_range, release_blend, span_minima

TOLERANCE_LU = 0.05
CHUNK = 1 << 18            # frames a chunk: the output is written a chunk at a time
MARGIN_DB = 0.15           # internal ceiling below the requested one: the meter's 0.1 dB and dither


LOUDNESS_TOLERANCE_LU = 0.5     # the promise: within this of the target (the streaming services' own tolerance)
MIN_SIGNAL_S = 3.0               # BS.1770 integrated loudness needs a few seconds of signal to mean anything


class LoudnessParams(Params):
    target_lufs: float = param(-14.0, unit="LUFS", ge=-40.0, le=-5.0,
                               description="integrated loudness of the master (ITU-R BS.1770-4)")
    true_peak_db: float = param(-1.0, unit="dBTP", ge=-12.0, le=0.0,
                                description="ceiling for the true (4x oversampled) peak")
    max_gain_db: float = param(45.0, unit="dB", ge=0.0, le=60.0, description="never boost more than this")
    max_limiting_db: float = param(12.0, unit="dB", ge=0.0, le=40.0,
                                   description="the most the limiter may turn the loudest peak down to reach the "
                                   "target; beyond it the master stays below the target and is reported off target")
    fixed_gain_db: float | None = param(
        None, unit="dB", ge=-60.0, le=60.0, description="album mode (`sori batch --album`): this gain for every take "
        "instead of each take's own, so an album keeps its relative levels; the limiter still holds the ceiling")
    when_off_target: Literal["report", "refuse"] = param(
        "report", unit="choice", description="a take that cannot reach the target within the budget: master it "
        "as close as the budget allows and report it, or refuse it with one line")
    lookahead_ms: float = param(2.0, unit="ms", ge=0.1, le=20.0, description="limiter look-ahead")
    release_ms: float = param(60.0, unit="ms", ge=1.0, le=2000.0, description="limiter release")


class LoudnessReport(Report):
    input_lufs: float | None = reported(unit="LUFS", description="integrated loudness in")
    gain_db: float | None = reported(unit="dB", description="gain applied before the limiter", column=True)
    output_lufs: float | None = reported(unit="LUFS", description="integrated loudness out")
    output_true_peak_db: float | None = reported(unit="dBTP", description="true peak out")
    limited_fraction: float | None = reported(unit="fraction", description="share of the frames the limiter turned "
                                              "down", column=True)
    rounds: int | None = reported(unit="count", description="gain/limiter rounds the solver needed")
    max_limiting_db: float | None = reported(unit="dB", description="deepest limiter gain reduction", column=True)
    on_target: bool | None = reported(unit="yes/no", description="output within 0.5 LU of the target and at or "
                                      "under the ceiling")
    off_target: str | None = reported(description="why the master missed the target (what it reached, what the "
                                      "target would need)", column=True)
    limiting_needed_db: float | None = reported(unit="dB", description="limiting the target would need, when it is "
                                                "over the budget")


@register
class Loudness(Processor):
    name = "loudness"
    finishing = True
    delivery_keys = ("target_lufs", "true_peak_db")
    Params = LoudnessParams
    Report = LoudnessReport

    def promises(self, report: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, bool]:
        """True peak at or under the ceiling; loudness within 0.5 LU of the target where there are at least
        MIN_SIGNAL_S of signal to measure (`after["signal_s"]`)."""
        p = self.params
        tp = after.get("true_peak_dbtp")
        out = {"true_peak": tp is None or tp <= p.true_peak_db + 1e-6}
        if p.fixed_gain_db is None and after.get("signal_s", MIN_SIGNAL_S) >= MIN_SIGNAL_S:   # album: the album's
            lufs = after.get("integrated_lufs")
            out["loudness"] = lufs is not None and abs(lufs - p.target_lufs) <= LOUDNESS_TOLERANCE_LU
        return out

    def process(self, audio: np.ndarray, sample_rate: int) -> Processed:
        p = self.params
        # Dual mono (the usual generated take after `channels: stereo`): work on one channel, count two.
        dual = dual_mono(audio)
        work = audio[:1] if dual else audio
        solver = _Solver(work, sample_rate, p, channel_gain=2.0 if dual else 1.0, channels_out=audio.shape[0])
        if not math.isfinite(solver.before):
            raise ProcessingError(f"{self.label}: no signal above the -70 LUFS gate; nothing to normalise "
                                  "(is the input silent?)")
        out, info = solver.solve()
        if info.get("off_target") and p.when_off_target == "refuse":
            raise OffTarget(f"{self.label}: off target: {info['off_target']}; raise {self.label}.max_limiting_db "
                            f"or lower {self.label}.target_lufs, or set {self.label}.when_off_target=report")
        hop = traces.hop_for(out.shape[-1], sample_rate)
        low = span_minima(solver.last_blocks, out.shape[-1], hop, sample_rate)
        trace = traces.reduction(low, hop, sample_rate)
        return Processed(out, sample_rate, info, {"gain_reduction": trace})


class OffTarget(ProcessingError):
    """A take the loudness stage cannot bring to its target within the limiting budget (when told to refuse)."""


class _Solver:
    """The gain and limiter curve for one take (see the module docstring)."""

    def __init__(self, audio: np.ndarray, sample_rate: int, p: LoudnessParams, channel_gain: float,
                 channels_out: int | None = None) -> None:
        self.audio, self.rate, self.p, self.channel_gain = audio, sample_rate, p, channel_gain
        self.channels_out = channels_out or audio.shape[0]      # dual mono: one channel worked, both written
        self.out: np.ndarray | None = None
        self.estimator = _Estimator(audio, sample_rate, channel_gain)
        self.before = self.estimator(np.ones(self.estimator.blocks.size, np.float32))   # unity gain: the input's
        self.ceiling = 10 ** (p.true_peak_db / 20)
        self.inner = 10 ** ((p.true_peak_db - MARGIN_DB) / 20)
        self.local_peak = _local_peaks(audio, sample_rate)
        self.env_gain_db = -math.inf
        self.blend: float | None = None
        self.peak: float | None = None

    # --- the estimate: loudness through the limiter at a gain, from block sums --------------------------------

    def _envelope_for(self, gain_db: float) -> None:
        """Accurate true-peak envelope wherever the signal could reach the ceiling with up to 3 dB more gain."""
        if gain_db > self.env_gain_db:
            self.env_gain_db = gain_db + 3
            level = self.inner / 10 ** (self.env_gain_db / 20)
            self.env_peaks = truepeak.envelope_peaks(self.audio, level, block_size(self.rate))

    def blocks(self, gain_db: float) -> np.ndarray:
        self._envelope_for(gain_db)
        g = 10 ** (gain_db / 20)
        if self.blend is None:      # the take's character at the level the target asks for, fixed for the search
            at_target = 10 ** ((self.p.target_lufs - self.before) / 20)
            self.blend = release_blend(np.minimum(1.0, self.inner / np.maximum(self.env_peaks * at_target, 1e-12)))
        return block_gains(self.env_peaks * g, self.inner, self.rate, self.p.lookahead_ms, self.p.release_ms,
                           self.blend)

    def estimate(self, gain_db: float) -> float:
        return self.estimator(10 ** (gain_db / 20) * self.blocks(gain_db))

    def budget_gain_db(self) -> float:
        """The highest gain the budget allows: the loudest peak turned down by exactly `max_limiting_db`."""
        if self.peak is None:
            # the envelope is exact wherever it could reach the ceiling at the target's gain (+3 dB): its maximum
            # is the true peak, or, when nothing can reach the ceiling, an upper bound of it
            self._envelope_for(self.p.target_lufs - self.before)
            self.peak = float(self.env_peaks.max())
        peak_db = 20 * math.log10(self.peak) if self.peak > 0 else -math.inf
        return min(self.p.max_gain_db, 20 * math.log10(self.inner) - peak_db + self.p.max_limiting_db)

    def search(self, aim: float, lo: float, hi: float) -> tuple[float, float]:
        """The gain in [lo, hi] whose estimate reaches `aim` (or hi when even hi falls short), and its estimate.
        The estimate never falls as the gain rises, so the bracket only narrows."""
        f_lo = self.estimate(lo)
        if f_lo >= aim - 0.005 or hi <= lo:
            return lo, f_lo
        # the upper end is expensive (an accurate envelope down to its level): step up by the shortfall first
        for _ in range(3):
            x = min(lo + (aim - f_lo) * 1.05, hi)
            fx = self.estimate(x)
            if abs(fx - aim) < 0.005:
                return x, fx
            if fx > aim:
                hi, f_hi = x, fx
                break
            lo, f_lo = x, fx
            if x >= hi:
                return hi, fx
        else:
            f_hi = self.estimate(hi)
            if f_hi <= aim:
                return hi, f_hi
        side = 0
        for _ in range(40):
            x = hi - (f_hi - aim) * (hi - lo) / (f_hi - f_lo) if f_hi > f_lo else (lo + hi) / 2
            x = min(max(x, lo + 1e-4), hi - 1e-4)
            fx = self.estimate(x)
            if abs(fx - aim) < 0.005 or hi - lo < 1e-3:
                return x, fx
            if fx < aim:
                lo, f_lo = x, fx
                f_hi = f_hi / 2 + aim / 2 if side == -1 else f_hi       # Illinois: do not let one end stick
                side = -1
            else:
                hi, f_hi = x, fx
                f_lo = f_lo / 2 + aim / 2 if side == 1 else f_lo
                side = 1
        return x, fx

    # --- exact rounds -------------------------------------------------------------------------------------------

    def render(self, gain_db: float) -> tuple[np.ndarray, np.ndarray, float, float]:
        """The output at this gain, written a chunk at a time into one array (the take's final channel count),
        its exact loudness and verified true peak; and the block gains."""
        blocks = self.blocks(gain_db)
        g = 10 ** (gain_db / 20)
        n = self.audio.shape[-1]
        if self.out is None:
            self.out = np.empty((self.channels_out, n), dtype=np.float32)
        for a in range(0, n, CHUNK):
            b = min(n, a + CHUNK)
            gains = expand_range(blocks, a, b, self.rate) * np.float32(g)
            np.multiply(self.audio[:, a:b], gains[None, :], out=self.out[: self.audio.shape[0], a:b])
            if self.channels_out > self.audio.shape[0]:
                self.out[1:, a:b] = self.out[:1, a:b]
        work = self.out[: self.audio.shape[0]]
        measured = loudness.integrated_loudness(work, self.rate, self.channel_gain)
        peak = _verified_peak(work, g, self.env_peaks, blocks, self.local_peak, self.rate, self.ceiling)
        self.last_blocks = blocks       # the last round's are the master's (its trace)
        return self.out, blocks, measured, peak

    def fixed(self, gain_db: float) -> tuple[np.ndarray, dict[str, Any]]:
        """Album mode: the given gain; only the ceiling is solved for (the loudness promise is the album's)."""
        rounds = 0
        while True:
            rounds += 1
            out, curve, measured, peak = self.render(gain_db)
            if peak <= self.ceiling * 10 ** (-MARGIN_DB / 2 / 20) or rounds >= 3:
                break
            self.inner *= self.ceiling / peak * 10 ** (-MARGIN_DB / 20)
        info = self._report(gain_db, curve, measured, peak, rounds, math.inf)
        info["on_target"] = peak <= self.ceiling
        return out, info

    def solve(self) -> tuple[np.ndarray, dict[str, Any]]:
        p = self.p
        if p.fixed_gain_db is not None:
            return self.fixed(p.fixed_gain_db)
        aim = p.target_lufs
        rounds = 0
        while True:
            rounds += 1
            hi = self.budget_gain_db()
            lo = min(aim - self.before, hi)           # no limiting: the estimate there is at most the aim
            gain_db, _ = self.search(aim, lo, hi)
            out, curve, measured, peak = self.render(gain_db)
            if peak > self.ceiling * 10 ** (-MARGIN_DB / 2 / 20):
                self.inner *= self.ceiling / peak * 10 ** (-MARGIN_DB / 20)    # the meter's worst case: aim lower
            elif abs(measured - p.target_lufs) <= TOLERANCE_LU or (gain_db >= hi - 1e-3 and measured < p.target_lufs):
                break
            if rounds >= 6:
                break
            aim += p.target_lufs - measured
        return out, self._report(gain_db, curve, measured, peak, rounds, hi)

    def _report(self, gain_db: float, curve: np.ndarray, measured: float, peak: float, rounds: int,
                hi: float) -> dict[str, Any]:
        p = self.p
        limited = curve < 1.0                 # the block gains: a frame's gain lies between its blocks'
        depth = round(-20 * math.log10(float(curve.min())), 2) if limited.any() else 0.0
        on_target = abs(measured - p.target_lufs) <= LOUDNESS_TOLERANCE_LU and peak <= self.ceiling
        info: dict[str, Any] = {
            "input_lufs": round(self.before, 2), "gain_db": round(gain_db, 2), "output_lufs": round(measured, 2),
            "output_true_peak_db": round(20 * math.log10(peak), 2) if peak > 0 else None,
            "limited_fraction": round(float(limited.mean()), 5), "rounds": rounds, "max_limiting_db": depth,
            "on_target": on_target,
        }
        if measured < p.target_lufs - LOUDNESS_TOLERANCE_LU and gain_db >= hi - 1e-3:
            needed = self.limiting_needed()
            info["limiting_needed_db"] = None if needed is None else round(needed, 1)
            need_txt = (f"the target needs {needed:.1f} dB of limiting" if needed is not None else
                        f"the target needs more than {p.max_gain_db:g} dB of gain")
            info["off_target"] = (f"reached {measured:.2f} LUFS of {p.target_lufs:g} with {depth:.1f} dB of "
                                  f"limiting; {need_txt}, over the {p.max_limiting_db:g} dB budget")
        return info

    def limiting_needed(self) -> float | None:
        """How deep the limiting would have to go to reach the target (estimated), or None when even
        `max_gain_db` does not reach it."""
        lo = self.budget_gain_db()
        gain_db, reached = self.search(self.p.target_lufs, lo, self.p.max_gain_db)
        if reached < self.p.target_lufs - LOUDNESS_TOLERANCE_LU:
            return None
        return float(-20 * math.log10(max(float(self.blocks(gain_db).min()), 1e-12)))


def _local_peaks(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Per limiter block: the largest |sample| over all channels in the block and its two neighbours."""
    d = block_size(sample_rate)
    n = audio.shape[-1]
    out = np.empty(-(-n // d), dtype=np.float32)
    span = d * max(1, CHUNK // d)
    for a in range(0, n, span):
        peak = np.abs(audio[:, a: a + span]).max(axis=0)
        whole = peak.size // d * d
        out[a // d: a // d + whole // d] = peak[:whole].reshape(-1, d).max(axis=1)
        if whole < peak.size:
            out[-1] = peak[whole:].max()
    return _neighbourhood(out, np.maximum)


def _neighbourhood(x: np.ndarray, op: np.ufunc) -> np.ndarray:
    """op over each element and its two neighbours."""
    out = x.copy()
    op(out[1:], x[:-1], out=out[1:])
    op(out[:-1], x[1:], out=out[:-1])
    return out


def _verified_peak(out: np.ndarray, g: float, env_peaks: np.ndarray, blocks: np.ndarray,
                   local_peak: np.ndarray, sample_rate: int, ceiling: float) -> float:
    """The true peak of `out = g * curve * audio` where it matters: exact wherever it could exceed the
    ceiling, an upper bound elsewhere.

    The bound: interpolating `a * c` at a frame gives c * (interpolated a) plus sum_k h_k a_k (c_k - c),
    at most c * env + L1(h) * max|a| * (spread of c within the filter's reach). The curve is linear between
    block centres and the filter reaches 8 frames, less than a block, so that spread is at most the range
    of the three block values around the frame, and c itself at most the largest of them. Steady stretches
    are proven safe this way; the blocks the bound cannot clear (transients, where the gain moves) are
    oversampled exactly.
    """
    d = block_size(sample_rate)
    main = env_peaks * _neighbourhood(blocks, np.maximum)
    spread = _neighbourhood(blocks, np.maximum) - _neighbourhood(blocks, np.minimum)
    bound = g * (main + truepeak.filter_gain() * local_peak * spread)
    check = ceiling * 10 ** (-MARGIN_DB / 2 / 20)
    risky = np.nonzero(bound > check)[0]
    safe = bound[bound <= check]
    peak = float(safe.max()) if safe.size else 0.0
    if risky.size:
        first, last = (risky * d) // truepeak.BLOCK, ((risky + 1) * d - 1) // truepeak.BLOCK
        peak = max(peak, truepeak.true_peak(out, np.unique(np.concatenate([first, last]))))
    return peak


class _Estimator:
    """Integrated loudness of the input under a per-block gain, from per-block K-weighted power.

    Treats gain as constant within a block (well under a millisecond); the exact measurement after each
    round corrects what this approximation misses.
    """

    def __init__(self, audio: np.ndarray, sample_rate: int, channel_gain: float) -> None:
        self.d = block_size(sample_rate)
        self.step = loudness.step_length(sample_rate)
        self.short = audio.shape[-1] < round(loudness.BLOCK_S * sample_rate)
        if self.short:
            power = loudness.weighted_power(audio, sample_rate) * channel_gain
            m = -(-power.size // self.d)
            padded = np.zeros(m * self.d)
            padded[: power.size] = power
            self.blocks = padded.reshape(m, self.d).sum(axis=1)
        else:
            self.blocks = loudness.power_sums(audio, sample_rate, self.d, channel_gain)
        self.per_step = self.step // self.d

    def __call__(self, block_gain: np.ndarray) -> float:
        weighted = self.blocks * block_gain[: self.blocks.size].astype(np.float64) ** 2
        if self.short:
            return float(loudness.lufs(max(weighted.sum() / (weighted.size * self.d), 1e-30)))
        n = weighted.size // self.per_step
        steps = weighted[: n * self.per_step].reshape(n, self.per_step).sum(axis=1)
        return loudness.integrated_from_steps(steps, self.step)
