"""Melody conditioning for musicgen-melody: the chroma of a reference audio file or a MIDI file.

    from generate.melody import describe, melody_inputs
    loaded = load_model("facebook/musicgen-melody")
    extra = melody_inputs(loaded, "arirang.mid", duration=20)     # {"input_features": (1, frames, 12)}
    generate_takes(loaded, "gayageum sanjo", duration=20, melody="arirang.mid", out_dir="out")   # does both
    generate_takes(loaded, "haegeum", duration=20, melody="아리랑", out_dir="out")    # a folk tune by name

A melody is a file, or the name of one of the taxonomy's folk tunes (아리랑, 진도아리랑, 도라지타령, 옹헤야 ...),
whose MIDI ships with Sori (`generate.tunes`). A file of that name in the working folder wins over the tune.

musicgen-melody reads a melody as a one-hot chromagram: at each frame of its feature extractor (hop 4096 at 32 kHz,
7.8125 frames a second, 235 frames = 30 s) one of 12 pitch classes, C first, is 1. For audio the model's own
feature extractor makes it (power spectrogram -> chroma filter bank -> argmax; computed by generate.chroma, as
transformers' own extractor needs torchaudio). A MIDI file is turned into the same
layout directly: its highest sounding note per frame, since the argmax keeps only one pitch class per frame anyway and
a melody is usually the top voice. A frame without a note gets pitch class 0 (C), which is what the extractor gives
silence (the argmax of an all-zero chroma) and what the model itself uses as its "no melody" input.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from remaster.errors import AudioError

from .errors import GenerateError

if TYPE_CHECKING:
    import numpy as np
    import torch

    from .musicgen import Loaded

MIDI_SUFFIXES = (".mid", ".midi")
DRUM_CHANNEL = 9                    # General MIDI channel 10, counted from 0: unpitched percussion
SILENT_PEAK = 1e-6                  # -120 dBFS: below this a reference holds no melody to follow
_DEFAULT_TEMPO = 500_000            # microseconds a beat until the first set_tempo (120 bpm), as the MIDI spec says


@dataclass(frozen=True)
class Note:
    """One pitched MIDI note, in seconds from the start of the file."""

    start: float
    end: float
    pitch: int
    channel: int


def _read_suffixes() -> tuple[str, ...]:
    from remaster.audio import READ_SUFFIXES  # late: remaster.audio brings scipy, which a MIDI file never needs
    return tuple(READ_SUFFIXES)


def _allowed() -> str:
    READ_SUFFIXES = _read_suffixes()
    return ", ".join(sorted({s.lstrip(".") for s in (*READ_SUFFIXES, *MIDI_SUFFIXES)}))


def resolve(source: str | os.PathLike) -> tuple[Path, str | None]:
    """The melody's file, and the tune it is when `source` names a folk tune rather than a file."""
    p = Path(source).expanduser()
    if p.exists():
        return p, None
    from .taxonomy import load_taxonomy
    from .tunes import tune_path
    tax = load_taxonomy()
    tune = tax.lookup(str(source), "tunes")
    if tune is not None:
        return tune_path(tune), tune.en
    close = [e.label for e in tax.suggest(str(source), "tunes", cutoff=0.7)]
    hint = f"; did you mean the tune {' or '.join(close)}?" if close else (
        f", nor a known tune ({', '.join(e.ko for e in tax.entries('tunes'))})")
    raise GenerateError(f"melody {p}: no such file{hint}; give a WAV/FLAC/OGG/MP3 recording or a MIDI file, or a "
                        "tune's name")


def _check_source(source: str | os.PathLike) -> tuple[Path, str]:
    """The melody file and its kind ("audio" or "midi"), or one line saying why it cannot be one."""
    p, _ = resolve(source)
    if p.is_dir():
        raise GenerateError(f"melody {p}: is a folder; give an audio or MIDI file")
    suffix = p.suffix.lower()
    if suffix in MIDI_SUFFIXES:
        kind = "midi"
    elif suffix in _read_suffixes():
        kind = "audio"
    else:
        raise GenerateError(f"melody {p}: unsupported format '{p.suffix or '(no extension)'}'; allowed: {_allowed()}")
    if not os.access(p, os.R_OK):
        raise GenerateError(f"melody {p}: permission denied; make the file readable")
    if p.stat().st_size == 0:
        raise GenerateError(f"melody {p}: empty file (0 bytes)")
    return p, kind


