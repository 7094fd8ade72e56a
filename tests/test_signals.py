"""The example generator makes real melodies and degrades them the way MusicGen output is."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from remaster.analysis import analyze, loudness
from remaster.audio import read
from tests.signals import degrade, karplus_strong, make_examples, pluck_melody


def f0_autocorr(x: np.ndarray, rate: int) -> float:
    x = x - x.mean()
    ac = np.fft.irfft(np.abs(np.fft.rfft(x, 2 * x.size)) ** 2)[: x.size]
    lo, hi = rate // 2000, rate // 50
    lag = lo + int(np.argmax(ac[lo:hi]))
    a, b, c = ac[lag - 1], ac[lag], ac[lag + 1]          # parabolic peak interpolation
    return rate / (lag + 0.5 * (a - c) / (a - 2 * b + c))


@pytest.mark.parametrize("freq", [110.0, 261.63, 440.0, 880.0])
def test_karplus_strong_is_in_tune(freq: float) -> None:
    rate = 48_000
    x = karplus_strong(freq, 0.6, rate, np.random.default_rng(0))[int(0.05 * rate):]
    cents = 1200 * np.log2(f0_autocorr(x, rate) / freq)
    assert abs(cents) < 5


def test_detuned_note_is_where_the_truth_says() -> None:
    rate = 48_000
    piece = pluck_melody(rate, np.random.default_rng(2), bars=3, detune=(3, 50.0))
    d = piece.defects[0]
    note = piece.notes[3]
    assert d["start"] == note.start and d["cents"] == 50.0 and note.cents == 50.0


def test_degrade_looks_like_generator_output() -> None:
    rng = np.random.default_rng(0)
    raw = degrade(pluck_melody(48_000, rng, bars=4), rng)
    m = analyze(raw.audio, raw.sample_rate)
    assert raw.sample_rate == 32_000
    assert m.integrated_lufs == pytest.approx(-30, abs=1.0)
    assert m.dc_offset == pytest.approx(0.01, abs=0.002)
    spec = np.abs(np.fft.rfft(raw.audio[0] - raw.audio[0].mean())) ** 2
    freqs = np.fft.rfftfreq(raw.audio.shape[1], 1 / 32_000)
    assert spec[freqs > 15_500].sum() < 0.01 * spec.sum()


def test_make_examples(tmp_path: Path) -> None:
    paths = make_examples(tmp_path)
    assert {p.name for p in paths} == {"pluck_melody.wav", "gugak_pyeongjo.wav", "drum_loop.wav", "band.wav"}
    for p in paths:
        x, rate = read(p)
        assert rate == 32_000 and x.shape[0] == 1
        assert loudness.integrated_loudness(x, rate) == pytest.approx(-30, abs=1.5)
        truth = json.loads(p.with_suffix(".json").read_text())
        assert truth["description"]
    assert json.loads((tmp_path / "pluck_melody.json").read_text())["defects"][0]["cents"] == 60.0
