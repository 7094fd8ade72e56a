"""Real full-band music clips for the super-resolution benchmark, rendered locally from composed MIDI.

Nothing is downloaded from a website: the clips are composed in code and rendered with FluidSynth and the
FluidR3 General MIDI soundfont, both from Debian's packages (`fluidsynth`, `fluid-soundfont-gm`; installed
with apt-get when missing, which needs root).

How a clip is made:

1. Composition. A seeded RNG (numpy, keyed by the seed and the clip's name, so a clip does not depend on
   which others are made) picks a tempo (70-130 BPM), a metre (4/4 or 3/4), a key and a mode (major, minor,
   dorian, mixolydian, or a Korean pentatonic mode: pyeongjo sol-la-do-re-mi or gyemyeonjo la-do-re-mi-sol;
   koto, shamisen and shakuhachi always use a Korean mode) and writes about 8-10 s of music: melodies
   made of stepwise lines, leaps, scale runs, arpeggios and held notes (with grace notes and pitch-bend
   vibrato on some instruments), chord progressions played as sustained, strummed or broken chords, bass
   lines, and drum patterns (rock, sixteenth-note, ride, latin, half-time) with fills and crashes, all
   with shaped and jittered velocities. The Standard MIDI File (format 0, 480 ticks per beat) is written
   by midi.py (shared with the other data sets) with `struct`; there is no MIDI dependency.
2. Rendering. `fluidsynth -ni -q -g 0.7 -r 48000 -T wav -O float -F out.wav SOUNDFONT clip.mid`: 48 kHz
   stereo, 32-bit float, so loud mixes do not clip before normalisation. The MIDI file ends 2 s after the
   last note so releases and reverb tails are rendered.
3. Clean-up. Leading and trailing silence (below -60 dB relative to the clip's peak) is trimmed, keeping a
   20 ms pre-roll and a 250 ms tail faded with half-cosines, and clips that ring on past 12 s are cut
   there with a fade; clips that come out silent or shorter than 2 s are skipped. Each clip is
   normalised to -20 LUFS (BS.1770, `remaster.analysis.loudness`) unless that would put its sample peak
   above -1 dBFS, in which case the peak sets the gain (the table shows the loudness reached).
4. Verification. For every clip the power spectrum of the whole clip (channels summed) gives the energy
   above 16 kHz and above 20 kHz relative to the total, the frequency under which 99.5 % of the energy
   lies, and the frequency above which only 1e-6 (-60 dB) of the energy lies. Clips whose energy above
   16 kHz is below `--min-hf-db` (default -70 dB) are dropped (the file is not written); clips above
   -60 dB are marked as having meaningful content above 16 kHz.

Clips are written as 48 kHz float32 WAV files named `<family>_<instrument>_<n>.wav`; the families are
plucked (nylon and steel guitar, harp, koto, shamisen), bowed (violin, cello, string ensemble with a
violin), winds (flute, piccolo, shakuhachi), piano (grand, bright), percussion (the GM drum kits on channel
10: standard, room, jazz, power, brush) and mix (two or three instruments, some with drums). Candidates
are taken round-robin over the families, so any count covers them all evenly, and candidates continue
until `count` clips are kept or twice `count` candidates have been tried. Files that already exist are
not rendered again (they are read back and measured), so re-running is cheap and gives the same set.
Files are known by name only: use a fresh folder for another seed.

What to expect from FluidR3: its drum kits (cymbals, hi-hats), violin, cello, koto, shamisen, steel
guitar, bright piano and the harp's upper register carry real energy up to 20-24 kHz, but its grand piano,
nylon guitar, flute, piccolo, shakuhachi and string-ensemble samples have little above 12-14 kHz whatever
the register or velocity, so their clips sit around -60 to -75 dB above 16 kHz; some are dropped by the
default filter and the rest are reported as lacking meaningful high-band content.

Usage, from the repository root:

    .venv/bin/python benchmarks/superres_data.py OUT_DIR [--seed 0] [--count 24] [--min-hf-db -70]

or from another script: `from superres_data import prepare; paths = prepare(Path("clips"))`.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
from midi import (
    control_change,
    ensure_tools,
    fluidsynth_version,
    note_off,
    note_on,
    pitch_bend,
    program_change,
    render_midi,
    smf_bytes,
    tempo_event,
    time_signature_event,
)

try:
    from remaster.analysis.loudness import integrated_loudness
except ImportError:  # run from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from remaster.analysis.loudness import integrated_loudness

SAMPLE_RATE = 48_000
TARGET_LUFS = -20.0
PEAK_CEILING_DB = -1.0
HF_CUTOFF_HZ = 16_000.0
MEANINGFUL_HF_DB = -60.0
DEFAULT_MIN_HF_DB = -70.0
TPB = 480  # MIDI ticks per beat
MAX_SECONDS = 12.0  # longer clips (long reverb or ringing tails) are cut, with a fade
TAIL_S = 2.0  # silence after the last note, so releases and reverb are rendered
DRUM_CHANNEL = 9

# --------------------------------------------------------------------------------------------------------
# Standard MIDI File (the writer and FluidSynth tools are in midi.py)
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Note:
    start: float  # beats
    dur: float  # beats
    pitch: int
    vel: int
    chan: int


@dataclass
class Song:
    tempo: int
    beats_per_bar: int
    total_beats: float
    programs: dict[int, int] = field(default_factory=dict)  # channel -> program (0-based wire value)
    controls: list[tuple[int, int, int]] = field(default_factory=list)  # (channel, controller, value)
    notes: list[Note] = field(default_factory=list)
    bends: list[tuple[float, int, int]] = field(default_factory=list)  # (beat, channel, -8192..8191)


def midi_bytes(song: Song) -> bytes:
    """A format-0 Standard MIDI File: tempo, metre, programs, controllers, notes and pitch bends."""
    events: list[tuple[int, int, bytes]] = []  # (tick, order at equal ticks, message)
    events.append((0, 0, tempo_event(song.tempo)))
    events.append((0, 0, time_signature_event(song.beats_per_bar)))
    for chan, program in sorted(song.programs.items()):
        events.append((0, 1, program_change(chan, program)))
    for chan, ctrl, value in song.controls:
        events.append((0, 2, control_change(chan, ctrl, value)))
    for beat, chan, value in song.bends:
        events.append((max(0, round(beat * TPB)), 3, pitch_bend(chan, value)))
    # A note ends no later than the next note on the same key and channel starts, so a ringing note's
    # note-off never cuts the re-struck one short.
    notes = sorted(song.notes, key=lambda n: (n.chan, n.pitch, n.start))
    for k, n in enumerate(notes):
        on = max(0, round(n.start * TPB))
        off = max(on + 1, round((n.start + n.dur) * TPB))
        if k + 1 < len(notes) and (notes[k + 1].chan, notes[k + 1].pitch) == (n.chan, n.pitch):
            off = max(on + 1, min(off, round(notes[k + 1].start * TPB)))
        events.append((off, 4, note_off(n.chan, n.pitch)))
        events.append((on, 5, note_on(n.chan, n.pitch, n.vel)))
    end = round((song.total_beats + TAIL_S * song.tempo / 60) * TPB)
    return smf_bytes(events, end, TPB)


# --------------------------------------------------------------------------------------------------------
# Composition
# --------------------------------------------------------------------------------------------------------

MODES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "pyeongjo": (0, 2, 5, 7, 9),  # sol-la-do-re-mi
    "gyemyeonjo": (0, 3, 5, 7, 10),  # la-do-re-mi-sol
}
KOREAN_MODES = ("pyeongjo", "gyemyeonjo")
PROGRESSIONS_7 = ((0, 3, 4, 0), (0, 5, 3, 4), (0, 4, 5, 3), (5, 3, 0, 4), (0, 1, 4, 0), (0, 3, 0, 4))
PROGRESSIONS_5 = ((0, 3, 1, 0), (0, 2, 0, 3), (4, 3, 0, 0), (0, 1, 3, 2))


@dataclass(frozen=True)
class Inst:
    key: str  # file-name token
    program: int  # GM program as sent on the wire (0-based); drum kits use the kit number
    lo: int  # lowest MIDI note used
    hi: int  # highest MIDI note used
    kind: str  # pluck, bow, wind, keys, drums


GUITAR = Inst("guitar", 24, 47, 86, "pluck")  # Acoustic Guitar (nylon), GM 25
STEEL = Inst("steel-guitar", 25, 40, 84, "pluck")  # Acoustic Guitar (steel), GM 26
HARP = Inst("harp", 46, 50, 100, "pluck")  # Orchestral Harp, GM 47
SHAMISEN = Inst("shamisen", 106, 52, 86, "pluck")  # GM 107
KOTO = Inst("koto", 107, 50, 91, "pluck")  # GM 108
VIOLIN = Inst("violin", 40, 55, 100, "bow")  # GM 41
CELLO = Inst("cello", 42, 36, 76, "bow")  # GM 43
STRINGS = Inst("strings", 48, 38, 96, "bow")  # String Ensemble 1, GM 49
FLUTE = Inst("flute", 73, 60, 96, "wind")  # GM 74
PICCOLO = Inst("piccolo", 72, 74, 108, "wind")  # GM 73
SHAKUHACHI = Inst("shakuhachi", 77, 55, 88, "wind")  # GM 78
PIANO = Inst("grand", 0, 28, 103, "keys")  # Acoustic Grand Piano, GM 1
BRIGHT_PIANO = Inst("bright", 1, 28, 103, "keys")  # Bright Acoustic Piano, GM 2
KITS = {"standard": 0, "room": 8, "power": 16, "jazz": 32, "brush": 40}


def kit(name: str) -> Inst:
    return Inst(name, KITS[name], 35, 81, "drums")


# Recipes per family: (instrument token, ((instrument, role), ...)). Candidates cycle through each list.
FAMILIES: dict[str, list[tuple[str, tuple[tuple[Inst, str], ...]]]] = {
    "plucked": [
        ("guitar", ((GUITAR, "arp"), (GUITAR, "melody"))),
        ("harp", ((HARP, "arp"), (HARP, "melody"))),
        ("koto", ((KOTO, "melody"), (KOTO, "sparse"))),
        ("shamisen", ((SHAMISEN, "melody"),)),
        ("steel-guitar", ((STEEL, "chords"), (STEEL, "melody"))),
    ],
    "bowed": [
        ("violin", ((VIOLIN, "melody"),)),
        ("cello", ((CELLO, "melody"),)),
        ("strings-violin", ((STRINGS, "chords"), (VIOLIN, "melody"))),
    ],
    "winds": [
        ("flute", ((FLUTE, "melody"),)),
        ("piccolo", ((PICCOLO, "melody"),)),
        ("shakuhachi", ((SHAKUHACHI, "melody"),)),
    ],
    "piano": [
        ("grand", ((PIANO, "melody"), (PIANO, "arp"), (PIANO, "bass"))),
        ("bright", ((BRIGHT_PIANO, "melody"), (BRIGHT_PIANO, "chords"), (BRIGHT_PIANO, "bass"))),
    ],
    "percussion": [(name, ((kit(name), "drums"),)) for name in ("standard", "room", "jazz", "power", "brush")],
    "mix": [
        ("strings-flute-drums", ((STRINGS, "chords"), (FLUTE, "melody"), (kit("standard"), "drums"))),
        ("piano-violin", ((PIANO, "arp"), (PIANO, "bass"), (VIOLIN, "melody"))),
        ("koto-shakuhachi-drums", ((KOTO, "arp"), (SHAKUHACHI, "melody"), (kit("room"), "drums"))),
        ("harp-cello-piccolo", ((HARP, "arp"), (CELLO, "bass"), (PICCOLO, "melody"))),
        ("guitar-flute-drums", ((GUITAR, "chords"), (FLUTE, "melody"), (kit("jazz"), "drums"))),
    ],
}
REGISTER_ROTATION = (0.5, 0.9, 0.15, 0.75, 0.35)  # where the melody window sits in the range, per n


@dataclass(frozen=True)
class ClipSpec:
    family: str
    instrument: str
    n: int
    parts: tuple[tuple[Inst, str], ...]

    @property
    def name(self) -> str:
        return f"{self.family}_{self.instrument}_{self.n}"


def candidates():
    """Endless round-robin over the families; within a family, over its recipes."""
    r = 0
    while True:
        for family, recipes in FAMILIES.items():
            instrument, parts = recipes[r % len(recipes)]
            yield ClipSpec(family, instrument, r // len(recipes) + 1, parts)
        r += 1


def scale_pitches(tonic: int, mode: str, lo: int, hi: int) -> list[int]:
    steps = MODES[mode]
    return [p for p in range(lo, hi + 1) if (p - tonic) % 12 in steps]


def chord_classes(tonic: int, mode: str, degree: int) -> list[int]:
    """Pitch classes of the chord on a scale degree, stacking every other scale step."""
    steps = MODES[mode]
    return [(tonic + steps[(degree + 2 * k) % len(steps)]) % 12 for k in range(3)]


def voice(classes: list[int], lo: int, hi: int, center: int) -> list[int]:
    """Each pitch class in the octave nearest `center`, kept inside [lo, hi]."""
    out = []
    for pc in classes:
        p = center + ((pc - center) % 12)
        if p - center > 6:
            p -= 12
        while p < lo:
            p += 12
        while p > hi:
            p -= 12
        out.append(p)
    return sorted(set(out))


class Composer:
    """Writes the notes of one clip from its spec and an RNG."""

    def __init__(self, spec: ClipSpec, rng: np.random.Generator):
        self.spec, self.rng = spec, rng
        korean = any(inst in (KOTO, SHAKUHACHI, SHAMISEN) for inst, _ in spec.parts)
        self.mode = str(rng.choice(KOREAN_MODES if korean else tuple(MODES)))
        self.tonic = int(rng.integers(0, 12))
        self.tempo = int(rng.integers(70, 131))
        has_drums = any(role == "drums" for _, role in spec.parts)
        self.bpb = 3 if (not has_drums and rng.random() < 0.3) else 4
        seconds = rng.uniform(8.0, 10.0)
        self.bars = max(2, round(seconds * self.tempo / 60 / self.bpb))
        self.beats = self.bars * self.bpb
        progressions = PROGRESSIONS_7 if len(MODES[self.mode]) == 7 else PROGRESSIONS_5
        prog = progressions[int(rng.integers(0, len(progressions)))]
        self.harmony_len = self.bpb if rng.random() < 0.7 else 2 * self.bpb  # beats per chord
        self.degrees = [prog[i % len(prog)] for i in range(math.ceil(self.beats / self.harmony_len))]
        self.song = Song(self.tempo, self.bpb, self.beats)
        self.pos = REGISTER_ROTATION[(spec.n - 1) % len(REGISTER_ROTATION)]
        self.phase = float(rng.uniform(0, 2 * math.pi))  # of the velocity contour
        self.drum_style = ""

    # -- helpers ------------------------------------------------------------------------------------------

    def chord_at(self, beat: float) -> list[int]:
        i = min(int(beat // self.harmony_len), len(self.degrees) - 1)
        return chord_classes(self.tonic, self.mode, self.degrees[i])

    def velocity(self, beat: float, base: float, spread: float = 14.0) -> int:
        contour = spread * math.sin(2 * math.pi * beat / (2 * self.bpb * 2) + self.phase)
        accent = 8 if beat % self.bpb == 0 else (4 if beat % 1 == 0 else 0)
        return int(np.clip(base + contour + accent + self.rng.normal(0, 5), 22, 127))

    def window(self, inst: Inst, role: str, shared: bool) -> tuple[int, int]:
        lo, hi = inst.lo, inst.hi
        if role == "bass":
            return lo, min(hi, lo + 19)
        if role in ("arp", "chords", "sparse"):
            top = (lo + hi) // 2 + 4 if shared else hi
            return lo + (5 if inst.kind != "pluck" else 0), max(lo + 14, top)
        width = min(hi - lo, 21 if inst.kind != "keys" else 24)
        low = lo + (0 if not shared else (hi - lo) // 3)
        start = low + round(self.pos * max(0, hi - low - width))
        return start, start + width

    # -- parts --------------------------------------------------------------------------------------------

    def melody(self, inst: Inst, chan: int, lo: int, hi: int) -> None:
        rng, pitches = self.rng, scale_pitches(self.tonic, self.mode, lo, hi)
        idx = len(pitches) // 2
        base = float(rng.uniform(75, 110) if inst.kind == "pluck" else rng.uniform(62, 100))
        legato = {"bow": 0.97, "wind": 0.92, "keys": 0.9, "pluck": 1.3}[inst.kind]
        sixteenths_ok = self.tempo < 115
        t = 0.0
        while t < self.beats - 1e-6:
            gesture = rng.choice(["step", "leap", "run", "arp", "hold", "rest"],
                                 p=[0.34, 0.14, 0.16, 0.14, 0.16, 0.06])
            if t == 0 and gesture == "rest":
                gesture = "step"
            seq: list[tuple[int, float]] = []  # (scale index, beats)
            if gesture == "step":
                for _ in range(int(rng.integers(2, 5))):
                    idx += int(rng.choice([-1, 1, -1, 1, 0, 2, -2]))
                    seq.append((idx, float(rng.choice([0.5, 0.5, 1.0, 1.0, 1.5, 0.75]))))
            elif gesture == "leap":
                idx += int(rng.choice([-4, -3, 3, 4, 5, -5]))
                seq.append((idx, float(rng.choice([1.0, 1.5, 2.0]))))
            elif gesture == "run":
                d = 0.25 if sixteenths_ok and rng.random() < 0.5 else 0.5
                direction = int(rng.choice([-1, 1]))
                for _ in range(int(rng.integers(4, 9))):
                    idx += direction
                    seq.append((idx, d))
            elif gesture == "arp":
                d = float(rng.choice([0.5, 1 / 3, 0.25 if sixteenths_ok else 0.5]))
                direction = int(rng.choice([-1, 1]))
                step = 2 if len(MODES[self.mode]) == 7 else int(rng.choice([1, 2]))
                for _ in range(int(rng.integers(3, 7))):
                    idx += direction * step
                    seq.append((idx, d))
            elif gesture == "hold":
                seq.append((idx, float(rng.choice([1.5, 2.0, 3.0]))))
            else:
                t += float(rng.choice([0.5, 1.0]))
                continue
            for i, dur in seq:
                if t >= self.beats - 1e-6:
                    break
                # bounce off the edges of the window
                if i < 0 or i >= len(pitches):
                    i = int(np.clip(-i if i < 0 else 2 * (len(pitches) - 1) - i, 0, len(pitches) - 1))
                idx = i
                pitch = pitches[idx]
                if t % self.bpb == 0 and pitch % 12 not in self.chord_at(t):
                    near = [k for k in range(len(pitches)) if pitches[k] % 12 in self.chord_at(t)]
                    if near:
                        idx = min(near, key=lambda k: abs(k - idx))
                        pitch = pitches[idx]
                dur = min(dur, self.beats - t)
                vel = self.velocity(t, base)
                if inst.kind in ("pluck", "wind", "bow") and dur >= 1.0 and rng.random() < 0.3 and t > 0:
                    grace = pitches[min(idx + 1, len(pitches) - 1)]
                    self.song.notes.append(Note(t, 0.12, grace, max(20, vel - 10), chan))
                    self.song.notes.append(Note(t + 0.12, dur * legato - 0.12, pitch, vel, chan))
                else:
                    self.song.notes.append(Note(t, dur * legato, pitch, vel, chan))
                if inst.kind in ("bow", "wind") or inst in (KOTO, SHAMISEN):
                    self.vibrato(chan, t, dur, inst)
                t += dur

    def vibrato(self, chan: int, start: float, dur: float, inst: Inst) -> None:
        """Pitch-bend vibrato (or, on koto and shamisen, a slow bend after the attack) on long notes."""
        if dur < 1.0:
            return
        rng = self.rng
        seconds_per_beat = 60 / self.tempo
        if inst.kind == "pluck":
            depth, rate, delay = rng.uniform(600, 1400), rng.uniform(2.5, 4.0), 0.4 * dur
        else:
            depth, rate, delay = rng.uniform(200, 500), rng.uniform(4.5, 6.5), min(0.5, 0.3 * dur)
        t = start + delay
        while t < start + dur - 0.05:
            phase = 2 * math.pi * rate * (t - start - delay) * seconds_per_beat
            ramp = min(1.0, (t - start - delay) / 0.5)
            self.song.bends.append((t, chan, int(depth * ramp * math.sin(phase))))
            t += 1 / 24
        self.song.bends.append((start + dur, chan, 0))

    def chords(self, inst: Inst, chan: int, lo: int, hi: int, strum: bool) -> None:
        rng, base = self.rng, float(self.rng.uniform(50, 85))
        center = (lo + hi) // 2
        for k, degree in enumerate(self.degrees):
            t = k * self.harmony_len
            length = min(self.harmony_len, self.beats - t)
            tones = voice(chord_classes(self.tonic, self.mode, degree), lo, hi, center)
            if hi - lo >= 12 and rng.random() < 0.6:
                tones = sorted({*tones, *(p + 12 for p in tones if p + 12 <= hi)})
            hits = [0.0] if not strum else [0.0, float(self.bpb // 2 + (self.bpb % 2))]
            for h in hits:
                if h >= length:
                    continue
                vel = self.velocity(t + h, base, 8)
                for j, p in enumerate(tones):
                    offset = j * 0.03 if strum else float(rng.uniform(0, 0.02))
                    self.song.notes.append(Note(t + h + offset, (length - h) * 0.98 - offset, p, vel, chan))

    def arpeggio(self, inst: Inst, chan: int, lo: int, hi: int, sparse: bool) -> None:
        rng = self.rng
        base = float(rng.uniform(65, 100) if inst.kind == "pluck" else rng.uniform(45, 80))
        d = 1.0 if sparse else float(rng.choice([0.5, 0.5, 1 / 3, 0.25 if self.tempo < 100 else 0.5]))
        shape = rng.choice(["up", "updown", "alberti", "sweep"])
        ring = 2.5 if inst.kind in ("pluck", "keys") else 0.95
        for k, degree in enumerate(self.degrees):
            t0 = k * self.harmony_len
            pcs = chord_classes(self.tonic, self.mode, degree)
            tones = [p for p in range(lo, hi + 1) if p % 12 in pcs][:7]
            if len(tones) < 3:
                continue
            if shape == "updown":
                order = tones[:4] + tones[4:0:-1] if len(tones) > 4 else tones + tones[-2:0:-1]
            elif shape == "alberti":
                order = [tones[0], tones[2], tones[1], tones[2]]
            elif shape == "sweep":
                order = tones + tones[::-1][1:]
            else:
                order = tones
            t, i = t0, 0
            while t < min(t0 + self.harmony_len, self.beats) - 1e-6:
                if not (sparse and rng.random() < 0.35):
                    p = order[i % len(order)]
                    vel = self.velocity(t, base, 10)
                    self.song.notes.append(Note(t, min(d * ring, self.beats - t + 0.5), p, vel, chan))
                t += d
                i += 1

    def bass(self, inst: Inst, chan: int, lo: int, hi: int) -> None:
        base = float(self.rng.uniform(60, 90))
        for k, degree in enumerate(self.degrees):
            t = k * self.harmony_len
            pcs = chord_classes(self.tonic, self.mode, degree)
            root = voice(pcs[:1], lo, hi, lo + 7)[0]
            fifth = voice(pcs[2:3], lo, hi, root + 7)[0]
            pattern = [(0.0, root), (self.bpb / 2 if self.bpb == 4 else 2.0, fifth)]
            if self.harmony_len > self.bpb:
                pattern += [(self.bpb, root + 12 if root + 12 <= hi else root), (self.bpb * 1.5, fifth)]
            for j, (off, p) in enumerate(pattern):
                end = pattern[j + 1][0] if j + 1 < len(pattern) else self.harmony_len
                if t + off < self.beats:
                    dur = min(end - off, self.beats - t - off) * 0.95
                    self.song.notes.append(Note(t + off, dur, p, self.velocity(t + off, base, 6), chan))

    def drums(self, chan: int, light: bool) -> None:
        rng = self.rng
        style = str(rng.choice(["rock", "sixteenths", "ride", "latin", "half"]))
        self.drum_style = style
        base = float(rng.uniform(70, 105)) - (12 if light else 0)
        hat = 42
        add = self.song.notes.append

        def hit(t: float, pitch: int, vel: float, dur: float = 0.25) -> None:
            if t < self.beats:
                add(Note(t + float(rng.normal(0, 0.006)) if t > 0 else 0.0, dur, pitch,
                         int(np.clip(vel + rng.normal(0, 6), 20, 127)), chan))

        for bar in range(self.bars):
            b0 = bar * self.bpb
            phrase_start = bar % 4 == 0
            fill = bar % 4 == 3 or bar == self.bars - 1
            if phrase_start:
                hit(b0, int(rng.choice([49, 57, 55])), base + 20, 2.0)
            # time keeping
            if style in ("rock", "half"):
                for k in range(self.bpb * 2):
                    hit(b0 + k / 2, hat if rng.random() > 0.08 else 46, base - 8 + (10 if k % 2 == 0 else 0))
            elif style == "sixteenths":
                for k in range(self.bpb * 4):
                    hit(b0 + k / 4, hat, base - 18 + (18 if k % 4 == 0 else 8 if k % 2 == 0 else 0), 0.2)
                if rng.random() < 0.5:
                    hit(b0 + self.bpb - 0.5, 46, base)
            elif style == "ride":
                for k in range(self.bpb):
                    hit(b0 + k, 51, base - 5)
                    if k % 2 == 1:
                        hit(b0 + k + 2 / 3, 51, base - 15)
                hit(b0 + 1, 44, base - 20)
                hit(b0 + 3, 44, base - 20)
                if rng.random() < 0.3:
                    hit(b0 + 2, 53, base)
            else:  # latin
                for k in range(self.bpb * 4):
                    hit(b0 + k / 4, int(rng.choice([69, 70])), base - 20 + (10 if k % 4 == 0 else 0), 0.2)
                for off in (0.0, 1.5, 3.0) if self.bpb == 4 else (0.0, 1.5):
                    hit(b0 + off, 75, base - 5)
                hit(b0 + 1, 56, base - 10)
            # kick and snare
            if style == "half":
                hit(b0, 36, base + 10)
                hit(b0 + 2, 38, base + 12)
            else:
                for off in (0.0, 2.0) if self.bpb == 4 else (0.0,):
                    hit(b0 + off, 36, base + 10)
                if rng.random() < 0.5:
                    hit(b0 + 2.5 if self.bpb == 4 else b0 + 1.5, 36, base)
                for off in (1.0, 3.0) if self.bpb == 4 else (1.0, 2.0):
                    hit(b0 + off, 38 if style != "ride" else 37, base + 8)
                if style == "sixteenths":
                    for off in (1.75, 2.25):
                        hit(b0 + off, 38, base - 35)
            if not light and rng.random() < 0.4:
                hit(b0 + float(rng.choice([0.5, 1.5])), int(rng.choice([54, 81, 39])), base - 10)
            if fill and not light:
                toms = [50, 48, 47, 45, 43, 41]
                start = self.bpb - 1
                for k in range(4):
                    hit(b0 + start + k / 4, toms[min(k + int(rng.integers(0, 2)), len(toms) - 1)], base + 2 * k)
        hit(self.beats, int(rng.choice([49, 57])), base + 22, 2.0)
        hit(self.beats, 36, base + 15)

    # -- all ----------------------------------------------------------------------------------------------

    def compose(self) -> Song:
        rng = self.rng
        chan = 0
        insts = [inst for inst, _ in self.spec.parts]
        n_parts = len(self.spec.parts)
        pans = [64] if n_parts == 1 else list(np.linspace(40, 88, n_parts).round().astype(int))
        for k, (inst, role) in enumerate(self.spec.parts):
            shared = insts.count(inst) > 1
            if role == "drums":
                c = DRUM_CHANNEL
                self.song.programs[c] = inst.program
                self.drums(c, light=n_parts > 1)
            else:
                c = chan
                chan += 1
                self.song.programs[c] = inst.program
                lo, hi = self.window(inst, role, shared)
                if role == "melody":
                    self.melody(inst, c, lo, hi)
                elif role == "chords":
                    self.chords(inst, c, lo, hi, strum=inst.kind == "pluck")
                elif role == "bass":
                    self.bass(inst, c, lo, hi)
                else:
                    self.arpeggio(inst, c, lo, hi, sparse=role == "sparse")
            self.song.controls += [(c, 7, 100), (c, 10, int(pans[k])), (c, 91, int(rng.integers(20, 70))),
                                   (c, 93, int(rng.integers(0, 30)))]
        return self.song


def compose(spec: ClipSpec, seed: int) -> tuple[Song, str]:
    """The song for a clip and a one-line description; the RNG is keyed by the seed and the clip's name."""
    rng = np.random.default_rng([seed, zlib.crc32(spec.name.encode())])
    composer = Composer(spec, rng)
    song = composer.compose()
    key = "C C# D Eb E F F# G Ab A Bb B".split()[composer.tonic]
    metre = f"{composer.tempo} BPM {composer.bpb}/4, {composer.bars} bars"
    drums = f"{composer.drum_style} drums" if composer.drum_style else ""
    if all(role == "drums" for _, role in spec.parts):
        return song, f"{drums}, {metre}"
    return song, ", ".join(x for x in (f"{key} {composer.mode}", metre, drums) if x)


