"""What a training step reads: micro-batches of the token cache's windows, laid out under MusicGen's delay pattern.

`Batches` draws the training split (a fresh permutation every epoch, this process's share of each global batch,
random crops, caption dropout), `eval_batches` the validation split (in order, the middle of each window), and
`delay_pattern` turns a batch of codes into the decoder's inputs, targets and loss mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import GenerateError


def delay_pattern(codes: Any, lengths: Any, start: int) -> tuple[Any, Any, Any]:
    """Inputs, targets and the loss mask of a batch of codes (B, K, T) under MusicGen's delay pattern.

    The sequence is T + K positions: position 0 is the start token for every codebook, and codebook k holds frame t
    at position t + k + 1; positions before a codebook starts or after it ends hold the start token (as in
    generation) and carry no loss. Inputs are positions 0..T+K-2, targets 1..T+K-1."""
    import torch
    b, k, t = codes.shape
    seq = codes.new_full((b, k, t + k), start)
    valid = torch.zeros((b, k, t + k), dtype=torch.bool, device=codes.device)
    real = torch.arange(t, device=codes.device)[None, :] < lengths[:, None]          # (B, T)
    for q in range(k):
        seq[:, q, q + 1:q + 1 + t] = codes[:, q]
        valid[:, q, q + 1:q + 1 + t] = real
    return seq[..., :-1], seq[..., 1:], valid[..., 1:]


class Batches:
    """Micro-batches from the training split: a fresh permutation every epoch, this process's share of each global
    batch, random crops of `frames`. The crop and the caption dropout of an item come from a generator seeded by
    (seed, epoch, index), so the data position (epoch, pos) is the whole state to save."""

    def __init__(self, windows: Sequence[Any], batch: int, frames: int, seed: int, rank: int = 0, world: int = 1,
                 caption: str = "caption", dropout: float = 0.0) -> None:
        if len(windows) < batch * world:
            raise GenerateError(f"the training split has {len(windows)} windows, fewer than one global batch "
                                f"(batch_size {batch} x {world} processes); lower batch_size")
        self.windows, self.batch, self.frames, self.seed = windows, batch, frames, seed
        self.rank, self.world, self.caption, self.dropout = rank, world, caption, dropout
        self.epoch, self.pos = 0, 0
        self._perm: tuple[int, Any] | None = None

    def _order(self) -> Any:
        import torch
        if self._perm is None or self._perm[0] != self.epoch:
            g = torch.Generator().manual_seed(self.seed * 1000003 + self.epoch)
            self._perm = (self.epoch, torch.randperm(len(self.windows), generator=g))
        return self._perm[1]

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "pos": self.pos}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.pos = int(state["epoch"]), int(state["pos"])

    def plan(self) -> dict[str, Any]:
        """The next micro-batch as a plan: window indices, crop offsets (frames), captions, caption kept (1/0)."""
        import torch
        step = self.batch * self.world
        if self.pos + step > len(self.windows):
            self.epoch, self.pos = self.epoch + 1, 0
        order = self._order()
        first = self.pos + self.rank * self.batch
        items = [int(i) for i in order[first:first + self.batch]]
        self.pos += step
        offsets, captions, keep = [], [], []
        for i in items:
            w = self.windows[i]
            rng = np.random.default_rng([self.seed, self.epoch, i])
            total = w.codes.shape[1]
            offsets.append(int(rng.integers(0, total - self.frames + 1)) if total > self.frames else 0)
            field = self.caption if self.caption != "both" else ("caption", "caption_ko")[int(rng.integers(2))]
            captions.append(w.record.get(field) or w.record["caption"])
            keep.append(float(rng.random() >= self.dropout))
        return {"items": items, "offsets": offsets, "captions": captions, "keep": torch.tensor(keep)}

    def next(self) -> dict[str, Any]:
        p = self.plan()
        codes = [self.windows[i].codes[:, o:o + self.frames] for i, o in zip(p["items"], p["offsets"], strict=True)]
        return collate(codes, p["captions"]) | {"keep": p["keep"]}


def collate(codes: Sequence[Any], captions: Sequence[str]) -> dict[str, Any]:
    """Codes (K, t_i) of one batch padded to the longest, with their lengths."""
    import torch
    k, longest = codes[0].shape[0], max(c.shape[1] for c in codes)
    out = torch.zeros((len(codes), k, longest), dtype=torch.long)
    for i, c in enumerate(codes):
        out[i, :, :c.shape[1]] = c.long()
    return {"codes": out, "lengths": torch.tensor([c.shape[1] for c in codes]), "captions": list(captions)}


def eval_batches(windows: Sequence[Any], batch: int, frames: int, rank: int = 0, world: int = 1,
                 limit: int = 0) -> list[dict[str, Any]]:
    """The validation split in order, the middle `frames` of each window (away from the codec's edge frames), true
    captions; this process's share."""
    import torch
    out = []
    for n, i in enumerate(range(rank * batch, len(windows), batch * world)):
        if limit and n >= limit:
            break
        ws = windows[i:i + batch]
        mid = [max(0, (w.codes.shape[1] - frames) // 2) for w in ws]
        out.append(collate([w.codes[:, m:m + frames] for w, m in zip(ws, mid, strict=True)],
                           [w.record["caption"] for w in ws])
                   | {"keep": torch.ones(len(ws))})
    return out
