"""Every voice of a mix: Spotify's Basic Pitch (Bittner, Bosch, Rubinstein, Meseguer-Brocal and Ewert, "A
Lightweight Instrument-Agnostic Model for Polyphonic Note Transcription and Multipitch Estimation", ICASSP 2022).

Its network (`nmp.onnx`, shipped inside the basic-pitch wheel, run here on onnxruntime; the package is never
imported) takes windows of 43844 samples at 22.05 kHz and gives, every 256 samples (86 frames a second), three
posteriorgrams: note activity and onsets on the 88 piano keys, and a pitch contour on 264 bins, three to a
semitone from A0. Windows overlap by 30 frames; 15 are dropped on each side of each window.

Notes are cut from the note posteriorgram (a key active above `NOTE_ON` for `MIN_NOTE_S`, split at onset peaks),
and each note's centre is read from the contour (the middle one of a key's three bins is on the key): in each of
the note's middle frames the strongest bin within a semitone of its key, between bins by a parabola, so a note 50
cents off its key (which the model may give to either neighbour) shows as such. The notes are the same
`notes.Note` the monophonic path makes, and the check judges them the same way. The notes the network left under
its threshold that the spectrum still shows come with them (`missed`). The network's keys are those of A = 440 Hz; a
mix tuned between them (`grid_offset`, from its spectral peaks) is transcribed retuned onto them, and its notes are
moved back.

The contour alone also gives the melody of a tune over an accompaniment (`melody_line`, `melody_track`): in each
frame the highest strong peak, between bins by a parabola (about 6 cents of spread on the evaluation set's
melodies, solo or over a pad, bass and drums), or a weaker one that carries on the line from the frame before (a
plucked note dying away under a sustained pad and bass), as a pitch track for the monophonic note finder. A note 50
cents off falls between two keys and is often missed by the note posteriorgram; the contour keeps it.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from ..errors import ProcessingError
from . import missed
from .notes import Note, runs
from .packaged import packaged_file
from .pitch import PitchTrack, frame_levels
from .tuning import grid_mean

RATE = 22_050
WINDOW = 43_844
HOP = 256
OVERLAP = 30                   # frames
FPS = RATE / HOP
KEY0 = 21                      # the first key and contour bin: A0
BINS_PER_SEMITONE = 3
CENTRE_BIN = 1                 # of a key's three contour bins, the one on the key
NOTE_ON, ONSET_ON = 0.4, 0.7
MIN_NOTE_S = 0.1
# A mix tuned between the network's keys is heard retuned onto them (`find_voices`) where its spectral peaks lie this
# far off the keys or more: a FluidR3 chorale mix 40 cents flat loses notes from the note posteriorgram and reads
# centres up to a third of a semitone off (of the set's 36 such mixes 12 were flagged, 3 once retuned). Chosen on the
# set's mixes: from 10 cents a wrong note was lost (a mix 15 cents flat, whose retuned transcription heard a ghost
# that made the wrong note a chord tone); from 0, 8 of 36 50-cent errors found instead of 12. Under it, the
# posteriorgrams `voices: auto` computed are used as they are.
RETUNE_CENTS = 20.0
# `grid_offset`'s spectrum: 0.51 s frames at 16 kHz, half overlapping, a 2 Hz bin (a parabola between bins); from
# 130 Hz, where a semitone is 4 bins and two tones a semitone apart still make two peaks, to the top of the voices'
# low partials; peaks within 40 dB of the frame's strongest
GRID_FFT, GRID_HZ, GRID_DB = 8192, (130.0, 2100.0), 40.0
# the network's outputs by their names in nmp.onnx, as basic-pitch's own ONNX runner reads them (their shapes do not
# tell note activity from onsets, and neither does which is sparser: on a choir they are alike)
OUTPUTS = ("StatefulPartitionedCall:1", "StatefulPartitionedCall:2", "StatefulPartitionedCall:0")
MODEL_SHA256 = "2c3c1d144bfa61ad236e92e169c13535c880469a12a047d4e73451f2c059a0ec"
_INSTALL = ("install it with `pip install --no-deps basic-pitch==0.4.0` (its TensorFlow requirement is not needed) "
            "or choose dissonance.voices: mono")


def model_path() -> Path:
    """The installed basic-pitch distribution's nmp.onnx, checked; the package is not imported."""
    return packaged_file("basic-pitch", "basic_pitch/saved_models/icassp_2022/nmp.onnx", MODEL_SHA256,
                         "Basic Pitch's model", "the polyphonic pitch check", _INSTALL)


