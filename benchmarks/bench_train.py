"""Benchmark: fine-tuning throughput with the token cache against re-encoding the audio at every step, same run.

The model is the real facebook/musicgen-small architecture with random weights (`bench_generate.build_musicgen_small`:
T5-base text encoder, 32 kHz EnCodec, 24-layer 1024-wide decoder, 420 M decoder parameters); step cost does not
depend on the weights' values, and nothing is downloaded. The data: --windows synthetic 32 kHz windows of
--window-seconds (plucked and bowed tones over noise) written as FLAC into a prepared-dataset folder, as
`sori data prepare` writes them.

Both rows run the same training step (`generate.finetune.train`: delay pattern, frozen T5 and EnCodec, LoRA or full
decoder, AdamW, --batch windows cropped to --seconds) from the same windows in the same order:

* cache: codes come from the token cache made once by `sori data tokenize` (`generate.finetune.tokens`); the
  one-time tokenization is timed and printed apart;
* re-encode: each step reads the windows' FLAC files, crops them, and encodes them with EnCodec before the step,
  as trainers without a cache do (audiocraft's MusicGen solver encodes every batch with its compression model).

Throughput = target tokens (frames x codebooks) per second of wall time over --steps timed steps, after one untimed
warm-up step per row, the rows' steps alternating; "data" is the part of a step spent making the batch (also per
second of audio in it). The ratio is cache / re-encode from this run.

Last, a full-run estimate for the real dataset (--hours 42.8 of AI Hub 71470) on a GPU: positions and tokens per
pass, steps at --gpu-batch windows of --gpu-window seconds, and the time per pass from the step's floating-point
operations (counted from the decoder's linear layers and attention, x3 for full training, x2 for LoRA, which computes
no weight gradients for the frozen matrices) at an assumed share (--mfu) of the GPU's bf16 peak (--peak-tflops,
989 for an H100 SXM). The same count divided by this run's measured step time gives the CPU's achieved rate, a
check on the count. A measured GPU row replaces the estimate where a GPU is lent (--device cuda).

    .venv/bin/python benchmarks/bench_train.py [--seconds 5] [--batch 2] [--steps 4] [--method lora|full]
                                               [--threads 2] [--device cpu|cuda] [--json PATH]

The exit status is 0 either way: read the printed rows.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_generate import CAPTION_TOKENS, build_musicgen_small

from generate.finetune import tokens as tok
from generate.finetune.batches import Batches, collate, delay_pattern
from generate.finetune.config import TrainConfig
from generate.finetune.model import DecoderLM, lm_loss, prepare_model
from generate.musicgen import Loaded

RATE = 32_000


def write_dataset(root: Path, windows: int, seconds: float) -> Path:
    """A prepared-dataset folder: FLAC windows and manifest.jsonl (train split)."""
    rng = np.random.default_rng(0)
    (root / "audio" / "train").mkdir(parents=True)
    rows = []
    t = np.arange(round(seconds * RATE)) / RATE
    for i in range(windows):
        f0 = 110.0 * 2 ** (rng.integers(0, 24) / 12)
        tone = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 6)) * np.exp(-t % 0.5 * 4)
        audio = (0.2 * tone + 0.02 * rng.standard_normal(t.size)).astype(np.float32)
        rel = f"audio/train/w{i:03d}-000.flac"
        sf.write(root / rel, audio, RATE, subtype="PCM_16")
        rows.append({"id": f"train/w{i:03d}-000", "split": "train", "audio": rel, "sample_rate": RATE,
                     "duration_s": seconds, "caption": f"window {i}", "caption_ko": ""})
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return root


class ReencodedBatches(Batches):
    """The same items and crops as `Batches`, but the codes come from the audio files through EnCodec each time."""

    def __init__(self, windows: list[Any], dataset: Path, codec_model: Any, frame_samples: int, **kw: Any) -> None:
        super().__init__(windows, **kw)
        self.dataset, self.codec_model, self.hop = dataset, codec_model, frame_samples

    def next(self) -> dict[str, Any]:
        planned = self.plan()                 # the same items and crops as the cache row
        codes = []
        for i in planned["items"]:
            w = self.windows[i]
            audio, _ = sf.read(self.dataset / w.record["audio"], dtype="float32")      # written at the model's rate
            off = planned["offsets"][len(codes)] * self.hop
            clip = audio[off:off + self.frames * self.hop]
            codes.append(torch.from_numpy(tok.encode(self.codec_model, [clip])[0]))
        return collate(codes, planned["captions"]) | {"keep": planned["keep"]}


class Row:
    """One way of feeding the same training step; its own optimiser, its timings."""

    def __init__(self, name: str, module: Any, batches: Batches, ids: torch.Tensor, start: int,
                 device: str) -> None:
        self.name, self.module, self.batches, self.ids = name, module, batches, ids
        self.start, self.device = start, device
        self.opt = torch.optim.AdamW([p for p in module.parameters() if p.requires_grad], lr=1e-5, betas=(0.9, 0.95),
                                     weight_decay=0.1)
        self.wall = self.data = self.tokens = 0.0
        self.steps = 0

    def step(self, timed: bool = True) -> None:
        sync = torch.cuda.synchronize if self.device.startswith("cuda") else (lambda: None)
        sync()
        t0 = time.perf_counter()
        b = self.batches.next()
        t1 = time.perf_counter()
        codes, lengths = b["codes"].to(self.device), b["lengths"].to(self.device)
        inputs, targets, mask = delay_pattern(codes, lengths, self.start)
        n = len(b["captions"])
        ids = self.ids[:n].to(self.device)
        with torch.autocast(self.device.split(":")[0], dtype=torch.bfloat16, enabled=self.device.startswith("cuda")):
            logits = self.module(ids, torch.ones_like(ids), b["keep"].to(self.device), inputs)
        loss, _, counts = lm_loss(logits, targets, mask)
        loss.backward()
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        sync()
        if timed:
            self.wall += time.perf_counter() - t0
            self.data += t1 - t0
            self.tokens += float(counts.sum().item())
            self.steps += 1

    def result(self, audio_s_per_step: float) -> dict[str, Any]:
        return {"row": self.name, "steps": self.steps, "tokens": int(self.tokens), "seconds": self.wall,
                "tokens_per_s": self.tokens / self.wall, "s_per_step": self.wall / self.steps,
                "data_s_per_step": self.data / self.steps,
                "data_s_per_audio_s": self.data / self.steps / audio_s_per_step}


def flops_per_position(model: Any, positions: int, text_tokens: int, method: str) -> float:
    """Training FLOPs per decoder position: 2 per multiply-add of every linear layer, plus causal self-attention
    (scores and values over positions/2 on average) and cross-attention over the caption, times 3 (full: forward,
    input and weight gradients) or 2 (LoRA: forward and input gradients)."""
    decoder = model.decoder
    linear = sum(m.weight.numel() for m in decoder.modules() if isinstance(m, torch.nn.Linear))
    cfg = decoder.config
    attention = 2 * 2 * cfg.hidden_size * cfg.num_hidden_layers * (positions / 2 + text_tokens)
    return (2 * linear + attention) * (3 if method == "full" else 2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=5.0, help="crop length per window (default 5)")
    ap.add_argument("--window-seconds", type=float, default=15.0, help="length of each window (default 15)")
    ap.add_argument("--windows", type=int, default=8)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--method", choices=("lora", "full"), default="lora")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--hours", type=float, default=42.8, help="audio in the full dataset (AI Hub 71470: 42.8)")
    ap.add_argument("--gpu-batch", type=int, default=16, help="windows per step in the estimate")
    ap.add_argument("--gpu-window", type=float, default=30.0, help="seconds per window in the estimate")
    ap.add_argument("--mfu", type=float, default=0.3, help="assumed share of the GPU's peak in the estimate")
    ap.add_argument("--peak-tflops", type=float, default=989.0, help="GPU bf16 dense peak (H100 SXM: 989)")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    from transformers.utils import logging as hf_logging
    hf_logging.set_verbosity_error()
    torch.set_num_threads(args.threads)

    model = build_musicgen_small().to(args.device)
    loaded = Loaded(model=model, processor=None, model_id="musicgen-small architecture (random weights)",
                    revision=None, device=args.device, dtype="float32", sample_rate=RATE, frame_rate=50.0,
                    max_seconds=30.0, num_codebooks=4)
    cfg = TrainConfig(model="bench", data="bench", output="bench", method=args.method, caption_dropout=0.1)
    frames = round(args.seconds * loaded.frame_rate)
    ids = torch.randint(3, 32000, (args.batch, CAPTION_TOKENS))
    print(f"musicgen-small architecture, random weights, {args.method}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, device {args.device}; batch {args.batch} x {args.seconds:g} s "
          f"({frames} frames x 4 codebooks), {args.steps} timed steps per row; load {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        ds = write_dataset(Path(tmp) / "ds", args.windows, args.window_seconds)
        t = time.perf_counter()
        cached = tok.tokenize(ds, "bench", cache_dir=Path(tmp) / "cache", loaded=loaded, batch_size=args.batch)
        t_tok = time.perf_counter() - t
        print(f"tokenize once: {cached.windows} windows, {args.windows * args.window_seconds:g} s of audio in "
              f"{t_tok:.1f} s ({args.windows * args.window_seconds / t_tok:.1f}x real time)")
        cache = tok.TokenCache(Path(tmp) / "cache")
        module = DecoderLM(prepare_model(model, cfg)).to(args.device).train()
        start = int(model.generation_config.decoder_start_token_id)
        kw = {"batch": args.batch, "frames": frames, "seed": 0, "dropout": 0.1}
        rows_ = [Row("cache", module, Batches(cache.split("train"), **kw), ids, start, args.device),
                 Row("re-encode", module, ReencodedBatches(cache.split("train"), ds, model, 640, **kw), ids, start,
                     args.device)]
        for r in rows_:
            r.step(timed=False)                             # warm-up
        for _ in range(args.steps):                         # alternate, so drift in the machine's speed hits both
            for r in rows_:
                r.step()
        rows = [r.result(args.batch * args.seconds) for r in rows_]
    print(f"{'row':<10} {'tokens/s':>9} {'s/step':>8} {'of which data':>14} {'data s per audio s':>19}")
    for r in rows:
        print(f"{r['row']:<10} {r['tokens_per_s']:>9.1f} {r['s_per_step']:>8.2f} {r['data_s_per_step']:>12.3f} s "
              f"{r['data_s_per_audio_s']:>19.4f}")
    ratio = rows[0]["tokens_per_s"] / rows[1]["tokens_per_s"]
    print(f"cache / re-encode: {ratio:.2f}x tokens per second; load after {os.getloadavg()[0]:.2f}")
    # the full-run estimate
    per_pos = flops_per_position(model, frames + 3, CAPTION_TOKENS, args.method)
    cpu_rate = per_pos * args.batch * (frames + 3) / rows[0]["s_per_step"]
    positions = args.hours * 3600 * loaded.frame_rate
    tokens = positions * loaded.num_codebooks
    gpu_frames = round(args.gpu_window * loaded.frame_rate)
    steps = positions / (args.gpu_batch * gpu_frames)
    gpu_per_pos = flops_per_position(model, gpu_frames + 3, CAPTION_TOKENS, args.method)
    pass_s = positions * gpu_per_pos / (args.peak_tflops * 1e12 * args.mfu)
    tok_rate = tokens / pass_s
    print(f"count: {per_pos / 1e9:.2f} GFLOP per position here ({args.method}); this CPU ran the cache row at "
          f"{cpu_rate / 1e9:.0f} GFLOP/s")
    print(f"full run, {args.hours:g} h: {positions / 1e6:.2f} M positions = {tokens / 1e6:.1f} M tokens a pass; "
          f"{steps:.0f} steps a pass at {args.gpu_batch} x {args.gpu_window:g} s; {gpu_per_pos / 1e9:.2f} GFLOP per "
          f"position -> {pass_s / 60:.1f} min a pass ({tok_rate / 1e3:.0f} k tokens/s) at {args.mfu:.0%} of "
          f"{args.peak_tflops:g} TFLOPS (estimate, not a measurement)")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "ratio": ratio, "tokenize_seconds": t_tok,
                                         "flops_per_position": per_pos, "cpu_flops_per_s": cpu_rate,
                                         "estimate": {"positions": positions, "tokens": tokens, "steps": steps,
                                                      "pass_seconds": pass_s}}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
