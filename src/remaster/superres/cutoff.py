"""Where a recording's real bandwidth ends.

A 32 kHz generation resampled to 48 kHz, a 22.05 kHz file, and a 128 kbps MP3 all stop at a frequency well
below Nyquist, and they stop steeply (a resampler's or encoder's low-pass), down to a floor that stays flat
to Nyquist. Instruments that merely roll off do so gradually. So the cutoff is the top of the last band
that stands clearly above the floor, counted only when the fall to the floor is steep; otherwise the
audio is full-band and its cutoff is Nyquist.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

from ..analysis.levels import mean_power_spectrum

N_FFT = 4096
ABOVE_FLOOR_DB = 20.0      # a band counts as content when this far above the floor
STEEP_DB = 25.0            # and a cutoff when the level falls at least this much ...
STEEP_HZ = 1500.0          # ... within this distance above it


def long_term_spectrum_db(audio: np.ndarray, sample_rate: int, n_fft: int = N_FFT,
                          max_frames: int = 600) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and mean power spectrum (dB) of the channel mean."""
    freqs, power = mean_power_spectrum(audio, sample_rate, n_fft, max_frames)
    return freqs, 10 * np.log10(power + 1e-20)


def detect_cutoff(audio: np.ndarray, sample_rate: int) -> float:
    """The frequency (Hz) where the audio's content ends; `sample_rate / 2` for full-band audio."""
    nyquist = sample_rate / 2
    if audio.size == 0 or not np.any(audio):
        return nyquist
    freqs, level = long_term_spectrum_db(audio, sample_rate)
    bin_hz = freqs[1]
    smooth = uniform_filter1d(level, 5, mode="nearest")      # edges extended: zero padding reads as 0 dB
    floor = float(np.median(smooth[int(0.97 * smooth.size):]))
    content = np.nonzero(smooth > floor + ABOVE_FLOOR_DB)[0]
    if content.size == 0:
        return nyquist
    top = int(content[-1])
    if freqs[top] >= 0.97 * nyquist:
        return nyquist
    reach = max(2, int(STEEP_HZ / bin_hz))
    below = smooth[max(0, top - reach): top + 1].max()
    above = smooth[min(smooth.size - 1, top + reach):].max()
    steep = below - above >= STEEP_DB
    return float(freqs[top]) if steep else nyquist
