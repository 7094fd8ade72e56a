"""Log-spectral distance (LSD), as used to evaluate audio super-resolution (AudioSR, NU-Wave, ...).

Per STFT frame, the root mean square over frequency of the difference of the log10 power spectra; then
the mean over frames. Lower is closer; 0 is identical.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-8


def _power(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    window = np.hanning(n_fft + 1)[:n_fft].astype(np.float32)
    count = max(1, (x.shape[-1] - n_fft) // hop + 1)
    idx = np.arange(count)[:, None] * hop + np.arange(n_fft)[None, :]
    return np.square(np.abs(np.fft.rfft(x[..., idx] * window, axis=-1)))


def log_spectral_distance(reference: np.ndarray, estimate: np.ndarray, sample_rate: int | None = None,
                          n_fft: int = 2048, hop: int = 512, eps: float = EPS) -> float:
    """LSD between two signals of the same rate, (frames,) or (channels, frames); channels are averaged
    first, and the shorter length is used. `sample_rate` is accepted for symmetry with other metrics."""
    ref = np.asarray(reference, dtype=np.float32)
    est = np.asarray(estimate, dtype=np.float32)
    ref = ref.mean(axis=0) if ref.ndim == 2 else ref
    est = est.mean(axis=0) if est.ndim == 2 else est
    n = min(ref.size, est.size)
    if n < n_fft:
        raise ValueError(f"signals of {n} frames are shorter than one {n_fft}-point frame")
    diff = np.log10(_power(ref[:n], n_fft, hop) + eps) - np.log10(_power(est[:n], n_fft, hop) + eps)
    return float(np.mean(np.sqrt(np.mean(np.square(diff), axis=-1))))
