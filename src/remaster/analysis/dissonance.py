"""The dissonance check: sour notes with their times, a score per window and for the take.

    result = check(audio, 44100, style="gugak")
    for f in result.findings:
        print(f.start, f.end, f.kind, f.cents, f.expected, f.found)

Steps: pitch (`pitch`: SwiftF0 or CREPE), notes with their stable centres (`notes`), the take's tuning reference
and scale (`tuning`), then per note its deviation from the tuning grid and whether it lies outside the scale.
A note is `detuned` when its centre is more than `tolerance_cents` off the grid and as far off how the take sounds
that tone on its other notes (`tuning.own_intonation`), `out_of_key` when it sits on the grid but outside the
scale, unless an accompaniment holds its tone under it (`multipitch.held_under`). Where the tracker follows a bass
or a pad under the tune, the notes are read from the mix's top line instead (`voices: melody`,
`multipitch.melody_track`); in a mix of several voices (`voices: poly`) every voice is read, those
Basic Pitch missed from the spectrum (`missed`), and a note is out of key when its tone is rare in the mix and it
clashes with the chord it sounds in, or makes none (a triad, or a seventh chord the others began). Stretches with
no usable pitch but a tonal spectrum (chords, dense polyphony) get a Plomp–Levelt roughness (`roughness`); long
enough rough stretches are `rough` findings (not in a mix read as `poly`, whose voices are judged one by one).

The score of a stretch is the share of its pitched time that is sour, in percent, each sour note weighted by
how sour it is (an out-of-key note, or one 50 cents or more off, counts fully). It orders takes from best to
worst: the re-generation loop keeps the take with the fewest findings, then the lowest score.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import soxr
from pydantic import model_validator

from ..params import Params, param
from .keyfinding import home_tones, likely_tones, moved_to
from .notes import Note, NoteParams, find_notes, runs
from .pitch import CREPE_RATE, MODELS, PitchTrack, track_pitch
from .roughness import roughness_track
from .tuning import (
    SCALES,
    Scale,
    declared_scale,
    deviation,
    estimate_reference,
    estimate_scale,
    grid_step,
    in_key,
    kept_pitch_classes,
    melody_key,
    note_name,
    own_intonation,
    pitch_class,
    second_reading,
)

if TYPE_CHECKING:
    from .multipitch import Posteriorgrams

Style = Literal["western", "gugak", "auto"]
# How far a stable note centre may sit from the grid. Gugak intonation bends scale tones on purpose
# (계면조's bent-down tones), so its default tolerance is wider. `auto` judges a take whose scale reads as a major
# or minor mode as western, and one that reads pentatonic (it may be gugak, or a folk tune) with AUTO_PENTATONIC.
TOLERANCE = {"western": 25.0, "gugak": 35.0, "auto": 25.0}
AUTO_PENTATONIC_TOLERANCE = 30.0
FULL_SOUR_CENTS = 50.0
# Notes shorter than SURE_S (as tracked: the attack and the release lose their pitch) are judged with a tolerance of
# SHORT_TOLERANCE cents: only on which tone they are (out of key or not), never on their intonation. A vibrato or a
# slide caught over a tenth of a second moves the centre by 40-50 cents (the evaluation set's ornamented takes).
SURE_S = 0.15
SHORT_TOLERANCE = 50.0
# ... and in a plain take (see PLAIN_TAKE_SHARE) with PLAIN_SHORT_TOLERANCE: no vibrato or slide moves their centre,
# though a tenth of a second of pitch is less sure than a held note's. (On the evaluation set: 35 flags a third
# ornamented accompanied take, 5.8 %, and drops precision to 90.6 %; 40 finds 3 more of the sour 0.10-0.15 s notes
# and 2 more 30-cent slips for one false finding more, at 43.6 cents.)
PLAIN_SHORT_TOLERANCE = 40.0
# Notes with vibrato wider than ORNATE_VIBRATO_CENTS, or holding no steady pitch, at least ORNATE_TOLERANCE.
ORNATE_VIBRATO_CENTS = 25.0
ORNATE_TOLERANCE = 35.0
# A steady note this brief that touches an ornamented note near its pitch is a piece of that note.
ORNAMENT_PIECE_S = 0.25
# A take is plain when at most PLAIN_TAKE_SHARE of its heard notes are ornamented; there a note is judged against
# the take's own intonation of its tone when OWN_WITNESSES other sure notes sound it. (On the evaluation set the
# takes played plainly have at most 0.12 of their notes ornamented, one accompanied take 0.23 where the tracker
# fell to the bass; the ornamented takes 0 to 0.68. Where the ornaments are many, the centres of the few steady
# notes are less sure too: two such takes had an in-tune note judged 28 and 34 cents off its witnesses.)
PLAIN_TAKE_SHARE = 0.15
OWN_WITNESSES = 2
# Judged so, against the take's own intonation of its tone, a note of a tune is allowed PLAIN_OWN_TOLERANCE at most,
# whatever wider tolerance its style or its pentatonic reading gives off the grid: those are for tones a tradition
# bends on purpose (계면조), and a take that bends a tone so sounds it so on its other notes too, its witnesses. A
# 농현 note is ornamented (ORNATE_TOLERANCE), and a take with many ornaments is not plain: neither is judged so.
# Not in a mix read as `poly`, whose centres are less sure (POLY_TOLERANCE). (Set, gugak tunes under `gugak`: 30-cent
# slips found 0/14 -> 10/14, nothing flagged still; under `auto` 30-cent recall 66.7 -> 72.6 % on the set, 68.8 ->
# 73.4 % and 62.9 -> 64.3 % on the held-out tune pools, 50-cent 89.6 -> 90.1 % on the first; no false finding more
# and nothing found lost on any pool.)
PLAIN_OWN_TOLERANCE = 25.0
# ... where the note itself held a steady pitch for SURE_S or more: a note that lasts 0.15 s but holds still for less
# has a centre less sure than its witnesses', and is judged against the grid as a take that is not plain judges it.
# (0351-0400-356, second pool: a D5 of 0.18 s over its pad, steady for 0.14 s, 11 cents flat of the grid and 26 under
# its nine witnesses, which the take sounds 1 to 22 cents sharp: `detuned` in 5 accompanied takes, the clean one
# among them. Cached trials, stop 67: those 5 false findings fewer, precision 92.9 -> 94.4 %; errors of 0.15 s or more
# found as before on every pool (the set's boehme10-13, a 30-cent slip on a tone the soundfont renders sour, found
# over its pad and no longer solo), two 30-cent slips of 0.11 s no longer (bwv66.6, book3-402). Steady for 0.2 s asked
# instead: 30-cent recall 74.4 -> 72.0 % on the set, 76.6 -> 71.9 % on the held-out tunes.)
# ... but a note within LONGEST_NEAR cents of the grid, held at least as long as every witness of its tone, is judged
# against the grid alone: its long steady centre is the surest reading of how the take sounds that tone, and a take's
# brief notes may read sharper than its long ones. (0550-0625-557, held-out tunes: a recorder's D5 held 1.27 s at -10
# cents from the grid, its four brief D5s over the pad +18 to +20, the median of its six witnesses +18, so 28 cents
# flat of them: `detuned` in 6 accompanied takes. Cached trials: those 6 false findings fewer, nothing else changed on
# any pool; at 20 cents the same. Without the limit, a slip on a tone's longest note is judged off the grid alone:
# 30-cent recall 74.4 -> 69.5 % on the set, 71.4 -> 57.1 % on the gugak tunes under `gugak`.)
LONGEST_NEAR = 12.0
# In a mix of several voices (`voices: poly`) a note's centre is read from Basic Pitch's pitch contour, three bins to
# a semitone, between bins by a parabola, with other voices' partials close by: less sure than a tracked line. (On the
# evaluation set's 36 chorale mixes: clean mixes flagged 5, from 8 at 25, most of those on choir notes read 30-36
# cents flat; 50-cent errors in one voice found 12, as at 25; at 38, 9.)
POLY_TOLERANCE = 35.0
# An unsteady "note" whose pitch spreads wider than this (half its 5-95 % range, in cents) is a glide or the tracker
# hopping between voices: no centre of it can be judged. Real vibrato (농현 included) reaches about ±100 cents.
MAX_SPREAD_CENTS = 300.0


class ScaleSpec(Params):
    """A scale the preset declares instead of the one found in the take."""

    tonic: str = param(unit="note", description="tonic note name, e.g. Eb")
    mode: Literal[tuple(SCALES)] | None = param(None, unit="choice",   # type: ignore[valid-type]
                                                description="a mode from the scale table (major, gyemyeonjo ...)")
    degrees: list[int] | None = param(None, unit="semitones", description="semitones above the tonic, instead of "
                                      "a mode")

    @model_validator(mode="after")
    def _one_of(self) -> ScaleSpec:
        try:
            pitch_class(self.tonic)
        except ValueError as e:
            raise ValueError(str(e)) from None
        if (self.mode is None) == (self.degrees is None):
            raise ValueError("give either mode or degrees")
        return self


class CheckParams(Params):
    """Every setting of the check, with its default: the `dissonance` stage's parameters build on these."""

    style: Style = param("auto", unit="choice", description="which scales are considered, and how much ornament "
                         "is tolerated: western (major/minor), gugak (평조/계면조), auto (all)")
    model: Literal[MODELS] = param("swiftf0", unit="choice",  # type: ignore[valid-type]
                                   description="pitch tracker: swiftf0 (SwiftF0, the fastest and most accurate on "
                                   "the evaluation set), or CREPE tiny or full")
    voices: Literal["auto", "mono", "melody", "poly"] = param(
        "auto", unit="choice", description="mono: one tracked melody line; melody: the highest line of a mix (Basic "
        "Pitch's pitch contour), for a tune over an accompaniment that the tracker would follow instead; poly: every "
        "voice of a mix (Basic Pitch multi-pitch model); auto: decided from the audio")
    hop_s: float = param(0.02, unit="s", ge=0.005, le=0.1, description="pitch frame hop")
    device: str = param("auto", unit="device", description="auto, cpu, cuda, cuda:N, mps")
    batch_size: int = param(192, unit="frames", ge=1, le=8192, description="CREPE frames per batch")
    tolerance_cents: float | None = param(None, unit="cents", ge=5, le=50, description="how far a stable note centre "
                                          "may sit from the grid, and from how the take sounds the same tone "
                                          "elsewhere; default by style: western 25, gugak 35, auto 25 (30 where the "
                                          "take reads pentatonic), 35 in a mix read as poly (50 for notes held under "
                                          "0.15 s, 40 in a take with few ornamented notes; at least 35 for "
                                          "ornamented ones; in a take with few ornamented notes, at most 25 from "
                                          "how two or more other notes sound the tone)")
    min_periodicity: float = param(0.5, unit="fraction", ge=0.0, le=1.0,
                                   description="frames CREPE is less sure of than this have no pitch")
    min_sour_s: float = param(0.12, unit="s", ge=0.0, le=10.0, description="shortest sour note that is a finding "
                         "(its length as tracked: a note that sounds 0.15 s keeps its pitch for about 0.12 s; a "
                         "shorter one too where Basic Pitch's melody line holds it 0.15 s or more)")
    scale: ScaleSpec | None = param(None, unit="scale", description="declare the scale instead of estimating it")
    reference_cents: float | None = param(None, unit="cents", ge=-50, le=50,
                                          description="tuning offset from A = 440 Hz 12-TET; default: estimated")
    notes: NoteParams = param(unit="settings", default_factory=NoteParams,
                              description="how the pitch track is cut into notes")
    roughness_threshold: float = param(0.16, unit="roughness", ge=0.0, le=10.0,
                                       description="Plomp-Levelt roughness above which a tonal stretch is rough; "
                                       "calibrated on real mixes: in-tune Bach chorales and tunes over an "
                                       "accompaniment reach 0.15 over half a second, two triads a semitone apart "
                                       "0.17, a cluster of four semitones 0.19")
    min_rough_s: float = param(0.5, unit="s", ge=0.05, le=60.0, description="shortest rough stretch that is a "
                               "finding")
    window_s: float = param(5.0, unit="s", ge=0.5, le=600.0, description="length of the windows scored in the "
                            "report")
    quiet_db: float = param(20.0, unit="dB", ge=0.0, le=120.0, description="notes this far below the loud ones "
                            "(release tails, far background lines) are not judged")


