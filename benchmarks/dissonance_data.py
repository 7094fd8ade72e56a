"""Monophonic melodies with known sour notes, for the dissonance-check benchmark (bench_dissonance.py).

    .venv/bin/python benchmarks/dissonance_data.py OUT_DIR [--seed 0] [--workers 2]

or from another script: `from dissonance_data import prepare; paths = prepare(Path("set"))`.

Every melody is rendered with FluidSynth and the FluidR3 General MIDI soundfont (Debian's `fluidsynth` and
`fluid-soundfont-gm`, installed with apt-get when missing; see midi.py) in several variants, each a WAV file
(44.1 kHz, mono, 16-bit, peak at -1 dBFS) with its truth beside it: `x.wav` and `x.truth.json`.

Melodies (20):

- 12 western melodies from the music21 corpus, which ships inside the music21 wheel (nothing is
  downloaded): the soprano lines (part 0) of six Bach chorales and six folk songs of the Essen collection.
  Ties are merged, rests are kept as gaps, a fermata holds its note one beat longer, and the melody is cut
  at a phrase end (a fermata, a rest, a note of 1.5 beats or more) between 10 and 14 s, at a tempo set so
  that the median note lasts about 0.6 s (clamped to 70-120 BPM). A melody is kept only when its pitch
  classes all belong to ONE major, natural minor, harmonic minor or melodic minor scale and it uses at
  least six of them: the check works from pitch alone, and by pitch alone a legitimate chromatic note
  (a modulation, a leading tone borrowed for a cadence) cannot be told from an out-of-key mistake, so
  such melodies would make a finding's truth ambiguous. The key recorded is the fitting scale named by
  music21's analysis of the whole piece when it fits, else the fitting scale whose Krumhansl-Kessler
  profile best matches the excerpt's duration-weighted pitch classes.
- 8 gugak melodies written below as data: four in 평조 pyeongjo (sol-la-do-re-mi, pitch classes
  {0, 2, 5, 7, 9} above the mode's tonic sol) and four in 계면조 gyemyeonjo (la-do-re-mi-sol,
  {0, 3, 5, 7, 10} above la), on E-flat, F, A-flat and B-flat, at 60-72 BPM with notes of 0.4-1.5 s:
  mostly stepwise, some leaps, long held notes, phrases of 11-13.5 s.

Timbres: the western melodies rotate over flute (GM program 73, 0-based as on the wire), violin (40),
clarinet (71), oboe (68), acoustic grand piano (0) and trumpet (56); the gugak melodies use flute (as a
daegeum), koto (107, as a gayageum), oboe (68, as a piri), violin (40, as a haegeum) and shakuhachi (77).
Melodies are moved by octaves into the instrument's range. Notes are legato: each note-off comes at 95 % of
the time to the written end (the next onset, or the start of a rest), so the release fills the gap and a
note ends where the next one starts. The first note starts 0.25 s into the file; only the tail is trimmed
(below -60 dB re the peak, at most 1 s after the last note), so the truth's times are the MIDI times. The
channel's pitch-wheel range is set to +-12 semitones with RPN 0 (then the null RPN); FluidSynth honours it
(checked by tracking rendered notes with CREPE: bends of +30, -50, +100, -100 and +200 cents came out
within about 5 cents of that). Reverb send 25, chorus off (`-C 0`: FluidSynth's chorus detunes).

Variants of every melody (same melody, same timbre, one file each, 8 per melody, 160 files):

- `clean`;
- `detune30`, `detune50`, `detune100`: ONE note detuned by +-30, +-50 or +-100 cents with the pitch wheel,
  set just before its note-on and reset at its written end (after its note-off, before the next note-on;
  the release keeps the detuned pitch). The note is drawn by a seeded RNG among the notes of 0.3 s or
  more that are neither the first nor the last. For +-30 and +-50 the sign is random. For +-100 the sign
  is drawn among the directions that move the note OUT of the melody's scale (see below), and only notes
  with such a direction are drawn: a 100-cent shift that lands on another scale tone is just a different,
  in-key melody, which no pitch-based check can (or should) flag. The truth records the direction
  (`cents`).
- `out_of_key`: ONE note (same rules for the draw) replaced by an equal-tempered pitch within +-3
  semitones that is out of the scale (see below); 2-3 semitone moves are preferred where one exists, so
  the variant differs from `detune100`.
- `offset`: the whole melody tuned -40 cents (the pitch wheel held there from the start), otherwise clean;
- `ornamented`: the clean melody with gugak-style ornaments drawn as pitch-bend streams (a point every
  10 ms): a wide vibrato (+-100 cents, 5-6 Hz) on notes of 0.4 s or more, starting 0.10-0.15 s into the
  note and ramped in over 0.15 s, and on about a third of the notes a slide up a whole tone (from -200
  cents to 0 over 80-150 ms) into the note. The vibrato is centred on the note, so no note's centre moves.
- `ornamented_offset`: both, the ornaments around the -40 cent reference.

"Out of the scale" means two things. First, the pitch class lies outside every major, natural, harmonic or
melodic minor scale (for gugak: outside the pentatonic mode) that holds all of the clean melody's pitch
classes, and, in a minor key, outside all three forms of the minor (a raised or lowered 6th or 7th is no
mistake); the truth keeps the allowed set as `key.in_key_pcs`. Second, the mistake must be unambiguous:
every scale a check of the melody's style may consider (the four western scale types on any tonic, or the
pentatonic modes for gugak) that holds the new pitch class must leave out other notes lasting at least
twice as long as the changed note. Otherwise a one-note change could make a neighbouring key (say G major
for a C major tune with a single F) fit as well as the true one, and which note is wrong would be a guess.

Truth (`x.truth.json`):

- melody, source (`music21:bach/bwv244.62`, `music21:essenFolksong/boehme10#16` or `gugak`), title, style
  (western or gugak), variant, program, sample_rate, seed, seconds (of the file), tempo_bpm;
- key: tonic_pc, mode (major, minor, pyeongjo or gyemyeonjo), scale (major, natural/harmonic/melodic
  minor, pyeongjo, gyemyeonjo), scale_pcs, in_key_pcs (see above);
- tuning_offset_cents (-40 for the offset variants, else 0), bend_range_semitones;
- notes: start (note-on) and end (the written end: the next onset, or the start of a rest) in seconds in
  the file; midi; cents, the note's static bend, the tuning offset included; `ornament` (slide, vibrato,
  slide+vibrato or empty) in the ornamented variants; elsewhere `measured_cents`, how far the rendered
  note's spectral peak (over 30-80 % of the note) sits from midi + cents, a check on the soundfont;
- errors: start, end (the note's), index (into notes), kind (`detuned` or `out_of_key`), cents (how far the
  sounding pitch is from the expected one), expected_midi, found_midi (the sounding pitch as fractional
  MIDI, relative to the file's tuning reference).

What to expect from FluidR3 (measured on the seed-0 set with `measured_cents`): 90 % of the piano,
clarinet, oboe, trumpet and koto notes sit within 5 cents of their pitch, none beyond 11 (the koto about
2 cents flat); the flute sits about 4 cents sharp (at most 9); the shakuhachi starts each note with a slow
breathy attack and wanders up to about 11 cents; the violin samples carry their own vibrato (about +-20
cents) and some notes are 10-20 cents flat on average, so a short violin note can measure up to about
22 cents off. Every detuned note measures within about 17 cents of its intended bend. CREPE's tiny model
reads the oboe's A4 at its third harmonic (E6, +1900 cents), the full model reads it right.

Files are known by name (`<melody>_<variant>.wav`); existing files whose truth carries the same seed are
not rendered again, so re-running is cheap and gives the same set. Files are written under a temporary
name in the same folder, then renamed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from midi import (
    bend_range_messages,
    bend_value,
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
    tempo_usec,
)

SAMPLE_RATE = 44_100
TPB = 480
PREROLL_S = 0.25
TAIL_S = 1.5  # rendered after the last written end
KEEP_TAIL_S = 1.0  # at most this much is kept after it
PEAK_DB = -1.0
BEND_RANGE = 12  # semitones, set with RPN 0
LEGATO = 0.95
REVERB_SEND = 25
MIN_ERROR_NOTE_S = 0.3
AMBIGUITY_MARGIN = 2.0
OFFSET_CENTS = -40.0
BEND_STEP_S = 0.01
VARIANTS = ("clean", "detune30", "detune50", "detune100", "out_of_key", "offset", "ornamented",
            "ornamented_offset")
POSITIVE = ("detune30", "detune50", "detune100", "out_of_key")
FLUIDSYNTH_OPTIONS = ("-C", "0")

SCALES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "natural minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic minor": (0, 2, 3, 5, 7, 8, 11),
    "melodic minor": (0, 2, 3, 5, 7, 9, 11),
    "pyeongjo": (0, 2, 5, 7, 9),  # sol-la-do-re-mi above sol
    "gyemyeonjo": (0, 3, 5, 7, 10),  # la-do-re-mi-sol above la
}
MINOR_FORMS = ("natural minor", "harmonic minor", "melodic minor")
# Krumhansl-Kessler key profiles (major, minor), from the tonic up.
KK_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
KK_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)
PC_NAMES = "C C# D Eb E F F# G Ab A Bb B".split()

# GM programs (0-based) with the MIDI range used for each.
RANGES = {73: (60, 96), 40: (55, 100), 71: (50, 91), 68: (58, 91), 0: (36, 96), 56: (55, 82), 77: (55, 88),
          107: (50, 91)}
PROGRAM_NAMES = {73: "flute", 40: "violin", 71: "clarinet", 68: "oboe", 0: "piano", 56: "trumpet",
                 77: "shakuhachi", 107: "koto"}
WESTERN_PROGRAMS = (73, 40, 71, 68, 0, 56)

# (name, corpus path, work number inside an ABC collection or None)
WESTERN = (
    ("bwv244-62", "bach/bwv244.62", None),  # Wenn ich einmal soll scheiden (St Matthew Passion)
    ("bwv140-7", "bach/bwv140.7", None),  # Gloria sei dir gesungen (Wachet auf)
    ("bwv113-8", "bach/bwv113.8", None),
    ("bwv128-5", "bach/bwv128.5", None),
    ("bwv20-7", "bach/bwv20.7", None),
    ("bwv177-5", "bach/bwv177.5", None),
    ("boehme10-1", "essenFolksong/boehme10", 1),  # Deutschland, Deutschland ueber alles (Haydn)
    ("boehme10-16", "essenFolksong/boehme10", 16),  # Heil dir im Siegerkranz (God save the King)
    ("boehme10-14", "essenFolksong/boehme10", 14),  # Gaudeamus igitur
    ("zuccal0-6", "essenFolksong/zuccal0", 6),
    ("fink0-11", "essenFolksong/fink0", 11),
    ("erk10-12", "essenFolksong/erk10", 12),
)

# Gugak melodies: (name, mode, tonic pitch class, MIDI note of the tonic, tempo, program, tokens). A token
# is "step:beats" with step an index into the pentatonic mode from its tonic (5 = the tonic an octave up,
# -1 = the tone below it) or "r:beats" for a rest.
GUGAK = (
    ("pyeongjo-eb", "pyeongjo", 3, 63, 62, 73,
     "0:1.5 1:0.5 2:1 3:1 2:0.5 1:0.5 0:1.5 r:0.5 3:1 4:0.5 5:1.5 4:0.5 3:1 2:1 0:1.5"),
    ("pyeongjo-f", "pyeongjo", 5, 65, 70, 107,
     "2:1 2:0.5 3:0.5 4:1 3:1 2:0.5 1:0.5 2:1 r:0.5 0:0.5 1:0.5 2:1 4:1 5:1.5 3:0.5 2:1 1:0.5 0:1.5"),
    ("pyeongjo-ab", "pyeongjo", 8, 68, 66, 68,
     "0:1 -1:0.5 0:0.5 2:1.5 1:0.5 0:1 r:0.5 3:1 2:0.5 3:0.5 4:1.5 3:0.5 2:0.5 1:0.5 0:1.5"),
    ("pyeongjo-bb", "pyeongjo", 10, 70, 60, 40,
     "0:1 1:1 2:0.5 1:0.5 0:1 -1:0.5 -2:0.5 0:1.5 r:0.5 2:1 3:1 5:1 3:0.5 2:0.5 1:1 0:1.5"),
    ("gyemyeonjo-eb", "gyemyeonjo", 3, 63, 60, 77,
     "0:1.5 1:0.5 2:1 3:1 4:0.5 3:0.5 2:1.5 r:0.5 5:1 4:0.5 3:0.5 2:1 1:0.5 0:1.5"),
    ("gyemyeonjo-f", "gyemyeonjo", 5, 65, 72, 107,
     "0:0.5 0:0.5 2:1 3:1.5 2:0.5 1:0.5 0:1 -1:0.5 0:1.5 r:0.5 3:1 5:1.5 4:0.5 3:1 2:0.5 3:0.5 0:1.5"),
    ("gyemyeonjo-ab", "gyemyeonjo", 8, 68, 64, 73,
     "3:1 4:0.5 3:0.5 2:1 1:0.5 0:1.5 r:0.5 0:0.5 1:0.5 2:1 3:1.5 5:1 4:0.5 3:1 0:1.5"),
    ("gyemyeonjo-bb", "gyemyeonjo", 10, 70, 60, 68,
     "0:1 2:1 3:1.5 2:0.5 1:0.5 0:0.5 -1:1 0:1.5 r:0.5 2:0.5 3:0.5 4:1 3:1 2:0.5 1:0.5 0:1.5"),
)

# --------------------------------------------------------------------------------------------------------
# Melodies
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tone:
    beat: float  # written onset, beats from the first note
    beats: float  # written length (to the next onset, or to the rest after it)
    midi: int


@dataclass(frozen=True)
class Melody:
    name: str
    source: str
    title: str
    style: str  # western | gugak
    tempo: float  # BPM
    program: int
    tonic_pc: int
    mode: str  # major | minor | pyeongjo | gyemyeonjo
    scale: str  # a key of SCALES
    in_key_pcs: frozenset[int]
    tones: tuple[Tone, ...]

    @property
    def scale_pcs(self) -> list[int]:
        return sorted((self.tonic_pc + s) % 12 for s in SCALES[self.scale])

    @property
    def seconds_per_beat(self) -> float:
        return tempo_usec(self.tempo) / 1e6


def fitting_scales(pcs: set[int], kinds=("major", "natural minor", "harmonic minor", "melodic minor")):
    """Every (tonic, scale) whose scale holds all of `pcs`."""
    return [(t, k) for t in range(12) for k in kinds if {(p - t) % 12 for p in pcs} <= set(SCALES[k])]


def kk_score(weights: np.ndarray, tonic: int, scale: str) -> float:
    profile = np.roll(np.array(KK_MAJOR if scale == "major" else KK_MINOR), tonic)
    return float(np.corrcoef(weights, profile)[0, 1])


def fit_octaves(tones: list[Tone], program: int) -> list[Tone]:
    """Move a melody by octaves into the instrument's range (as near its middle as it goes)."""
    lo, hi = RANGES[program]
    pitches = [t.midi for t in tones]
    best = min(range(-3, 4), key=lambda k: (max(0, lo - min(pitches) - 12 * k) + max(0, max(pitches) + 12 * k - hi),
                                            abs(k)))
    return [Tone(t.beat, t.beats, t.midi + 12 * best) for t in tones]


