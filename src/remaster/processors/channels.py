"""Channel layout: keep, duplicate mono to stereo, or fold down to mono."""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..errors import ProcessingError
from .base import Params, Processed, Processor, Report, param, register, reported


class ChannelsParams(Params):
    mode: Literal["keep", "stereo", "mono"] = param(
        "keep", unit="choice", description="keep the layout, duplicate mono to stereo, or fold down to mono")


class ChannelsReport(Report):
    channels: int | None = reported(unit="count", description="channels out", column=True)
    channels_in: int | None = reported(unit="count", description="channels in, when the layout changed")


@register
class Channels(Processor):
    name = "channels"
    Params = ChannelsParams
    Report = ChannelsReport

    def process(self, audio: np.ndarray, sample_rate: int) -> Processed:
        mode, n = self.params.mode, audio.shape[0]
        if mode == "keep" or (mode == "stereo" and n == 2) or (mode == "mono" and n == 1):
            return Processed(audio, sample_rate, {"channels": n})
        if mode == "stereo":
            if n != 1:
                raise ProcessingError(f"{self.label}: cannot make stereo from {n} channels; "
                                      "allowed inputs: mono or stereo")
            return Processed(np.repeat(audio, 2, axis=0), sample_rate, {"channels": 2, "channels_in": 1})
        # Equal-power fold-down would raise correlated material by 3 dB; the plain mean keeps level.
        return Processed(audio.mean(axis=0, keepdims=True), sample_rate, {"channels": 1, "channels_in": n})
