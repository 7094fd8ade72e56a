"""The tracker-speed benchmark: rows measured against the first, findings compared between two runs of one tracker,
and one clear line for a row it cannot run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_check_speed

from tests.signals import pluck_melody


@pytest.fixture(scope="module")
def takes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("takes")
    rng = np.random.default_rng(3)
    sour = pluck_melody(16_000, rng, bars=2, detune=(3, 60.0))
    sweet = pluck_melody(16_000, rng, bars=2)
    sf.write(folder / "sour.flac", sour.audio[0], sour.sample_rate)
    sf.write(folder / "sweet.wav", sweet.audio[0], sweet.sample_rate)
    (folder / "notes.txt").write_text("not audio: left out\n")
    return folder


def test_rows_are_timed_against_the_first_and_findings_compared(takes: Path, tmp_path: Path) -> None:
    out = tmp_path / "speed.json"
    assert bench_check_speed.main([str(takes), "--rows", "swiftf0:cpu,swiftf0:cpu", "--json", str(out)]) == 0
    peer, again = json.loads(out.read_text())
    assert peer["files"] == again["files"] == 2
    assert peer["vs_peer"] == 1.0
    assert again["vs_peer"] == pytest.approx(again["check_x"] / peer["check_x"])
    assert peer["track_x"] > peer["check_x"] > 0          # the tracker is a part of the check
    assert again["same_findings"] == {"cpu": "2/2"}        # the same tracker on the same files finds the same


def test_crepe_on_the_cpu_reads_only_the_first_seconds(takes: Path, tmp_path: Path) -> None:
    out = tmp_path / "speed.json"
    assert bench_check_speed.main([str(takes), "--rows", "swiftf0:cpu,tiny:cpu", "--cpu-crepe-seconds", "1",
                                   "--json", str(out)]) == 0
    swift, tiny = json.loads(out.read_text())
    assert (swift["files"], tiny["files"]) == (2, 1)        # never none: at least the first file


@pytest.mark.parametrize("rows, says", [("pesto:cpu", "unknown tracker 'pesto' in 'pesto:cpu'; allowed: swiftf0"),
                                        ("tiny:tpu", "unknown device 'tpu'"),
                                        ("full:cuda", "needs a CUDA GPU")])
def test_a_row_it_cannot_run_is_one_line(takes: Path, capsys: pytest.CaptureFixture[str], rows: str,
                                         says: str) -> None:
    if rows.endswith("cuda") and torch.cuda.is_available():
        pytest.skip("this machine has the GPU the row asks for")
    with pytest.raises(SystemExit) as e:
        bench_check_speed.main([str(takes), "--rows", rows])
    err = capsys.readouterr().err
    assert e.value.code == 2 and says in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("folder, says", [("empty", "no WAV or FLAC files in"), ("missing", "no such folder")])
def test_a_folder_without_audio_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], folder: str,
                                            says: str) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit) as e:
        bench_check_speed.main([str(tmp_path / folder), "--rows", "swiftf0:cpu"])
    assert e.value.code == 2 and says in capsys.readouterr().err
