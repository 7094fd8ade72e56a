"""Benchmark: MusicGen decoding speed, plain `model.generate` against Sori's generation path, same model, same run.

The model is the real facebook/musicgen-small architecture, built here from its configuration with random weights
(decoding cost does not depend on their values, and nothing is downloaded): a T5-base text encoder (12 layers,
d_model 768, 12 heads, d_ff 3072, vocabulary 32128), the 32 kHz EnCodec of MusicGen (4 codebooks of 2048 at 50 Hz,
hop 8*5*4*4 = 640, 64 filters, hidden 128, 2 LSTM layers, non-causal, weight norm) and the decoder (24 layers,
hidden 1024, 16 heads, ffn 4096, 4 codebooks, vocabulary 2048, 2048 positions), 420 M decoder parameters.

One take of --seconds (10 s = 500 frames + 3 delay steps = 503 decoding steps) with classifier-free guidance 3 and
top-k 250, from a 12-token caption, for each row:

* plain fp32: `model.generate(...)`, as `engine="transformers"` runs it;
* sori fp32: `generate.fast.generate(...)`, as `engine="sori"` runs it; same seed, so its tokens must be plain's;
* sori int8: the same after `generate.fast.quantize` (CPU only; its tokens differ from fp32's by design).
On `--device cuda` the rows are fp32 and bf16 for both engines (no int8).

Each row gets one short untimed warm-up first. Timed per row: wall seconds of the whole take (text encoding,
decoding, EnCodec decoding), and the decoding loop alone (wall minus the text encoder and EnCodec calls, measured
with hooks on them), as decoding steps per second. Real-time factor = compute seconds per second of audio (< 1 is
faster than real time). Ratios are against plain fp32 from this run. The target: the best Sori row at least 2x
plain fp32's end-to-end speed, with sori fp32's tokens equal to plain's.

    .venv/bin/python benchmarks/bench_generate.py [--seconds 10] [--threads 2] [--device cpu|cuda] [--json PATH]

The CPU numbers are wall-clock on whatever else the machine is doing: the load average is printed before and after.
The exit status is 0 whether or not the target is met: this is a benchmark, read the PASS/FAIL lines.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from generate import fast

FRAME_RATE = 50
CODEBOOKS = 4
CAPTION_TOKENS = 12
TARGET_SPEEDUP = 2.0


def build_musicgen_small(seed: int = 0) -> Any:
    """facebook/musicgen-small's architecture and generation settings, random weights, eval mode, float32."""
    from transformers import (
        EncodecConfig,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        T5Config,
    )

    text = T5Config(vocab_size=32128, d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_heads=12,
                    relative_attention_num_buckets=32, feed_forward_proj="relu", layer_norm_epsilon=1e-6,
                    pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    codec = EncodecConfig(sampling_rate=32_000, audio_channels=1, target_bandwidths=[2.2], normalize=False,
                          chunk_length_s=None, overlap=None, hidden_size=128, num_filters=64, num_residual_layers=1,
                          upsampling_ratios=[8, 5, 4, 4], norm_type="weight_norm", kernel_size=7, last_kernel_size=7,
                          residual_kernel_size=3, dilation_growth_rate=2, use_causal_conv=False, pad_mode="reflect",
                          compress=2, num_lstm_layers=2, trim_right_ratio=1.0, codebook_size=2048,
                          codebook_dim=128, use_conv_shortcut=False)
    decoder = MusicgenDecoderConfig(vocab_size=2048, max_position_embeddings=2048, num_hidden_layers=24,
                                    ffn_dim=4096, num_attention_heads=16, hidden_size=1024, num_codebooks=CODEBOOKS,
                                    activation_function="gelu", layerdrop=0.0, dropout=0.1, attention_dropout=0.0,
                                    activation_dropout=0.0, scale_embedding=False, audio_channels=1,
                                    pad_token_id=2048, bos_token_id=2048, tie_word_embeddings=False)
    config = MusicgenConfig(text_encoder=text, audio_encoder=codec, decoder=decoder)
    torch.manual_seed(seed)
    model = MusicgenForConditionalGeneration(config).eval()
    with torch.no_grad():                 # EnCodec's codebooks start at zeros: give them values, as trained ones have
        for layer in model.audio_encoder.quantizer.layers:
            layer.codebook.embed.normal_()
    # the checkpoint's generation_config.json
    model.generation_config.update(bos_token_id=2048, pad_token_id=2048, decoder_start_token_id=2048, do_sample=True,
                                   guidance_scale=3.0, top_k=250, max_length=1500)
    return model


class Probe:
    """Times the text encoder and EnCodec decode calls of one take and keeps the codes EnCodec is given."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.outside = 0.0
        self.codes: list[torch.Tensor] = []

    @contextlib.contextmanager
    def attach(self) -> Iterator[Probe]:
        model, sync = self.model, _sync(self.model)
        original = model.audio_encoder.decode
        started: list[float] = []

        def decode(codes: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
            sync()
            t = time.perf_counter()
            self.codes.append(codes.detach().cpu().clone())
            out = original(codes, *args, **kwargs)
            sync()
            self.outside += time.perf_counter() - t
            return out

        def pre(*_: Any) -> None:
            sync()
            started.append(time.perf_counter())

        def post(*_: Any) -> None:
            sync()
            self.outside += time.perf_counter() - started.pop()

        hooks = [model.text_encoder.register_forward_pre_hook(pre), model.text_encoder.register_forward_hook(post)]
        model.audio_encoder.decode = decode
        try:
            yield self
        finally:
            del model.audio_encoder.decode        # back to the class's method
            for h in hooks:
                h.remove()


def _sync(model: Any) -> Callable[[], None]:
    device = next(model.parameters()).device
    return (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)


def run_take(model: Any, engine: str, inputs: dict[str, torch.Tensor], steps: int, seed: int) -> dict[str, Any]:
    """One take through `engine` ('plain' or 'sori'): timings, the codes and the audio shape."""
    kwargs = {"do_sample": True, "guidance_scale": 3.0, "top_k": 250, "top_p": 1.0, "temperature": 1.0}
    probe = Probe(model)
    sync = _sync(model)
    with probe.attach(), torch.inference_mode():
        torch.manual_seed(seed)
        sync()
        t = time.perf_counter()
        if engine == "plain":
            audio = model.generate(**inputs, max_new_tokens=steps, **kwargs)
        else:
            audio = fast.generate(model, inputs, max_new_tokens=steps, **kwargs)
        sync()
        wall = time.perf_counter() - t
    return {"wall": wall, "loop": wall - probe.outside, "outside": probe.outside, "codes": probe.codes,
            "samples": int(audio.shape[-1]), "finite": bool(torch.isfinite(audio).all())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="length of the take (default 10)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--json", type=Path, help="also write the rows here")
    args = ap.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"--device {args.device}: CUDA is not available here")
        return 2
    warnings.filterwarnings("ignore")
    from transformers.utils import logging as hf_logging
    hf_logging.set_verbosity_error()
    torch.set_num_threads(args.threads)

    frames = max(1, round(args.seconds * FRAME_RATE))
    steps = frames + CODEBOOKS - 1
    audio_seconds = frames / FRAME_RATE
    t = time.perf_counter()
    model = build_musicgen_small()
    built = time.perf_counter() - t
    params = sum(p.numel() for p in model.decoder.parameters()) / 1e6
    gen = torch.Generator().manual_seed(0)
    words = torch.randint(3, 32000, (1, CAPTION_TOKENS - 1), generator=gen)
    ids = torch.cat([words, torch.ones(1, 1, dtype=torch.long)], dim=1)          # T5 ends a caption with </s> = 1
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    print(f"musicgen-small architecture, random weights ({params:.0f} M decoder parameters), built in {built:.1f} s; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    print(f"take: {audio_seconds:g} s = {frames} frames + {CODEBOOKS - 1} delay steps = {steps} decoding steps, "
          f"guidance 3, top-k 250, caption of {CAPTION_TOKENS} tokens, seed {args.seed}")
    load_before = os.getloadavg()

    if args.device == "cpu":
        plan = [("plain", "fp32", None), ("sori", "fp32", None), ("sori", "int8", "quantize")]
    else:
        plan = [("plain", "fp32", "cuda"), ("sori", "fp32", None), ("plain", "bf16", "bf16"), ("sori", "bf16", None)]
    rows: list[dict[str, Any]] = []
    for engine, precision, change in plan:
        if change == "quantize":
            model = fast.quantize(model)
        elif change == "cuda":
            model = model.to(args.device)
        elif change == "bf16":
            model = model.to(torch.bfloat16)
        dev_inputs = {k: v.to(args.device) for k, v in inputs.items()}
        run_take(model, engine, dev_inputs, min(steps, 8), args.seed)       # warm-up, untimed
        r = run_take(model, engine, dev_inputs, steps, args.seed)
        r.update(engine=engine, precision=precision)
        rows.append(r)
        print(f"  {engine} {precision}: {r['wall']:.1f} s", flush=True)
    load_after = os.getloadavg()

    base = rows[0]
    print(f"\n{'engine':8s} {'weights':7s} {'steps/s':>8s} {'loop s':>8s} {'wall s':>8s} {'RTF':>7s} "
          f"{'x real-time':>11s} {'speed vs plain':>14s} {'steps/s vs plain':>16s}")
    for r in rows:
        r["steps_per_s"] = steps / r["loop"]
        r["rtf"] = r["wall"] / audio_seconds
        r["speedup"] = base["wall"] / r["wall"]
        r["loop_speedup"] = r["steps_per_s"] / (steps / base["loop"])
        print(f"{r['engine']:8s} {r['precision']:7s} {r['steps_per_s']:8.2f} {r['loop']:8.1f} {r['wall']:8.1f} "
              f"{r['rtf']:7.2f} {audio_seconds / r['wall']:11.3f} {r['speedup']:13.2f}x {r['loop_speedup']:15.2f}x")
    print("steps/s: decoding steps per second of the decoding loop (wall minus the text encoder and EnCodec calls); "
          "RTF: seconds of compute per second of audio, whole take; x real-time: its inverse; "
          f"text encoder + EnCodec took {base['outside']:.1f} s of the plain take")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (other work on the machine makes "
          "these numbers noisy)")

    same = {}
    for r in rows:
        if r["engine"] == "sori":
            ref = next((p for p in rows if p["engine"] == "plain" and p["precision"] == r["precision"]), base)
            same[f"sori {r['precision']} vs plain {ref['precision']}"] = (
                len(r["codes"]) == len(ref["codes"])
                and all(torch.equal(a, b) for a, b in zip(r["codes"], ref["codes"], strict=True)))
    for name, eq in same.items():
        print(f"tokens {name}: {'equal' if eq else 'differ'}")
    fp32_equal = same.get("sori fp32 vs plain fp32", False)
    shapes_ok = all(r["samples"] == rows[0]["samples"] and r["finite"] for r in rows)
    best = max((r for r in rows if r["engine"] == "sori"), key=lambda r: r["speedup"])
    checks = [
        (fp32_equal, "sori fp32 gives plain generate's tokens for the same seed"),
        (best["speedup"] >= TARGET_SPEEDUP,
         f"best Sori row (sori {best['precision']}) >= {TARGET_SPEEDUP:g}x plain end to end: {best['speedup']:.2f}x"),
        (shapes_ok, f"every row returns {rows[0]['samples']} finite samples ({audio_seconds:g} s)"),
    ]
    print()
    for ok, text in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    if args.json:
        keep = ("engine", "precision", "wall", "loop", "outside", "steps_per_s", "rtf", "speedup", "loop_speedup")
        args.json.write_text(json.dumps({"seconds": audio_seconds, "steps": steps, "threads": args.threads,
                                         "device": args.device, "rows": [{k: r[k] for k in keep} for r in rows],
                                         "tokens_equal": same, "load": [load_before[0], load_after[0]]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
