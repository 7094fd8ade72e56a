"""The studio's controls, as data: one per parameter of every stage of a preset, built from the processors' own
parameter definitions (`remaster.presets.parameter_rows`: type, range, unit, description), plus each stage's on/off
switch and the output format. No web code here: `app.py` turns each into a widget.

A control's value travels back as the widget holds it: a choice, a switch, or text, which is read exactly as
`--set KEY=TEXT` reads it (YAML: `-16` is a number, `[..]` a list, nothing the default), so a mistake gets the same
message as on the command line. `overrides()` keeps only what differs from the base preset, in the shape `remaster()`
and `--set` take, and `control_for()` finds the control a preset error names, to show the message beside it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import yaml

from remaster.presets import OutputSpec, Preset, parameter_rows
from remaster.presets.schema import model_rows

NUMBER_TYPES = {"float", "int", "float | None", "int | None"}


@dataclass(frozen=True)
class Control:
    group: str              # the stage label, or "output"
    name: str               # the parameter, dotted for nested settings ("notes.smooth_s"); "enabled" for the switch
    kind: str               # switch | choice | number | integer | text | yaml (the last four: text fields)
    value: Any              # the base preset's value
    label: str
    info: str
    choices: tuple[Any, ...] | None = None

    @property
    def key(self) -> str:
        """The key path a preset error names (`chain.loudness.target_lufs`, `output.bit_depth`)."""
        return f"{self.group}.{self.name}" if self.group == "output" else f"chain.{self.group}.{self.name}"

    @property
    def id(self) -> str:
        return re.sub(r"[^A-Za-z0-9_-]", "-", f"ctl-{self.group}-{self.name}")

    @property
    def is_text(self) -> bool:
        return self.kind in ("number", "integer", "text", "yaml")

    def widget_value(self) -> Any:
        """The base value as the widget shows it."""
        return dump(self.value) if self.is_text else self.value

    def parse(self, raw: Any) -> Any:
        """The widget's value as the parameter's: text read as `--set` reads it (empty: None, the default)."""
        if not self.is_text or not isinstance(raw, str):
            return raw
        text = raw.strip()
        if not text:
            return "" if self.kind == "text" and self.value == "" else None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError:
            return text          # as --set: what YAML cannot read stays the text, and the parameter says why

    def changed(self, raw: Any) -> bool:
        new = self.parse(raw)
        old = self.value
        if isinstance(new, (int, float)) and isinstance(old, (int, float)) and not isinstance(new, bool):
            return not math.isclose(float(new), float(old), rel_tol=1e-9, abs_tol=1e-12)
        return new != old


def dump(value: Any) -> str:
    """A value as `--set` would write it (YAML flow style, one line)."""
    if value is None:
        return ""
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, allow_unicode=True, width=10_000).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def _info(row: dict[str, Any]) -> str:
    parts = [row["description"]]
    if row["min"] is not None or row["max"] is not None:
        lo = "" if row["min"] is None else f"{row['min']:g}"
        hi = "" if row["max"] is None else f"{row['max']:g}"
        parts.append(f"{lo}..{hi}{' ' + row['unit'] if row['unit'] not in ('', 'choice', 'on/off') else ''}")
    if row["type"].endswith("| None") and row["kind"] in ("number", "integer"):
        parts.append("empty: the default")
    return " · ".join(parts)


def _kind(row: dict[str, Any]) -> str:
    if row["choices"]:
        return "choice"
    if row["type"] == "bool":
        return "switch"
    if row["type"] in NUMBER_TYPES:
        return "integer" if row["type"].startswith("int") else "number"
    if row["type"] in ("str", "str | None"):
        return "text"
    return "yaml"


def _lookup(values: dict[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _from_rows(group: str, rows: list[dict[str, Any]], values: dict[str, Any]) -> list[Control]:
    out = []
    for row in rows:
        row = {**row, "kind": _kind(row)}
        unit = row["unit"] if row["unit"] not in ("", "choice", "on/off") else ""
        label = f"{row['name']}" + (f" ({unit})" if unit else "")
        out.append(Control(group, row["name"], row["kind"], _lookup(values, row["name"]), label, _info(row),
                           tuple(row["choices"]) if row["choices"] else None))
    return out


def controls_for(preset: Preset) -> dict[str, list[Control]]:
    """Per group (each stage's label in order, then "output"): its switch and one control per parameter, each with
    the preset's value (defaults included)."""
    groups: dict[str, list[Control]] = {}
    for stage in preset.stages:
        values = stage.params.model_dump(mode="json")
        switch = Control(stage.label, "enabled", "switch", stage.enabled, "on", f"run the {stage.kind} stage")
        groups[stage.label] = [switch, *_from_rows(stage.label, parameter_rows(stage.kind), values)]
    groups["output"] = _from_rows("output", model_rows(OutputSpec), preset.output.model_dump(mode="json"))
    return groups


def overrides(controls: list[Control], raw_values: list[Any]) -> dict[str, Any]:
    """The changed values, nested as `--set` builds them: {"loudness": {"target_lufs": -16}, "output": {...}}."""
    out: dict[str, Any] = {}
    for control, raw in zip(controls, raw_values, strict=True):
        if not control.changed(raw):
            continue
        node = out.setdefault(control.group, {})
        parts = control.name.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = control.parse(raw)
    return out


_KEY = re.compile(r"((?:chain\.)?[\w\-]+(?:\.[\w\-]+)*):")


def control_for(controls: list[Control], message: str) -> Control | None:
    """The control a preset error message is about (the longest key path it names), or None."""
    by_key = {c.key: c for c in controls}
    for match in _KEY.finditer(message):
        path = match.group(1)
        parts = path.split(".")
        for n in range(len(parts), 1, -1):
            hit = by_key.get(".".join(parts[:n]))
            if hit is not None:
                return hit
    return None
