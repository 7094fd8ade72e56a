"""Super-resolution: cutoff detection, the built-in bandwidth extension, LSD, and the AudioSR backend."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import median_filter

from remaster.errors import ProcessingError
from remaster.processors import Superres
from remaster.processors.resample import resample
from remaster.superres import audiosr_client as audiosr
from remaster.superres.cutoff import detect_cutoff, long_term_spectrum_db
from tests.lsd import log_spectral_distance
from tests.signals import drum_loop, mix, pluck_melody

RATE = 48_000


@pytest.fixture(scope="module")
def music() -> np.ndarray:
    """Full-band music at 48 kHz: plucked strings over drums with bright hats."""
    rng = np.random.default_rng(0)
    return (0.4 * mix(pluck_melody(RATE, rng, bars=4), drum_loop(RATE, rng, bars=4)).audio).astype(np.float32)


def band_limit(x: np.ndarray, cutoff: float) -> np.ndarray:
    """What a lower-rate source leaves: resample down to 2 x cutoff and back to 48 kHz."""
    low = round(2 * cutoff)
    return resample(resample(x, RATE, low), low, RATE)


@pytest.mark.parametrize("cutoff", [16_000, 11_025, 8_000])
def test_cutoff_is_detected(music: np.ndarray, cutoff: float) -> None:
    assert detect_cutoff(band_limit(music, cutoff), RATE) == pytest.approx(cutoff, rel=0.04)


def test_full_band_audio_has_no_cutoff_and_is_left_unchanged(music: np.ndarray) -> None:
    assert detect_cutoff(music, RATE) == RATE / 2
    out = Superres()(music, RATE)
    np.testing.assert_array_equal(out.audio, music)
    assert out.info["input_cutoff_hz"] == RATE / 2
    at_44k = resample(music, RATE, 44_100)
    assert np.array_equal(Superres()(at_44k, 44_100).audio, resample(at_44k, 44_100, RATE))


def test_a_32k_take_gets_its_missing_band_back(music: np.ndarray) -> None:
    take = resample(music, RATE, 32_000)
    out = Superres()(take, 32_000)
    plain = resample(take, 32_000, RATE)
    assert out.sample_rate == RATE and out.audio.shape == plain.shape
    assert out.info["backend"] == "bwe"
    assert out.info["input_cutoff_hz"] == pytest.approx(16_000, rel=0.04)
    assert out.info["output_cutoff_hz"] > 19_000
    assert log_spectral_distance(music, out.audio) < 0.85 * log_spectral_distance(music, plain)
    # Below the cutoff nothing changes.
    low = np.fft.rfft(out.audio[0])[: int(15_000 / RATE * out.audio.shape[1])]
    ref = np.fft.rfft(plain[0])[: low.size]
    assert np.abs(low - ref).max() < 1e-3 * np.abs(ref).max()


def test_no_tonal_peaks_above_the_cutoff(music: np.ndarray) -> None:
    out = Superres()(resample(music, RATE, 32_000), 32_000).audio
    freqs, level = long_term_spectrum_db(out, RATE)
    band = (freqs > 16_500) & (freqs < 19_500)
    peaks = level - median_filter(level, size=41, mode="nearest")     # about 500 Hz either side
    assert peaks[band].max() < 6.0


def test_the_new_band_follows_transients() -> None:
    rng = np.random.default_rng(1)
    drums = (0.5 * drum_loop(RATE, rng, bars=2).audio).astype(np.float32)
    out = Superres()(resample(drums, RATE, 32_000), 32_000).audio[0]
    hf = np.fft.irfft(np.where(np.fft.rfftfreq(out.size, 1 / RATE) > 16_500, np.fft.rfft(out), 0), n=out.size)
    frames = np.square(hf[: hf.size // 480 * 480].reshape(-1, 480)).mean(axis=1)      # 10 ms frames
    loud, quiet = np.percentile(frames, 95), np.percentile(frames, 20)
    assert 10 * np.log10(loud / max(quiet, 1e-20)) > 12                  # hits stand out, not steady hiss


def test_mono_stereo_short_and_silent() -> None:
    x = resample(np.random.default_rng(2).standard_normal((1, RATE)).astype(np.float32) * 0.1, RATE, 32_000)
    dual = np.repeat(x, 2, axis=0)
    out = Superres()(dual, 32_000).audio
    assert out.shape == (2, RATE) and np.array_equal(out[0], out[1])     # dual mono stays dual mono
    stereo = np.stack([x[0], np.roll(x[0], 50)])
    assert Superres()(stereo, 32_000).audio.shape == (2, RATE)
    for frames in (1, 100, 700):                                          # far shorter than an STFT frame
        short = Superres()(x[:, :frames], 32_000)
        assert short.audio.shape[1] == round(frames * 1.5) and np.isfinite(short.audio).all()
    silent = Superres()(np.zeros((1, 32_000), np.float32), 32_000)
    assert not np.any(silent.audio) and silent.audio.shape == (1, RATE)


def test_backend_none_is_plain_resampling(music: np.ndarray) -> None:
    take = resample(music, RATE, 32_000)
    np.testing.assert_array_equal(Superres(backend="none")(take, 32_000).audio, resample(take, 32_000, RATE))


def test_lsd() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal(RATE).astype(np.float32)
    assert log_spectral_distance(x, x) == 0.0
    assert log_spectral_distance(x, 0.5 * x) == pytest.approx(2 * np.log10(2), rel=1e-3)   # 6 dB everywhere
    with pytest.raises(ValueError, match="shorter than one"):
        log_spectral_distance(x[:100], x[:100])


FAKE_AUDIOSR = '''
import numpy as np, soundfile as sf
MODE = "{mode}"
if MODE == "offline_at_import":    # what audiosr 0.0.7 really does offline: its import loads a tokenizer
    raise OSError("Can't load tokenizer for 'roberta-base'. If you were trying to load it from "
                  "'https://huggingface.co/models', make sure you don't have a local directory with the same name.")
def build_model(model_name="basic", device="cpu"):
    if MODE == "offline":
        raise OSError("We couldn't connect to 'https://huggingface.co' to load this file, couldn't find it in "
                      "the cached files and it looks like haoheliu/audiosr_basic is not the path to a directory")
    return object()
def super_resolution(model, path, seed=0, guidance_scale=3.5, ddim_steps=50):
    x, rate = sf.read(path, dtype="float32")
    t = np.arange(round(x.size * 48000 / rate)) * rate / 48000
    return np.interp(t, np.arange(x.size), x)[None, None, :]
'''


def fake_audiosr(tmp_path: Path, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / mode / "audiosr"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent(FAKE_AUDIOSR.format(mode=mode)))
    monkeypatch.setenv("PYTHONPATH", str(pkg.parent))


@pytest.mark.parametrize("mode", ["offline", "offline_at_import"])
def test_audiosr_offline_is_one_clear_paragraph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    fake_audiosr(tmp_path, mode, monkeypatch)
    with pytest.raises(ProcessingError) as err:
        Superres(backend="audiosr")(np.zeros((1, 32_000), np.float32), 32_000)
    message = str(err.value)
    assert "haoheliu/audiosr_basic" in message and "roberta-base" in message and "HF_HUB_OFFLINE" in message
    assert "backend: bwe" in message and "not in the local cache" in message
    assert "\n" not in message


def test_audiosr_not_installed_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTHONPATH", raising=False)
    with pytest.raises(ProcessingError, match=r"cannot import.*pip install audiosr==0\.0\.7.*python:"):
        Superres(backend="audiosr", python=sys.executable)(np.zeros((1, 32_000), np.float32), 32_000)
    with pytest.raises(ProcessingError, match="no such interpreter"):
        Superres(backend="audiosr", python="/nonexistent/python")(np.zeros((1, 32_000), np.float32), 32_000)


def test_audiosr_long_input_in_overlapping_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_audiosr(tmp_path, "works", monkeypatch)
    t = np.arange(32_000 * 25) / 32_000
    x = (0.5 * np.sin(2 * np.pi * 440 * t))[None].astype(np.float32)
    assert len(audiosr.chunk_bounds(x.shape[1], round(10.24 * 32_000), 16_000)) == 3
    out = Superres(backend="audiosr", chunk_s=10.24, overlap_s=0.5)(x, 32_000)
    assert out.sample_rate == RATE and out.audio.shape == (1, 25 * RATE)
    assert out.info["backend"] == "audiosr"
    # The seams are invisible on a steady tone: the level holds everywhere.
    env = np.abs(out.audio[0, RATE: -RATE]).reshape(-1, 480).max(axis=1)
    assert env.min() > 0.48 and env.max() < 0.52


def test_an_mp3s_encoder_lowpass_is_found_and_filled(music: np.ndarray, tmp_path: Path) -> None:
    import soundfile as sf

    from remaster.audio import read
    path = tmp_path / "take.mp3"
    sf.write(path, music.T, RATE, format="MP3", subtype="MPEG_LAYER_III", compression_level=0.5)  # ~128 kbps
    decoded, rate = read(path)
    cutoff = detect_cutoff(decoded, rate)
    assert 15_000 < cutoff < 19_500
    out = Superres()(decoded, rate)
    assert out.info["input_cutoff_hz"] == pytest.approx(cutoff, abs=0.1)         # reported to 0.1 Hz
    assert out.info["output_cutoff_hz"] > cutoff + 1000