@dataclass(frozen=True)
class Finding:
    start: float                  # seconds
    end: float
    kind: str                     # detuned | out_of_key | rough
    cents: float                  # detuned: off the grid; out_of_key: from the nearest scale tone; rough: 0
    found: str = ""               # e.g. "F#4+3"
    expected: str = ""            # e.g. "G4-2" (the nearest scale tone on the take's grid)
    found_hz: float | None = None
    expected_hz: float | None = None
    severity: float = 1.0         # 0..1
    roughness: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("start", "end"):
            d[key] = round(d[key], 3)
        for key in ("cents", "found_hz", "expected_hz", "severity", "roughness"):
            if d[key] is not None:
                d[key] = round(d[key], 2 if key != "roughness" else 4)
        return {k: v for k, v in d.items() if v not in (None, "")}


@dataclass(frozen=True)
class Window:
    start: float
    end: float
    pitched_s: float
    score: float
    roughness: float | None


@dataclass
class Check:
    findings: list[Finding]
    notes: list[Note]
    reference_cents: float
    scale: Scale | None
    score: float
    windows: list[Window]
    pitched_s: float
    seconds: float
    track: PitchTrack | None = field(default=None, repr=False)
    voices: str = "mono"

    def summary(self) -> dict[str, Any]:
        return {
            "findings": [f.to_dict() for f in self.findings],
            "score": round(self.score, 2),
            "notes": len(self.notes),
            "pitched_s": round(self.pitched_s, 2),
            "tuning_reference_cents": round(self.reference_cents, 1),
            "tuning_reference_hz": round(_hz(6900.0 + self.reference_cents), 2),
            "scale": self.scale.name if self.scale else None,
            "scale_fit": round(self.scale.fit, 3) if self.scale else None,
            "voices": self.voices,
            "windows": [{"start": round(w.start, 2), "end": round(w.end, 2), "pitched_s": round(w.pitched_s, 2),
                         "score": round(w.score, 2),
                         **({"roughness": round(w.roughness, 4)} if w.roughness is not None else {})}
                        for w in self.windows],
        }


def _hz(cents: float) -> float:
    return 440.0 * 2 ** ((cents - 6900.0) / 1200.0)


def judge(note: Note, reference: float, scale: Scale | None, tolerance: float,
          min_sour_s: float = 0.15, short_tolerance: float = SHORT_TOLERANCE) -> Finding | None:
    """A finding for one note, or None when it is in tune and in the scale, or too brief to be heard as sour."""
    length = max(note.stable_s, note.duration)
    if length < min_sour_s or (not note.steady and note.vibrato_cents > MAX_SPREAD_CENTS):
        return None
    if length < SURE_S:
        # a note heard this briefly: only a steady one, and only when clearly off (the tracker's centre of a tenth
        # of a second is less sure, and a slip that short is not heard as sour): `short_tolerance`
        if not note.steady:
            return None
        tolerance = max(tolerance, short_tolerance)
    elif _ornate(note):
        # an ornamented note (vibrato, slides) is judged on its centre over them, which is less sure
        tolerance = max(tolerance, ORNATE_TOLERANCE)
    off, step = deviation(note.centre, reference)
    grid = reference + 100.0 * step
    if abs(off) > tolerance:
        # off the grid: measured from the nearest scale tone (a note 51 cents above D in C major is a sharp D,
        # not a flat E-flat)
        expected = _nearest_in_scale(note.centre, reference, scale) if scale is not None else grid
        cents = note.centre - expected
        severity = min(1.0, abs(cents) / FULL_SOUR_CENTS)
        return Finding(note.start, note.end, "detuned", cents, note_name(note.centre), note_name(expected),
                       _hz(note.centre), _hz(expected), severity)
    if length < SURE_S and abs(off) > ORNATE_TOLERANCE:
        return None     # a brief note nearly between two tones: which of them it is, is not sure either
    if scale is not None and step % 12 not in scale.pitch_classes:
        expected = _nearest_in_scale(note.centre, reference, scale)
        return Finding(note.start, note.end, "out_of_key", note.centre - expected, note_name(note.centre),
                       note_name(expected), _hz(note.centre), _hz(expected), 1.0)
    return None


def _ornate(note: Note) -> bool:
    """An ornamented note: vibrato wider than ORNATE_VIBRATO_CENTS, or no steady pitch (slides)."""
    return not note.steady or note.vibrato_cents > ORNATE_VIBRATO_CENTS


def _sure(note: Note) -> bool:
    """A note whose centre is sure: held steady for SURE_S or longer, without wide vibrato."""
    return not _ornate(note) and max(note.stable_s, note.duration) >= SURE_S


def _judge_heard(note: Note, reference: float, scale: Scale | None, tolerance: float, min_sour_s: float,
                 own: dict[int, dict[int, float]], plain: bool = False,
                 own_tolerance: float | None = None, longest: dict[int, float] | None = None) -> Finding | None:
    """`judge`, where a note off the grid is `detuned` only when it is also off how the take sounds that tone on
    its other notes (their median offset, `tuning.own_intonation`; the note itself is no witness of its own
    intonation). Of two notes on one tone, the one off the grid is still found: the other is on the grid.

    In a `plain` take (see PLAIN_TAKE_SHARE), where OWN_WITNESSES or more other notes sound the tone, the note is
    judged against them alone: a slip of 30 cents on a tone the take sounds 10 cents the other way elsewhere is 40
    cents off it, though 20 off the grid (the global reference sits between the takes' tones). There it is allowed
    `own_tolerance` (default `tolerance`; see PLAIN_OWN_TOLERANCE). Not a note near the grid held at least as long
    as every witness of its tone (`longest`: per grid tone, the longest witness; see LONGEST_NEAR), nor one held
    steady for less than SURE_S (see PLAIN_OWN_TOLERANCE), whose centre is less sure than its witnesses'.

    A brief note (under SURE_S) off the grid by more than its wider tolerance is not excused by the other notes of
    its tone: that tolerance already allows for how unsure its centre is, and one other note 13 cents flat had let a
    0.14 s note 49 cents flat pass."""
    others = [off for i, off in own.get(grid_step(note.centre, reference), {}).items() if i != id(note)]
    own_reference = reference + float(np.median(others)) if others else None
    short = PLAIN_SHORT_TOLERANCE if plain else SHORT_TOLERANCE
    if (own_reference is not None and plain and len(others) >= OWN_WITNESSES and note.stable_s >= SURE_S
            and not _held_longest(note, reference, longest)):
        return judge(note, own_reference, scale, tolerance if own_tolerance is None else own_tolerance, min_sour_s,
                     short)
    finding = judge(note, reference, scale, tolerance, min_sour_s, short)
    if finding is None or finding.kind != "detuned" or max(note.stable_s, note.duration) < SURE_S:
        return finding
    if own_reference is not None and judge(note, own_reference, scale, tolerance, min_sour_s, short) is None:
        return None
    return finding


def _held_longest(note: Note, reference: float, longest: dict[int, float] | None) -> bool:
    """Whether `note` lies within LONGEST_NEAR cents of the grid and is held at least as long as the longest witness
    of its tone (`longest`)."""
    off, step = deviation(note.centre, reference)
    return (longest is not None and step in longest and abs(off) <= LONGEST_NEAR
            and max(note.stable_s, note.duration) >= longest[step])


def _plain(heard: Sequence[Note]) -> bool:
    """Whether a take plays plainly: few of its notes ornamented (vibrato over ORNATE_VIBRATO_CENTS, or no steady
    pitch), so that the centres of its notes, and its own intonation of each tone, are sure."""
    return bool(heard) and float(np.mean([_ornate(n) for n in heard])) <= PLAIN_TAKE_SHARE


def _tolerance(p: CheckParams, chosen: Scale | None, voices: str) -> float:
    if p.tolerance_cents is not None:
        return p.tolerance_cents
    if voices == "poly":
        return max(TOLERANCE[p.style], POLY_TOLERANCE)
    if p.style == "auto" and chosen is not None and len(chosen.degrees) < 7:
        return AUTO_PENTATONIC_TOLERANCE
    return TOLERANCE[p.style]


def _ornament_pieces(notes: Sequence[Note], gap_s: float = 0.08, near_cents: float = 150.0) -> set[int]:
    """Brief notes (under ORNAMENT_PIECE_S) that touch a longer ornamented note near their pitch: the slide into it or
    a crest of its vibrato that held still for a moment, part of that note, not a note of their own (ids).

    A steady note longer than the unsteady one beside it is a note: a 0.1 s slip followed by a 0.08 s note the tracker
    heard with no steady pitch is not that note's crest (DemocraticRageHornpipe, docs/pitch-check.md)."""
    out = set()
    for a, b in pairwise(notes):
        if b.start - a.end > gap_s or abs(a.centre - b.centre) > near_cents or a.steady == b.steady:
            continue
        short, ornamented = (a, b) if a.steady else (b, a)
        if max(short.stable_s, short.duration) < ORNAMENT_PIECE_S and ornamented.duration >= short.duration:
            out.add(id(short))
    return out


def _overlap(a: Note, b: Note) -> float:
    """Seconds two notes sound together (negative: the gap between them)."""
    return min(a.end, b.end) - max(a.start, b.start)


