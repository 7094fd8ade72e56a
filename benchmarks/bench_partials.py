"""Is a melody note a twelfth over a held low note ever taken for that note's 3rd partial?

    .venv/bin/python benchmarks/bench_partials.py

The pitch check drops a melody's `out_of_key` finding where Basic Pitch hears the note as the 3rd partial of a lower
one (`multipitch.a_twelfth_over`): a note a twelfth (19 keys) under it through half its middle, none on its own key,
and no strike on its key at its start. A real note on that partial must never pass so. FluidR3 renders every pair of
8 held low instruments (piano, acoustic and fretless bass, cello, strings, harp, organ, pad) and 10 melody
instruments (flute, violin, piano, alto sax, clarinet, trumpet, harp, guitar, oboe, vibraphone), on three pairs of
pitches (F-sharp 3 / C-sharp 5, G2 / D4, C3 / G4): the low note held from 0.2 s to 1.8 s, the melody note struck at
0.6 s to 1.3 s. Printed: how often the network passes the melody note by (its key active through under a quarter of
the note), how often the rule would drop it (the number that must stay 0), and, as the rule's reach, how often the
low note alone has its twelfth taken for a partial over the same span. The exit status is 0: these are measures.
"""

from __future__ import annotations

import itertools
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import soxr
from midi import TPB, ensure_tools, note_off, note_on, program_change, render_midi, smf_bytes

from remaster.analysis import multipitch
from remaster.analysis.pitch import CREPE_RATE

RATE = 44_100
LOW = {0: "piano", 32: "acoustic bass", 35: "fretless bass", 42: "cello", 48: "strings", 46: "harp", 19: "organ",
       89: "pad"}
HIGH = {73: "flute", 40: "violin", 0: "piano", 65: "alto sax", 71: "clarinet", 56: "trumpet", 46: "harp",
        24: "guitar", 68: "oboe", 11: "vibraphone"}
PITCHES = (54, 43, 48)            # the held notes; the melody's is 19 keys over each
HELD, STRUCK = (0.2, 1.8), (0.6, 1.3)
TICKS_PER_S = 2 * TPB             # 120 BPM


def pair_midi(low_program: int, high_program: int | None, pitch: int) -> bytes:
    events = [(0, 0, program_change(0, low_program)),
              (round(HELD[0] * TICKS_PER_S), 2, note_on(0, pitch, 80)),
              (round(HELD[1] * TICKS_PER_S), 1, note_off(0, pitch))]
    if high_program is not None:
        events += [(0, 0, program_change(1, high_program)),
                   (round(STRUCK[0] * TICKS_PER_S), 2, note_on(1, pitch + 19, 100)),
                   (round(STRUCK[1] * TICKS_PER_S), 1, note_off(1, pitch + 19))]
    return smf_bytes(events, round(2.3 * TICKS_PER_S))


def posteriorgrams(exe: str, soundfont: Path, midi: bytes, workdir: Path) -> tuple[np.ndarray, np.ndarray]:
    audio = render_midi(exe, soundfont, midi, workdir, "pair", RATE).mean(axis=0)
    note, onset, _ = multipitch.posteriorgrams(soxr.resample(audio, RATE, CREPE_RATE, "HQ"), CREPE_RATE)
    return note, onset


def passed_by(note: np.ndarray, key: int) -> bool:
    """Whether the network hears the melody note's key (or a neighbour) through under PARTIAL_SHARE of its middle
    half, as `multipitch.a_twelfth_over` asks."""
    active = note > multipitch.NOTE_ON
    _s, _e, middle = multipitch._note_frames(*STRUCK, len(active))
    k = key - multipitch.KEY0
    return multipitch._share(active, (k - 1, k, k + 1), middle) < multipitch.PARTIAL_SHARE


def main() -> int:
    exe, soundfont = ensure_tools(lambda line: print(line, file=sys.stderr))
    counts: Counter[str] = Counter()
    dropped, passed = [], Counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for pitch, low in itertools.product(PITCHES, LOW):
            note, onset = posteriorgrams(exe, soundfont, pair_midi(low, None, pitch), work)
            counts["alone"] += 1
            counts["alone caught"] += multipitch.a_twelfth_over(note, onset, 100.0 * (pitch + 19), *STRUCK)
            for high in HIGH:
                note, onset = posteriorgrams(exe, soundfont, pair_midi(low, high, pitch), work)
                counts["pairs"] += 1
                if passed_by(note, pitch + 19):
                    counts["passed by"] += 1
                    passed[HIGH[high]] += 1
                if multipitch.a_twelfth_over(note, onset, 100.0 * (pitch + 19), *STRUCK):
                    dropped.append(f"{HIGH[high]} over {LOW[low]} ({pitch})")
    print(f"melody note a twelfth over a held one, {counts['pairs']} pairs of FluidR3 instruments:")
    print(f"  passed by the network (its key under {multipitch.PARTIAL_SHARE:.0%} of the note): "
          f"{counts['passed by']} ({', '.join(f'{k} {v}' for k, v in passed.most_common())})")
    print(f"  taken for a partial by the rule (must be 0): {len(dropped)} {dropped}")
    print(f"low note alone, its twelfth taken for a partial (the rule's reach): {counts['alone caught']} of "
          f"{counts['alone']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
