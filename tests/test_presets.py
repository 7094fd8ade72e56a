"""Preset files: schema, inheritance, overrides, hashing, and shipping inside the wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from remaster import presets
from remaster.errors import PresetError

BUILTIN = ["background", "gugak-solo", "lofi", "streaming"]


def write(path: Path, data: dict | str) -> Path:
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_builtins_validate_and_meet_their_briefs() -> None:
    assert sorted(presets.available()) == BUILTIN
    p = {name: presets.load(name) for name in BUILTIN}
    for preset in p.values():
        assert preset.chain()                          # every stage builds
    s = p["streaming"].resolved()["chain"]
    assert s["loudness"]["target_lufs"] == -14 and s["loudness"]["true_peak_db"] == -1.0
    assert s["superres"]["sample_rate"] == 48_000 and s["superres"]["backend"] == "bwe"
    assert p["streaming"].output.bit_depth == 24
    assert p["background"].resolved()["chain"]["loudness"]["target_lufs"] == pytest.approx(-18, abs=1)
    g = p["gugak-solo"].resolved()["chain"]
    assert g["compressor"]["ratio"] < s["compressor"]["ratio"]          # gentler dynamics
    assert g["denoise"]["strength"] < s["denoise"]["strength"]          # lighter touch
    assert p["lofi"].resolved()["chain"]["denoise"]["enabled"] is False


def test_extends_merges_key_by_key(tmp_path: Path) -> None:
    child = write(tmp_path / "mine.yaml", {
        "extends": "streaming",
        "description": "quieter",
        "chain": {"loudness": {"target_lufs": -16}, "trim": None, "denoise": {"enabled": False},
                  "air": {"type": "eq", "bands": [{"type": "high_shelf", "freq_hz": 12000, "gain_db": 1}]}},
    })
    p = presets.load(child)
    chain = p.resolved()["chain"]
    assert chain["loudness"] == {"target_lufs": -16, "true_peak_db": -1.0}     # inherited key kept
    assert "trim" not in chain                                                # null removes
    assert chain["denoise"]["enabled"] is False and "denoise" not in [x.label for x in p.processors()]
    assert list(chain)[-2:] == ["air", "loudness"] and chain["air"]["type"] == "eq"   # new stages: before loudness
    assert p.output.bit_depth == 24


def test_extends_a_file_relative_to_the_child_and_reorders(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    write(tmp_path / "base" / "parent.yaml", {"chain": {"cleanup": {}, "loudness": {"target_lufs": -20}}})
    child = write(tmp_path / "base" / "child.yaml", {"extends": "parent.yaml", "chain": {"fade": {"in_ms": 10}},
                                                     "order": ["cleanup", "fade", "loudness"]})
    p = presets.load(child)
    assert [s.label for s in p.stages] == ["cleanup", "fade", "loudness"]


def test_overrides_from_python_and_from_set() -> None:
    p = presets.load("streaming", {"loudness": {"target_lufs": -16}, "output": {"bit_depth": 16}})
    assert p.resolved()["chain"]["loudness"]["target_lufs"] == -16 and p.output.bit_depth == 16
    assert presets.parse_override("loudness.target_lufs=-16") == {"loudness": {"target_lufs": -16}}
    assert presets.parse_override("denoise.enabled=false") == {"denoise": {"enabled": False}}
    with pytest.raises(PresetError, match=r"KEY\.PATH=VALUE"):
        presets.parse_override("loudness")


def test_hash_follows_what_runs_not_the_words() -> None:
    base = presets.load("streaming")
    assert presets.load("streaming").sha256 == base.sha256
    assert presets.load("streaming", {"description": "other words"}).sha256 == base.sha256
    assert presets.load("streaming", {"loudness": {"target_lufs": -15}}).sha256 != base.sha256


@pytest.mark.parametrize(("data", "message"), [
    ({"chain": {"reverbb": {}}}, r"chain\.reverbb: unknown processor 'reverbb'.*allowed: channels"),
    ({"chain": {"loudness": {"target_lufz": -14}}}, r"chain\.loudness\.target_lufz: unknown key \(did you mean "
                                                      r"'target_lufs'\?\)"),
    ({"chain": {"loudness": {"target_lufs": 5}}}, r"chain\.loudness\.target_lufs: 5 is out of range"),
    ({"chain": {"eq": {"bands": [{"type": "peak", "freq_hz": 5}]}}}, r"chain\.eq\.bands\.0\.freq_hz"),
    ({"outptu": {}}, r"outptu: unknown key.*allowed: description, output, chain, order"),
    ({"output": {"bit_depth": 20}}, r"output\.bit_depth: 20 is not allowed"),
    ({"chain": {"x": {"type": "fade", "enabled": "yes"}}}, r"chain\.x\.enabled: expected true or false"),
    ({"extends": "nope"}, r"extends: unknown preset 'nope'"),
    ("chain: [1, 2", r"invalid YAML at line"),
    ("- a list", r"a preset is a mapping"),
])
def test_errors_name_the_file_the_key_and_what_is_allowed(tmp_path: Path, data: dict | str, message: str) -> None:
    path = write(tmp_path / "bad.yaml", data)
    with pytest.raises(PresetError, match=message) as err:
        presets.load(path)
    assert str(err.value).startswith(str(path))
    assert "\n" not in str(err.value)


def test_circular_extends_is_caught(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", {"extends": "b.yaml"})
    write(tmp_path / "b.yaml", {"extends": "a.yaml"})
    with pytest.raises(PresetError, match="circular"):
        presets.load(tmp_path / "a.yaml")


def test_unknown_builtin_suggests_the_closest() -> None:
    with pytest.raises(PresetError, match=r"unknown preset 'streamng' \(did you mean 'streaming'\?\)"):
        presets.load("streamng")


def test_presets_ship_inside_the_wheel(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(root)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("sori-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for name in BUILTIN:
        assert f"remaster/presets/builtin/{name}.yaml" in names


def test_a_mistake_in_a_parent_names_the_parent_and_an_override_names_the_override(tmp_path: Path) -> None:
    parent = write(tmp_path / "parent.yaml", {"chain": {"loudness": {"target_lufz": -14}}})
    child = write(tmp_path / "child.yaml", {"extends": "parent.yaml"})
    with pytest.raises(PresetError, match=r"parent\.yaml: chain\.loudness\.target_lufz") as err:
        presets.load(child)
    assert str(err.value).startswith(str(parent))
    with pytest.raises(PresetError, match=r"^overrides \(--set or keyword arguments\): chain\.loudness\.nope"):
        presets.load("streaming", {"loudness": {"nope": 1}})
    with pytest.raises(PresetError, match=r"no value; to switch a stage off use loudness\.enabled=false"):
        presets.parse_override("loudness=")


def test_every_bad_key_of_a_stage_is_named_in_full(tmp_path: Path) -> None:
    path = write(tmp_path / "two.yaml", {"chain": {"loudness": {"target_lufz": -14, "true_peak_dbb": -1}}})
    with pytest.raises(PresetError) as err:
        presets.load(path)
    assert "chain.loudness.target_lufz" in str(err.value) and "chain.loudness.true_peak_dbb" in str(err.value)
