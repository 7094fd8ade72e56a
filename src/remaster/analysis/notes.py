"""Notes from an f0 track: where each note lies and the stable centre of its pitch.

Steady notes come first: stretches whose lightly smoothed pitch (a 3-frame median) holds within `steady_cents`
for `min_note_s` (0.08 s), cut where the pitch moves on for `steady_hold_s` or at a new attack, or where a held
pitch steps by 30 cents or more at an even level (a repeated note sounded sharper: `STEP_CENTS`). Fast runs, grace
notes' neighbours and staccato notes are kept this way, each at its own pitch; a stretch flat for 0.2 s is a note
even between two lower pitches, where a shorter one might be a vibrato's crest (`PLATEAU_S`). The tracker's
octave flips of a frame or two are folded back first; a stretch that holds two pitches one after the other (a bend
the running median followed through a few frames) is cut where it changes, and so is a steady note that holds
one pitch for `PLATEAU_S` and then another 30 cents or more away for as long (a sour note and the in-tune repeat of
its tone, reached through more frames of wobble than a step may take). A note's centre is read on its frames within
`loud_db` of its loudest: a release rings quieter, and a bend let go with the key rings at another pitch.
What is left of a pitched stretch holds no steady pitch: that is where ornaments live, and intended pitch
movement is not error. Such a note's centre is judged on its stable part only:

- vibrato (gugak's 농현 nonghyeon, a semitone or more wide at 5–6 Hz) is removed by a running median over
  about one vibrato cycle, which keeps the edges of real note changes sharp;
- slides into and out of a note (추성 chuseong, 퇴성 toeseong) and quick shakes (전성 jeonseong) are frames
  that stray from the note's median, so they are left out of its centre and reported as ornaments;
- a short piece whose pitch travels more than `split_cents`, mostly one way, is a slide and joins the note
  it leads into or out of; other pieces shorter than `min_note_s`, or as short as a slide but not holding a
  pitch (vibrato needs longer), are transitions, not notes.

A note boundary is where the smoothed pitch leaves the current note's median by more than `split_cents` and
stays away for `hold_s`, where the track loses its pitch for longer than `max_gap_s`, or where the level
jumps by `onset_db` (a new attack).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import pairwise

import numpy as np
from scipy.ndimage import median_filter

from ..params import Params, param
from .pitch import PitchTrack

# A held pitch that steps by STEP_CENTS or more (a repeated note sounded sharper, with no new attack the level
# shows) is two notes, where the `min_note_s` on each side hold within STEP_SPREAD_CENTS and the pitch crosses
# the step within STEP_FRAMES frames: a vibrato's flat crest and trough lie half a cycle apart, a drift moves slowly.
# Not where the level falls by `onset_db` after the step: that is a release, ringing quieter at another pitch.
# A split of 40 cents would leave a 30-50 cent step inside one note, its centre between the two.
STEP_CENTS = 30.0
STEP_SPREAD_CENTS = 10.0
STEP_FRAMES = 3
# ... and each side holds for STEP_HOLD_S at least, though a note may be shorter (`min_note_s`): held for 0.08 s, the
# crest and trough of a vibrato 20-30 cents wide at 4.5 Hz read as two flat stretches a step apart (31 of 9,425
# vibratos of 10-150 cents at 2-8 Hz were cut so; none at 0.1 s, and no count of the pools moved).
STEP_HOLD_S = 0.1
# A stretch this long that holds within `steady_cents` is a note even between two lower (or higher) ones: the
# crest of a vibrato cycle at 4 Hz or faster stays that close to its top for under 0.15 s.
PLATEAU_S = 0.2
# A note with no attack, dying away, is the release of what sounded at once before it: of the note before it, or of
# the pitched stretch before it (TAIL_RING_S of it, within `tail_cents` of the release) where the tracker read no note
# there, as it reads none in a vibrato 100 cents wide. (Cached trials: 4 false findings fewer, each the release of an
# ornamented take's last or long note, on three pools; nothing found lost.)
TAIL_RING_S = 0.2


class NoteParams(Params):
    """How an f0 track is cut into notes (see the module docstring)."""

    smooth_s: float = param(0.18, unit="s", ge=0.02, le=1.0,
                            description="running median over the pitch; about one cycle of 5.5 Hz vibrato")
    split_cents: float = param(40.0, unit="cents", ge=10, le=300,
                               description="a pitch this far from the note's median starts a new note")
    hold_s: float = param(0.06, unit="s", ge=0.0, le=1.0, description="how long the pitch must stay away")
    max_gap_s: float = param(0.06, unit="s", ge=0.0, le=1.0, description="longest unpitched gap inside a note")
    max_glide_s: float = param(0.25, unit="s", ge=0.0, le=2.0,
                               description="longest slide that joins the note it leads into or out of")
    min_note_s: float = param(0.08, unit="s", ge=0.02, le=2.0,
                              description="shortest note (the tracker may hear a 0.1 s note for six 16 ms frames)")
    stable_cents: float = param(35.0, unit="cents", ge=5, le=300,
                                description="frames this close to the note's median form its stable centre")
    min_stable_s: float = param(0.08, unit="s", ge=0.0, le=2.0, description="shortest stable part that is judged")
    tail_cents: float = param(75.0, unit="cents", ge=0.0, le=1200.0,
                              description="a release bent this far is the previous note's tail, not a note")
    onset_db: float = param(6.0, unit="dB", ge=0.0, le=60.0, description="a level jump this large is a new attack")
    steady_cents: float = param(25.0, unit="cents", ge=5, le=100,
                                description="a stretch whose pitch stays this close to its middle (10th to 90th "
                                "percentile) is a steady note, however short")
    octave_flip_s: float = param(0.035, unit="s", ge=0.0, le=0.1, description="the tracker's octave flips this "
                                 "brief (a whole number of octaves away and back) are folded back into the note")
    loud_db: float = param(10.0, unit="dB", ge=0.0, le=120.0,
                           description="a note's centre is read on its frames within this of its loudest")
    steady_hold_s: float = param(0.03, unit="s", ge=0.0, le=0.5,
                                 description="how long the pitch must move on to end a steady note")


@dataclass(frozen=True)
class Note:
    start: float              # seconds
    end: float
    centre: float             # MIDI cents (6900 = A4 at 440 Hz) of the stable part
    stable_s: float           # seconds of the note that are stable
    vibrato_cents: float      # half the 5–95 % spread of the raw pitch over the stable part
    slide_in_cents: float     # smoothed pitch at the start relative to the centre (negative: from below)
    slide_out_cents: float
    level_db: float = 0.0     # median frame RMS over the note, dBFS
    onset_db: float = 0.0     # level rise into the note (its first frames against the frames just before)
    decay_db: float = 0.0     # level change from the note's start to its end
    is_tail: bool = False     # the release of the note before it, bent or drifting: not a note of its own
    steady: bool = True       # holds one pitch (False: judged on its pitch smoothed over vibrato and slides)

    @property
    def duration(self) -> float:
        return self.end - self.start


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index pairs of the True runs of a boolean array."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _bridge(cents: np.ndarray, max_gap: int, max_jump: float) -> np.ndarray:
    """Fill unpitched gaps of at most `max_gap` frames by linear interpolation, where the pitch on either side
    is within `max_jump` cents (a gap at a note change is left: it is a boundary)."""
    out = cents.copy()
    voiced = np.isfinite(cents)
    for a, b in runs(~voiced):
        if a > 0 and b < len(cents) and b - a <= max_gap and abs(cents[b] - cents[a - 1]) <= max_jump:
            out[a:b] = np.linspace(cents[a - 1], cents[b], b - a + 2)[1:-1]
    return out


def _fold_octave_flips(cents: np.ndarray, longest: int, near: float = 100.0) -> np.ndarray:
    """Runs of at most `longest` frames a whole number of octaves (within `near` cents) from the frame before them,
    that come back to it after: the tracker flipping octave inside a note (a breathy shakuhachi read between A3 and
    A4 frame by frame), folded back; no note is that short, so a real leap is never folded."""
    out = cents.copy()
    n = len(out)
    i = 1
    while i < n - 1:
        a, x = out[i - 1], out[i]
        jump = x - a
        k = round(jump / 1200) if np.isfinite(jump) else 0
        if k != 0 and abs(jump - 1200 * k) <= near:
            j = i
            while j < n and np.isfinite(out[j]) and abs(out[j] - x) <= near and j - i <= longest:
                j += 1
            if j - i <= longest and j < n and np.isfinite(out[j]) and abs(out[j] - a) <= near:
                out[i:j] -= 1200 * k
                i = j
                continue
        i += 1
    return out


def _segments(smooth: np.ndarray, split: float, hold: int, memory: int) -> list[tuple[int, int]]:
    """Split one pitched run wherever the pitch leaves the median of the last `memory` frames of the current
    segment for `hold` frames (a recent median, so a slide at a note's start does not skew it)."""
    bounds, start, away = [], 0, 0
    for j in range(1, len(smooth)):
        settled = j - away
        centre = np.median(smooth[max(start, settled - memory):settled]) if settled > start else smooth[start]
        away = away + 1 if abs(smooth[j] - centre) > split else 0
        if away >= hold:
            cut = j - away + 1
            bounds.append((start, cut))
            start, away = cut, 0
    bounds.append((start, len(smooth)))
    return bounds


def _is_glide(light: np.ndarray, split: float) -> bool:
    """Pitch that travels more than `split` cents, mostly in one direction (vibrato goes both ways)."""
    if len(light) < 4:
        return False
    travel = np.median(light[-3:]) - np.median(light[:3])
    steps = np.diff(light)
    return abs(travel) > split and np.mean(np.sign(steps) == np.sign(travel)) >= 0.7


def _merge_glides(bounds: list[tuple[int, int]], smooth: np.ndarray, light: np.ndarray, split: float,
                  max_glide: int) -> list[tuple[int, int]]:
    """A short segment that is a slide joins the neighbour it slides towards (a 추성 into the next note, a 퇴성
    out of the previous one), where it is left out of that note's centre as unstable."""
    out = list(bounds)
    k = 0
    while k < len(out):
        s, e = out[k]
        if len(out) > 1 and e - s <= max_glide and _is_glide(light[s:e], split):
            nxt = np.median(smooth[slice(*out[k + 1])]) if k + 1 < len(out) else None
            prev = np.median(smooth[slice(*out[k - 1])]) if k > 0 else None
            # towards the next note when the slide ends nearer to it than it started
            if nxt is not None and (prev is None or abs(light[e - 1] - nxt) < abs(light[s] - nxt)):
                out[k + 1] = (s, out[k + 1][1])
            else:
                out[k - 1] = (out[k - 1][0], e)
            del out[k]
            continue
        k += 1
    return out


def _onsets(level: np.ndarray, rise_db: float) -> np.ndarray:
    """Frames where the level jumps by `rise_db` within two frames: a new attack, so a new note."""
    before = np.minimum(np.roll(level, 1), np.roll(level, 2))
    jump = level - before
    jump[:2] = 0.0
    return np.flatnonzero(jump >= rise_db)


def _split(spans: list[tuple[int, int]], cuts: np.ndarray) -> list[tuple[int, int]]:
    """Cut each [a, b) span at the sorted `cuts` that fall strictly inside it."""
    out = []
    for a, b in spans:
        inner = cuts[np.searchsorted(cuts, a, side="right"):np.searchsorted(cuts, b, side="left")]
        edges = [a, *inner.tolist(), b]
        out += [(x, y) for x, y in pairwise(edges) if y > x]
    return out


def _onset(level: np.ndarray, start: int, span: int = 3) -> float:
    before = level[max(0, start - span):start]
    return float(level[start:start + span].max() - before.mean()) if before.size else 99.0


def _decay(level: np.ndarray, span: int = 3) -> float:
    return float(np.median(level[-span:]) - np.median(level[:span]))


def _steady(light: np.ndarray, level: np.ndarray, p: NoteParams, hop: float) -> list[tuple[int, int]]:
    """Spans of one pitched run that hold a pitch (10th to 90th percentile within 2 * `steady_cents`) for
    `min_note_s`: notes however short, cut where the lightly smoothed pitch moves on for `steady_hold_s` (`_held`),
    and where one holds two pitches for `PLATEAU_S` each (`_two_plateaus`)."""
    return [piece for s, e in _held(light, level, p, hop) for piece in _two_plateaus(light, level, s, e, p, hop)]


def _held(light: np.ndarray, level: np.ndarray, p: NoteParams, hop: float) -> list[tuple[int, int]]:
    hold = max(1, round(p.steady_hold_s / hop))
    out = []
    for s, e in _segments(light, p.split_cents, hold, max(3, round(0.1 / hop))):
        if _holds(light, s, e, p, hop):
            edges = [s, *(s + k for k in _steps(light[s:e], level[s:e], p, hop)), e]
            out += list(pairwise(edges))
        elif (e - s) * hop >= 2 * p.min_note_s:
            # a step the running median followed (a bend that moves on through a few frames between two held
            # pitches) leaves one span that holds two pitches, one after the other: two notes
            k = _change_point(light[s:e], max(1, round(p.min_note_s / hop)))
            if (_holds(light, s, s + k, p, hop) and _holds(light, s + k, e, p, hop)
                    and abs(np.median(light[s:s + k]) - np.median(light[s + k:e])) >= p.steady_cents):
                out += [(s, s + k), (s + k, e)]
    return out


def _two_plateaus(light: np.ndarray, level: np.ndarray, s: int, e: int, p: NoteParams,
                  hop: float) -> list[tuple[int, int]]:
    """[s, e) cut in two where it holds one pitch for `PLATEAU_S` and then another at least STEP_CENTS away for as
    long (each within `steady_cents`, 10th to 90th percentile), at an even level: two notes even where the pitch
    moved between them through more frames, or drifted within them more, than `_steps` allows. A vibrato of 4 Hz
    or faster stays near its crest for under `PLATEAU_S`."""
    least = max(1, round(PLATEAU_S / hop))
    if e - s < 2 * least:
        return [(s, e)]
    k = s + _change_point(light[s:e], least)
    before, after = light[s:k], light[k:e]
    if (abs(float(np.median(after) - np.median(before))) >= STEP_CENTS
            and _spread(before) <= p.steady_cents and _spread(after) <= p.steady_cents
            and np.median(level[k:e]) >= np.median(level[s:k]) - p.onset_db):
        return [(s, k), (k, e)]
    return [(s, e)]


def _spread(x: np.ndarray) -> float:
    """10th to 90th percentile, the edge frames left out (they may lie in the move to or from a neighbour)."""
    inner = x[1:-1] if len(x) > 4 else x
    return float(np.ptp(np.percentile(inner, [10, 90])))


def _steps(light: np.ndarray, level: np.ndarray, p: NoteParams, hop: float) -> list[int]:
    """Frames where a held span steps from one pitch to another (see STEP_CENTS): the STEP_HOLD_S (or `min_note_s`,
    if longer) before and after each hold their own pitch tightly, with at most STEP_FRAMES frames of transition
    between them."""
    w = max(3, round(max(p.min_note_s, STEP_HOLD_S) / hop))
    if len(light) < 2 * w or np.ptp(light[1:-1]) < STEP_CENTS:
        return []

    cuts, k = [], w
    while k <= len(light) - w:
        before = light[k - w:k]
        step = next((g for g in range(STEP_FRAMES) if k + g + w <= len(light)
                     and _stepped(before, light[k + g:k + g + w])
                     and np.median(level[k + g:k + g + w]) >= np.median(level[k - w:k]) - p.onset_db), None)
        if step is None:
            k += 1
            continue
        cuts.append(k + step // 2)
        k += step + w
    return cuts


def _stepped(before: np.ndarray, after: np.ndarray) -> bool:
    """Two flat stretches STEP_CENTS apart (each spread at most STEP_SPREAD_CENTS, and a quarter of the step), the
    pitch crossing most of the way between their facing ends."""
    gap = abs(float(np.median(after) - np.median(before)))
    flat = min(STEP_SPREAD_CENTS, gap / 4)
    return bool(gap >= STEP_CENTS and np.ptp(before) <= flat and np.ptp(after) <= flat
                and abs(after[0] - before[-1]) >= 0.7 * gap)


def _holds(light: np.ndarray, s: int, e: int, p: NoteParams, hop: float) -> bool:
    """[s, e) lasts `min_note_s` and holds one pitch (10th to 90th percentile within 2 * `steady_cents`), not as
    the crest of a vibrato cycle."""
    spread = _spread(light[s:e])
    plateau = (e - s) * hop >= PLATEAU_S and spread <= p.steady_cents
    return bool((e - s) * hop >= p.min_note_s and spread <= 2 * p.steady_cents
                and (plateau or not _arch(light, s, e, p.steady_cents)))


def _change_point(x: np.ndarray, least: int) -> int:
    """Where to cut `x` in two pieces of at least `least` frames so that each lies closest to its own median."""
    best, at = np.inf, 0
    for k in range(least, len(x) - least + 1):
        cost = np.sum(np.abs(x[:k] - np.median(x[:k]))) + np.sum(np.abs(x[k:] - np.median(x[k:])))
        if cost < best:
            best, at = cost, k
    return at


def _arch(light: np.ndarray, s: int, e: int, cents: float, reach: int = 3, glide: float = 70.0) -> bool:
    """The pitch around [s, e) bends away on both sides the same way, by more than `cents`, and glides there (no
    step of `glide` cents from one frame to the next): the crest of a vibrato cycle (a semitone-wide 농현 stays near
    its crest for a tenth of a second), not a note of its own. A note between two lower ones steps to them."""
    around = light[max(0, s - reach):e + reach]
    if len(around) < 3 or np.max(np.abs(np.diff(around))) >= glide:
        return False
    middle = float(np.median(light[s:e]))
    lo, hi = light[max(0, s - reach):s + 1] - middle, light[e - 1:e + reach] - middle
    return bool((lo.min() < -cents and hi.min() < -cents) or (lo.max() > cents and hi.max() > cents))


def _ornamented(raw: np.ndarray, p: NoteParams, hop: float) -> list[tuple[int, int]]:
    """Spans of a pitched stretch that holds no steady pitch (vibrato, slides): cut on the pitch smoothed over
    about one vibrato cycle, slides joined to the note they lead into or out of, transitions left out."""
    width = max(1, round(p.smooth_s / hop)) | 1
    max_glide = round(p.max_glide_s / hop)
    smooth = median_filter(raw, size=width, mode="nearest")
    light = median_filter(raw, size=3, mode="nearest")
    bounds = _merge_glides(_segments(smooth, p.split_cents, max(1, round(p.hold_s / hop)), width), smooth, light,
                           p.split_cents, max_glide)
    # too brief for vibrato, yet not holding a pitch: a transition, not a note
    return [(s, e) for s, e in bounds if (e - s) * hop >= p.min_note_s
            and not ((e - s) <= max_glide and np.std(light[s:e]) > p.split_cents / 2)]


def _spans(cents: np.ndarray, level: np.ndarray, p: NoteParams, hop: float) -> list[tuple[int, int, bool]]:
    """(start, end, steady) frame spans of the notes (cut at the new attacks the `level` shows): steady ones first,
    the ornamented rest around them."""
    out = []
    for a, b in _split(runs(np.isfinite(cents)), _onsets(level, p.onset_db)):
        if (b - a) * hop < p.min_note_s:
            continue
        raw = cents[a:b]
        steady = _steady(median_filter(raw, size=3, mode="nearest"), level[a:b], p, hop)
        out += [(a + s, a + e, True) for s, e in steady]
        left = np.ones(b - a, bool)
        for s, e in steady:
            left[s:e] = False
        for s, e in runs(left):
            out += [(a + s + x, a + s + y, False) for x, y in _ornamented(raw[s:e], p, hop)]
    return sorted(out)


def find_notes(track: PitchTrack, params: NoteParams | None = None) -> list[Note]:
    p = params or NoteParams()
    hop = track.hop_s
    max_gap = max(0, round(p.max_gap_s / hop))
    cents = _fold_octave_flips(_bridge(track.cents, max_gap, p.split_cents), round(p.octave_flip_s / hop))
    width = max(1, round(p.smooth_s / hop)) | 1
    shortest = min(p.min_stable_s, p.min_note_s)       # the shortest stable part that is judged
    notes: list[Note] = []
    for s, e, steady in _spans(cents, track.level_db, p, hop):
        raw = cents[s:e]
        seg = median_filter(raw, size=3 if steady else width, mode="nearest")
        stable = np.abs(seg - np.median(seg)) <= p.stable_cents
        # the centre is where the note sounds: a release rings quieter, and may ring at another pitch (a bend
        # already let go)
        level = track.level_db[s:e]
        loud = stable & (level >= level.max() - p.loud_db)
        if loud.sum() * hop >= shortest:
            stable = loud
        elif stable.sum() * hop < shortest:
            continue
        centre = float(np.median(seg[stable]))
        lo, hi = np.percentile(raw[stable], [5, 95])
        previous = next((n for n in reversed(notes) if n.stable_s >= 2 * p.min_stable_s), None)
        onset, decay = _onset(track.level_db, s), _decay(track.level_db[s:e])
        # no attack of its own, dying away, less than a semitone from the note it follows at once or from the
        # pitched stretch just before it (TAIL_RING_S)
        tail = onset < 1.0 and decay < -8.0 and (
            (previous is not None and abs(centre - previous.centre) < p.tail_cents
             and track.times[s] - previous.end <= max_gap * hop + hop)
            or _rings_on(cents, s, centre, round(TAIL_RING_S / hop), p.tail_cents))
        notes.append(Note(
            start=float(track.times[s] - hop / 2), end=float(track.times[e - 1] + hop / 2),
            centre=centre, stable_s=float(stable.sum() * hop), vibrato_cents=float((hi - lo) / 2),
            slide_in_cents=float(seg[0] - centre), slide_out_cents=float(seg[-1] - centre),
            level_db=float(np.median(track.level_db[s:e])), onset_db=onset, decay_db=decay, is_tail=bool(tail),
            steady=steady))
    return merge_octave_slips(notes, max_gap * hop + hop, onset_db=p.onset_db)


def _rings_on(cents: np.ndarray, start: int, centre: float, frames: int, near: float) -> bool:
    """Whether the `frames` before `start` are all pitched, their median within `near` cents of `centre`."""
    before = cents[max(0, start - frames):start]
    return frames > 0 and before.size == frames and bool(np.isfinite(before).all()) \
        and abs(centre - float(np.median(before))) < near


# Of two pieces of a note split by the tracker's octave slip, one this many times as long as the other is the
# note's pitch, wherever the line's register lies: the slip is the brief piece.
SLIP_LENGTH_RATIO = 2.0


def merge_octave_slips(notes: list[Note], gap_s: float, cents: float = 30.0,
                       onset_db: float = NoteParams.model_fields["onset_db"].default) -> list[Note]:
    """A tracker's octave (or double-octave) error splits a note where it jumps a whole number of octaves and back:
    touching pieces a whole number of octaves apart (within `cents`) are one note, at the pitch of the piece
    `SLIP_LENGTH_RATIO` times as long as the other, else of the piece nearer the line's register (the median of its
    notes). The note is as loud as its louder piece and struck as its first: a slip onto the attack leaves the
    note's right pitch in its quieter ringing part.

    A piece struck anew (its level rising by `onset_db` or more) starts a note, whatever its pitch: a shakuhachi's
    repeated B3, each attack read an octave low, is three notes, not each attack the end of the note before it. And
    where a note so merged ends on the piece the tracker slipped to, the piece after it, back within `cents / 2` of
    the note's pitch and not struck, is the rest of that note: a banjo's B-flat 4 read two octaves up for 0.13 s and
    then at B-flat 4 again is one note (two, each judged, gave two findings for one sour note)."""
    register = float(np.median([n.centre for n in notes])) if notes else 0.0
    out: list[Note] = []
    away = False        # the last note of `out` ends on a piece an octave off its pitch
    for n in notes:
        prev = out[-1] if out else None
        jump = n.centre - prev.centre if prev is not None else 0.0
        octave = abs(jump) > 600 and abs(jump - 1200 * round(jump / 1200)) <= cents
        back = away and abs(jump) <= cents / 2
        if prev is not None and n.start - prev.end <= gap_s and n.onset_db < onset_db and (octave or back):
            longer, shorter = sorted((prev, n), key=lambda x: x.duration, reverse=True)
            if longer.duration >= SLIP_LENGTH_RATIO * shorter.duration:
                keep = longer
            else:
                keep = min((prev, n), key=lambda x: abs(x.centre - register))
            out[-1] = replace(keep, start=prev.start, end=n.end, stable_s=prev.stable_s + n.stable_s,
                              level_db=max(prev.level_db, n.level_db), onset_db=prev.onset_db,
                              is_tail=prev.is_tail)
            away = octave and keep is not n
            continue
        away = False
        out.append(n)
    return out
