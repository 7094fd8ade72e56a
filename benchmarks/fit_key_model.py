"""Fits the key model of `remaster.analysis.keyfinding` (its WEIGHTS) on music21's corpus, and measures it on tunes
it was not fitted on.

    .venv/bin/python benchmarks/fit_key_model.py [--seed 0] [--held-out 1500] [--cache /tmp/sori-scale-tunes.json]

The tunes are bench_scale.py's (every work of the Essen, Ryan's, O'Neill's, Aird's and Bach chorale collections
less those the evaluation set may take, parsed once into `--cache`), each cut as the set cuts its tunes (6-12 s at
a tempo drawn over 60-200 BPM). The label is the key music21 reads on the whole tune (Aarden-Essen), which is what
the evaluation set calls the tune's key. The `--held-out` tunes bench_scale.py draws with the same seed are left
out of the fit and measured: the share of takes whose most probable key is music21's, the mean log-loss, and the
same for Krumhansl-Schmuckler's choice (the key whose Aarden profile correlates best) and for a softmax over those
correlations at its best temperature. Prints the weights to put in keyfinding.WEIGHTS; the exit status is 0.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import bench_scale
from pitch_set import Melody, _rng, sounding

from remaster.analysis.keyfinding import FEATURES, KEYS, WEIGHTS, features

L2 = 1e-4      # per weight, on the features scaled to unit spread: keeps the fit finite where a feature separates


def example(m: Melody) -> tuple[np.ndarray, int]:
    """A cut tune's features (grace notes aside) and the index in KEYS of the key music21 reads."""
    notes = [i for i, t in enumerate(m.tones) if not t.grace]
    x = features([m.tones[i].midi % 12 for i in notes], [sounding(m, i) for i in notes])
    return x, KEYS.index((m.mode, m.tonic_pc))


def loss(weights: np.ndarray, x: np.ndarray, y: np.ndarray, l2: float = 0.0) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood of the labels `y` under the conditional logit (one score per candidate key:
    features @ weights), and its gradient."""
    score = x @ weights
    score = score - score.max(axis=1, keepdims=True)
    log_total = np.log(np.exp(score).sum(axis=1))
    prob = np.exp(score - log_total[:, None])
    rows = np.arange(len(y))
    value = -(score[rows, y] - log_total).mean() + l2 * float(weights @ weights)
    grad = -(x[rows, y] - (prob[:, :, None] * x).sum(axis=1)).mean(axis=0) + 2 * l2 * weights
    return float(value), grad


def fit(x: np.ndarray, y: np.ndarray, l2: float = L2) -> np.ndarray:
    """The weights of least `loss` (L-BFGS on features scaled to unit spread, returned for the raw features)."""
    spread = x.reshape(-1, x.shape[2]).std(axis=0) + 1e-9
    result = minimize(loss, np.zeros(x.shape[2]), args=(x / spread, y, l2), jac=True, method="L-BFGS-B")
    return result.x / spread


def report(name: str, score: np.ndarray, y: np.ndarray) -> None:
    s = score - score.max(axis=1, keepdims=True)
    log_loss = float(-(s[np.arange(len(y)), y] - np.log(np.exp(s).sum(axis=1))).mean())
    print(f"  {name:66s} key right {100 * float((score.argmax(axis=1) == y).mean()):5.1f} %   "
          f"log-loss {log_loss:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--held-out", type=int, default=1500, help="bench_scale.py's --tunes: these are not fitted")
    parser.add_argument("--cache", type=Path, default=bench_scale.DEFAULT_CACHE)
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    cut = [m for t in bench_scale.load(args.cache) if (m := bench_scale.melody(t, args.seed)) is not None]
    order = _rng(args.seed, "draw").permutation(len(cut))
    held = set(order[:args.held_out].tolist())
    train = [example(m) for i, m in enumerate(cut) if i not in held]
    test = [example(cut[i]) for i in order[:args.held_out] if not bench_scale.lone_chromatic(cut[i])]
    x, y = np.stack([e[0] for e in train]), np.array([e[1] for e in train])
    xt, yt = np.stack([e[0] for e in test]), np.array([e[1] for e in test])
    weights = fit(x, y)
    print(f"{len(cut)} tunes cut, {len(train)} fitted, {len(test)} held out (bench_scale.py's, of the set's kind); "
          f"{time.perf_counter() - t0:.0f} s")
    corr = FEATURES.index("profile_correlation")
    temperatures = np.linspace(0.01, 0.2, 39)
    best_t = min(temperatures, key=lambda t: loss(np.eye(x.shape[2])[corr] / t, x, y)[0])
    print("held out:")
    report("this fit", xt @ weights, yt)
    report("keyfinding.WEIGHTS (as shipped)", xt @ WEIGHTS, yt)
    report(f"Krumhansl-Schmuckler, Aarden profiles (softmax at T={best_t:.3f})", xt[:, :, corr] / best_t, yt)
    print("weights: (" + ", ".join(f"{w:.2f}" for w in weights) + ")")
    print("         " + ", ".join(FEATURES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
