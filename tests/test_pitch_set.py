"""The pitch-check benchmark's renderer: the pitch-wheel events that make a note sour must make all of it sour,
its release included, and must not reach the note after it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from midi import BEND_CENTRE, bend_cents
from pitch_set import BEND_RANGE, Melody, NoErrorPossible, Plan, Tone, admits, build, corpus_candidates, plan_variant


def _channel_events(smf: bytes) -> list[tuple[int, int, tuple[int, ...]]]:
    """(tick, status, data) of the channel messages of a format-0 file as `smf_bytes` writes it (no running
    status)."""
    track = smf[smf.index(b"MTrk") + 8:]
    out, at, tick = [], 0, 0
    while at < len(track):
        delta = 0
        while True:
            byte = track[at]
            at += 1
            delta = (delta << 7) | (byte & 0x7F)
            if byte < 0x80:
                break
        tick += delta
        status = track[at]
        if status == 0xFF:                               # meta: type, length, data
            at += 3 + track[at + 2]
            continue
        size = 2 if status >> 4 != 0xC else 1
        out.append((tick, status, tuple(track[at + 1:at + 1 + size])))
        at += 1 + size
    return out


def _bend_at(events: list[tuple[int, int, tuple[int, ...]]], tick: int) -> float:
    bends = [(t, d) for t, s, d in events if s >> 4 == 0xE and t <= tick]
    lsb, msb = bends[-1][1]
    return bend_cents((msb << 7 | lsb) - BEND_CENTRE, BEND_RANGE)


def test_a_sour_note_rings_sour_through_its_release_and_the_next_note_starts_in_tune() -> None:
    tones = tuple(Tone(beat=float(b), beats=1.0, midi=m) for b, m in enumerate((60, 62, 64, 65)))
    melody = Melody("t", "test", "t", "western", "essen", 120.0, (0,), tones, articulation="staccato")
    plan = Plan(midi=[60, 62, 64, 65], cents=[-40.0, 10.0, -40.0, -40.0], offset=-40.0,
                ornaments=[None] * 4, graces=[None, None, 67, None], errors=[])
    midi, truth, _ = build(melody, plan, accompanied=False, seed=0)
    events = _channel_events(midi)
    ons = {d[0]: t for t, s, d in events if s >> 4 == 0x9}
    offs = {d[0]: t for t, s, d in events if s >> 4 == 0x8}
    sec = 0.5 / 480
    assert abs(truth["notes"][1]["sounding_s"] - 0.25) < 0.01              # staccato: half the beat sounds
    assert abs(_bend_at(events, ons[62]) - 10) < 1                           # the sour note (50 cents sharp)
    assert abs(_bend_at(events, offs[62] + round(0.1 / sec)) - 10) < 1      # and its release, 0.1 s after
    assert abs(_bend_at(events, ons[67]) + 40) < 1                           # the grace note after it: in tune
    assert abs(_bend_at(events, ons[64]) + 40) < 1


def test_a_mix_that_admits_no_wrong_tone_is_left_out_with_a_reason() -> None:
    # every tone of the chromatic scale used by some voice: no tone is left for an out_of_key error
    tones = tuple(Tone(float(b), 1.0, 60 + (b + v) % 12, False, v) for b in range(12) for v in range(3))
    mix = Melody("chromatic", "t", "", "western", "poly", 60.0, (0, 0, 0), tones, voices=3, pcs=tuple(range(12)))
    with pytest.raises(NoErrorPossible, match="no note of chromatic admits an error of kind out_of_key"):
        plan_variant(mix, "out_of_key", 0)
    assert not admits(mix, "out_of_key", 0) and admits(mix, "clean", 0) and admits(mix, "detune50", 0)


def test_the_held_out_tunes_and_the_fresh_ones_are_works_no_other_pool_takes() -> None:
    pytest.importorskip("music21")
    pools = [corpus_candidates(), corpus_candidates(held_out="tunes"), corpus_candidates(held_out="fresh")]
    assert corpus_candidates(held_out=True) == pools[1]
    for group in pools[0]:
        works = [set(pool[group]) for pool in pools]
        assert all(works), group
        assert not works[0] & works[1] and not works[0] & works[2] and not works[1] & works[2], group


def test_a_folder_keeps_its_held_out_melodies_whoever_asks(tmp_path) -> None:
    from pitch_set import POLY_COUNT, VERSION, melodies

    tone = {"beat": 0.0, "beats": 1.0, "midi": 60, "grace": False, "voice": 0}
    mix = {"name": "poly-bwv999", "source": "music21:bach/bwv999", "title": "t", "style": "western", "group": "poly",
           "tempo": 80.0, "programs": [48], "tones": [tone], "bar_beats": 4.0, "articulation": "legato",
           "tonic_pc": 0, "mode": "major", "pcs": [0], "voices": 4, "scoring": "strings"}
    for stored in (True, "chorales"):      # a cache written before "tunes" existed says True
        (tmp_path / "melodies.json").write_text(json.dumps(
            {"seed": 0, "version": VERSION, "poly_count": POLY_COUNT, "held_out": stored, "melodies": [mix]}))
        for asked in (None, True, "chorales"):
            assert [m.name for m in melodies(tmp_path, 0, held_out=asked)] == ["poly-bwv999"], (stored, asked)
