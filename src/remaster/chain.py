"""A chain of processors, run in order, each stage timed and reported.

    chain = Chain([Cleanup(), Resample(sample_rate=48000), Loudness(target_lufs=-14)])
    result = chain(audio, 32000)

The chain knows nothing about particular processors: anything registered can be a stage.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .errors import ProcessingError
from .processors.base import Context, Processor


@dataclass
class StageReport:
    label: str
    kind: str
    seconds: float
    info: dict[str, Any] = field(default_factory=dict)

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

    def __call__(self, audio: np.ndarray, sample_rate: int, context: Context | None = None) -> ChainResult:
        context = context or Context()
        stages: list[StageReport] = []
        for i, proc in enumerate(self.processors):
            before = Chain(self.processors[:i])

            def upstream(a: np.ndarray, sr: int, _before: Chain = before) -> tuple[np.ndarray, int]:
                r = _before(a, sr, replace(context, upstream=None))
                return r.audio, r.sample_rate

            start = time.perf_counter()
            out = proc(audio, sample_rate, replace(context, upstream=upstream))
            seconds = time.perf_counter() - start
            _check_output(proc, out.audio)
            audio, sample_rate = out.audio, out.sample_rate
            stages.append(StageReport(proc.label, proc.name, seconds, out.info))
        return ChainResult(audio, sample_rate, stages)


def _check_output(proc: Processor, audio: np.ndarray) -> None:
    if not isinstance(audio, np.ndarray) or audio.ndim != 2 or audio.dtype != np.float32:
        raise ProcessingError(f"{proc.label}: returned {type(audio).__name__} "
                              f"{getattr(audio, 'shape', '')}; processors must return float32 (channels, frames)")
    if not np.isfinite(audio).all():
        raise ProcessingError(f"{proc.label}: produced NaN or infinite samples")
