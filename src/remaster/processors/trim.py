"""Trim leading and trailing silence."""

from __future__ import annotations

import numpy as np

from .base import Params, Processed, Processor, Report, param, register, reported


class TrimParams(Params):
    threshold_db: float = param(-60.0, unit="dBFS", ge=-120.0, le=-10.0,
                                description="samples below this at the ends count as silence")
    keep_ms: float = param(50.0, unit="ms", ge=0.0, le=5000.0, description="silence kept before and after the sound")
    leading: bool = param(True, unit="on/off", description="trim the start")
    trailing: bool = param(True, unit="on/off", description="trim the end")


class TrimReport(Report):
    trimmed_start_s: float | None = reported(unit="s", description="silence removed at the start")
    trimmed_end_s: float | None = reported(unit="s", description="silence removed at the end")
    note: str | None = reported(description="why nothing was trimmed")


def _first_last(audio: np.ndarray, level: float, chunk: int = 1 << 18) -> tuple[int, int] | None:
    """The first and last frame where any channel exceeds `level`, scanning chunks from each end."""
    n = audio.shape[-1]
    first = next((a + int(np.argmax(hit)) for a in range(0, n, chunk)
                  if (hit := (np.abs(audio[:, a: a + chunk]) > level).any(axis=0)).any()), None)
    if first is None:
        return None
    for b in range(n, 0, -chunk):
        hit = (np.abs(audio[:, max(0, b - chunk): b]) > level).any(axis=0)
        if hit.any():
            return first, max(0, b - chunk) + int(np.nonzero(hit)[0][-1])
    return None


@register
class Trim(Processor):
    name = "trim"
    Params = TrimParams
    Report = TrimReport

    def process(self, audio: np.ndarray, sample_rate: int) -> Processed:
        p = self.params
        level = 10 ** (p.threshold_db / 20)
        frames = audio.shape[-1]
        loud = _first_last(audio, level)
        if loud is None:
            return Processed(audio, sample_rate, {"trimmed_start_s": 0.0, "trimmed_end_s": 0.0,
                                                  "note": "nothing above the threshold; left as is"})
        keep = round(p.keep_ms * sample_rate / 1000)
        start = max(0, loud[0] - keep) if p.leading else 0
        stop = min(frames, loud[1] + 1 + keep) if p.trailing else frames
        return Processed(np.ascontiguousarray(audio[:, start:stop]), sample_rate,
                         {"trimmed_start_s": start / sample_rate, "trimmed_end_s": (frames - stop) / sample_rate})
