"""A preset edited away from a base, saved as YAML that `extends:` the base and holds only the keys that changed.

    text = preset_yaml("streaming", {"loudness": {"target_lufs": -16}}, description="quieter")
    save_preset("my.yaml", "streaming", {"loudness": {"target_lufs": -16}})      # validated, written atomically

Overrides are what `remaster()` takes as keywords and `--set` builds: a stage label maps to its changed parameters
(`{"loudness": {"target_lufs": -16}}`, `{"denoise": {"enabled": False}}`), `output` to the output format.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from .. import audio as audio_io
from ..errors import PresetError
from .loader import Preset, _route_overrides, available, load

HEADER = ("# Made with `sori studio`: the keys changed from the preset it extends. "
          "Check it with `sori presets validate`.\n")


def extends_ref(base: str | os.PathLike | Preset, saved_to: Path | None) -> str:
    """How the saved file names its base: a built-in by name, a file by its path relative to the saved file."""
    if isinstance(base, Preset):
        if base.path is None:
            raise PresetError("a preset built in memory cannot be extended by a file; start from a named preset")
        base = base.path
    builtins = available()
    if str(base) in builtins:
        return str(base)
    path = Path(base).resolve()
    for name, builtin in builtins.items():
        if builtin.resolve() == path:
            return name
    if saved_to is None:
        return str(path)
    return Path(os.path.relpath(path, Path(saved_to).resolve().parent)).as_posix()


def preset_yaml(base: str | os.PathLike | Preset, overrides: dict[str, Any], description: str = "",
                saved_to: Path | None = None) -> str:
    """The YAML text: `extends:` the base, the description, and the overrides routed as a preset holds them."""
    doc: dict[str, Any] = {"extends": extends_ref(base, saved_to)}
    if description:
        doc["description"] = description
    doc.update(_route_overrides(overrides))
    return HEADER + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False)


def save_preset(path: str | os.PathLike, base: str | os.PathLike | Preset, overrides: dict[str, Any],
                description: str = "") -> Path:
    """Check the edit (the same checks and messages as `--set`), then write the file atomically and check that it
    loads as written. A mistake is a PresetError and nothing is written."""
    target = Path(path)
    if target.suffix.lower() not in (".yaml", ".yml"):
        raise PresetError(f"{target}: a preset file ends in .yaml or .yml")
    if target.is_dir():
        raise PresetError(f"{target}: is a folder; give a file name ending in .yaml")
    load(base, overrides or None)
    text = preset_yaml(base, overrides, description, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    previous = target.read_text(encoding="utf-8") if target.is_file() else None
    audio_io.atomic_write_text(target, text)
    try:
        load(target)
    except PresetError:
        if previous is None:
            target.unlink(missing_ok=True)
        else:
            audio_io.atomic_write_text(target, previous)
        raise
    return target
