"""The structure of a master's report, published as a JSON Schema for service developers (docs/report.schema.json,
described in docs/report.md), and built from the declarations: each processor's `Report`, the `Metrics` that
`analyze` measures, the preset's `OutputSpec`. A test checks every report the suite produces against it.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from .analysis import Metrics

SCHEMA_ID = "https://sori.dev/schemas/report.schema.json"
_JSON_TYPES = {float: ["number", "null"], int: ["integer", "null"], "float": ["number", "null"],
               "int": ["integer", "null"]}


def _metrics_schema() -> dict[str, Any]:
    props = {}
    for f in fields(Metrics):
        props[f.name] = {"type": _JSON_TYPES.get(f.type, ["number", "null"]), "description": f.metadata["description"],
                         "unit": f.metadata["unit"]}
    return {"type": "object", "properties": props, "required": [f.name for f in fields(Metrics)],
            "additionalProperties": False}


def _stage_schemas() -> list[dict[str, Any]]:
    from .processors import REGISTRY

    out = []
    for kind, cls in REGISTRY.items():
        schema = cls.Report.model_json_schema()
        props = {"stage": {"type": "string", "description": "the stage's label in the preset"},
                 "processor": {"const": kind},
                 "seconds": {"type": "number", "description": "time the stage took", "unit": "s"},
                 **schema.get("properties", {})}
        out.append({"title": kind, "type": "object", "properties": props,
                    "required": ["stage", "processor", "seconds"], "additionalProperties": False,
                    **({"$defs": schema["$defs"]} if "$defs" in schema else {})})
    return out


def report_json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of what `remaster()` returns as `Mastered.report` (and `sori remaster --json` prints)."""
    from .presets import OutputSpec

    output = OutputSpec.model_json_schema()
    output.pop("title", None)
    metrics = _metrics_schema()
    attempt = {"type": "object", "properties": {
        "attempt": {"type": "integer"}, "findings": {"type": "integer"}, "score": {"type": "number"},
        "sidecar": {"type": "object"}, "error": {"type": "string"}, "seconds": {"type": "number"}},
        "required": ["attempt"], "additionalProperties": False}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Sori master report",
        "type": "object",
        "properties": {
            "input": {"type": ["string", "null"], "description": "the input file (null for an array)"},
            "preset": {"type": "string", "description": "the preset's name"},
            "preset_sha256": {"type": "string", "description": "hash of the resolved preset (description aside)"},
            "overrides": {"type": "object", "description": "the keyword overrides remaster() was given"},
            "output": output,
            "stages": {"type": "array", "description": "one entry per stage that ran, in order",
                       "items": {"oneOf": _stage_schemas()}},
            "verdict": {"type": "object", "description": "what the check stages judged (present when the preset "
                        "has one)", "properties": {"passed": {"type": "boolean"}, "findings": {"type": "integer"},
                                                   "summary": {"type": "string"}},
                        "required": ["passed", "findings", "summary"], "additionalProperties": False},
            "regeneration": {"type": "object", "description": "new takes asked for when a check stage wanted them",
                             "properties": {"kept": {"type": "string"}, "attempts": {"type": "array",
                                                                                    "items": attempt},
                                            "original": {"type": "object"}, "kept_sidecar": {"type": "object"},
                                            "error": {"type": "string"}},
                             "required": ["kept", "attempts", "original"], "additionalProperties": False},
            "before": {**metrics, "description": "the input, measured"},
            "after": {**metrics, "description": "the master exactly as written, measured"},
            "targets": {"type": "object", "description": "the promises kept: no clipped samples, and each stage's "
                        "own (loudness: loudness, true_peak); ok when all hold",
                        "additionalProperties": {"type": "boolean"}, "required": ["ok"]},
            "off_target": {"type": "string", "description": "present when a target was missed: which, and why"},
            "sidecar_error": {"type": "string", "description": "why the take's sidecar could not be read"},
            "seconds": {"type": "number", "description": "time the whole job took", "unit": "s"},
        },
        "required": ["input", "preset", "preset_sha256", "output", "stages", "seconds"],
        "additionalProperties": False,
    }


def schema_text() -> str:
    return json.dumps(report_json_schema(), indent=1, ensure_ascii=False) + "\n"
