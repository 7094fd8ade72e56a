"""The curves a master is judged by, measured once and kept small: the waveform's peak envelope before and after,
the gain the loudness stage (or a limiter) took away, momentary and short-term loudness (ITU-R BS.1770-4, EBU Tech
3341: 400 ms and 3 s windows on a 100 ms grid) against the target, the long-term spectrum before and after with the
input's detected cutoff, and the pitch check's track, notes, scale and findings.

    curves = take_curves(raw_audio, raw_rate, mastered, preset)      # JSON-able, a few tens of kB

Arrays are packed as plotly's typed arrays (`{"dtype": "f4", "bdata": base64}`), which plotly.js reads as they
are: a batch keeps them in its records (remaster.runner) and the HTML report embeds them without decoding. Times are
the master's: the raw take is shifted by what a trim stage cut from its start, so the two line up.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..analysis import loudness
from ..analysis.levels import mean_power_spectrum
from ..superres.cutoff import detect_cutoff

VERSION = 1
WAVE_POINTS = 1000
MAX_LOUDNESS_POINTS = 1500
SPECTRUM_POINTS = 240
SPECTRUM_LOW_HZ = 20.0
SPECTRUM_FFT, SPECTRUM_FRAMES = 4096, 200     # a long-term average: 200 frames spread over the take are plenty
MOMENTARY_STEPS, SHORT_TERM_STEPS = 4, 30     # 400 ms and 3 s of 100 ms steps
FLOOR_LUFS = -70.0                             # BS.1770's absolute gate: quieter windows are gaps in the plot


def pack(values: np.ndarray, dtype: str = "f4") -> dict[str, str]:
    """A plotly typed array: little-endian values, base64."""
    arr = np.ascontiguousarray(values, dtype={"f4": "<f4", "i1": "i1"}[dtype])
    return {"dtype": dtype, "bdata": base64.b64encode(arr.tobytes()).decode("ascii")}


def unpack(packed: Mapping[str, str]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(packed["bdata"]), dtype={"f4": "<f4", "i1": "i1"}[packed["dtype"]])


@dataclass
class RawCurves:
    """The raw take's side of the plots, measured once (the studio renders many masters of one take)."""

    audio: np.ndarray
    rate: int
    wave_dt: float
    wave: dict[str, Any]
    loudness: dict[str, Any]
    freqs: np.ndarray
    power: np.ndarray
    _cutoff: float | None = None

    @property
    def duration_s(self) -> float:
        return self.audio.shape[-1] / self.rate

    def cutoff_hz(self) -> float:
        if self._cutoff is None:
            self._cutoff = round(detect_cutoff(self.audio, self.rate), 1)
        return self._cutoff


def measure_raw(before: np.ndarray, before_rate: int) -> RawCurves:
    dt = before.shape[-1] / before_rate / WAVE_POINTS
    freqs, power = mean_power_spectrum(before, before_rate, SPECTRUM_FFT, SPECTRUM_FRAMES)
    return RawCurves(before, before_rate, dt, _envelope(before, before_rate, dt), loudness_track(before, before_rate),
                     freqs, power)


def take_curves(before: np.ndarray | RawCurves, before_rate: int | None, mastered: Any,
                preset: Any = None) -> dict[str, Any]:
    """Everything the plots of one master need. `before`: the raw take (channels, frames), or its measure_raw();
    `mastered`: what remaster() returned for it; `preset`: the resolved preset (for the loudness target)."""
    raw = before if isinstance(before, RawCurves) else measure_raw(before, int(before_rate or 0))
    report = mastered.report
    stages = report.get("stages", [])
    offset = float(sum(s.get("trimmed_start_s") or 0.0 for s in stages))
    after, rate = mastered.audio, mastered.sample_rate
    out: dict[str, Any] = {"version": VERSION, "offset_s": round(offset, 4),
                           "duration_s": round(after.shape[-1] / rate, 4),
                           "before_duration_s": round(raw.duration_s, 4)}
    out["wave"] = {"dt": raw.wave_dt, "before": raw.wave, "after": _envelope(after, rate, raw.wave_dt)}
    gr = gain_reduction(mastered.traces)
    if gr is not None:
        out["gain_reduction"] = gr
    out["loudness"] = {"before": raw.loudness, "after": loudness_track(after, rate), **delivery_target(preset)}
    out["spectrum"] = spectrum(raw, after, rate, stages)
    pitch = pitch_curves(mastered.traces, stages)
    if pitch is not None:
        out["pitch"] = pitch
    return out