def _check_model(loaded: Loaded, path: Path) -> None:
    if loaded.model_type != "musicgen_melody":
        raise GenerateError(f"melody {path}: {loaded.model_id} is a '{loaded.model_type}' model and cannot follow a "
                            "melody; use a melody model such as facebook/musicgen-melody, or drop the melody")


# --- MIDI ------------------------------------------------------------------------------------------------------------

def _timed_events(mid: Any) -> list[list[tuple[float, Any]]]:
    """Every track's messages with absolute times in seconds, through the file's tempo map.

    Types 0 and 1 share one tempo map (the set_tempo events of any track, usually the first), so their tracks are
    merged before ticks are turned into seconds; a type 2 file's tracks are independent songs, each with its own."""
    import mido

    sequences = [mido.merge_tracks(mid.tracks)] if mid.type != 2 else list(mid.tracks)
    out = []
    for track in sequences:
        tempo, seconds, timed = _DEFAULT_TEMPO, 0.0, []
        for msg in track:
            # A message's delta is in ticks of the tempo in force before it, so a set_tempo applies from the next.
            seconds += mido.tick2second(msg.time, mid.ticks_per_beat, tempo) if msg.time else 0.0
            timed.append((seconds, msg))
            if msg.type == "set_tempo":
                tempo = msg.tempo
        out.append(timed)
    return out


def read_midi_notes(source: str | os.PathLike) -> list[Note]:
    """The pitched notes of a MIDI file (every track; the drum channel left out), sorted by start time."""
    path = Path(source).expanduser()
    import mido

    try:
        mid = mido.MidiFile(str(path))
        sequences = _timed_events(mid)
    except Exception as e:      # mido raises OSError, EOFError, ValueError, KeyError... on damaged files
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise GenerateError(f"melody {path}: not a readable MIDI file ({reason}); check it opens in a MIDI "
                            "player, or export it again") from None
    if mid.ticks_per_beat <= 0:         # SMPTE time division: no tempo map to follow
        raise GenerateError(f"melody {path}: uses SMPTE time division, which is not supported; export it with "
                            "ticks per beat")
    notes = [n for timed in sequences for n in _track_notes(timed)]
    if not notes:
        raise GenerateError(f"melody {path}: has no pitched notes (drum channel 10 is ignored); give a MIDI file "
                            "with the melody in it")
    return sorted(notes, key=lambda n: (n.start, n.pitch))


def _track_notes(timed: list[tuple[float, Any]]) -> list[Note]:
    """The pitched notes of one track's timed messages, in the order they end."""
    notes: list[Note] = []
    sounding: dict[tuple[int, int], list[float]] = {}
    end_of_track = timed[-1][0] if timed else 0.0
    for t, msg in timed:
        if msg.type not in ("note_on", "note_off") or msg.channel == DRUM_CHANNEL:
            continue
        key = (msg.channel, msg.note)
        if msg.type == "note_on" and msg.velocity > 0:
            sounding.setdefault(key, []).append(t)
        elif sounding.get(key):          # note_off, or note_on at velocity 0: ends the oldest open one
            start = sounding[key].pop(0)
            if t > start:
                notes.append(Note(start, t, msg.note, msg.channel))
    for (channel, pitch), starts in sounding.items():      # never released: it lasts to the end of its track
        notes.extend(Note(s, end_of_track, pitch, channel) for s in starts if end_of_track > s)
    return notes


def notes_chroma(notes: list[Note], frames: int, frame_rate: float, num_chroma: int = 12) -> np.ndarray:
    """A one-hot chromagram (frames, num_chroma) float32 of the highest note at each frame.

    Frame t is centred at t / frame_rate seconds, as the extractor's centred STFT frames are. The highest note
    sounding at the centre wins; when none sounds there, the highest one sounding anywhere within the frame's hop, so
    that staccato and grace notes shorter than a hop (128 ms) still register. A frame with no note is bin 0."""
    import numpy as np
    centres = np.arange(frames, dtype=np.float64) / frame_rate
    half = 0.5 / frame_rate
    start = np.array([n.start for n in notes])[None, :]
    end = np.array([n.end for n in notes])[None, :]
    pitch = np.array([n.pitch for n in notes])[None, :]
    c = centres[:, None]
    at_centre = np.where((start <= c) & (c < end), pitch, -1).max(axis=1)
    in_hop = np.where((start < c + half) & (end > c - half), pitch, -1).max(axis=1)
    best = np.where(at_centre >= 0, at_centre, in_hop)
    bins = np.where(best >= 0, best % num_chroma, 0)
    chroma = np.zeros((frames, num_chroma), dtype=np.float32)
    chroma[np.arange(frames), bins] = 1.0
    return chroma


