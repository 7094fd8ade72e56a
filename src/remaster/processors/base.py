"""The processor interface: small callable objects with explicit, typed parameters, like pedalboard's plugins.

    cleanup = Cleanup(highpass_hz=30)                 # or Cleanup(CleanupParams(highpass_hz=30))
    out = cleanup(audio, sample_rate)                 # -> Processed(audio, sample_rate, info)

A processor takes float32 audio shaped (channels, frames) and returns new audio, its sample rate and what it
measured. It has no file I/O and no hidden state, so one instance can serve many threads, and it is a pure
function of its audio and parameters.

A processor declares everything about itself on its class (docs/architecture.md, "Adding a processor"):

* `Params`: a pydantic model whose every field is a `param(...)`, with a unit and a description. Presets are
  validated against it once, when they are loaded; `sori presets schema` and the preset JSON Schema come from it.
* `Report`: what `info` holds, each field a `reported(...)`; the chain checks `info` against it, and the report's
  JSON Schema and the batch CSV's columns (`column=True`) come from it.
* optionally `verdict(report)`: a check stage's judgement of the take, which `remaster.qa` acts on, and
  `promises(report, after)`: the targets the finished master must meet, which `remaster()` checks.

`@register` makes it usable from presets by its `name`; nothing else in the package needs to change.
"""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import PresetError
from ..params import Params, param  # noqa: F401  (re-exported: processors import both from here)


class Report(BaseModel):
    """Base of every processor's declared report. A stage reports only what its class declares."""

    model_config = ConfigDict(extra="forbid")


def reported(*, unit: str = "", description: str, column: bool = False) -> Any:
    """A report field. `column=True` puts it in the batch CSV as `<stage>.<field>`. Fields are optional: a stage
    leaves out what does not apply (a skipped denoise has no `noise_floor_after_db`)."""
    return Field(None, description=description, json_schema_extra={"unit": unit, "column": column})


@dataclass
class Processed:
    audio: np.ndarray
    sample_rate: int
    info: dict[str, Any] = field(default_factory=dict)
    # Tracks the stage computed anyway, thinned for plots (remaster.traces); not part of the report.
    traces: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """A check stage's judgement of a take: passed or not, a rank to compare takes by (lower is better), and
    whether the stage's parameters ask for another take (`attempts` at most) when it did not pass."""

    passed: bool
    rank: tuple[float, ...]
    summary: str
    findings: tuple[dict[str, Any], ...] = ()
    attempts: int = 0


class Processor(ABC):
    """Base class: subclasses set `name`, `Params` and `Report`, and implement `process`."""

    name: ClassVar[str]
    Params: ClassVar[type[Params]]
    Report: ClassVar[type[Report]] = Report
    # A stage that finishes a master (loudness, a final limiter) runs after every processing stage, whatever order
    # a preset's inheritance gives (presets.loader); dither at write time comes after it.
    finishing: ClassVar[bool] = False
    # A stage that only judges the take and passes its audio through untouched (the dissonance check): album
    # mode's measuring pass leaves it out.
    checks_only: ClassVar[bool] = False
    # The parameters a delivery platform sets (presets/platforms.py): (loudness target, true-peak ceiling).
    delivery_keys: ClassVar[tuple[str, str] | None] = None

    def __init__(self, params: Params | None = None, /, *, label: str | None = None, **kwargs: Any) -> None:
        self.label = label or self.name
        if params is None:
            params = validate_params(self.Params, kwargs, self.label)
        elif kwargs:
            raise TypeError(f"{type(self).__name__}: give a {self.Params.__name__} or keyword parameters, not both")
        elif not isinstance(params, self.Params):
            raise TypeError(f"{type(self).__name__}: expected {self.Params.__name__}, got {type(params).__name__}")
        self.params = params

    def __call__(self, audio: np.ndarray, sample_rate: int) -> Processed:
        return self.process(audio, sample_rate)

    @abstractmethod
    def process(self, audio: np.ndarray, sample_rate: int) -> Processed: ...

    def verdict(self, report: Mapping[str, Any]) -> Verdict | None:
        """A check stage's judgement of the take it saw, from its own report; None for stages that judge nothing."""
        return None

    @classmethod
    def retry_overrides(cls, attempts: int) -> dict[str, Any] | None:
        """For a check stage that can ask for new takes: the parameters that make it ask for `attempts` of them
        (`sori make --retries N`). None for stages that cannot."""
        return None

    def promises(self, report: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, bool]:
        """Targets the finished master must meet (`after`: the measurement of the output as written)."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.model_dump(exclude_unset=True).items())
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


def validate_params(model: type[Params], values: Mapping[str, Any], prefix: str) -> Params:
    """The one place where parameters are checked: a PresetError naming the key path, what is wrong and what is
    allowed."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as e:
        raise PresetError(format_validation_error(e, prefix=prefix, model=model)) from None


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


def _problem(err: Any, path: str, loc: tuple, model: type[BaseModel] | None) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed(model, loc[:-1]) if model else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        allowed_txt = f"; allowed: {', '.join(allowed)}" if allowed else ""
        return f"{path}: unknown key{hint}{allowed_txt}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"{path}: {err['input']!r} is out of range; {err['msg'].lower()}"
    if kind in ("literal_error", "enum"):
        return f"{path}: {err['input']!r} is not allowed; {err['msg'].lower()}"
    if kind == "value_error":      # our own validators' messages, kept as written (note names have case)
        return f"{path}: {err['msg'].removeprefix('Value error, ')}"
    return f"{path}: {err['msg'].lower()} (got {err.get('input')!r})"


def format_validation_error(e: ValidationError, prefix: str = "", model: type[BaseModel] | None = None) -> str:
    """One line per problem (usually one): the key path, what is wrong, what is allowed."""
    lines = []
    for err in e.errors():
        loc = tuple(err["loc"])
        path = ".".join(str(p) for p in ((prefix,) if prefix else ()) + loc)
        lines.append(_problem(err, path, loc, model))
    return "; ".join(lines)
