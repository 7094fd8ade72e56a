"""Loudness normalisation to an integrated target (ITU-R BS.1770-4) under a true-peak ceiling.

Gain alone cannot meet both targets when the crest factor is high, so gain and a look-ahead true-peak
limiter are solved together: the K-weighted power and the true-peak envelope are measured once, the gain
that reaches the target through the limiter is found on those (cheap), and the result is then measured
exactly; the exact error corrects the next round. It stops when the integrated loudness is within 0.05 LU
of the target and the true peak is at or under the ceiling.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..analysis import loudness, truepeak
from ..analysis.levels import dual_mono
from ..errors import ProcessingError
from .base import Params, Processed, Processor, Report, param, register, reported
from .limiter import block_gains, block_peaks, block_size, expand

TOLERANCE_LU = 0.05
MARGIN_DB = 0.15           # internal ceiling below the requested one: the meter's 0.1 dB and dither


LOUDNESS_TOLERANCE_LU = 0.5     # the promise: within this of the target (the streaming services' own tolerance)
MIN_SIGNAL_S = 3.0               # BS.1770 integrated loudness needs a few seconds of signal to mean anything


class LoudnessParams(Params):
    target_lufs: float = param(-14.0, unit="LUFS", ge=-40.0, le=-5.0,
                               description="integrated loudness of the master (ITU-R BS.1770-4)")
    true_peak_db: float = param(-1.0, unit="dBTP", ge=-12.0, le=0.0,
                                description="ceiling for the true (4x oversampled) peak")
    max_gain_db: float = param(45.0, unit="dB", ge=0.0, le=60.0, description="never boost more than this")
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


@register
class Loudness(Processor):
    name = "loudness"
    Params = LoudnessParams
    Report = LoudnessReport

    def promises(self, report: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, bool]:
        """True peak at or under the ceiling; loudness within 0.5 LU of the target where there are at least
        MIN_SIGNAL_S of signal to measure (`after["signal_s"]`)."""
        p = self.params
        tp = after.get("true_peak_dbtp")
        out = {"true_peak": tp is None or tp <= p.true_peak_db + 1e-6}
        if after.get("signal_s", MIN_SIGNAL_S) >= MIN_SIGNAL_S:
            lufs = after.get("integrated_lufs")
            out["loudness"] = lufs is not None and abs(lufs - p.target_lufs) <= LOUDNESS_TOLERANCE_LU
        return out

    def process(self, audio: np.ndarray, sample_rate: int) -> Processed:
        p = self.params
        # Dual mono (the usual generated take after `channels: stereo`): work on one channel, count two.
        dual = dual_mono(audio)
        if dual:
            audio = audio[:1]
        channel_gain = 2.0 if dual else 1.0
        before = loudness.integrated_loudness(audio, sample_rate, channel_gain)
        if not math.isfinite(before):
            raise ProcessingError(f"{self.label}: no signal above the -70 LUFS gate; nothing to normalise "
                                  "(is the input silent?)")
        ceiling = 10 ** (p.true_peak_db / 20)
        inner_ceiling = 10 ** ((p.true_peak_db - MARGIN_DB) / 20)
        gain_db = min(p.target_lufs - before, p.max_gain_db)
        # Accurate envelope wherever the signal could reach the ceiling with up to 3 dB more gain than now.
        env_gain_db = gain_db + 3
        env = truepeak.envelope(audio, inner_ceiling / 10 ** (env_gain_db / 20))
        env_peaks = block_peaks(env, sample_rate)
        estimator = _Estimator(audio, sample_rate, channel_gain)
        local_peak = _local_peaks(audio, sample_rate)
        aim = p.target_lufs
        out, measured, peak = audio, before, 0.0
        curve = np.ones(audio.shape[-1], np.float32)
        rounds = 0
        while rounds < 6:
            rounds += 1
            # Secant search on the cheap estimate for the gain that reaches `aim` through the limiter.
            tried: list[tuple[float, float]] = []
            for _ in range(12):
                g = 10 ** (gain_db / 20)
                blocks = block_gains(env_peaks * g, inner_ceiling, sample_rate, p.lookahead_ms, p.release_ms)
                estimate = estimator(g * blocks)
                tried.append((gain_db, estimate))
                if abs(aim - estimate) < 0.005 or gain_db >= p.max_gain_db:
                    break
                slope = 1.0
                if len(tried) > 1 and abs(tried[-1][1] - tried[-2][1]) > 1e-6:
                    slope = (tried[-1][1] - tried[-2][1]) / (tried[-1][0] - tried[-2][0])
                    slope = min(1.0, max(0.05, slope))
                gain_db = min(gain_db + (aim - estimate) / slope, p.max_gain_db)
                if gain_db > env_gain_db:
                    env_gain_db = gain_db + 3
                    env = truepeak.envelope(audio, inner_ceiling / 10 ** (env_gain_db / 20))
                    env_peaks = block_peaks(env, sample_rate)
            curve = expand(blocks, audio.shape[-1], sample_rate)
            g = 10 ** (gain_db / 20)
            out = (audio * (g * curve)[None, :]).astype(np.float32)
            measured = loudness.integrated_loudness(out, sample_rate, channel_gain)
            peak = _verified_peak(out, g, env, curve, blocks, local_peak, sample_rate, ceiling)
            if peak > ceiling * 10 ** (-MARGIN_DB / 2 / 20):
                inner_ceiling *= ceiling / peak * 10 ** (-MARGIN_DB / 20)
            elif abs(measured - p.target_lufs) <= TOLERANCE_LU or gain_db >= p.max_gain_db:
                break
            aim += p.target_lufs - measured
        limited = curve < 1.0
        if dual:
            out = np.repeat(out, 2, axis=0)
        return Processed(out, sample_rate, {
            "input_lufs": round(before, 2),
            "gain_db": round(gain_db, 2),
            "output_lufs": round(measured, 2),
            "output_true_peak_db": round(20 * math.log10(peak), 2) if peak > 0 else None,
            "limited_fraction": round(float(limited.mean()), 5),
            "rounds": rounds,
            "max_limiting_db": round(-20 * math.log10(float(curve.min())), 2) if limited.any() else 0.0,
            "on_target": abs(measured - p.target_lufs) <= LOUDNESS_TOLERANCE_LU and peak <= ceiling,
        })


def _local_peaks(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Per limiter block: the largest |sample| over all channels in the block and its two neighbours."""
    d = block_size(sample_rate)
    m = -(-audio.shape[-1] // d)
    padded = np.zeros(m * d, dtype=np.float32)
    padded[: audio.shape[-1]] = np.abs(audio).max(axis=0)
    return _neighbourhood(padded.reshape(m, d).max(axis=1), np.maximum)


def _neighbourhood(x: np.ndarray, op: np.ufunc) -> np.ndarray:
    """op over each element and its two neighbours."""
    out = x.copy()
    op(out[1:], x[:-1], out=out[1:])
    op(out[:-1], x[1:], out=out[:-1])
    return out


def _verified_peak(out: np.ndarray, g: float, env: np.ndarray, curve: np.ndarray, blocks: np.ndarray,
                   local_peak: np.ndarray, sample_rate: int, ceiling: float) -> float:
    """The true peak of `out = g * curve * audio` where it matters: exact wherever it could exceed the
    ceiling, an upper bound elsewhere.

    The bound: interpolating `a * c` at a frame gives c * (interpolated a) plus sum_k h_k a_k (c_k - c),
    at most c * env + L1(h) * max|a| * (spread of c within the filter's reach). The curve is linear between
    block centres and the filter reaches 8 frames, less than a block, so that spread is at most the range
    of the three block values around the frame. Steady stretches are proven safe this way; the blocks the
    bound cannot clear (transients, where the gain moves) are oversampled exactly.
    """
    d = block_size(sample_rate)
    m = blocks.size
    scaled = np.zeros(m * d, dtype=np.float32)
    scaled[: env.size] = env * curve
    main = scaled.reshape(m, d).max(axis=1)
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