# --- audio -----------------------------------------------------------------------------------------------------------

def _read_audio(path: Path) -> tuple[np.ndarray, int]:
    from remaster.audio import read

    try:
        return read(path)
    except AudioError as e:
        raise GenerateError(f"melody {e}") from None


def _audio_chroma(path: Path, extractor: Any, samples: int) -> np.ndarray:
    import numpy as np
    import soxr

    audio, rate = _read_audio(path)
    # The extractor (generate.chroma) takes mono at its own rate: stereo is mixed down and resampled with soxr here.
    mono = audio.mean(axis=0, dtype=np.float64)
    if float(np.max(np.abs(mono), initial=0.0)) < SILENT_PEAK:
        raise GenerateError(f"melody {path}: is silent; give a recording in which the melody can be heard")
    if rate != extractor.sampling_rate:
        mono = soxr.resample(mono, rate, extractor.sampling_rate, quality="HQ")
    # Cut or pad with silence to the take's length first, so the frames line up with the take from its start.
    mono = np.pad(mono[:samples], (0, max(0, samples - mono.shape[0]))).astype(np.float32)
    return extractor(mono)


# --- public ----------------------------------------------------------------------------------------------------------

def _chroma_config(loaded: Loaded) -> tuple[Any, int, int]:
    model = loaded.model.get_base_model() if hasattr(loaded.model, "get_base_model") else loaded.model
    return loaded.processor.feature_extractor, int(model.config.chroma_length), int(model.config.num_chroma)


def melody_inputs(loaded: Loaded, source: str | os.PathLike, duration: float) -> dict[str, torch.Tensor]:
    """The extra `generate` inputs that make a musicgen-melody take of `duration` seconds follow `source`.

    `input_features` is (1, frames, num_chroma) one-hot in the model's dtype, on the CPU (the caller moves it),
    for one take: under classifier-free guidance `generate` adds the "no melody" row itself. frames covers
    `duration` at the extractor's frame rate, capped at the model's `chroma_length`. A longer melody is cut; a
    shorter one is padded with silence. `generate` itself tiles the chroma to fill `chroma_length`."""
    import numpy as np
    import torch

    _check_model(loaded, Path(source))      # first: no file can help a text-only model
    path, kind = _check_source(source)
    if not (math.isfinite(duration) and duration > 0):
        raise GenerateError(f"duration {duration}: must be a positive number of seconds")
    extractor, chroma_length, num_chroma = _chroma_config(loaded)
    sr, hop = int(extractor.sampling_rate), int(extractor.hop_length)
    samples = round(duration * sr)
    frames = min(1 + samples // hop, chroma_length)          # centred STFT: a frame at 0, then one every hop
    if kind == "midi":
        chroma = notes_chroma(read_midi_notes(path), frames, sr / hop, num_chroma)
    else:
        chroma = _audio_chroma(path, extractor, samples)
        # Audio shorter than one FFT is padded to it by the extractor, giving a few frames more than the take has.
        chroma = chroma[:frames]
        if chroma.shape[0] < frames:
            pad = np.zeros((frames - chroma.shape[0], chroma.shape[1]), dtype=np.float32)
            pad[:, 0] = 1.0
            chroma = np.concatenate([chroma, pad])
    features = torch.from_numpy(np.ascontiguousarray(chroma))[None].to(getattr(torch, loaded.dtype))
    return {"input_features": features}


def describe(source: str | os.PathLike) -> dict[str, Any]:
    """What a take's sidecar records of its melody: path, kind ("audio" or "midi"), sha256 and length in seconds,
    and the tune's name when it is one of Sori's folk tunes."""
    record = check(source)
    from remaster.runner import sha256_file
    return {**record, "sha256": sha256_file(Path(record["path"]))}


def check(source: str | os.PathLike) -> dict[str, Any]:
    """Everything about a melody that can be checked before a model loads: the file (or tune) exists, is readable,
    has a supported format, holds pitched notes (MIDI) or a readable header (audio). Returns path, kind, length in
    seconds and tune."""
    path, kind = _check_source(source)
    _, tune = resolve(source)
    if kind == "midi":
        seconds = max(n.end for n in read_midi_notes(path))
    else:
        from remaster.audio import info

        try:
            head = info(path)
        except AudioError as e:
            raise GenerateError(f"melody {e}") from None
        seconds = head.frames / head.samplerate if head.samplerate else 0.0
    return {"path": str(path.resolve()), "kind": kind, "seconds": round(seconds, 3), "tune": tune}
