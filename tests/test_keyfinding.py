"""The key model: probabilities over the 24 keys, and what the check makes of them."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from remaster.analysis.dissonance import CheckParams, _scale, _sure_of_key, heard_notes, judge_notes
from remaster.analysis.keyfinding import KEYS, WEIGHTS, features, likely_tones, probabilities, probability_in_key
from remaster.analysis.notes import Note
from remaster.analysis.tuning import estimate_reference, kept_pitch_classes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import fit_key_model

BEAT = 0.98
# An Essen folk song's first phrase (ballad60 #98: G major, no F-sharp in it), in quarter notes of BEAT seconds.
BALLAD = [(67, 1.0), (71, 1.0), (74, 1.5), (72, 0.5), (71, 1.0), (69, 1.0), (67, 1.5), (62, 0.5), (67, 1.0),
          (71, 1.0), (74, 1.5), (72, 0.5)]


def written(tune: list[tuple[int, float]], change: dict[int, int] | None = None) -> list[Note]:
    out, t = [], 0.0
    for i, (midi, beats) in enumerate(tune):
        length = 0.95 * beats * BEAT
        out.append(Note(t, t + length, 100.0 * (change or {}).get(i, midi), length, 0.0, 0.0, 0.0, level_db=-20.0,
                        onset_db=12.0))
        t += beats * BEAT
    return out


def best(probs: np.ndarray) -> tuple[str, int]:
    return KEYS[int(np.argmax(probs))]


melodies = st.lists(st.tuples(st.integers(0, 11), st.floats(0.05, 2.0)), min_size=2, max_size=40)


@settings(max_examples=60, deadline=None)
@given(melodies, st.integers(1, 11))
def test_probabilities_are_a_distribution_that_moves_with_a_transposition(melody, shift) -> None:
    pcs, durs = [p for p, _ in melody], [d for _, d in melody]
    probs = probabilities(pcs, durs)
    assert probs.shape == (24,) and np.all(probs >= 0) and abs(probs.sum() - 1) < 1e-9
    moved = probabilities([(p + shift) % 12 for p in pcs], durs)
    for mode in range(2):
        np.testing.assert_allclose(moved[12 * mode:12 * mode + 12], np.roll(probs[12 * mode:12 * mode + 12], shift),
                                   atol=1e-9)
    inside = probability_in_key(probs)
    assert np.all(inside <= 1 + 1e-9) and np.all(inside >= -1e-9)


def test_a_major_and_a_minor_tune_read_as_their_keys() -> None:
    # C major up and down, ending on the tonic; A minor with its raised 7th leading home
    major = [60, 62, 64, 65, 67, 65, 64, 62, 60, 67, 64, 60]
    minor = [69, 71, 72, 74, 76, 74, 72, 71, 69, 68, 69, 76, 68, 69]
    assert best(probabilities([m % 12 for m in major], [0.4] * len(major))) == ("major", 0)
    assert best(probabilities([m % 12 for m in minor], [0.4] * len(minor))) == ("minor", 9)


def test_a_tone_is_out_of_key_only_where_the_key_is_sure() -> None:
    notes = written(BALLAD)
    tones = likely_tones(notes, 0.0, 0.97)
    assert {7, 11, 2, 0, 9} <= tones          # the tune's own
    assert 1 not in tones and 8 not in tones  # C-sharp and A-flat: in no key near G major
    assert likely_tones([], 0.0, 0.97) == frozenset(range(12))


def test_a_sour_f_natural_in_a_g_major_tune_without_f_sharp_is_found() -> None:
    """The tune never sounds F or F-sharp, so it fits C major as well as G major by its share of notes, and the
    check's second reading let an F natural pass; the key model is sure of G major."""
    clean = judge_notes(written(BALLAD), CheckParams())[1]
    assert all(f is None for f in clean)
    sour = judge_notes(written(BALLAD, {8: 65}), CheckParams())[1]
    assert [i for i, f in enumerate(sour) if f is not None] == [8]
    assert sour[8].kind == "out_of_key"
    # a declared scale is not second-guessed
    assert judge_notes(written(BALLAD, {8: 65}), CheckParams(scale={"tonic": "C", "mode": "major"}))[1][8] is None


def test_the_fit_finds_the_gradient_and_recovers_a_planted_key_model() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 24, 4))
    planted = np.array([2.0, -1.0, 0.5, 0.0])
    score = x @ planted
    prob = np.exp(score - score.max(1, keepdims=True))
    prob /= prob.sum(1, keepdims=True)
    y = np.array([rng.choice(24, p=p) for p in prob])
    w = rng.normal(size=4)
    _, grad = fit_key_model.loss(w, x, y, 1e-3)
    numeric = [(fit_key_model.loss(w + e, x, y, 1e-3)[0] - fit_key_model.loss(w - e, x, y, 1e-3)[0]) / 2e-6
               for e in np.eye(4) * 1e-6]
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-7)
    fitted = fit_key_model.fit(x, y, l2=0.0)
    assert np.sign(fitted[:3]).tolist() == [1.0, -1.0, 1.0] and abs(fitted[0] - 2.0) < 0.5


def test_the_shipped_weights_fit_the_features() -> None:
    assert features([0, 4, 7], [1.0, 1.0, 1.0]).shape == (24, len(WEIGHTS))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(55, 84), st.floats(0.1, 1.5)), min_size=3, max_size=30),
       st.sampled_from(["auto", "western"]))
def test_the_key_model_only_takes_tones_away_and_never_a_tone_the_tune_keeps(melody, style) -> None:
    notes, t = [], 0.0
    for midi, seconds in melody:
        notes.append(Note(t, t + seconds, 100.0 * midi, seconds, 0.0, 0.0, 0.0, level_db=-20.0, onset_db=12.0))
        t += seconds + 0.05
    params = CheckParams(style=style)
    reference = estimate_reference(notes)
    heard = heard_notes(notes, params.quiet_db)
    kept = kept_pitch_classes(heard, reference)
    read = _scale(params, heard, notes, reference, kept)
    sure = _sure_of_key(params, read, heard, reference, kept)
    assert sure.pitch_classes <= read.pitch_classes
    assert kept & read.pitch_classes <= sure.pitch_classes
    assert sure.pitch_classes
