"""Folk tunes as melodies (generate.tunes): the notes are checked data, the shipped MIDI files are written from them,
and `--melody 아리랑` conditions the tiny musicgen-melody on the tune, as does a prompt that names it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from generate.errors import GenerateError
from generate.melody import melody_inputs, read_midi_notes
from generate.musicgen import load_model
from generate.taxonomy import load_taxonomy
from generate.tunes import load_notes, read_notes, tune_file, tune_path, write_midi


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))


@pytest.fixture(scope="module")
def melody_model(tiny_melody_dir: Path):
    return load_model(str(tiny_melody_dir), device="cpu")


def test_every_tune_of_the_taxonomy_has_checked_notes_and_its_midi_file(tmp_path: Path) -> None:
    notes = load_notes()
    tunes = load_taxonomy().entries("tunes")
    assert {t.midi for t in tunes} == set(notes)
    assert {t.ko for t in tunes} >= {"아리랑", "진도아리랑", "밀양아리랑", "정선아리랑", "도라지타령", "옹헤야"}
    for tune in tunes:
        shipped = tune_path(tune)
        assert shipped.read_bytes() == write_midi(notes[tune.midi], tmp_path / tune.midi).read_bytes(), \
            f"{tune.midi} differs from notes.yaml: run scripts/make_tunes.py"
        read = read_midi_notes(shipped)
        written = [p for bar in notes[tune.midi].bars for p, _ in bar if p is not None]
        assert [n.pitch for n in read] == written
        assert tune_file(tune.ko) == shipped and tune_file(tune.en) == shipped


def test_arirang_is_a_whole_verse_in_semachi() -> None:
    arirang = load_notes()["arirang.mid"]
    assert arirang.meter == "3/4" and len(arirang.bars) == 16
    notes = read_midi_notes(tune_file("아리랑"))
    assert notes[-1].pitch % 12 == 7                      # ends on do (G), as the National Gugak Center says
    assert notes[-1].end == pytest.approx(16 * 3 * 60 / 96)


@pytest.mark.parametrize(("bars", "says"), [
    ('["D4:3 E4:1 D4:3"]', "lasts 7 eighths, the meter 6"),
    ('["D4:3 F4:1 D4:2"]', "F4:1 is outside the tune's scale"),
    ('["D4:3 E4:1 H4:2"]', "'H4:2' is not a note"),
    ('["D4:3 E4:1 E4:2"]', "not its final G"),
])
def test_a_bad_transcription_is_refused(bars: str, says: str) -> None:
    text = ("tunes:\n  x.mid: {title: x, meter: 3/4, beat: 2, bpm: 90, scale: [G, A, B, D, E], final: G, "
            f"bars: {bars}}}\n")
    with pytest.raises(GenerateError, match=says):
        read_notes(text)


def _pitch_classes(features) -> list[int]:
    return features[0].argmax(-1).tolist()


def test_melody_arirang_conditions_the_melody_model(sori, melody_model, tiny_melody_dir: Path,
                                                    tmp_path: Path) -> None:
    # the chroma the model gets is Arirang's: its opening D - E - D, then notes of the G pentatonic only
    chroma = _pitch_classes(melody_inputs(melody_model, "아리랑", duration=2.0)["input_features"])
    assert chroma[0] == 2 and set(chroma) <= {7, 9, 11, 2, 4} and len(set(chroma)) >= 2
    assert chroma != _pitch_classes(melody_inputs(melody_model, "옹헤야", duration=2.0)["input_features"])

    def take(*extra: str, name: str) -> np.ndarray:
        proc = sori("generate", "해금", *extra, "--model", tiny_melody_dir, "-d", "0.5", "--seed", "3", "--top-k",
                    "20", "-o", tmp_path / name, "-q")
        assert proc.returncode == 0, proc.stderr
        return sf.read(tmp_path / name / "take_000.wav", dtype="float32")[0]

    with_arirang = take("--melody", "아리랑", name="arirang")
    side = json.loads((tmp_path / "arirang" / "take_000.json").read_text(encoding="utf-8"))
    assert side["melody"]["tune"] == "Arirang" and side["melody"]["kind"] == "midi"
    assert side["melody"]["path"] == str(tune_file("아리랑").resolve()) and len(side["melody"]["sha256"]) == 64
    assert not np.array_equal(with_arirang, take("--melody", "옹헤야", name="ongheya"))
    assert not np.array_equal(with_arirang, take(name="plain"))
    # a prompt that names the tune brings its melody to a melody model by itself
    proc = sori("generate", "해금 아리랑", "--model", tiny_melody_dir, "-d", "0.5", "--seed", "3", "--top-k", "20",
                "-o", tmp_path / "named", "-q")
    assert proc.returncode == 0, proc.stderr
    side = json.loads((tmp_path / "named" / "take_000.json").read_text(encoding="utf-8"))
    assert side["melody"]["tune"] == "Arirang" and "Arirang" in side["prompt"]
