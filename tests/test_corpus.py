"""The issue's bar: every file of a varied 30+ file corpus comes out at -14 LUFS +-0.5 LU (where there are
at least 3 s of signal), true peak <= -1.0 dBTP, no clipped samples, 48 kHz, measured on the written files."""

from __future__ import annotations

from pathlib import Path

import pyloudnorm
import pytest

from remaster.analysis import analyze
from remaster.api import signal_seconds
from remaster.audio import read
from remaster.batch import run_batch


def test_streaming_preset_masters_the_whole_corpus_on_target(corpus: list[Path], tmp_path: Path) -> None:
    names = {p.name for p in corpus}
    assert len(corpus) >= 30
    for kind in ("quiet_-40lufs.wav", "hot_clipping.wav", "dc_offset.wav", "noisy.wav", "bandlimited_32k.wav",
                 "mono_8k.wav", "stereo_96k.wav", "short_1s.wav", "long_10min.wav", "mpeg.mp3", "vorbis.ogg",
                 "lossless.flac"):
        assert kind in names
    src = corpus[0].parent
    out = tmp_path / "masters"
    result = run_batch(src, out, "streaming", jobs=2, progress=False)
    assert result.failed == 0, [r["reason"] for r in result.rows if r["status"] == "failed"]
    checked = 0
    for row in result.rows:
        raw, raw_rate = read(src / row["input"])
        audio, rate = read(out / row["output"])                 # measure the file as written
        m = analyze(audio, rate)
        assert rate == 48_000, row["input"]
        assert m.clipped_samples == 0, row["input"]
        assert m.true_peak_dbtp <= -1.0, (row["input"], m.true_peak_dbtp)
        if signal_seconds(raw, raw_rate) >= 3.0:
            assert m.integrated_lufs == pytest.approx(-14.0, abs=0.5), row["input"]
            # An independent meter agrees.
            assert pyloudnorm.Meter(rate).integrated_loudness(audio.T) == pytest.approx(-14.0, abs=0.5)
            checked += 1
    assert checked >= 28