def available() -> bool:
    try:
        model_path()
    except ProcessingError:
        return False
    return True


@functools.lru_cache(maxsize=1)
def session() -> Any:
    import onnxruntime

    from .swiftf0 import threads

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(model_path()), options, providers=["CPUExecutionProvider"])


# (note, onset, contour): Basic Pitch's three outputs for one take (`posteriorgrams`)
Posteriorgrams = tuple[np.ndarray, np.ndarray, np.ndarray]


def posteriorgrams(mono: np.ndarray, sample_rate: float) -> Posteriorgrams:
    """(note (frames, 88), onset (frames, 88), contour (frames, 264)) for mono float audio."""
    x = soxr.resample(mono.astype(np.float32), sample_rate, RATE, "HQ") if sample_rate != RATE else mono
    half = OVERLAP // 2
    x = np.concatenate([np.zeros(half * HOP, np.float32), x.astype(np.float32)])
    step = WINDOW - OVERLAP * HOP
    starts = range(0, max(1, len(x)), step)
    windows = np.stack([np.pad(x[s:s + WINDOW], (0, max(0, WINDOW - len(x[s:s + WINDOW])))) for s in starts])
    sess = session()
    outs: dict[str, list[np.ndarray]] = {}
    for k in range(0, len(windows), 8):
        got = sess.run(list(OUTPUTS), {sess.get_inputs()[0].name: windows[k:k + 8, :, None]})
        for name, value in zip(OUTPUTS, got, strict=True):
            outs.setdefault(name, []).append(value)
    frames = int(np.ceil(len(mono) * RATE / sample_rate / HOP))
    note, onset, contour = (np.concatenate(outs[name])[:, half:-half].reshape(-1, outs[name][0].shape[-1])[:frames]
                            for name in OUTPUTS)
    return note, onset, contour


def bin_cents(bins: np.ndarray | float) -> np.ndarray | float:
    """MIDI cents of a (fractional) contour bin: each key's own bin is the middle one of its three."""
    return 100.0 * KEY0 + 100.0 / BINS_PER_SEMITONE * (np.asarray(bins) - CENTRE_BIN)


def _between_bins(contour: np.ndarray, rows: np.ndarray, peak: np.ndarray) -> np.ndarray:
    """The fractional bin of each peak (`contour[rows, peak]`, never the first or last bin): the vertex of the parabola
    through it and its two neighbours, at most half a bin away."""
    left, top, right = contour[rows, peak - 1], contour[rows, peak], contour[rows, peak + 1]
    curve = left - 2 * top + right
    with np.errstate(invalid="ignore", divide="ignore"):
        return peak + np.clip(np.where(curve < 0, 0.5 * (left - right) / curve, 0.0), -0.5, 0.5)