# A note of a mix that began more than this before another and ends less than this after the other's start is the
# release of the chord before it: the network ends its notes late (a held-out chorale's tenor D4, written to end as
# the next chord's C-sharp 4 begins, read to 0.33 s after it), and a chromatic tone struck on the new chord clashed
# with what the old one left ringing. (Held-out chorale mixes: clean ones flagged 44 -> 42 of 300, the wrong notes
# found as before; at 0.25 the same mixes and 1 false finding fewer than at 0.15; at 0.35 a wrong note lost; at 0.1
# a clean mix more flagged. The set's mixes: 1 wrong note lost, found by its clash with the tenor's B-flat 3 ringing
# on, as the bass's that it truly clashes with went unheard.)
RELEASE_S = 0.25
# Nor is a note more than this many semitones away (three octaves and a semitone): the network hears a high partial of
# an organ's or a wind's note as a note of its own (a D7 or a C7 for 0.1 s over a mix), and a tone four octaves from
# another makes no clash a listener hears. (Held-out chorale mixes, cached trials: clean ones flagged 38 -> 37 of 300,
# those 40 cents flat 39 -> 37, bwv310's organ C#3 against a D7 of 0.12 s among them; wrong notes found 183 as before.
# At 35 or 30, bwv414's wrong C#4 was lost: it clashes with a D7 three octaves and a semitone over it.)
CLASH_MAX_STEPS = 37


def _a_release(other: Note, note: Note) -> bool:
    """Whether `other` is the release of the chord before `note` (RELEASE_S)."""
    return other.start < note.start - RELEASE_S and other.end < note.start + RELEASE_S


def _clashes(note: Note, others: Sequence[Note], reference: float) -> bool:
    """Whether a note sounds a semitone (or a major seventh, a minor ninth) against another for most of the shorter,
    that other no release of the chord before it (RELEASE_S) and at most CLASH_MAX_STEPS from it."""
    own = grid_step(note.centre, reference)
    for o in others:
        if _a_release(o, note):
            continue
        apart = own - grid_step(o.centre, reference)
        if o is not note and _overlap(o, note) > 0.5 * min(o.duration, note.duration) \
                and apart % 12 in (1, 11) and abs(apart) <= CLASH_MAX_STEPS:
            return True
    return False


# In a mix, a note held this long or longer on a tone outside the key is a chord tone, not a passing one: it must
# make a triad with what sounds with it. (On the evaluation set's 36 chorale mixes: out-of-key notes found 15 of 36,
# from 10 by clashes alone; clean mixes flagged 7, from 6.)
FOREIGN_HELD_S = 0.3
# Major, minor and diminished triads, in semitones above the root. (With the seventh chords too, nearly every three
# tones fit one, the wrong ones as well: on the first 12 mixes, no note more was found than by clashes.) No augmented
# triad: Bach's chromatic tones do not make one, a wrong note often does (D-F#-B-flat, C-E-G#). Without it, on the
# written voices of the 300 chorales the set does not take (benchmarks/bench_scale.py --chorales-only), wrong notes
# found 76.4 -> 78.5 %, clean mixes flagged 10.3 % both; on their rendered mixes 55.6 -> 57.2 %, flagged 20.0 % both;
# the set's mixes as before (24 of 36, 1 flagged).
TRIADS = ((0, 4, 7), (0, 3, 7), (0, 3, 6))
CONSONANT = TRIADS[:2]
# Dominant, diminished and half-diminished sevenths: the chords Bach's chromatic tones belong to. Admitted only where
# the other tones make no major or minor triad without the chromatic one (`_completes_a_seventh`): on the written
# voices of 300 chorales the set does not take (benchmarks/bench_scale.py), clean mixes flagged 21.7 % -> 10.3 %,
# wrong notes found 79.8 % -> 76.4 %; on their rendered mixes (bench_dissonance --held-out-dir) 36.0 % -> 28.7 % and
# 61.3 % -> 57.6 %. Admitted wherever they fit, every wrong tone over a triad that makes a seventh with it passed (5
# of 25 on the set's mixes).
SEVENTHS = ((0, 4, 7, 10), (0, 3, 6, 9), (0, 3, 6, 10))
# A note this many semitones above one sounding with it may be that note's 3rd, 5th, 6th or 9th partial (a twelfth,
# two octaves and a major third, two octaves and a fifth, three octaves and a whole tone) heard by the network as a
# note of its own: no chord tone to judge a chord by, nor a note to judge. (On the 36 clean chorale mixes: a D7 over a
# G4 took a C major chord for no triad; a B4 over a G2 was called out of key. On the 300 held-out chorales, a C#7 over
# the B3 of a G major chord flagged 6 clean mixes: with the 9th partial, 66 -> 60 flagged, and 2 wrong notes fewer
# found, each found only by way of its own 9th partial; the 7th, 10th and 12th partials, 34, 40 and 43 steps, took
# no clean mix off and the 7th flagged one more.)
OVERTONE_STEPS = (19, 28, 31, 38)
# A note whose tone sounds one to three octaves under it is a chord tone doubled by another voice: a wrong note is one
# voice's, and nothing sounds under it on its tone (its overtones lie above), so only the lowest of the copies is
# judged by the chord rules. (Held-out chorale mixes: the G3, G4 and G5 of one G major chord of bwv244.3 were three
# findings, now one; precision 46.9 -> 51.4 %; one of the 166 wrong notes found is lost: it was found only on a ghost
# of it two octaves up.)
DOUBLING_STEPS = (12, 24, 36)


def _with(note: Note, others: Sequence[Note]) -> list[Note]:
    """The other notes sounding through more than half of `note`."""
    return [o for o in others
            if o is not note and _overlap(o, note) > 0.5 * note.duration]


def _lies_over(note: Note, others: Sequence[Note], reference: float, steps: Sequence[int]) -> bool:
    """Whether `note` lies one of `steps` semitones over a note sounding with it."""
    own = grid_step(note.centre, reference)
    return any(own - grid_step(o.centre, reference) in steps for o in _with(note, others))


def _overtone(note: Note, others: Sequence[Note], reference: float) -> bool:
    """Whether `note` lies on a low partial (OVERTONE_STEPS) of a note sounding with it."""
    return _lies_over(note, others, reference, OVERTONE_STEPS)


def _sounding_tones(note: Note, others: Sequence[Note], reference: float) -> set[int]:
    """The tones sounding through the middle half of a note (for more than half of it), less any that may be another's
    overtone."""
    middle = replace(note, start=note.start + 0.25 * note.duration, end=note.end - 0.25 * note.duration)
    return _tones_through(middle, note, [o for o in others if o is not note], reference)


def _tones_through(span: Note, note: Note, others: Sequence[Note], reference: float) -> set[int]:
    """The tones of `others` sounding through more than half of `span` (a stretch of `note`), less any that may be
    another's overtone."""
    sounding = _with(span, others)
    return {grid_step(o.centre, reference) % 12 for o in sounding if not _overtone(o, [note, *sounding], reference)}


def _fits(tones: set[int], chords: Sequence[tuple[int, ...]]) -> bool:
    return any(tones <= {(root + step) % 12 for step in chord} for root in range(12) for chord in chords)


def _completes_a_seventh(tones: set[int], tone: int) -> bool:
    """Whether `tone` is the chromatic tone of a seventh chord (SEVENTHS) whose other `tones` make no major or minor
    triad without it: the leading tone of a secondary dominant, a diminished seventh's. A wrong tone added to a plain
    triad makes a seventh chord too, but the triad was there before it."""
    return len(tones) >= 2 and not _fits(tones, CONSONANT) and _fits(tones | {tone}, SEVENTHS)


# A note held across a chord change is a tone of the chord it was struck in, held on (a common tone, a seventh
# prepared so): it makes no chord with the union of what sounds through its middle, though it made one when struck.
# So a tone that makes a major, minor or diminished triad with at least STRUCK_TONES other tones sounding through its
# first STRUCK_S (or first half), the chord before's releases (RELEASE_S) left out, is in a chord too. bwv153.9's
# organ bass F3, struck in an F major chord and held under the G major one after it (read to 0.3 s past its end), had
# been out of key. Held-out chorale mixes (the cached trials): clean ones flagged 40 -> 38 of 300, those 40 cents flat
# 41 -> 39, wrong notes found 183 of 297 as before; the set's mixes and the written voices (found 231, clean flagged
# 26 -> 25) no worse. With the seventh chords of `_completes_a_seventh` too, 36 and 39 flagged, but a wrong C#4 struck
# with an A and a G (an A dominant seventh) was lost; with one other tone, 3 wrong notes lost; at 0.2 s, 1 lost; at
# 0.45 s, as at 0.3 s.
STRUCK_S = 0.3
STRUCK_TONES = 2


def _struck_with(note: Note, others: Sequence[Note], reference: float) -> set[int]:
    """The tones sounding through most of a note's first STRUCK_S (or first half), less the releases of the chord
    before it (RELEASE_S) and any that may be another's overtone."""
    head = replace(note, end=note.start + min(STRUCK_S, 0.5 * note.duration))
    live = [o for o in others if o is not note and not _a_release(o, note)]
    return _tones_through(head, note, live, reference)


# A passing seventh: a tone struck over a chord whose seventh it is (SEVENTHS, the root among the chord's tones),
# reached by a step down from the note before and left by a step down (Bach's bass F3-E-flat 3-D3 over an F major
# chord, the tenor's C4-B-flat 3-A3 over a C major one) is the voice leading's dissonance, not a wrong note. The steps
# are found loosely, as the network reads an organ's or strings' notes (ends 0.18 s late at the median,
# bench_transcription.py): a note one or two semitones over it ending within PASSING_S of its start, one or two under
# it beginning from PASSING_FROM_S after its start to PASSING_S after its end. (Held-out chorale mixes, cached trials:
# clean ones flagged 35 -> 31 of 300, flat ones 37 -> 34, wrong notes found 183 -> 180 of 297: three wrong notes make
# this very figure (bwv64.8's F4 sung for F#4 in G4-F4-E4 over a G major chord), which a listener hears as a
# passing seventh too. The written voices: found 231 -> 229, clean flagged 25 -> 18. Within 0.25 s: 180 found, 33
# clean flagged; stop 70's version, the steps within 0.15 s of the note's written ends and the chord through its
# middle: 181, 35.)
PASSING_S = 0.35
PASSING_FROM_S = 0.1
PASSING_STEPS = (1, 2)


def _the_seventh(tones: set[int], tone: int) -> bool:
    """Whether `tone` is the seventh of a seventh chord (SEVENTHS) holding `tones`, whose root is one of them."""
    return any((tone - root) % 12 == chord[-1] and tones | {tone} <= {(root + step) % 12 for step in chord}
               for root in tones for chord in SEVENTHS)


def _passing(note: Note, others: Sequence[Note], reference: float) -> bool:
    """Whether a note is reached by a step down from a note ending near its start and left by a step down to one
    beginning after it (PASSING_S, PASSING_FROM_S)."""
    own = grid_step(note.centre, reference)
    steps = [(o, grid_step(o.centre, reference) - own) for o in others]
    return (any(up in PASSING_STEPS and o.start < note.start and abs(o.end - note.start) <= PASSING_S
                for o, up in steps)
            and any(-up in PASSING_STEPS and note.start + PASSING_FROM_S < o.start < note.end + PASSING_S
                    for o, up in steps))


