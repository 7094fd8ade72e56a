"""The shape of the code (docs/architecture.md): what each package may import, the typed presets and their
published schemas, reports that match their schema, and a command line that starts light and explains itself."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
import yaml
from pydantic import BaseModel

from remaster import remaster
from remaster.presets import available, load
from remaster.presets.schema import SCHEMA_FILE, preset_json_schema
from remaster.presets.schema import schema_text as preset_schema_text
from remaster.processors import REGISTRY, Dissonance
from remaster.report import report_json_schema
from remaster.report import schema_text as report_schema_text
from tests.clirun import SORI

from .conftest import tone

ROOT = Path(__file__).resolve().parents[1]


def fresh(code: str) -> Any:
    """Run `code` in a new interpreter; its last stdout line, as JSON."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_remaster_imports_no_generation_code_nor_model_library() -> None:
    found = fresh("""
import importlib, json, pkgutil, sys
import remaster
for m in pkgutil.walk_packages(remaster.__path__, "remaster."):
    if not m.name.endswith("audiosr_worker"):          # a script for AudioSR's own environment
        importlib.import_module(m.name)
banned = ("generate", "sori", "transformers", "peft", "accelerate", "torchaudio", "torchcrepe")
print(json.dumps(sorted({n.split(".")[0] for n in sys.modules} & set(banned))))
""")
    assert found == []


def test_the_command_line_starts_without_numpy_torch_or_ray() -> None:
    found = fresh("""
import contextlib, io, json, sys
from sori.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main(["--help"])
    except SystemExit:
        pass
print(json.dumps(sorted({n.split(".")[0] for n in sys.modules} & {"numpy", "torch", "scipy", "transformers",
                                                                   "kiwipiepy", "ray"})))
""")
    assert found == []


def test_a_checked_request_loads_no_model_library() -> None:
    """`sori generate --dry-run` checks words, files and numbers and prints its plan without numpy, torch or scipy
    (a category prompt does not even load the Korean analyzer)."""
    found = fresh("""
import contextlib, io, json, sys
from sori.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main(["generate", "슬픈 가야금 산조 중모리", "--melody", "아리랑", "--model", "facebook/musicgen-melody",
              "--dry-run"])
    except SystemExit as e:
        assert not e.code, e.code
print(json.dumps(sorted({n.split(".")[0] for n in sys.modules} & {"numpy", "torch", "scipy", "transformers",
                                                                   "kiwipiepy", "ray"})))
""")
    assert found == []


