"""Trim leading and trailing silence."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from .base import Context, Params, Processed, Processor, register


class TrimParams(Params):
    threshold_db: float = Field(-60.0, ge=-120.0, le=-10.0)
    keep_ms: float = Field(50.0, ge=0.0, le=5000.0, description="silence kept before and after the sound")
    leading: bool = True
    trailing: bool = True


@register
class Trim(Processor):
    name = "trim"
    Params = TrimParams

    def process(self, audio: np.ndarray, sample_rate: int, context: Context) -> Processed:
        p = self.params
        loud = np.nonzero(np.abs(audio).max(axis=0) > 10 ** (p.threshold_db / 20))[0]
        frames = audio.shape[-1]
        if loud.size == 0:
            return Processed(audio, sample_rate, {"trimmed_start_s": 0.0, "trimmed_end_s": 0.0,
                                                  "note": "nothing above the threshold; left as is"})
        keep = round(p.keep_ms * sample_rate / 1000)
        start = max(0, loud[0] - keep) if p.leading else 0
        stop = min(frames, loud[-1] + 1 + keep) if p.trailing else frames
        return Processed(np.ascontiguousarray(audio[:, start:stop]), sample_rate,
                         {"trimmed_start_s": start / sample_rate, "trimmed_end_s": (frames - stop) / sample_rate})