def _peaks(audio: np.ndarray, frames_per_point: float, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest sample (over channels) in each of `points` bins of `frames_per_point` frames."""
    edges = np.minimum(np.round(np.arange(points + 1) * frames_per_point).astype(np.int64), audio.shape[-1])
    edges = np.unique(edges)
    lo = np.minimum.reduceat(audio.min(axis=0), edges[:-1]) if edges.size > 1 else np.zeros(0, np.float32)
    hi = np.maximum.reduceat(audio.max(axis=0), edges[:-1]) if edges.size > 1 else np.zeros(0, np.float32)
    return lo, hi


def _envelope(audio: np.ndarray, rate: int, dt: float) -> dict[str, Any]:
    """Peak envelope on a grid of `dt` seconds, as signed bytes (full scale = 127): a plot needs no more."""
    lo, hi = _peaks(audio, dt * rate, math.ceil(audio.shape[-1] / rate / dt))
    return {"lo": pack(np.clip(np.floor(lo * 127), -127, 127), "i1"),
            "hi": pack(np.clip(np.ceil(hi * 127), -127, 127), "i1"), "peak": round(float(np.abs(audio).max()), 4)}


def gain_reduction(traces: Mapping[str, Mapping[str, Any]]) -> dict[str, Any] | None:
    """The gain the finishing stages took away (their traces summed in dB where they share a grid)."""
    found = [t["gain_reduction"] for t in traces.values() if "gain_reduction" in t]
    if not found:
        return None
    db = np.asarray(found[-1]["db"], dtype=np.float32)
    for other in found[:-1]:
        if np.asarray(other["db"]).shape == db.shape:
            db = db + np.asarray(other["db"], dtype=np.float32)
    return {"t0": found[-1]["t0"], "dt": found[-1]["dt"], "db": pack(db),
            "max_db": round(max(0.0, float(-db.min())), 2) if db.size else 0.0}


def loudness_track(audio: np.ndarray, sample_rate: int) -> dict[str, Any]:
    """Momentary (400 ms) and short-term (3 s) loudness in LUFS on the meter's 100 ms grid, each value at the end
    of its window (as a meter shows it); NaN under the -70 LUFS gate. Thinned past MAX_LOUDNESS_POINTS."""
    step = loudness.step_length(sample_rate)
    steps = loudness.power_sums(audio, sample_rate, step)
    stride = max(1, -(-steps.size // MAX_LOUDNESS_POINTS))
    out: dict[str, Any] = {"dt": round(stride * step / sample_rate, 6)}
    for name, k in (("momentary", MOMENTARY_STEPS), ("short_term", SHORT_TERM_STEPS)):
        if steps.size < k:
            out[name] = {"t0": 0.0, "values": pack(np.zeros(0))}
            continue
        power = np.convolve(steps, np.ones(k), mode="valid")[::stride] / (k * step)
        with np.errstate(divide="ignore"):
            level = np.asarray(loudness.lufs(power), dtype=np.float64)
        level[~(level > FLOOR_LUFS)] = np.nan
        silent = bool(np.all(np.isnan(level)))
        out[name] = {"t0": round(k * step / sample_rate, 6), "values": pack(level),
                     "max": None if silent else round(float(np.nanmax(level)), 2),
                     "min": None if silent else round(float(np.nanpercentile(level, 2)), 2)}
    integrated = loudness.integrated_from_steps(steps, step) if steps.size >= 4 else -math.inf
    out["integrated"] = round(integrated, 2) if math.isfinite(integrated) else None
    return out


def delivery_target(preset: Any) -> dict[str, Any]:
    """The loudness target and true-peak ceiling of the preset's finishing stage (the one a platform sets)."""
    from ..processors import processor_class

    for stage in getattr(preset, "stages", ()):
        keys = processor_class(stage.kind).delivery_keys
        if stage.enabled and keys:
            target, ceiling = (float(getattr(stage.params, k)) for k in keys)
            return {"target_lufs": target, "true_peak_db": ceiling, "tolerance_lu": 0.5}
    return {}


def _log_bins(freqs: np.ndarray, power: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Mean power in each log-spaced band (the nearest FFT bin for bands narrower than one)."""
    idx = np.clip(np.searchsorted(freqs, edges), 0, freqs.size - 1)
    out = np.empty(edges.size - 1)
    for i in range(edges.size - 1):
        a, b = idx[i], max(idx[i + 1], idx[i] + 1)
        out[i] = power[a:b].mean()
    return out


def spectrum(raw: RawCurves, after: np.ndarray, rate: int, stages: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Long-term average spectra (dB) on one log-spaced frequency grid up to the higher Nyquist, and the input's
    cutoff: what a superres stage detected (and rebuilt above), else detected here."""
    top = max(raw.rate, rate) / 2
    edges = np.geomspace(SPECTRUM_LOW_HZ, top, SPECTRUM_POINTS + 1)
    centres = np.sqrt(edges[:-1] * edges[1:])
    out: dict[str, Any] = {"hz": pack(centres)}
    after_freqs, after_power = mean_power_spectrum(after, rate, SPECTRUM_FFT, SPECTRUM_FRAMES)
    for name, freqs, power, r in (("before", raw.freqs, raw.power, raw.rate), ("after", after_freqs, after_power,
                                                                                rate)):
        level = 10 * np.log10(_log_bins(freqs, power, edges) + 1e-20)
        level[centres > r / 2] = np.nan
        out[name] = pack(level)
    sr = next((s for s in stages if s.get("input_cutoff_hz") is not None), None)
    if sr is not None:
        out["cutoff_hz"] = sr["input_cutoff_hz"]
        out["rebuilt_to_hz"] = sr.get("output_cutoff_hz")
    else:
        out["cutoff_hz"] = raw.cutoff_hz()
    out["nyquist_before_hz"], out["nyquist_after_hz"] = raw.rate / 2, rate / 2
    return out


def pitch_curves(traces: Mapping[str, Mapping[str, Any]], stages: list[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The pitch check's track, notes, scale and findings (from the first stage that traced a pitch)."""
    label = next((k for k, t in traces.items() if "pitch" in t), None)
    if label is None:
        return None
    t = traces[label]
    stage = next((s for s in stages if s.get("stage") == label), {})
    track = t["pitch"]
    cents = np.asarray(track["cents"], dtype=np.float32)
    voiced = cents[np.isfinite(cents)]
    notes = t.get("notes") or []
    centres = [n[2] for n in notes] or ([float(voiced.min()), float(voiced.max())] if voiced.size else [6000.0])
    return {"stage": label, "t0": track["t0"], "dt": track["dt"], "cents": pack(cents), "notes": notes,
            "range_cents": [float(min(centres)) - 250.0, float(max(centres)) + 250.0],
            "scale": stage.get("scale"), "scale_fit": stage.get("scale_fit"),
            "scale_pitch_classes": t.get("scale_pitch_classes"), "reference_cents": t.get("reference_cents"),
            "tuning_reference_hz": stage.get("tuning_reference_hz"), "findings": stage.get("findings") or [],
            "score": stage.get("score")}
