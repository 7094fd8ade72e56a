"""The key-logic benchmark's own parts (benchmarks/bench_scale.py), on a tune written here, without the corpus: a tune
is cut as the set's are, its written notes judged as the check would judge them, and its errors planned by
pitch_set.py's own plans."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from bench_scale import lone_chromatic, melody, score
from pitch_set import Melody, Tone

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


# A four-part chorale in C major, written here: I-IV-V-I in quarter notes, eight times over (32 beats, more than the
# 12 s the set cuts at 60-96 BPM). Soprano, alto, tenor, bass.
CHORALE = ([64, 65, 62, 60], [60, 60, 59, 60], [55, 57, 55, 55], [48, 53, 43, 48])


def _chorale_score():
    from music21 import note, stream

    score = stream.Score()
    for line in CHORALE:
        part = stream.Part()
        for midi in line * 8:
            part.append(note.Note(midi, quarterLength=1.0))
        score.insert(0, part)
    return score


def test_a_chorale_is_cut_as_the_sets_mixes_are() -> None:
    from pitch_set import chorale_mix

    four = chorale_mix(_chorale_score(), 0, "bach/test")
    assert not isinstance(four, str)
    assert four.voices == 4 and four.tempo == 60.0 and four.scoring == "strings"
    assert 8.0 <= max(t.beat + t.beats for t in four.tones) * four.spb <= 12.0 + 1e-6
    three = chorale_mix(_chorale_score(), 2, "bach/test")       # every third mix leaves the alto out
    assert not isinstance(three, str) and three.voices == 3
    assert {t.voice for t in three.tones} == {0, 2, 3}
    from music21 import stream
    assert chorale_mix(stream.Score([stream.Part()]), 0, "bach/one") == "not four parts"


def test_a_plain_chorale_is_clean_and_its_wrong_note_is_found() -> None:
    from bench_scale import score_chorales
    from pitch_set import chorale_mix

    mix = chorale_mix(_chorale_score(), 0, "bach/test")
    row = score_chorales([mix], seed=0)[mix.source]
    assert row["clean"] is False and row["flagged_pcs"] == []
    assert row["out_of_key"] is True and row["detune50"] is True
    assert "why" not in row


def test_why_a_wrong_note_passed_names_the_chord_rule() -> None:
    from bench_scale import why_passed, written_notes

    # three voices on C major (E, C over G over C), the middle one moved once from G to E-flat under a C: a C minor
    # triad, no semitone against anything, so the triad rule lets it pass
    m = Melody("t", "t", "", "western", "poly", 60.0, (0, 0, 0),
               tuple(Tone(float(b), 1.0, midi, False, v) for b in range(12)
                     for v, midi in enumerate((72 if b % 2 else 76, 67 if b != 5 else 63, 48))),
               voices=3, pcs=(0, 4, 7))
    midi = [t.midi for t in m.tones]
    wrong = next(i for i, t in enumerate(m.tones) if t.midi == 63)
    assert why_passed(written_notes(m, midi, [0.0] * len(midi)), wrong) == "no clash, makes a triad"