def test_sori_version_and_the_entry_point() -> None:
    from importlib.metadata import entry_points, version

    (ep,) = [e for e in entry_points(group="console_scripts") if e.name == "sori"]
    assert ep.value == "sori.cli:main"
    done = subprocess.run([SORI, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"sori {version('sori')}"


def _params_models(model: type[BaseModel], seen: set[type]) -> list[type[BaseModel]]:
    out = [model]
    seen.add(model)
    for info in model.model_fields.values():
        for arg in (info.annotation, *getattr(info.annotation, "__args__", ())):
            inner = getattr(arg, "__args__", (arg,))
            for a in (arg, *inner):
                if isinstance(a, type) and issubclass(a, BaseModel) and a not in seen:
                    out += _params_models(a, seen)
    return out


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_every_parameter_and_report_field_is_described(kind: str) -> None:
    cls = REGISTRY[kind]
    for model in _params_models(cls.Params, set()):
        for name, info in model.model_fields.items():
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            assert info.description, f"{kind}: {model.__name__}.{name} has no description"
            assert extra.get("unit"), f"{kind}: {model.__name__}.{name} has no unit"
    for name, info in cls.Report.model_fields.items():
        assert info.description, f"{kind}: {cls.Report.__name__}.{name} has no description"


def test_published_schemas_are_up_to_date() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == preset_schema_text(), "regenerate with `make schemas`"
    assert (ROOT / "docs" / "report.schema.json").read_text(encoding="utf-8") == report_schema_text(), \
        "regenerate with `make schemas`"


def test_presets_validate_against_the_json_schema_and_mistakes_do_not() -> None:
    schema = preset_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in available().values():
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert not list(validator.iter_errors(doc)), path
        assert path.read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=")
    for bad in ({"chain": {"loudness": {"target_lufs": -80}}}, {"chain": {"loudness": {"target_lufz": -14}}},
                {"chain": {"air": {"bands": []}}}, {"chain": {"air": {"type": "reverb"}}}, {"outputs": {}}):
        assert list(validator.iter_errors(bad)), bad
    assert not list(validator.iter_errors({"extends": "streaming", "chain": {"denoise": None,
                                                                              "air": {"type": "eq", "bands": []}}}))


def test_reports_match_the_published_schema() -> None:
    validator = jsonschema.Draft202012Validator(report_json_schema())
    t = np.arange(32_000 * 4) / 32_000
    x = (0.2 * np.sin(2 * np.pi * 440 * t * (1 + 0.5 * (t > 2)))).astype(np.float32)
    for preset in ("streaming", "lofi", "gugak-solo"):
        report = remaster(x, 32_000, preset=preset).report
        errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(json.loads(json.dumps(report)))]
        assert not errors, errors[:5]
    assert list(validator.iter_errors({"input": None}))          # and it is not a schema that accepts anything


def test_presets_are_typed_all_the_way_to_the_processor() -> None:
    preset = load("gugak-solo", {"loudness": {"target_lufs": -15}})
    stage = next(s for s in preset.stages if s.kind == "loudness")
    assert stage.params.target_lufs == -15.0 and type(stage.params).__name__ == "LoudnessParams"
    proc = next(p for p in preset.processors() if p.name == "loudness")
    assert proc.params is stage.params                     # validated once, handed over as it is
    full = preset.resolved(defaults=True)["chain"]["loudness"]
    assert full["max_gain_db"] == 45.0 and "max_gain_db" not in preset.resolved()["chain"]["loudness"]


def test_help_examples_are_ones_the_command_accepts(sori, monkeypatch: pytest.MonkeyPatch) -> None:
    from remaster.presets import merge, parse_override

    monkeypatch.setenv("COLUMNS", "300")          # no wrapping inside an example

    for command in (["remaster"], ["batch"], ["check"], ["make"], ["presets", "show"]):
        text = sori(*command, "--help").stdout
        examples = re.findall(r"--set (\S+=\S+)", text)
        assert examples, command
        for example in examples:
            over = parse_override(example)
            if command == ["check"]:
                assert set(over) == {"dissonance"}, example
                Dissonance(**over["dissonance"])
            else:
                load("streaming", merge({}, over))


def test_show_defaults_prints_every_parameter(sori) -> None:
    shown = yaml.safe_load(sori("presets", "show", "streaming", "--defaults").stdout)
    assert shown["chain"]["denoise"]["n_fft"] == 1024 and shown["chain"]["dissonance"]["notes"]["smooth_s"] == 0.18
    assert "n_fft" not in yaml.safe_load(sori("presets", "show", "streaming").stdout)["chain"]["denoise"]


def test_presets_schema_lists_every_processor(sori) -> None:
    out = sori("presets", "schema").stdout
    for kind in REGISTRY:
        assert re.search(rf"^{kind}\b", out, re.M), kind
    assert json.loads(sori("presets", "schema", "--json").stdout)["title"] == "Sori preset"
    assert "unknown processor 'loudnes' (did you mean 'loudness'?)" in sori("presets", "schema", "loudnes").stderr


def test_master_from_python_reads_as_documented(tmp_path: Path) -> None:
    from remaster import Mastered, save

    m = remaster(tone(seconds=4), 32_000, preset="background")
    _audio, rate, report = m                                  # unpacks as before
    assert isinstance(m, Mastered) and rate == 48_000 and report["preset"] == "background"
    assert save(tmp_path / "bed.wav", m).is_file()
