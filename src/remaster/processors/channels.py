"""Channel layout: keep, duplicate mono to stereo, or fold down to mono."""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..errors import ProcessingError
from .base import Context, Params, Processed, Processor, register


class ChannelsParams(Params):
    mode: Literal["keep", "stereo", "mono"] = "keep"


@register
class Channels(Processor):
    name = "channels"
    Params = ChannelsParams

    def process(self, audio: np.ndarray, sample_rate: int, context: Context) -> Processed:
        mode, n = self.params.mode, audio.shape[0]
        if mode == "keep" or (mode == "stereo" and n == 2) or (mode == "mono" and n == 1):
            return Processed(audio, sample_rate, {"channels": n})
        if mode == "stereo":
            if n != 1:
                raise ProcessingError(f"{self.label}: cannot make stereo from {n} channels; "
                                      "allowed inputs: mono or stereo")
            return Processed(np.repeat(audio, 2, axis=0), sample_rate, {"channels": 2, "from": 1})
        # Equal-power fold-down would raise correlated material by 3 dB; the plain mean keeps level.
        return Processed(audio.mean(axis=0, keepdims=True), sample_rate, {"channels": 1, "from": n})
