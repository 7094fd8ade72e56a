"""The re-generation protocol: how `remaster()` asks for a new take of a sour one.

`remaster` never imports `generate`; it defines this small protocol and `generate` implements it. A
regenerator is any callable that takes a `Request` and returns a `Take`:

    def regenerator(request: Request) -> Take:
        seed = request.sidecar["seed"] + 1000 * request.attempt
        audio, rate = my_model(request.sidecar["prompt"], seed)
        return Take(audio, rate, {**request.sidecar, "seed": seed})

    remaster("take.wav", "streaming", context=Context(regenerator=regenerator), dissonance={"action": "regenerate"})

The request carries the take's sidecar (prompt, seed, model, parameters: the JSON of the same name beside a
generated WAV), which attempt this is, and the findings with their times, so a regenerator may redo only the
window that holds the sour stretch. `remaster.qa` runs the loop: each new take is mastered with the whole chain.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Request:
    sidecar: Mapping[str, Any]          # of the take being replaced
    attempt: int                        # 1 .. max_attempts
    findings: tuple[dict[str, Any], ...] = ()   # the original take's findings, with start/end in seconds
    source: Path | None = None          # the original take's file, when it came from one


@dataclass(frozen=True)
class Take:
    audio: np.ndarray                   # float (channels, frames) or (frames,)
    sample_rate: int
    sidecar: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Regenerator(Protocol):
    def __call__(self, request: Request) -> Take: ...


@dataclass(frozen=True)
class Context:
    """What `remaster()` may know about a take beyond its samples: where it came from, its sidecar (a generated
    take's prompt, seed and model) and a regenerator that can make it again. The chain itself never sees this."""

    source: Path | None = None
    sidecar: Mapping[str, Any] | None = None
    regenerator: Regenerator | None = None


def take_audio(take: Any) -> tuple[np.ndarray, int]:
    """Check what a regenerator returned: a Take with float (channels, frames) audio and an integer rate."""
    if not isinstance(take, Take):
        raise TypeError(f"the regenerator returned {type(take).__name__}, expected remaster.regenerate.Take")
    audio = np.asarray(take.audio)
    if audio.ndim == 1:
        audio = audio[None, :]
    if audio.ndim != 2 or audio.shape[0] > 2 or audio.shape[1] == 0 or not np.issubdtype(audio.dtype, np.floating):
        raise TypeError(f"the regenerator returned audio shaped {audio.shape} ({audio.dtype}); "
                        "expected float (channels, frames) with 1 or 2 channels")
    if not np.isfinite(audio).all():
        raise ValueError("the regenerator returned NaN or infinite samples")
    if isinstance(take.sample_rate, bool) or not isinstance(take.sample_rate, (int, np.integer)) \
            or not 8000 <= take.sample_rate <= 384_000:
        raise TypeError(f"the regenerator returned sample rate {take.sample_rate!r}; expected 8000–384000 Hz")
    return np.ascontiguousarray(audio, dtype=np.float32), int(take.sample_rate)


def sidecar_path(source: str | os.PathLike) -> Path:
    """`take.wav` -> `take.json`, where generation writes a take's prompt, seed, model and parameters."""
    return Path(source).with_suffix(".json")


def load_sidecar(source: str | os.PathLike) -> tuple[dict[str, Any] | None, str | None]:
    """The sidecar of a take as a dict, or None; and why it could not be read, when it exists but is bad."""
    path = sidecar_path(source)
    if not path.is_file():
        return None, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        return None, f"{path}: unreadable sidecar ({type(e).__name__}); re-generation needs its prompt and seed"
    if not isinstance(data, dict):
        return None, f"{path}: sidecar is a JSON {type(data).__name__}, expected an object"
    return data, None
