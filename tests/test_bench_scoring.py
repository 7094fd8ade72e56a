"""How the pitch-check benchmark scores findings: a note the soundfont itself renders sour excuses a finding on that
note, and in a chorale mix on that note only, not on another voice sounding with it."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from types import SimpleNamespace

import pytest
from bench_dissonance import (
    IN_A_MODE,
    Result,
    by_the_issues_paths,
    match,
    poly_weak,
    spread,
    why_missed,
    with_sour_renderings,
)

from remaster.analysis.notes import Note


def _finding(start: float, end: float, midi: float) -> dict:
    return {"start": start, "end": end, "kind": "detuned", "found_hz": 440.0 * 2 ** ((midi - 69) / 12)}


SOUR_D4 = {"start": 1.0, "end": 2.0, "kind": "rendering", "cents": -45.0, "midi": 62 - 0.45}


def test_in_a_mix_a_sour_rendering_excuses_only_a_finding_at_its_pitch() -> None:
    on_it, on_the_alto = _finding(1.1, 1.9, 61.55), _finding(1.1, 1.9, 66.0)
    assert match([SOUR_D4], [on_it], voices=4) == [(0, 0)]
    assert match([SOUR_D4], [on_the_alto], voices=4) == []
    # its octave is another note (an overtone read as a voice), not this one
    assert match([SOUR_D4], [_finding(1.1, 1.9, 73.55)], voices=4) == []


def test_a_solo_line_is_matched_on_time_alone() -> None:
    assert match([SOUR_D4], [_finding(1.1, 1.9, 66.0)], voices=1) == [(0, 0)]
    assert match([SOUR_D4], [_finding(2.1, 2.5, 61.55)], voices=1) == []


def test_a_wrong_note_in_a_mix_is_matched_only_by_a_finding_on_its_pitch_class() -> None:
    # an E-flat4 sung for C4 in the alto, under a soprano G4 and a bass C3
    error = {"start": 1.0, "end": 2.0, "kind": "out_of_key", "cents": 300.0, "expected_midi": 60, "found_midi": 63.0}
    assert match([error], [_finding(1.2, 1.6, 63.1)], voices=4) == [(0, 0)]
    assert match([error], [_finding(1.2, 1.6, 75.0)], voices=4) == [(0, 0)]     # its octave: the same tone
    assert match([error], [_finding(1.2, 1.6, 67.0)], voices=4) == []           # the soprano, at the same time
    assert match([error], [{"start": 1.2, "end": 1.6, "kind": "rough"}], voices=4) == [(0, 0)]
    # a mix tuned 40 cents flat sounds the E-flat at 62.6
    assert match([error], [_finding(1.2, 1.6, 62.6)], voices=4, offset_cents=-40.0) == [(0, 0)]
    assert match([error], [_finding(1.2, 1.6, 62.0)], voices=4, offset_cents=-40.0) == [(0, 0)]
    assert match([error], [_finding(1.2, 1.6, 61.5)], voices=4, offset_cents=-40.0) == []


def _note(start: float, end: float, midi: float) -> Note:
    return Note(start, end, 100.0 * midi, end - start, 0.0, 0.0, 0.0)


def test_why_a_note_in_a_mix_was_missed_is_read_from_the_note_at_its_pitch() -> None:
    # an E-flat4 sung for D4 in the tenor, under a soprano C5 held longer through it
    wrong = {"start": 1.0, "end": 1.4, "sounding_s": 0.4, "kind": "out_of_key", "cents": 100.0, "expected_midi": 62}
    c_major = SimpleNamespace(pitch_classes=frozenset({0, 2, 4, 5, 7, 9, 11}))
    soprano, tenor = _note(0.5, 2.0, 72), _note(1.0, 1.4, 63)

    def why(notes: list[Note], voices: str = "poly") -> str:
        return why_missed(SimpleNamespace(notes=notes, reference_cents=0.0, scale=c_major, voices=voices), {}, wrong)

    assert why([soprano, tenor]) == \
        "passed by the chord rules (a tone the mix keeps, a triad or seventh chord, an overtone)"
    assert why([soprano]) == "another voice"
    # read an octave up, the wrong note keeps its tone; read an octave up and a semitone low, its tone is in key
    assert why([soprano, _note(1.0, 1.4, 75)], voices="mono") == "judged within tolerance"
    assert why([soprano, _note(1.0, 1.4, 74)], voices="mono") == "in key as the key was read"
    assert why([_note(1.0, 1.4, 50)], voices="mono") == "in key as the key was read"     # so, an octave down
    assert why([]) == "no note"
    assert why([soprano, _note(1.0, 1.4, 62)]) == "in key as the key was read"      # heard a semitone low
    assert why([soprano, tenor], voices="mono") == "judged within tolerance"


def test_a_slip_that_a_mode_holds_with_the_tunes_other_tones_is_told_apart() -> None:
    # a tune on C D E G A B (no F, no F-sharp), its second note, E4, played as F4: the F completes C major
    written = [60, 64, 62, 67, 69, 71, 60]
    truth = {"notes": [{"midi": m} for m in written]}
    slip = {"start": 1.0, "end": 1.4, "sounding_s": 0.4, "kind": "detuned", "cents": 100.0, "expected_midi": 64,
            "found_midi": 65.0, "index": 1}
    c_major = SimpleNamespace(pitch_classes=frozenset({0, 2, 4, 5, 7, 9, 11}))
    heard = SimpleNamespace(notes=[_note(1.0, 1.4, 65)], reference_cents=0.0, scale=c_major, voices="mono")
    assert why_missed(heard, truth, slip) == IN_A_MODE
    # the same slip where the tune also sounds F-sharp: no mode holds F and F-sharp, so the F can be heard as wrong
    sharp = {"notes": [*truth["notes"], {"midi": 66}]}
    assert why_missed(heard, sharp, slip) == "in key as the key was read"
    # the slipped note's own written tone does not count: E sounds only there, and the rest, C D E-flat G A B-flat,
    # is B-flat major with the F (E and E-flat together are in no mode)
    assert why_missed(heard, {"notes": [{"midi": m} for m in (60, 64, 62, 63, 67, 69, 70)]}, slip) == IN_A_MODE


def _result(melody: str, style: str, checked_as: str) -> Result:
    return Result(Path(f"{melody}_clean.wav"), {"style": style, "variant": "clean", "errors": []}, [], 1.0, checked_as)


def test_the_issues_paths_take_auto_for_western_tunes_and_gugak_for_gugak_tunes() -> None:
    auto = [_result("erk5-9", "western", "auto"), _result("arirang", "gugak", "auto")]
    gugak = [_result("arirang", "gugak", "gugak"), _result("erk5-9", "western", "gugak")]
    chosen = by_the_issues_paths(auto, gugak)
    assert sorted((r.path.name, r.style) for r in chosen) == [("arirang_clean.wav", "gugak"),
                                                             ("erk5-9_clean.wav", "auto")]


def _take(melody: str, found: bool, false_findings: int = 0) -> Result:
    """A take of `melody` with one 50-cent error on a 0.3 s note, found or not, and `false_findings` more."""
    error = {"start": 1.0, "end": 1.3, "sounding_s": 0.3, "kind": "detune50", "cents": 50.0}
    findings = [_finding(1.0, 1.3, 69.5)] if found else []
    findings += [_finding(3.0 + k, 3.2 + k, 70.0) for k in range(false_findings)]
    truth = {"melody": melody, "variant": "detune50", "errors": [error]}
    return Result(Path(f"{melody}_detune50.wav"), truth, findings, 1.0, "auto", matches=[(0, 0)] if found else [])


def test_the_spread_over_melodies_is_nil_where_every_melody_scores_alike() -> None:
    takes = [_take(f"m{k}", found) for k in range(6) for found in (True, False)]
    s = spread(takes)
    assert s.melodies == 6
    assert s.recall50 == (0.5, 0.5)
    assert s.precision == (1.0, 1.0)
    assert (s.with_false, s.most_false) == (0, [])


def test_the_spread_over_melodies_widens_where_melodies_differ_and_names_who_carries_the_false_findings() -> None:
    # half the melodies find their errors, half do not; one melody carries most false findings
    takes = [_take(f"good{k}", True) for k in range(5) for _ in range(4)]
    takes += [_take(f"bad{k}", False) for k in range(5) for _ in range(4)]
    takes += [_take("accidental", True, false_findings=2) for _ in range(4)] + [_take("slip", True, 1)]
    s = spread(takes)
    f = 25 / 45
    assert s.recall50[0] < f - 0.15 and s.recall50[1] > f + 0.15      # 11 melodies: far from one file's worth
    assert s.precision[0] < 25 / 34 < s.precision[1]
    assert s.with_false == 2 and s.most_false == [("accidental", 8), ("slip", 1)]
    assert abs(spread(takes, seed=1).recall50[0] - s.recall50[0]) < 0.05     # steady from seed to seed


def test_a_slip_injected_on_a_note_the_soundfont_renders_sour_is_scored_apart_at_what_sounds(tmp_path) -> None:
    # the clean rendering sounds notes 2 and 4 38 cents flat (measured once, cached beside the clean file)
    (tmp_path / "jig_clean.wav").write_bytes(b"")
    (tmp_path / "jig_clean.rendered.json").write_text("[0.0, 1.0, -38.0, 0.0, -38.0, 2.0]")
    notes = [{"start": k * 0.5, "end": k * 0.5 + 0.4, "sounding_s": 0.4, "midi": 69 + k} for k in range(6)]

    def slip(index: int, kind: str, cents: float) -> dict:
        n = notes[index]
        return {"start": n["start"], "end": n["end"], "sounding_s": 0.4, "index": index, "kind": kind,
                "cents": cents, "expected_midi": n["midi"], "found_midi": n["midi"] + cents / 100}

    truth = {"melody": "jig", "notes": notes, "tuning_offset_cents": 0.0,
             "errors": [slip(2, "detuned", -50.0), slip(3, "detuned", -50.0), slip(4, "out_of_key", 200.0)]}
    errors = with_sour_renderings(tmp_path / "jig_detune50.wav", truth)["errors"]
    assert [(e["index"], e["kind"]) for e in errors] == [(2, "rendering"), (3, "detuned"), (4, "out_of_key")]
    assert errors[0]["cents"] == -88.0 and abs(errors[0]["midi"] - (71 - 0.88)) < 1e-9
    # a sour note with no slip on it is added apart, as before
    clean = with_sour_renderings(tmp_path / "jig_clean.wav", {**truth, "errors": []})["errors"]
    assert [(e["index"], e["kind"], e["cents"]) for e in clean] == [(2, "rendering", -38.0), (4, "rendering", -38.0)]


def _mix(scoring: str, variant: str, found: bool = False, why: str = "", flagged: bool = False) -> Result:
    """A chorale mix of one scoring: an out-of-key note found or missed (and why), or a clean mix flagged or not."""
    errors = [{"start": 1.0, "end": 1.5, "sounding_s": 0.5, "kind": "out_of_key", "cents": 100.0}] \
        if variant == "out_of_key" else []
    findings = [_finding(1.0, 1.5, 61.0)] if found or flagged else []
    r = Result(Path(f"poly-{scoring}_{variant}.wav"), {"scoring": scoring, "variant": variant, "errors": errors},
               findings, 1.0, "auto", "poly", matches=[(0, 0)] if found else [])
    r.why = {0: why} if variant == "out_of_key" and not found else {}
    return r


def test_the_poly_table_says_which_scoring_the_transcription_loses_wrong_notes_in() -> None:
    mixes = [_mix("choir", "out_of_key", why="another voice"), _mix("choir", "out_of_key", why="in key as read"),
             _mix("choir", "out_of_key", found=True), _mix("choir", "clean", flagged=True),
             _mix("organ", "out_of_key", found=True), _mix("organ", "clean"), _mix("organ", "clean", flagged=True)]
    assert poly_weak(mixes) == {"choir": (1, 3, 1, 1, 1), "organ": (1, 1, 0, 1, 2)}


def test_the_transcription_measure_reads_each_written_note_against_the_note_on_its_key_that_overlaps_it_most() -> None:
    from bench_transcription import measure

    written = [{"start": 1.0, "sounding_s": 1.0, "midi": 60}, {"start": 1.0, "sounding_s": 1.0, "midi": 64},
               {"start": 2.0, "sounding_s": 0.5, "midi": 67}]
    # the C4 read late and in two pieces, the E4 a semitone off (on another key), the G4 only by the spectrum pass
    notes = [_note(1.3, 1.6, 60), _note(1.65, 2.2, 60), _note(1.0, 2.0, 65)]
    m = measure(notes, [_note(2.0, 2.5, 67)], written)
    assert m["lost"] == [0.0, 1.0, 0.0]
    assert m["onset"] == [pytest.approx(0.65)] and m["end"] == [pytest.approx(0.2)]
    assert m["covered"] == [pytest.approx(0.65)]
