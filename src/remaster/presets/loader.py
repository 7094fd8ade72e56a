"""Finding, merging and validating presets."""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..chain import Chain
from ..errors import PresetError
from ..params import Params
from ..processors import processor_class
from ..processors.base import Processor, format_validation_error
from .platforms import PLATFORMS, Delivery
from .schema import OutputSpec, PresetFile

MAX_DEPTH = 16
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)      # libyaml when the wheel has it: 20x faster


def builtin_dir() -> Path:
    """Built-in presets: inside the wheel, or the repository's `presets/` in a source checkout."""
    packaged = Path(__file__).with_name("builtin")
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "presets"


def available() -> dict[str, Path]:
    return {p.stem: p for p in sorted(builtin_dir().glob("*.yaml"))}


def _locate(ref: str | os.PathLike, relative_to: Path | None = None) -> Path:
    ref_s = str(ref)
    # A Path is always a file; a string is a file when it looks like one, else a built-in name.
    looks_like_path = isinstance(ref, os.PathLike) or ref_s.endswith((".yaml", ".yml")) or os.sep in ref_s
    if looks_like_path:
        p = Path(ref_s)
        if not p.is_absolute() and relative_to is not None:
            p = relative_to / p
        if not p.is_file():
            raise PresetError(f"{p}: preset file not found")
        return p
    builtins = available()
    if ref_s in builtins:
        return builtins[ref_s]
    close = difflib.get_close_matches(ref_s, builtins, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise PresetError(f"unknown preset '{ref_s}'{hint}; available: {', '.join(builtins)}, "
                      "or the path of a .yaml file")


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise PresetError(f"{path}: invalid YAML{where}: {getattr(e, 'problem', e)}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise PresetError(f"{path}: cannot read preset ({e})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PresetError(f"{path}: a preset is a mapping of keys (description, extends, output, chain), "
                          f"not a {type(data).__name__}")
    return data


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep merge: mappings merge key by key, None deletes, anything else replaces."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def combine(first: dict[str, Any], then: dict[str, Any]) -> dict[str, Any]:
    """Overrides on top of overrides: like `merge`, but a None is kept (it still has to remove a stage when the
    result is merged into the preset), so `--set dissonance=null` survives being combined with other `--set`s."""
    out = copy.deepcopy(first)
    for k, v in then.items():
        out[k] = combine(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def _resolve_raw(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if path.resolve() in seen:
        chain = " -> ".join(str(p) for p in (*seen, path.resolve()))
        raise PresetError(f"{path}: extends: circular inheritance ({chain})")
    if len(seen) > MAX_DEPTH:
        raise PresetError(f"{path}: extends: more than {MAX_DEPTH} levels of inheritance")
    data = _read_yaml(path)
    parent_ref = data.pop("extends", None)
    if parent_ref is None:
        return data
    if not isinstance(parent_ref, str):
        raise PresetError(f"{path}: extends: expected a preset name or path, got {parent_ref!r}")
    try:
        parent_path = _locate(parent_ref, relative_to=path.parent)
    except PresetError as e:
        raise PresetError(f"{path}: extends: {e}") from None
    parent = _resolve_raw(parent_path, (*seen, path.resolve()))
    from_data(parent, parent_path.stem, parent_path)       # a mistake in the parent names the parent
    return merge(parent, data)


@dataclass(frozen=True)
class Stage:
    """One stage of a resolved preset: its label, its processor and its parameters, typed and validated."""

    label: str
    kind: str
    params: Params
    enabled: bool = True

    def processor(self) -> Processor:
        return processor_class(self.kind)(self.params, label=self.label)

    def as_data(self, defaults: bool = False) -> dict[str, Any]:
        entry: dict[str, Any] = {} if self.kind == self.label else {"type": self.kind}
        if not self.enabled:
            entry["enabled"] = False
        return {**entry, **self.params.model_dump(mode="json", exclude_unset=not defaults)}


@dataclass(frozen=True)
class Preset:
    name: str
    path: Path | None
    description: str
    output: OutputSpec
    stages: tuple[Stage, ...]
    platform: str | None = None

    def resolved(self, defaults: bool = False) -> dict[str, Any]:
        """The preset as data, inheritance and overrides applied: what `sori presets show` prints; with
        `defaults`, every parameter of every stage, the ones the preset leaves at their default included."""
        data = {"description": self.description, "output": self.output.model_dump(),
                "chain": {s.label: s.as_data(defaults) for s in self.stages}}
        return {**data, "platform": self.platform} if self.platform else data

    @property
    def sha256(self) -> str:
        data = self.resolved()
        data.pop("description")
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    def processors(self) -> list[Processor]:
        return [s.processor() for s in self.stages if s.enabled]

    def chain(self) -> Chain:
        return Chain(self.processors())


def _stages(data: dict[str, Any], where: str) -> tuple[Stage, ...]:
    raw_chain = data.get("chain") or {}
    if not isinstance(raw_chain, dict):
        raise PresetError(f"{where}chain: expected a mapping of stage name to parameters, "
                          f"got {type(raw_chain).__name__}")
    order = data.get("order")
    labels = list(raw_chain)
    if order is not None:
        if not isinstance(order, list) or sorted(map(str, order)) != sorted(labels):
            raise PresetError(f"{where}order: must list every stage exactly once; stages: {', '.join(labels)}")
        labels = [str(x) for x in order]
    stages = []
    for label in labels:
        entry = raw_chain[label]
        if entry is None:
            continue
        if not isinstance(entry, dict):
            raise PresetError(f"{where}chain.{label}: expected a mapping of parameters, got {entry!r}")
        params = dict(entry)
        kind = params.pop("type", label)
        enabled = params.pop("enabled", True)
        if not isinstance(enabled, bool):
            raise PresetError(f"{where}chain.{label}.enabled: expected true or false, got {enabled!r}")
        cls = processor_class(str(kind), where=f"{where}chain.{label}: ")
        try:
            typed = cls.Params.model_validate(params)
        except ValidationError as e:
            raise PresetError(where + format_validation_error(e, prefix=f"chain.{label}", model=cls.Params)) from None
        stages.append(Stage(label, str(kind), typed, enabled))
    return _finishing_last(stages, explicit=order is not None, where=where)


def _finishing_last(stages: list[Stage], explicit: bool, where: str) -> tuple[Stage, ...]:
    """Stages that finish a master (loudness, a final limiter) after every processing stage. Inheritance puts a
    child's new stages after the parent's: they are moved before the finishing ones. An explicit `order:` that puts
    a processing stage after a finishing one is refused."""
    def finishing(s: Stage) -> bool:
        return processor_class(s.kind).finishing

    if explicit:
        seen = None
        for s in stages:
            if finishing(s):
                seen = seen or s
            elif seen is not None:
                raise PresetError(f"{where}order: '{s.label}' ({s.kind}) comes after '{seen.label}', which finishes "
                                  f"the master; loudness and limiting run last: move '{s.label}' before "
                                  f"'{seen.label}'")
    return tuple([s for s in stages if not finishing(s)] + [s for s in stages if finishing(s)])


def from_data(data: dict[str, Any], name: str = "<inline>", path: Path | None = None,
              overrides: dict[str, Any] | None = None) -> Preset:
    if overrides:
        # The preset itself first, so that a mistake in an override is blamed on the override.
        from_data(data, name, path)
        data, where = merge(data, _route_overrides(overrides)), "overrides (--set or keyword arguments): "
    else:
        where = f"{path}: " if path else ""
    try:
        model = PresetFile.model_validate({k: v for k, v in data.items() if k not in ("chain", "order")})
    except ValidationError as e:
        raise PresetError(where + format_validation_error(e, model=PresetFile)) from None
    stages = _stages(data, where)
    if model.platform is not None:
        stages = _deliver(stages, PLATFORMS[model.platform], where)
    return Preset(name, path, model.description, model.output, stages, model.platform)


def _deliver(stages: tuple[Stage, ...], target: Delivery, where: str) -> tuple[Stage, ...]:
    """The platform's loudness and ceiling for every stage that takes them (its processor says which keys)."""
    out = []
    for s in stages:
        keys = processor_class(s.kind).delivery_keys
        if keys:
            update = {keys[0]: target.lufs, keys[1]: target.true_peak_db}
            try:
                params = s.params.model_validate({**s.params.model_dump(exclude_unset=True), **update})
            except ValidationError as e:
                raise PresetError(where + format_validation_error(e, prefix=f"chain.{s.label}")) from None
            s = Stage(s.label, s.kind, params, s.enabled)
        out.append(s)
    return tuple(out)


def _route_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """`output=...`, `description=...`, `platform=...` go to the top; anything else names a stage of the chain."""
    top = {k: v for k, v in overrides.items() if k in ("output", "description", "order", "platform")}
    stages = {k: v for k, v in overrides.items() if k not in top}
    return {**top, "chain": stages} if stages else top


def load(ref: str | os.PathLike | Preset = "streaming", overrides: dict[str, Any] | None = None) -> Preset:
    """Load a built-in preset by name, or a YAML file by path, and validate it."""
    if isinstance(ref, Preset):
        if not overrides:
            return ref
        return from_data(ref.resolved(), ref.name, ref.path, overrides)
    path = _locate(ref)
    return from_data(_resolve_raw(path), path.stem, path, overrides)


def parse_override(text: str) -> dict[str, Any]:
    """`loudness.target_lufs=-16` -> {"loudness": {"target_lufs": -16}} (values parsed as YAML)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise PresetError(f"--set {text!r}: expected KEY.PATH=VALUE, e.g. loudness.target_lufs=-16")
    if not value.strip():
        raise PresetError(f"--set {text!r}: no value; to switch a stage off use {key.split('.')[0]}.enabled=false")
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        parsed = value
    out: dict[str, Any] = {}
    node = out
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = parsed
    return out
