"""A second loudness corpus that sounds like what a music generator hands the mastering chain: 32 kHz mono 16-bit
WAV takes of 30 s to 4 min, quiet (-34 to -22 LUFS), with hiss, rendered from music no one here wrote.

The music: string quartet and keyboard movements of the music21 corpus (Haydn, Mozart, Beethoven, Bach), each part
given a General MIDI timbre (piano, strings, guitars, organ, brass, pads, plucks) and rendered by FluidSynth with
the FluidR3 GM soundfont (benchmarks/midi.py); half the takes get a GM drum kit under them (kick, snare, hats at
the movement's tempo), so crest factors run from a pad's ~10 dB to a drum mix's ~20 dB. A movement shorter than
the take is followed by the next one. Then what generators leave: the level scaled to a quiet loudness (measured
with pyloudnorm), white hiss at -62 to -48 dBFS RMS, a little DC on some, and the whole written as PCM_16 at
32 kHz, mono (MusicGen's output format).

    .venv/bin/python benchmarks/generated_corpus.py OUT_DIR     # about a minute; skipped files already there

`make(out_dir)` is what bench_loudnorm.py calls. Deterministic for a given seed.
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyloudnorm
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from midi import ensure_tools, note_off, note_on, render_midi, smf_bytes, tempo_event

RATE = 32_000


@dataclass(frozen=True)
class Take:
    name: str
    works: tuple[str, ...]         # music21 corpus paths, played one after another until the take is long enough
    programs: tuple[int, ...]      # GM program per part (0-based), cycled
    seconds: float
    drums: bool
    lufs: float                    # the take's loudness before hiss
    hiss_dbfs: float               # RMS of the white hiss
    dc: float = 0.0


TAKES = (
    Take("gen_piano_30s", ("mozart/k155/movement2.mxl",), (0,), 30, False, -26.0, -58.0),
    Take("gen_strings_45s", ("haydn/opus74no1/movement2.mxl",), (48, 48, 49, 42), 45, False, -31.0, -52.0),
    Take("gen_guitar_drums_60s", ("mozart/k156/movement1.mxl",), (25, 24, 33, 32), 60, True, -24.0, -55.0),
    Take("gen_organ_75s", ("bach/bwv66.6.mxl", "bach/bwv269.mxl", "bach/bwv253.mxl"), (19, 19, 20, 19), 75, False,
         -29.0, -50.0, 0.004),
    Take("gen_brass_drums_90s", ("haydn/opus1no1/movement1.mxl",), (61, 56, 57, 58), 90, True, -23.0, -60.0),
    Take("gen_pads_120s", ("beethoven/opus18no1/movement2.mxl",), (89, 88, 91, 95), 120, False, -34.0, -48.0),
    Take("gen_epiano_drums_150s", ("mozart/k458/movement1.mxl",), (4, 5, 33, 48), 150, True, -27.0, -62.0),
    Take("gen_pluck_180s", ("haydn/opus74no1/movement1.mxl",), (46, 45, 105, 107), 180, False, -30.0, -54.0),
    Take("gen_synth_drums_210s", ("beethoven/opus18no1/movement1.mxl",), (81, 80, 38, 87), 210, True, -22.0, -57.0,
         -0.003),
    Take("gen_quartet_drums_240s", ("mozart/k458/movement3.mxl", "mozart/k458/movement4.mxl"), (40, 40, 41, 42),
         240, True, -25.0, -53.0),
)


def movement_midi(path: str, programs: tuple[int, ...]) -> tuple[bytes, float]:
    """The movement as MIDI bytes with each part on its GM program, and its tempo (beats per minute)."""
    from music21 import corpus, instrument, midi, tempo

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = corpus.parse(path)
        marks = score.recurse().getElementsByClass(tempo.MetronomeMark)
        bpm = float(marks[0].number) if marks and marks[0].number else 100.0
        for i, part in enumerate(score.parts):
            for old in part.recurse().getElementsByClass(instrument.Instrument):
                old.activeSite.remove(old)
            part.insert(0, instrument.instrumentFromMidiProgram(programs[i % len(programs)]))
        data = midi.translate.streamToMidiFile(score).writestr()
    return data, min(max(bpm, 60.0), 160.0)


def drum_midi(bpm: float, seconds: float, seed: int) -> bytes:
    """A kick/snare/hat groove on the GM drum channel (channel 10), with some velocity play."""
    rng = np.random.default_rng(seed)
    tpb, events = 480, [(0, 0, tempo_event(bpm))]
    beats = int(seconds * bpm / 60) + 1
    for beat in range(beats):
        t = beat * tpb
        hits = [(42, 70), (36, 110)] if beat % 2 == 0 else [(42, 70), (38, 105)]
        for pitch, vel in hits:
            v = int(np.clip(vel + rng.normal(0, 8), 30, 127))
            events += [(t, 1, note_on(9, pitch, v)), (t + tpb // 4, 0, note_off(9, pitch))]
        off = t + tpb // 2                                    # off-beat hat
        events += [(off, 1, note_on(9, 42, int(np.clip(50 + rng.normal(0, 6), 20, 127)))),
                   (off + tpb // 4, 0, note_off(9, 42))]
    return smf_bytes(events, end_tick=beats * tpb, tpb=tpb)


def mono(audio: np.ndarray) -> np.ndarray:
    return audio.mean(axis=0).astype(np.float64)


def render_take(take: Take, exe: str, soundfont: Path, work: Path, seed: int) -> np.ndarray:
    need = int(take.seconds * RATE)
    pieces, bpm, i = [], 100.0, 0
    while sum(p.size for p in pieces) < need:
        path = take.works[i % len(take.works)]
        data, bpm = movement_midi(path, take.programs)
        pieces.append(mono(render_midi(exe, soundfont, data, work, f"{take.name}_{i}", RATE)))
        i += 1
        if i > 8:
            raise RuntimeError(f"{take.name}: its movements are too short for {take.seconds} s")
    music = np.concatenate(pieces)[:need]
    if take.drums:
        drums = mono(render_midi(exe, soundfont, drum_midi(bpm, take.seconds, seed), work, f"{take.name}_d", RATE))
        drums = np.pad(drums, (0, max(0, need - drums.size)))[:need]
        music = music / (np.sqrt(np.mean(music ** 2)) + 1e-12) + 0.9 * drums / (np.sqrt(np.mean(drums ** 2)) + 1e-12)
    fade = int(0.5 * RATE)
    music[-fade:] *= np.linspace(1.0, 0.0, fade)
    return music


def degrade(music: np.ndarray, take: Take, seed: int) -> np.ndarray:
    meter = pyloudnorm.Meter(RATE)
    music = music * 10 ** ((take.lufs - meter.integrated_loudness(music)) / 20)
    hiss = np.random.default_rng(seed).standard_normal(music.size) * 10 ** (take.hiss_dbfs / 20)
    out = music + hiss + take.dc
    peak = np.abs(out).max()
    return out / peak * 0.97 if peak > 0.97 else out          # a generator's take does not clip


def make(out_dir: Path, seed: int = 0, log=print) -> list[Path]:
    """Render the corpus into OUT_DIR (files already there are kept); the takes' paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    exe, soundfont = ensure_tools(log)
    paths = []
    with tempfile.TemporaryDirectory(prefix="gen-corpus-") as tmp:
        for k, take in enumerate(TAKES):
            path = out_dir / f"{take.name}.wav"
            paths.append(path)
            if path.exists():
                continue
            audio = degrade(render_take(take, exe, soundfont, Path(tmp), seed + k), take, seed + k)
            part = path.with_suffix(".part.wav")
            sf.write(part, audio.astype(np.float32), RATE, subtype="PCM_16")
            part.replace(path)
            log(f"  {path.name}: {audio.size / RATE:.0f} s")
    return paths


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: generated_corpus.py OUT_DIR")
    make(Path(sys.argv[1]))
