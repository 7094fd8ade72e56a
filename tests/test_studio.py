"""The studio's engine without a browser: a session re-runs only what changed and masters exactly as remaster()
does; controls come from the parameter definitions; a bad value gets the command line's line beside its control;
a saved preset extends its base with only the changed keys; a take is generated from Korean categories when a model
is given; `sori studio` refuses bad arguments in one line. The page itself: tests/test_browser.py."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest
import yaml

from remaster import presets, remaster
from remaster.errors import SoriError
from remaster.presets import parameter_rows
from remaster.session import Session
from sori.studio.app import _names
from sori.studio.controls import controls_for, dump, overrides
from sori.studio.studio import Studio
from tests.clirun import one_error
from tests.signals import pluck_melody

from .conftest import write_wav


@pytest.fixture(scope="module")
def melody() -> np.ndarray:
    return pluck_melody(32_000, np.random.default_rng(5), bars=2).audio


def _same(a, b) -> None:
    assert np.array_equal(a.mastered.audio if hasattr(a, "mastered") else a.audio, b.audio)
    strip = lambda r: {k: v for k, v in r.items() if k != "seconds"}          # noqa: E731
    got = a.mastered.report if hasattr(a, "mastered") else a.report
    assert [strip(s) for s in got["stages"]] == [strip(s) for s in b.report["stages"]]
    assert got["after"] == b.report["after"] and got.get("verdict") == b.report.get("verdict")


def test_a_session_reruns_from_the_first_changed_stage_and_masters_as_remaster_does(melody) -> None:
    s = Session(melody, 32_000)
    base = presets.load("streaming")
    first = s.render(base)
    assert first.ran == [p.label for p in base.processors()] and not first.pending
    _same(first, remaster(melody, 32_000, preset=base))

    louder = presets.load("streaming", {"loudness": {"target_lufs": -12}})
    r = s.render(louder, defer_checks=True)
    assert r.ran == ["loudness"] and not r.pending and "verdict" in r.mastered.report
    _same(r, remaster(melody, 32_000, preset=louder))

    brighter = presets.load("streaming", {"eq": {"bands": [{"type": "high_shelf", "freq_hz": 8000, "gain_db": 3}]}})
    assert s.render(brighter, defer_checks=True).ran == ["eq", "channels", "fade", "loudness"]

    squeezed = presets.load("streaming", {"compressor": {"ratio": 4}})
    r = s.render(squeezed, defer_checks=True)             # above the pitch check: the audio first, the check after
    assert r.ran == ["compressor", "superres", "eq", "channels", "fade", "loudness"]
    assert r.pending == ["dissonance"] and s.pending == ["dissonance"] and "verdict" not in r.mastered.report
    done = s.complete(squeezed)
    assert not done.pending and not s.pending and done.ran == []
    _same(done, remaster(melody, 32_000, preset=squeezed))

    stricter = presets.load("streaming", {"compressor": {"ratio": 4}, "dissonance": {"tolerance_cents": 10}})
    r = s.render(stricter, defer_checks=True)             # the check's own settings: nothing after it runs again
    assert r.ran == [] and r.pending == ["dissonance"]
    assert np.array_equal(r.mastered.audio, done.mastered.audio)
    _same(s.complete(stricter), remaster(melody, 32_000, preset=stricter))


def test_controls_are_made_from_the_processors_parameter_definitions() -> None:
    base = presets.load("gugak-solo")
    groups = controls_for(base)
    assert list(groups) == [*(s.label for s in base.stages), "output"]
    for stage in base.stages:
        controls = {c.name: c for c in groups[stage.label]}
        assert controls.pop("enabled").value is True
        rows = parameter_rows(stage.kind)
        assert [r["name"] for r in rows] == list(controls)
        values = stage.params.model_dump(mode="json")
        for row in rows:
            c = controls[row["name"]]
            assert row["description"] in c.info
            if row["max"] is not None and row["min"] is not None:
                assert f"{row['min']:g}..{row['max']:g}" in c.info
            node = values
            for part in row["name"].split("."):
                node = node[part]
            assert c.value == node                                   # the preset's own value, defaults included
            assert c.kind == ("choice" if row["choices"] else "switch" if row["type"] == "bool" else c.kind)
    flat = [c for g in groups.values() for c in g]
    raw = [c.widget_value() for c in flat]
    assert overrides(flat, raw) == {}
    for key, text in (("chain.loudness.target_lufs", "-15.5"), ("chain.dissonance.notes.smooth_s", "0.3"),
                      ("chain.denoise.enabled", False), ("output.bit_depth", 16)):
        raw[[c.key for c in flat].index(key)] = text
    assert overrides(flat, raw) == {"loudness": {"target_lufs": -15.5}, "dissonance": {"notes": {"smooth_s": 0.3}},
                                    "denoise": {"enabled": False}, "output": {"bit_depth": 16}}
    bands = next(c for c in groups["eq"] if c.name == "bands")
    assert yaml.safe_load(dump(bands.value)) == bands.value         # lists round-trip as YAML text


@pytest.mark.parametrize(("key", "text"), [("loudness.target_lufs", "3"), ("superres.cutoff_hz", "abc"),
                                           ("eq.bands", "[{type: shelf, freq_hz: 100}]"),
                                           ("compressor.ratio", "0.5")])
def test_a_bad_value_gets_the_command_lines_line_beside_its_control(key: str, text: str, melody, tmp_path: Path,
                                                                      sori) -> None:
    take = write_wav(tmp_path / "take.wav", melody, 32_000)
    studio = Studio([take], "streaming", tmp_path / "out")
    controls = studio.controls(studio.base("streaming"))
    values = [text if c.key == f"chain.{key}" else c.widget_value() for c in controls]
    out = studio.render(str(take), "streaming", values)
    cli = one_error(sori("presets", "show", "streaming", "--set", f"{key}={text}"))
    target = next(c for c in controls if c.key == f"chain.{key}")
    assert out.errors == {target.id: cli} and not out.view
    studio.close()


def test_saving_writes_only_the_changed_keys_over_the_base_and_validates(tmp_path: Path, melody, sori) -> None:
    mine = tmp_path / "presets" / "album.yaml"
    mine.parent.mkdir()
    mine.write_text("extends: gugak-solo\ndescription: my album\nchain:\n  loudness: {target_lufs: -15}\n",
                    encoding="utf-8")
    studio = Studio([write_wav(tmp_path / "take.wav", melody, 32_000)], str(mine), tmp_path / "out")
    controls = studio.controls(studio.base(str(mine)))
    values = [c.widget_value() for c in controls]
    changes = {"chain.denoise.enabled": False, "chain.fade.out_ms": "900", "chain.loudness.target_lufs": "-15.0"}
    for key, v in changes.items():                     # the last one is the base's own value: not a change
        values[[c.key for c in controls].index(key)] = v
    message, written = studio.save(str(tmp_path / "saved" / "tuned.yaml"), str(mine), values, "for the album")
    assert written and message.startswith(f"saved {written} (2 changes from album)")
    doc = yaml.safe_load(Path(written).read_text(encoding="utf-8"))
    assert doc == {"extends": "../presets/album.yaml", "description": "for the album",
                   "chain": {"denoise": {"enabled": False}, "fade": {"out_ms": 900}}}
    check = sori("presets", "validate", written)
    assert check.returncode == 0, check.stderr
    assert presets.load(written).sha256 == presets.load(mine, {"denoise": {"enabled": False},
                                                               "fade": {"out_ms": 900}}).sha256
    values[[c.key for c in controls].index("chain.fade.out_ms")] = "-5"
    bad, nothing = studio.save(str(tmp_path / "saved" / "bad.yaml"), str(mine), values)
    assert nothing is None and bad.startswith("sori: error: ") and "fade.out_ms" in bad
    assert not (tmp_path / "saved" / "bad.yaml").exists()
    studio.close()


def test_the_studio_generates_a_take_from_korean_categories_when_a_model_is_given(tmp_path: Path,
                                                                                   tiny_dir: Path) -> None:
    studio = Studio([], "streaming", tmp_path / "out")
    with pytest.raises(SoriError, match="start the studio with --model"):
        studio.generate("", {"instruments": ["가야금"]}, 1.0, 1)
    studio = Studio([], "streaming", tmp_path / "out", model=str(tiny_dir), device="cpu")
    picked = _names({"instruments": ["가야금 (gayageum)"], "moods": ["슬픈 (sad)"], "tempos": None})
    assert picked == {"instruments": ["가야금"], "moods": ["슬픈"]}
    path = studio.generate("", picked, 1.0, 7)
    sidecar = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert "gayageum" in sidecar["prompt"] and sidecar["seed"] == 7
    assert str(path) in [v for _, v in studio.take_choices()]
    assert path.parent == tmp_path / "out" / "takes"
    studio.close()


def test_sori_studio_refuses_bad_arguments_in_one_line(tmp_path: Path, sori) -> None:
    assert "no such file or folder" in one_error(sori("studio", tmp_path / "nowhere", "--no-browser"))
    (tmp_path / "empty").mkdir()
    assert "no audio files" in one_error(sori("studio", tmp_path / "empty", "--no-browser"))
    assert "unknown preset 'streamin'" in one_error(sori("studio", "--preset", "streamin", "--no-browser"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = one_error(sori("studio", "--port", str(port), "--no-browser"))
    assert f"--port {port}: cannot listen" in line and "--port 0" in line
