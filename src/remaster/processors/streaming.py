"""Running a pedalboard chain over a take a chunk at a time, into one output array.

`Pedalboard.process(..., reset=False)` keeps each plugin's state (filter memories, a compressor's envelope) from
one call to the next, so the chunks join seamlessly: the result is the whole take processed at once, without the
whole-take temporaries pedalboard would otherwise allocate.
"""

from __future__ import annotations

import numpy as np
import pedalboard

CHUNK = 1 << 18


def process(board: pedalboard.Pedalboard, audio: np.ndarray, sample_rate: int) -> np.ndarray:
    out = np.empty_like(audio, dtype=np.float32)
    board.reset()
    n = audio.shape[-1]
    for a in range(0, n, CHUNK):
        b = min(n, a + CHUNK)
        out[:, a:b] = board.process(np.ascontiguousarray(audio[:, a:b]), sample_rate, reset=False)
    return out
