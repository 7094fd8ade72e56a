"""Reading every supported container and sample format; writing with dither; atomic writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from remaster import audio
from remaster.errors import AudioError

from .conftest import tone


@pytest.mark.parametrize(("suffix", "subtype", "rate", "channels", "tol"), [
    (".wav", "PCM_U8", 8_000, 1, 2e-2),
    (".wav", "PCM_16", 22_050, 2, 1e-4),
    (".wav", "PCM_24", 96_000, 2, 1e-6),
    (".wav", "PCM_32", 44_100, 1, 1e-8),
    (".wav", "FLOAT", 192_000, 2, 0),
    (".wav", "PCM_16", 48_000, 6, 1e-4),
    (".flac", "PCM_24", 48_000, 2, 1e-6),
    (".flac", "PCM_16", 8_000, 1, 1e-4),
    (".ogg", "VORBIS", 44_100, 2, None),
    (".mp3", "MPEG_LAYER_III", 44_100, 2, None),
])
def test_read_formats(tmp_path: Path, suffix: str, subtype: str, rate: int, channels: int, tol: float | None) -> None:
    x = tone(440, 1.0, rate, -6, None, channels)
    path = tmp_path / f"in{suffix}"
    sf.write(path, x.T, rate, subtype=subtype)
    data, got_rate = audio.read(path)
    assert got_rate == rate
    assert data.dtype == np.float32 and data.shape[0] == channels
    if tol is not None:
        assert data.shape == x.shape
        np.testing.assert_allclose(data, x, atol=tol)
    else:   # lossy codecs: same length within a codec frame, same level
        assert abs(data.shape[1] - x.shape[1]) < 3000
        assert np.sqrt(np.mean(data ** 2)) == pytest.approx(np.sqrt(np.mean(x ** 2)), rel=0.1)


@pytest.mark.parametrize(("fmt", "bits", "lsb"), [("wav", 16, 2 ** -15), ("wav", 24, 2 ** -23), ("wav", 32, 0),
                                                  ("flac", 16, 2 ** -15), ("flac", 24, 2 ** -23)])
def test_write_round_trip_and_returns_what_it_wrote(tmp_path: Path, fmt: str, bits: int, lsb: float) -> None:
    x = tone(1000, 0.5, 48_000, -3, -60, 2)
    path = tmp_path / f"out.{fmt}"
    written = audio.write(path, x, 48_000, bits)
    back, rate = audio.read(path)
    assert rate == 48_000
    np.testing.assert_array_equal(back, written)        # the returned samples are the file's
    np.testing.assert_allclose(back, x, atol=2 * lsb + 1e-9)
    info = sf.info(path)
    assert info.subtype == {16: "PCM_16", 24: "PCM_24", 32: "FLOAT"}[bits]


def test_tpdf_dither_error_is_signal_independent() -> None:
    # TPDF dither: error variance = quantisation (1/12) + dither (2/12) LSB^2 = 0.25 LSB^2, mean 0,
    # whatever the signal, even one far below an LSB.
    lsb = 2 ** -15
    for level in (0.3 * lsb, 0.5):
        x = (level * np.sin(2 * np.pi * 997 * np.arange(96_000) / 48_000))[None].astype(np.float32)
        err = (audio.encode(x, 16, dither=True) - x) / lsb
        assert err.mean() == pytest.approx(0.0, abs=0.02)
        assert err.var() == pytest.approx(0.25, abs=0.02)
    # Without dither a sub-LSB sine vanishes entirely (truncation distortion); with it, it survives in the mean.
    tiny = (0.4 * lsb * np.sin(2 * np.pi * 50 * np.arange(480_000) / 48_000))[None].astype(np.float32)
    assert not np.any(audio.encode(tiny, 16, dither=False))
    dithered = audio.encode(tiny, 16, dither=True)
    assert np.corrcoef(dithered[0], tiny[0])[0, 1] > 0.2


def test_dither_is_deterministic_per_seed() -> None:
    x = tone(440, 0.2, 48_000, -20, None)
    np.testing.assert_array_equal(audio.encode(x, 16, seed=5), audio.encode(x, 16, seed=5))
    assert not np.array_equal(audio.encode(x, 16, seed=5), audio.encode(x, 16, seed=6))


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "master.wav"
    audio.write(path, tone(), 32_000, 16)
    before = path.read_bytes()

    class BrokenFile(sf.SoundFile):
        def write(self, data):
            raise OSError("disk full")

    monkeypatch.setattr(sf, "SoundFile", BrokenFile)
    with pytest.raises(OSError):
        audio.write(path, tone(880), 32_000, 16)
    assert path.read_bytes() == before                   # the old file is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["master.wav"]   # and no temp file is left


def test_write_rejects_what_the_format_cannot_hold(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="allowed: 16, 24"):
        audio.write(tmp_path / "x.flac", tone(), 32_000, 32)
    with pytest.raises(AudioError, match="allowed: wav, flac, mp3"):
        audio.write(tmp_path / "x.ogg", tone(), 32_000, 16)
    with pytest.raises(AudioError, match="NaN"):
        audio.write(tmp_path / "x.wav", np.full((1, 10), np.nan, np.float32), 32_000, 16)
    assert not any(tmp_path.iterdir())


def test_read_refuses_rates_outside_the_range(tmp_path: Path) -> None:
    path = tmp_path / "slow.wav"
    sf.write(path, tone(100, 1.0, 4_000).T, 4_000)
    with pytest.raises(AudioError, match="8000–192000"):
        audio.read(path)


def test_read_refuses_over_long_input_from_the_header(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    sf.write(path, tone(440, 3.0, 8_000).T, 8_000)
    with pytest.raises(AudioError, match="limit"):
        audio.read(path, max_seconds=2.0)
