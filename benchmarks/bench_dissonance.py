"""The pitch check on real tunes: the set's table and the tracker comparison in one run.

    .venv/bin/python benchmarks/bench_dissonance.py [--set-dir /tmp/sori-pitch-set] [--seed 0]
        [--trackers swiftf0,tiny,full] [--compare-every 4] [--full-every 26] [--threads 2] [--list-misses]
        [--json PATH] [--no-poly] [--held-out-dir /tmp/sori-pitch-held-out]
        [--held-out-tunes-dir /tmp/sori-pitch-held-out-tunes] [--fresh-tunes-dir /tmp/sori-pitch-fresh-tunes]
        [--device cpu|cuda|auto]

The set is pitch_set.py's (made on the first run, about 5 minutes; cached on disk after): 44 melodies of the music21
corpus and 8 gugak tunes, 9 variants each, solo and over an accompaniment, and 36 Bach chorales as 3-4 voice mixes.
Every mono file is checked by the default path, `remaster.analysis.dissonance.check(audio, rate, style="auto",
model=TRACKER, voices="auto", device=DEVICE)` (`--device`: the CPU by default), after reading it from disk
(`remaster.audio.read`: the decoding is timed too); the gugak tunes once more with `style="gugak"`. How
`voices="auto"` read them is counted (mono, melody: the mix's top line, poly). The chorale mixes are checked with
`voices="poly"`, and with `voices="auto"` too: how it reads them, and what it finds in them so. `--full-every N`
runs CREPE full on every N-th melody only (it runs below real time on two cores), the other trackers on every
`--compare-every`-th (CREPE tiny: about 10x real time); the default tracker is scored again on exactly those files
for the side-by-side table.

Scoring, per file:
- a finding matches an error when their intervals overlap (the error's: note-on to the written end); each error
  and each finding is matched at most once, the largest overlaps first; in a mix, only a finding on the error's
  pitch class (in any octave) or a `rough` one, which names no pitch: one on another voice sounding then is no
  wrong note found (before that rule, 9 of the 171 wrong notes found in the held-out mixes had their finding on
  another note; with its octaves and `rough` counted, 3 of them are no longer found);
- notes the soundfont itself renders 25 cents or more off the tune (pitch_set.sour_renderings: a sample's flat
  attack is all a staccato note plays; in a chorale mix each voice is rendered alone to measure it: FluidR3's choir
  sings D4 45 cents flat) are scored apart the same way: a finding there is right about the audio; in a mix, only a
  finding at that note's pitch, not one on another voice sounding with it. So is a detune injected on such a note:
  what sounds is the sum of the two, not the size the truth names;
- `wrong_note` errors (a whole-tone or semitone slip that lands on another tone of the tune) are not sour: a
  finding on one counts neither for nor against, and they are counted apart;
- recall by error kind and size, and for errors of 50 cents or more (detune50, detune100, out_of_key) by the
  sounding length of the note: 0.10-0.15, 0.15-0.30, 0.30-0.60, 0.60-2 s; solo and accompanied apart;
- precision: matched findings / all findings on every mono file (wrong-note matches left out of both);
- false flags: the share of files of each negative variant (clean, offset, ornamented, ornamented_offset) with
  any finding, solo and accompanied;
- time error: |finding start - note-on| of the matched findings, median and 90th percentile;
- how the figures spread over the melodies: a 95 % interval of recall (>= 50 cents, >= 0.15 s) and precision with
  the melodies, each with all its takes, drawn again with replacement (a tune's own lone accidental is flagged in
  most of its takes, so the files are no independent draws), and the melodies that carry the false findings;
- where it is weak: recall (>= 50 cents, >= 0.15 s) and false flags (negatives) by collection and by timbre family
  (plucked/decaying or sustained), and why each missed error (>= 50 cents, >= 0.15 s) was missed, read from the
  check's own notes and scale (`why_missed`, from the note nearest the sung pitch among those sounding through it,
  or, where none lies within a semitone and a half of it, nearest its tone in another octave): no note there, notes
  on another voice only, too brief as tracked, too quiet or read as a release, its tone in key as the check read the
  key (told apart where one of the seven modes holds it with every other tone the tune is written with: a slip that
  completes a hexatonic or pentatonic tune's mode gives a listener who does not know the tune nothing to hear),
  passed by a mix's chord rules, or judged within tolerance.

`--held-out-dir DIR` checks the same way (`voices="poly"`) the ~300 four-part chorales of the corpus that the set's
mixes do not take (pitch_set.held_out_chorales: cut, scored and rendered as the set's mixes are, clean, -40 cents and
with one `out_of_key` note; made in DIR on the first run, about 7 minutes, then about 6 minutes a run): the chord
rules were tuned on the set's 36 mixes, and these say how they hold on mixes they have never seen.

`--held-out-tunes-dir DIR` does the same for one line: 44 other melodies of the set's collections (pitch_set.py
--held-out-tunes: other Essen numbers, Ryan's, O'Neill's and Aird's works between the set's picks, other chorale
sopranos; every variant, solo and over an accompaniment; no gugak tune, the set has all there are), checked by the
default path as the set's are, with the same table and targets: the mono rules were tuned on the set's tunes.
Their false findings have since been read to make rules, so `--fresh-tunes-dir DIR` checks a second pool of 44
(pitch_set.py --fresh-tunes: neither the set's works nor those) the same way, to confirm a change on tunes no one
has looked at; a rule tuned on what they show makes them seen too.

Targets (PASS/FAIL, the default tracker, style auto): recall >= 95 % (>= 50 cents, notes >= 0.15 s), >= 60 % at
30 cents, precision >= 90 %, false flags <= 5 % of files for every negative kind, solo and accompanied; check >= 20x
real time on 2 cores including decoding. Polyphonic: recall >= 80 % for out-of-key notes, false flags <= 10 % on
the clean mixes. The issue names `gugak` as the path for the gugak tunes, so the mono targets are printed twice:
style auto on every tune, and style auto on the western tunes with style gugak on the gugak ones. The exit status
is 0 either way: read the PASS/FAIL lines.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

try:
    from remaster.analysis.dissonance import check
except ImportError:  # run from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from remaster.analysis.dissonance import check
from remaster import audio as audio_io
from remaster.analysis.dissonance import Check, CheckParams, _fits, heard_notes
from remaster.analysis.tuning import SCALES, grid_step

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pitch_set import PLUCKED, POSITIVE, prepare, rendered_cents, sour_renderings, truth_path

DEFAULT_SET = Path("/tmp/sori-pitch-set")
BUCKETS = ((0.10, 0.15), (0.15, 0.30), (0.30, 0.60), (0.60, 2.5))
NEGATIVES = ("clean", "offset", "ornamented", "ornamented_offset")
BIG = ("detune50", "detune100", "out_of_key")
APART = ("wrong_note", "rendering")     # scored apart: neither for nor against


@dataclass
class Result:
    path: Path
    truth: dict
    findings: list[dict]
    seconds: float
    style: str
    voices_used: str = ""
    matches: list[tuple[int, int]] = field(default_factory=list)
    why: dict[int, str] = field(default_factory=dict)      # missed error -> why_missed

    @property
    def variant(self) -> str:
        return self.truth["variant"]

    @property
    def acc(self) -> bool:
        return bool(self.truth.get("accompanied"))

    @property
    def errors(self) -> list[dict]:
        return self.truth["errors"]

    def sour_errors(self) -> list[int]:
        return [i for i, e in enumerate(self.errors) if e["kind"] not in APART]

    def found(self, i: int) -> bool:
        return any(a == i for a, _ in self.matches)

    def false_findings(self) -> int:
        used = {j for _, j in self.matches}
        return len(self.findings) - len(used)

    def true_findings(self) -> int:
        return sum(self.errors[i]["kind"] not in APART for i, _ in self.matches)

    def flagged(self) -> bool:
        """Any finding beyond those on notes scored apart."""
        apart = {j for i, j in self.matches if self.errors[i]["kind"] in APART}
        return len(self.findings) > len(apart)


def _same_note(error: dict, finding: dict, voices: int, offset_cents: float = 0.0) -> bool:
    """In a mix, a finding counts for an error only on its note: within 80 cents of where a note rendered sour
    sounds (a finding on another voice sounding with it is no excuse), and on the pitch class a wrong or detuned note
    sounds in, in any octave (a finding on another voice at the same time is not that note found). A finding that
    names no pitch (`rough`) counts by its time."""
    if voices < 2:
        return True
    hz = finding.get("found_hz")
    midi = None if hz is None else 69 + 12 * np.log2(hz / 440.0)
    if error["kind"] == "rendering":
        return midi is not None and abs(midi - error["midi"]) <= 0.8
    if midi is None or "found_midi" not in error:
        return finding["kind"] == "rough"
    off = (midi - error["found_midi"] - offset_cents / 100.0) % 12
    return min(off, 12 - off) <= 0.8


def match(errors: list[dict], findings: list[dict], voices: int = 1,
          offset_cents: float = 0.0) -> list[tuple[int, int]]:
    pairs = sorted(((min(e["end"], f["end"]) - max(e["start"], f["start"]), i, j) for i, e in enumerate(errors)
                    for j, f in enumerate(findings) if _same_note(e, f, voices, offset_cents)), reverse=True)
    used_e: set[int] = set()
    used_f: set[int] = set()
    out = []
    for amount, i, j in pairs:
        if amount > 0 and i not in used_e and j not in used_f:
            used_e.add(i)
            used_f.add(j)
            out.append((i, j))
    return sorted(out)


def _octaves_off(cents: float, sung: float) -> float:
    off = (cents - sung) % 1200.0
    return min(off, 1200.0 - off)


IN_A_MODE = "in key as read, and a mode holds it with the tune's other tones"


def _a_mode_holds(truth: dict, error: dict) -> bool:
    """Whether one of the seven diatonic modes holds the wrong tone together with every other tone the tune is
    written with: a tune that never sounds one tone of a mode (a hexatonic or pentatonic one), or a short one, gives
    a listener who does not know it nothing to hear a slip onto that tone as wrong."""
    notes = truth.get("notes")
    if not notes or "index" not in error:
        return False
    wrong = round(error.get("found_midi", error["expected_midi"] + error["cents"] / 100.0)) % 12
    tones = {round(n["midi"]) % 12 for k, n in enumerate(notes) if k != error["index"]} | {wrong}
    return _fits(tones, (SCALES["major"],))


def why_missed(result: Check, truth: dict, error: dict) -> str:
    """Why the check has no finding on `error`, from its own notes, tuning reference and scale."""
    sung = error.get("expected_midi", 0) * 100.0 + error["cents"] + truth.get("tuning_offset_cents", 0.0)
    # of the notes sounding through enough of it, the one nearest the sung pitch (in a mix, the longest overlap is
    # as often another voice's)
    enough = 0.3 * error["sounding_s"]
    under = [n for n in result.notes if min(n.end, error["end"]) - max(n.start, error["start"]) >= enough]
    if not under:
        return "no note"
    note = min(under, key=lambda n: abs(n.centre - sung))
    if abs(note.centre - sung) > 150.0:
        # a note read an octave or more off keeps the sung tone and its cents, and is judged on them: why it passed
        # is read from it (a tone the key as read holds, most often), not put down to the tracker
        note = min(under, key=lambda n: _octaves_off(n.centre, sung))
        if _octaves_off(note.centre, sung) > 150.0:
            return "another voice"
    p = CheckParams()
    if max(note.stable_s, note.duration) < p.min_sour_s:
        return "too brief as tracked"
    if note not in heard_notes(result.notes, p.quiet_db):
        return "too quiet, or read as a release"
    step = grid_step(note.centre, result.reference_cents)
    if error["kind"] == "out_of_key" or abs(error["cents"]) >= 100:
        if result.scale is not None and step % 12 in result.scale.pitch_classes:
            return IN_A_MODE if _a_mode_holds(truth, error) else "in key as the key was read"
        if result.voices == "poly":
            return "passed by the chord rules (a tone the mix keeps, a triad or seventh chord, an overtone)"
    return "judged within tolerance"


def run(paths: list[Path], tracker: str, style: str | None, voices: str, label: str,
        device: str = "cpu") -> list[Result]:
    out = []
    started = time.perf_counter()
    for k, path in enumerate(paths):
        truth = with_sour_renderings(path, json.loads(truth_path(path).read_text()))
        t0 = time.perf_counter()
        audio, rate = audio_io.read(path)
        result = check(audio, rate, style=style or "auto", model=tracker, voices=voices, device=device)
        elapsed = time.perf_counter() - t0
        findings = [f.to_dict() for f in result.findings]
        r = Result(path, truth, findings, elapsed, style or "auto", result.voices)
        r.matches = match(r.errors, findings, truth.get("voices", 1), truth.get("tuning_offset_cents", 0.0))
        r.why = {i: why_missed(result, truth, r.errors[i]) for i in r.sour_errors() if not r.found(i)}
        out.append(r)
        if (k + 1) % 100 == 0 or k + 1 == len(paths):
            print(f"  {label}: {k + 1}/{len(paths)} files ({time.perf_counter() - started:.0f} s)", flush=True)
    return out


def pct(num: float, den: float) -> str:
    return f"{100 * num / den:5.1f}%" if den else "    -"


def with_sour_renderings(path: Path, truth: dict) -> dict:
    """The truth with the notes the soundfont itself renders sour (pitch_set.sour_renderings, measured on the
    melody's clean file, each voice of a mix alone) added as errors of kind `rendering`, scored apart.

    A `detuned` error injected on such a note is scored apart too: what sounds is the two together, not the size the
    truth names (FluidR3's fiddle renders one A5 of a jig 38 cents flat, so the 50-cent slip put on it sounds 88
    cents flat, on the G-sharp beside it; a 30-cent slip up on a note rendered 26 cents flat of its tune sounds in
    tune).
    An `out_of_key` error stays: a semitone or more off is a wrong tone whatever the sample adds."""
    clean = path.with_name(f"{truth['melody']}_clean.wav")
    if not clean.exists():
        return truth
    cents = rendered_cents(clean)
    offset = truth.get("tuning_offset_cents", 0.0)
    sour = set(sour_renderings(cents))

    def apart(i: int, start: float, end: float, sounding_s: float, midi: float, injected: float = 0.0) -> dict:
        return {"start": start, "end": end, "sounding_s": sounding_s, "index": i, "kind": "rendering",
                "cents": cents[i] + injected, "midi": midi + (offset + cents[i] + injected) / 100}

    errors = [apart(e["index"], e["start"], e["end"], e["sounding_s"], e["expected_midi"], e["cents"])
              if e["kind"] == "detuned" and e.get("index") in sour else e for e in truth["errors"]]
    taken = {e["index"] for e in truth["errors"]}
    extra = [apart(i, n["start"], n["end"], n["sounding_s"], n["midi"])
             for i in sorted(sour) if i not in taken for n in (truth["notes"][i],)]
    return {**truth, "errors": errors + extra}


def ratio(num: float, den: float) -> float:
    return num / den if den else float("nan")


def bucket_of(seconds: float) -> int | None:
    for k, (lo, hi) in enumerate(BUCKETS):
        if lo - 1e-9 <= seconds < hi:
            return k
    return None


def recall(rs: list[Result], kinds: tuple[str, ...], min_s: float = 0.0, max_s: float = 99.0) -> tuple[int, int]:
    n = found = 0
    for r in rs:
        if r.variant not in kinds:
            continue
        for i in r.sour_errors():
            if min_s - 1e-9 <= r.errors[i]["sounding_s"] < max_s:
                n += 1
                found += r.found(i)
    return found, n


def precision(rs: list[Result]) -> tuple[int, int]:
    true = sum(r.true_findings() for r in rs)
    return true, true + sum(r.false_findings() for r in rs)


def flag_rate(rs: list[Result], variant: str) -> tuple[int, int]:
    sub = [r for r in rs if r.variant == variant]
    return sum(r.flagged() for r in sub), len(sub)


@dataclass
class Summary:
    recall50: float
    recall30: float
    precision: float
    worst_flags: float
    rtf: float


def set_table(rs: list[Result], title: str, show_weak: bool = True) -> Summary:
    print(f"\n=== {title}")
    solo, acc = [r for r in rs if not r.acc], [r for r in rs if r.acc]
    head = f"{'recall':34s} {'solo':>14s} {'accompanied':>14s} {'all':>14s}"
    print(head)
    print("-" * len(head))

    def row(label: str, kinds: tuple[str, ...], lo: float = 0.0, hi: float = 99.0) -> tuple[int, int]:
        cells, total = [], (0, 0)
        for sub in (solo, acc, rs):
            f, n = recall(sub, kinds, lo, hi)
            cells.append(f"{f:4d}/{n:<4d}{pct(f, n)}")
            total = (f, n)
        print(f"{label:34s} " + " ".join(f"{c:>14s}" for c in cells))
        return total

    for kind in POSITIVE:
        row(kind, (kind,), 0.1)
    for lo, hi in BUCKETS:
        row(f">= 50 cents, notes {lo:.2f}-{min(hi, 2.0):.2f} s", BIG, lo, hi)
    f50, n50 = row(">= 50 cents, notes >= 0.15 s", BIG, 0.15)
    f30, n30 = row("30 cents, notes >= 0.15 s", ("detune30",), 0.15)
    for kind, label in (("wrong_note", "wrong notes"), ("rendering", "notes the soundfont renders sour")):
        apart = [(r, i) for r in rs for i, e in enumerate(r.errors) if e["kind"] == kind]
        print(f"{label + ' (scored apart) flagged':34s} {sum(r.found(i) for r, i in apart):4d}/{len(apart)}")
    print(f"\n{'precision, false flags':34s} {'solo':>14s} {'accompanied':>14s} {'all':>14s}")
    cells = []
    for sub in (solo, acc, rs):
        t, n = precision(sub)
        cells.append(f"{t:4d}/{n:<4d}{pct(t, n)}")
    print(f"{'precision (matched / findings)':34s} " + " ".join(f"{c:>14s}" for c in cells))
    p_all = ratio(*precision(rs))
    worst = 0.0
    for v in NEGATIVES:
        cells = []
        for sub in (solo, acc):
            f, n = flag_rate(sub, v)
            cells.append(f"{f:4d}/{n:<4d}{pct(f, n)}")
            worst = max(worst, ratio(f, n)) if n else worst
        f, n = flag_rate(rs, v)
        cells.append(f"{f:4d}/{n:<4d}{pct(f, n)}")
        print(f"{'files flagged: ' + v:34s} " + " ".join(f"{c:>14s}" for c in cells))
    kinds: dict[str, int] = defaultdict(int)
    for r in rs:
        used = {j for _, j in r.matches}
        for j, f in enumerate(r.findings):
            if j not in used:
                kinds[f["kind"]] += 1
    print("false findings by kind: " + (", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) or "none"))
    d_start = [abs(r.findings[j]["start"] - r.errors[i]["start"]) for r in rs for i, j in r.matches]
    if d_start:
        print(f"time error |finding start - note-on| of {len(d_start)} matches: median {statistics.median(d_start):.3f}"
              f" s, 90 % within {np.percentile(d_start, 90):.3f} s, max {max(d_start):.3f} s")
    if show_weak:
        spread_line(rs)
        weak_table(rs)
        why_table(solo, acc)
    audio_s = sum(r.truth["seconds"] for r in rs)
    wall = sum(r.seconds for r in rs)
    print(f"{len(rs)} files, {audio_s / 60:.0f} min of audio in {wall:.0f} s: {audio_s / wall:.1f}x real time "
          "(reading included)")
    return Summary(ratio(f50, n50), ratio(f30, n30), p_all, worst, audio_s / wall)


# Melodies drawn with replacement for the interval of `spread`: enough that its ends move by under half a point
# from seed to seed on the set's 52 melodies.
RESAMPLES = 4000


@dataclass
class Spread:
    """How the figures of a table spread over its melodies: each melody's takes stand or fall together (a tune's own
    lone accidental is flagged in most of its 18 takes), so the files are not independent draws."""
    melodies: int
    recall50: tuple[float, float]       # 95 % interval, melodies resampled (>= 50 cents, notes >= 0.15 s)
    precision: tuple[float, float]      # the same for precision
    with_false: int                     # melodies with a false finding in any take
    most_false: list[tuple[str, int]]   # the melodies with the most false findings, most first


def spread(rs: list[Result], resamples: int = RESAMPLES, seed: int = 0, most: int = 3) -> Spread:
    """A percentile bootstrap over melodies (Efron and Tibshirani, An Introduction to the Bootstrap, 1993, ch. 13):
    the 95 % interval of recall and precision when the table's melodies, each with all its takes, are drawn again
    with replacement; and which melodies carry the false findings."""
    groups: dict[str, list[Result]] = defaultdict(list)
    for r in rs:
        groups[r.truth["melody"]].append(r)
    names = sorted(groups)
    counts = np.array([(*recall(groups[m], BIG, 0.15), *precision(groups[m])) for m in names], float)
    false = {m: sum(r.false_findings() for r in groups[m]) for m in names}
    if not names:
        return Spread(0, (float("nan"), float("nan")), (float("nan"), float("nan")), 0, [])
    draws = counts[np.random.default_rng(seed).integers(0, len(names), (resamples, len(names)))].sum(axis=1)

    def interval(num: int, den: int) -> tuple[float, float]:
        with np.errstate(invalid="ignore", divide="ignore"):
            share = draws[:, num] / draws[:, den]
        share = share[np.isfinite(share)]
        if not share.size:
            return float("nan"), float("nan")
        lo, hi = np.percentile(share, [2.5, 97.5])
        return float(lo), float(hi)

    ranked = sorted((m for m in names if false[m]), key=lambda m: (-false[m], m))
    return Spread(len(names), interval(0, 1), interval(2, 3), len(ranked), [(m, false[m]) for m in ranked[:most]])


def spread_line(rs: list[Result]) -> None:
    s = spread(rs)
    f50, p = ratio(*recall(rs, BIG, 0.15)), ratio(*precision(rs))
    most = ", ".join(f"{m} {k}" for m, k in s.most_false) or "none"
    print(f"over its {s.melodies} melodies (95 % interval, melodies drawn again): recall >= 50c >= 0.15 s "
          f"{100 * f50:.1f}% [{100 * s.recall50[0]:.1f}, {100 * s.recall50[1]:.1f}], precision {100 * p:.1f}% "
          f"[{100 * s.precision[0]:.1f}, {100 * s.precision[1]:.1f}]; false findings on {s.with_false} of them, "
          f"most on: {most}")


def weak_table(rs: list[Result]) -> None:
    print(f"\n{'where it is weak':24s} {'recall >=50c >=0.15s':>22s} {'negatives flagged':>20s} {'precision':>16s}")
    groups: dict[str, list[Result]] = defaultdict(list)
    for r in rs:
        groups[r.truth["group"]].append(r)
        groups["plucked/decaying" if r.truth["programs"][0] in PLUCKED else "sustained"].append(r)
    for name, sub in groups.items():
        f, n = recall(sub, BIG, 0.15)
        neg = [r for r in sub if r.variant in NEGATIVES]
        t, m = precision(sub)
        flagged = sum(r.flagged() for r in neg)
        print(f"{name:24s} {f:5d}/{n:<5d}{pct(f, n):>11s} {flagged:5d}/{len(neg):<5d}{pct(flagged, len(neg)):>9s} "
              f"{t:4d}/{m:<4d}{pct(t, m):>7s}")


def why_table(solo: list[Result], acc: list[Result]) -> None:
    """Why the errors of 50 cents or more on notes of 0.15 s or longer were missed, solo and accompanied."""
    counts = []
    for sub in (solo, acc):
        c: dict[str, int] = defaultdict(int)
        for r in sub:
            for i, why in r.why.items():
                e = r.errors[i]
                if r.variant in BIG and e["sounding_s"] >= 0.15:
                    c[why] += 1
        counts.append(c)
    whys = sorted(set(counts[0]) | set(counts[1]), key=lambda w: -(counts[0][w] + counts[1][w]))
    width = max([34, *map(len, whys)])
    print(f"\n{'why missed (>= 50c, >= 0.15 s)':{width}s} {'solo':>8s} {'accompanied':>12s}")
    for why in whys:
        print(f"{why:{width}s} {counts[0][why]:8d} {counts[1][why]:12d}")


def list_misses(rs: list[Result]) -> None:
    print("\nmissed errors (>= 30 cents, >= 0.1 s)")
    for r in rs:
        for i in r.sour_errors():
            if not r.found(i):
                e = r.errors[i]
                near = "; ".join(f"{f['kind']} {f['start']:.2f}-{f['end']:.2f} {f.get('cents', 0):+.0f}c"
                                 for f in r.findings) or "none"
                print(f"  {r.path.name:44s} {e['start']:6.2f} {e['sounding_s']:.2f}s {e['kind']:10s} "
                      f"{e['cents']:+5.0f}c  {r.why.get(i, '')}; findings: {near}")
    print("\nfalse findings")
    for r in rs:
        used = {j for _, j in r.matches}
        for j, f in enumerate(r.findings):
            if j not in used:
                print(f"  {r.path.name:44s} {f['start']:6.2f}-{f['end']:6.2f} {f['kind']:10s} "
                      f"{f.get('cents', 0):+6.1f}c found {f.get('found', '')} expected {f.get('expected', '')}")


def poly_table(rs: list[Result], title: str = "3-4 voice chorale mixes") -> tuple[float, float]:
    print(f"\n=== polyphonic: {title}, voices=poly")
    for kind in ("out_of_key", "detune50"):
        f, n = recall(rs, (kind,))
        if n:
            print(f"recall, {kind:10s} in one voice: {f}/{n} {pct(f, n)}")
    why = Counter(w for r in rs for i, w in r.why.items() if r.errors[i]["kind"] == "out_of_key")
    if why:
        print("why out-of-key notes were missed: " + ", ".join(f"{w} {k}" for w, k in why.most_common()))
    t, n = precision(rs)
    print(f"precision: {t}/{n} {pct(t, n)}")
    for v in ("clean", "offset"):
        f, n = flag_rate(rs, v)
        if n:
            print(f"files flagged, {v}: {f}/{n} {pct(f, n)}")
    poly_weak(rs)
    audio_s = sum(r.truth["seconds"] for r in rs)
    wall = sum(r.seconds for r in rs)
    print(f"{len(rs)} mixes, {audio_s:.0f} s of audio in {wall:.1f} s: {audio_s / wall:.1f}x real time")
    return ratio(*recall(rs, ("out_of_key",))), ratio(*flag_rate(rs, "clean"))


def poly_weak(rs: list[Result]) -> dict[str, tuple[int, int, int, int, int]]:
    """Where the poly path is weak, by the mixes' scoring (strings, organ, winds, choir): out-of-key notes found,
    their number, those with no note at their pitch in any octave (`another voice`: the transcription lost them),
    clean mixes flagged, their number. Printed where the mixes have more than one scoring."""
    by: dict[str, list[Result]] = defaultdict(list)
    for r in rs:
        by[r.truth.get("scoring", "?")].append(r)
    rows = {}
    for scoring, group in sorted(by.items()):
        lost = sum(w == "another voice" for r in group for i, w in r.why.items()
                   if r.errors[i]["kind"] == "out_of_key")
        rows[scoring] = (*recall(group, ("out_of_key",)), lost, *flag_rate(group, "clean"))
    if len(rows) > 1:
        print(f"{'by scoring':12s} {'out_of_key found':>22s} {'none at its pitch':>20s} {'clean flagged':>18s}")
        for scoring, (found, n, lost, flagged, clean) in rows.items():
            print(f"{scoring:12s} {found:9d}/{n:<4d} {pct(found, n)} {lost:20d} "
                  f"{flagged:6d}/{clean:<4d} {pct(flagged, clean)}")
    return rows


def auto_table(rs_mono: list[Result], paths_poly: list[Path], tracker: str, device: str = "cpu") -> None:
    """How voices=auto read the melodies (already checked that way) and the chorale mixes, and what it finds in the
    mixes so: what a preset left at `voices: auto` gives a choir."""
    read: dict[tuple[bool, str], int] = defaultdict(int)
    for r in rs_mono:
        read[(r.acc, r.voices_used)] += 1
    rs_auto = run(paths_poly, tracker, None, "auto", "poly, voices=auto", device)
    poly_as = Counter(r.voices_used for r in rs_auto)
    found, n = recall(rs_auto, ("out_of_key",))
    flagged, clean = flag_rate(rs_auto, "clean")
    print(f"\nthe chorale mixes under voices=auto: out_of_key in one voice found {found}/{n} {pct(found, n)}, "
          f"clean mixes flagged {flagged}/{clean} {pct(flagged, clean)}")
    for acc in (False, True):
        n = sum(v for (a, _), v in read.items() if a == acc)
        ways = ", ".join(f"{way} {read[(acc, way)]}" for way in ("mono", "melody", "poly"))
        print(f"voices=auto on the {'accompanied' if acc else 'solo'} melodies ({n}): {ways}")
    print(f"voices=auto on the chorale mixes ({len(paths_poly)}): " +
          ", ".join(f"{way} {poly_as[way]}" for way in ("mono", "melody", "poly")))


def verdict(name: str, value: float, ok: bool) -> str:
    return f"{name} ({100 * value:.1f}%): {'PASS' if ok else 'FAIL'}"


def mono_verdicts(s: Summary, prefix: str = "") -> list[str]:
    """The one-line targets (recall, precision, false flags) of a table of melodies, PASS or FAIL."""
    return [verdict(f"{prefix}recall >=50c on notes >=0.15 s >= 95%", s.recall50, s.recall50 >= 0.95),
            verdict(f"{prefix}recall 30c >= 60%", s.recall30, s.recall30 >= 0.6),
            verdict(f"{prefix}precision >= 90%", s.precision, s.precision >= 0.9),
            verdict(f"{prefix}false flags <= 5% for every negative kind, solo and accompanied", s.worst_flags,
                    s.worst_flags <= 0.05)]


def by_the_issues_paths(auto: list[Result], gugak: list[Result]) -> list[Result]:
    """The set checked as the issue names its paths: each western tune's takes under `style: auto` (`auto`), each
    gugak tune's under `style: gugak`, the gugak-solo preset's (`gugak`)."""
    return [r for r in auto if r.truth["style"] != "gugak"] + [r for r in gugak if r.truth["style"] == "gugak"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set-dir", type=Path, default=DEFAULT_SET)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--trackers", default="swiftf0,tiny,full", help="comma-separated; the first is the default")
    parser.add_argument("--compare-every", type=int, default=4,
                        help="trackers other than the default on every N-th melody only (CREPE tiny: ~10x real time)")
    parser.add_argument("--full-every", type=int, default=26,
                        help="CREPE full on every N-th melody only (below real time on two cores)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu",
                        help="where CREPE runs; on a GPU CREPE full is as fast as SwiftF0 (benchmarks/"
                             "bench_check_speed.py), so --full-every 1 is affordable there")
    parser.add_argument("--list-misses", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-poly", action="store_true")
    parser.add_argument("--held-out-dir", type=Path,
                        help="also check the ~300 held-out chorale mixes kept here (made on the first run: "
                             "pitch_set.py DIR --held-out-chorales), voices=poly")
    parser.add_argument("--held-out-tunes-dir", type=Path,
                        help="also check 44 held-out melodies kept here (made on the first run: pitch_set.py DIR "
                             "--held-out-tunes), as the set's are")
    parser.add_argument("--fresh-tunes-dir", type=Path,
                        help="also check the 44 melodies of the second held-out pool kept here (pitch_set.py DIR "
                             "--fresh-tunes), to confirm a change on tunes no one has looked at")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: torch sees no CUDA GPU here; use --device cpu", file=sys.stderr)
        return 2
    paths = prepare(args.set_dir, args.seed, workers=args.threads)
    kinds = {p: json.loads(truth_path(p).read_text()) for p in paths}
    mono = [p for p in paths if kinds[p]["set"] == "mono"]
    poly = [p for p in paths if kinds[p]["set"] == "poly"]
    trackers = args.trackers.split(",")
    summaries: dict[str, tuple[Summary, str]] = {}
    everything = {}
    default = trackers[0]
    for tracker in trackers:
        every = 1 if tracker == default else (args.full_every if tracker == "full" else args.compare_every)
        names = sorted({kinds[p]["melody"] for p in mono})[::every]
        files = [p for p in mono if kinds[p]["melody"] in names]
        scope = "all" if every == 1 else f"every {every}th melody ({len(names)} melodies)"
        rs = run(files, tracker, None, "auto", tracker, args.device)
        everything[tracker] = rs
        summaries[tracker] = (set_table(rs, f"tracker {tracker}, style auto, {scope}",
                                        show_weak=tracker == default), scope)
        if tracker == default and args.list_misses:
            list_misses(rs)
        if every > 1:     # the default tracker on the same files, for the side-by-side table
            same = {r.path for r in rs}
            sub = [r for r in everything[default] if r.path in same]
            summaries[f"{default} on {tracker}'s files"] = (
                set_table(sub, f"tracker {default} on {tracker}'s files", show_weak=False), scope)
    gugak = [p for p in mono if kinds[p]["style"] == "gugak"]
    rs_gugak = run(gugak, default, "gugak", "auto", "gugak style", args.device)
    g = set_table(rs_gugak, f"tracker {default}, style gugak, the gugak tunes", show_weak=False)
    issues_paths = by_the_issues_paths(everything[default], rs_gugak)
    both = set_table(issues_paths, f"tracker {default}, style auto on the western tunes and gugak on the gugak tunes",
                     show_weak=False)
    spread_line(issues_paths)
    print("\n=== trackers side by side (style auto; recall on notes >= 0.15 s; x real time includes reading)")
    head = f"{'tracker':26s} {'recall>=50c':>11s} {'recall 30c':>10s} {'precision':>9s} {'worst flags':>11s} " \
           f"{'x real time':>11s}  scope"
    print(head)
    print("-" * len(head))
    for name, (s, scope) in summaries.items():
        print(f"{name:26s} {100 * s.recall50:10.1f}% {100 * s.recall30:9.1f}% {100 * s.precision:8.1f}% "
              f"{100 * s.worst_flags:10.1f}% {s.rtf:11.1f}  {scope}")
    s = summaries[default][0]
    lines = [*mono_verdicts(s),
             f"speed >= 20x real time ({s.rtf:.1f}x): {'PASS' if s.rtf >= 20 else 'FAIL'}",
             verdict("gugak style on the gugak tunes: recall >=50c", g.recall50, g.recall50 >= 0.95),
             verdict("gugak style: false flags", g.worst_flags, g.worst_flags <= 0.05),
             *mono_verdicts(both, "auto on the western tunes, gugak on the gugak tunes: ")]
    if not args.no_poly and poly:
        rs_poly = run(poly, default, None, "poly", "poly", args.device)
        everything["poly"] = rs_poly
        rec, flags = poly_table(rs_poly)
        lines += [verdict("poly recall out-of-key >= 80%", rec, rec >= 0.8),
                  verdict("poly false flags on clean mixes <= 10%", flags, flags <= 0.1)]
        auto_table(everything[default], poly, default, args.device)
    if args.held_out_dir is not None:
        rs_held = run(prepare(args.held_out_dir, args.seed, workers=args.threads, held_out="chorales"), default,
                      None, "poly", "held-out", args.device)
        everything["held_out"] = rs_held
        rec, flags = poly_table(rs_held, "held-out chorale mixes (the chorales the set does not take)")
        lines += [verdict("held-out poly recall out-of-key >= 80%", rec, rec >= 0.8),
                  verdict("held-out poly false flags on clean mixes <= 10%", flags, flags <= 0.1)]
    for folder, kind, key, label, what in ((args.held_out_tunes_dir, "tunes", "held_out_tunes", "held-out tunes",
                                            "melodies the set does not take"),
                                           (args.fresh_tunes_dir, "fresh", "fresh_tunes", "fresh tunes",
                                            "the second held-out pool: melodies no rule was tuned on")):
        if folder is None:
            continue
        rs_tunes = run(prepare(folder, args.seed, workers=args.threads, held_out=kind), default, None, "auto", label,
                       args.device)
        everything[key] = rs_tunes
        t = set_table(rs_tunes, f"tracker {default}, style auto, {label} ({what})", show_weak=True)
        if args.list_misses:
            list_misses(rs_tunes)
        lines += mono_verdicts(t, f"{label}: ")
    print(f"\ntargets, default tracker {default}:")
    for line in lines:
        print("  " + line)
    if args.json:
        args.json.write_text(json.dumps({k: [{"file": r.path.name, "variant": r.variant, "findings": r.findings,
                                              "errors": r.errors, "matches": r.matches, "seconds": r.seconds}
                                             for r in v] for k, v in everything.items()}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