def _centre(contour: np.ndarray, key: int, s: int, e: int) -> float | None:
    """MIDI cents of a note on `key` over frames [s, e): in each of the note's middle frames, the strongest contour bin
    within a semitone of the key, placed between bins by a parabola; the median over the frames where it is strong.
    (A note 40 cents off may be given to the neighbouring key; its peak is still found.)"""
    mid = slice(s + (e - s) // 4, e - (e - s) // 4 if e - s >= 4 else e)
    centre_bin = (key - KEY0) * BINS_PER_SEMITONE + CENTRE_BIN
    lo, hi = max(1, centre_bin - 3), min(contour.shape[1] - 1, centre_bin + 4)
    w = contour[mid, lo:hi]
    if w.size == 0 or w.max() <= 1e-6:
        return None
    peak = lo + np.argmax(w, axis=1)
    rows = np.arange(len(peak)) + (mid.start or 0)
    top = contour[rows, peak]
    strong = top > 0.5 * top.max()
    return float(bin_cents(float(np.median(_between_bins(contour, rows, peak)[strong]))))


def grid_offset(mono: np.ndarray, sample_rate: int) -> float:
    """Cents in [-50, 50): how far the audio's spectral peaks lie from the twelve-tone grid of A = 440 Hz, on the whole:
    the circular mean of each peak's offset (its frequency between bins by a parabola on the log magnitude), weighted
    by its magnitude. Every voice and its low partials count, so in a mix whose voices are tuned apart it is the shift
    that puts them nearest the keys together."""
    x = soxr.resample(mono.astype(np.float32), sample_rate, missed.RATE, "HQ") if sample_rate != missed.RATE else mono
    if len(x) < GRID_FFT:
        return 0.0
    frames = np.lib.stride_tricks.sliding_window_view(x.astype(np.float64), GRID_FFT)[::GRID_FFT // 2]
    lo, hi = (int(hz * GRID_FFT / missed.RATE) for hz in GRID_HZ)
    level = np.log(np.abs(np.fft.rfft(frames * np.hanning(GRID_FFT), axis=1))[:, lo - 1:hi + 2] + 1e-12)
    left, top, right = level[:, :-2], level[:, 1:-1], level[:, 2:]
    peak = (top > left) & (top >= right) & (top > level.max(axis=1, keepdims=True) - GRID_DB / 20 * np.log(10))
    rows, cols = np.nonzero(peak)
    hz = (lo - 1 + _between_bins(level, rows, cols + 1)) * missed.RATE / GRID_FFT
    return grid_mean(1200.0 * np.log2(hz / 440.0), np.exp(top[rows, cols]))


def find_voices(mono: np.ndarray, sample_rate: int,
                grams: Posteriorgrams | None = None) -> tuple[list[Note], list[Note]]:
    """The notes of every voice (sorted by start), and those the network missed that the spectrum shows
    (`missed.missed_notes`: their centres say which tone, not how well tuned). `grams`: this audio's `posteriorgrams`,
    where they were already computed. A mix tuned `RETUNE_CENTS` or more off the keys (`grid_offset`) is transcribed
    retuned onto them, and its notes are moved back."""
    offset = grid_offset(mono, sample_rate)
    if abs(offset) < RETUNE_CENTS:
        return _transcribe(mono, sample_rate, grams)
    # read at `speed` times its rate, the audio sounds -offset cents higher and 1/speed as long
    speed = 2.0 ** (-offset / 1200.0)
    notes, left_out = _transcribe(mono, sample_rate * speed)

    def back(n: Note) -> Note:
        return replace(n, start=n.start * speed, end=n.end * speed, stable_s=n.stable_s * speed,
                       centre=n.centre + offset)

    return [back(n) for n in notes], [back(n) for n in left_out]


def _transcribe(mono: np.ndarray, sample_rate: float,
                grams: Posteriorgrams | None = None) -> tuple[list[Note], list[Note]]:
    note, onset, contour = grams if grams is not None else posteriorgrams(mono, sample_rate)
    min_frames = max(2, round(MIN_NOTE_S * FPS))
    out: list[Note] = []
    active = note > NOTE_ON
    for k in range(note.shape[1]):
        peaks = np.flatnonzero((onset[1:-1, k] > ONSET_ON) & (onset[1:-1, k] >= onset[:-2, k])
                               & (onset[1:-1, k] > onset[2:, k])) + 1
        for a, b in runs(active[:, k]):
            cuts = [a, *[c for c in peaks if a + min_frames <= c <= b - min_frames], b]
            for s, e in itertools.pairwise(cuts):
                if e - s < min_frames:
                    continue
                centre = _centre(contour, KEY0 + k, s, e)
                if centre is None:
                    continue
                level = float(note[s:e, k].mean())
                out.append(Note(start=s / FPS, end=e / FPS, centre=centre, stable_s=(e - s) / FPS,
                                vibrato_cents=0.0, slide_in_cents=0.0, slide_out_cents=0.0,
                                level_db=20 * np.log10(max(level, 1e-6))))
    out.sort(key=lambda n: (n.start, n.centre))
    at16k = soxr.resample(mono.astype(np.float32), sample_rate, missed.RATE, "HQ") if sample_rate != missed.RATE \
        else mono
    return out, missed.missed_notes(at16k, out, note, FPS, KEY0)


# The melody of a mix (`voices: melody`): in each frame, the highest contour peak at least MELODY_SALIENCE strong and
# MELODY_RELATIVE of the frame's strongest, placed between bins by a parabola through the peak and its neighbours.
MELODY_SALIENCE = 0.3
MELODY_RELATIVE = 0.5
# A quieter peak (MELODY_SALIENCE strong) counts too where it is no overtone of a peak at least as strong: a melody
# note under half a loud bass is still the melody; its own octave, as strong as it, is not.
# A line goes on through weaker frames (a plucked note dying away under a sustained pad and bass): a peak at least
# LINE_SALIENCE strong and LINE_RELATIVE of the frame's strongest, on the line's last bin or a neighbour (a third of
# a semitone: more than that from one frame to the next is a jump to another line; vibrato and slides move less).
LINE_SALIENCE = 0.2
LINE_RELATIVE = 0.3


def _peaks(contour: np.ndarray, salience: float, relative: float) -> np.ndarray:
    """(frames, bins) mask of the local peaks (never on the first or last bin) that are strong enough."""
    c, inner = contour, contour[:, 1:-1]
    peak = (inner >= c[:, :-2]) & (inner > c[:, 2:]) & (inner > salience)
    peak &= inner >= relative * c.max(axis=1, keepdims=True)
    return np.pad(peak, ((0, 0), (1, 1)))


def _highest(peak: np.ndarray) -> np.ndarray:
    """The highest marked bin of each frame, 0 where none is (a peak is never on the first bin)."""
    return np.where(peak.any(axis=1), peak.shape[1] - 1 - np.argmax(peak[:, ::-1], axis=1), 0)


def _line(contour: np.ndarray, top: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MIDI cents (NaN where `top` is 0) and salience of the chosen bin of every frame, between bins by a parabola."""
    rows, has = np.arange(len(contour)), top > 0
    cents = np.where(has, bin_cents(_between_bins(contour, rows, np.maximum(top, 1))), np.nan)
    return cents, np.where(has, contour[rows, top], 0.0)


def top_line(contour: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MIDI cents (NaN where no peak is strong enough) and salience of the highest strong peak of every frame."""
    return _line(contour, _highest(_peaks(contour, MELODY_SALIENCE, MELODY_RELATIVE)))


def melody_line(contour: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`top_line` (with the quieter peaks that are no overtones), where a weaker peak that goes on from the line's
    last frame (see LINE_SALIENCE) and lies above the frame's highest strong peak is taken instead: a melody note
    keeps its pitch as it dies away under an accompaniment that has become the strongest thing in the mix."""
    loose = _peaks(contour, MELODY_SALIENCE, 0.0)
    top = _highest(_peaks(contour, MELODY_SALIENCE, MELODY_RELATIVE) | (loose & ~_overtones(contour, loose)))
    weak = _peaks(contour, LINE_SALIENCE, LINE_RELATIVE)
    for t in range(1, len(contour)):
        last = top[t - 1]
        near = [b for b in (last - 1, last, last + 1) if last > 0 and weak[t, b]]
        if near and max(near) > top[t]:
            top[t] = max(near, key=lambda b: contour[t, b])
    return _line(contour, top)


def _overtones(contour: np.ndarray, peak: np.ndarray) -> np.ndarray:
    """(frames, bins) mask of the `peak` bins that lie on the 2nd to 8th partial of a peak at least as strong."""
    out = np.zeros_like(peak)
    for h in range(2, 9):
        step = round(BINS_PER_SEMITONE * 12 * np.log2(h))
        for o in (step - 1, step, step + 1):
            under = peak[:, :-o] & (contour[:, :-o] >= contour[:, o:])
            out[:, o:] |= peak[:, o:] & under
    return out


def melody_track(mono: np.ndarray, sample_rate: int, contour: np.ndarray | None = None) -> PitchTrack:
    """The melody line of a mix (`melody_line`) as a pitch track (86 frames a second), for the monophonic note
    finder."""
    if contour is None:
        contour = posteriorgrams(mono, sample_rate)[2]
    cents, salience = melody_line(contour)
    x = soxr.resample(mono.astype(np.float32), sample_rate, RATE, "HQ") if sample_rate != RATE else mono
    _frames, level = frame_levels(x, HOP)
    count = min(len(cents), len(level))
    hz = 440.0 * 2.0 ** ((cents[:count] - 6900.0) / 1200.0)
    return PitchTrack(np.arange(count) / FPS, hz, salience[:count], level[:count], 1.0 / FPS)


# A tracker's pitch more than UNDER_TOP_CENTS under the mix's top line, and not where one of its own overtones lies
# (2nd to 8th partial: then the tracker holds the fundamental where the top line took a partial, as it does on a
# clarinet's strong odd partials), follows a lower voice.
UNDER_TOP_CENTS = 600.0
OVERTONE_CENTS = tuple(1200.0 * np.log2(k) for k in range(2, 9))
AGREE_CENTS = 80.0


def under_top_share(track: PitchTrack, top: np.ndarray) -> float:
    """The share of the tracker's pitched frames that lie under the top line (`top_line` cents, one per frame of
    this model) as described at UNDER_TOP_CENTS."""
    index = np.clip(np.round(track.times * FPS).astype(int), 0, len(top) - 1)
    gap = top[index] - track.cents
    gap = gap[np.isfinite(gap)]
    if not gap.size:
        return 0.0
    overtone = np.zeros(gap.size, bool)
    for step in OVERTONE_CENTS:
        overtone |= np.abs(gap - step) <= AGREE_CENTS
    return float(np.mean((gap > UNDER_TOP_CENTS) & ~overtone))


# A melody's tone is the accompaniment's too where the network hears it an octave or more under the melody's note,
# through most of the note's middle half, in a run that rings on HELD_BEYOND_S past the note on one side at least
# (as the network hears the note, on its own key): a chord or a bass note held across the melody's. A ghost an octave
# under the note itself starts and stops with it, and a tracker's octave error reads the melody's own note an octave
# under it, so the network must hear the note too, at its key or a neighbour's.
HELD_BEYOND_S = 0.1


# A key sounds through a note where the note posteriorgram is active on it through SOUNDS_SHARE of the note's middle
# half or more (`held_under`, `a_twelfth_over`).
SOUNDS_SHARE = 0.5


def _note_frames(start_s: float, end_s: float, count: int) -> tuple[int, int, slice] | None:
    """The [first, stop) frames of a note from `start_s` to `end_s` among `count`, and its middle half; None where it
    has no frame."""
    s, e = int(start_s * FPS), min(count, int(np.ceil(end_s * FPS)))
    if e - s < 1:
        return None
    quarter = max(1, (e - s) // 4)
    return s, e, slice(s + quarter, max(s + quarter + 1, e - quarter))


def _share(active: np.ndarray, keys: Sequence[int], frames: slice) -> float:
    """The largest share of `frames` in which one of `keys` (columns) is active."""
    return max((float(np.mean(active[frames, k])) for k in keys if 0 <= k < active.shape[1]), default=0.0)


def _run_through(active: np.ndarray, frame: int) -> tuple[int, int] | None:
    """[start, stop) of the run of `active` frames through `frame`, None where `frame` is not active."""
    if not active[frame]:
        return None
    quiet = np.flatnonzero(~active)
    return int(quiet[quiet < frame].max(initial=-1)) + 1, int(quiet[quiet > frame].min(initial=len(active)))


def held_under(note: np.ndarray, key: int, start_s: float, end_s: float) -> bool:
    """Whether the accompaniment holds the tone of a melody note on `key` (MIDI) sounding from `start_s` to `end_s`
    (see HELD_BEYOND_S); `note`: the take's note posteriorgram (`posteriorgrams`)."""
    active = note > NOTE_ON
    frames = _note_frames(start_s, end_s, len(active))
    if frames is None:
        return False
    s, e, middle = frames
    centre = (s + e) // 2

    def sounds(k: int) -> bool:
        return _share(active, (k,), middle) >= SOUNDS_SHARE

    own = key - KEY0
    near = [k for k in (own - 1, own, own + 1) if sounds(k)]
    if not near:
        return False
    first, last = s, e
    for k in [own] if own in near else near:
        run = _run_through(active[:, k], centre)
        if run is not None:
            first, last = min(first, run[0]), max(last, run[1])
    beyond = round(HELD_BEYOND_S * FPS)
    for k in range(own - 12, -1, -12):
        run = _run_through(active[:, k], centre) if sounds(k) else None
        if run is not None and (run[0] <= first - beyond or run[1] >= last + beyond):
            return True
    return False


# A note struck twice (`struck_twice`): two runs of the onset posteriorgram at ONSET_ON or more on its key within
# the note, with a dip under half of that between them, STRIKES_APART_S or more apart (one attack of a plucked or
# bowed note can make two peaks some 80 ms apart). A note more than BETWEEN_KEYS_CENTS off the network's keys (a take
# tuned 40 cents flat) has its onsets split between the two keys around it, each under ONSET_ON: they are summed.
STRIKES_APART_S = 0.12
BETWEEN_KEYS_CENTS = 25.0


def struck_twice(onset: np.ndarray, centre: float, start_s: float, end_s: float) -> bool:
    """Whether the onset posteriorgram (`posteriorgrams`) hears a note at `centre` (MIDI cents) struck twice from
    `start_s` to `end_s`: one tracked note where the tune plays two (the tracker merges a tone repeated over a pad)."""
    cols = [k - KEY0 for k in _keys(centre)]
    s, e = max(0, int(start_s * FPS)), min(len(onset), int(np.ceil(end_s * FPS)))
    if not all(0 <= k < onset.shape[1] for k in cols) or e - s < 3:
        return False
    strikes: list[int] = []
    low = True
    for frame, value in enumerate(onset[s:e, cols].sum(axis=1)):
        if value >= ONSET_ON and low:
            low = False
            if not strikes or frame - strikes[-1] >= STRIKES_APART_S * FPS:
                strikes.append(frame)
        elif value < ONSET_ON / 2:
            low = True
    return len(strikes) >= 2


# A line's note is the 3rd partial of a lower one (`a_twelfth_over`) where the network hears a note a twelfth (19
# keys) under it through half its middle or more, its own key (or a neighbour) through under PARTIAL_SHARE of it, and
# no strike on its key within STRIKE_NEAR_S of its start (an onset under PARTIAL_ONSET): the melody line of a low harp
# took F-sharp 3's strong 3rd partial, C-sharp 5, for the tune. The strike is asked because the network, hearing a
# note a twelfth over a held one, often passes it by (31 of benchmarks/bench_partials.py's 240 pairs of FluidR3
# instruments, a vibraphone or a harp mostly) but hears it struck (0.70 or more on its key, where the partials taken
# for a tune in the pools reach 0.35): the rule takes none of the 240 for a partial. The octave is not asked: the
# network itself reads some notes an octave low, and two errors found would be lost.
TWELFTH_KEYS = 19
PARTIAL_SHARE = 0.25
PARTIAL_ONSET = 0.5
STRIKE_NEAR_S = 0.1


def a_twelfth_over(note: np.ndarray, onset: np.ndarray, centre: float, start_s: float, end_s: float) -> bool:
    """Whether a note at `centre` (MIDI cents) from `start_s` to `end_s` is the 3rd partial of one the network hears a
    twelfth under it (see TWELFTH_KEYS); `note`, `onset`: the take's posteriorgrams (`posteriorgrams`)."""
    return _a_partial(note, onset, centre, start_s, end_s, TWELFTH_KEYS, struck_with_it=False)


# A line's note is the 5th partial of the instrument's own note (`a_fifth_partial_of`) where the network hears a note
# two octaves and a major third (28 keys) under it, and nothing on its own key, as above; a strike on its key may be
# heard, where it is no stronger than the low note's, since the partial sounds from that note's attack: over a pad,
# the tracker read a clarinet's D4, whose odd partials are strong, as F6 (the network heard the D4 struck at 0.55, its
# F6 and F-sharp 6 at 0.32 and 0.36). A held note struck with a bass two octaves and a third under it is heard on its
# own key and stays a note; a plucked one dying at once may not be (the network heard a Karplus-Strong F-sharp 6 struck
# with a D4 through under a fifth of it, struck at 0.90 against the D4's 0.96), which is why the check asks the line's
# leap as well (`dissonance._a_partial_in_the_mix`).
FIFTH_PARTIAL_KEYS = 28


def a_fifth_partial_of(note: np.ndarray, onset: np.ndarray, centre: float, start_s: float, end_s: float) -> bool:
    """Whether a note at `centre` (MIDI cents) from `start_s` to `end_s` is the 5th partial of one the network hears
    struck with it 28 keys under it (see FIFTH_PARTIAL_KEYS); `note`, `onset` as for `a_twelfth_over`."""
    return _a_partial(note, onset, centre, start_s, end_s, FIFTH_PARTIAL_KEYS, struck_with_it=True)


# A line's note is an out-of-tune partial of a lower one (`an_inharmonic_partial`) where it lies within
# INHARMONIC_CENTS of the 7th, 11th, 13th or 14th partial of a key the network hears through half its middle or more,
# and its own key is heard through under PARTIAL_SHARE of it. Those partials lie 31, 49, 41 and 31 cents off the equal-
# tempered grid, so a line that takes one for the tune reads a sour note where nothing is sour: the top line of a
# chorale for winds read C7 44 cents sharp over its G3 and E3 (their 11th and 13th partials) and D7 33 cents flat
# over an E4 (its 7th). A sour melody note lies on such a partial only where its error happens to match the
# partial's, within a few cents.
INHARMONIC_PARTIALS = (7, 11, 13, 14)
INHARMONIC_CENTS = 15.0


def an_inharmonic_partial(note: np.ndarray, centre: float, start_s: float, end_s: float, reference: float) -> bool:
    """Whether a note at `centre` (MIDI cents) from `start_s` to `end_s` lies on an out-of-tune partial of a key the
    network hears under it (see INHARMONIC_PARTIALS); `reference`: the take's offset from the grid in cents, which the
    lower note shares; `note`: the take's note posteriorgram (`posteriorgrams`)."""
    unheard = _unheard(note, centre, start_s, end_s)
    if unheard is None:
        return False
    active, _s, middle = unheard
    for k in INHARMONIC_PARTIALS:
        under = centre - reference - 1200.0 * np.log2(k)
        key = round(under / 100.0)
        if abs(under - 100.0 * key) <= INHARMONIC_CENTS and _share(active, (key - KEY0,), middle) >= SOUNDS_SHARE:
            return True
    return False


def _unheard(note: np.ndarray, centre: float, start_s: float, end_s: float) -> tuple[np.ndarray, int, slice] | None:
    """(the active note posteriorgram, the note's first frame, its middle half) where the network hears the note's own
    key, or a neighbour, through under PARTIAL_SHARE of its middle, as a partial's is; None where it hears it more, or
    the note has no frame."""
    active = note > NOTE_ON
    frames = _note_frames(start_s, end_s, len(active))
    if frames is None:
        return None
    first, _stop, middle = frames
    own = round(centre / 100.0) - KEY0
    if _share(active, (own - 1, own, own + 1), middle) >= PARTIAL_SHARE:
        return None
    return active, first, middle


def _a_partial(note: np.ndarray, onset: np.ndarray, centre: float, start_s: float, end_s: float, keys: int,
               struck_with_it: bool) -> bool:
    unheard = _unheard(note, centre, start_s, end_s)
    if unheard is None:
        return False
    active, s, middle = unheard
    own = round(centre / 100.0) - KEY0
    low = (own - keys - 1, own - keys, own - keys + 1)
    if _share(active, low, middle) < SOUNDS_SHARE:
        return False
    near = round(STRIKE_NEAR_S * FPS)
    span = onset[max(0, s - near):s + near + 1]
    cols = [k for k in (k - KEY0 for k in _keys(centre)) if 0 <= k < onset.shape[1]]
    if float(span[:, cols].sum(axis=1).max(initial=0.0)) < PARTIAL_ONSET:
        return True
    low_cols = [k for k in low if 0 <= k < onset.shape[1]]
    return struck_with_it and float(span[:, low_cols].max(initial=0.0)) >= float(span[:, cols].max(initial=0.0))


def _keys(centre: float) -> list[int]:
    """The network's key for a note at `centre` (MIDI cents), or the two around it where it lies more than
    BETWEEN_KEYS_CENTS off both (see `struck_twice`)."""
    key = round(centre / 100.0)
    if abs(centre - 100.0 * key) <= BETWEEN_KEYS_CENTS:
        return [key]
    low = int(np.floor(centre / 100.0))
    return [low, low + 1]


# The network's own reading of a note's pitch (`contour_pitch`): in each frame of the note's middle half, the strongest
# contour peak within CONTOUR_NEAR_BINS of the note's bin (and not on that window's edge: a peak there belongs to a
# neighbouring key), CONTOUR_FLOOR strong or more, placed between bins by a parabola; their median, where two frames
# or more hold one.
CONTOUR_NEAR_BINS = 2
CONTOUR_FLOOR = 0.1


def contour_pitch(contour: np.ndarray, start_s: float, end_s: float, near_cents: float) -> float | None:
    """MIDI cents the contour posteriorgram reads near `near_cents` from `start_s` to `end_s` (see CONTOUR_FLOOR),
    None where it holds no such peak."""
    quarter = 0.25 * (end_s - start_s)
    a = int((start_s + quarter) * FPS)
    b = min(len(contour), max(a + 1, int(np.ceil((end_s - quarter) * FPS))))
    own = round((near_cents - 100.0 * KEY0) * BINS_PER_SEMITONE / 100.0) + CENTRE_BIN
    lo, hi = max(1, own - CONTOUR_NEAR_BINS), min(contour.shape[1] - 1, own + CONTOUR_NEAR_BINS + 1)
    if a >= b or hi - lo < 3:
        return None
    rows = np.arange(a, b)
    peak = lo + np.argmax(contour[a:b, lo:hi], axis=1)
    ok = (contour[rows, peak] >= CONTOUR_FLOOR) & (peak > lo) & (peak < hi - 1)
    if ok.sum() < 2:
        return None
    return float(np.median(bin_cents(_between_bins(contour, rows[ok], peak[ok]))))
