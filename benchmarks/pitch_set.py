"""The pitch check's evaluation set: real tunes no one here wrote, rendered with FluidSynth, with known errors.

    .venv/bin/python benchmarks/pitch_set.py OUT_DIR [--seed 0] [--workers 2]
        [--held-out-chorales | --held-out-tunes | --fresh-tunes]

or from another script: `from pitch_set import prepare; paths = prepare(Path("set"))`. Made on the first run and
reused after (files whose truth carries the same seed and version are not rendered again); the audio is cached on
disk, never in git. FluidSynth and the FluidR3 GM soundfont come from Debian (`midi.ensure_tools`).

Monophonic melodies (44 + 8), each a WAV (44.1 kHz mono, 16-bit, peak -1 dBFS) with `x.truth.json` beside it:

- from the music21 corpus, which ships inside its wheel: 12 Essen folk songs (German, Swiss, Luxembourg, Irish
  collections), 10 tunes of Ryan's Mammoth Collection (reels, hornpipes, jigs, strathspeys: fast, short notes),
  8 tunes of O'Neill's "Music of Ireland" (1850) and 6 of Aird's Airs (many modal: dorian, mixolydian), 8 soprano
  lines of Bach chorales (raised leading tones, chromatic neighbours). Ties merged, chords reduced to their top
  note, rests kept as gaps, grace notes kept (60 ms, taken from the note they lead into), cut at a note end
  between 6 and 12 s. A tune's accidentals are its own: a tune is kept only when every pitch class it uses
  occurs at least twice in the excerpt (a recurring accidental is the tune's scale, a single chromatic note
  would be indistinguishable from a mistake), and it uses at least five pitch classes;
- 8 gugak tunes after traditional folk songs (Arirang, Doraji taryeong, Miryang Arirang, Ganggangsullae, Jindo
  Arirang, Saeya saeya, Ongheya, Cheonan samgeori), transcribed from memory into 평조 pyeongjo (sol-la-do-re-mi)
  or 계면조 gyemyeonjo (la-do-re-mi-sol): the mode, contour and rhythm of each tune, not scholarly transcriptions.

Tempo: each melody gets a target drawn evenly over 60-200 BPM (a quarter note a beat), moved into the range that
keeps its shortest non-grace note at 0.1 s or more and its longest at 2 s or less. Articulation: legato (the note
sounds 95 % of its written length), staccato (50 %) or mixed, by melody. Timbres (GM programs, 16 of them, many
plucked or decaying): nylon and steel guitar, harp, koto, shamisen, banjo, pizzicato strings, marimba,
vibraphone, piano, harpsichord, and the sustained flute, violin, clarinet, oboe, shakuhachi, soprano sax,
recorder, fiddle; moved by octaves into the instrument's range. Intonation is pitch-wheel bends (±12 semitones),
held through a note's release until the next note starts (version 1 let the bend go at note-off, so a sour note's
release rang in tune, a part of the note its truth called sour).

Variants, each solo and over an accompaniment (`_acc`: a chord pad (warm pad or strings) on the tune's own
diatonic triads chosen bar by bar, a bass on the roots, a GM drum kit; for the gugak tunes open fifths on the
tonic and fifth and a sparser drum part), so 18 files per melody:

- negatives: `clean`; `offset` (all channels -40 cents); `ornamented` (±100-cent vibrato at 5-6 Hz on notes of
  0.4 s or more, whole-tone slides into a third of the notes, an extra grace note a scale step above before one
  note in eight); `ornamented_offset` (both);
- errors, one note each, drawn among notes that sound 0.1 s or more (not the first or last): `detune30`,
  `detune50` (±30 or ±50 cents, random sign); `detune100` (±100 cents landing OFF the tune's pitch classes);
  `out_of_key` (an equal-tempered pitch class the tune never uses, 1-3 semitones away); `wrong_note` (±100 or
  ±200 cents landing ON another pitch class of the tune: a wrong note, not a sour one; scored apart).

Polyphonic mixes (`poly_*`): 36 Bach chorales, 4 voices (or 3, the alto left out, in every third), each voice
its own channel, in one of four scorings (string ensemble, church organ, choir aahs, a wind quartet), 60-96 BPM,
cut between 8 and 12 s. Variants: `clean`, `offset` (-40 cents), `detune50` (one note of one voice, the inner
voices preferred, ±50 cents), `out_of_key` (one note of one voice moved to a pitch class no voice uses).

Held out, each in a folder of its own: `--held-out-chorales`, the ~300 four-part chorales the mixes do not take
(clean, `offset` and `out_of_key`); `--held-out-tunes`, 44 other melodies of the same collections (other numbers of
the same Essen files, Ryan's, O'Neill's and Aird's works between the set's picks, sopranos of BWV 254-438 by fives),
made as the set's melodies are, every variant, solo and accompanied: the mono rules were tuned on the set's tunes.
`--fresh-tunes`, 44 more of the same collections, neither the set's nor those (other Essen numbers, other works
between the picks, sopranos of BWV 256-438 by fives): the held-out tunes' false findings have since been read to make
rules, so a change is confirmed on these, and a rule tuned on what they show makes them seen too.

Truth (`x.truth.json`): melody, source, style (western or gugak), set (mono or poly), variant, accompanied,
program(s), tempo_bpm, seconds, articulation, pcs (the pitch classes the tune uses), notes (start, end = the
written end, sounding_s, midi, cents, voice, grace, ornament) and errors (start, end, index, kind, cents,
expected_midi, found_midi, sounding_s, voice).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import sys
import tempfile
import time
import warnings
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import soundfile as sf
from midi import (
    bend_range_messages,
    bend_value,
    control_change,
    ensure_tools,
    note_off,
    note_on,
    pitch_bend,
    program_change,
    render_midi,
    smf_bytes,
    tempo_event,
)

VERSION = 2     # 2: a note's release rings at its own pitch (1: the bend was let go at note-off)
SAMPLE_RATE = 44_100
TPB = 480
PREROLL_S = 0.25
TAIL_S = 1.2
PEAK_DB = -1.0
BEND_RANGE = 12
GRACE_S = 0.06
MIN_ERROR_S = 0.1
OFFSET_CENTS = -40.0
BEND_STEP_S = 0.01
FLUIDSYNTH_OPTIONS = ("-C", "0")
MONO_VARIANTS = ("clean", "offset", "ornamented", "ornamented_offset", "detune30", "detune50", "detune100",
                 "out_of_key", "wrong_note")
POSITIVE = ("detune30", "detune50", "detune100", "out_of_key")
POLY_VARIANTS = ("clean", "offset", "detune50", "out_of_key")
HELD_OUT_VARIANTS = ("clean", "offset", "out_of_key")
DRUMS = 9

# GM programs (0-based) and the MIDI range used for each
TIMBRES = {24: ("nylon guitar", 45, 84), 25: ("steel guitar", 45, 84), 46: ("harp", 40, 96), 107: ("koto", 50, 91),
           106: ("shamisen", 50, 86), 105: ("banjo", 50, 86), 45: ("pizzicato", 45, 84), 12: ("marimba", 48, 96),
           11: ("vibraphone", 53, 89), 0: ("piano", 36, 96), 6: ("harpsichord", 41, 89), 73: ("flute", 60, 96),
           40: ("violin", 55, 100), 71: ("clarinet", 50, 91), 68: ("oboe", 58, 91), 77: ("shakuhachi", 55, 88),
           64: ("soprano sax", 56, 87), 74: ("recorder", 60, 96), 110: ("fiddle", 55, 96)}
PLUCKED = (24, 25, 46, 107, 106, 105, 45, 12, 11, 0, 6)
SUSTAINED = (73, 40, 71, 68, 77, 64, 74, 110)
GUGAK_PROGRAMS = (73, 107, 68, 40, 77, 107, 73, 106)   # daegeum, gayageum, piri, haegeum ... stand-ins
POLY_SCORINGS = {"strings": (48, 48, 48, 48), "organ": (19, 19, 19, 19), "choir": (52, 52, 52, 52),
                 "winds": (73, 68, 71, 70)}

ESSEN_FILES = tuple("essenFolksong/" + c for c in ("altdeu10", "ballad10", "boehme10", "erk5", "fink0", "han1",
                                                   "kinder0", "zuccal0", "lux", "irl", "dva0", "variant0"))
ESSEN = [(c, n) for c in ESSEN_FILES for n in (2, 5, 9, 13)]
BACH = ["bach/bwv" + n for n in ("269", "347", "153.1", "86.6", "267", "281", "17.7", "40.8", "57.8", "66.6",
                                  "8.6", "10.7", "101.7", "104.6", "108.6", "11.6", "113.8", "114.7", "122.6",
                                  "127.5", "13.6", "133.6", "135.6", "139.6", "14.5", "140.7", "144.3")]
TARGETS = {"essen": 12, "ryans": 10, "oneills": 8, "airds": 6, "bach": 8}
# The chorale mixes: the first 12 from the end of BACH, then every fifth chorale of the four-part collection
# (BWV 253-438), for a poly table wider than a dozen mixes.
POLY_MORE = ["bach/bwv" + str(n) for n in range(253, 439, 5)]
POLY_COUNT = 36

# Gugak tunes: (name, title, mode, MIDI note of the mode's first tone, bars of `beats` beats, tokens). A token is
# "step:beats" (step: index into the mode from its first tone, 5 = an octave up, -1 = the tone below) or "r:beats".
PYEONGJO, GYEMYEONJO = (0, 2, 5, 7, 9), (0, 3, 5, 7, 10)
GUGAK = (
    ("arirang", "Arirang", "pyeongjo", 67, 3,
     "0:1.5 1:0.5 0:1 1:1.5 2:0.5 3:0.5 2:0.5 3:1 4:0.5 3:0.5 2:0.5 1:0.5 2:1 1:0.5 0:0.5 1:0.5 0:0.5 "
     "-1:1 0:1 0:3"),
    ("doraji", "Doraji taryeong", "pyeongjo", 62, 3,
     "5:1 5:0.5 4:0.5 5:1 4:1 3:0.5 2:0.5 3:1 4:1 3:0.5 2:0.5 1:1 2:1 1:0.5 0:0.5 1:1 2:0.5 3:0.5 2:1 "
     "1:1 0:2"),
    ("miryang", "Miryang Arirang", "pyeongjo", 65, 3,
     "5:1.5 4:0.5 5:1 6:2 5:1 4:1 3:1 2:1 3:1.5 4:0.5 3:1 2:1 1:1 0:1 1:1.5 2:0.5 1:1 0:3"),
    ("ganggang", "Ganggangsullae", "gyemyeonjo", 64, 3,
     "0:1 0:1 1:1 2:2 1:1 2:1 3:1 2:1 1:1 0:1 -1:1 0:3 2:1 2:1 3:1 4:2 3:1 2:1 1:1 0:1 0:3"),
    ("jindo", "Jindo Arirang", "gyemyeonjo", 69, 3,
     "3:1.5 4:0.5 3:1 2:2 1:1 2:1.5 3:0.5 2:1 1:1 0:2 1:1.5 2:0.5 1:1 0:1 -1:1 0:1 0:3"),
    ("saeya", "Saeya saeya", "gyemyeonjo", 64, 2,
     "2:1 2:1 1:1 2:1 3:1 2:1 1:2 2:1 1:1 0:1 1:1 0:1 -1:1 0:2 2:1 3:1 2:1 1:1 0:2"),
    ("ongheya", "Ongheya", "gyemyeonjo", 69, 2,
     "0:0.5 0:0.5 2:1 1:0.5 0:0.5 -1:1 0:0.5 1:0.5 2:0.5 3:0.5 2:1 r:1 2:0.5 2:0.5 3:1 2:0.5 1:0.5 0:1 "
     "1:0.5 0:0.5 -1:0.5 -2:0.5 -1:2"),
    ("cheonan", "Cheonan samgeori", "pyeongjo", 60, 3,
     "2:1 3:0.5 2:0.5 1:1 0:1.5 1:0.5 2:1 3:1 4:1 5:1 4:1.5 3:0.5 2:1 3:1 2:0.5 1:0.5 0:1 1:1 0:2"),
)
GUGAK_TEMPI = {"arirang": 84, "doraji": 112, "miryang": 132, "ganggang": 150, "jindo": 76, "saeya": 66,
               "ongheya": 176, "cheonan": 100}


# --------------------------------------------------------------------------------------------------------
# Melodies
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tone:
    beat: float          # written onset, beats from the first note
    beats: float         # written length (to the next onset, or to the rest after it)
    midi: int
    grace: bool = False
    voice: int = 0


@dataclass(frozen=True)
class Melody:
    name: str
    source: str
    title: str
    style: str                 # western | gugak
    group: str                 # essen, ryans, oneills, airds, bach, gugak, poly
    tempo: float
    programs: tuple[int, ...]  # one per voice
    tones: tuple[Tone, ...]
    bar_beats: float = 4.0
    articulation: str = "legato"
    tonic_pc: int = 0
    mode: str = "major"
    pcs: tuple[int, ...] = ()
    voices: int = 1
    scoring: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def spb(self) -> float:
        return 60.0 / self.tempo


def _rng(seed: int, *keys: str) -> np.random.Generator:
    return np.random.default_rng([seed, *(zlib.crc32(k.encode()) for k in keys)])


def _voice_events(part) -> list[tuple[float, float, int | None, bool]]:
    """(onset, quarter length, midi or None for a rest, grace) of one part, ties merged, chords to the top note."""
    out = []
    for n in part.stripTies().flatten().notesAndRests:
        if n.isRest:
            out.append((float(n.offset), float(n.quarterLength), None, False))
            continue
        midi = max(p.midi for p in n.pitches) if n.isChord else n.pitch.midi
        out.append((float(n.offset), float(n.quarterLength), int(midi), bool(n.duration.isGrace)))
    return out


def _tones(events, start: float, stop: float, voice: int = 0) -> list[Tone]:
    tones = []
    for o, q, m, grace in events:
        if m is None or o < start - 1e-6 or o >= stop - 1e-6:
            continue
        tones.append(Tone(o - start, 0.0 if grace else q, m, grace, voice))
    return tones


def _tempo_range(tones: list[Tone]) -> tuple[float, float]:
    lengths = [t.beats for t in tones if not t.grace and t.beats > 0]
    return 60 * max(lengths) / 2.0, 60 * min(lengths) / 0.1


def _cut_beat(events, bpm: float, lo_s: float, hi_s: float) -> float | None:
    """The written end (in beats) of the last note ending between lo_s and hi_s, or None."""
    best = None
    for o, q, m, grace in events:
        if m is None or grace:
            continue
        end_s = (o + q - events[0][0]) * 60 / bpm
        if end_s > hi_s:
            break
        if end_s >= lo_s:
            best = o + q
    return best


def cut(events, target_bpm: float) -> tuple[list[Tone], float] | str:
    """A tune's opening phrase as the set plays it: from its first note to the last note ending 6-12 s in, at the
    tempo nearest `target_bpm` at which every note lasts 0.1-2 s; (tones, BPM), or why there is none."""
    events = list(events)
    while events and events[0][2] is None:
        events.pop(0)
    if not events:
        return "no notes"
    first = events[0][0]
    lo, hi = _tempo_range(_tones(events, first, first + 1e9))
    if lo > hi:
        return "note lengths span more than 0.1-2 s at any tempo"
    bpm = float(np.clip(target_bpm, lo, hi))
    stop = _cut_beat(events, bpm, 6.0, 12.0)
    if stop is None:
        return "no note end between 6 and 12 s"
    tones = _tones(events, first, stop)
    lo, hi = _tempo_range(tones)
    if lo > hi:
        return "note lengths span more than 0.1-2 s at any tempo"
    return tones, float(np.clip(bpm, lo, hi))


def _target_tempo(seed: int, name: str, index: int, count: int) -> float:
    """Evenly over 60-200 BPM, in an order drawn once, so no collection gets the slow or the fast end."""
    spread = np.linspace(60, 200, count)[_rng(seed, "tempi").permutation(count)]
    return float(np.clip(spread[index % count] + _rng(seed, name, "tempo").uniform(-5, 5), 60, 200))


def _scale_of(score, pcs: set[int]) -> tuple[int, str]:
    try:
        k = score.analyze("key")
        return int(k.tonic.pitchClass), str(k.mode)
    except Exception:
        return min(pcs), "major"


def load_corpus_melody(group: str, path: str, number: int | None, target_bpm: float,
                       program: int, articulation: str) -> tuple[Melody | None, str]:
    from music21 import corpus

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            score = corpus.parse(path, number=number) if number is not None else corpus.parse(path)
        except Exception as e:
            return None, f"unreadable: {type(e).__name__}"
        part = score.parts[0] if score.parts else score
        events = _voice_events(part)
        while events and events[0][2] is None:
            events.pop(0)
        if len(events) < 8:
            return None, "too few notes"
        ts = list(score.recurse().getElementsByClass("TimeSignature"))
        bar = float(ts[0].barDuration.quarterLength) if ts else 4.0
        tonic, mode = _scale_of(score, {e[2] % 12 for e in events if e[2] is not None})
        md = score.metadata
        title = (md.title or "") if md is not None else ""
    phrase = cut(events, target_bpm)
    if isinstance(phrase, str):
        return None, phrase
    tones, bpm = phrase
    counts = np.bincount([t.midi % 12 for t in tones if not t.grace], minlength=12)
    used = [pc for pc in range(12) if counts[pc]]
    if lone_chromatic(tones, tonic, mode):
        return None, "a chromatic pitch class occurs once (a passing note, not the tune's scale)"
    if len(used) < 5:
        return None, f"only {len(used)} pitch classes"
    name = path.split("/")[-1].removesuffix(".abc") + (f"-{number}" if number is not None else "")
    source = f"music21:{path}" + (f"#{number}" if number is not None else "")
    tones = fit_octaves(tones, program)
    return Melody(name, source, title, "western", group, round(bpm, 1), (program,), tuple(tones), bar,
                  articulation, tonic, mode, tuple(used)), ""


def lone_chromatic(tones: Sequence[Tone], tonic: int, mode: str) -> bool:
    """Whether a pitch class outside the key occurs in only one note (grace notes aside)."""
    counts = np.bincount([t.midi % 12 for t in tones if not t.grace], minlength=12)
    return any(counts[pc] == 1 and pc not in key_pcs(tonic, mode) for pc in range(12))


def key_pcs(tonic: int, mode: str) -> set[int]:
    """The key's own tones: the major scale, or every form of the minor (a raised 6th or 7th is no mistake)."""
    steps = (0, 2, 4, 5, 7, 9, 11) if mode == "major" else (0, 2, 3, 5, 7, 8, 9, 10, 11)
    return {(tonic + x) % 12 for x in steps}


