"""The pitch check's speed per tracker and device, against SwiftF0 on the CPU measured in the same run.

    .venv/bin/python benchmarks/bench_check_speed.py DIR [DIR ...]
        [--rows swiftf0:cpu,tiny:cuda,full:cuda,tiny:cpu,full:cpu] [--cpu-crepe-seconds 150] [--threads 0]
        [--json PATH]

For a machine with a GPU: bench_dissonance.py measures accuracy on two cores, where CREPE full runs near real time
and so only on a sample of the set; this says what each tracker costs where CREPE has a GPU. Every WAV and FLAC in
the folders (pitch_set.py's files, or any takes) is checked as the `streaming` preset checks a take
(`dissonance.check`, style and voices `auto`), once per row `TRACKER:DEVICE`, timed with reading the file; then the
tracker alone (`pitch.track_pitch`). The first row is the peer every other is measured against. CREPE rows on the
CPU take only the first `--cpu-crepe-seconds` of audio (CREPE full: about 1x real time on two cores). A tracker
measured on two devices is checked for the same findings (kind, start and end to 10 ms) on the files both read.

Printed per row: files, minutes of audio, x real time of the whole check and of the tracker alone, and the check's
speed as a ratio to the peer's. The exit status is 2 (one line on stderr) where a row names an unknown tracker or a
device this machine lacks, or a folder holds no audio; else 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import NoReturn

import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from remaster import audio as audio_io  # noqa: E402
from remaster.analysis.dissonance import check  # noqa: E402
from remaster.analysis.pitch import MODELS, track_pitch  # noqa: E402

DEFAULT_ROWS = "swiftf0:cpu,tiny:cuda,full:cuda,tiny:cpu,full:cpu"


def parse_rows(text: str) -> list[tuple[str, str]]:
    """`TRACKER:DEVICE,...` checked: a known tracker, and a device torch can use here."""
    import torch

    rows = []
    for item in text.split(","):
        tracker, _, device = item.partition(":")
        if tracker not in MODELS:
            fail(f"--rows: unknown tracker '{tracker}' in '{item}'; allowed: {', '.join(MODELS)}")
        if device not in ("cpu", "cuda"):
            fail(f"--rows: unknown device '{device}' in '{item}'; allowed: cpu, cuda")
        if device == "cuda" and not torch.cuda.is_available():
            fail(f"--rows: '{item}' needs a CUDA GPU and torch sees none here; run the CPU rows only "
                 f"(--rows swiftf0:cpu,tiny:cpu)")
        rows.append((tracker, device))
    return rows


def fail(message: str) -> NoReturn:
    print(message, file=sys.stderr)
    raise SystemExit(2)


def measure(files: list[Path], tracker: str, device: str) -> tuple[dict, dict[str, list]]:
    """One row: the check's and the tracker's time over `files`, and the findings per file."""
    audio, rate = audio_io.read(files[0])
    check(audio, rate, model=tracker, device=device)          # loads the model, warms the kernels up
    seconds = check_s = track_s = 0.0
    findings: dict[str, list] = {}
    for path in files:
        t0 = time.perf_counter()
        audio, rate = audio_io.read(path)
        result = check(audio, rate, model=tracker, device=device)
        t1 = time.perf_counter()
        track_pitch(audio, rate, model=tracker, device=device)      # as check calls it, after its own resampling
        check_s += t1 - t0
        track_s += time.perf_counter() - t1
        seconds += audio.shape[-1] / rate
        findings[path.name] = [(f.kind, round(f.start, 2), round(f.end, 2)) for f in result.findings]
    row = {"tracker": tracker, "device": device, "files": len(files), "audio_min": seconds / 60,
           "check_x": seconds / check_s, "track_x": seconds / track_s}
    return row, findings


def agreement(one: dict[str, list], other: dict[str, list]) -> str:
    """On how many of the files both read two runs found the same: "k/n"."""
    both = set(one) & set(other)
    return f"{sum(one[f] == other[f] for f in both)}/{len(both)}"


def first_seconds(files: list[Path], limit: float) -> list[Path]:
    chosen, total = [], 0.0
    for path in files:
        length = sf.info(str(path)).duration
        if total + length > limit:
            break
        chosen.append(path)
        total += length
    return chosen or files[:1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", type=Path, nargs="+")
    parser.add_argument("--rows", default=DEFAULT_ROWS, help="TRACKER:DEVICE,...; the first is the peer")
    parser.add_argument("--cpu-crepe-seconds", type=float, default=150.0)
    parser.add_argument("--threads", type=int, default=0, help="torch's CPU threads (0: torch's own choice)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    rows = parse_rows(args.rows)
    for folder in args.dirs:
        if not folder.is_dir():
            fail(f"{folder}: no such folder; give folders of takes (pitch_set.py makes some)")
    files = sorted(p for d in args.dirs for p in d.iterdir() if p.suffix.lower() in (".wav", ".flac"))
    if not files:
        fail(f"no WAV or FLAC files in {', '.join(map(str, args.dirs))}; give folders of takes")
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    print(f"{len(files)} files; torch {torch.__version__}, {gpu}, {torch.get_num_threads()} CPU threads")
    results, seen = [], {}
    for tracker, device in rows:
        crepe_on_cpu = device == "cpu" and tracker != "swiftf0"
        row, findings = measure(first_seconds(files, args.cpu_crepe_seconds) if crepe_on_cpu else files,
                                tracker, device)
        row["same_findings"] = {other_device: agreement(other, findings)
                                for other_device, other in seen.get(tracker, {}).items()}
        seen.setdefault(tracker, {})[device] = findings
        row["vs_peer"] = row["check_x"] / results[0]["check_x"] if results else 1.0
        results.append(row)
    head = f"{'tracker:device':16s} {'files':>5s} {'audio min':>9s} {'check x rt':>10s} {'tracker x rt':>12s} " \
           f"{'check vs peer':>13s}  findings"
    print(head)
    print("-" * len(head))
    for r in results:
        same = " ".join(f"same as on {device} in {v} files" for device, v in r["same_findings"].items())
        print(f"{r['tracker'] + ':' + r['device']:16s} {r['files']:5d} {r['audio_min']:9.1f} {r['check_x']:10.1f} "
              f"{r['track_x']:12.1f} {r['vs_peer']:12.2f}x  {same}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
