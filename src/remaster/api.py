"""`remaster()`: the whole job for one take, from a path or an array.

    from remaster import remaster
    audio, rate, report = remaster("take.wav")                       # the streaming preset
    audio, rate, report = remaster(samples, 32000, preset="background", loudness={"target_lufs": -20})

No global state: presets are loaded per call and processors keep nothing between calls, so it is safe to
call from threads and from other services.
"""

from __future__ import annotations

import math
import os
import time
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from . import audio as audio_io
from . import presets
from .analysis import analyze
from .analysis.levels import frame_rms_db
from .errors import AudioError
from .processors.base import Context
from .processors.loudness import LoudnessParams
from .regenerate import load_sidecar

MAX_SECONDS = 3 * 3600.0          # longer inputs would need more memory than a mastering job should take
MAX_CHANNELS = 2
SILENCE_DBFS = -90.0
MIN_SIGNAL_S = 3.0                # BS.1770 integrated loudness needs a few seconds to mean anything


class Mastered(NamedTuple):
    audio: np.ndarray           # float32 (channels, frames), exactly as the output file holds it
    sample_rate: int
    report: dict[str, Any]


def as_audio(source: str | os.PathLike | np.ndarray, sample_rate: int | None = None,
             max_seconds: float = MAX_SECONDS) -> tuple[np.ndarray, int, Path | None]:
    """Load a path, or check an array, into float32 (channels, frames) that the chain can master."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        data, rate = audio_io.read(path, max_seconds=max_seconds)
        where = str(path)
    elif isinstance(source, np.ndarray):
        path, where = None, "input array"
        if sample_rate is None:
            raise AudioError("input array: sample_rate is required with an array, e.g. remaster(x, 32000)")
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)):
            raise AudioError(f"input array: sample_rate must be an integer, got {type(sample_rate).__name__}")
        rate = int(sample_rate)
        if not audio_io.MIN_RATE <= rate <= audio_io.MAX_RATE:
            raise AudioError(f"input array: sample rate {rate} Hz is outside {audio_io.MIN_RATE}–"
                             f"{audio_io.MAX_RATE} Hz")
        if not (np.issubdtype(source.dtype, np.floating) or np.issubdtype(source.dtype, np.integer)):
            raise AudioError(f"input array: dtype {source.dtype} is not audio; allowed: float or integer samples")
        if source.ndim == 1:
            source = source[None, :]
        if source.ndim != 2:
            raise AudioError(f"input array: shape {source.shape}; allowed: (frames,) or (channels, frames)")
        if source.shape[0] > 16 and source.shape[1] <= 16:
            raise AudioError(f"input array: shape {source.shape} looks like (frames, channels); "
                             "pass it transposed, as (channels, frames)")
        if np.issubdtype(source.dtype, np.unsignedinteger):
            half = (np.iinfo(source.dtype).max + 1) / 2          # unsigned PCM is offset by half its range
            data = ((source.astype(np.float64) - half) / half).astype(np.float32)
        elif np.issubdtype(source.dtype, np.integer):
            info = np.iinfo(source.dtype)
            data = (source.astype(np.float64) / max(abs(info.min), info.max)).astype(np.float32)
        else:
            data = np.ascontiguousarray(source, dtype=np.float32)
        if source.shape[1] / rate > max_seconds:
            raise AudioError(f"input array: longer than the {max_seconds / 60:.0f} min limit; split it first")
    else:
        raise AudioError(f"input: expected a file path or a numpy array, got {type(source).__name__}")
    if data.shape[-1] == 0:
        raise AudioError(f"{where}: contains no audio frames")
    if data.shape[0] > MAX_CHANNELS:
        raise AudioError(f"{where}: {data.shape[0]} channels; mastering takes mono or stereo "
                         "(mix it down to stereo first)")
    if not np.isfinite(data).all():
        bad = int(np.count_nonzero(~np.isfinite(data)))
        fix = "the file is corrupt, re-export it" if path else "replace or drop them before mastering"
        raise AudioError(f"{where}: {bad} NaN or infinite samples; {fix}")
    peak = float(np.abs(data).max())
    if peak == 0 or 20 * math.log10(peak) < SILENCE_DBFS:
        raise AudioError(f"{where}: silent (peak below {SILENCE_DBFS:g} dBFS); there is nothing to master")
    return data, rate, path


def dither_seed(audio: np.ndarray) -> int:
    """Deterministic per take, so re-running a batch writes identical files."""
    return zlib.crc32(np.ascontiguousarray(audio[:, :65536]).tobytes())


def signal_seconds(audio: np.ndarray, sample_rate: int) -> float:
    """Duration of the audio that is not near-silence (50 ms frames above -60 dBFS)."""
    return float(np.count_nonzero(frame_rms_db(audio, sample_rate) > -60) * 0.05)


def compliance(preset: presets.Preset, after: dict[str, Any], audio: np.ndarray, rate: int) -> dict[str, Any]:
    """Did the output meet the preset's loudness and true-peak targets?"""
    stage = next((s for s in preset.stages if s.kind == "loudness" and s.enabled), None)
    out: dict[str, Any] = {"clipped_samples": after["clipped_samples"] == 0}
    if stage is not None:
        p = LoudnessParams(**stage.params)
        tp = after["true_peak_dbtp"]
        out["true_peak"] = tp is None or tp <= p.true_peak_db + 1e-6
        if signal_seconds(audio, rate) >= MIN_SIGNAL_S:
            lufs = after["integrated_lufs"]
            out["loudness"] = lufs is not None and abs(lufs - p.target_lufs) <= 0.5
    out["ok"] = all(out.values())
    return out


