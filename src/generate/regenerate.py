"""Make a sour take again: the regenerator that `remaster`'s dissonance stage asks (remaster.regenerate protocol).

    from generate.musicgen import load_model
    from generate.regenerate import TakeRegenerator
    from remaster import Context, remaster
    regen = TakeRegenerator(load_model("facebook/musicgen-small"), out_dir="raw")
    remaster("raw/take_000.wav", "streaming", context=Context(regenerator=regen), dissonance={"action": "regenerate"})

Everything comes from the take's sidecar: prompt, model, sampling parameters, duration, windows, melody.

- A take of one window is made again whole, with a new seed.
- A take made of several windows (longer than the model's window) keeps its audio and redoes only the windows that
  hold a finding, each by continuation from the audio before it (prompted with the same tail as the first time),
  faded in at the window's start and faded back into the original at its end. The rest stays sample for sample.

Attempt k of a take with seed S uses `derive_seed(S, k)`: new, reproducible, and unrelated to the neighbouring
takes' seeds S+1, S+2, ... With `out_dir`, each attempt is written beside the takes (`take_000.retry1.wav` and its
sidecar), and a later run finds it there instead of generating it again.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from remaster import audio as audio_io
from remaster.regenerate import Request, Take, load_sidecar, sidecar_path

from .errors import GenerateError
from .musicgen import Loaded, load_model
from .takes import MAX_SEED, Sampling, _call, continue_audio, crossfade_join, render, seed_everything


def derive_seed(seed: int, attempt: int) -> int:
    """The seed of attempt `attempt` at re-making the take of seed `seed`."""
    digest = hashlib.sha256(f"sori-regenerate:{int(seed)}:{int(attempt)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (MAX_SEED + 1)


def sour_windows(windows: list[dict[str, Any]], findings: Sequence[Mapping[str, Any]]) -> list[int]:
    """Indices of the windows whose new audio overlaps a finding (windows as the sidecar lists them)."""
    out = []
    for w in windows:
        lo, hi = float(w["start_seconds"]), float(w["end_seconds"])
        if any(float(f["start"]) < hi and float(f["end"]) > lo for f in findings):
            out.append(int(w["index"]))
    return out


def _sampling(sidecar: dict[str, Any]) -> tuple[Sampling, float, float]:
    g = sidecar.get("generation") or {}
    defaults = Sampling()
    sampling = Sampling(float(g.get("guidance_scale", defaults.guidance_scale)), int(g.get("top_k", defaults.top_k)),
                        float(g.get("top_p", defaults.top_p)), float(g.get("temperature", defaults.temperature)))
    return sampling, float(g.get("tail_seconds", 10.0)), float(g.get("crossfade_seconds", 1.0))


class TakeRegenerator:
    """Makes a new take from a take's sidecar; callable as `remaster.regenerate.Regenerator`.

    `loaded` is the model to use; without it, the sidecar's model (and adapter) is loaded on first use, once.
    `scope="window"` redoes only the sour windows of a long take; `scope="take"` always makes the whole take again.
    """

    def __init__(self, loaded: Loaded | None = None, *, out_dir: str | os.PathLike | None = None,
                 scope: str = "window", device: str = "auto", dtype: str = "auto", bit_depth: int = 32) -> None:
        if scope not in ("window", "take"):
            raise GenerateError(f"scope '{scope}': allowed: window, take")
        self.loaded = loaded
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.scope = scope
        self.device, self.dtype, self.bit_depth = device, dtype, bit_depth

    def model_for(self, sidecar: dict[str, Any]) -> Loaded:
        model = sidecar.get("model")
        if not model:
            raise GenerateError("the sidecar names no model; it was not written by `sori generate`")
        if self.loaded is None:
            # the take's own engine and weights: an int8 take is only made again exactly with int8 weights
            self.loaded = load_model(str(model), adapter=sidecar.get("adapter"), device=self.device, dtype=self.dtype,
                                     engine=str(sidecar.get("engine") or "auto"),
                                     quantize=bool(sidecar.get("quantized")))
        if (self.loaded.model_id, self.loaded.adapter) != (model, sidecar.get("adapter")):
            raise GenerateError(f"the take was made by {model}"
                                f"{' + ' + str(sidecar['adapter']) if sidecar.get('adapter') else ''}, but this "
                                f"regenerator holds {self.loaded.model_id}; give it that model")
        return self.loaded

    def __call__(self, request: Request) -> Take:
        sidecar = dict(request.sidecar)
        for key in ("prompt", "seed", "duration"):
            if key not in sidecar:
                raise GenerateError(f"the sidecar has no '{key}'; re-generation needs the prompt, seed and duration")
        seed = derive_seed(int(sidecar["seed"]), request.attempt)
        findings = [{k: f.get(k) for k in ("kind", "start", "end", "cents")} for f in request.findings]
        target = self._attempt_path(request)
        if target is not None:
            reused = self._reuse(target, seed, findings)
            if reused is not None:
                return reused
        loaded = self.model_for(sidecar)
        started = time.perf_counter()
        audio, scope, redone = self._make(loaded, sidecar, request, seed)
        elapsed = time.perf_counter() - started
        new = {**sidecar, "seed": seed,
               "regenerated": {"from_seed": int(sidecar["seed"]), "attempt": request.attempt, "scope": scope,
                               "windows": redone, "source": str(request.source) if request.source else None,
                               "findings": findings},
               "timings": {"seconds": round(elapsed, 4),
                           "real_time_factor": round(elapsed / max(float(sidecar["duration"]), 1e-9), 4)},
               "created": datetime.now(UTC).isoformat(timespec="seconds")}
        if target is not None:
            new["audio"] = target.name
            audio_io.write(target, audio, loaded.sample_rate, bit_depth=self.bit_depth, dither=False)
            audio_io.atomic_write_text(sidecar_path(target), json.dumps(new, ensure_ascii=False, indent=2) + "\n")
        return Take(audio, loaded.sample_rate, new)

    def _attempt_path(self, request: Request) -> Path | None:
        if self.out_dir is None:
            return None
        stem = Path(str(request.sidecar.get("audio") or (request.source.name if request.source else "take"))).stem
        stem = stem.split(".retry")[0]
        return self.out_dir / f"{stem}.retry{request.attempt}.wav"

    def _reuse(self, target: Path, seed: int, findings: list[dict[str, Any]]) -> Take | None:
        """An attempt written by an earlier run for the same seed and findings: read back, not generated again."""
        data, _ = load_sidecar(target)
        if (data is None or data.get("seed") != seed or not target.is_file()
                or (data.get("regenerated") or {}).get("findings") != findings):
            return None
        try:
            audio, rate = audio_io.read(target)
        except Exception:
            return None
        return Take(audio, rate, data)

    def _make(self, loaded: Loaded, sidecar: dict[str, Any], request: Request,
              seed: int) -> tuple[np.ndarray, str, list[int]]:
        sampling, tail, crossfade = _sampling(sidecar)
        caption, duration = str(sidecar["prompt"]), float(sidecar["duration"])
        conditioning = self._conditioning(loaded, sidecar, duration)
        windows = list(sidecar.get("windows") or [])
        original = self._original(request, loaded) if self.scope == "window" and len(windows) > 1 else None
        redo = sour_windows(windows, request.findings) if original is not None else []
        if original is None or not redo:
            audio, _ = render(loaded, caption, duration, sampling, seed=seed, tail_seconds=tail,
                              crossfade_seconds=crossfade, conditioning=conditioning)
            return audio, "take", [int(w["index"]) for w in windows] or [0]
        seed_everything(seed)
        audio = original
        for index in redo:
            audio = self._redo_window(loaded, caption, sampling, windows[index], audio, crossfade, conditioning)
        return audio, "window", redo

    def _original(self, request: Request, loaded: Loaded) -> np.ndarray | None:
        """The take's raw audio as generated, if it can be read and matches the model's rate; else None."""
        if request.source is None:
            return None
        try:
            audio, rate = audio_io.read(request.source)
        except Exception:
            return None
        return audio if rate == loaded.sample_rate and audio.shape[0] == loaded.channels else None

    @staticmethod
    def _conditioning(loaded: Loaded, sidecar: dict[str, Any], duration: float) -> dict[str, Any] | None:
        melody = sidecar.get("melody")
        if not melody:
            return None
        from .melody import melody_inputs
        return melody_inputs(loaded, melody["path"], duration)

    @staticmethod
    def _redo_window(loaded: Loaded, caption: str, sampling: Sampling, window: dict[str, Any], audio: np.ndarray,
                     crossfade: float, conditioning: dict[str, Any] | None) -> np.ndarray:
        """`audio` with window `window` made again, by continuation from the audio before it."""
        sr, fr = loaded.sample_rate, loaded.frame_rate
        hop = sr / fr
        new_frames = int(window["new_frames"])
        start = round(float(window["start_seconds"]) * fr * hop)
        end = min(audio.shape[-1], start + round(new_frames * hop))
        xf = max(1, round(crossfade * sr))
        if start == 0:          # the first window: nothing before it to continue from
            out = _call(loaded, caption, new_frames, sampling, conditioning=conditioning)
            joined = out[:, :end]
        else:
            prompt_frames = round(float(window.get("prompt_seconds") or 0) * fr) or new_frames // 2
            prompt_len = min(start, round(prompt_frames * hop))
            joined = continue_audio(loaded, caption, audio[:, :start], prompt_len, new_frames, end - start, sampling,
                                    xf, conditioning)
        joined = joined[:, :end]
        if joined.shape[-1] < end:
            joined = np.pad(joined, ((0, 0), (0, end - joined.shape[-1])))
        if end >= audio.shape[-1]:
            return np.ascontiguousarray(joined, dtype=np.float32)
        tail_xf = min(xf, end - start)      # back into the original, inside the redone window
        patched = crossfade_join(joined, audio[:, end - tail_xf:], tail_xf)
        return np.ascontiguousarray(patched[:, :audio.shape[-1]], dtype=np.float32)
