"""What a producer sees: the stages' traces, the curves of a master, the HTML report of a batch or one master
(its content and its promises: offline, audio linked, failed and off-target first, kept when a batch resumes).
In a real browser: tests/test_browser.py."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remaster import presets, remaster
from remaster.analysis import loudness
from remaster.batch import run_batch
from remaster.processors import Limiter, Loudness
from remaster.view import page
from remaster.view.curves import take_curves, unpack
from remaster.view.figures import figures
from tests.clirun import one_error
from tests.signals import degrade, drum_loop, mix, peaky_drum_loop, pluck_melody

from .conftest import tone, write_wav

FAST = {"dissonance": None}         # no CREPE where the test is not about pitch


def _min_per_hop(gain: np.ndarray, trace: dict) -> np.ndarray:
    hop = round(trace["dt"] * 44_100)
    m = -(-gain.size // hop)
    padded = np.ones(m * hop)
    padded[: gain.size] = gain
    return 20 * np.log10(padded.reshape(m, hop).min(axis=1))


@pytest.mark.parametrize("stage", [Loudness(target_lufs=-12), Limiter(ceiling_db=-6)])
def test_the_gain_reduction_trace_is_the_gain_the_stage_applied(stage) -> None:
    x = peaky_drum_loop(seconds=4.0).audio
    out = stage(x, 44_100)
    trace = out.traces["gain_reduction"]
    loud = np.abs(x[0]) > 1e-7
    applied = np.ones(x.shape[-1])
    applied[loud] = out.audio[0][loud] / x[0][loud]
    if isinstance(stage, Loudness):
        applied /= 10 ** (out.info["gain_db"] / 20)           # the make-up gain is not reduction
    applied[~loud] = 1.0
    want = _min_per_hop(np.minimum(applied, 1.0), trace)
    got = np.asarray(trace["db"])
    assert got.shape == want.shape and got.min() < -3                  # it did limit, and the trace shows where
    # the gain is seen only where there is signal (the look-ahead turns it down during a silence before a click):
    # the trace is at least as deep as what is seen, and equal where every frame has signal
    assert (got <= want + 0.2).all()
    hop = round(trace["dt"] * 44_100)
    quiet = np.abs(np.pad(x[0], (0, -x.shape[-1] % hop))).reshape(-1, hop).min(axis=1) < 1e-4
    assert (~quiet).sum() > 50 and np.abs(got - want)[~quiet].max() < 0.2
    depth = out.info.get("max_limiting_db", out.info.get("max_reduction_db"))
    assert abs(-got.min() - depth) < 0.05


@settings(max_examples=60, deadline=None)
@given(rate=st.sampled_from([8_000, 32_000, 44_100, 48_000, 96_000]), seed=st.integers(0, 2**31),
       blocks=st.integers(1, 300), hop_blocks=st.floats(1.0, 60.0))
def test_span_minima_of_block_gains_are_the_curve_s_lowest_points(rate: int, seed: int, blocks: int,
                                                                  hop_blocks: float) -> None:
    """The loudness stage draws its trace from block gains (no per-frame curve): each point is the lowest gain
    the per-frame curve reaches in its span, never shallower."""
    from remaster.processors.limiter import block_size, expand, span_minima
    rng = np.random.default_rng(seed)
    d = block_size(rate)
    frames = int(rng.integers((blocks - 1) * d + 1, blocks * d + 1))
    gains = rng.uniform(0.05, 1.0, blocks).astype(np.float32)
    hop = max(1, round(hop_blocks * d))
    curve = expand(gains, frames, rate)
    m = -(-frames // hop)
    padded = np.ones(m * hop, np.float32)
    padded[:frames] = curve
    want = padded.reshape(m, hop).min(axis=1)
    got = span_minima(gains, frames, hop, rate)
    assert got.shape == want.shape
    assert np.all(got <= want + 1e-6)
    # as deep as the curve's deepest frame, to within what half a frame of interpolation (between a block's
    # centre and its nearest frames) can change
    assert want.min() - got.min() <= 0.5 / d + 1e-6


def _take_with_silence(rate: int = 32_000) -> np.ndarray:
    rng = np.random.default_rng(4)
    band = mix(pluck_melody(48_000, rng, bars=3, tonic=64), drum_loop(48_000, rng, bars=3), gains=(0.8, 0.6))
    raw = degrade(band, rng, rate=rate).audio
    raw = raw - raw.mean(axis=1, keepdims=True)                                  # no DC: the silence stays silent
    return np.concatenate([np.zeros((1, rate), np.float32), raw], axis=1)       # a second of dead air first


def test_curves_line_up_with_the_master_and_say_what_the_report_says() -> None:
    raw = _take_with_silence()
    preset = presets.load("streaming", FAST)
    m = remaster(raw, 32_000, preset=preset)
    c = take_curves(raw, 32_000, m, preset)
    stages = {s["stage"]: s for s in m.report["stages"]}
    assert c["offset_s"] == pytest.approx(stages["trim"]["trimmed_start_s"], abs=1e-3) and c["offset_s"] > 0.8
    assert c["loudness"]["after"]["integrated"] == pytest.approx(m.report["after"]["integrated_lufs"], abs=0.05)
    assert c["loudness"]["before"]["integrated"] == pytest.approx(m.report["before"]["integrated_lufs"], abs=0.05)
    assert c["loudness"]["target_lufs"] == -14.0
    # short-term loudness, checked at one point against the meter's own integrated value over that 3 s window
    st = unpack(c["loudness"]["after"]["short_term"]["values"])
    i = st.size // 2
    t_end = c["loudness"]["after"]["short_term"]["t0"] + i * c["loudness"]["after"]["dt"]
    window = m.audio[:, round((t_end - 3.0) * 48_000): round(t_end * 48_000)]
    mean = loudness.power_sums(window, 48_000, window.shape[-1]).sum() / window.shape[-1]
    assert st[i] == pytest.approx(float(loudness.lufs(mean)), abs=0.05)
    # the spectrum: the raw take ends at its cutoff, the master has the band above it rebuilt
    s = c["spectrum"]
    assert s["cutoff_hz"] == stages["superres"]["input_cutoff_hz"] and 14_000 < s["cutoff_hz"] < 16_500
    hz, before, after = unpack(s["hz"]), unpack(s["before"]), unpack(s["after"])
    assert np.isnan(before[hz > 16_000]).all()                            # above the raw take's Nyquist
    top, below = (hz > 16_500) & (hz < 19_000), (hz > 10_000) & (hz < 14_000)
    assert np.nanmean(after[top]) > np.nanmean(after[below]) - 25         # the slope continued, not a cliff
    # the waveform: the envelope holds the master's peak, on bytes
    hi = unpack(c["wave"]["after"]["hi"]).astype(float) / 127
    assert abs(hi.max() - np.abs(m.audio).max()) <= 1 / 127 + 1e-6
    assert c["gain_reduction"]["max_db"] == stages["loudness"]["max_limiting_db"]
    json.dumps(c)                                                         # it goes into records and pages


def test_the_pitch_curves_carry_the_check_and_its_findings() -> None:
    rng = np.random.default_rng(2)
    melody = pluck_melody(32_000, rng, bars=3, detune=(4, 60.0))
    m = remaster(melody.audio, 32_000, preset="streaming")
    c = take_curves(melody.audio, 32_000, m, presets.load("streaming"))
    check = next(s for s in m.report["stages"] if s["processor"] == "dissonance")
    p = c["pitch"]
    assert p["findings"] == check["findings"] and any(f["kind"] == "detuned" for f in p["findings"])
    assert len(p["notes"]) == check["notes"] and p["scale"] == check["scale"]
    track = unpack(p["cents"])
    for start, end, centre in p["notes"]:                                 # the track sits on its notes
        i = int(((start + end) / 2 - p["t0"]) / p["dt"])
        if np.isfinite(track[i]):
            assert abs(track[i] - centre) < 60
    fig = figures(c)["pitch"]
    assert "1 finding" in fig["layout"]["title"]["text"] or "findings" in fig["layout"]["title"]["text"]
    assert sum(1 for sh in fig["layout"]["shapes"] if sh["type"] == "rect") == len(p["findings"])


def _takes(tmp_path: Path) -> list[page.Take]:
    raw = tone(seconds=4)
    preset = presets.load("streaming", FAST)
    m = remaster(raw, 32_000, preset=preset)
    src = write_wav(tmp_path / "in" / "가야금 산조 #1.wav", raw, 32_000)
    out = write_wav(tmp_path / "out" / "가야금 산조 #1.wav", m.audio, 48_000)
    curves = take_curves(raw, 32_000, m, preset)
    off = {**m.report, "off_target": "missed loudness (reached -15.2 LUFS of -14)"}
    sour = {**m.report, "verdict": {"passed": False, "findings": 2, "summary": "2 finding(s), first detuned at 1 s"}}
    return [page.Take("a-ok.wav", "done", "", m.report, curves, src, out),
            page.Take("b-sour.wav", "skipped", "", sour, curves, src, out),
            page.Take("c-off.wav", "done", "", off, curves, src, out),
            page.Take("d-bad.wav", "failed", "d-bad.wav: not audio", source=src),
            page.Take("가야금 산조 #1.wav", "done", "", m.report, None, src, out)]


def test_the_page_puts_failed_and_off_target_first_links_audio_and_loads_nothing_from_outside(tmp_path) -> None:
    written = page.write_report(tmp_path / "out" / "report.html", _takes(tmp_path), {"title": "t", "preset": "x"})
    text = written.read_text(encoding="utf-8")
    rows = re.findall(r'<tr class="v(\d)" data-i="(\d+)">', text)
    assert [int(i) for _, i in rows] == [3, 2, 1, 0, 4]             # failed, off target, findings, then the rest
    assert text.count('<section class="take"') == 5
    plotly_at = text.index('<script type="text/plain" id="sori-plotly">')
    outside = text[:plotly_at] + text[text.index("</script>", plotly_at):]
    assert not re.search(r'(?:src|href)\s*=\s*["\']?(?:https?:)?//', outside)      # no CDN, no remote anything
    assert text.count('id="sori-plotly"') == 1 and "Plotly" in text[plotly_at:plotly_at + 2_000_000]
    data = {int(i): json.loads(html.unescape(d)) for i, d in
            re.findall(r'<script type="application/json" id="take-data-(\d+)">(.*?)</script>', text)}
    assert len(data) == 5
    # audio linked, relative to the page, each segment quoted: nothing embedded
    assert data[0]["b"] == "%EA%B0%80%EC%95%BC%EA%B8%88%20%EC%82%B0%EC%A1%B0%20%231.wav"
    assert data[0]["a"] == "../in/%EA%B0%80%EC%95%BC%EA%B8%88%20%EC%82%B0%EC%A1%B0%20%231.wav"
    assert "base64" not in text[:plotly_at] and "audio/wav" not in text
    assert set(data[0]["figures"]) == {"wave", "loudness", "spectrum"}          # no pitch check in this preset
    assert data[3]["status"] == "failed" and data[3]["reason"] and "figures" not in data[3]
    assert data[4]["no_curves"]                                                  # said, not silently missing


def _short_takes(folder: Path, n: int = 2) -> None:
    for i in range(n):
        write_wav(folder / f"take_{i}.wav", tone(220 * (i + 1), 3.0, 32_000, -20 - 3 * i), 32_000)


def _page_data(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    return [json.loads(d) for d in re.findall(r'<script type="application/json" id="take-data-\d+">(.*?)</script>',
                                               text)]


def test_a_batch_writes_report_html_and_a_resumed_batch_still_draws_every_file(tmp_path: Path) -> None:
    _short_takes(tmp_path / "in")
    (tmp_path / "in" / "broken.wav").write_bytes(b"RIFF....WAVEfmt nonsense")
    first = run_batch(tmp_path / "in", tmp_path / "out", overrides=FAST, progress=False)
    assert first.report_html == tmp_path / "out" / "report.html"
    again = run_batch(tmp_path / "in", tmp_path / "out", overrides=FAST, progress=False)
    assert again.count("skipped") == 2
    data = _page_data(again.report_html)
    by_name = {d["name"]: d for d in data}
    assert by_name["broken.wav"]["status"] == "failed"
    for name in ("take_0.wav", "take_1.wav"):                     # from the records: nothing mastered again
        assert set(by_name[name]["figures"]) == {"wave", "loudness", "spectrum"}
        assert by_name[name]["b"] == name and by_name[name]["a"] == f"../in/{name}"


def test_without_plotly_the_batch_says_how_to_get_report_html(tmp_path: Path, sori, monkeypatch) -> None:
    _short_takes(tmp_path / "in", 1)
    monkeypatch.setattr(page, "available", lambda: False)
    done = sori("batch", tmp_path / "in", tmp_path / "out", "--set", "dissonance=null", "-q")
    assert done.returncode == 0, done.stderr
    assert "report.html not written: it needs plotly (pip install 'sori[studio]')" in done.stdout
    assert (tmp_path / "out" / "report.json").is_file() and not (tmp_path / "out" / "report.html").exists()


def test_sori_remaster_report_writes_one_page_and_refuses_bad_paths(tmp_path: Path, sori) -> None:
    take = write_wav(tmp_path / "take.wav", tone(330, 3.0, 32_000, -18), 32_000)
    done = sori("remaster", take, "-o", tmp_path / "m.wav", "--report", tmp_path / "pages" / "take.html",
                "--set", "dissonance=null")
    assert done.returncode == 0, done.stderr
    assert f"see and hear it: {tmp_path / 'pages' / 'take.html'}" in done.stdout
    (data,) = _page_data(tmp_path / "pages" / "take.html")
    assert data["a"] == "../take.wav" and data["b"] == "../m.wav" and "figures" in data
    assert "give a path ending in .html" in one_error(sori("remaster", take, "-o", tmp_path / "n.wav",
                                                           "--report", tmp_path / "n.txt"))
    assert not (tmp_path / "n.wav").exists()                      # refused before any work


@settings(max_examples=25, deadline=None)
@given(seconds=st.floats(0.01, 4.0), rate=st.sampled_from([8_000, 22_050, 32_000, 44_100, 48_000, 96_000]),
       channels=st.integers(1, 2), level=st.floats(-80.0, 0.0), seed=st.integers(0, 2**16))
def test_curves_hold_for_any_take_length_rate_and_level(seconds: float, rate: int, channels: int, level: float,
                                                        seed: int) -> None:
    """Any input remaster() accepts gets its curves: JSON-able, the envelope holds every sample, the gates hold."""
    from remaster.api import Mastered
    from remaster.presets import OutputSpec

    rng = np.random.default_rng(seed)
    frames = max(1, int(seconds * rate))
    raw = (10 ** (level / 20) * rng.uniform(-1, 1, (channels, frames))).astype(np.float32)
    after = np.repeat(raw[:1], 2, axis=0) * 0.5
    c = take_curves(raw, rate, Mastered(after, rate, {"stages": []}, OutputSpec()))
    json.dumps(c)
    for side, audio in (("before", raw), ("after", after)):
        env = c["wave"][side]
        hi, lo = unpack(env["hi"]).astype(float) / 127, unpack(env["lo"]).astype(float) / 127
        assert hi.max() >= audio.max() - 1e-6 and lo.min() <= audio.min() + 1e-6
        for name in ("momentary", "short_term"):
            values = unpack(c["loudness"][side][name]["values"])
            assert np.all(np.isnan(values) | (values > -70.0))              # the absolute gate: a gap, not -inf
    assert c["duration_s"] == pytest.approx(frames / rate, abs=1e-3) and "gain_reduction" not in c
    assert 0 < c["spectrum"]["cutoff_hz"] <= rate / 2