def _in_a_chord(note: Note, others: Sequence[Note], reference: float) -> bool:
    """Whether the tones sounding through a note (`_sounding_tones`), with the note's own, all belong to one triad,
    or the note completes a seventh chord of theirs (`_completes_a_seventh`), or it makes a triad with the chord it
    was struck in (`_struck_with`, STRUCK_TONES), or it passes through that chord's seventh (`_passing`)."""
    tones, tone = _sounding_tones(note, others, reference), grid_step(note.centre, reference) % 12
    if _fits(tones | {tone}, TRIADS) or _completes_a_seventh(tones, tone):
        return True
    struck = _struck_with(note, others, reference) - {tone}
    if len(struck) < STRUCK_TONES:
        return False
    return _fits(struck | {tone}, TRIADS) or (_the_seventh(struck, tone) and _passing(note, others, reference))


def _blended(note: Note, others: Sequence[Note]) -> bool:
    """Whether another note less than a semitone away sounds through most of `note`: two voices a semitone apart
    (a suspension, a passing note against a held one) beat, and the network's contour lays the centre of the one
    between them, so that its tuning cannot be read (on the clean chorale mixes: D5 against C#5 read as D5-50)."""
    return any(0 < abs(o.centre - note.centre) < 100.0 for o in _with(note, others))


# Pieces of one note the network split in two (its onset head fired again mid-note): the next piece starts within
# JOIN_GAP_S of the last one's end, on a centre within JOIN_CENTS of it. Judged whole, a split note is as long as it
# sounds: an E-flat of 0.24 s read as 0.14 s and 0.10 s was too brief for the chord rule.
JOIN_GAP_S = 0.05
JOIN_CENTS = 30.0


def _runs_on_one_key(notes: Sequence[Note], reference: float, gap_s: float,
                     cents: float = float("inf")) -> list[list[Note]]:
    """The notes in runs, each on one key: a note joins the run before it where it starts at most `gap_s` after the
    run's end, its centre within `cents` of the last note's."""

    def step(n: Note) -> int:
        return grid_step(n.centre, reference)

    runs: list[list[Note]] = []
    for n in sorted(notes, key=lambda n: (step(n), n.start)):
        last = runs[-1] if runs else []
        if last and step(n) == step(last[-1]) and n.start - max(p.end for p in last) <= gap_s \
                and abs(n.centre - last[-1].centre) <= cents:
            last.append(n)
        else:
            runs.append([n])
    return runs


def _whole_notes(notes: Sequence[Note], reference: float) -> dict[int, Note | None]:
    """For each note split in pieces (keyed by `id`): its first piece maps to the whole note, later pieces to None."""
    out: dict[int, Note | None] = {}
    for run in (r for r in _runs_on_one_key(notes, reference, JOIN_GAP_S, JOIN_CENTS) if len(r) > 1):
        out[id(run[0])] = replace(run[0], end=max(p.end for p in run), stable_s=sum(p.stable_s for p in run))
        out.update({id(p): None for p in run[1:]})
    return out


# A note of a mix on C7 or higher (its tone on the take's grid, as every chord rule reads it: a C7 read 40 cents flat
# is at C7) held under HIGH_BRIEF_S is no finding: the network hears an organ's or a wind's high partial as a brief
# note of its own, and no chorale voice sings there. (Held-out chorale mixes, cached trials: clean ones flagged 37 -> 35
# of 300, a C#7 of 0.14 s over bwv166.6's organ and a D7 50 cents flat over bwv409's; wrong notes found 183 and flat
# mixes flagged 37 as before. From E6, or held any length, the same. By the tone, not the centre less the reference
# (stop 73): finding for finding as before on the held-out and the set's mixes.)
HIGH_CENTS = 9600.0
HIGH_BRIEF_S = 0.3


def _judge_in_chords(notes: Sequence[Note], judged: list[Finding | None], heard: Sequence[Note], heard_ids: set[int],
                     kept: frozenset[int], reference: float, scale: Scale, min_sour_s: float) -> list[Finding | None]:
    """Out of key in a mix means heard against the chord: a note is `out_of_key` when its tone is outside the mode as
    read and one the mix does not keep using, and it clashes (a semitone, a major seventh) with a note sounding with
    it, or, held FOREIGN_HELD_S or longer on a tone outside the key as read, it makes a chord of no triad with what
    sounds with it (nor completes a seventh chord that was no major or minor triad without it). A passing chromatic
    tone of the harmony (a secondary dominant's leading tone, a cadence's raised third, a diminished seventh's) sits in
    its chord; a wrong note grinds against it or leaves no chord. `kept`: the pitch classes the mix keeps using
    (`kept_pitch_classes` of the heard notes). A note the network split in pieces is judged whole, on its first piece;
    a note sounding against another less than a semitone away is not called `detuned` (`_blended`)."""
    out = list(judged)
    whole = _whole_notes([n for n in notes if id(n) in heard_ids], reference)
    # what sounds with a note is read whole too: a chord tone split in two (a release the network heard as a note of
    # its own) is no brief note of its own to clash with. (Held-out chorale mixes: wrong notes found 176 -> 179 of
    # 297, clean mixes flagged 41 -> 40 of 300, those 40 cents flat 42 -> 41.)
    partners = [w for h in heard if (w := whole.get(id(h), h)) is not None]
    for k, piece in enumerate(notes):
        n = whole.get(id(piece), piece)
        if n is None and out[k] is not None and out[k].kind == "out_of_key":
            out[k] = None       # a later piece of a split note: the whole note is judged on its first
        if id(piece) not in heard_ids or n is None:
            continue
        held = max(n.stable_s, n.duration)
        if held < min_sour_s:
            continue
        if 100.0 * grid_step(n.centre, reference) >= HIGH_CENTS and held < HIGH_BRIEF_S:
            out[k] = None       # a high partial heard as a note (HIGH_CENTS)
            continue
        finding = judged[k]
        if finding is not None and finding.kind == "detuned" and _blended(piece, notes):
            out[k] = finding = None
        stray = _stray(n, held, partners, kept, reference, scale)
        if finding is not None and finding.kind == "out_of_key" and not stray:
            out[k] = None
        elif stray and (finding is None or (n is not piece and finding.kind == "out_of_key")):
            out[k] = _out_of_key(n, reference, scale, kept)     # a split note's finding spans the whole note
    return out


# A note the network missed (`missed`) whose centre lies further than this from the take's grid is not judged: which
# tone it is, is not sure.
MISSED_OFF_CENTS = 30.0
# Nor one a semitone off an octave of a note the network found (SMEAR_STEPS over it) that sounds through all of it
# (to SMEAR_SPAN_S either side), where its peaks lie SMEAR_DB or more under the frame's strongest: the spectrum of a
# mix shows peaks there that no voice sang. (Held-out chorale mixes, `bench_dissonance --held-out-dir`: of the 66 false
# findings on notes no voice played, 62 were missed notes, 30 of them so placed, at -23 to -9 dB; the wrong notes
# found so placed: 2 of 171 there, at -22 and -10 dB, 1 of the set's 24, at -8. At 10 dB: clean mixes flagged
# 61 -> 54 of 300, false findings 224 -> 194, one wrong note lost, a 0.18 s C#4 over the bass's C3. The set's 36
# mixes: none lost, one false finding fewer. The same rule on the network's own notes, by its posteriors: no change.)
SMEAR_STEPS = (11, 13, 23, 25, 35, 37, 47, 49)
SMEAR_DB = 10.0
SMEAR_SPAN_S = 0.1


def _kept_in_a_mix(notes: Sequence[Note], reference: float) -> frozenset[int]:
    """The pitch classes a mix keeps using (`kept_pitch_classes`), counted on the notes that are neither a low
    partial of a note sounding with them nor its tone doubled over it (OVERTONE_STEPS, DOUBLING_STEPS), a key's notes
    close together one place (MIX_PLACE_GAP_S). The network hears a fifth's and a third's partials as notes, and a
    wrong tone was kept for the partials of two chord tones.
    (Held-out chorale mixes: wrong notes found 167 -> 172 of 297, false findings 197 -> 196, clean mixes flagged 54
    of 300 both, flat mixes 46 -> 48; the set's mixes as before. Less the partials alone: 172 found, 202 false.)"""
    order = sorted(notes, key=lambda n: n.start)
    starts = [n.start for n in order]
    longest = max((n.duration for n in order), default=0.0)
    steps = OVERTONE_STEPS + DOUBLING_STEPS
    # only the notes that start within the longest note's length before its end can sound with it
    own = [n for n in order if not _lies_over(
        n, order[bisect.bisect_left(starts, n.start - longest):bisect.bisect_right(starts, n.end)], reference, steps)]
    return kept_pitch_classes(_one_place_per_key(own, reference), reference)


# Notes of one key (one pitch, in one octave) less than this apart are one place of their tone in a mix, whatever the
# other voices do between them: they move all the time, and `kept_pitch_classes` counts a tone's return after any
# other tone as a new place, so a wrong note that the network or the spectrum read in two pieces, 0.25 s apart, was
# "kept" and passed (a held-out chorale's wrong D4, read at 1.25-1.60 s and 1.85-2.20 s). (Held-out chorale mixes:
# wrong notes found 179 -> 183 of 297, no mix more flagged, 5 false findings more on mixes flagged already; the set's
# mixes, the written voices and the melody pools unchanged. At 0.2 s, 181 found; at 0.5 s, 185 found but 2 clean
# mixes more flagged, a chorale's own chromatic tone sung twice in one voice 0.4 s apart.)
MIX_PLACE_GAP_S = 0.3


def _one_place_per_key(notes: Sequence[Note], reference: float) -> list[Note]:
    """The notes, those of one key less than MIX_PLACE_GAP_S apart joined into one."""
    return [replace(run[0], end=max(p.end for p in run))
            for run in _runs_on_one_key(notes, reference, MIX_PLACE_GAP_S)]


def _smeared(note: Note, found: Sequence[Note], reference: float) -> bool:
    """Whether a missed `note` is a quiet peak a semitone off an octave of a `found` note sounding through it
    (SMEAR_STEPS, SMEAR_DB, SMEAR_SPAN_S)."""
    own = grid_step(note.centre, reference)
    return note.level_db <= -SMEAR_DB and any(
        own - grid_step(o.centre, reference) in SMEAR_STEPS
        and o.start - SMEAR_SPAN_S <= note.start and note.end <= o.end + SMEAR_SPAN_S for o in found)


def _judge_missed(missed: Sequence[Note], heard: Sequence[Note], reference: float,
                  scale: Scale) -> list[Finding | None]:
    """The notes of a mix the network missed, judged as `_judge_in_chords` judges the others, but only for which tone
    they are (their centres, read from a spectrum where other voices' partials lie close, say no more): `out_of_key`
    where the tone is one the mix does not keep using (counted with these notes: a chromatic tone the network missed
    each time it came is still kept) and it clashes with, or makes no triad with, what sounds with it; not where it
    is a quiet peak a semitone off an octave of a found note (`_smeared`), nor one voice's peak read twice
    (`_split_peak`), which is no note to judge others by either."""
    peaks = {id(n) for n in missed if _split_peak(n, missed, reference)}
    partners = [*heard, *(n for n in missed if id(n) not in peaks)]
    kept = _kept_in_a_mix(partners, reference)
    return [_out_of_key(n, reference, scale, kept)
            if id(n) not in peaks and not _smeared(n, heard, reference)
            and _stray(n, n.duration, partners, kept, reference, scale) else None
            for n in missed]