def _cut(events: list[tuple[float, float, int | None, bool]], bpm: float) -> list[tuple[float, float, int]] | None:
    """The notes (onset, length in beats, midi) up to a phrase end between 10 and 14 s, or None."""
    spb = 60.0 / bpm
    notes = [(o, q, m, f) for o, q, m, f in events if m is not None]
    best = last = None
    for i, (o, q, _, fermata) in enumerate(notes):
        end = (o + q) * spb
        if end > 14.0:
            break
        last = i
        nxt = notes[i + 1][0] if i + 1 < len(notes) else None
        if end >= 10.0 and (fermata or q >= 1.5 or nxt is None or nxt > o + q + 1e-6):
            best = i
    k = best if best is not None else last
    if k is None or (notes[k][0] + notes[k][1]) * spb < 10.0:
        return None
    return [(o, q, m) for o, q, m, _ in notes[: k + 1]]


def load_western(name: str, path: str, number: int | None, program: int) -> tuple[Melody | None, str]:
    """A melody from the music21 corpus, or None and why it was left out."""
    import warnings

    from music21 import corpus

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = corpus.parse(path, number=number) if number is not None else corpus.parse(path)
        part = (score.parts[0] if score.parts else score).stripTies()
        raw = []
        for n in part.flatten().notesAndRests:
            if n.duration.isGrace or n.quarterLength <= 0:
                continue
            if n.isChord:
                return None, "not monophonic"
            fermata = any(getattr(e, "name", "") == "fermata" for e in n.expressions)
            raw.append((float(n.offset), float(n.quarterLength), None if n.isRest else int(n.pitch.midi), fermata))
        whole_key = score.analyze("key")
    while raw and raw[0][2] is None:
        raw.pop(0)
    if not raw:
        return None, "no notes"
    # onsets from the first note, each fermata holding its note one beat longer
    events, shift, t0 = [], 0.0, raw[0][0]
    for o, q, m, fermata in raw:
        extra = 1.0 if fermata and m is not None else 0.0
        events.append((o - t0 + shift, q + extra, m, fermata))
        shift += extra
    lengths = sorted(q for _, q, m, _ in events if m is not None)
    bpm = float(np.clip(round(60 * lengths[len(lengths) // 2] / 0.6), 70, 120))
    notes = _cut(events, bpm)
    if notes is None:
        return None, "shorter than 10 s"
    pcs = {m % 12 for _, _, m in notes}
    fits = fitting_scales(pcs)
    if not fits:
        return None, "not diatonic: " + " ".join(PC_NAMES[p] for p in sorted(pcs))
    if len(pcs) < 6:
        return None, f"only {len(pcs)} pitch classes"
    tonic, mode = int(whole_key.tonic.pitchClass), str(whole_key.mode)
    chosen = [f for f in fits if f[0] == tonic and (f[1] == "major") == (mode == "major")]
    if not chosen:
        weights = np.zeros(12)
        for _, q, m in notes:
            weights[m % 12] += q
        chosen = [max(fits, key=lambda f: kk_score(weights, *f))]
    tonic, scale = chosen[0]
    in_key = {pc for t, k in fits for pc in ((t + s) % 12 for s in SCALES[k])}
    if scale != "major":  # every form of the minor: a raised or lowered 6th or 7th is no mistake
        in_key |= {(tonic + s) % 12 for k in MINOR_FORMS for s in SCALES[k]}
    tones = fit_octaves([Tone(o, q, m) for o, q, m in notes], program)
    md = score.metadata
    title = (md.title or "") if md is not None else ""
    source = f"music21:{path}" + (f"#{number}" if number is not None else "")
    return Melody(name, source, title, "western", bpm, program, tonic, "major" if scale == "major" else "minor",
                  scale, frozenset(in_key), tuple(tones)), ""


def gugak_melodies() -> list[Melody]:
    out = []
    for name, mode, tonic_pc, tonic_midi, bpm, program, tokens in GUGAK:
        steps = SCALES[mode]
        tones, beat = [], 0.0
        for token in tokens.split():
            step, beats = token.split(":")
            if step != "r":
                k = int(step)
                tones.append(Tone(beat, float(beats), tonic_midi + 12 * (k // 5) + steps[k % 5]))
            beat += float(beats)
        assert tonic_midi % 12 == tonic_pc, name
        out.append(Melody(name, "gugak", name, "gugak", float(bpm), program, tonic_pc, mode, mode,
                          frozenset((tonic_pc + s) % 12 for s in steps), tuple(tones)))
    return out


# --------------------------------------------------------------------------------------------------------
# Variants
# --------------------------------------------------------------------------------------------------------


@dataclass
class Plan:
    """One file: per note its MIDI note, static bend (cents, the tuning offset included) and ornaments
    ((slide seconds, vibrato rate, vibrato delay seconds), zeros where absent); the truth errors."""

    midi: list[int]
    cents: list[float]
    offset: float
    ornaments: list[tuple[float, float, float] | None]
    errors: list[dict]


def note_seconds(melody: Melody) -> list[float]:
    return [t.beats * melody.seconds_per_beat for t in melody.tones]


def _rng(seed: int, *keys: str) -> np.random.Generator:
    return np.random.default_rng([seed, *(zlib.crc32(k.encode()) for k in keys)])


def eligible_notes(melody: Melody) -> list[int]:
    lengths = note_seconds(melody)
    return [i for i in range(1, len(melody.tones) - 1) if lengths[i] >= MIN_ERROR_NOTE_S - 1e-9]


def scale_sets(style: str) -> set[frozenset[int]]:
    """The pitch-class sets a check of this style may take a melody's scale to be."""
    kinds = ("pyeongjo", "gyemyeonjo") if style == "gugak" else ("major", *MINOR_FORMS)
    return {frozenset((t + s) % 12 for s in SCALES[k]) for t in range(12) for k in kinds}


def unambiguous(melody: Melody, i: int, new_midi: int) -> bool:
    """Whether note i played as `new_midi` is clearly the wrong note: every scale holding the new pitch class
    leaves out other notes lasting at least AMBIGUITY_MARGIN times as long as note i (the melody's own scale
    leaves out only note i), so the melody's scale stays the best fit by a margin."""
    lengths = note_seconds(melody)
    pc = new_midi % 12
    for pcs in scale_sets(melody.style):
        if pc in pcs:
            outside = sum(lengths[j] for j, t in enumerate(melody.tones) if j != i and t.midi % 12 not in pcs)
            if outside < AMBIGUITY_MARGIN * lengths[i]:
                return False
    return True


def out_directions(melody: Melody, i: int) -> list[int]:
    """The semitone steps (-1, +1) that take note i out of the scale, unambiguously."""
    midi = melody.tones[i].midi
    return [d for d in (-1, 1) if (midi + d) % 12 not in melody.in_key_pcs and unambiguous(melody, i, midi + d)]


def plan_variant(melody: Melody, variant: str, seed: int) -> Plan:
    n = len(melody.tones)
    midi = [t.midi for t in melody.tones]
    offset = OFFSET_CENTS if variant.endswith("offset") else 0.0
    cents = [offset] * n
    plan = Plan(list(midi), cents, offset, [None] * n, [])
    rng = _rng(seed, melody.name, variant)
    if variant.startswith("detune"):
        size = float(variant.removeprefix("detune"))
        candidates = eligible_notes(melody)
        if size >= 100:
            candidates = [i for i in candidates if out_directions(melody, i)]
        i = int(rng.choice(candidates))
        sign = int(rng.choice(out_directions(melody, i))) if size >= 100 else int(rng.choice([-1, 1]))
        plan.cents[i] = offset + sign * size
        plan.errors.append({"index": i, "kind": "detuned", "cents": sign * size, "expected_midi": midi[i],
                            "found_midi": midi[i] + sign * size / 100})
    elif variant == "out_of_key":
        options = {i: [d for d in (-3, -2, -1, 1, 2, 3) if (midi[i] + d) % 12 not in melody.in_key_pcs
                       and unambiguous(melody, i, midi[i] + d)] for i in eligible_notes(melody)}
        i = int(rng.choice([i for i, ds in options.items() if ds]))
        wide = [d for d in options[i] if abs(d) >= 2]
        d = int(rng.choice(wide or options[i]))
        plan.midi[i] = midi[i] + d
        plan.errors.append({"index": i, "kind": "out_of_key", "cents": 100.0 * d, "expected_midi": midi[i],
                            "found_midi": float(midi[i] + d)})
    if variant.startswith("ornamented"):
        orng = _rng(seed, melody.name, "ornaments")  # the same ornaments with and without the offset
        for i, length in enumerate(note_seconds(melody)):
            slide = float(orng.uniform(0.08, 0.15)) if orng.random() < 1 / 3 else 0.0
            rate = float(orng.uniform(5.0, 6.0)) if length >= 0.4 else 0.0
            delay = max(float(orng.uniform(0.10, 0.15)), slide + 0.02)
            plan.ornaments[i] = (slide, rate, delay)
    return plan


VIBRATO_DEPTH = 100.0
VIBRATO_RAMP_S = 0.15
SLIDE_CENTS = -200.0


def note_bend_curve(plan: Plan, i: int, length_s: float) -> list[tuple[float, float]]:
    """(seconds into the note, cents) points of note i's bend, starting at 0 s."""
    base = plan.cents[i]
    slide, rate, delay = plan.ornaments[i] or (0.0, 0.0, 0.0)
    if not slide and not rate:
        return [(0.0, base)]
    points = []
    t = 0.0
    stop = length_s - BEND_STEP_S / 2
    while t < stop:
        value = 0.0
        if slide and t < slide:
            value = SLIDE_CENTS * (1.0 - t / slide)
        elif rate and t >= delay:
            ramp = min(1.0, (t - delay) / VIBRATO_RAMP_S)
            value = VIBRATO_DEPTH * ramp * math.sin(2 * math.pi * rate * (t - delay))
        points.append((t, base + value))
        if not rate and t >= slide:
            break
        t = round(t + BEND_STEP_S, 6)
    return points


def build(melody: Melody, plan: Plan) -> tuple[bytes, dict, float]:
    """MIDI bytes, the truth (without file fields) and the last written end in seconds."""
    usec = tempo_usec(melody.tempo)
    sec = usec / 1e6 / TPB  # seconds per tick
    pre = round(PREROLL_S / sec)
    rng = _rng(0, melody.name, "velocity")  # the same dynamics in every variant and for every seed
    chan = 0
    events: list[tuple[int, int, bytes]] = [(0, 0, tempo_event(melody.tempo)),
                                            (0, 1, program_change(chan, melody.program))]
    events += [(0, 2, m) for m in bend_range_messages(chan, BEND_RANGE)]
    events += [(0, 2, control_change(chan, c, v)) for c, v in ((7, 100), (10, 64), (91, REVERB_SEND), (93, 0))]
    bends: list[tuple[int, float]] = [(0, plan.offset)]
    notes, errors = [], []
    tones = melody.tones
    for i, tone in enumerate(tones):
        on = pre + round(tone.beat * TPB)
        end = pre + round((tone.beat + tone.beats) * TPB)
        off = on + max(1, round(LEGATO * (end - on)))
        vel = int(np.clip(84 + 10 * (tone.beats >= 1.5) + rng.normal(0, 5), 60, 110))
        for t, c in note_bend_curve(plan, i, (end - on) * sec):
            bends.append((on + round(t / sec), c))
        nxt = pre + round(tones[i + 1].beat * TPB) if i + 1 < len(tones) else None
        if nxt is None or nxt > end:
            bends.append((end, plan.offset))
        events.append((on, 5, note_on(chan, plan.midi[i], vel)))
        events.append((off, 4, note_off(chan, plan.midi[i])))
        note = {"start": round(on * sec, 6), "end": round(end * sec, 6), "midi": plan.midi[i],
                "cents": plan.cents[i]}
        if plan.ornaments[i] is not None:
            slide, rate, _ = plan.ornaments[i]
            note["ornament"] = "+".join(n for n, on_ in (("slide", slide), ("vibrato", rate)) if on_)
        notes.append(note)
    for e in plan.errors:
        note = notes[e["index"]]
        errors.append({"start": note["start"], "end": note["end"], **e})
    # the bend points, at most one per tick (the last wins), sent when they change
    current = None
    merged: dict[int, float] = {}
    for tick, c in bends:
        merged[tick] = c
    for tick in sorted(merged):
        value = bend_value(merged[tick], BEND_RANGE)
        if value != current:
            events.append((tick, 3, pitch_bend(chan, value)))
            current = value
    last_end = pre + round((tones[-1].beat + tones[-1].beats) * TPB)
    midi = smf_bytes(events, last_end + round(TAIL_S / sec), TPB)
    truth = {
        "melody": melody.name,
        "source": melody.source,
        "title": melody.title,
        "style": melody.style,
        "program": melody.program,
        "tempo_bpm": melody.tempo,
        "key": {"tonic_pc": melody.tonic_pc, "mode": melody.mode, "scale": melody.scale,
                "scale_pcs": melody.scale_pcs, "in_key_pcs": sorted(melody.in_key_pcs)},
        "tuning_offset_cents": plan.offset,
        "bend_range_semitones": BEND_RANGE,
        "notes": notes,
        "errors": errors,
    }
    return midi, truth, last_end * sec


# --------------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------------


def finish(audio: np.ndarray, last_end_s: float) -> np.ndarray:
    """Mono, the tail trimmed (below -60 dB re the peak, at most KEEP_TAIL_S after the last note), a 30 ms
    fade at the cut, the peak at PEAK_DB."""
    mono = audio.mean(axis=0)
    peak = float(np.abs(mono).max())
    if peak <= 0:
        raise RuntimeError("fluidsynth rendered silence")
    above = np.flatnonzero(np.abs(mono) > peak * 10 ** (-60 / 20))
    end_frame = math.ceil(last_end_s * SAMPLE_RATE)
    stop = min(len(mono), max(above[-1] + 1, end_frame), end_frame + round(KEEP_TAIL_S * SAMPLE_RATE))
    out = mono[:stop].astype(np.float64)
    fade = min(round(0.03 * SAMPLE_RATE), len(out))
    out[-fade:] *= 0.5 + 0.5 * np.cos(np.linspace(0, np.pi, fade))
    return (out * (10 ** (PEAK_DB / 20) / np.abs(out).max())).astype(np.float32)


def measured_cents(audio: np.ndarray, start: float, end: float, midi: float) -> float | None:
    """How far the rendered note sits from `midi` (fractional), in cents: the spectral peak nearest the
    expected fundamental (+-70 cents) over the middle of the note (30 % to 80 %), Hann window, zero-padded
    FFT, parabolic interpolation on the log magnitude. None when there is no clear peak there."""
    a, b = round((start + 0.3 * (end - start)) * SAMPLE_RATE), round((end - 0.2 * (end - start)) * SAMPLE_RATE)
    if b - a < 256:
        return None
    n_fft = 1 << 18
    spec = np.abs(np.fft.rfft(audio[a:b].astype(np.float64) * np.hanning(b - a), n_fft))
    hz = 440.0 * 2 ** ((midi - 69) / 12)
    lo = math.floor(hz * 2 ** (-70 / 1200) * n_fft / SAMPLE_RATE)
    hi = math.ceil(hz * 2 ** (70 / 1200) * n_fft / SAMPLE_RATE)
    k = lo + int(np.argmax(spec[lo : hi + 1]))
    if k in (lo, hi):
        return None
    y0, y1, y2 = np.log(spec[k - 1 : k + 2] + 1e-12)
    bin_ = k + 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2)
    return round(1200 * math.log2(bin_ * SAMPLE_RATE / n_fft / hz), 1)


def truth_path(wav: Path) -> Path:
    return wav.with_name(wav.stem + ".truth.json")


def is_done(wav: Path, seed: int) -> bool:
    truth = truth_path(wav)
    if not (wav.exists() and truth.exists()):
        return False
    try:
        return json.loads(truth.read_text()).get("seed") == seed
    except (OSError, ValueError):
        return False


def render_file(melody: Melody, variant: str, seed: int, out_dir: Path, exe: str, soundfont: Path,
                workdir: Path) -> dict:
    wav = out_dir / f"{melody.name}_{variant}.wav"
    midi, truth, last_end = build(melody, plan_variant(melody, variant, seed))
    audio = finish(render_midi(exe, soundfont, midi, workdir, f"{melody.name}_{variant}", SAMPLE_RATE,
                               options=FLUIDSYNTH_OPTIONS), last_end)
    if not variant.startswith("ornamented"):
        for note in truth["notes"]:
            note["measured_cents"] = measured_cents(audio, note["start"], note["end"],
                                                    note["midi"] + note["cents"] / 100)
    truth = {"melody": truth.pop("melody"), "source": truth.pop("source"), "style": truth.pop("style"),
             "variant": variant, "program": truth.pop("program"), "sample_rate": SAMPLE_RATE, "seed": seed,
             "seconds": round(len(audio) / SAMPLE_RATE, 6), **truth}
    tmp_wav = wav.with_name(f".{wav.stem}.partial.wav")
    sf.write(tmp_wav, audio, SAMPLE_RATE, subtype="PCM_16")
    os.replace(tmp_wav, wav)
    tmp_json = wav.with_name(f".{wav.stem}.truth.partial.json")
    tmp_json.write_text(json.dumps(truth, indent=1) + "\n")
    os.replace(tmp_json, truth_path(wav))
    return truth


def file_name(melody: str, variant: str) -> str:
    return f"{melody}_{variant}.wav"


def prepare(out_dir: Path, seed: int = 0, *, variants: tuple[str, ...] = VARIANTS, workers: int = 2,
            verbose: bool = True) -> list[Path]:
    """Make (or reuse) the set in `out_dir` and return the WAV paths (melody by melody, variant by variant).

    A western melody is read from the music21 corpus only when some of its files are missing; one that fails
    the filter (see the module docstring) is left out with a note.
    """
    log = print if verbose else (lambda *a, **k: None)
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        raise ValueError(f"unknown variants: {sorted(unknown)}")

    def done(name: str) -> bool:
        return all(is_done(out_dir / file_name(name, v), seed) for v in variants)

    names: list[str] = []
    todo: list[tuple[Melody, str]] = []
    for k, (name, path, number) in enumerate(WESTERN):
        if done(name):
            names.append(name)
            continue
        melody, why = load_western(name, path, number, WESTERN_PROGRAMS[k % len(WESTERN_PROGRAMS)])
        if melody is None:
            log(f"left out {name} ({path}{'' if number is None else f' #{number}'}): {why}")
            continue
        names.append(name)
        todo += [(melody, v) for v in variants if not is_done(out_dir / file_name(name, v), seed)]
    for melody in gugak_melodies():
        names.append(melody.name)
        todo += [(melody, v) for v in variants if not is_done(out_dir / file_name(melody.name, v), seed)]
    if todo:
        exe, soundfont = ensure_tools(log)
        log(f"fluidsynth {fluidsynth_version(exe)} ({exe}), soundfont {soundfont}; rendering {len(todo)} files")
        with (tempfile.TemporaryDirectory(prefix="dissonance-midi-") as tmp,
              ThreadPoolExecutor(max(1, workers)) as pool):
            futures = [pool.submit(render_file, m, v, seed, out_dir, exe, soundfont, Path(tmp)) for m, v in todo]
            for fut in futures:
                fut.result()
    paths = [out_dir / file_name(name, v) for name in names for v in variants]
    summarise(paths, len(todo), out_dir, seed, time.perf_counter() - started, log)
    return paths


def summarise(paths: list[Path], rendered: int, out_dir: Path, seed: int, elapsed: float, log=print) -> None:
    """A line per melody (from its first file's truth) and the totals."""
    truths = [json.loads(truth_path(p).read_text()) for p in paths]
    head = (f"{'melody':16s} {'style':7s} {'instrument':10s} {'key':16s} {'BPM':>4s} {'sec':>5s} {'notes':>5s}  "
            "source")
    log(head)
    log("-" * len(head))
    seen = set()
    for t in truths:
        if t["melody"] in seen:
            continue
        seen.add(t["melody"])
        key = f"{PC_NAMES[t['key']['tonic_pc']]} {t['key']['scale']}"
        title = f"  {t['title']}" if t["title"] and t["title"] != t["melody"] else ""
        log(f"{t['melody']:16s} {t['style']:7s} {PROGRAM_NAMES.get(t['program'], t['program']):10s} {key:16s} "
            f"{t['tempo_bpm']:4.0f} {t['seconds']:5.1f} {len(t['notes']):5d}  {t['source']}{title}")
    seconds = sum(t["seconds"] for t in truths)
    notes = sum(len(t["notes"]) for t in truths)
    errors: dict[str, int] = {}
    for t in truths:
        if t["errors"]:
            errors[t["variant"]] = errors.get(t["variant"], 0) + len(t["errors"])
    styles = {s: sum(t["style"] == s for t in truths if t["variant"] == truths[0]["variant"])
              for s in ("western", "gugak")}
    log("")
    log(f"{len(paths)} files in {out_dir} ({rendered} rendered, {len(paths) - rendered} already there): "
        f"{len(seen)} melodies ({styles['western']} western, {styles['gugak']} gugak), "
        f"{seconds / 60:.1f} min of audio, {notes} notes, {sum(errors.values())} errors ("
        + ", ".join(f"{k} {v}" for k, v in errors.items()) + f"), seed {seed}")
    log(f"took {elapsed:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path, help="folder for the WAV files and their truth (created if missing)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the errors and ornaments (default 0)")
    parser.add_argument("--workers", type=int, default=2, help="fluidsynth processes at a time (default 2)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS, metavar="VARIANT",
                        help="variants to make (default all: " + ", ".join(VARIANTS) + ")")
    args = parser.parse_args(argv)
    prepare(args.out_dir, args.seed, variants=tuple(args.variants), workers=args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
