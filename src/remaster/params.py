"""Typed parameters: the base model and the field helper that every processor and analysis setting uses.

Every parameter carries a unit and a description, so that `sori presets schema`, the preset JSON Schema and the
studio's controls are all built from the code, and a default is written in exactly one place.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Params(BaseModel):
    """Base of every set of parameters: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def param(default: Any = ..., *, unit: str, description: str, **constraints: Any) -> Any:
    """A parameter. `unit` is what the number counts ("dB", "Hz", "s", "ratio"; for a choice or a switch,
    "choice" or "on/off"); constraints are pydantic's (ge, le, max_length, default_factory ...)."""
    extra = {"unit": unit}
    factory = constraints.pop("default_factory", None)
    if factory is not None:
        return Field(default_factory=factory, description=description, json_schema_extra=extra, **constraints)
    return Field(default, description=description, json_schema_extra=extra, **constraints)