def remaster(source: str | os.PathLike | np.ndarray, sample_rate: int | None = None,
             preset: str | os.PathLike | presets.Preset = "streaming", *, context: Context | None = None,
             measure: bool = True, max_seconds: float = MAX_SECONDS, **overrides: Any) -> Mastered:
    """Master one take.

    `source` is a path (WAV, FLAC, OGG, MP3) or float/int samples shaped (channels, frames) or (frames,)
    with `sample_rate`. `preset` is a built-in name, a YAML path or a loaded Preset; keyword overrides are
    merged into it: a stage name takes a mapping of its parameters (`loudness={"target_lufs": -16}`),
    `output={"bit_depth": 16}` changes the file format. A take read from `take.wav` brings its sidecar
    `take.json` (prompt, seed, model) into the context, for stages that have a take generated again.
    Returns the mastered samples, exactly as the output file will hold them, their sample rate, and a report.
    """
    start = time.perf_counter()
    if context is not None and not isinstance(context, Context):
        raise AudioError(f"context: expected a remaster.Context, got {type(context).__name__}")
    if isinstance(max_seconds, bool) or not isinstance(max_seconds, (int, float)) or max_seconds <= 0:
        raise AudioError(f"max_seconds: expected a positive number of seconds, got {max_seconds!r}")
    resolved = presets.load(preset, overrides or None)
    chain = resolved.chain()
    data, rate, path = as_audio(source, sample_rate, max_seconds)
    if context is None:
        context = Context(source=path)
    sidecar_error = None
    if path is not None and context.sidecar is None:
        sidecar, sidecar_error = load_sidecar(path)
        context = replace(context, source=context.source or path, sidecar=sidecar)
    before = analyze(data, rate).to_dict() if measure else None
    result = chain(data, rate, context)
    out = audio_io.encode(result.audio, resolved.output.bit_depth, resolved.output.dither,
                          seed=dither_seed(result.audio))
    report: dict[str, Any] = {
        "input": str(path) if path else None,
        "preset": resolved.name,
        "preset_sha256": resolved.sha256,
        "output": resolved.output.model_dump(),
        "stages": [s.to_dict() for s in result.stages],
    }
    if sidecar_error:
        report["sidecar_error"] = sidecar_error
    if measure:
        after = analyze(out, result.sample_rate).to_dict()
        report.update(before=before, after=after, targets=compliance(resolved, after, out, result.sample_rate))
    report["seconds"] = round(time.perf_counter() - start, 4)
    return Mastered(out, result.sample_rate, report)


def save(path: str | os.PathLike, mastered: Mastered, preset: str | os.PathLike | presets.Preset = "streaming",
         **overrides: Any) -> Path:
    """Write a `remaster()` result atomically in the preset's output format (already dithered: no new dither)."""
    spec = presets.load(preset, overrides or None).output
    p = Path(path)
    if p.suffix.lower().lstrip(".") not in audio_io.WRITE_FORMATS:
        p = p.with_suffix(f".{spec.format}")
    audio_io.write(p, mastered.audio, mastered.sample_rate, spec.bit_depth, dither=False)
    return p
