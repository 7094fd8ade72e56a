"""The key-logic benchmark's own parts (benchmarks/bench_scale.py), on a tune written here, without the corpus: a tune
is cut as the set's are, its written notes judged as the check would judge them, and its errors planned by
pitch_set.py's own plans."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from bench_scale import lone_chromatic, melody, score

# C major, every tone in many places: 48 quarter notes
LINE = [60, 62, 64, 65, 67, 65, 64, 62, 60, 64, 67, 72, 71, 69, 67, 65] * 3


def _tune(midis: list[int]) -> dict:
    return {"group": "test", "source": "test#1", "key": [0, "major"],
            "events": [[float(k), 1.0, m, False] for k, m in enumerate(midis)]}


def test_a_tune_is_cut_as_the_sets_are() -> None:
    m = melody(_tune(LINE), seed=0)
    assert m is not None
    seconds = (m.tones[-1].beat + m.tones[-1].beats) * m.spb
    assert 6.0 <= seconds <= 12.0 + 1e-6
    assert 60.0 <= m.tempo <= 200.0
    assert m.pcs == (0, 2, 4, 5, 7, 9, 11)


def test_a_plain_tune_is_clean_and_its_planned_errors_are_scored() -> None:
    m = melody(_tune(LINE), seed=0)
    row = score([m], seed=0)[m.source]
    assert row["clean"] is False
    assert row["out_of_key"] is True and row["detune100"] is True
    assert row["wrong_note"] is False          # a slip onto another tone of the tune is no sour note


def test_a_lone_chromatic_tone_is_told_apart_and_found() -> None:
    lone = [*LINE[:5], 66, *LINE[6:]]         # one F-sharp among many F naturals
    m = melody(_tune(lone), seed=0)
    assert lone_chromatic(m) and not lone_chromatic(melody(_tune(LINE), seed=0))
    row = score([m], seed=0)[m.source]
    assert row["clean"] is True and row["flagged_pcs"] == [6]
