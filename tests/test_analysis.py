"""Meters against the standards and against independent implementations."""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm
import pytest
from scipy.signal import butter, resample, resample_poly, sosfilt

from remaster.analysis import analyze, levels, loudness, truepeak
from tests.signals import drum_loop, mix, pluck_melody

RNG = np.random.default_rng(1)


def music(rate: int, stereo: bool = False) -> np.ndarray:
    x = mix(pluck_melody(rate, np.random.default_rng(3), bars=3), drum_loop(rate, np.random.default_rng(4), bars=3))
    x = 0.5 * x.audio[0]
    return np.stack([x, np.roll(x, 100) * 0.8]) if stereo else x[None]


def test_calibration_tone_reads_minus_3_01_lkfs() -> None:
    # BS.1770-4: a 0 dBFS 997 Hz sine in one channel of a stereo pair reads -3.01 LKFS.
    for rate in (44_100, 48_000, 96_000):
        s = np.sin(2 * np.pi * 997 * np.arange(rate * 5) / rate)
        assert loudness.integrated_loudness(np.stack([s, 0 * s]), rate) == pytest.approx(-3.01, abs=0.02)


@pytest.mark.parametrize("rate", [44_100, 48_000])
@pytest.mark.parametrize("stereo", [False, True])
def test_integrated_loudness_matches_pyloudnorm(rate: int, stereo: bool) -> None:
    for x in (music(rate, stereo), (0.1 * RNG.standard_normal((2 if stereo else 1, rate * 6))).astype(np.float32)):
        ours = loudness.integrated_loudness(x, rate)
        ref = pyloudnorm.Meter(rate).integrated_loudness(x.T if stereo else x[0])
        assert ours == pytest.approx(ref, abs=0.1)


