"""The AudioSR backend: a client for `audiosr_worker.py` running in AudioSR's own environment.

Long audio is cut into overlapping chunks (AudioSR works on about 10 s at a time), each chunk is
super-resolved by the worker, and the chunks are joined by overlap-add with complementary raised-cosine
fades. The worker loads the model once per call; GPU when the worker's torch sees one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from ..errors import ProcessingError

OUTPUT_RATE = 48_000
WORKER = Path(__file__).with_name("audiosr_worker.py")
HUB_IDS = {"basic": "haoheliu/audiosr_basic", "speech": "haoheliu/audiosr_speech"}
PYTHON_ENV = "SORI_AUDIOSR_PYTHON"


def _not_installed(python: str, detail: str) -> ProcessingError:
    return ProcessingError(
        f"superres: the AudioSR backend needs the `audiosr` package, which the interpreter {python} cannot "
        f"import ({detail}). AudioSR pins numpy<=1.23.5 and transformers 4.30.2, so give it an environment of "
        "its own: `python3 -m venv ~/.audiosr && ~/.audiosr/bin/pip install audiosr==0.0.7 soundfile "
        "torch==2.11.0 torchaudio==2.11.0 torchvision==0.26.0` (exact versions: torchaudio loads only with the "
        "torch it was built for, and 2.11.1 has no torch to match), then "
        f"point Sori at it with `python: ~/.audiosr/bin/python` in the superres stage or {PYTHON_ENV}=... ; "
        "or use `backend: bwe`, which needs no model.")


def _weights_missing(model: str, detail: str) -> ProcessingError:
    hub = HUB_IDS.get(model, model)
    return ProcessingError(
        f"superres: the AudioSR model '{model}' (Hugging Face `{hub}`, file pytorch_model.bin, and the "
        "`roberta-base` tokenizer AudioSR loads when it is imported) is not in the local cache, and this "
        "machine cannot download it. Provide it by running AudioSR once on a machine "
        "with internet access and copying its Hugging Face cache (~/.cache/huggingface/hub, or $HF_HOME/hub) "
        "to the same place here, or by setting HF_HOME to a folder that holds it; with the weights in place, "
        "set HF_HUB_OFFLINE=1 so nothing tries the network. Or use `backend: bwe`, which needs no model. "
        f"({detail})")


class Worker:
    """One worker process, loaded with one model."""

    def __init__(self, python: str | None, model: str, device: str, env: dict[str, str] | None = None) -> None:
        self.python = python or os.environ.get(PYTHON_ENV) or sys.executable
        if shutil.which(self.python) is None and not Path(self.python).is_file():
            raise _not_installed(self.python, "no such interpreter")
        self.proc = subprocess.Popen([self.python, str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, env={**os.environ, **(env or {})})
        answer = self.ask(cmd="load", model=model, device=device)
        if not answer.get("ok"):
            self.close()
            kind, detail = answer.get("kind"), answer.get("message", "")
            if kind == "not_installed":
                raise _not_installed(self.python, detail)
            if kind == "weights_missing":
                raise _weights_missing(model, detail)
            raise ProcessingError(f"superres: AudioSR could not load model '{model}': {detail}")
        self.device = answer.get("device")

    def ask(self, **request: object) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            raise ProcessingError(f"superres: the AudioSR worker ({self.python}) exited unexpectedly")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.ask(cmd="quit")
            except (ProcessingError, ValueError, OSError):
                pass
            self.proc.kill()
        self.proc.wait()


def chunk_bounds(frames: int, chunk: int, overlap: int) -> list[tuple[int, int]]:
    """Start and stop of chunks of `chunk` frames overlapping by `overlap`, covering `frames`."""
    if frames <= chunk:
        return [(0, frames)]
    step = chunk - overlap
    starts = list(range(0, frames - overlap, step))
    return [(s, min(s + chunk, frames)) for s in starts]


def overlap_add(pieces: list[tuple[int, np.ndarray]], total: int, overlap: int) -> np.ndarray:
    """Join (start, audio) pieces whose neighbours overlap by `overlap` frames with equal-power-free
    (amplitude-complementary) raised-cosine fades, so a steady signal keeps its level through a seam."""
    channels = pieces[0][1].shape[0]
    out = np.zeros((channels, total), dtype=np.float32)
    weight = np.zeros(total, dtype=np.float32)
    fade = (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, overlap, dtype=np.float32))) if overlap else None
    for i, (start, piece) in enumerate(pieces):
        n = min(piece.shape[-1], total - start)
        w = np.ones(n, dtype=np.float32)
        if fade is not None and i > 0:
            w[:overlap] = fade[: min(overlap, n)] if n >= overlap else fade[:n]
        if fade is not None and i < len(pieces) - 1 and n >= overlap:
            w[-overlap:] = fade[::-1]
        out[:, start: start + n] += piece[:, :n] * w
        weight[start: start + n] += w
    return out / np.maximum(weight, 1e-6)


def super_resolve(audio: np.ndarray, sample_rate: int, *, model: str = "basic", device: str = "auto",
                  steps: int = 50, guidance: float = 3.5, seed: int = 0, chunk_s: float = 10.24,
                  overlap_s: float = 0.5, python: str | None = None, env: dict[str, str] | None = None
                  ) -> np.ndarray:
    """AudioSR on `audio` (channels, frames) at `sample_rate`; returns float32 at 48 kHz."""
    worker = Worker(python, model, device, env)
    try:
        total = round(audio.shape[-1] * OUTPUT_RATE / sample_rate)
        chunk, overlap = round(chunk_s * sample_rate), round(overlap_s * sample_rate)
        pieces: list[tuple[int, np.ndarray]] = []
        with tempfile.TemporaryDirectory(prefix="sori-audiosr-") as tmp:
            for i, (start, stop) in enumerate(chunk_bounds(audio.shape[-1], chunk, overlap)):
                channels = []
                for c in range(audio.shape[0]):
                    src, dst = Path(tmp) / f"in_{i}_{c}.wav", Path(tmp) / f"out_{i}_{c}.wav"
                    sf.write(src, audio[c, start:stop], sample_rate, subtype="FLOAT")
                    answer = worker.ask(cmd="run", input=str(src), output=str(dst), seed=seed + i, steps=steps,
                                        guidance=guidance)
                    if not answer.get("ok"):
                        raise ProcessingError(f"superres: AudioSR failed on chunk {i}: {answer.get('message')}")
                    channels.append(sf.read(dst, dtype="float32")[0])
                n = min(x.size for x in channels)
                pieces.append((round(start * OUTPUT_RATE / sample_rate), np.stack([x[:n] for x in channels])))
        return overlap_add(pieces, total, round(overlap_s * OUTPUT_RATE))
    finally:
        worker.close()
