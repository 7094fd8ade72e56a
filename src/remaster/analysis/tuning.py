"""The tuning reference and the scale of a take, estimated from its notes.

Gugak is not tuned to A = 440 Hz and its intonation is not twelve-tone equal temperament, so nothing here
assumes either: the reference is the offset of the twelve-tone grid (in cents from A = 440 Hz) that best fits
the notes' centres, a duration-weighted circular mean over the 100-cent cycle refined once without the notes
that sit far off it. The scale is the candidate (a mode on one of the twelve tonics) that holds the largest
share of the notes on that grid; `SCALES` is the table of modes, `STYLES` says which a style considers.
`melody_key` reads the major or minor key the way melodies are keyed, from how long each tone sounds.

A tune's own accidentals are its scale too: church modes (dorian, mixolydian), a raised leading tone, a borrowed
tone the tune keeps coming back to. `kept_pitch_classes` gives the pitch classes the take returns to (in at least
`KEPT_OCCURRENCES` separate places); the check adds them to the estimated mode, so only a rare stray note is out
of key.

A note's intonation is judged against the grid and against how the take sounds the same tone elsewhere
(`own_intonation`): a note is sour only when it is off both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .notes import Note

# Semitones above the mode's own tonic. The gugak modes as in docs/reference/gugak.md: 평조 pyeongjo is
# sol–la–do–re–mi counted from sol, 계면조 gyemyeonjo la–do–re–mi–sol counted from la.
SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
    "melodic_minor": (0, 2, 3, 5, 7, 9, 11),
    "pyeongjo": (0, 2, 5, 7, 9),
    "gyemyeonjo": (0, 3, 5, 7, 10),
}
STYLES: dict[str, tuple[str, ...]] = {
    "western": ("major", "minor", "harmonic_minor", "melodic_minor"),
    "gugak": ("pyeongjo", "gyemyeonjo"),
    "auto": tuple(SCALES),
}
# A gugak piece that clearly fits no pentatonic mode (fusion, borrowed tones) is judged against the western
# modes, when they hold clearly more of its notes.
GUGAK_FALLBACK_FIT = 0.85
GUGAK_FALLBACK_MARGIN = 0.1
NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_ALIASES = {"Db": 1, "D#": 3, "Gb": 6, "G#": 8, "A#": 10, "Cb": 11, "B#": 0, "E#": 5, "Fb": 4}
NOTE_WEIGHT_CAP_S = 0.3
KEPT_OCCURRENCES = 2
SIZE_PENALTY = 0.03     # per tone, so a smaller scale that fits as well wins (only between modes of unequal size)


@dataclass(frozen=True)
class Scale:
    tonic: int                  # pitch class, 0 = C
    mode: str
    degrees: tuple[int, ...]    # semitones above the tonic
    fit: float = 1.0            # share of note duration on the scale
    extra: frozenset[int] = frozenset()     # pitch classes the take keeps using beside the mode's

    @property
    def pitch_classes(self) -> frozenset[int]:
        return frozenset((self.tonic + d) % 12 for d in self.degrees) | self.extra

    @property
    def name(self) -> str:
        return f"{NAMES[self.tonic]} {self.mode}"


def pitch_class(name: str | int) -> int:
    """'Eb', 'F#', 'C' or 0..11."""
    if isinstance(name, int):
        return name % 12
    key = name.strip().capitalize().replace("♭", "b").replace("♯", "#")
    if key in NAMES:
        return NAMES.index(key)
    if key in _ALIASES:
        return _ALIASES[key]
    raise ValueError(f"'{name}' is not a note name; allowed: {', '.join(NAMES)} (and sharps/flats)")


def note_name(cents: float) -> str:
    """'E4+23': the nearest equal-tempered note on A = 440 Hz and the offset from it."""
    midi = round(cents / 100)
    off = cents - midi * 100
    return f"{NAMES[midi % 12]}{midi // 12 - 1}{'+' if off >= 0 else '-'}{abs(off):.0f}"


def _wrap(cents: np.ndarray | float) -> np.ndarray | float:
    """Into [-50, 50)."""
    return (np.asarray(cents) + 50.0) % 100.0 - 50.0


def grid_mean(cents: np.ndarray, weights: np.ndarray) -> float:
    """The weighted circular mean of pitches (cents) over the 100-cent cycle: where, in [-50, 50), they lie off the
    twelve-tone grid of A = 440 Hz on the whole (0 where they cancel out)."""
    z = np.sum(weights * np.exp(2j * np.pi * np.asarray(cents) / 100.0))
    return float(_wrap(np.angle(z) * 100.0 / (2 * np.pi))) if abs(z) > 0 else 0.0


def estimate_reference(notes: Sequence[Note], outlier_cents: float = 25.0) -> float:
    """Offset of the twelve-tone grid from A = 440 Hz, in cents within [-50, 50)."""
    if not notes:
        return 0.0
    centres = np.array([n.centre for n in notes])
    weights = np.array([n.stable_s for n in notes])
    first = grid_mean(centres, weights)
    close = np.abs(_wrap(centres - first)) <= outlier_cents
    return grid_mean(centres[close], weights[close]) if close.any() else first


def _histogram(notes: Sequence[Note], reference: float) -> np.ndarray:
    """Share of notes per pitch class. Notes count about equally (weight capped at `NOTE_WEIGHT_CAP_S`), so
    one long wrong note cannot pull the key towards itself and make the right notes look out of key."""
    hist = np.zeros(12)
    for n in notes:
        hist[grid_step(n.centre, reference) % 12] += min(n.stable_s, NOTE_WEIGHT_CAP_S)
    return hist / hist.sum() if hist.sum() > 0 else hist


# Key profiles of Krumhansl and Kessler (1982): how well each degree fits a major or a minor key.
_KK_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
_KK_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)


# Key profiles of Aarden (2003), from the Essen folksong collection (as tabulated by Humdrum's keycor): how often
# each degree sounds in melodies of a major or a minor key.
AARDEN = {
    "major": np.array((17.7661, 0.145624, 14.9265, 0.160186, 19.8049, 11.3587, 0.291248, 22.062, 0.145624, 8.15494,
                       0.232998, 4.95122)),
    "minor": np.array((18.2648, 0.737619, 14.0499, 16.8599, 0.702494, 14.4362, 0.702494, 18.6161, 4.56621, 1.93186,
                       7.37619, 1.75623)),
}


def _profile(mode: str) -> np.ndarray:
    if mode == "major":
        return np.array(_KK_MAJOR)
    if mode.endswith("minor"):
        return np.array(_KK_MINOR)
    profile = np.zeros(12)         # pentatonic modes: the tonic and fifth stand out, the other tones follow
    profile[list(SCALES[mode])] = 1.0
    profile[0], profile[7] = 2.0, 1.5
    return profile


def _profile_of(notes: Sequence[Note], reference: float) -> tuple[np.ndarray, int, int]:
    """What the key-finding weighs: the notes' pitch-class histogram and the first and the last note's pitch class."""
    return (_histogram(notes, reference), grid_step(notes[0].centre, reference) % 12,
            grid_step(notes[-1].centre, reference) % 12)


def _tonic_salience(hist: np.ndarray, mode: str, tonic: int, first_pc: int, last_pc: int) -> float:
    """Breaks ties between candidates that hold the same notes (C major vs A minor, 평조 vs 계면조, or two keys
    that each leave one note out): the correlation of the notes with the mode's key profile, and whether the
    melody starts and ends on the tonic."""
    profile = np.roll(_profile(mode), tonic)
    corr = float(np.corrcoef(hist, profile)[0, 1]) if hist.std() > 0 else 0.0
    return corr + (0.1 if last_pc == tonic else 0.0) + (0.05 if first_pc == tonic else 0.0)


def estimate_scale(notes: Sequence[Note], reference: float, style: str = "auto") -> Scale | None:
    if not notes:
        return None
    hist, first_pc, last_pc = _profile_of(notes, reference)
    sizes = {len(SCALES[m]) for m in STYLES[style]}

    def best(modes: Sequence[str]) -> Scale:
        scored = []
        for mode in modes:
            degrees = SCALES[mode]
            for tonic in range(12):
                fit = float(sum(hist[(tonic + d) % 12] for d in degrees))
                penalty = SIZE_PENALTY * len(degrees) if len(sizes) > 1 else 0.0
                scored.append((round(fit - penalty, 9), _tonic_salience(hist, mode, tonic, first_pc, last_pc),
                               Scale(tonic, mode, degrees, fit)))
        return max(scored, key=lambda s: (s[0], s[1]))[2]

    scale = best(STYLES[style])
    if style == "gugak" and scale.fit < GUGAK_FALLBACK_FIT:
        western = best(STYLES["western"])
        if western.fit >= scale.fit + GUGAK_FALLBACK_MARGIN:
            return western
    return scale


def melody_key(notes: Sequence[Note], reference: float) -> Scale:
    """The major or minor key of a melody: Krumhansl and Schmuckler's key-finding (the key whose profile correlates
    best with how long each pitch class sounds) with Aarden's folksong profiles, which were measured on melodies
    rather than on chords. (The choice by share of notes in the scale cannot tell apart two keys that both hold a
    tune that never touches one tone: C major and F major, for a tune without B or B-flat.)"""
    weight = np.zeros(12)
    for n in notes:
        weight[grid_step(n.centre, reference) % 12] += max(n.stable_s, n.duration)
    options = [(mode, tonic) for mode in ("major", "minor") for tonic in range(12)]

    def corr(option: tuple[str, int]) -> float:
        return float(np.corrcoef(weight, np.roll(AARDEN[option[0]], option[1]))[0, 1]) if weight.std() > 0 else 0.0

    mode, tonic = max(options, key=corr)       # the first of equals: major before minor, C upwards
    degrees = SCALES[mode]
    total = weight.sum()
    fit = float(sum(weight[(tonic + d) % 12] for d in degrees) / total) if total > 0 else 1.0
    return Scale(tonic, mode, degrees, fit)


def declared_scale(tonic: str | int, mode: str | None = None, degrees: Sequence[int] | None = None) -> Scale:
    """A scale the preset names: a mode from `SCALES`, or explicit degrees in semitones above the tonic."""
    if degrees is not None:
        return Scale(pitch_class(tonic), mode or "custom", tuple(sorted({int(d) % 12 for d in degrees})))
    if mode not in SCALES:
        raise ValueError(f"mode '{mode}' is unknown; allowed: {', '.join(SCALES)}")
    return Scale(pitch_class(tonic), mode, SCALES[mode])


def grid_step(centre: float, reference: float) -> int:
    """The nearest tone of the take's grid (the twelve-tone grid shifted by `reference`), as a MIDI number."""
    return math.floor((centre - reference) / 100.0 + 0.5)


