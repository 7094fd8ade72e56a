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
warm-up step per row. The ratio is cache / re-encode from this run.

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
from generate.finetune import train as tr
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


class ReencodedBatches(tr.Batches):
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
        return tr.collate(codes, planned["captions"]) | {"keep": planned["keep"]}


def run(name: str, module: Any, batches: tr.Batches, ids: torch.Tensor, steps: int, start: int,
        device: str) -> dict[str, Any]:
    trainable = [p for p in module.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=1e-5, betas=(0.9, 0.95), weight_decay=0.1)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)

    def step() -> float:
        b = batches.next()
        codes, lengths = b["codes"].to(device), b["lengths"].to(device)
        inputs, targets, mask = tr.delay_pattern(codes, lengths, start)
        n = len(b["captions"])
        with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=device.startswith("cuda")):
            logits = module(ids[:n].to(device), torch.ones_like(ids[:n]).to(device), b["keep"].to(device), inputs)
        loss, _, counts = tr.lm_loss(logits, targets, mask)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return float(counts.sum().item())

    step()                                                  # warm-up
    sync()
    t = time.perf_counter()
    tokens = sum(step() for _ in range(steps))
    sync()
    wall = time.perf_counter() - t
    return {"row": name, "steps": steps, "tokens": int(tokens), "seconds": wall, "tokens_per_s": tokens / wall,
            "s_per_step": wall / steps}


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
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    from transformers.utils import logging as hf_logging
    hf_logging.set_verbosity_error()
    torch.set_num_threads(args.threads)

    model = build_musicgen_small().to(args.device)
    loaded = Loaded(model=model, processor=None, model_id="musicgen-small architecture (random weights)",
                    revision=None, device=args.device, dtype="float32", sample_rate=RATE, frame_rate=50.0,
                    max_seconds=30.0, num_codebooks=4)
    cfg = tr.TrainConfig(model="bench", data="bench", output="bench", method=args.method, caption_dropout=0.1)
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
        module = tr._module_class()(tr.prepare_model(model, cfg)).to(args.device).train()
        start = int(model.generation_config.decoder_start_token_id)
        kw = {"batch": args.batch, "frames": frames, "seed": 0, "dropout": 0.1}
        rows = [run("cache", module, tr.Batches(cache.split("train"), **kw), ids, args.steps, start, args.device),
                run("re-encode", module, ReencodedBatches(cache.split("train"), ds, model, 640, **kw), ids,
                    args.steps, start, args.device)]
    print(f"{'row':<10} {'tokens/s':>9} {'s/step':>8}")
    for r in rows:
        print(f"{r['row']:<10} {r['tokens_per_s']:>9.1f} {r['s_per_step']:>8.2f}")
    ratio = rows[0]["tokens_per_s"] / rows[1]["tokens_per_s"]
    print(f"cache / re-encode: {ratio:.2f}x tokens per second; load after {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "ratio": ratio, "tokenize_seconds": t_tok}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
