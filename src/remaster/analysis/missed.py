"""Notes a multi-pitch network missed: the spectral peaks of a mix that no note it found explains.

Basic Pitch does not hear every voice of a chorale: on the evaluation set's 36 chorale mixes 28 % of the written
notes (the soprano's 22 %, the bass's 33 %) have a median note activity under its 0.4 threshold, and of 36 wrong notes
put in the alto or the tenor, 11 were no note of its output. The spectrum is read once more here. Every HOP_S, a Hann
window of WINDOW samples at 16 kHz (256 ms; zero-padded four times) gives its peaks within PEAK_DB of the strongest,
from FMIN_HZ to FMAX_HZ, each placed between bins by a parabola through the log magnitudes. A peak is explained when
it lies within PARTIAL_CENTS of a harmonic of a note sounding then, or within a semitone of its fundamental. Of the
rest, from the lowest up, a peak is a fundamental unless it is a harmonic of a lower one.

A run of frames (MIN_S or longer) holding a fundamental within half a semitone of one key is a missed note when:
- its peak lies, as a median, within LEVEL_DB of each frame's strongest (no far background, no room tail);
- the network itself heard something there, below its threshold (a median note activity over ACTIVITY at that key);
- it is not the ring of a found note on that pitch that ended just before (TAIL_S), nor one or two octaves under a
  found note sounding with it (a subharmonic of a choir or an organ stop);
- it lies at or above LOWEST_CENTS (E3): below it a semitone is under 10 Hz, inside the window's main lobe
  (±7.8 Hz), so a bass note and its neighbour are not told apart;
- its own third partial (an octave and a fifth above it) is a peak in THIRD_PARTIAL_SHARE of its frames or more,
  where that lies under FMAX_HZ: a voice's note carries its partials, while a lone peak (the unwritten C5s and C#5s read
  from FluidR3's choir; a partial of another note blurred off its place) has none. Chosen on the ~300 chorale
  mixes the set does not take (bench_dissonance --held-out-dir), of the missed notes that got a finding: 44 of the 46
  on a wrong note showed it in half their frames or more (most in all), 32 of the 61 on a clean mix's tones in fewer
  (the octave, the second partial, tells nothing: another voice's partials often lie there). Clean mixes flagged
  86 -> 66 of 300, wrong notes found 171 -> 168 of 297 (the mixes split in two halves by name: 49 -> 41 and
  96 -> 94 on one, 37 -> 25 and 75 -> 74 on the other); on the set's 36 mixes, clean 2 -> 1 flagged, wrong notes
  found 24 both.
Its centre is the median of its peaks: sure enough to say which tone it is, not how well it is tuned.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.signal import find_peaks

from .notes import Note, runs

RATE = 16_000
WINDOW = 4096
PAD = 4 * WINDOW
HOP = 800                         # 50 ms
HOP_S = HOP / RATE
FMIN_HZ, FMAX_HZ = 60.0, 4000.0
MAX_FUNDAMENTAL_HZ = 2000.0
PEAK_DB = 30.0
PARTIAL_CENTS = 40.0
MIN_S = 0.2
LEVEL_DB = 25.0
ACTIVITY = 0.15
TAIL_S = 0.35
LOWEST_CENTS = 5200.0             # E3, in MIDI cents
THIRD_PARTIAL_CENTS = 1200.0 * float(np.log2(3.0))
THIRD_PARTIAL_SHARE = 0.5


def _cents(hz: np.ndarray | float) -> np.ndarray:
    return 6900.0 + 1200.0 * np.log2(np.asarray(hz) / 440.0)


def _harmonic_of(cents: float, fundamental: float) -> bool:
    """Whether a partial at `cents` is within PARTIAL_CENTS of a whole-number harmonic of `fundamental`."""
    k = round(2 ** ((cents - fundamental) / 1200.0))
    return k >= 1 and abs(cents - fundamental - 1200.0 * np.log2(k)) < PARTIAL_CENTS


def _peaks(frame: np.ndarray, window: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """The frame's spectral peaks: MIDI cents, and dB relative to its strongest peak."""
    db = 20.0 * np.log10(np.abs(np.fft.rfft(frame * window, PAD)) + 1e-9)
    top = db[lo:hi].max()
    at = find_peaks(db[lo:hi], height=top - PEAK_DB, distance=3)[0] + lo
    left, mid, right = db[at - 1], db[at], db[at + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = np.clip(np.nan_to_num(0.5 * (left - right) / (left - 2 * mid + right)), -0.5, 0.5)
    return _cents((at + shift) * RATE / PAD), mid - top


def _fundamentals(cents: np.ndarray, rel_db: np.ndarray, sounding: Sequence[float]) -> list[tuple[float, float]]:
    """(cents, dB) of the peaks no sounding note explains and that are no harmonic of a lower such peak."""
    out: list[tuple[float, float]] = []
    highest = float(_cents(MAX_FUNDAMENTAL_HZ))
    for i in np.argsort(cents):
        c = float(cents[i])
        if c > highest or any(_harmonic_of(c, f0) or abs(c - f0) < 100.0 for f0 in sounding):
            continue
        if not any(_harmonic_of(c, f0) and c - f0 > 600.0 for f0, _ in out):
            out.append((c, float(rel_db[i])))
    return out


def missed_notes(mono: np.ndarray, notes: Sequence[Note], activity: np.ndarray, activity_fps: float,
                 first_key: int) -> list[Note]:
    """The notes of a 16 kHz mix that `notes` (a multi-pitch network's) leave out; `activity`: the network's note
    activity, (frames at `activity_fps`, keys from MIDI `first_key`). See the module docstring. A missed note's
    `level_db` is its peaks' median level under each frame's strongest peak."""
    if len(mono) < WINDOW:
        return []
    window = np.hanning(WINDOW).astype(np.float32)
    lo, hi = int(FMIN_HZ * PAD / RATE), int(FMAX_HZ * PAD / RATE)
    times, peaks, found = [], [], []
    for start in range(0, len(mono) - WINDOW, HOP):
        t = (start + WINDOW / 2) / RATE
        cents, rel = _peaks(mono[start:start + WINDOW], window, lo, hi)
        times.append(t)
        peaks.append(cents)
        found.append(_fundamentals(cents, rel, [n.centre for n in notes if n.start <= t <= n.end]))
    out = []
    for key in range(first_key, first_key + activity.shape[1]):
        near = [[x for x in frame if abs(x[0] - 100.0 * key) <= 50.0] for frame in found]
        for a, b in runs(np.array([bool(x) for x in near])):
            if (b - a) * HOP_S < MIN_S:
                continue
            held = [x for frame in near[a:b] for x in frame]
            note = Note(start=times[a] - HOP_S / 2, end=times[b - 1] + HOP_S / 2,
                        centre=float(np.median([c for c, _ in held])), stable_s=(b - a) * HOP_S, vibrato_cents=0.0,
                        slide_in_cents=0.0, slide_out_cents=0.0, level_db=float(np.median([d for _, d in held])))
            if _kept(note, notes, activity[:, key - first_key], activity_fps) and _partials_present(note, peaks[a:b]):
                out.append(note)
    return sorted(out, key=lambda n: (n.start, n.centre))


def _partials_present(note: Note, peaks: Sequence[np.ndarray]) -> bool:
    """Whether the note's third partial (an octave and a fifth above it) is a peak in THIRD_PARTIAL_SHARE of its
    frames, where it lies under FMAX_HZ."""
    third = note.centre + THIRD_PARTIAL_CENTS
    if third > _cents(FMAX_HZ):
        return True
    return float(np.mean([np.any(np.abs(p - third) < PARTIAL_CENTS) for p in peaks])) >= THIRD_PARTIAL_SHARE


def _kept(note: Note, notes: Sequence[Note], activity: np.ndarray, fps: float) -> bool:
    a = int(note.start * fps)
    heard = float(np.median(activity[a:max(a + 1, int(note.end * fps))])) if a < len(activity) else 0.0
    tail = any(abs(n.centre - note.centre) < 60.0 and note.start - TAIL_S < n.end <= note.start + 0.1 for n in notes)
    under = any(n.start < note.end and n.end > note.start and abs(n.centre - note.centre - 1200.0 * k) < 60.0
                for n in notes for k in (1, 2))
    return (note.level_db >= -LEVEL_DB and heard > ACTIVITY and not tail and not under
            and note.centre >= LOWEST_CENTS)
