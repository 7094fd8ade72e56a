"""A chain of processors, run in order, each stage timed and its report checked against its declaration.

    chain = Chain([Cleanup(), Resample(sample_rate=48000), Loudness(target_lufs=-14)])
    result = chain(audio, 32000)            # ChainResult(audio, sample_rate, stages)

Like pedalboard's `Pedalboard`, the chain is a pure function from audio to audio: it knows nothing about
particular processors, nothing about files or where the take came from, and keeps nothing between calls.
Deciding what to do with a take the chain judged (have it generated again, reject it) is its caller's
business (`remaster.qa`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import ValidationError

from .errors import ProcessingError
from .processors.base import Processor, format_validation_error

CHUNK = 1 << 18


@dataclass
class StageReport:
    label: str
    kind: str
    seconds: float
    info: dict[str, Any] = field(default_factory=dict)
    traces: dict[str, Any] = field(default_factory=dict, repr=False)     # for plots, beside the report

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.label, "processor": self.kind, "seconds": round(self.seconds, 4), **self.info}


@dataclass
class ChainResult:
    audio: np.ndarray
    sample_rate: int
    stages: list[StageReport]


class Chain:
    def __init__(self, processors: Sequence[Processor]) -> None:
        self.processors = list(processors)

    def __iter__(self) -> Iterator[Processor]:
        return iter(self.processors)

    def __len__(self) -> int:
        return len(self.processors)

    def __repr__(self) -> str:
        return f"Chain({self.processors!r})"

    def __call__(self, audio: np.ndarray, sample_rate: int) -> ChainResult:
        return self.run(audio, sample_rate)

    def run(self, audio: np.ndarray, sample_rate: int) -> ChainResult:
        """The chain over `audio`. Called as `chain.run(x, sr)` by a caller that hands over its only reference to
        `x`, each stage's input is freed as soon as the next stage has its output (calling the object itself
        keeps the input alive to the end: Python holds a call's arguments in a tuple while it runs)."""
        stages: list[StageReport] = []
        for proc in self.processors:
            start = time.perf_counter()
            out = proc(audio, sample_rate)
            seconds = time.perf_counter() - start
            _check_output(proc, out.audio)
            audio, sample_rate = out.audio, out.sample_rate
            stages.append(StageReport(proc.label, proc.name, seconds, declared(proc, out.info), out.traces))
        return ChainResult(audio, sample_rate, stages)


def declared(proc: Processor, info: dict[str, Any]) -> dict[str, Any]:
    """The stage's info, checked against the report its class declares (a processor bug otherwise)."""
    try:
        report = proc.Report.model_validate(info)
    except ValidationError as e:
        raise ProcessingError(f"{proc.label}: reported what {type(proc).__name__}.Report does not declare: "
                              f"{format_validation_error(e)}") from None
    return report.model_dump(mode="json", exclude_unset=True)


def _check_output(proc: Processor, audio: np.ndarray) -> None:
    if not isinstance(audio, np.ndarray) or audio.ndim != 2 or audio.dtype != np.float32:
        raise ProcessingError(f"{proc.label}: returned {type(audio).__name__} "
                              f"{getattr(audio, 'shape', '')}; processors must return float32 (channels, frames)")
    if not all(np.isfinite(audio[:, a: a + CHUNK]).all() for a in range(0, audio.shape[-1], CHUNK)):
        raise ProcessingError(f"{proc.label}: produced NaN or infinite samples")
