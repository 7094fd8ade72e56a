"""Benchmark: `sori batch` on the local engine against the Ray engine, on the same folder, in one run.

The folder: --files synthetic takes of --bars bars (plucked melody over a drum loop, degraded as generators leave
them: tests/signals.py), mastered with --preset (default `streaming`, the whole chain, CREPE pitch check included;
--set as in `sori batch`). A Ray cluster of --cpus CPUs is started once on this machine by this script (its start-up
is timed and printed apart: `--engine ray` without --address pays it on every run, a cluster started with
`ray start --head` once). Each row is one `sori batch` process, timed from start to exit, as a user runs it:

    local  --jobs 1       this process
    ray    1 worker       `--engine ray --address A --jobs 1`
    local  --jobs 2       a pool of two spawned processes
    ray    2 workers      `--engine ray --address A --jobs 2`

The rows run in that order, each into a fresh output folder (the outputs are checked identical across rows), the
four of them --repeat times (the rounds interleaved, so that a busy spell of a shared machine hits every row); each
row's wall time is the median of its rounds, and the spread (min-max) is printed. Printed: files per second, each
row against the local engine with the same number of workers, and Ray's overhead per file: (Ray's wall time - the
local engine's) x workers / files, the worker-seconds a file costs more on Ray, all included. That overhead is then
split into a part per job and a part per file: a one-file folder is mastered by both engines with one worker, and
the difference is Ray's cost per job (importing ray, joining the cluster, the job's worker processes starting,
shutting down); (the 2-worker difference - that) x 2 / files is the cost per file. Last, the
per-file costs that the closing estimate uses: mastering compute per second of audio (the local --jobs 1 row's
reports), and EnCodec (musicgen-small's 32 kHz codec, random weights: the cost does not depend on their values)
seconds per second of audio on one CPU thread.

    .venv/bin/python benchmarks/bench_ray.py [--files 16] [--bars 4] [--cpus 2] [--repeat 1]
                                             [--preset streaming] [--set dissonance=null] [--json PATH]

The exit status is 0 either way: read the printed rows.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))                        # tests.signals
sys.path.insert(0, str(ROOT / "benchmarks"))         # bench_generate
SORI = str(Path(sys.executable).with_name("sori"))


def make_folder(root: Path, files: int, bars: int) -> float:
    """The takes; returns their total duration in seconds."""
    import soundfile as sf
    from tests.signals import degrade, drum_loop, mix, pluck_melody

    total = 0.0
    for i in range(files):
        rng = np.random.default_rng(1000 + i)
        take = degrade(mix(pluck_melody(32_000, rng, bars=bars), drum_loop(32_000, rng, bars=bars)), rng)
        path = root / ("album" if i % 2 else "") / f"take_{i:03d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, take.audio.T, 32_000, subtype="PCM_16")
        total += take.audio.shape[-1] / 32_000
    return total


def masters(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*.wav")) if not any(part.startswith(".") for part in p.relative_to(out).parts)}


def batch(src: Path, out: Path, extra: list[str], sets: list[str], preset: str) -> float:
    cmd = [SORI, "batch", str(src), str(out), "--preset", preset, "-q", *extra]
    for s in sets:
        cmd += ["--set", s]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def encodec_cost(seconds: float = 10.0) -> float:
    """Seconds of EnCodec (musicgen-small's 32 kHz codec) per second of audio, one CPU thread."""
    import torch
    from bench_generate import build_musicgen_small
    from transformers import EncodecModel

    from generate.finetune.tokens import encode

    torch.set_num_threads(1)
    codec: EncodecModel = build_musicgen_small().audio_encoder

    class Holder:
        audio_encoder = codec

    x = np.random.default_rng(0).standard_normal(int(seconds * 32_000)).astype(np.float32) * 0.1
    encode(Holder, [x])                                            # warm-up
    start = time.perf_counter()
    encode(Holder, [x, x])
    return (time.perf_counter() - start) / (2 * seconds)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=16)
    ap.add_argument("--bars", type=int, default=4)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1, help="rounds of the four rows (median reported)")
    ap.add_argument("--preset", default="streaming")
    ap.add_argument("--set", dest="sets", action="append", default=[])
    ap.add_argument("--no-encodec", action="store_true", help="skip the EnCodec cost row")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    import ray

    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        src = Path(tmp) / "in"
        audio_s = make_folder(src, args.files, args.bars)
        print(f"{args.files} takes, {audio_s:.0f} s of audio ({audio_s / args.files:.1f} s each), preset "
              f"{args.preset} {' '.join(args.sets)}; machine: {os.cpu_count()} CPUs")
        start = time.perf_counter()
        ctx = ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
        startup = time.perf_counter() - start
        address = ctx.address_info["gcs_address"]
        print(f"Ray cluster start-up ({args.cpus} CPUs, this machine): {startup:.1f} s (once per cluster)")
        runs = [("local", 1, ["--jobs", "1"]), ("ray", 1, ["--engine", "ray", "--address", address, "--jobs", "1"]),
                ("local", 2, ["--jobs", "2"]), ("ray", 2, ["--engine", "ray", "--address", address, "--jobs", "2"])]
        walls: dict[tuple[str, int], list[float]] = {(e, w): [] for e, w, _ in runs}
        outputs, reports = [], {}
        for round_ in range(args.repeat):
            for engine, workers, extra in runs:
                out = Path(tmp) / f"{engine}-{workers}-{round_}"
                walls[engine, workers].append(batch(src, out, extra, args.sets, args.preset))
                outputs.append(masters(out))
                reports[engine, workers] = json.loads((out / "report.json").read_text())
                shutil.rmtree(out)
        rows = []
        for (engine, workers), times in walls.items():
            report = reports[engine, workers]
            seconds = statistics.median(times)
            rows.append({"engine": engine, "workers": workers, "seconds": seconds, "spread": (min(times), max(times)),
                         "files_per_s": args.files / seconds, "work_s": sum(r["seconds"] for r in report["files"]),
                         "audio_s": sum(r["report"]["before"]["duration_s"] for r in report["files"])})
        one = Path(tmp) / "one"
        make_folder(one, 1, args.bars)
        job_local = batch(one, Path(tmp) / "one-local", ["--jobs", "1"], args.sets, args.preset)
        job_ray = batch(one, Path(tmp) / "one-ray", ["--engine", "ray", "--address", address, "--jobs", "1"],
                        args.sets, args.preset)
        ray.shutdown()
    same = all(o == outputs[0] for o in outputs)

    print(f"\n{'engine':<7}{'workers':>8}{'wall s':>9}{'(min-max)':>14}{'files/s':>9}{'vs local':>10}"
          f"{'overhead/file':>15}")
    for row in rows:
        peer = next(r for r in rows if r["engine"] == "local" and r["workers"] == row["workers"])
        ratio = row["files_per_s"] / peer["files_per_s"]
        overhead = (row["seconds"] - peer["seconds"]) * row["workers"] / args.files
        row.update(ratio=ratio, overhead_s=overhead)
        shown = f"{overhead:+.3f} s" if row["engine"] == "ray" else ""
        spread = f"{row['spread'][0]:.1f}-{row['spread'][1]:.1f}"
        print(f"{row['engine']:<7}{row['workers']:>8}{row['seconds']:>9.1f}{spread:>14}{row['files_per_s']:>9.3f}"
              f"{ratio:>10.2f}{shown:>15}")
    print(f"outputs identical across the four rows: {same}")
    ray2 = next(r for r in rows if r["engine"] == "ray" and r["workers"] == 2)
    verdict = "within" if ray2["ratio"] >= 0.85 else "NOT within"
    print(f"Ray with 2 workers: {ray2['ratio']:.2f} x the local engine's --jobs 2 throughput ({verdict} 15 %)")
    per_job = job_ray - job_local
    local2 = next(r for r in rows if r["engine"] == "local" and r["workers"] == 2)
    per_file = (ray2["seconds"] - local2["seconds"] - per_job) * 2 / args.files
    print(f"Ray's overhead, split: {per_job:+.2f} s per job (one file: ray {job_ray:.1f} s, local {job_local:.1f} s), "
          f"{per_file:+.3f} worker-seconds per file")

    single = rows[0]
    per_audio = single["work_s"] / single["audio_s"]
    print(f"\nmastering compute: {per_audio:.3f} s per second of audio ({single['work_s'] / args.files:.2f} s per "
          f"{single['audio_s'] / args.files:.1f} s take, one process)")
    codec = None
    if not args.no_encodec:
        codec = encodec_cost()
        print(f"EnCodec (musicgen-small's 32 kHz codec) encode: {codec:.4f} s per second of audio, one CPU thread")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "startup_s": startup, "identical": same,
                                         "per_job_s": per_job, "per_file_s": per_file,
                                         "mastering_s_per_audio_s": per_audio, "encodec_s_per_audio_s": codec},
                                        indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
