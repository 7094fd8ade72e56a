"""Mastering keeps its promises on every take: a loudness solver that cannot run away (bounded by its limiting
budget, off target said out loud), loudness last whatever the preset says, and stages that do not hurt the music
(the gugak demo's loudness range survives). The stress family draws takes across crest factors, sparse hits,
clicks, DC, sub-bass, noise floors, lengths, rates and channel counts."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remaster import remaster
from remaster.analysis import analyze
from remaster.analysis.loudness import integrated_loudness
from remaster.api import signal_seconds
from remaster.errors import PresetError, ProcessingError, SoriError
from remaster.presets import load
from remaster.processors import Loudness
from tests.signals import make_examples, peaky_drum_loop

from .conftest import tone, write_wav

BUDGET = 12.0


def loudness_stage(report: dict) -> dict:
    return next(s for s in report["stages"] if s["processor"] == "loudness")


def assert_promise_kept(report: dict, audio: np.ndarray, rate: int, signal_s: float, target: float = -14.0,
                        ceiling: float = -1.0) -> None:
    """On target, or off target only where the budget is exceeded; never clipped, never over the ceiling."""
    m = analyze(audio, rate)
    assert m.clipped_samples == 0
    assert m.true_peak_dbtp <= ceiling + 1e-6, m.true_peak_dbtp
    loud = loudness_stage(report)
    assert loud["max_limiting_db"] <= BUDGET + 0.05, loud          # bounded: never beyond the budget
    if loud.get("off_target"):
        assert loud["limiting_needed_db"] is None or loud["limiting_needed_db"] > BUDGET, loud
        # the master is graded on loudness only with 3 s of signal or more (BS.1770 needs them)
        assert bool(report.get("off_target")) == (signal_s >= 3.0) == (not report["targets"]["ok"])
    elif signal_s >= 3.0:
        assert m.integrated_lufs == pytest.approx(target, abs=0.5), (loud, m.integrated_lufs)
        assert report["targets"]["ok"]


def test_the_peaky_drum_loop_lands_on_target() -> None:
    loop = peaky_drum_loop()
    before = analyze(loop.audio, loop.sample_rate)
    assert before.crest_factor_db >= 20 and before.true_peak_dbtp == pytest.approx(-0.3, abs=0.05)
    assert before.integrated_lufs == pytest.approx(-21.3, abs=0.1)
    m = remaster(loop.audio, loop.sample_rate, dissonance=None)
    after = analyze(m.audio, m.sample_rate)
    assert after.integrated_lufs == pytest.approx(-14.0, abs=0.5) and after.true_peak_dbtp <= -1.0
    assert m.report["targets"]["ok"] and "off_target" not in m.report
    # the loudness stage alone (no compressor before it) needs about 8-12 dB of limiting: within the budget too
    alone = Loudness()(loop.audio, loop.sample_rate)
    assert alone.info["on_target"] and alone.info["max_limiting_db"] <= BUDGET


def test_beyond_the_budget_it_stops_there_and_says_so() -> None:
    loop = peaky_drum_loop()
    out = Loudness(max_limiting_db=3.0)(loop.audio, loop.sample_rate)
    assert out.info["max_limiting_db"] <= 3.05 and not out.info["on_target"]
    assert out.info["limiting_needed_db"] > 3.0
    assert "reached" in out.info["off_target"] and "over the 3 dB budget" in out.info["off_target"]
    assert analyze(out.audio, loop.sample_rate).integrated_lufs < -14.5
    with pytest.raises(ProcessingError, match=r"loudness: off target: reached .* raise loudness\.max_limiting_db"):
        Loudness(max_limiting_db=3.0, when_off_target="refuse")(loop.audio, loop.sample_rate)


def test_the_readme_preset_keeps_the_ceiling(tmp_path: Path) -> None:
    preset = tmp_path / "album.yaml"
    preset.write_text("extends: streaming\ndescription: my album\nchain:\n  loudness: {target_lufs: -15}\n"
                      "  air: {type: eq, bands: [{type: high_shelf, freq_hz: 12000, gain_db: 1.0}]}\n")
    assert [s.label for s in load(preset).stages][-2:] == ["air", "loudness"]
    raw = make_examples(tmp_path / "raw")
    for path in raw:
        m = remaster(path, preset=preset, dissonance=None)
        a = m.report["after"]
        assert a["true_peak_dbtp"] <= -1.0 and a["integrated_lufs"] == pytest.approx(-15, abs=0.5), path.name
        assert m.report["targets"]["ok"]


def test_a_stage_placed_after_loudness_on_purpose_is_refused(tmp_path: Path) -> None:
    preset = tmp_path / "late.yaml"
    doc = {"extends": "streaming", "chain": {"air": {"type": "eq", "bands": []}},
           "order": ["cleanup", "denoise", "trim", "compressor", "superres", "dissonance", "eq", "channels", "fade",
                     "loudness", "air"]}
    preset.write_text(yaml.safe_dump(doc))
    with pytest.raises(PresetError, match="order: 'air' \\(eq\\) comes after 'loudness', which finishes the master"):
        load(preset)


@pytest.mark.parametrize("preset", ["streaming", "gugak-solo"])
def test_the_gugak_demo_keeps_its_loudness_range(tmp_path: Path, preset: str) -> None:
    raw = {p.stem: p for p in make_examples(tmp_path / "raw")}
    m = remaster(raw["gugak_pyeongjo"], preset=preset, dissonance=None)
    before, after = m.report["before"]["loudness_range_lu"], m.report["after"]["loudness_range_lu"]
    assert abs(after - before) <= 1.0, (before, after)
    denoise = next(s for s in m.report["stages"] if s["processor"] == "denoise")
    assert "no noise-only stretch" in denoise["skipped"] and "sustained tones" in denoise["skipped"]


def test_denoise_still_takes_a_profile_from_hiss(tmp_path: Path) -> None:
    rate = 32_000
    rng = np.random.default_rng(2)
    t = np.arange(rate * 8) / rate
    music = 0.2 * np.sin(2 * np.pi * 330 * t) * (t < 6)
    x = (music + 10 ** (-50 / 20) * rng.standard_normal(t.size)).astype(np.float32)[None, :]
    m = remaster(x, rate, dissonance=None)
    denoise = next(s for s in m.report["stages"] if s["processor"] == "denoise")
    assert denoise.get("noise_profile_start_s", 0) >= 6.0 - 0.5 and "skipped" not in denoise
    assert denoise["noise_floor_after_db"] < denoise["noise_floor_before_db"] - 3
    assert abs(denoise["lra_change_lu"]) < 3


# --- the stress family -----------------------------------------------------------------------------------------

RATES = [8_000, 16_000, 22_050, 32_000, 44_100, 48_000, 96_000, 192_000]


@st.composite
def takes(draw: st.DrawFn) -> tuple[np.ndarray, int]:
    rate = draw(st.sampled_from(RATES))
    seconds = draw(st.sampled_from([0.5, 1.0, 2.5, 4.0, 9.0, 20.0]))
    channels = draw(st.sampled_from([1, 2]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    n = max(1, int(seconds * rate))
    t = np.arange(n) / rate
    kind = draw(st.sampled_from(["tones", "noise", "hits", "sub"]))
    if kind == "tones":
        body = sum(rng.uniform(0.05, 0.3) * np.sin(2 * np.pi * rng.uniform(80, min(4000, rate / 3)) * t)
                   for _ in range(3))
    elif kind == "noise":
        body = rng.standard_normal(n) * 0.1
    elif kind == "hits":                                   # sparse decaying hits with silence between them
        body = np.zeros(n)
        gap = int(rate * draw(st.sampled_from([0.15, 0.5, 1.5])))
        decay = np.exp(-np.arange(min(n, rate // 5)) / (0.02 * rate))
        for at in range(0, n, max(1, gap)):
            seg = body[at: at + decay.size]
            seg += 0.5 * rng.standard_normal(seg.size) * decay[: seg.size]
    else:                                                  # sub-bass under a quiet line
        body = 0.4 * np.sin(2 * np.pi * 30 * t) + 0.03 * np.sin(2 * np.pi * 440 * t)
    crest = draw(st.floats(3.0, 30.0))
    body = body / max(np.abs(body).max(), 1e-9)
    rms = math.sqrt(float(np.mean(body ** 2))) or 1e-3
    want = 10 ** (-crest / 20)                             # peak 1, RMS `crest` dB below: add clicks where needed
    if rms > want:
        body = body * want / rms
        clicks = rng.choice(n, size=max(1, n // rate + 1), replace=False)
        body[clicks] = rng.choice([-1.0, 1.0], size=clicks.size)
    body += draw(st.sampled_from([0.0, 0.02, -0.05]))      # DC offset
    floor = draw(st.sampled_from([None, -80.0, -60.0, -45.0]))
    if floor is not None:
        body = body + 10 ** (floor / 20) * rng.standard_normal(n)
    level = draw(st.floats(-40.0, 0.0))
    x = body * 10 ** (level / 20)
    audio = np.stack([x, np.roll(x, 7) * 0.8]) if channels == 2 else x[None, :]
    return np.clip(audio, -1, 1).astype(np.float32), rate


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(take=takes())
def test_every_take_is_on_target_or_honestly_off_target(take: tuple[np.ndarray, int]) -> None:
    audio, rate = take
    try:
        m = remaster(audio, rate, dissonance=None, denoise=None)
    except SoriError as e:        # refused only as silent: nothing above the BS.1770 gate once DC is removed
        assert "silent" in str(e) or "-70 LUFS gate" in str(e), e
        assert integrated_loudness(audio - audio.mean(axis=1, keepdims=True), rate) < -65
        return
    # graded on the master's own signal, as `compliance` measures it: the gain can lift a quiet tail over the -60 dBFS
    # frame floor. (Asked on the take's own seconds, the check failed once in a full run of the suite and passed
    # alone: sparse hits at 8 kHz, 2.45 s of signal in the take, graded on loudness as a master of 3 s or more.)
    assert_promise_kept(m.report, m.audio, m.sample_rate, signal_seconds(m.audio, m.sample_rate))


def test_a_ten_minute_take_keeps_the_promise() -> None:
    rate = 32_000
    rng = np.random.default_rng(5)
    t = np.arange(rate * 600) / rate
    x = (0.1 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * t / 97)) +
         0.01 * rng.standard_normal(t.size)).astype(np.float32)
    x[:: rate * 7] = 0.9                                   # a click every 7 s: crest well over 20 dB
    m = remaster(x[None, :], rate, dissonance=None)
    assert_promise_kept(m.report, m.audio, m.sample_rate, 600.0)


# --- delivery platforms and album mode -----------------------------------------------------------------------------

@pytest.mark.parametrize(("platform", "lufs", "ceiling"), [("apple-music", -16.0, -1.0), ("amazon-music", -14.0, -2.0),
                                                           ("deezer", -15.0, -1.0)])
def test_a_platform_sets_the_target_and_the_ceiling(platform: str, lufs: float, ceiling: float) -> None:
    loop = peaky_drum_loop(seconds=6.0)
    m = remaster(loop.audio, loop.sample_rate, dissonance=None, platform=platform)
    assert m.report["after"]["integrated_lufs"] == pytest.approx(lufs, abs=0.5)
    assert m.report["after"]["true_peak_dbtp"] <= ceiling and m.report["targets"]["ok"]
    assert load("streaming", {"platform": platform}).resolved()["platform"] == platform


def test_album_mode_keeps_the_takes_relative_levels(tmp_path: Path) -> None:
    from remaster.batch import run_batch

    levels = [-18.0, -24.0, -30.0]
    for i, db in enumerate(levels):
        write_wav(tmp_path / "in" / f"t{i}.wav", tone(330, 6.0, 32_000, db, -80), 32_000)
    result = run_batch(tmp_path / "in", tmp_path / "out", overrides={"dissonance": None, "compressor": None},
                       progress=False, album=True)
    assert result.failed == 0 and result.album is not None
    gains = {next(s for s in r["report"]["stages"] if s["processor"] == "loudness")["gain_db"] for r in result.rows}
    assert len(gains) == 1                                          # one gain for every take
    outs = [r["report"]["after"]["integrated_lufs"] for r in sorted(result.rows, key=lambda r: r["input"])]
    assert outs[0] - outs[1] == pytest.approx(6.0, abs=0.3) and outs[1] - outs[2] == pytest.approx(6.0, abs=0.3)
    assert result.album["output_lufs"] == pytest.approx(-14.0, abs=0.5) and result.album["on_target"]
    again = run_batch(tmp_path / "in", tmp_path / "out", overrides={"dissonance": None, "compressor": None},
                      progress=False, album=True)
    assert again.count("skipped") == 3                               # resumable, like any batch
