"""How many threads one take may use: the worker's share of the cores when remaster.runner runs a pool (it sets
OMP_NUM_THREADS in each worker), else every core. FFTs (scipy.fft) and BLAS calls take this many."""

from __future__ import annotations

import os


def threads() -> int:
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "")))
    except ValueError:
        return os.cpu_count() or 1
