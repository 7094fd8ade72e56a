"""The processor interface: small callable objects with explicit, validated parameters.

    cleanup = Cleanup(highpass_hz=30)
    out = cleanup(audio, sample_rate)        # -> Processed(audio, sample_rate, info)

A processor takes float32 audio shaped (channels, frames) and returns new audio, its sample rate and what it
measured. It has no file I/O and no hidden state, so one instance can serve many threads. New processors
(super-resolution, the dissonance check, ...) register a name and are at once usable from presets.
"""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import PresetError


class Params(BaseModel):
    """Base of every processor's parameters: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class Processed:
    audio: np.ndarray
    sample_rate: int
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    """What a processor may know about the take beyond its samples.

    `source` and `sidecar` describe where the take came from (a generated take's sidecar holds its prompt,
    seed and model); `regenerator` can produce a new take; `upstream` runs the chain's earlier stages on a
    replacement take, so a stage that swaps the take hands the rest of the chain comparable audio.
    """

    source: Path | None = None
    sidecar: dict[str, Any] | None = None
    regenerator: Any = None
    upstream: Callable[[np.ndarray, int], tuple[np.ndarray, int]] | None = None
    extras: dict[str, Any] = field(default_factory=dict)


class Processor(ABC):
    """Base class: subclasses set `name`, a `Params` model, and implement `process`."""

    name: ClassVar[str]
    Params: ClassVar[type[Params]]

    def __init__(self, label: str | None = None, **params: Any) -> None:
        self.label = label or self.name
        try:
            self.params = self.Params(**params)
        except ValidationError as e:
            raise PresetError(format_validation_error(e, prefix=self.label, model=self.Params)) from None

    def __call__(self, audio: np.ndarray, sample_rate: int, context: Context | None = None) -> Processed:
        return self.process(audio, sample_rate, context or Context())

    @abstractmethod
    def process(self, audio: np.ndarray, sample_rate: int, context: Context) -> Processed: ...

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.model_dump().items())
        return f"{type(self).__name__}({args})"


REGISTRY: dict[str, type[Processor]] = {}
P = TypeVar("P", bound=type[Processor])


def register(cls: P) -> P:
    REGISTRY[cls.name] = cls
    return cls


def processor_class(kind: str, where: str = "") -> type[Processor]:
    if kind in REGISTRY:
        return REGISTRY[kind]
    close = difflib.get_close_matches(kind, REGISTRY, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise PresetError(f"{where}unknown processor '{kind}'{hint}; allowed: {', '.join(sorted(REGISTRY))}")


def _allowed(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names allowed at `loc` inside `model` (for unknown-key messages)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", {})
        if part not in fields:
            break
        ann = fields[part].annotation
        args = getattr(ann, "__args__", ())
        current = next((a for a in (ann, *args) if hasattr(a, "model_fields")), None)
        if current is None:
            return []
    return list(getattr(current, "model_fields", {}))


def format_validation_error(e: ValidationError, prefix: str = "", model: type[BaseModel] | None = None) -> str:
    """One line per problem (usually one): the key path, what is wrong, what is allowed."""
    lines = []
    for err in e.errors():
        loc = tuple(err["loc"])
        path = ".".join(str(p) for p in ((prefix,) if prefix else ()) + loc)
        kind = err["type"]
        if kind == "extra_forbidden":
            parent = loc[:-1]
            allowed = _allowed(model, parent) if model else []
            key = str(loc[-1])
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            allowed_txt = f"; allowed: {', '.join(allowed)}" if allowed else ""
            lines.append(f"{path}: unknown key{hint}{allowed_txt}")
        elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
            lines.append(f"{path}: {err['input']!r} is out of range; {err['msg'].lower()}")
        elif kind in ("literal_error", "enum"):
            lines.append(f"{path}: {err['input']!r} is not allowed; {err['msg'].lower()}")
        elif kind == "value_error":      # our own validators' messages, kept as written (note names have case)
            lines.append(f"{path}: {err['msg'].removeprefix('Value error, ')}")
        else:
            lines.append(f"{path}: {err['msg'].lower()} (got {err.get('input')!r})")
    return "; ".join(lines)