def test_gating_ignores_silence_and_short_input_is_measured_ungated() -> None:
    rate = 48_000
    x = music(rate)
    padded = np.concatenate([x, np.zeros((1, rate * 20), np.float32)], axis=1)
    assert loudness.integrated_loudness(padded, rate) == pytest.approx(loudness.integrated_loudness(x, rate), abs=0.2)
    assert math.isinf(loudness.integrated_loudness(np.zeros((1, rate), np.float32), rate))
    short = x[:, : rate // 5]
    assert math.isfinite(loudness.integrated_loudness(short, rate))


def test_loudness_range_of_two_levels() -> None:
    rate = 48_000
    noise = RNG.standard_normal(rate * 20).astype(np.float32)
    quiet_loud = np.concatenate([0.01 * noise, 0.0316 * noise])[None]      # -40 and -30 dBFS RMS halves
    assert loudness.loudness_range(quiet_loud, rate) == pytest.approx(10.0, abs=0.6)
    assert loudness.loudness_range(0.05 * noise[None], rate) < 1.0


def brute_true_peak(x: np.ndarray) -> float:
    return float(np.abs(resample_poly(x, 16, 1, axis=-1)).max())


def test_true_peak_finds_intersample_peaks() -> None:
    rate = 48_000
    n = np.arange(rate)
    # fs/4 at 45 degrees: every sample is at 0.707, the waveform peaks at 1.0 (+3 dB).
    x = np.sin(2 * np.pi * 12_000 * n / rate + np.pi / 4)
    x[:200] *= np.hanning(400)[:200]          # no abrupt edges: those ring (really) above 1.0
    x[-200:] *= np.hanning(400)[200:]
    x = x.astype(np.float32)[None]
    assert levels.sample_peak(x) == pytest.approx(0.7071, abs=1e-3)
    assert truepeak.true_peak(x) == pytest.approx(1.0, abs=0.01)


def test_true_peak_agrees_with_16x_oversampling_and_pruning_is_exact() -> None:
    rate = 48_000
    for _ in range(3):
        x = sosfilt(butter(8, 19_000, fs=rate, output="sos"), RNG.standard_normal((2, rate * 2)), axis=-1)
        x = (0.3 * x).astype(np.float32)
        tp = truepeak.true_peak(x)
        assert 20 * np.log10(tp / brute_true_peak(x)) == pytest.approx(0.0, abs=0.05)
        # The pruned search returns exactly what the accurate interpolator gives on every frame.
        everything = truepeak._fine_peaks(x, np.arange(x.shape[1])).max()
        assert tp == pytest.approx(float(everything), rel=1e-6)


def test_envelope_is_exact_above_its_level_and_a_bound_below() -> None:
    rate = 48_000
    x = (0.5 * sosfilt(butter(8, 18_000, fs=rate, output="sos"), RNG.standard_normal((1, rate)))).astype(np.float32)
    level = 0.6 * truepeak.true_peak(x)
    env = truepeak.envelope(x, level)
    full = truepeak._fine_peaks(x, np.arange(x.shape[1]))
    above = full > level
    assert above.any()
    np.testing.assert_allclose(env[above], full[above], rtol=1e-5)
    below = env <= level
    assert np.all(full[below] <= level * 1.0001)          # where it says "under the level", it is


@pytest.mark.parametrize("freq", [5_000, 15_000, 19_000, 20_000, 21_000])
def test_true_peak_never_reads_low_by_more_than_a_tenth_of_a_db(freq: int) -> None:
    # Short bursts put the crest at every fractional position between samples: the case a limiter that
    # pushes every peak to the ceiling will find. The reference is a 64x FFT interpolation.
    rate, t = 48_000, np.arange(400)
    for offset in np.linspace(0, 1, 17)[:-1]:
        centre = 200 + offset
        x = np.exp(-0.5 * ((t - centre) / 20) ** 2) * np.cos(2 * np.pi * freq / rate * (t - centre) + 0.3)
        ideal = np.abs(resample(x, x.size * 64)).max()
        error_db = 20 * np.log10(truepeak.true_peak(x[None].astype(np.float32)) / ideal)
        assert -0.11 <= error_db <= 0.6


def test_levels() -> None:
    rate = 32_000
    x = (0.001 * RNG.standard_normal((1, rate * 4))).astype(np.float32)          # -60 dBFS RMS
    assert levels.noise_floor_db(x + 0.25, rate) == pytest.approx(-60, abs=1.5)  # DC does not count as noise
    assert levels.dc_offset(x + 0.25) == pytest.approx(0.25, abs=1e-3)
    clipped = np.clip(10 * x, -0.01, 0.01) * 100
    assert levels.clipped_samples(clipped) > 1000
    assert levels.clipped_samples(x) == 0
    sine = np.sin(2 * np.pi * 1000 * np.arange(rate) / rate)[None].astype(np.float32)
    assert levels.crest_factor_db(sine) == pytest.approx(3.01, abs=0.05)


@pytest.mark.parametrize("cutoff", [4_000, 11_025, 16_000])
def test_spectral_bandwidth_follows_the_band_limit(cutoff: int) -> None:
    rate = 48_000
    # Pink-ish noise (energy spread over the band), band-limited at the cutoff.
    white = RNG.standard_normal(rate * 4)
    x = sosfilt(butter(10, cutoff, fs=rate, output="sos"), white)[None].astype(np.float32)
    bw = levels.spectral_rolloff_hz(x, rate)
    assert 0.85 * cutoff <= bw <= 1.1 * cutoff


def test_analyze_reports_every_metric() -> None:
    rate = 44_100
    m = analyze(music(rate, stereo=True), rate)
    d = m.to_dict()
    assert set(d) >= {"integrated_lufs", "loudness_range_lu", "true_peak_dbtp", "sample_peak_dbfs", "clipped_samples",
                      "crest_factor_db", "dc_offset", "noise_floor_dbfs", "rolloff_hz", "duration_s", "sample_rate",
                      "channels"}
    assert d["channels"] == 2 and d["sample_rate"] == rate
    assert m.true_peak_dbtp >= m.sample_peak_dbfs
    silent = analyze(np.zeros((1, rate), np.float32), rate).to_dict()
    assert silent["integrated_lufs"] is None          # -inf is not JSON: it reads as None