# A missed note a semitone from another missed note in its octave, which begins this long before it and ends this long
# after it, is one voice read twice: FluidR3's choir spreads a note's peak over two keys (a held-out chorale's F-sharp
# 3 of 0.5 s read as F-sharp 3 and, inside it, F3 of 0.25 s, as loud or louder). Two voices a semitone apart, a wrong
# note against a chord tone, begin together. (Held-out chorale mixes: clean ones flagged 47 -> 44 of 300, those 40
# cents flat 42 -> 41, wrong notes found 172 as before; the set's mixes unchanged. Asking only that the other sound
# through it, from 0.05 s after its start to 0.05 s before its end: a wrong C4 against a B3 struck with it lost.)
SPLIT_PEAK_S = 0.05


def _split_peak(note: Note, missed: Sequence[Note], reference: float) -> bool:
    """Whether another missed note a semitone from `note`, in its octave, sounds from before it to after it
    (SPLIT_PEAK_S)."""
    own = grid_step(note.centre, reference)
    return any(o is not note and abs(grid_step(o.centre, reference) - own) == 1
               and o.start <= note.start - SPLIT_PEAK_S and o.end >= note.end + SPLIT_PEAK_S for o in missed)


# A missed note that a found note of its step begins inside, or within this of its end, is that note's start: the
# network hears a note's onset late where the chord before rings on, and the spectrum reads the start it lost. The
# found note is judged from the missed one's start; the missed one is not judged apart. (Held-out chorale mixes:
# wrong notes found 172 -> 176 of 297 (5 more, each judged whole against what it clashes with, 1 lost), clean mixes
# flagged 42 -> 41 of 300, those 40 cents flat 41 -> 42; the set's mixes: 1 wrong note more found and 1 lost, one
# flat mix more flagged. Not judging the missed start and leaving the found note as it was: 168 found, 36 and 36
# flagged: the wrong notes found by their start alone were lost with it.)
LEAD_GAP_S = 0.05


def _with_late_onsets(found: Sequence[Note], missed: Sequence[Note], reference: float
                      ) -> tuple[list[Note], list[Note]]:
    """The `found` notes, each that a missed note leads into (LEAD_GAP_S) begun at that missed note's start, and the
    missed notes left."""
    out, rest = list(found), []
    for m in missed:
        step = grid_step(m.centre, reference)
        k = next((k for k, o in enumerate(out)
                  if grid_step(o.centre, reference) == step and m.start < o.start <= m.end + LEAD_GAP_S), None)
        if k is None:
            rest.append(m)
        else:
            out[k] = replace(out[k], start=m.start)
    return out, rest


def _stray(n: Note, held: float, partners: Sequence[Note], kept: frozenset[int], reference: float,
           scale: Scale) -> bool:
    """The chord rule of a mix: a tone outside the mode as read that the mix does not keep using, neither an overtone
    of a note sounding with it nor its tone doubled under it (DOUBLING_STEPS), that clashes with a note sounding with
    it, or, held FOREIGN_HELD_S or longer on a tone outside the key as read, makes no triad with them and completes no
    seventh chord of theirs (`_in_a_chord`). A tone of the mode that clashes is a suspension or a passing dissonance
    (see `_in_the_mode`)."""
    tone = grid_step(n.centre, reference) % 12
    if _in_the_mode(tone, scale):
        return False
    foreign = tone not in scale.pitch_classes and held >= FOREIGN_HELD_S
    return tone not in kept and not _lies_over(n, partners, reference, OVERTONE_STEPS + DOUBLING_STEPS) \
        and (_clashes(n, partners, reference) or (foreign and not _in_a_chord(n, partners, reference)))


def _in_the_mode(tone: int, scale: Scale) -> bool:
    """Whether a pitch class is one of the mode's own degrees as read (not the tones a take keeps beside them). Such a
    tone is never out of key in a mix. Clashing with a note that sounds with it, it is a suspension or a passing
    dissonance of the key; before stop 55 it was found `out_of_key`, measured from itself (0 cents), where the mix
    sounded it in one place only. (Held-out chorale mixes: clean ones flagged 54 -> 47 of 300, those 40 cents flat
    49 -> 42, precision 46.6 -> 50.1 %; 1 wrong note of 297 lost, an E-flat the key as read holds and the chorale does
    not. Their written voices, bench_scale.py: clean ones flagged 31 -> 24, wrong notes found as before.)"""
    return (tone - scale.tonic) % 12 in scale.degrees


def _out_of_key(n: Note, reference: float, scale: Scale, kept: frozenset[int]) -> Finding:
    """An `out_of_key` finding on a note of a mix, measured from the nearest tone of the mode or of those the mix
    keeps using."""
    expected = _nearest_in_scale(n.centre, reference, replace(scale, extra=kept)) if kept else n.centre
    return Finding(n.start, n.end, "out_of_key", n.centre - expected, note_name(n.centre), note_name(expected),
                   _hz(n.centre), _hz(expected), 1.0)


def _nearest_in_scale(centre: float, reference: float, scale: Scale) -> float:
    base = grid_step(centre, reference)
    candidates = [base + k for k in range(-6, 7) if (base + k) % 12 in scale.pitch_classes]
    best = min(candidates, key=lambda m: abs(reference + 100.0 * m - centre))
    return reference + 100.0 * best


