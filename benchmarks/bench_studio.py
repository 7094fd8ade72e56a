"""The studio's re-render after a change, on a 30 s take: the cached chain prefix against mastering from scratch.

    OMP_NUM_THREADS=2 python benchmarks/bench_studio.py [--seconds 30] [--repeats 5]

The take: a synthetic 32 kHz "generated" band (tests/signals.py: melody, bass and drums, band-limited at 16 kHz as
MusicGen's output is). The preset: `streaming` (ten stages, the CREPE pitch check among them). For each stage, one of
its parameters is changed `--repeats` times (a new value each time, so nothing comes from the cache by luck) and
`Studio.render` is timed: the chain from that stage on, the encode and dither, the measurements and curves, the WAV
the player reads and the page's data: everything the server does before the browser gets the new master. A change
above the pitch check gives the audio back at once and checks the new audio after (`pending`, timed too).

The peer, measured in the same run: `remaster()` of the same take with the same preset, which is what a re-render
costs without the cache (the studio's own first render costs about the same).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.signals import degrade, drum_loop, mix, pluck_melody

from remaster import audio as audio_io
from remaster import remaster
from sori.studio.studio import Studio

# stage -> (parameter, the values it takes in turn)
CHANGES = {
    "loudness": ("target_lufs", [-15, -16, -13, -12, -15.5, -14.5]),
    "fade": ("out_ms", [100, 200, 300, 400, 500, 600]),
    "channels": ("mode", ["keep", "stereo", "keep", "stereo", "keep", "stereo"]),
    "eq": ("bands", [[{"type": "high_shelf", "freq_hz": 9000, "gain_db": g}] for g in (1.5, 2, 2.5, 3, 3.5, 4)]),
    "dissonance": ("tolerance_cents", [20, 22, 24, 26, 28, 32]),
    "superres": ("amount", [0.8, 0.9, 1.1, 1.2, 0.7, 0.6]),
    "compressor": ("ratio", [2.0, 2.2, 2.4, 2.6, 2.8, 3.0]),
    "cleanup": ("highpass_hz", [30, 35, 40, 45, 50, 55]),
}


def take(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(3)
    bars = int(np.ceil(seconds / 2.4)) + 1
    band = mix(pluck_melody(48_000, rng, bars=bars, tonic=64), drum_loop(48_000, rng, bars=bars),
               pluck_melody(48_000, rng, bars=bars, tonic=40), gains=(0.8, 0.7, 0.6))
    return degrade(band, rng).audio[:, : int(seconds * 32_000)]


def values_for(studio: Studio, base: str, stage: str, name: str, value) -> list:
    """The controls' values with one parameter changed (as the page would send them)."""
    from sori.studio.controls import dump

    controls = studio.controls(studio.base(base))
    return [dump(value) if (c.group, c.name) == (stage, name) else c.widget_value() for c in controls]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    print(f"{os.cpu_count()} cores, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    with tempfile.TemporaryDirectory(prefix="bench-studio-") as tmp:
        path = Path(tmp) / "take.wav"
        audio_io.write(path, take(args.seconds), 32_000, bit_depth=16)
        start = time.perf_counter()
        remaster(path, preset="streaming")
        peer = time.perf_counter() - start
        studio = Studio([path], "streaming", Path(tmp) / "studio")
        start = time.perf_counter()
        first = studio.render(str(path), "streaming", None)
        studio.render(str(path), "streaming", None, complete=True)
        first_s = time.perf_counter() - start
        print(f"{args.seconds:g} s take; remaster() from scratch (the peer): {peer:.2f} s; the studio's first render "
              f"{first_s:.2f} s ({first.status.split(' · ')[0]} for the audio)\n")
        print(f"{'changed':<24} {'re-render (median)':>18} {'worst':>8} {'vs peer':>8}   then the pitch check")
        rows = []
        for stage, (name, values) in CHANGES.items():
            times, checks = [], []
            for value in values[: args.repeats]:
                controls = values_for(studio, "streaming", stage, name, value)
                start = time.perf_counter()
                out = studio.render(str(path), "streaming", controls)
                times.append(time.perf_counter() - start)
                if out.pending:
                    start = time.perf_counter()
                    studio.render(str(path), "streaming", controls, complete=True)
                    checks.append(time.perf_counter() - start)
            med = statistics.median(times)
            rows.append((stage, med))
            check = f"{statistics.median(checks):.2f} s" if checks else "not needed"
            print(f"{stage + '.' + name:<24} {med * 1000:15.0f} ms {max(times) * 1000:6.0f} ms {peer / med:7.1f}x"
                  f"   {check}")
        studio.close()
    fast = [t for s, t in rows if s in ("loudness", "fade", "channels", "eq", "dissonance")]
    print(f"\nafter the pitch check (eq, channels, fade, loudness) and for the check's own settings: at most "
          f"{max(fast) * 1000:.0f} ms, {peer / max(fast):.0f}x faster than mastering again")


if __name__ == "__main__":
    main()