def allowed_pcs(melody: Melody) -> set[int]:
    """What the tune may use without a mistake: its own pitch classes and its key's (gugak: its mode's)."""
    if melody.style == "gugak" or melody.voices > 1:
        return set(melody.pcs)
    return set(melody.pcs) | key_pcs(melody.tonic_pc, melody.mode)


def fit_octaves(tones: list[Tone], program: int) -> list[Tone]:
    _, lo, hi = TIMBRES.get(program, ("", 36, 96))
    pitches = [t.midi for t in tones]
    k = min(range(-3, 4), key=lambda k: (max(0, lo - min(pitches) - 12 * k) + max(0, max(pitches) + 12 * k - hi),
                                         abs(k)))
    return [replace(t, midi=t.midi + 12 * k) for t in tones]


# The held-out tunes (`held_out="tunes"`): other works of the same collections, none the set takes: the Essen
# files' other numbers, Ryan's, O'Neill's and Aird's works between the set's picks, the sopranos of BWV 254-438 by
# fives. A second pool (`held_out="fresh"`), other works again, is for confirming a change on tunes no one has looked
# at: the first pool's false findings have been read to make rules, so it is no longer quite unseen.
HELD_OUT_ESSEN = [(c, n) for n in (3, 7, 11, 17) for c in ESSEN_FILES]
HELD_OUT_BACH = ["bach/bwv" + str(n) for n in range(254, 439, 5) if "bach/bwv" + str(n) not in BACH]
FRESH_ESSEN = [(c, n) for n in (4, 8, 15, 19) for c in ESSEN_FILES]
FRESH_BACH = ["bach/bwv" + str(n) for n in range(256, 439, 5) if "bach/bwv" + str(n) not in BACH]
# Per pool: its Essen works, the first taken of Ryan's works (then every 37th), of O'Neill's (every 9th in each
# file) and of Aird's (every 7th), and its Bach sopranos.
POOLS = {"set": (ESSEN, 7, 3, 3, BACH), "tunes": (HELD_OUT_ESSEN, 25, 7, 6, HELD_OUT_BACH),
         "fresh": (FRESH_ESSEN, 16, 5, 1, FRESH_BACH)}


