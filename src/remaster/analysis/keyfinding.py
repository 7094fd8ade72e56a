"""How sure the key of a melody is: a probability for each of the 24 major and minor keys, the tones a melody's
key holds with some probability, the passing tones of the key around a pentatonic reading (`home_tones`), and
whether a tone belongs to a key the take moved to for a while (`moved_to`).

A melody cut out of a tune (a take of 6-12 s) often fits two keys about as well: a relative major and minor, or two
keys a fifth apart for a tune that never touches the tone between them. One key read from it (`tuning.melody_key`)
is wrong for about one take in eight, and a lone tone then looks out of key where it is not, or in key where it is
not. So the check asks how sure it can be that a tone is out of key: the sum of the probabilities of the keys that
hold it (a minor key holds its raised 6th and 7th, but one sounded once only where it moves as those do: `holds`),
the key read, for a tone sounded once, without that note where enough notes are left (`LONE_VOTE_NOTES`).

The model is a multinomial logistic regression over the 24 candidate keys (a conditional logit: one weight per
feature, shared by all candidates), after Krumhansl and Schmuckler's key-finding (the correlation of a pitch-class
duration histogram with a key profile, here Aarden's folksong profiles, `tuning.AARDEN`) with the features that tell
apart the keys it confuses: the share of the melody's time on the candidate's tonic, fifth and third and on its
scale, whether the first note is its tonic or fifth, and for a minor key its raised 7th and 6th. The weights were
fitted by `benchmarks/fit_key_model.py` on 11,001 tunes of music21's corpus (Essen folk songs, Ryan's, O'Neill's,
Aird's, Bach chorale sopranos), each cut as the evaluation set cuts its tunes, to predict the key music21 reads on the
whole tune; on 1,376 other tunes (bench_scale.py's) it names that key for 86.8 % of the takes, as often as
Krumhansl-Schmuckler with the same profiles (87.1 %), and its probabilities are better calibrated: mean log-loss
0.37 against 0.41 for a softmax over the correlations at its best temperature.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from .notes import Note
from .tuning import AARDEN, MINOR_FORMS, SCALES, grid_step

MODES = ("major", "minor")
# The 24 candidates, major keys on C..B then minor keys on C..B, and the tones each holds: a major scale, or every
# form of the minor (a minor key's raised 6th and 7th are in key).
KEYS: tuple[tuple[str, int], ...] = tuple((mode, tonic) for mode in MODES for tonic in range(12))
KEY_TONES: tuple[frozenset[int], ...] = tuple(
    frozenset((tonic + d) % 12 for d in (SCALES["major"] if mode == "major" else MINOR_FORMS))
    for mode, tonic in KEYS)
_HOLDS = np.array([[pc in tones for pc in range(12)] for tones in KEY_TONES], float)     # (24, 12)
_RAISED = (9, 11)       # a minor key's raised 6th and 7th, above its tonic
FEATURES = ("profile_correlation", "tonic_share", "fifth_share", "third_share", "scale_share", "first_is_tonic",
            "first_is_fifth", "minor", "minor_raised_7th_share", "minor_raised_6th_share")
# Fitted by benchmarks/fit_key_model.py (see the module docstring); one per FEATURES.
WEIGHTS = np.array((14.82, 4.23, 4.63, 4.06, 13.76, 0.51, 0.45, -0.27, 11.28, 7.63))
_NATURAL = {"major": np.array(SCALES["major"]), "minor": np.array(SCALES["minor"])}


def features(pitch_classes: Sequence[int], durations: Sequence[float]) -> np.ndarray:
    """The (24, len(FEATURES)) features of each candidate key for a melody given as the pitch class and the duration
    of each note, in order."""
    hist = np.zeros(12)
    np.add.at(hist, np.asarray(pitch_classes, int), np.asarray(durations, float))
    hist = hist / hist.sum()
    first = int(pitch_classes[0])
    rows = []
    for mode, tonic in KEYS:
        degree = np.roll(hist, -tonic)          # degree[d]: share of the melody's time d semitones above the tonic
        corr = float(np.corrcoef(hist, np.roll(AARDEN[mode], tonic))[0, 1]) if hist.std() > 0 else 0.0
        minor = mode == "minor"
        rows.append((corr, degree[0], degree[7], degree[3] if minor else degree[4], degree[_NATURAL[mode]].sum(),
                     first == tonic, first == (tonic + 7) % 12, minor, minor * degree[11], minor * degree[9]))
    return np.array(rows, float)


def probabilities(pitch_classes: Sequence[int], durations: Sequence[float],
                  weights: np.ndarray = WEIGHTS) -> np.ndarray:
    """The probability of each of `KEYS` for a melody (pitch class and duration per note); uniform for a melody of
    fewer than two pitch classes."""
    if len(set(int(p) for p in pitch_classes)) < 2 or sum(durations) <= 0:
        return np.full(len(KEYS), 1.0 / len(KEYS))
    score = features(pitch_classes, durations) @ weights
    odds = np.exp(score - score.max())
    return odds / odds.sum()


def holds(pitch_classes: Sequence[int]) -> np.ndarray:
    """Per key (`KEYS`), whether it holds each pitch class in this melody (pitch class per note, in order): as
    `KEY_TONES`, but a minor key's raised 6th or 7th that sounds in one note only is its own where that note moves by
    a semitone to or from a note beside it, as a leading tone, a chromatic passing tone or a neighbour does. Elsewhere
    a lone raised tone is more often a slip than the key's own: a semitone off a note of a major tune lands on the
    raised 6th or 7th of its relative minor, the key a cut of that tune is often read in. (bench_scale.py, written
    notes of 1,376 corpus tunes: 88.2 -> 89.4 % of out-of-key notes found, 90.0 -> 91.5 % of sour semitones, clean
    tunes flagged 2.5 -> 2.6 %; each half of the tunes gains alike.)

    The semitone that lets a raised 6th be the key's own is not one to the key's natural 6th: a B beside a B-flat in
    D minor is no step of a scale up to C-sharp and D but the tone bent, and a C pushed down to B beside an F major
    tune's B-flat reads so (boehme10-2). A raised 7th beside the natural 7th stays the key's own: minor folk tunes
    write C-sharp beside C in D minor (bench_scale.py, written notes of 1,376 tunes: for the 6th alone, 1,271 ->
    1,272 out-of-key notes found, 1,291 -> 1,294 sour semitones, clean tunes flagged 23 -> 24; for the 7th too,
    1,275 and 1,299 found, 29 clean tunes flagged)."""
    pcs = [int(p) % 12 for p in pitch_classes]
    table = _HOLDS.copy()
    for row, pc, i, natural in _lone_raised(pcs):
        if not _by_semitone(pcs, i, natural):
            table[row, pc] = 0.0
    return table


def _lone_raised(pcs: list[int]) -> Iterator[tuple[int, int, int, int | None]]:
    """Each minor key's raised 6th or 7th that sounds in one note only of `pcs` (pitch classes, in order): the key's
    row in `KEYS`, the pitch class, that note's index, and the key's natural 6th for its raised 6th (the semitone that
    does not count: `holds`), None for its raised 7th."""
    counts = np.bincount(pcs, minlength=12)
    for row, (mode, tonic) in enumerate(KEYS):
        for step in _RAISED if mode == "minor" else ():
            pc = (tonic + step) % 12
            if counts[pc] == 1:
                yield row, pc, pcs.index(pc), (pc - 1) % 12 if step == _RAISED[0] else None


def _by_semitone(pcs: Sequence[int], i: int, but: int | None = None) -> bool:
    # by pitch class: a line the tracker hears an octave off, or with a bass note in it, still moves by a semitone
    # (by the notes' own semitones: on written notes 2 more out-of-key notes found, but on the set 8 more false
    # findings, 7 of them in one tune's accompanied takes, for 1 more error found)
    return any((pcs[j] - pcs[i]) % 12 in (1, 11) and pcs[j] != but for j in (i - 1, i + 1) if 0 <= j < len(pcs))


def _tones(notes: Sequence[Note], reference: float) -> tuple[list[int], list[float]]:
    # each note's tone on the take's grid, and how long it sounds (its weight in the key)
    return [grid_step(n.centre, reference) % 12 for n in notes], [max(n.stable_s, n.duration) for n in notes]


def _passes(steps: Sequence[int], i: int, but: int | None) -> bool:
    # by step from the note before to the note after (in pitch, not pitch class: a bass note two octaves under is no
    # step), one way, one of the two steps a semitone not to or from the pitch class `but`
    if not 0 < i < len(steps) - 1:
        return False
    into, out = steps[i] - steps[i - 1], steps[i + 1] - steps[i]
    one_way = {into, out} <= {1, 2} or {into, out} <= {-1, -2}
    return one_way and ((abs(into) == 1 and steps[i - 1] % 12 != but) or (abs(out) == 1 and steps[i + 1] % 12 != but))


def passing(steps: Sequence[int]) -> np.ndarray:
    """Per key (`KEYS`), 1 for a minor key's raised 6th or 7th sounded in one note only that passes by step between
    the notes beside it, one way, one step a semitone (not from or to the natural 6th, as `holds` asks), as D, E, F
    passes in G minor; else 0. `steps`: each note's tone (MIDI, on the take's grid), in order. `holds` asks a
    semitone of the notes the key is read on, which may leave out a brief note beside the tone: `likely_tones` asks
    this of all the notes."""
    table = np.zeros_like(_HOLDS)
    for row, pc, i, natural in _lone_raised([int(s) % 12 for s in steps]):
        if _passes(steps, i, natural):
            table[row, pc] = 1.0
    return table


def probability_in_key(probs: np.ndarray, table: np.ndarray = _HOLDS) -> np.ndarray:
    """Per pitch class, the probability that the melody's key holds it (`table`: which key holds which tone, as
    `holds` reads them for a melody)."""
    return probs @ table


# A tone sounded once is weighed against the key read without it (a wrong note, held long, votes for the keys that
# hold it) where this many notes or more are read: with fewer, the key read without it is too unsure, and the tune's
# own lone tones were found out of key (a reel's accompanied takes, whose pad leaves 13 notes sure enough to read).
LONE_VOTE_NOTES = 16


def likely_tones(notes: Sequence[Note], reference: float, sure: float,
                 beside: Sequence[Note] | None = None) -> frozenset[int]:
    """The pitch classes that are out of the key with a probability under `sure` (those a finding can be sure of
    are the rest). `beside`: the take's notes in order of time, where `notes` are some of them: the key is read on
    those, but a lone raised tone may pass between notes beside it that they leave out (`passing`)."""
    if not notes:
        return frozenset(range(12))
    pcs, durations = _tones(notes, reference)
    table = holds(pcs)
    if beside is not None:
        table = np.maximum(table, passing([grid_step(n.centre, reference) for n in beside]))
    inside = probability_in_key(probabilities(pcs, durations), table)
    if len(notes) >= LONE_VOTE_NOTES:
        for pc in np.flatnonzero(np.bincount(pcs, minlength=12) == 1):
            rest = [i for i, q in enumerate(pcs) if q != pc]
            if len({pcs[i] for i in rest}) >= 2:
                probs = probabilities([pcs[i] for i in rest], [durations[i] for i in rest])
                inside[pc] = probability_in_key(probs, table)[pc]
    return frozenset(int(pc) for pc in np.flatnonzero(inside >= 1.0 - sure))


# Where the keys that hold a pentatonic reading's tones split, a passing tone must be held by keys this sure: a tone
# only some of them hold is as often a slip (bench_scale.py, written notes: at 0.5, 92.1 / 93.8 % of out-of-key
# notes and sour semitones found, 1.8 % of clean tunes flagged; at 0.7, 92.4 / 93.9 % and 1.9 %; at 0.85, 92.6 /
# 94.0 % and 2.5 %).
HOME_SURE = 0.7


def home_tones(notes: Sequence[Note], reference: float, tones: frozenset[int]) -> frozenset[int]:
    """The tones of the major or minor key around a pentatonic reading (`tones`): those that the keys holding all of
    `tones` hold with a probability of `HOME_SURE` or more, the keys read on the notes of `tones` only, so that a
    wrong note, held long, does not vote for the keys that hold it. A folk tune's lone 4th or 7th is a passing tone
    of that key; a gugak mode on G (G A C D E) reads as C major, whose F passes too. (It replaces picking one key by
    profile and first and last note, which read a G major phrase starting and ending on B as B minor: bench_scale.py,
    1,376 corpus tunes, written notes: 2.6 -> 1.9 % of clean tunes flagged, 90.8 -> 92.4 % of out-of-key notes found,
    92.4 -> 93.9 % of sour semitones.)"""
    pcs, durations = _tones(notes, reference)
    own = [i for i, pc in enumerate(pcs) if pc in tones]
    if len({pcs[i] for i in own}) >= 2:     # else too little to read a key on: all the notes
        pcs, durations = [pcs[i] for i in own], [durations[i] for i in own]
    around = np.array([tones <= key_tones for key_tones in KEY_TONES], float)
    if not pcs or not around.any():
        return frozenset()
    weights = probabilities(pcs, durations) * around
    inside = probability_in_key(weights / weights.sum())
    return frozenset(int(pc) for pc in np.flatnonzero(inside >= HOME_SURE))


# A take may move to another key for a while (an Irish tune's strain in D major, the next in D minor): a tone of the
# new key is out of the key read on the whole take, yet no slip. It is in key where the LOCAL_NOTES notes before and
# after it read a key that holds it with a probability of LOCAL_SURE or more, and that key holds, as surely, another
# tone sounded twice or more among them that the key of the whole take holds with a probability under 0.5: a new
# key shows in more than the one tone. (Held-out tunes, 792 rendered takes: 7 false findings fewer on The Little Fair
# Child's B-flats, precision 73.0 -> 74.5 %, the set's takes as before; bench_scale.py's 1,500 tunes, written notes:
# 1 clean tune fewer flagged, 1 sour semitone fewer found; the second held-out pool, no finding changed. Where the
# other tone need not recur, 2 fewer found of the written notes; on the notes before or after alone, 15 fewer.)
# (At 0.85, not 0.9: where the 8 notes before the new key's first tone still hold the old strain, that tone reads
# 0.86 there: the Fair Child's F as the tracker hears it, its brief B-flat lost. Held-out tunes 7 false findings fewer,
# precision 81.6 -> 83.4 %; the second pool 2 fewer (boehme10-4's B-flat), 81.5 -> 82.0 %; nothing found lost on
# either pool or on the set; bench_scale.py, written notes: 1 out-of-key note fewer found. At 0.8 and 0.7, 1 and 4
# false findings fewer still, for 3 written errors lost.)
LOCAL_NOTES = 8
LOCAL_SURE = 0.85


def moved_to(notes: Sequence[Note], note: Note, reference: float) -> bool:
    """Whether `note`'s tone belongs to a key the take moved to for a while (see LOCAL_NOTES); `notes`: the take's,
    in order."""
    tone = grid_step(note.centre, reference) % 12
    pcs, durations = _tones(notes, reference)
    before = [i for i, n in enumerate(notes) if n.start < note.start and pcs[i] != tone][-LOCAL_NOTES:]
    after = [i for i, n in enumerate(notes) if n.start > note.start and pcs[i] != tone][:LOCAL_NOTES]
    near = before + after
    if len({pcs[i] for i in near}) < 2:
        return False
    local = probability_in_key(probabilities([pcs[i] for i in near], [durations[i] for i in near]))
    if local[tone] < LOCAL_SURE:
        return False        # not held around it: no need to read the whole take's key
    whole = probability_in_key(probabilities(pcs, durations))
    recurring = np.flatnonzero(np.bincount([pcs[i] for i in near], minlength=12) >= 2)
    return any(local[pc] >= LOCAL_SURE and whole[pc] < 0.5 for pc in recurring)
