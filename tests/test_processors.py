"""Each processor does its one job, validates its parameters and reports what it measured."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import resample_poly

from remaster.analysis import levels, loudness, truepeak
from remaster.errors import PresetError, ProcessingError
from remaster.processors import (
    Channels,
    Cleanup,
    Compressor,
    Denoise,
    Eq,
    Fade,
    Limiter,
    Loudness,
    Resample,
    Trim,
)
from tests.signals import drum_loop, mix, pluck_melody

from .conftest import tone

RATE = 32_000


def band_energy(x: np.ndarray, rate: int, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(x.mean(axis=0))) ** 2
    f = np.fft.rfftfreq(x.shape[-1], 1 / rate)
    return float(spec[(f >= lo) & (f < hi)].sum())


def song(rate: int = RATE, seconds_bars: int = 3) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (0.4 * mix(pluck_melody(rate, rng, bars=seconds_bars), drum_loop(rate, rng, bars=seconds_bars)).audio)


def test_cleanup_removes_dc_and_rumble() -> None:
    x = tone(440, 3, RATE, -12, None) + 0.1 + tone(8, 3, RATE, -12, None)
    out = Cleanup(highpass_hz=30)(x, RATE)
    assert abs(levels.dc_offset(out.audio)) < 1e-3
    assert band_energy(out.audio, RATE, 2, 15) < 0.01 * band_energy(x, RATE, 2, 15)     # 2nd order: >= 20 dB
    assert band_energy(out.audio, RATE, 400, 480) == pytest.approx(band_energy(x, RATE, 400, 480), rel=0.05)
    assert out.info["dc_removed"] == pytest.approx(0.1, abs=1e-3)


def test_denoise_lowers_hiss_and_leaves_clean_audio_alone() -> None:
    x = song() + (10 ** (-45 / 20) * np.random.default_rng(1).standard_normal((1, song().shape[1]))).astype(np.float32)
    x[:, : RATE] = x[:, : RATE] * 0 + x[:, RATE: 2 * RATE] * 0 + (10 ** (-45 / 20)) * np.random.default_rng(2) \
        .standard_normal((1, RATE)).astype(np.float32)            # one second of hiss alone: the profile
    out = Denoise(strength=0.8)(x, RATE)
    assert out.info["noise_profile_start_s"] < 1.0
    assert out.info["noise_floor_after_db"] < out.info["noise_floor_before_db"] - 6
    # The music keeps its level: the mask is not smeared across the spectrum.
    assert levels.rms(out.audio[:, 2 * RATE:]) == pytest.approx(levels.rms(x[:, 2 * RATE:]), rel=0.1)
    # A clean take: its quietest stretch is a -90 dBFS floor, below the skip level.
    floor = (3e-5 * np.random.default_rng(3).standard_normal((1, RATE))).astype(np.float32)
    clean = np.concatenate([song(), floor], axis=1)
    untouched = Denoise()(clean, RATE)
    assert "skipped" in untouched.info
    assert untouched.audio is clean


def test_denoise_non_stationary_and_stereo() -> None:
    x = np.repeat(song(), 2, axis=0) + (0.003 * np.random.default_rng(1).standard_normal((2, song().shape[1])))
    out = Denoise(stationary=False, strength=0.7)(x.astype(np.float32), RATE)
    assert out.audio.shape == x.shape
    assert levels.noise_floor_db(out.audio, RATE) < levels.noise_floor_db(x, RATE)


def test_eq_bands_do_what_they_say() -> None:
    x = (0.05 * np.random.default_rng(0).standard_normal((1, RATE * 2))).astype(np.float32)
    boosted = Eq(bands=[{"type": "peak", "freq_hz": 1000, "gain_db": 9, "q": 2}])(x, RATE).audio
    ratio = band_energy(boosted, RATE, 950, 1050) / band_energy(x, RATE, 950, 1050)
    assert 10 * np.log10(ratio) == pytest.approx(9, abs=1.0)
    gentle = Eq(bands=[{"type": "lowpass", "freq_hz": 2000, "slope_db": 6}])(x, RATE).audio
    steep = Eq(bands=[{"type": "lowpass", "freq_hz": 2000, "slope_db": 24}])(x, RATE).audio
    assert band_energy(steep, RATE, 8000, 15000) < 1e-3 * band_energy(x, RATE, 8000, 15000)
    assert band_energy(steep, RATE, 8000, 15000) < 0.01 * band_energy(gentle, RATE, 8000, 15000)
    shelf = Eq(bands=[{"type": "high_shelf", "freq_hz": 4000, "gain_db": -6}])(x, RATE).audio
    assert 10 * np.log10(band_energy(shelf, RATE, 10000, 15000) / band_energy(x, RATE, 10000, 15000)) \
        == pytest.approx(-6, abs=1.0)


def test_eq_above_nyquist_is_a_clear_error() -> None:
    with pytest.raises(ProcessingError, match=r"Nyquist.*after 'resample'"):
        Eq(bands=[{"type": "high_shelf", "freq_hz": 9000}])(tone(rate=8000), 8000)


def test_compressor_reduces_crest_factor_relative_to_the_take() -> None:
    x = song()
    for level in (1.0, 0.03):   # same treatment at any input level with a relative threshold
        out = Compressor(relative=True, threshold_db=0, ratio=4, attack_ms=2, release_ms=80)(x * level, RATE)
        assert out.info["crest_out_db"] < out.info["crest_in_db"] - 1.0


def test_limiter_holds_its_true_peak_ceiling() -> None:
    x = song() * 4
    out = Limiter(ceiling_db=-1.0)(x, RATE)
    assert truepeak.true_peak_db(out.audio) <= -1.0
    assert out.info["max_reduction_db"] > 3
    quiet = tone(440, 2, RATE, -20)
    assert np.array_equal(Limiter(ceiling_db=-1.0)(quiet, RATE).audio, quiet)   # nothing to limit


@pytest.mark.parametrize(("target", "ceiling", "gain"), [(-14, -1.0, 1.0), (-23, -1.0, 0.01), (-10, -0.5, 3.0),
                                                         (-18, -2.0, 0.3)])
def test_loudness_hits_target_under_the_ceiling(target: float, ceiling: float, gain: float) -> None:
    x = np.repeat(song(48_000), 2, axis=0) * gain
    out = Loudness(target_lufs=target, true_peak_db=ceiling)(x, 48_000)
    assert loudness.integrated_loudness(out.audio, 48_000) == pytest.approx(target, abs=0.05)
    assert truepeak.true_peak_db(out.audio) <= ceiling
    assert out.info["on_target"]


@pytest.mark.parametrize("rate", [48_000, 96_000])
def test_loudness_ceiling_holds_on_an_independent_meter_for_wideband_audio(rate: int) -> None:
    # Full-band material limited hard: the case where a true-peak meter that reads low near Nyquist lets
    # peaks through. Judged by 16x polyphase interpolation (long Kaiser filter), not by Sori's meter.
    rng = np.random.default_rng(5)
    hats = drum_loop(rate, rng, bars=2).audio
    x = np.repeat(hats + 0.05 * rng.standard_normal(hats.shape).astype(np.float32), 2, axis=0)
    x = Resample(sample_rate=48_000)(x, rate).audio
    out = Loudness(target_lufs=-9, true_peak_db=-1.0)(x, 48_000).audio
    ideal = float(np.abs(resample_poly(out, 16, 1, axis=-1, window=("kaiser", 10.0))).max())
    assert 20 * np.log10(ideal) <= -1.0


def test_loudness_of_silence_is_a_clear_error() -> None:
    with pytest.raises(ProcessingError, match="silent"):
        Loudness()(np.zeros((1, RATE * 2), np.float32), RATE)


def test_resample_keeps_pitch_and_length() -> None:
    x = tone(1000, 2, RATE, -6, None)
    out = Resample(sample_rate=48_000)(x, RATE)
    assert out.sample_rate == 48_000 and out.audio.shape == (1, 96_000)
    spec = np.abs(np.fft.rfft(out.audio[0]))
    assert np.fft.rfftfreq(96_000, 1 / 48_000)[spec.argmax()] == pytest.approx(1000, abs=1)


def test_fade_trim_channels() -> None:
    x = tone(440, 2, RATE, -6, None)
    faded = Fade(in_ms=100, out_ms=200)(x, RATE).audio
    assert abs(faded[0, 0]) < 0.01 and abs(faded[0, -1]) < 0.01
    assert np.array_equal(faded[:, RATE // 2: RATE], x[:, RATE // 2: RATE])
    padded = np.concatenate([np.zeros((1, RATE)), x, np.zeros((1, RATE // 2))], axis=1).astype(np.float32)
    trimmed = Trim(threshold_db=-50, keep_ms=0)(padded, RATE)
    assert trimmed.audio.shape[1] == pytest.approx(x.shape[1], abs=20)
    assert trimmed.info["trimmed_start_s"] == pytest.approx(1.0, abs=0.01)
    stereo = Channels(mode="stereo")(x, RATE).audio
    assert stereo.shape == (2, x.shape[1]) and np.array_equal(stereo[0], stereo[1])
    assert Channels(mode="mono")(stereo, RATE).audio.shape == (1, x.shape[1])
    with pytest.raises(ProcessingError, match="mono or stereo"):
        Channels(mode="stereo")(np.zeros((3, 10), np.float32), RATE)


def test_parameters_are_validated_with_the_key_and_the_allowed_range() -> None:
    with pytest.raises(PresetError, match=r"loudness\.target_lufs: 3.0 is out of range; .*less than or equal to -5"):
        Loudness(target_lufs=3.0)
    with pytest.raises(PresetError, match=r"loudness\.target_lufz: unknown key \(did you mean 'target_lufs'\?\)"):
        Loudness(target_lufz=-14)
    with pytest.raises(PresetError, match=r"eq\.bands\.0\.type"):
        Eq(bands=[{"type": "notch", "freq_hz": 100}])