def corpus_candidates(held_out: bool | str = False) -> dict[str, list[tuple[str, int | None]]]:
    """Per collection, the works to take melodies from in turn: the set's, or (`held_out`) others of the same
    collections that the set never takes ("fresh": a second pool of others, neither the set's nor the first's)."""
    from music21 import corpus

    full = {str(p).split("/corpus/")[1]: Path(p) for p in corpus.getPaths()}
    ryans = sorted(p for p in full if p.startswith("ryansMammoth/"))

    def works(prefix: str, every: int, first: int) -> list[tuple[str, int | None]]:
        """Every `every`-th work (by its ABC X: number) of the collection's files from the `first`, file by file in
        turn."""
        per_file = []
        for rel in sorted(p for p in full if p.startswith(prefix)):
            numbers = [int(line[2:].strip()) for line in full[rel].read_text(errors="replace").splitlines()
                       if line.startswith("X:") and line[2:].strip().isdigit()]
            per_file.append([(rel, n) for n in numbers[first::every]])
        return [w for row in itertools.zip_longest(*per_file) for w in row if w is not None]

    essen, ryan, oneill, aird, bach = POOLS["fresh" if held_out == "fresh" else "tunes" if held_out else "set"]
    return {"essen": essen, "ryans": [(p, None) for p in ryans[ryan::37]], "oneills": works("oneills1850/", 9, oneill),
            "airds": works("airdsAirs/", 7, aird), "bach": [(p, None) for p in bach]}


