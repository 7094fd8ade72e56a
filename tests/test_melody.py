"""Melody conditioning (generate.melody) on the tiny musicgen-melody: chroma from audio and MIDI, takes, errors.

The tiny model's extractor keeps the real timing: 128 ms chroma frames (7.8125 a second), 16 of them in its 2 s.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf
import torch

from generate.errors import GenerateError
from generate.melody import describe, melody_inputs, notes_chroma, read_midi_notes
from generate.musicgen import load_model
from generate.takes import generate_takes

HOP_SECONDS = 1024 / 8000           # the tiny extractor's hop: 0.128 s
C, D, E, G, A = 0, 2, 4, 7, 9       # pitch classes, C first as the extractor orders them


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="module")
def melody_model(tiny_melody_dir: Path):
    return load_model(str(tiny_melody_dir), device="cpu")


def _pitch_classes(features: torch.Tensor) -> list[int]:
    assert features.ndim == 3 and features.shape[0] == 1 and features.shape[2] == 12
    assert torch.all(features.sum(-1) == 1), "every frame is one-hot"
    return features[0].argmax(-1).tolist()


def _sines(path: Path, freqs: list[float], seconds: float, rate: int, stereo: bool = False) -> Path:
    t = np.arange(round(seconds * rate)) / rate
    x = np.concatenate([0.3 * np.sin(2 * np.pi * f * t) for f in freqs])
    data = np.stack([x, 0.5 * x], axis=1) if stereo else x
    sf.write(path, data.astype(np.float32), rate)
    return path


def _settled(frames: int, boundaries: list[float], margin: float = 0.2) -> list[int]:
    """Frames whose centre is at least `margin` s from every note change (the 512 ms FFT blurs the changes)."""
    return [t for t in range(frames) if all(abs(t * HOP_SECONDS - b) >= margin for b in boundaries)]


def test_audio_chroma_follows_the_notes(melody_model, tmp_path: Path) -> None:
    # 44.1 kHz stereo: resampled to the extractor's 8 kHz and mixed down before the chroma
    wav = _sines(tmp_path / "ceg.wav", [261.63, 329.63, 392.0], 0.64, 44_100, stereo=True)
    features = melody_inputs(melody_model, wav, duration=1.92)["input_features"]
    assert features.dtype == torch.float32 and features.shape == (1, 16, 12)     # 1 + 15360 // 1024
    got = _pitch_classes(features)
    expected = [C] * 5 + [E] * 5 + [G] * 6
    settled = _settled(16, [0.64, 1.28])
    assert len(settled) >= 9
    assert [got[t] for t in settled] == [expected[t] for t in settled], got


def test_chroma_matches_librosa_at_the_real_models_settings() -> None:
    """Sori's extractor (transformers' own needs torchaudio) against librosa's chroma_stft, an independent
    implementation of the same spectrogram and filter bank, at musicgen-melody's 32 kHz, hop 4096, FFT 16384."""
    import librosa

    from generate.chroma import ChromaExtractor

    rate, rng = 32_000, np.random.default_rng(3)
    t = np.arange(rate * 12) / rate
    f0 = 220.0 * 2 ** (rng.integers(0, 24, size=24)[np.minimum((t / 0.5).astype(int), 23)] / 12)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    x = sum(0.3 / k * np.sin(k * phase) for k in range(1, 6)) + 0.02 * rng.standard_normal(t.size)
    x[: rate // 2] = 0.0                                       # silence: all pitch classes zero, C by the argmax
    ours = ChromaExtractor()(x.astype(np.float32)).argmax(-1)
    theirs = librosa.feature.chroma_stft(y=x.astype(np.float32), sr=rate, n_fft=16_384, hop_length=4096,
                                         center=True, pad_mode="reflect", tuning=0.0, norm=np.inf).argmax(0)
    assert ours.shape == theirs.shape == (1 + x.size // 4096,)
    assert (ours == theirs).mean() >= 0.97, (ours, theirs)
    assert ours[0] == 0                                           # the silent first frame


def test_melody_processor_saves_what_it_loads(melody_model, tmp_path: Path) -> None:
    from generate.chroma import MelodyProcessor

    melody_model.processor.save_pretrained(tmp_path)
    again = MelodyProcessor.from_pretrained(str(tmp_path), local_files_only=True)
    assert again.feature_extractor == melody_model.processor.feature_extractor
    assert again(text=["calm piano"])["input_ids"] == melody_model.processor(text=["calm piano"])["input_ids"]


def test_audio_is_cut_or_padded_to_the_take(melody_model, tmp_path: Path) -> None:
    wav = _sines(tmp_path / "e.flac", [329.63], 0.64, 8000)
    padded = _pitch_classes(melody_inputs(melody_model, wav, duration=1.92)["input_features"])
    assert len(padded) == 16
    assert padded[:3] == [E] * 3
    assert padded[8:] == [C] * 8            # silence: the argmax of an all-zero chroma, bin 0
    assert len(_pitch_classes(melody_inputs(melody_model, wav, duration=0.6)["input_features"])) == 5
    # no take frames beyond the model's chroma window (16 frames = 2 s)
    long = _sines(tmp_path / "long.wav", [329.63], 3.0, 8000)
    assert melody_inputs(melody_model, long, duration=5.0)["input_features"].shape[1] == 16


def _midi(path: Path, tracks: list[list[mido.Message]], ticks_per_beat: int = 480) -> Path:
    mid = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    for messages in tracks:
        mid.tracks.append(mido.MidiTrack(messages))
    mid.save(str(path))
    return path


def _song(path: Path) -> Path:
    """D4 for 1 s at 120 bpm; then at 60 bpm a chord C4-E4-A4 for 0.5 s, 0.25 s of rest, G4 for 0.5 s; under it all
    a high drum-channel note (A#5) that must not count. Tempo, melody and chord sit in three different tracks."""
    on, off = "note_on", "note_off"
    tempo = [mido.MetaMessage("set_tempo", tempo=500_000, time=0),
             mido.MetaMessage("set_tempo", tempo=1_000_000, time=960)]
    melody = [mido.Message(on, note=62, velocity=90, time=0),
              mido.Message(on, note=62, velocity=0, time=960),      # note_on at velocity 0 ends the note
              mido.Message(on, note=67, velocity=90, time=360),      # from here 480 ticks are 1 s
              mido.Message(off, note=67, time=240)]
    chord = [mido.Message(on, channel=9, note=82, velocity=100, time=0),
             mido.Message(on, channel=1, note=60, velocity=80, time=960),
             mido.Message(on, channel=1, note=69, velocity=80, time=0),
             mido.Message(on, channel=1, note=64, velocity=80, time=0),
             mido.Message(off, channel=1, note=60, time=240),
             mido.Message(off, channel=1, note=64, time=0),
             mido.Message(off, channel=1, note=69, time=0),
             mido.Message(off, channel=9, note=82, time=360)]
    return _midi(path, [tempo, melody, chord])


def test_midi_notes_follow_the_tempo_map_across_tracks(tmp_path: Path) -> None:
    notes = read_midi_notes(_song(tmp_path / "song.mid"))
    assert all(n.channel != 9 for n in notes)
    got = sorted((n.pitch, round(n.start, 6), round(n.end, 6)) for n in notes)
    assert got == [(60, 1.0, 1.5), (62, 0.0, 1.0), (64, 1.0, 1.5), (67, 1.75, 2.25), (69, 1.0, 1.5)]


def test_midi_chroma_is_the_top_note_per_frame(melody_model, tmp_path: Path) -> None:
    song = _song(tmp_path / "song.mid")
    got = _pitch_classes(melody_inputs(melody_model, song, duration=2.0)["input_features"])
    # frame t is centred at t * 0.128 s: D up to 0.896; the chord's top A from 1.024 (frame 12, centred in the
    # rest, still holds the chord's last 28 ms within its hop); frame 13 is rest (C, as silence); G from 1.792
    assert got == [D] * 8 + [A] * 5 + [C] + [G] * 2


def test_notes_chroma_keeps_short_notes() -> None:
    from generate.melody import Note
    # a 40 ms grace note between two frame centres, and a note at the first centre
    notes = [Note(0.0, 0.05, 64, 0), Note(0.15, 0.19, 67, 0)]
    chroma = notes_chroma(notes, frames=3, frame_rate=1 / HOP_SECONDS)
    assert chroma.argmax(-1).tolist() == [E, G, C]


def _one_note(path: Path, pitch: int, seconds: float = 2.0) -> Path:
    ticks = round(seconds * 960)        # 120 bpm, 480 ticks a beat: 960 ticks a second
    return _midi(path, [[mido.Message("note_on", note=pitch, velocity=90, time=0),
                         mido.Message("note_off", note=pitch, time=ticks)]])


def test_takes_record_the_melody(melody_model, tmp_path: Path) -> None:
    song = _song(tmp_path / "arirang.mid")
    paths = generate_takes(melody_model, "calm gayageum sanjo", n=2, duration=0.5, seed=5, top_k=20,
                           out_dir=tmp_path / "out", melody=song, progress=False)
    assert [p.name for p in paths] == ["take_000.wav", "take_001.wav"]
    for p in paths:
        side = json.loads(p.with_suffix(".json").read_text(encoding="utf-8"))
        assert side["model_type"] == "musicgen_melody"
        assert side["melody"] == {"path": str(song.resolve()), "kind": "midi", "seconds": 2.25, "tune": None,
                                  "sha256": hashlib.sha256(song.read_bytes()).hexdigest()}
        data, rate = sf.read(p, dtype="float32")
        assert rate == melody_model.sample_rate and data.shape[0] == melody_model.sample_rate // 2
    plain = generate_takes(melody_model, "calm gayageum sanjo", n=1, duration=0.5, seed=5, top_k=20,
                           out_dir=tmp_path / "plain", progress=False)
    assert json.loads(plain[0].with_suffix(".json").read_text(encoding="utf-8"))["melody"] is None

    wav = _sines(tmp_path / "hum.wav", [440.0], 1.0, 16_000)
    assert describe(wav)["kind"] == "audio" and describe(wav)["seconds"] == 1.0


def test_the_melody_reaches_the_model(melody_model, tmp_path: Path) -> None:
    kw = {"n": 1, "duration": 0.5, "seed": 11, "top_k": 20, "progress": False}

    def take(melody: Path | None, name: str) -> np.ndarray:
        return sf.read(generate_takes(melody_model, "sad haegeum", melody=melody, out_dir=tmp_path / name,
                                      **kw)[0], dtype="float32")[0]

    d, a = _one_note(tmp_path / "d.mid", 62), _one_note(tmp_path / "a.mid", 69)
    with_d = take(d, "d")
    np.testing.assert_array_equal(with_d, take(d, "d-again"))     # same melody and seed: same audio
    assert not np.array_equal(with_d, take(a, "a"))
    assert not np.array_equal(with_d, take(None, "none"))


def _corrupt_wav(tmp_path: Path) -> Path:
    p = tmp_path / "broken.wav"
    p.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk" + bytes(range(200)))
    return p


def _corrupt_midi(tmp_path: Path) -> Path:
    p = tmp_path / "broken.mid"
    p.write_bytes(b"this is no midi file at all" * 4)
    return p


def _truncated_midi(tmp_path: Path) -> Path:
    whole = _song(tmp_path / "whole.mid").read_bytes()
    p = tmp_path / "truncated.mid"
    p.write_bytes(whole[: len(whole) - 20])
    return p


def _drums_only(tmp_path: Path) -> Path:
    return _midi(tmp_path / "drums.mid", [[mido.MetaMessage("set_tempo", tempo=400_000, time=0),
                                           mido.Message("note_on", channel=9, note=36, velocity=100, time=0),
                                           mido.Message("note_off", channel=9, note=36, time=480)]])


def _text(tmp_path: Path) -> Path:
    p = tmp_path / "melody.txt"
    p.write_text("C E G\n", encoding="utf-8")
    return p


def _silent(tmp_path: Path) -> Path:
    p = tmp_path / "silence.wav"
    sf.write(p, np.zeros(8000, dtype=np.float32), 8000)
    return p


@pytest.mark.parametrize(("make", "says"), [
    (lambda d: d / "nowhere.wav", "no such file"),
    (_text, "unsupported format '.txt'; allowed: "),
    (_corrupt_wav, "broken.wav"),
    (_corrupt_midi, "not a readable MIDI file"),
    (_truncated_midi, "not a readable MIDI file"),
    (_drums_only, "has no pitched notes"),
    (_silent, "is silent"),
])
def test_bad_melody_files(melody_model, tmp_path: Path, make, says: str) -> None:
    source = make(tmp_path)
    with pytest.raises(GenerateError, match=r"^melody ") as err:
        generate_takes(melody_model, "calm", duration=0.5, melody=source, out_dir=tmp_path / "out", progress=False)
    message = str(err.value)
    assert source.name in message and says in message and "\n" not in message
    assert not (tmp_path / "out").exists()      # refused before anything is written


def test_melody_needs_a_melody_model(loaded, tmp_path: Path) -> None:
    song = _song(tmp_path / "arirang.mid")
    with pytest.raises(GenerateError) as err:
        generate_takes(loaded, "calm", duration=0.5, melody=song, out_dir=tmp_path / "out", progress=False)
    message = str(err.value)
    assert "arirang.mid" in message and loaded.model_id in message and "facebook/musicgen-melody" in message
