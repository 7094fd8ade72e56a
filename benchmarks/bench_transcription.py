"""How well the poly path's transcription (`multipitch.find_voices`) holds chorale mixes' written voices, by scoring.

    .venv/bin/python benchmarks/bench_transcription.py --held-out-dir /tmp/i14-heldout [--mixes 60]

bench_dissonance measures what the poly path finds; this measures what it is given. The mixes are the held-out
chorales pitch_set.py renders (bench_dissonance --held-out-dir makes them): FluidR3 strings, organ, winds and choir,
each with its truth's written notes. Only the clean mixes are read, the first `--mixes` of them by name. For each
written note, of the transcribed notes on its key that overlap it, the one that overlaps it most gives its onset and
end against the written ones; the share of the written note that notes on its key cover is counted too, and a
written note no note on its key (nor a note the spectrum pass added, `missed`) overlaps is lost. Printed per scoring:
medians with the 10th and 90th percentiles. The exit status is 0: these are measures, not targets.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from remaster import audio as audio_io
from remaster.analysis import multipitch
from remaster.analysis.notes import Note


def _on_key(notes: list[Note], key: int, start: float, end: float) -> list[Note]:
    return [n for n in notes if round(n.centre / 100.0) == key and n.end > start and n.start < end]


def measure(notes: list[Note], missed: list[Note], written: list[dict]) -> dict[str, list[float]]:
    """Onset and end differences (read minus written, seconds), the covered share of each written note, and 1 or 0 for
    each written note lost; `written`: the truth's notes (start, sounding_s, midi)."""
    out: dict[str, list[float]] = defaultdict(list)
    for w in written:
        start, end, key = w["start"], w["start"] + w["sounding_s"], w["midi"]
        same = _on_key(notes, key, start, end)
        out["lost"].append(float(not same and not _on_key(missed, key, start, end)))
        if not same:
            continue
        best = max(same, key=lambda n: min(end, n.end) - max(start, n.start))
        out["onset"].append(best.start - start)
        out["end"].append(best.end - end)
        out["covered"].append(min(1.0, sum(min(end, n.end) - max(start, n.start) for n in same) / (end - start)))
    return out


def spread(values: list[float], sign: str = "+") -> str:
    """The median, with the 10th and 90th percentiles."""
    if not values:
        return "-"
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    return f"{p50:{sign}.2f} ({p10:{sign}.2f} to {p90:{sign}.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--held-out-dir", type=Path, required=True, help="the held-out chorale mixes and truths")
    parser.add_argument("--mixes", type=int, default=60, help="how many clean mixes to read (first by name)")
    args = parser.parse_args()
    truths = sorted(args.held_out_dir.glob("*_clean.truth.json"))[:args.mixes]
    if not truths:
        print(f"error: no clean mixes (*_clean.truth.json) in {args.held_out_dir}; render them with "
              "bench_dissonance.py --held-out-dir first", file=sys.stderr)
        return 2
    by: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for k, path in enumerate(truths):
        truth = json.loads(path.read_text())
        audio, rate = audio_io.read(path.with_name(path.name.replace(".truth.json", ".wav")))
        mono = audio.mean(axis=0) if audio.ndim == 2 else audio
        notes, missed = multipitch.find_voices(mono, rate)
        for name, values in measure(notes, missed, truth["notes"]).items():
            by[truth.get("scoring", "?")][name].extend(values)
        print(f"  {k + 1}/{len(truths)} mixes", end="\r", flush=True)
    print(f"\n{'scoring':10s} {'notes':>6s} {'lost':>6s} {'onset, s':>24s} {'end, s':>24s} {'covered':>24s}")
    for scoring, m in sorted(by.items()):
        print(f"{scoring:10s} {len(m['lost']):6d} {100 * np.mean(m['lost']):5.1f}% {spread(m['onset']):>24s} "
              f"{spread(m['end']):>24s} {spread(m['covered'], ''):>24s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