def western_melodies(seed: int, log=print, held_out: bool | str = False) -> list[Melody]:
    out: list[Melody] = []
    candidates = corpus_candidates(held_out)
    count = sum(TARGETS.values())
    for group, target in TARGETS.items():
        kept = 0
        for path, number in candidates[group]:
            if kept == target:
                break
            k = len(out)
            program = PLUCKED[k % len(PLUCKED)] if k % 2 == 0 else SUSTAINED[(k // 2) % len(SUSTAINED)]
            articulation = ("legato", "staccato", "mixed")[k % 3]
            melody, why = load_corpus_melody(group, path, number, _target_tempo(seed, f"{path}{number}", k, count),
                                             program, articulation)
            if melody is None:
                log(f"  left out {path}{'' if number is None else f' #{number}'}: {why}")
                continue
            out.append(melody)
            kept += 1
    return out


def gugak_melodies() -> list[Melody]:
    out = []
    for k, (name, title, mode, base, bar, tokens) in enumerate(GUGAK):
        steps = PYEONGJO if mode == "pyeongjo" else GYEMYEONJO
        tones, beat = [], 0.0
        for token in tokens.split():
            step, beats = token.split(":")
            if step != "r":
                s = int(step)
                tones.append(Tone(beat, float(beats), base + 12 * (s // 5) + steps[s % 5]))
            beat += float(beats)
        program = GUGAK_PROGRAMS[k]
        tones = fit_octaves(tones, program)
        pcs = sorted({t.midi % 12 for t in tones})
        out.append(Melody(name, "gugak (traditional, transcribed from memory)", title, "gugak", "gugak",
                          float(GUGAK_TEMPI[name]), (program,), tuple(tones), float(bar),
                          ("legato", "mixed")[k % 2], (base + 12 * 10) % 12, mode, tuple(pcs)))
    return out


def chorale_mix(score, k: int, path: str) -> Melody | str:
    """The `k`-th chorale mix as the set cuts it from a four-part `score`: 60-96 BPM by `k`, 8-12 s, four voices
    (the alto left out in every third), the `k`-th scoring; or why there is none."""
    if len(score.parts) != 4:
        return "not four parts"
    voices = [_voice_events(p) for p in score.parts]
    ts = list(score.recurse().getElementsByClass("TimeSignature"))
    bar = float(ts[0].barDuration.quarterLength) if ts else 4.0
    bpm = float(60 + (k * 3) % 37)
    first = min(v[0][0] for v in voices if v)
    stop = _cut_beat([e for e in voices[0] if e[0] >= first], bpm, 8.0, 12.0)
    if stop is None:
        return "no note end between 8 and 12 s"
    keep = (0, 2, 3) if k % 3 == 2 else (0, 1, 2, 3)
    tones = [t for v in keep for t in _tones(voices[v], first, stop, voice=v)]
    if any(t.grace for t in tones):
        tones = [t for t in tones if not t.grace]
    pcs = sorted({t.midi % 12 for t in tones})
    scoring = list(POLY_SCORINGS)[k % len(POLY_SCORINGS)]
    return Melody("poly-" + path.split("/")[-1], f"music21:{path}", path, "western", "poly", bpm,
                  tuple(POLY_SCORINGS[scoring]), tuple(tones), bar, "legato", 0, "major", tuple(pcs),
                  voices=len(keep), scoring=scoring)


def chorale_mixes(seed: int, log=print) -> list[Melody]:
    from music21 import corpus

    out: list[Melody] = []
    for path in BACH[::-1] + POLY_MORE:
        if len(out) == POLY_COUNT:
            break
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mix = chorale_mix(corpus.parse(path), len(out), path)
        if isinstance(mix, str):
            if mix != "not four parts":
                log(f"  left out {path} (poly): {mix}")
            continue
        out.append(mix)
    return out


def held_out_chorales(log=print) -> list[Melody]:
    """Every four-part chorale of music21's corpus the set's mixes cannot take (BACH and POLY_MORE: about 300), cut as
    `chorale_mix` cuts the set's: material the poly check's rules were never tuned on."""
    from music21 import corpus

    taken = set(BACH) | set(POLY_MORE)
    paths = sorted({str(p).split("/corpus/")[1].rsplit(".", 1)[0]: p for p in corpus.getComposer("bach")
                    if p.suffix == ".mxl"}.items())
    out: list[Melody] = []
    for rel, path in paths:
        if rel in taken:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                mix = chorale_mix(corpus.parse(path), len(out), rel)
            except Exception as e:     # a file music21 cannot read is left out, said once
                log(f"  left out {rel}: {type(e).__name__}")
                continue
        if not isinstance(mix, str):
            out.append(mix)
    return out


# --------------------------------------------------------------------------------------------------------
# Variants
# --------------------------------------------------------------------------------------------------------


class NoErrorPossible(ValueError):
    """A melody none of whose notes admits the error a variant asks for."""


@dataclass
class Plan:
    midi: list[int]
    cents: list[float]
    offset: float
    ornaments: list[tuple[float, float, float] | None]
    graces: list[int | None]          # an added grace note (its MIDI number) before note i
    errors: list[dict]


def gate(melody: Melody, i: int) -> float:
    if melody.articulation == "legato":
        return 0.95
    if melody.articulation == "staccato":
        return 0.5
    return 0.5 if zlib.crc32(f"{melody.name}{i}".encode()) % 3 == 0 else 0.95


def sounding(melody: Melody, i: int) -> float:
    t = melody.tones[i]
    return GRACE_S if t.grace else gate(melody, i) * t.beats * melody.spb


def eligible(melody: Melody, voice: int | None = None) -> list[int]:
    idx = [i for i, t in enumerate(melody.tones) if not t.grace and (voice is None or t.voice == voice)]
    return [i for i in idx[1:-1] if sounding(melody, i) >= MIN_ERROR_S]


def _scale_step(melody: Melody, midi: int, direction: int) -> int:
    """The next tone of the tune's pitch classes above (+1) or below (-1) `midi`."""
    m = midi + direction
    while m % 12 not in melody.pcs:
        m += direction
    return m


def _error(plan: Plan, melody: Melody, i: int, kind: str, cents: float, found: float) -> None:
    plan.errors.append({"index": i, "kind": kind, "cents": cents, "expected_midi": melody.tones[i].midi,
                        "found_midi": found, "voice": melody.tones[i].voice})


def plan_variant(melody: Melody, variant: str, seed: int) -> Plan:
    n = len(melody.tones)
    midi = [t.midi for t in melody.tones]
    offset = OFFSET_CENTS if variant.endswith("offset") else 0.0
    plan = Plan(list(midi), [offset] * n, offset, [None] * n, [None] * n, [])
    rng = _rng(seed, melody.name, variant)
    pcs = allowed_pcs(melody)
    if variant.startswith("detune") or variant in ("out_of_key", "wrong_note"):
        voices = sorted({t.voice for t in melody.tones})
        inner = [v for v in voices if v not in (min(voices), max(voices))] or voices
        voice = int(rng.choice(inner)) if melody.voices > 1 else None
        options = []
        for i in eligible(melody, voice):
            m = midi[i]
            if variant in ("detune30", "detune50"):
                options += [(i, s * float(variant[6:]), m + s * float(variant[6:]) / 100) for s in (-1, 1)]
            elif variant == "detune100":
                options += [(i, 100.0 * s, float(m + s)) for s in (-1, 1) if (m + s) % 12 not in pcs]
            elif variant == "out_of_key":
                moves = [d for d in (-3, -2, -1, 1, 2, 3) if (m + d) % 12 not in pcs]
                wide = [d for d in moves if abs(d) >= 2] or moves
                options += [(i, 100.0 * d, float(m + d)) for d in wide]
            else:
                options += [(i, 100.0 * (x - m), float(x)) for x in (_scale_step(melody, m, -1),
                                                                      _scale_step(melody, m, 1)) if abs(x - m) <= 2]
        if not options:
            raise NoErrorPossible(f"no note of {melody.name} admits an error of kind {variant}")
        i, cents, found = options[int(rng.integers(len(options)))]
        kind = "wrong_note" if variant == "wrong_note" else ("out_of_key" if variant == "out_of_key"
                                                              else "detuned")
        if variant in ("out_of_key", "wrong_note"):
            plan.midi[i] = round(found)
        else:
            plan.cents[i] = offset + cents
        _error(plan, melody, i, kind, cents, found)
    if variant.startswith("ornamented"):
        orng = _rng(seed, melody.name, "ornaments")
        for i, t in enumerate(melody.tones):
            if t.grace:
                continue
            length = sounding(melody, i)
            slide = float(orng.uniform(0.08, 0.15)) if orng.random() < 1 / 3 and length >= 0.25 else 0.0
            rate = float(orng.uniform(5.0, 6.0)) if length >= 0.4 else 0.0
            plan.ornaments[i] = (slide, rate, max(float(orng.uniform(0.10, 0.15)), slide + 0.02))
            if i > 0 and orng.random() < 1 / 8 and length >= 0.2 and not slide:
                plan.graces[i] = _scale_step(melody, t.midi, 1)
    return plan


def bend_curve(plan: Plan, i: int, length_s: float) -> list[tuple[float, float]]:
    base = plan.cents[i]
    slide, rate, delay = plan.ornaments[i] or (0.0, 0.0, 0.0)
    if not slide and not rate:
        return [(0.0, base)]
    points, t = [], 0.0
    while t < length_s - BEND_STEP_S / 2:
        value = 0.0
        if slide and t < slide:
            value = -200.0 * (1.0 - t / slide)
        elif rate and t >= delay:
            value = 100.0 * min(1.0, (t - delay) / 0.15) * math.sin(2 * math.pi * rate * (t - delay))
        points.append((t, base + value))
        if not rate and t >= slide:
            break
        t = round(t + BEND_STEP_S, 6)
    return points


# --------------------------------------------------------------------------------------------------------
# Accompaniment
# --------------------------------------------------------------------------------------------------------


def _triads(melody: Melody) -> list[tuple[int, ...]]:
    """Triads on the tune's own tones (pitch classes), as root-position pitch-class triples."""
    pcs = sorted(melody.pcs)
    out = []
    for root in pcs:
        third = [p for p in (3, 4) if (root + p) % 12 in pcs]
        if third and (root + 7) % 12 in pcs:
            out.append((root, (root + third[-1]) % 12, (root + 7) % 12))
    return out


def chords(melody: Melody) -> list[tuple[float, tuple[int, ...]]]:
    """(beat, pitch classes) per bar: the triad that covers most of the bar's melody time, tonic first on ties."""
    end = max(t.beat + t.beats for t in melody.tones)
    tonic = melody.tonic_pc
    if melody.style == "gugak":
        return [(b, (tonic, (tonic + 7) % 12)) for b in np.arange(0, end, melody.bar_beats)]
    triads = _triads(melody) or [(tonic, (tonic + 4) % 12, (tonic + 7) % 12)]
    out = []
    for b in np.arange(0, end, melody.bar_beats):
        weight = np.zeros(12)
        for t in melody.tones:
            overlap = min(t.beat + t.beats, b + melody.bar_beats) - max(t.beat, b)
            if overlap > 0:
                weight[t.midi % 12] += overlap
        out.append((float(b), max(triads, key=lambda c: (sum(weight[p] for p in c), c[0] == tonic))))
    return out


def accompaniment(melody: Melody, seed: int, offset: float, tick) -> list[tuple[int, int, bytes]]:
    """Pad (channel 1), bass (2) and drums (9) as (tick, order, message) events."""
    rng = _rng(seed, melody.name, "acc")
    pad_program = (89, 48)[zlib.crc32(melody.name.encode()) % 2]
    ev: list[tuple[int, int, bytes]] = [(0, 1, program_change(1, pad_program)), (0, 1, program_change(2, 33))]
    for ch, vol in ((1, 62), (2, 88), (DRUMS, 80)):
        ev += [(0, 2, control_change(ch, 7, vol)), (0, 2, control_change(ch, 91, 30)),
               (0, 2, control_change(ch, 93, 0))]
    for ch in (1, 2):
        ev += [(0, 2, m) for m in bend_range_messages(ch, BEND_RANGE)]
        ev.append((0, 3, pitch_bend(ch, bend_value(offset, BEND_RANGE))))
    bar = melody.bar_beats
    end = max(t.beat + t.beats for t in melody.tones)
    for b, pcs in chords(melody):
        stop = min(b + bar, end)
        for pc in pcs:
            note = 48 + (pc - 48) % 12 + (12 if pc < 7 else 0)
            ev += [(tick(b), 5, note_on(1, note, 58)), (tick(stop) - 1, 4, note_off(1, note))]
        root = 36 + (pcs[0] - 36) % 12
        for half in np.arange(b, stop, max(1.0, bar / 2)):
            ev += [(tick(half), 5, note_on(2, root, 80)), (tick(min(half + bar / 2, stop)) - 1, 4, note_off(2, root))]
    gugak = melody.style == "gugak"
    for beat in np.arange(0, end, 1.0):
        k = round(beat) % int(max(1, bar))
        hits = [(36, 96)] if k == 0 else ([(38, 80)] if (k % 2 == 1 and not gugak) else [])
        if gugak and k == int(bar) - 1:
            hits.append((45, 70))
        for h in ((0.0, 42), (0.5, 42)) if not gugak else ((0.0, 42),):
            hits.append((h[1], int(50 + rng.integers(0, 20))))
        for note, vel in hits:
            ev += [(tick(beat), 5, note_on(DRUMS, note, vel)), (tick(beat) + 60, 4, note_off(DRUMS, note))]
    return ev


# --------------------------------------------------------------------------------------------------------
# MIDI and rendering
# --------------------------------------------------------------------------------------------------------


def build(melody: Melody, plan: Plan, accompanied: bool, seed: int,
          only_voice: int | None = None) -> tuple[bytes, dict, float]:
    """The MIDI file, its truth and the last note's end (s); `only_voice`: that voice's notes alone sound."""
    sec = melody.spb / TPB
    pre = round(PREROLL_S / sec)

    def tick(beat: float) -> int:
        return pre + round(beat * TPB)

    vrng = _rng(0, melody.name, "velocity")
    channels = sorted({t.voice for t in melody.tones})
    events: list[tuple[int, int, bytes]] = [(0, 0, tempo_event(melody.tempo))]
    chan_of = {v: (k if k < DRUMS else k + 1) for k, v in enumerate(channels)}
    if accompanied:
        chan_of = {v: 0 for v in channels}
    for v, ch in chan_of.items():
        program = melody.programs[min(v, len(melody.programs) - 1)] if melody.voices > 1 else melody.programs[0]
        events += [(0, 1, program_change(ch, program))]
        events += [(0, 2, m) for m in bend_range_messages(ch, BEND_RANGE)]
        vol = 100 if melody.voices == 1 else 84
        events += [(0, 2, control_change(ch, c, x)) for c, x in ((7, vol), (10, 64), (91, 25), (93, 0))]
    bends: dict[int, list[tuple[int, float]]] = {ch: [(0, plan.offset)] for ch in set(chan_of.values())}
    notes = []
    delayed = 0
    for i, t in enumerate(melody.tones):
        ch = chan_of[t.voice]
        on = tick(t.beat)
        if delayed and not t.grace:          # the grace note before it sounded first
            on, delayed = on + delayed, 0
        if t.grace:
            length = round(GRACE_S / sec)
            end_tick = on + length
            off = end_tick
        else:
            end_tick = tick(t.beat + t.beats)
            off = on + max(1, round(gate(melody, i) * (end_tick - on)))
        start = on
        # a release still bending when this note starts (after a grace note, which has no gap) gives way to it
        bends[ch] = [(tk, c) for tk, c in bends[ch] if tk < start]
        vel = int(np.clip(88 + 8 * (t.beats >= 1.5) + vrng.normal(0, 5), 60, 112))
        if plan.graces[i] is not None:                 # an added grace note, taken from this note's start
            g = round(GRACE_S / sec)
            bends[ch].append((on, plan.offset))
            events += [(on, 5, note_on(ch, plan.graces[i], vel - 10)), (on + g - 1, 4, note_off(ch, plan.graces[i]))]
            on += g
        if t.grace:
            delayed = end_tick - on
        for s, c in bend_curve(plan, i, (end_tick - on) * sec):
            bends[ch].append((on + round(s / sec), c))
        # the release rings at the note's own pitch (a sour note stays sour as it dies away), without its vibrato
        bends[ch].append((off + 1, plan.cents[i]))
        if only_voice is None or t.voice == only_voice:
            events += [(on, 5, note_on(ch, plan.midi[i], vel)), (off, 4, note_off(ch, plan.midi[i]))]
        note = {"start": round(start * sec, 6), "end": round(end_tick * sec, 6),
                "sounding_s": round((off - start) * sec, 4), "midi": plan.midi[i], "cents": plan.cents[i],
                "voice": t.voice, "grace": t.grace}
        if plan.ornaments[i] is not None:
            slide, rate, _ = plan.ornaments[i]
            note["ornament"] = "+".join(x for x, on_ in (("slide", slide), ("vibrato", rate)) if on_)
        if plan.graces[i] is not None:
            note["grace_before"] = plan.graces[i]
        notes.append(note)
    for ch, points in bends.items():
        merged: dict[int, float] = {}
        for tk, c in points:
            merged[tk] = c
        current = None
        for tk in sorted(merged):
            value = bend_value(merged[tk], BEND_RANGE)
            if value != current:
                events.append((tk, 3, pitch_bend(ch, value)))
                current = value
    if accompanied:
        events += accompaniment(melody, seed, plan.offset, tick)
    last = max(tick(t.beat + t.beats) for t in melody.tones)
    errors = []
    for e in plan.errors:
        n = notes[e["index"]]
        errors.append({"start": n["start"], "end": n["end"], "sounding_s": n["sounding_s"], **e})
    truth = {"tuning_offset_cents": plan.offset, "notes": notes, "errors": errors}
    return smf_bytes(events, last + round(TAIL_S / sec), TPB), truth, last * sec


def finish(audio: np.ndarray, last_end_s: float) -> np.ndarray:
    mono = audio.mean(axis=0)
    stop = min(len(mono), math.ceil((last_end_s + 0.8) * SAMPLE_RATE))
    out = mono[:stop].astype(np.float64)
    fade = min(round(0.03 * SAMPLE_RATE), len(out))
    out[-fade:] *= 0.5 + 0.5 * np.cos(np.linspace(0, np.pi, fade))
    peak = np.abs(out).max()
    if peak <= 0:
        raise RuntimeError("fluidsynth rendered silence")
    return (out * (10 ** (PEAK_DB / 20) / peak)).astype(np.float32)


def truth_path(wav: Path) -> Path:
    return wav.with_name(wav.stem + ".truth.json")


def is_done(wav: Path, seed: int) -> bool:
    try:
        t = json.loads(truth_path(wav).read_text())
        return wav.exists() and t.get("seed") == seed and t.get("version") == VERSION
    except (OSError, ValueError):
        return False


def file_name(melody: Melody, variant: str, accompanied: bool) -> str:
    return f"{melody.name}_{variant}{'_acc' if accompanied else ''}.wav"


def render_file(melody: Melody, variant: str, accompanied: bool, seed: int, out_dir: Path, exe: str,
                soundfont: Path, workdir: Path) -> None:
    wav = out_dir / file_name(melody, variant, accompanied)
    midi, truth, last = build(melody, plan_variant(melody, variant, seed), accompanied, seed)
    audio = finish(render_midi(exe, soundfont, midi, workdir, wav.stem, SAMPLE_RATE, options=FLUIDSYNTH_OPTIONS),
                   last)
    head = {"melody": melody.name, "source": melody.source, "title": melody.title, "style": melody.style,
            "group": melody.group, "set": "poly" if melody.voices > 1 else "mono", "variant": variant,
            "accompanied": accompanied, "programs": list(melody.programs), "scoring": melody.scoring,
            "voices": melody.voices, "tempo_bpm": melody.tempo, "articulation": melody.articulation,
            "tonic_pc": melody.tonic_pc, "mode": melody.mode, "pcs": list(melody.pcs), "sample_rate": SAMPLE_RATE,
            "seed": seed, "version": VERSION, "seconds": round(len(audio) / SAMPLE_RATE, 6)}
    tmp = wav.with_name(f".{wav.stem}.partial.wav")
    sf.write(tmp, audio, SAMPLE_RATE, subtype="PCM_16")
    wav.with_suffix(".rendered.json").unlink(missing_ok=True)     # measured on the file it replaces
    os.replace(tmp, wav)
    tmp_json = wav.with_name(f".{wav.stem}.partial.json")
    tmp_json.write_text(json.dumps({**head, **truth}, indent=1) + "\n")
    os.replace(tmp_json, truth_path(wav))


SOUR_RENDERING_CENTS = 25.0


def _peak_cents(x: np.ndarray, midi: float, rate: int) -> float | None:
    """How far a sounding note sits from `midi`: the median over its first three partials of the zero-padded
    spectrum's peak within 70 cents of each."""
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    n = 1 << 19
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)), n))
    freqs = np.fft.rfftfreq(n, 1 / rate)
    found = []
    for h in (1, 2, 3):
        lo, hi = np.searchsorted(freqs, [h * f0 * 2 ** (-0.7 / 12), h * f0 * 2 ** (0.7 / 12)])
        if hi > lo and h * f0 < rate * 0.45:
            k = lo + int(np.argmax(spectrum[lo:hi]))
            if spectrum[k] > 1e-2 * spectrum.max():
                found.append(1200 * np.log2(freqs[k] / (h * f0)))
    return float(np.median(found)) if found else None


def rendered_cents(clean_wav: Path) -> list[float | None]:
    """Per note of a clean melody (a chorale mix: each voice rendered alone), how far its rendering sounds from the
    written pitch (on its sounding part). FluidR3's choir sounds D4 45 cents flat and G4 40 sharp.
    A soundfont's sample can be tens of cents off, or flat in its attack, which is all a short note plays (FluidR3's
    violin at A5 played staccato sounds 36 cents flat): a finding there is right about the audio, though no error was
    injected, so the benchmark scores notes rendered `SOUR_RENDERING_CENTS` or more off apart. Kept beside the
    file as .rendered.json."""
    cache = clean_wav.with_suffix(".rendered.json")
    if cache.exists():
        return json.loads(cache.read_text())
    truth = json.loads(truth_path(clean_wav).read_text())
    if truth["set"] == "poly":
        voices, rate = _voices_alone(clean_wav.parent, truth), SAMPLE_RATE
    else:
        audio, rate = sf.read(clean_wav, dtype="float32", always_2d=True)
        voices = dict.fromkeys({note["voice"] for note in truth["notes"]}, audio.mean(axis=1))
    out = []
    for note in truth["notes"]:
        x = voices[note["voice"]]
        a, b = round(note["start"] * rate), round((note["start"] + note["sounding_s"]) * rate)
        out.append(None if note["grace"] or b - a < 0.04 * rate else _peak_cents(x[a:b], note["midi"], rate))
    out = [None if c is None else round(c, 1) for c in out]     # as cached: the first run reads what later ones do
    tmp = cache.with_name(f".{cache.name}.partial")
    tmp.write_text(json.dumps(out) + "\n")
    os.replace(tmp, cache)
    return out


def _voices_alone(out_dir: Path, truth: dict) -> dict[int, np.ndarray]:
    """Each voice of a clean chorale mix rendered alone (in a mix, one voice's partials sit on another's)."""
    # whichever melodies the folder holds: the set's, or the held-out chorales'
    melody = next(m for m in melodies(out_dir, truth["seed"], held_out=None) if m.name == truth["melody"])
    plan = plan_variant(melody, "clean", truth["seed"])
    exe, soundfont = ensure_tools()
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for v in sorted({t.voice for t in melody.tones}):
            midi, _, _ = build(melody, plan, False, truth["seed"], only_voice=v)
            audio = render_midi(exe, soundfont, midi, Path(tmp), f"voice{v}", SAMPLE_RATE, options=FLUIDSYNTH_OPTIONS)
            out[v] = audio.mean(axis=0)
    return out


def sour_renderings(cents: list[float | None]) -> list[int]:
    """The notes of a melody (`rendered_cents` of its clean file) whose clean rendering sounds `SOUR_RENDERING_CENTS`
    or more off the rest of the tune (measured against the median of its notes, as a listener's ear settles on the
    tune's own tuning); more than 60 cents off is a measurement that caught a neighbour, not the note."""
    known = [c for c in cents if c is not None]
    if not known:
        return []
    centre = float(np.median(known))
    return [i for i, c in enumerate(cents) if c is not None and SOUR_RENDERING_CENTS <= abs(c - centre) <= 60]


def _held_out_kind(held_out: bool | str | None) -> bool | str | None:
    # True meant the held-out chorales before there were held-out tunes (callers, and caches written then)
    return "chorales" if held_out is True else held_out


def melodies(out_dir: Path, seed: int, log=print, held_out: bool | str | None = False) -> list[Melody]:
    """The set's melodies, or the held-out ones (`held_out`: "chorales", the held-out chorale mixes, True as well;
    "tunes", melodies of the same collections the set never takes; "fresh", a second pool of those), read from the
    corpus once and kept in
    OUT_DIR/melodies.json; `held_out=None`: whichever OUT_DIR holds."""
    out_dir.mkdir(parents=True, exist_ok=True)
    kind = _held_out_kind(held_out)
    cache = out_dir / "melodies.json"
    if cache.exists():
        data = json.loads(cache.read_text())
        held = _held_out_kind(data.get("held_out", False))
        if (data.get("seed"), data.get("version"), data.get("poly_count")) == (seed, VERSION, POLY_COUNT) \
                and kind in (None, held):
            return [Melody(**{**m, "programs": tuple(m["programs"]), "pcs": tuple(m["pcs"]),
                              "tones": tuple(Tone(**t) for t in m["tones"])}) for m in data["melodies"]]
    if kind == "chorales":
        found = held_out_chorales(log)
    elif kind in ("tunes", "fresh"):
        found = western_melodies(seed, log, held_out=kind)
    else:
        found = western_melodies(seed, log) + gugak_melodies() + chorale_mixes(seed, log)
    doc = {"seed": seed, "version": VERSION, "poly_count": POLY_COUNT, "held_out": kind or False, "melodies": [
        {**{k: v for k, v in vars(m).items() if k not in ("tones", "extra")},
         "tones": [vars(t) for t in m.tones]} for m in found]}
    tmp = cache.with_name(".melodies.partial.json")
    tmp.write_text(json.dumps(doc) + "\n")
    os.replace(tmp, cache)
    return found


def prepare(out_dir: Path, seed: int = 0, *, workers: int = 2, verbose: bool = True,
            held_out: bool | str = False) -> list[Path]:
    """Make (or reuse) the set in `out_dir`; the WAV paths, melody by melody. `held_out`: "chorales" (or True), the
    held-out chorale mixes instead (`held_out_chorales`, HELD_OUT_VARIANTS); "tunes", held-out melodies of the same
    collections, made as the set's are (every variant, solo and accompanied); "fresh", a second pool of those; each in
    a folder of its own."""
    log = print if verbose else (lambda *a, **k: None)
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    todo, paths = [], []
    for m in melodies(out_dir, seed, log, held_out):
        variants = POLY_VARIANTS if m.voices > 1 else MONO_VARIANTS
        if _held_out_kind(held_out) == "chorales":
            variants = HELD_OUT_VARIANTS
        for acc in ((False,) if m.voices > 1 else (False, True)):
            for v in variants:
                if not admits(m, v, seed):
                    continue
                wav = out_dir / file_name(m, v, acc)
                paths.append(wav)
                if not is_done(wav, seed):
                    todo.append((m, v, acc))
    if todo:
        exe, soundfont = ensure_tools(log)
        log(f"rendering {len(todo)} files with {exe} and {soundfont}")
        with tempfile.TemporaryDirectory(prefix="pitch-set-") as tmp, ThreadPoolExecutor(max(1, workers)) as pool:
            for fut in [pool.submit(render_file, m, v, a, seed, out_dir, exe, soundfont, Path(tmp))
                        for m, v, a in todo]:
                fut.result()
    log(f"{len(paths)} files in {out_dir} ({len(todo)} rendered) in {time.perf_counter() - started:.0f} s")
    return paths


def admits(melody: Melody, variant: str, seed: int) -> bool:
    """Whether `variant` can be made of `melody` (a mix whose inner voice has no note with a tone left to move it
    to admits no `out_of_key` error)."""
    try:
        plan_variant(melody, variant, seed)
    except NoErrorPossible:
        return False
    return True


def summarise(paths: list[Path]) -> None:
    truths = [json.loads(truth_path(p).read_text()) for p in paths]
    seen = {}
    for t in truths:
        seen.setdefault(t["melody"], t)
    print(f"{'melody':28s} {'group':8s} {'timbre':13s} {'BPM':>5s} {'art.':8s} {'notes':>5s} {'short':>5s} "
          f"{'sec':>5s}  pcs")
    for t in seen.values():
        lengths = [n["sounding_s"] for n in t["notes"] if not n["grace"]]
        timbre = t["scoring"] or TIMBRES.get(t["programs"][0], (str(t["programs"][0]),))[0]
        print(f"{t['melody'][:28]:28s} {t['group']:8s} {timbre:13s} {t['tempo_bpm']:5.0f} {t['articulation']:8s} "
              f"{len(lengths):5d} {sum(x < 0.15 for x in lengths):5d} {t['seconds']:5.1f}  "
              f"{len(t['pcs'])}")
    lengths = [n["sounding_s"] for t in seen.values() for n in t["notes"] if not n["grace"]]
    print(f"{len(seen)} melodies, {len(truths)} files, {sum(t['seconds'] for t in truths) / 60:.0f} min; note "
          f"lengths (sounding) 5/50/95 %: " + "/".join(f"{q:.2f}" for q in np.percentile(lengths, [5, 50, 95]))
          + f" s; tempi {min(t['tempo_bpm'] for t in seen.values()):.0f}-"
          f"{max(t['tempo_bpm'] for t in seen.values()):.0f} BPM; "
          f"{len({p for t in seen.values() for p in t['programs']})} timbres")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    held = parser.add_mutually_exclusive_group()
    held.add_argument("--held-out-chorales", action="store_true",
                      help="make the held-out chorale mixes (clean and out_of_key) in OUT_DIR instead of the set")
    held.add_argument("--held-out-tunes", action="store_true",
                      help="make held-out melodies (other works of the set's collections, every variant) in OUT_DIR")
    held.add_argument("--fresh-tunes", action="store_true",
                      help="make the second pool of held-out melodies, for confirming a change on tunes no one has "
                           "looked at, in OUT_DIR")
    args = parser.parse_args(argv)
    kind = "chorales" if args.held_out_chorales else "tunes" if args.held_out_tunes else \
        "fresh" if args.fresh_tunes else False
    summarise(prepare(args.out_dir, args.seed, workers=args.workers, held_out=kind))
    return 0


if __name__ == "__main__":
    sys.exit(main())