def _windows(notes: Sequence[Note], judged: Sequence[Finding | None], rough_t: np.ndarray, rough: np.ndarray,
             seconds: float, window_s: float) -> list[Window]:
    count = max(1, int(np.ceil(seconds / window_s)))
    pitched, sour = np.zeros(count), np.zeros(count)
    for note, finding in zip(notes, judged, strict=True):       # each note touches one or two windows
        for w in range(int(note.start // window_s), min(count, int(note.end // window_s) + 1)):
            overlap = max(0.0, min((w + 1) * window_s, note.end) - max(w * window_s, note.start))
            pitched[w] += overlap
            sour[w] += overlap * finding.severity if finding is not None else 0.0
    index = np.minimum((rough_t // window_s).astype(int), count - 1)
    valid = np.isfinite(rough)
    total = np.bincount(index[valid], weights=rough[valid], minlength=count)
    frames = np.bincount(index[valid], minlength=count)
    return [Window(w * window_s, min(seconds, (w + 1) * window_s), float(pitched[w]),
                   100.0 * sour[w] / pitched[w] if pitched[w] > 0 else 0.0,
                   float(total[w] / frames[w]) if frames[w] else None) for w in range(count)]


# Not in a mix read as `poly`: each voice is transcribed and judged by the chord rules there, and the roughness of the
# whole mix rises with the timbre, not with one wrong voice (FluidR3's choir aahs, an ensemble patch, sustain 0.20 to
# 0.24 clean; a mix's wrong-note take reads as its clean one). On the held-out chorale mixes, 9 `rough` findings:
# 3 clean mixes and 2 flat ones flagged by them alone, and not one of the 297 wrong notes found by one alone (the
# one matched lay in its clean take too). Left out (cached trials): clean ones flagged 31 -> 28 of 300, flat ones
# 34 -> 32; the melody pools had no `rough` finding.
def _rough_findings(times: np.ndarray, rough: np.ndarray, threshold: float, min_s: float,
                    hop_s: float) -> list[Finding]:
    out = []
    for a, b in runs(np.isfinite(rough) & (rough > threshold)):
        if (b - a) * hop_s >= min_s:
            out.append(Finding(float(times[a] - hop_s / 2), float(times[b - 1] + hop_s / 2), "rough", 0.0,
                               severity=1.0, roughness=float(np.mean(rough[a:b]))))
    return out


# voices=auto: a take is one line (perhaps over an accompaniment) when the tracker holds a pitch over this share of
# its loud frames; below it, no line leads and the multi-pitch model reads every voice. (At 0.45, 37 of 468 tunes
# over an accompaniment in the evaluation set were read as poly, at a cost in precision; at 0.2, 2. At 0.2 the second
# pool's 0301-0350-306, a shamisen's plucked notes over pad, bass and drums, was read as a mix in 7 accompanied takes
# (the tracker voiced 14-17 % of their loud frames, the pad's chords unpitched to it): 2 of its errors passed by the
# chord rules, and a ghost A-flat 3 flagged its -40-cent take. The chorale mixes reach as low (8 of 1,041 under 0.2,
# the lowest 0.141), but every one of them lies under its top line over half the time and is read as a mix by
# POLY_UNDER_SHARE all the same. Stop 67, cached trials at 0.1: the second pool 182 -> 184 of 200 errors found,
# its worst negative kind 3 -> 2 of 44 flagged; the set, both other pools and every mix as before; at 0, the same.)
MONO_VOICED_SHARE = 0.1
# ... and when the tracker lies under the mix's top line (by more than a tritone, not on one of its own partials: see
# multipitch.under_top_share) in more than this share of its frames, it follows a bass or a pad: the top line is read.
# (On the evaluation set: at 0.15, 110 of the 468 tunes over an accompaniment were read from their top line; at 0.1,
# 169, with more sour notes found and fewer false findings among them; no solo tune at either; below 0.08, more false
# findings.)
UNDER_TOP_SHARE = 0.1
# ... but where it lies under the top line in more than this share, no one line leads: voices of equal weight (a
# choir, a chorale in four parts) hand the tracker from one to another, and every voice is read (`poly`). (On the
# evaluation set's 144 chorale mixes the share runs from 0.19 to 0.88, 126 of them over 0.35; on 208 of its takes
# over an accompaniment, 95 % under 0.27, one tune over 0.35. Read from their top line, the chorale mixes had 6 of 36
# wrong notes found and 17 of 36 clean mixes flagged; at 0.35, 23 and 2, and on the tunes (a gugak tune's takes
# over a pad, Saeya, read so) a 30- and a 50-cent error fewer found, a 100-cent one more, one false finding more (a
# low E held through the take); at 0.3, 24 and 2, but 7 more false findings on the tunes; at 0.4, 20 and 7.)
# Not under `style: gugak`, whose modes no triad rule knows: there the one tune the set reads so (Saeya, over a pad
# that the tracker follows half the time) is read from its top line.
POLY_UNDER_SHARE = 0.35


def decide_voices(track: PitchTrack, mono16k: np.ndarray | None = None,
                  chords: bool = True) -> tuple[str, Posteriorgrams | None]:
    """`mono` when one line carries the take (the tracker holds a pitch most of the loud time) and the tracker follows
    it, `melody` when the tracker follows a lower voice than the tune now and then, else `poly` (no line carries the
    take, or, where `chords` (the chord rules of a mix, major and minor harmony, apply to the style), the tracker lies
    under the top line so much that no one voice leads); with Basic Pitch's posteriorgrams where they were computed
    (the `poly` and `melody` readings go on from them)."""
    from . import multipitch

    if not multipitch.available():
        return "mono", None
    loud = track.level_db > max(-60.0, float(track.level_db.max(initial=-200.0)) - 30.0)
    if loud.any() and np.mean(track.voiced[loud]) < MONO_VOICED_SHARE:
        return "poly", None
    if mono16k is None:
        return "mono", None
    grams = multipitch.posteriorgrams(mono16k, CREPE_RATE)
    under = multipitch.under_top_share(track, multipitch.top_line(grams[2])[0])
    if chords and under > POLY_UNDER_SHARE:
        return "poly", grams
    return ("melody" if under > UNDER_TOP_SHARE else "mono"), grams


def _notes(mono16k: np.ndarray, track: PitchTrack,
           p: CheckParams) -> tuple[list[Note], list[Note], str, PitchTrack, Posteriorgrams | None]:
    """The notes, those of a mix the multi-pitch network missed (`poly` only), how the take was read, the pitch
    track the notes came from (the top line's for `melody`), and Basic Pitch's posteriorgrams where they were
    computed."""
    from . import multipitch

    voices, grams = decide_voices(track, mono16k, p.style != "gugak") if p.voices == "auto" else (p.voices, None)
    if voices == "poly":
        return *multipitch.find_voices(mono16k, CREPE_RATE, grams), voices, track, grams
    if voices == "melody":
        top = multipitch.melody_track(mono16k, CREPE_RATE, grams[2] if grams is not None else None)
        return find_notes(top, p.notes), [], voices, top, grams
    return find_notes(track, p.notes), [], voices, track, grams


def _line_notes(mono16k: np.ndarray, voices: str, grams: Posteriorgrams | None, p: CheckParams) -> list[Note]:
    """The notes of Basic Pitch's melody line of a take read as one line by the tracker (`mono`), where its
    posteriorgrams were computed: a second hearing of which tones the tune keeps (`_kept_on_the_line`). Not traced for
    a declared scale, which no kept tone changes."""
    if voices != "mono" or grams is None or p.scale is not None:
        return []
    from . import multipitch

    return find_notes(multipitch.melody_track(mono16k, CREPE_RATE, grams[2]), p.notes)


def _held_by_the_accompaniment(notes: Sequence[Note], judged: list[Finding | None], reference: float,
                               grams: Posteriorgrams | None) -> list[Finding | None]:
    """A melody's `out_of_key` note whose tone the accompaniment holds under it (`multipitch.held_under`) is no
    finding: a pad's or a bass's chord holds it, as a tune's own accidental is harmonised and a slip is not. (Held-out
    tunes, 792 rendered takes: 7 false findings fewer, on a lone F of The Little Fair Child over the bass's F and the
    pad's F major; the set 1 fewer; no error lost on the set or on either held-out pool; the second pool as before.)"""
    if grams is None:
        return judged
    from . import multipitch

    return [None if f is not None and f.kind == "out_of_key"
            and multipitch.held_under(grams[0], grid_step(n.centre, reference), n.start, n.end) else f
            for n, f in zip(notes, judged, strict=True)]


# The window in which a tracked note's two strikes are looked for: from STRIKES_FROM_S before its start (a tracked
# note can start a little after its attack: the set's findings start 0.027 s off the written note-on, at the median)
# to STRIKES_UNTIL_S before its end (the next note's attack leaks onto the key there).
STRIKES_FROM_S = 0.05
STRIKES_UNTIL_S = 0.08


def _struck_twice_in_the_mix(notes: Sequence[Note], judged: list[Finding | None],
                             grams: Posteriorgrams | None) -> list[Finding | None]:
    """A melody's `out_of_key` note that Basic Pitch hears struck twice (`multipitch.struck_twice`) is no finding: a
    tone struck again is meant (RESTRUCK_DB), and over a pad the tracker hears a repeated tone as one note."""
    if grams is None:
        return judged
    from . import multipitch

    return [None if f is not None and f.kind == "out_of_key"
            and multipitch.struck_twice(grams[1], n.centre, n.start - STRIKES_FROM_S,
                                                n.end - STRIKES_UNTIL_S) else f
            for n, f in zip(notes, judged, strict=True)]


# A line that leaps more than PARTIAL_LEAP_CENTS up to a note and straight back down has leapt onto an overtone where
# the network hears that note as a partial (`_a_partial_in_the_mix`).
PARTIAL_LEAP_CENTS = 1200.0
# A line's note this far or further over the line's median is no tune's: a top line that climbed onto the partials
# (`_a_partial_in_the_mix`). An octave is not enough: an Irish tune's A5 50 cents sharp lay an octave over its median.
PARTIAL_HIGH_CENTS = 2400.0


def _a_partial_in_the_mix(notes: Sequence[Note], judged: list[Finding | None],
                          grams: Posteriorgrams | None, reference: float) -> list[Finding | None]:
    """A melody's `out_of_key` note that the network hears as the 3rd partial of a lower one
    (`multipitch.a_twelfth_over`) is no finding: the line took an overtone for the tune. (Held-out tunes: 6 false
    findings fewer, precision 83.6 -> 85.1 %; the second pool 1 fewer, 84.3 -> 84.5 %; the set 2 fewer, 92.0 -> 92.5
    %; no error found lost on any pool. Not for a `detuned` note: with the strike not asked, 31 errors found were lost
    on the three pools, most of them sour notes a twelfth over a held one, which the network passes by; with it, 1
    false finding fewer on the second pool, too little to bet a melody's fifth over its bass on.)

    Nor is a `detuned` note the line leaps more than an octave up to and straight back down from
    (PARTIAL_LEAP_CENTS), where the network hears it as the 5th partial of a note struck with it
    (`multipitch.a_fifth_partial_of`): the tracker read the partial of the tune's own note. (Stop 58: held-out tunes 1
    false finding fewer, a clarinet's D4 read as F6, precision 85.1 -> 85.4 %; the second pool 3 fewer, 84.4 -> 85.1 %,
    its accompanied -40-cent takes flagged 11.4 -> 9.1 %; the set 1 fewer, 92.7 -> 93.0 %; no error found lost on any
    pool. Without the leap, 6 errors found were lost on the set and the second pool, sour melody notes over a note the
    network heard two octaves and a third under them; with a leap of 700 cents, 1; with the 7th partial too, 1.)

    Nor is a `detuned` note on an out-of-tune partial (the 7th, 11th, 13th or 14th) of a note the network hears under
    it (`multipitch.an_inharmonic_partial`, `reference`: the take's offset from the grid) that lies PARTIAL_HIGH_CENTS
    or more over the line's median: a chorale for winds read from its top line gave C7 44 cents sharp and D7 33 cents
    flat, the partials of its G3 and E4. (Stop 69, cached trials of the 300 held-out chorales under `voices: auto`:
    clean mixes flagged 55 -> 52, precision 38.3 -> 41.4 %, nothing found lost; the melody pools as before. Asked of
    every line note, a violin's D5 30 cents flat was lost on the set, on the 7th partial of the bass's E2, which Basic
    Pitch heard alone; asked where the line leaps to the note or it lies an octave over the median, a harp's A3 50
    cents sharp read an octave up and an Irish tune's top A5 were lost on the held-out pools, on partials of the pad's
    C2 and E2.)"""
    if grams is None:
        return judged
    from . import multipitch

    middle = float(np.median([n.centre for n in notes])) if notes else 0.0

    def leapt_to(i: int) -> bool:
        around = [notes[j].centre for j in (i - 1, i + 1) if 0 <= j < len(notes)]
        return bool(around) and all(notes[i].centre - c >= PARTIAL_LEAP_CENTS for c in around)

    def a_partial(i: int, n: Note, f: Finding) -> bool:
        if f.kind == "out_of_key":
            return multipitch.a_twelfth_over(grams[0], grams[1], n.centre, n.start, n.end)
        return f.kind == "detuned" and (
            (leapt_to(i) and multipitch.a_fifth_partial_of(grams[0], grams[1], n.centre, n.start, n.end))
            or (n.centre - middle >= PARTIAL_HIGH_CENTS
                and multipitch.an_inharmonic_partial(grams[0], n.centre, n.start, n.end, reference)))

    return [None if f is not None and a_partial(i, n, f) else f
            for i, (n, f) in enumerate(zip(notes, judged, strict=True))]


# A melody's `detuned` note is no finding where Basic Pitch's contour (the posteriorgrams `voices: auto` computes)
# reads its pitch more than CONFIRM_CENTS from the tracker's (`multipitch.contour_pitch`): over an accompaniment the
# tracker's pitch is pulled by what sounds with it, and the contour, which hears every voice apart, says where the
# note is. (Held-out tunes: precision 75.9 -> 77.9 %, 9 false findings fewer, 7 of them in accompanied takes, such
# as an E-flat read 42 cents flat over its pad; the second pool 76.4 -> 78.1 %, 8 fewer; nothing found lost on either,
# nor anything changed on the set. At 20 cents the set lost one 50-cent error found; at 40, 77.2 and 77.9 %.)
CONFIRM_CENTS = 30.0


def _confirmed_by_the_contour(notes: Sequence[Note], judged: list[Finding | None],
                              grams: Posteriorgrams | None) -> list[Finding | None]:
    """`judged` less the `detuned` findings whose note the contour reads elsewhere (CONFIRM_CENTS)."""
    if grams is None:
        return judged
    from . import multipitch

    def elsewhere(n: Note) -> bool:
        heard = multipitch.contour_pitch(grams[2], n.start, n.end, n.centre)
        return heard is not None and abs(heard - n.centre) > CONFIRM_CENTS

    return [None if f is not None and f.kind == "detuned" and elsewhere(n) else f
            for n, f in zip(notes, judged, strict=True)]


def heard_notes(notes: Sequence[Note], quiet_db: float) -> list[Note]:
    """The notes a listener hears as the tune: not a release tail, nor `quiet_db` under the loud ones (the 90th
    percentile of their levels), as a far-background line would be."""
    loud = np.percentile([n.level_db for n in notes], 90) if notes else 0.0
    return [n for n in notes if n.level_db >= loud - quiet_db and not n.is_tail]


def _scale(p: CheckParams, heard: Sequence[Note], notes: Sequence[Note], reference: float,
           kept: frozenset[int], voices: str = "mono") -> Scale | None:
    if p.scale is not None:
        return declared_scale(**p.scale.model_dump())
    tune = heard or notes
    chosen = estimate_scale(tune, reference, p.style)
    if chosen is None:
        return None
    if voices == "poly":
        # a mix: the mode, every form of a minor, and the tones the mix keeps; its chords judge the rest
        # (`_judge_in_chords`). The readings below are a melody's, whose key its notes alone must say: with them,
        # the held-out chorale mixes found 172 of 297 wrong notes for 196 false findings, without 173 for 198; the
        # set's 24 of 36 for 9, without 25 for 9.
        return replace(chosen, extra=in_key(kept, chosen))
    # the tones the tune keeps coming back to (`kept`), recurring accidentals included, are its scale too; a minor
    # reading's raised 6th and 7th only where the folksong profiles read the same minor key (where they hear its
    # relative major, a lone raised tone is as foreign as it is in that major)
    key = melody_key(tune, reference)
    if chosen.mode.endswith("minor") and (key.mode, key.tonic) != ("minor", chosen.tonic):
        allowed = kept | chosen.pitch_classes
    else:
        allowed = in_key(kept, chosen)
    if p.style != "gugak" and len(chosen.degrees) < 7:
        # a pentatonic reading outside gugak: the tune's passing tones belong to the major or minor key around it
        allowed |= home_tones(tune, reference, allowed)
    elif p.style != "gugak":
        # where the key is ambiguous (a tune that never touches one tone fits two keys), a tone is out of key only
        # when it is outside both readings: the scale holding the most notes and the key of the folksong profiles
        # (less the tones of the second that alter one the tune keeps using)
        allowed |= second_reading(key, kept)
    return replace(chosen, extra=allowed)


# A tone the scale as read holds is out of key all the same where the melody's key holds it with a probability under
# 1 - KEY_SURE (`keyfinding`): the two readings of `_scale` hold the tones of two keys, and a sour semitone that
# lands on a tone of the wrong one passed. (bench_scale.py, 1,376 corpus tunes, written notes: 82.6 -> 88.2 % of
# out-of-key notes found, 86.8 -> 90.0 % of sour semitones, clean tunes flagged 2.5 % both; the rendered set: 3 more
# found, 79.5 -> 80.6 %. With `keyfinding.holds`' rule on a minor key's lone raised tones, 89.4 / 91.5 % and 82.1 %;
# with a lone tone weighed against the key read without it, 90.8 / 92.4 % and 83.2 %. At 0.90 instead of 0.97, the
# set flags 4 more in-tune accompanied takes: their tracked notes are less sure.)
KEY_SURE = 0.97
# ... read on the notes whose centre is sure where there are this many, else on all the notes heard: a reel's 16th
# notes over a pad leave three sure notes, D, F-sharp and A, which read D major at 0.998, and its A major's one G-sharp
# was out of key (HigginsBestHornpipe). (Cached trials, against any sure note: at 12, 2 errors more found, on the set
# and the second pool, and 4 false findings fewer, on the held-out pools; at 8, none more found, 3 fewer false; at 16,
# 2 more found, 2 fewer false and 1 more, an ornamented take over a pad, which lifts that kind to 5.8 % on the set.
# Written notes are all sure: bench_scale.py is unchanged.)
KEY_SURE_NOTES = 12


def _key_read(p: CheckParams, chosen: Scale | None) -> bool:
    """Whether the key model (`keyfinding`) weighs the scale read: one was read, none declared, and the style is no
    gugak (its modes are no major or minor key)."""
    return chosen is not None and p.scale is None and p.style != "gugak"


def _sure_of_key(p: CheckParams, chosen: Scale | None, heard: Sequence[Note], reference: float,
                 kept: frozenset[int]) -> Scale | None:
    """`chosen` less the tones the melody's key holds with a probability under 1 - KEY_SURE, but for those the take
    keeps using. The key is read on the heard notes whose centre is sure, where there are KEY_SURE_NOTES of them: an
    accompaniment's brief or sliding bleed into the track should not move it; a lone raised tone of a minor key may
    still pass by step between brief notes heard beside it (`keyfinding.passing`). Not for a declared scale, nor for
    gugak (its modes are no major or minor key)."""
    if not _key_read(p, chosen) or not heard:
        return chosen
    sure = [n for n in heard if _sure(n)]
    read_on = sure if len(sure) >= KEY_SURE_NOTES else heard
    in_time = sorted(heard, key=lambda n: n.start)
    allowed = kept | (chosen.pitch_classes & likely_tones(read_on, reference, KEY_SURE, beside=in_time))
    if not allowed or allowed == chosen.pitch_classes:     # none left: a reading and a key with no tone in common
        return chosen
    return replace(chosen, degrees=tuple(d for d in chosen.degrees if (chosen.tonic + d) % 12 in allowed),
                   extra=allowed)


def _kept_on_the_line(line: Sequence[Note], heard: Sequence[Note], reference: float) -> frozenset[int]:
    """The tones the network's melody line (`line`) keeps using, on its notes within the pitches of the tracker's
    (`heard`): over an accompaniment the tracker loses a tune's brief notes, or follows the bass through them, and a
    tone the tune sounds twice is then heard once and called out of key (The Little Fair Child's B-flat, its first a
    passing note of 0.05 s). Above the tracker's pitches the line follows partials: an F4's 7th partial, D-sharp 7,
    made a slip's D-sharp kept. (Held-out tunes: 16 false findings fewer, precision 77.9 -> 81.6 %; the second pool
    1 fewer; the set 4 fewer, 90.6 -> 91.6 %; nothing found lost. Without the range, 4 and 1 slips lost on the
    held-out pools. The tracker's notes, as a second hearing of a take read from the line (`melody`), made a mix's
    wrong alto F kept, with two F3s of the lower voices the tracker follows: not done.)

    The two hearings are counted together too: each may lose a different one of a tone's two places (EyesRight,
    held-out tunes, ornamented over its pad: the tracker lost its first C-sharp 6 of 0.11 s to the bass, the line its
    second to the pad's E4, and the tune's own C-sharp was out of key). A place both hear is still one place. (Cached
    trials, stop 64: 3 false findings fewer, EyesRight's C-sharp in 2 held-out takes and an out-of-key finding on the
    second pool's altdeu10-4; nothing found lost on any pool.)"""
    within = _within_the_trackers_pitches(line, heard)
    if not within:      # nothing heard beside the tracker: what it keeps, judge_notes counts already
        return frozenset()
    return kept_pitch_classes(within, reference) | kept_pitch_classes([*heard, *within], reference)


def _within_the_trackers_pitches(line: Sequence[Note], heard: Sequence[Note]) -> list[Note]:
    """The notes of the network's melody line (`line`) within the pitches of the tracker's notes (`heard`), a
    quarter-tone to spare: outside them the line follows partials or the bass."""
    if not line or not heard:
        return []
    low, high = min(n.centre for n in heard) - 50.0, max(n.centre for n in heard) + 50.0
    return [n for n in line if low <= n.centre <= high]


# A note the tracker lost inside a phrase is judged as the network's melody line heard it. SwiftF0 loses a plucked or
# struck note in a quick legato run while the note before it still rings: a steel guitar's E-flat 5 of 0.19 s at 150
# BPM (AfterTheHareReel, 100 cents flat of its E5) was read as the A4 before it and then as nothing, where Basic
# Pitch's line heard E-flat 5. A line note is taken as such a note where it lasts SURE_S or more within the tracker's
# pitches, the tracker's notes cover at most LOST_COVERED_SHARE of it, a heard note ends at most LOST_FLANK_S before it
# and another starts as soon after it (inside a phrase: in a rest the line follows the pad), and both lie
# LOST_APART_CENTS or more from it (a gap between two notes of its tone is a vibrato's crest the tracker did not
# follow: a vibraphone's G4 swinging a semitone read an A-flat 4 there). (Cached trials: 3 errors more found, the
# set's AfterTheHareReel and book3-404 over its pad, the held-out tunes' boehme10-3 over its pad, and no false finding
# more on the three pools. Without the flanks and the distance, 4 found and 14 false findings more: a pad's F5 in a
# rest of 0001-0050-4's 9 accompanied takes, line notes of ornamented takes 80 cents off the reference.)
LOST_COVERED_SHARE = 0.3
LOST_FLANK_S = 0.15
LOST_APART_CENTS = 70.0
# Such a note is judged on its tone, and on its tuning against LOST_TOLERANCE cents: the line's pitch comes from a
# posteriorgram of three bins to the semitone, less sure than the tracker's, so only a note clearly off is `detuned`,
# as for a brief plain note (PLAIN_SHORT_TOLERANCE). (Cached trials, stop 67: bwv291's F4 50 cents sharp over its pad,
# which the tracker read as no note and the line heard 47 cents off, found on the second pool; no false finding more
# on any pool. At 35 cents, 2 false findings more, one on each held-out pool; at the take's own tolerance (25, stop
# 63), 2 errors more found for 4 false findings.)
LOST_TOLERANCE = 40.0


def _lost_by_the_tracker(line: Sequence[Note], found: Sequence[Note], heard: Sequence[Note]) -> list[Note]:
    """The notes of the melody line (`line`, its heard notes) that the tracker lost inside a phrase (see
    LOST_COVERED_SHARE); `found`: the tracker's notes, `heard`: those a listener hears."""
    out = []
    for n in _within_the_trackers_pitches(line, heard):
        covered = sum(max(0.0, _overlap(n, m)) for m in found)
        before = max((m for m in heard if m.start < n.start), key=lambda m: m.end, default=None)
        after = min((m for m in heard if m.end > n.end), key=lambda m: m.start, default=None)
        if (n.duration >= SURE_S and covered <= LOST_COVERED_SHARE * n.duration
                and before is not None and n.start - before.end <= LOST_FLANK_S
                and after is not None and after.start - n.end <= LOST_FLANK_S
                and min(abs(before.centre - n.centre), abs(after.centre - n.centre)) >= LOST_APART_CENTS):
            out.append(n)
    return out


# A note the tracker hears for less than `min_sour_s` is not judged: so brief a pitch is no sure reading. Over a pad
# or a bass the tracker cuts a melody note short as it goes over to the other voice (dva0-3's A-flat 4 heard for 0.11
# s, then the bass's F2) or splits a plucked one; where the network's melody line holds the note's pitch (within
# LINE_HOLDS_CENTS) for SURE_S or more through it, the note did last, and it is judged as a brief note is, on its tone
# and against the wider SHORT_TOLERANCE (`judge`). Not where a note that has a finding already sounds within that
# line note: that is one note cut in two, and found once. (Cached trials: 5 errors more found, 1 on the set, 2 on each
# held-out pool, for 1 false finding more, on the second pool: an ornamented take's whole-tone slide from C5 to
# B-flat 4 over its pad, whose passing B4 the line held for 0.31 s. Judged as a sure note instead (25 cents), 35 false
# findings more, brief centres read 30 cents off; without the note already found, 5 more, each a second finding on an
# error found.)
LINE_HOLDS_CENTS = 30.0


def _held_on_the_line(notes: Sequence[Note], judged: list[Finding | None], heard_ids: set[int],
                      line: Sequence[Note], min_sour_s: float,
                      judge_brief: Callable[[Note], Finding | None]) -> list[Finding | None]:
    """`judged` with a finding (by `judge_brief`) for each heard note too brief to be judged that the melody `line`
    holds for longer (see LINE_HOLDS_CENTS); `heard_ids`: the ids of the notes a listener hears."""
    out = list(judged)
    for i, n in enumerate(notes):
        if out[i] is not None or id(n) not in heard_ids or max(n.stable_s, n.duration) >= min_sour_s:
            continue
        holding = [m for m in line if _overlap(m, n) > 0 and abs(m.centre - n.centre) <= LINE_HOLDS_CENTS
                   and m.duration >= SURE_S]
        found_there = any(out[k] is not None and _overlap(m, o) > 0 for m in holding for k, o in enumerate(notes))
        if holding and not found_there:
            out[i] = judge_brief(n)
    return out


# A tracked note can hold one pitch across two notes of one tone, one of them sounded sour, where the accompaniment
# pulls the tracker towards the in-tune tone (irl-3 over its pad: an F4 50 cents sharp and the F4 after it, read as
# one F4 6 cents flat; the pad sounds F). Where the melody line hears such a note in two, one piece where the tracker
# reads it (within SPLIT_AGREE_CENTS) and another of SURE_S or more at least LOST_TOLERANCE from it, that other piece
# is judged as a lost note is, and added where it has a finding (`_split_by_the_line`). (Cached trials, stop 67:
# irl-3's slip found on the held-out tunes, and nothing else changed on any pool; at 30 cents apart, the same.)
SPLIT_AGREE_CENTS = 15.0


def _split_by_the_line(notes: Sequence[Note], judged: Sequence[Finding | None], heard_ids: set[int],
                       line: Sequence[Note], reference: float) -> list[Note]:
    """The melody `line`'s notes that split a heard note with no finding (see SPLIT_AGREE_CENTS)."""
    out = []
    for n, f in zip(notes, judged, strict=True):
        if f is not None or id(n) not in heard_ids:
            continue
        step = grid_step(n.centre, reference)
        pieces = [m for m in line if m.steady and _overlap(m, n) >= 0.8 * m.duration
                  and grid_step(m.centre, reference) == step]
        where_tracked = [m for m in pieces if abs(m.centre - n.centre) <= SPLIT_AGREE_CENTS]
        out += [m for m in pieces if m.duration >= SURE_S and abs(m.centre - n.centre) >= LOST_TOLERANCE
                and any(_overlap(a, m) <= 0 for a in where_tracked)]
    return out


# A tone struck again at once is meant: a slip is one note, and a tone re-attacked on the next note (a level rise of
# RESTRUCK_DB or more into the second, at most RESTRUCK_GAP_S after the first ends) is played on purpose, as the
# B-flats of boehme10-4's C, B-flat, B-flat, A in C major are. The rise tells a re-attack from a note the tracker split
# in two: of the touching pairs on one tone in the clean, -40-cent and ornamented takes of the set and the held-out
# tunes, 15 of 360 pieces of one written note rise 3 dB or more into the second, and 718 of 1,065 pairs of two written
# notes do. (Second held-out pool: 14 false findings fewer, precision 78.1 -> 81.3 %; the set and the first held-out
# pool unchanged, finding for finding. At 1 or 6 dB the same; with no rise asked, 1.5 to 3 points of recall lost on
# every pool.)
RESTRUCK_DB = 3.0
RESTRUCK_GAP_S = 0.15


def _struck_again(notes: Sequence[Note], i: int, reference: float) -> bool:
    """Whether `notes[i]` (the notes in order of time) sounds its tone again on the note before or after it,
    re-attacked (see RESTRUCK_DB)."""
    step = grid_step(notes[i].centre, reference)
    for j in (i - 1, i + 1):
        if 0 <= j < len(notes) and grid_step(notes[j].centre, reference) == step:
            first, second = sorted((notes[i], notes[j]), key=lambda n: n.start)
            if second.start - first.end <= RESTRUCK_GAP_S and second.onset_db >= RESTRUCK_DB:
                return True
    return False


def _merged(notes: Sequence[Note], judged: Sequence[Finding | None], more: Sequence[Note],
            more_judged: Sequence[Finding | None]) -> tuple[list[Note], list[Finding | None]]:
    """Two lists of notes, each with its findings, as one in order of time."""
    pairs = sorted(zip([*notes, *more], [*judged, *more_judged], strict=True),
                   key=lambda pair: (pair[0].start, pair[0].centre))
    return [n for n, _ in pairs], [f for _, f in pairs]


def judge_notes(notes: Sequence[Note], params: CheckParams | None = None, voices: str = "mono",
                missed: Sequence[Note] = (), line: Sequence[Note] = ()
                ) -> tuple[list[Note], list[Finding | None], float, Scale | None]:
    """The notes of a take judged: its tuning reference and scale read from them, then a finding or None per note.
    For `voices="poly"`, the chord rules, and the notes Basic Pitch `missed` judged for their tone and merged in.
    A melody's `line`, the notes of Basic Pitch's melody line where it was computed, says which tones the tune keeps
    using as well (`_kept_on_the_line`), and where the tracker lost a note of a `mono` take inside a phrase, the
    line's note is judged (its tone, and its tuning against LOST_TOLERANCE) and merged in (`_lost_by_the_tracker`).
    Returns (notes, findings per note, reference, scale). (`check` calls it on the notes it tracked; given written
    notes it shows what the check would find were the transcription perfect: see benchmarks/bench_scale.py.)"""
    p = params if params is not None else CheckParams()
    found_notes = list(notes)
    reference = estimate_reference(found_notes) if p.reference_cents is None else float(p.reference_cents)
    if voices == "poly" and missed:
        found_notes, missed = _with_late_onsets(found_notes, missed, reference)
    heard = heard_notes(found_notes, p.quiet_db)
    line_heard = heard_notes(line, p.quiet_db)
    if voices == "poly":
        kept = _kept_in_a_mix(heard, reference)
    else:
        kept = kept_pitch_classes(heard, reference) | _kept_on_the_line(line_heard, heard, reference)
    chosen = _scale(p, heard, found_notes, reference, kept, voices)
    tolerance = _tolerance(p, chosen, voices)
    # one line, a melody (the chords of a mix are read by `_judge_in_chords`); after the tolerance, which the size of
    # the scale as read sets (a pentatonic reading's is wider)
    if voices != "poly":
        chosen = _sure_of_key(p, chosen, heard, reference, kept)
    heard_ids = {id(n) for n in heard} - _ornament_pieces(found_notes)
    witnesses = [n for n in heard if id(n) in heard_ids and _sure(n)]
    own = own_intonation(witnesses, reference)
    held = {id(n): max(n.stable_s, n.duration) for n in witnesses}
    longest = {step: max(held[i] for i in on_it) for step, on_it in own.items()}
    plain = _plain(heard)
    own_tolerance = (tolerance if p.tolerance_cents is not None or voices == "poly"
                     else min(tolerance, PLAIN_OWN_TOLERANCE))
    judged = [_judge_heard(n, reference, chosen, tolerance, p.min_sour_s, own, plain, own_tolerance, longest)
              if id(n) in heard_ids else None for n in found_notes]
    if voices == "mono" and line_heard:
        def on_the_line(n: Note) -> Finding | None:
            """A note the melody line alone heard: its pitch is less sure than the tracker's (LOST_TOLERANCE)."""
            return judge(n, reference, chosen, max(tolerance, LOST_TOLERANCE), p.min_sour_s)

        lost = _lost_by_the_tracker(line_heard, found_notes, heard)
        found_notes, judged = _merged(found_notes, judged, lost, [on_the_line(n) for n in lost])
        judged = _held_on_the_line(found_notes, judged, heard_ids, line_heard, p.min_sour_s, lambda n: _judge_heard(
            n, reference, chosen, tolerance, 0.0, own, plain, own_tolerance, longest))
        # a piece of a tracked note judged so joins the notes only with a finding: the tracked note stands for the rest
        split = [(m, f) for m in _split_by_the_line(found_notes, judged, heard_ids, line_heard, reference)
                 if (f := on_the_line(m)) is not None]
        found_notes, judged = _merged(found_notes, judged, [m for m, _ in split], [f for _, f in split])
    if voices != "poly" and _key_read(p, chosen):
        # the key read on the whole take is not the key of every stretch of it, and a tone struck again is meant
        context = sorted(heard, key=lambda n: n.start)
        timed = sorted(range(len(found_notes)), key=lambda k: found_notes[k].start)
        in_time = [found_notes[k] for k in timed]
        again = {timed[k] for k in range(len(timed)) if _struck_again(in_time, k, reference)}
        judged = [None if f is not None and f.kind == "out_of_key" and (i in again or moved_to(context, n, reference))
                  else f for i, (n, f) in enumerate(zip(found_notes, judged, strict=True))]
    if voices == "poly" and chosen is not None:
        judged = _judge_in_chords(found_notes, judged, heard, heard_ids, kept, reference, chosen, p.min_sour_s)
        missed = [n for n in missed if abs(deviation(n.centre, reference)[0]) <= MISSED_OFF_CENTS]
        found_notes, judged = _merged(found_notes, judged, missed, _judge_missed(missed, heard, reference, chosen))
    return found_notes, judged, reference, chosen


def check(audio: np.ndarray, sample_rate: int, params: CheckParams | None = None, **settings: Any) -> Check:
    """Check float (channels, frames) or (frames,) audio; see the module docstring for what is found.

    `params` (or keyword settings: `check(x, sr, style="gugak")`) are a CheckParams."""
    p = params if params is not None else CheckParams(**settings)
    mono = audio.mean(axis=0) if audio.ndim == 2 else audio
    mono = np.ascontiguousarray(mono, dtype=np.float32)
    seconds = len(mono) / sample_rate
    if sample_rate != CREPE_RATE:
        mono = soxr.resample(mono, sample_rate, CREPE_RATE, "HQ")
    track = track_pitch(mono, CREPE_RATE, model=p.model, hop_s=p.hop_s, device=p.device, batch_size=p.batch_size,
                        min_periodicity=p.min_periodicity)
    found_notes, missed, voices, line, grams = _notes(mono, track, p)
    found_notes, judged, reference, chosen = judge_notes(found_notes, p, voices, missed, _line_notes(mono, voices,
                                                                                                   grams, p))
    if voices != "poly":     # a mix's chords are read by judge_notes already
        judged = _held_by_the_accompaniment(found_notes, judged, reference, grams)
        judged = _confirmed_by_the_contour(found_notes, judged, grams)
        judged = _a_partial_in_the_mix(found_notes, judged, grams, reference)
        if _key_read(p, chosen):
            judged = _struck_twice_in_the_mix(found_notes, judged, grams)

    rough = roughness_track(mono, CREPE_RATE, pitched=(track.times, track.voiced))
    findings = [f for f in judged if f is not None]
    if voices != "poly":    # a mix's voices are judged note by note (see `_rough_findings`)
        findings += _rough_findings(rough.times, rough.roughness, p.roughness_threshold, p.min_rough_s, rough.hop_s)
    findings.sort(key=lambda f: f.start)
    pitched_s = sum(n.duration for n in found_notes)
    sour = sum(n.duration * f.severity for n, f in zip(found_notes, judged, strict=True) if f is not None)
    score = 100.0 * sour / pitched_s if pitched_s > 0 else 0.0
    windows = _windows(found_notes, judged, rough.times, rough.roughness, seconds, p.window_s)
    return Check(findings, found_notes, reference, chosen, score, windows, pitched_s, seconds, line, voices)