def deviation(centre: float, reference: float) -> tuple[float, int]:
    """Cents from the nearest grid tone, and that tone as a MIDI number on the take's grid."""
    nearest = grid_step(centre, reference)
    return float(centre - reference - 100.0 * nearest), nearest


# A tone the take sounds elsewhere no more than this off the grid is the take's own intonation of that tone.
OWN_INTONATION_CAP = 30.0


def own_intonation(witnesses: Sequence[Note], reference: float,
                   cap: float = OWN_INTONATION_CAP) -> dict[int, dict[int, float]]:
    """How the take itself sounds each tone: per grid tone (a MIDI number on the take's grid), the offset from the
    grid of each of the `witnesses` on it (the notes whose centre is sure; keyed by `id(note)`, so that a note can
    be left out of its own witnesses), those within `cap`. An instrument or a voice that is consistently flat on one
    tone (a sampled note tuned 25 cents low, a piano's stretched treble, a 계면조 tone bent down every time it comes)
    sounds that tone so throughout; a sour note is off where the take's other notes on that tone are not."""
    out: dict[int, dict[int, float]] = {}
    for n in witnesses:
        off, step = deviation(n.centre, reference)
        if abs(off) <= cap:
            out.setdefault(step, {})[id(n)] = off
    return out


def kept_pitch_classes(notes: Sequence[Note], reference: float, occurrences: int = KEPT_OCCURRENCES,
                       gap_s: float = 0.15) -> frozenset[int]:
    """Pitch classes the take comes back to: in at least `occurrences` places, where notes of one pitch class
    less than `gap_s` apart (a note split in two, a repeated note, one voice of a mix), or with no other tone
    between them, are one place: a piano's wrong A-flat that the tracker lost for 0.2 s as it decayed was two places,
    and kept (the set's takes: 1 more found, nothing else moved)."""
    places: dict[int, int] = {}
    last_end: dict[int, float] = {}
    left: set[int] = set()      # the tones another tone has sounded after
    for n in sorted(notes, key=lambda n: n.start):
        pc = grid_step(n.centre, reference) % 12
        if pc not in last_end or (n.start - last_end[pc] > gap_s and pc in left):
            places[pc] = places.get(pc, 0) + 1
        last_end[pc] = max(last_end.get(pc, -1e9), n.end)
        left = (left | set(last_end)) - {pc}
    return frozenset(pc for pc, k in places.items() if k >= occurrences)


# Every form of the minor: a minor key's raised 6th and 7th are in key.
MINOR_FORMS = frozenset(SCALES["minor"]) | frozenset(SCALES["harmonic_minor"]) | frozenset(SCALES["melodic_minor"])


def in_key(kept: frozenset[int], scale: Scale) -> frozenset[int]:
    """Every pitch class in key for a tune whose mode was read as `scale` and that keeps using `kept`: those, the
    mode's, and for a minor mode every form of the minor."""
    allowed = set(kept) | scale.pitch_classes
    if scale.mode.endswith("minor"):
        allowed |= {(scale.tonic + d) % 12 for d in MINOR_FORMS}
    return frozenset(allowed)


def second_reading(key: Scale, kept: frozenset[int]) -> frozenset[int]:
    """The pitch classes in key for a second reading `key` of a tune's key (every form of a minor), less each one a
    semitone from a tone the tune keeps using (`kept`) that `key` lacks: a tune that keeps coming back to A natural
    is no tune in F minor, so F minor does not make its lone A-flat in key."""
    foreign = kept - key.pitch_classes
    return frozenset(t for t in in_key(frozenset(), key) if (t - 1) % 12 not in foreign and (t + 1) % 12 not in foreign)