# --------------------------------------------------------------------------------------------------------
# Rendering, clean-up and measurement
# --------------------------------------------------------------------------------------------------------


def cap_length(audio: np.ndarray, max_s: float = MAX_SECONDS, fade_s: float = 0.3) -> np.ndarray:
    """Cut a clip that rings on past `max_s`, with a half-cosine fade-out."""
    limit = round(max_s * SAMPLE_RATE)
    if audio.shape[1] <= limit:
        return audio
    out = audio[:, :limit].copy()
    fade = round(fade_s * SAMPLE_RATE)
    out[:, -fade:] *= (0.5 + 0.5 * np.cos(np.linspace(0, np.pi, fade))).astype(np.float32)
    return out


def trim(audio: np.ndarray, threshold_db: float = -60.0, pre_s: float = 0.02, post_s: float = 0.25) -> np.ndarray:
    """Cut leading and trailing silence below `threshold_db` re the peak; half-cosine fades on the margins."""
    level = np.abs(audio).max(axis=0)
    peak = float(level.max()) if level.size else 0.0
    if peak <= 0:
        return audio[:, :0]
    above = np.flatnonzero(level > peak * 10 ** (threshold_db / 20))
    pre, post = round(pre_s * SAMPLE_RATE), round(post_s * SAMPLE_RATE)
    start, stop = max(0, above[0] - pre), min(audio.shape[1], above[-1] + 1 + post)
    out = audio[:, start:stop].copy()
    fade_in = above[0] - start
    if fade_in > 1:
        out[:, :fade_in] *= (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, fade_in))).astype(np.float32)
    fade_out = stop - (above[-1] + 1)
    if fade_out > 1:
        out[:, -fade_out:] *= (0.5 + 0.5 * np.cos(np.linspace(0, np.pi, fade_out))).astype(np.float32)
    return out


