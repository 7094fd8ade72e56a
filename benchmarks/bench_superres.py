"""Super-resolution benchmark: LSD to the full-band original for plain resampling, `bwe` and `audiosr`.

Real full-band clips (General MIDI rendered by FluidSynth at 48 kHz, see superres_data.py) are band-limited
the way MusicGen's output is (resampled to 32 kHz: nothing above 16 kHz), then brought back to 48 kHz by
each method, side by side, and compared with the original by log-spectral distance (LSD, lower is better).
It also checks that `bwe` adds no tonal peak above the cutoff that the original lacks, and measures its
speed in x real time per CPU core (process time of the processor alone).

    .venv/bin/python benchmarks/bench_superres.py [--clips DIR] [--count 24] [--audiosr-python PATH]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.ndimage import median_filter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))     # the repo: tests.signals holds the signals
from tests.lsd import log_spectral_distance

from remaster.audio import read
from remaster.errors import SoriError
from remaster.processors import Superres
from remaster.processors.resample import resample
from remaster.superres.cutoff import long_term_spectrum_db

sys.path.insert(0, str(Path(__file__).resolve().parent))
from superres_data import prepare

RATE, LOW = 48_000, 32_000
PEAK_DB, MARGIN_DB = 6.0, 3.0


def peakiness(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How far each bin of the long-term spectrum stands above its neighbourhood (about +-500 Hz)."""
    freqs, level = long_term_spectrum_db(audio, RATE)
    return freqs, level - median_filter(level, size=85, mode="nearest")


def spurious_peaks(reference: np.ndarray, output: np.ndarray, cutoff: float) -> float:
    """The largest peak above the cutoff that stands PEAK_DB over its neighbourhood in the output and at
    least MARGIN_DB more than the original's at the same frequency (0 when there is none)."""
    freqs, out = peakiness(output)
    _, ref = peakiness(reference)
    band = (freqs > cutoff + 300) & (freqs < 20_000)
    bad = band & (out > PEAK_DB) & (out > ref + MARGIN_DB)
    return float(out[bad].max()) if bad.any() else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=Path, help="folder of 48 kHz full-band clips (made when empty)")
    ap.add_argument("--count", type=int, default=24)
    ap.add_argument("--audiosr-python", help="interpreter of an environment with audiosr (default: try this one)")
    args = ap.parse_args()
    clip_dir = args.clips or Path(tempfile.gettempdir()) / "sori-superres-clips"
    clips = prepare(clip_dir, count=args.count)
    print(f"{len(clips)} clips in {clip_dir}")

    audiosr_ok, audiosr_note = True, ""
    rows = []
    bwe_cpu = bwe_audio = 0.0
    print(f"\n{'clip':34s} {'dur':>5s} {'cutoff':>7s} | {'LSD plain':>9s} {'LSD bwe':>8s} {'LSD audiosr':>11s} | "
          f"{'bwe peak':>8s}")
    for path in clips:
        ref, rate = read(path)
        if rate != RATE:
            ref = resample(ref, rate, RATE)
        low = resample(ref, RATE, LOW)                                # MusicGen's band: nothing above 16 kHz
        plain = resample(low, LOW, RATE)
        start = time.process_time()
        bwe = Superres(backend="bwe")(low, LOW)
        bwe_cpu += time.process_time() - start
        bwe_audio += low.shape[1] / LOW
        row = {"clip": path.name, "seconds": ref.shape[1] / RATE, "cutoff": bwe.info["input_cutoff_hz"],
               "plain": log_spectral_distance(ref, plain), "bwe": log_spectral_distance(ref, bwe.audio),
               "peak": spurious_peaks(ref, bwe.audio, bwe.info["input_cutoff_hz"]), "audiosr": None}
        if audiosr_ok:
            try:
                sr_out = Superres(backend="audiosr", python=args.audiosr_python)(low, LOW)
                row["audiosr"] = log_spectral_distance(ref, sr_out.audio)
            except SoriError as e:
                audiosr_ok, audiosr_note = False, str(e)
        rows.append(row)
        asr = f"{row['audiosr']:11.3f}" if row["audiosr"] is not None else f"{'-':>11s}"
        print(f"{row['clip'][:34]:34s} {row['seconds']:5.1f} {row['cutoff']:7.0f} | {row['plain']:9.3f} "
              f"{row['bwe']:8.3f} {asr} | {row['peak']:8.1f}")

    better = sum(r["bwe"] < r["plain"] for r in rows)
    peaks = sum(r["peak"] > 0 for r in rows)
    speed = bwe_audio / bwe_cpu if bwe_cpu else float("inf")
    print(f"\nmean LSD: plain {np.mean([r['plain'] for r in rows]):.3f}, bwe {np.mean([r['bwe'] for r in rows]):.3f}"
          + (f", audiosr {np.mean([r['audiosr'] for r in rows if r['audiosr'] is not None]):.3f}"
             if any(r["audiosr"] is not None for r in rows) else ""))
    if not audiosr_ok:
        print(f"audiosr: not run here -- {audiosr_note}")
    print(f"bwe speed: {bwe_audio:.1f} s of audio in {bwe_cpu:.2f} s of CPU = {speed:.0f}x real time per core")
    checks = [
        (better >= 0.9 * len(rows), f"bwe lowers LSD against plain resampling on {better}/{len(rows)} clips "
                                    "(target >= 90%)"),
        (peaks == 0, f"spurious tonal peaks above the cutoff: {peaks} clips (target 0)"),
        (speed >= 50, f"bwe speed {speed:.0f}x real time per core (target >= 50x)"),
    ]
    for ok, text in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