def normalise(audio: np.ndarray) -> np.ndarray:
    """Gain to TARGET_LUFS, lowered where needed to keep the sample peak at or below PEAK_CEILING_DB."""
    lufs = integrated_loudness(audio, SAMPLE_RATE)
    peak = float(np.abs(audio).max())
    gain_db = TARGET_LUFS - lufs
    gain_db = min(gain_db, PEAK_CEILING_DB - 20 * math.log10(peak))
    return (audio * 10 ** (gain_db / 20)).astype(np.float32)


def _db(x: float) -> float:
    return 10 * math.log10(x) if x > 0 else -math.inf


def band_stats(audio: np.ndarray) -> dict[str, float]:
    """Loudness, peak and where the energy lies in frequency, from the whole-clip power spectrum."""
    power = np.zeros(audio.shape[1] // 2 + 1)
    for ch in audio:
        power += np.abs(np.fft.rfft(ch.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(audio.shape[1], 1 / SAMPLE_RATE)
    total = float(power.sum())
    cum = np.cumsum(power) / total
    return {
        "seconds": audio.shape[1] / SAMPLE_RATE,
        "lufs": integrated_loudness(audio, SAMPLE_RATE),
        "peak_db": 20 * math.log10(float(np.abs(audio).max())),
        "hf16_db": _db(float(power[freqs >= HF_CUTOFF_HZ].sum()) / total),
        "hf20_db": _db(float(power[freqs >= 20_000].sum()) / total),
        "f995_hz": float(freqs[min(np.searchsorted(cum, 0.995), len(freqs) - 1)]),
        "f60db_hz": float(freqs[min(np.searchsorted(cum, 1 - 1e-6), len(freqs) - 1)]),
    }


@dataclass
class Result:
    spec: ClipSpec
    path: Path
    status: str  # new, existing, dropped, silent, failed
    stats: dict[str, float] | None = None
    note: str = ""


def make_clip(spec: ClipSpec, seed: int, out_dir: Path, exe: str, soundfont: Path, workdir: Path,
              min_hf_db: float) -> Result:
    path = out_dir / f"{spec.name}.wav"
    if path.exists():
        audio, _ = sf.read(path, dtype="float32", always_2d=True)
        stats = band_stats(np.ascontiguousarray(audio.T))
        status = "existing" if stats["hf16_db"] >= min_hf_db else "dropped"
        return Result(spec, path, status, stats, "already there")
    song, desc = compose(spec, seed)
    try:
        audio = render_midi(exe, soundfont, midi_bytes(song), workdir, spec.name, SAMPLE_RATE)
    except RuntimeError as exc:
        return Result(spec, path, "failed", None, str(exc))
    audio = cap_length(trim(audio))
    if audio.shape[1] < 2 * SAMPLE_RATE or float(np.abs(audio).max()) < 1e-4:
        return Result(spec, path, "silent", None, desc)
    audio = normalise(audio)
    stats = band_stats(audio)
    if stats["hf16_db"] < min_hf_db:
        return Result(spec, path, "dropped", stats, desc)
    tmp = path.with_name(f".{path.stem}.partial.wav")
    sf.write(tmp, audio.T, SAMPLE_RATE, subtype="FLOAT")
    os.replace(tmp, path)
    return Result(spec, path, "new", stats, desc)


def print_table(results: list[Result], log=print) -> None:
    head = (f"{'clip':36s} {'status':8s} {'sec':>5s} {'LUFS':>6s} {'peak':>6s} {'>16k dB':>8s} {'>20k dB':>8s} "
            f"{'f99.5%':>7s} {'f-60dB':>7s}  HF>16k  music")
    log(head)
    log("-" * len(head))
    for r in results:
        s = r.stats
        if s is None:
            log(f"{r.spec.name:36s} {r.status:8s} {r.note}")
            continue
        meaningful = "yes" if s["hf16_db"] > MEANINGFUL_HF_DB else "no"
        log(f"{r.spec.name:36s} {r.status:8s} {s['seconds']:5.1f} {s['lufs']:6.1f} {s['peak_db']:6.1f} "
            f"{s['hf16_db']:8.1f} {s['hf20_db']:8.1f} {s['f995_hz'] / 1000:6.1f}k {s['f60db_hz'] / 1000:6.1f}k  "
            f"{meaningful:6s}  {r.note}")


def prepare(out_dir: Path, seed: int = 0, count: int = 24, *, min_hf_db: float = DEFAULT_MIN_HF_DB,
            verbose: bool = True) -> list[Path]:
    """Make (or reuse) `count` clips in `out_dir` and return their paths, in candidate order.

    Candidates are rendered round-robin over the families until `count` pass the `min_hf_db` filter or
    2 * `count` candidates have been tried. Existing files are measured, not rendered again.
    """
    log = print if verbose else (lambda *a, **k: None)
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    exe, soundfont = ensure_tools(log)
    log(f"fluidsynth {fluidsynth_version(exe)} ({exe}), soundfont {soundfont}")
    results: list[Result] = []
    gen = candidates()
    tried, kept = 0, 0
    workers = max(1, min(8, os.cpu_count() or 1))
    with tempfile.TemporaryDirectory(prefix="superres-midi-") as tmp, ThreadPoolExecutor(workers) as pool:
        while kept < count and tried < 2 * count:
            batch = [next(gen) for _ in range(min(count - kept, 2 * count - tried))]
            tried += len(batch)
            futures = [pool.submit(make_clip, spec, seed, out_dir, exe, soundfont, Path(tmp), min_hf_db)
                       for spec in batch]
            for fut in futures:
                r = fut.result()
                results.append(r)
                kept += r.status in ("new", "existing")
    elapsed = time.perf_counter() - started
    print_table(results, log)
    good = [r for r in results if r.status in ("new", "existing")]
    by_status = {s: sum(r.status == s for r in results) for s in ("new", "existing", "dropped", "silent", "failed")}
    meaningful = sum(r.stats["hf16_db"] > MEANINGFUL_HF_DB for r in good if r.stats)
    families = {}
    for r in good:
        families[r.spec.family] = families.get(r.spec.family, 0) + 1
    log("")
    log(f"{len(good)} clips in {out_dir} ({by_status['new']} new, {by_status['existing']} already there); "
        f"{by_status['dropped']} dropped for energy above 16 kHz below {min_hf_db:g} dB, "
        f"{by_status['silent']} silent, {by_status['failed']} failed; {tried} candidates, seed {seed}")
    log(f"{meaningful} of {len(good)} kept clips have meaningful content above 16 kHz (> {MEANINGFUL_HF_DB:g} dB "
        f"re total); per family: " + ", ".join(f"{k} {v}" for k, v in families.items()))
    log(f"took {elapsed:.1f} s")
    if meaningful < min(15, count):
        log(f"warning: only {meaningful} clips have meaningful content above 16 kHz")
    if by_status["failed"]:
        raise RuntimeError("some clips failed to render: " + "; ".join(r.note for r in results if r.status == "failed"))
    return [r.path for r in good]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path, help="folder for the WAV clips (created if missing)")
    parser.add_argument("--seed", type=int, default=0, help="composition seed (default 0)")
    parser.add_argument("--count", type=int, default=24, help="number of clips to keep (default 24)")
    parser.add_argument("--min-hf-db", type=float, default=DEFAULT_MIN_HF_DB,
                        help="drop clips whose energy above 16 kHz, relative to the total, is below this "
                             f"(default {DEFAULT_MIN_HF_DB:g} dB)")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    prepare(args.out_dir, args.seed, args.count, min_hf_db=args.min_hf_db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
