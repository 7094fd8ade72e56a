"""`remaster()`: the whole job for one take, from a path or an array.

    from remaster import remaster, save
    mastered = remaster("take.wav")                                  # the streaming preset
    audio, rate, report = remaster(samples, 32000, preset="background", loudness={"target_lufs": -20})
    save("master.wav", mastered)                                     # the format the report says

One pass: read and check the input, measure it, run the preset's chain, encode to the output format (dither
included), measure the result exactly as written, and check the promises the stages make (loudness, true peak).
When a check stage asks for it, `remaster.qa` has the take generated again and runs this pass on each new take.
No global state: presets are loaded per call and processors keep nothing between calls, so it is safe to call
from threads and from other services. The report's structure is published (docs/report.schema.json).
"""

from __future__ import annotations

import math
import os
import time
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import audio as audio_io
from . import presets, qa
from .analysis import analyze
from .analysis.levels import frame_rms_db, sample_peak
from .chain import Chain
from .errors import AudioError, SoriError
from .parallel import threads
from .presets import OutputSpec
from .processors.base import Processor
from .regenerate import Context, load_sidecar

MAX_SECONDS = 3 * 3600.0          # longer inputs would need more memory than a mastering job should take
MAX_CHANNELS = 2
SILENCE_DBFS = -90.0
CHUNK = 1 << 18                   # frames a chunk, for checks that must not copy the whole take
OVERLAP_BYTES = 64 << 20          # up to this much audio, the input is measured while the chain runs


@dataclass(frozen=True)
class Mastered:
    """A master: float32 samples (channels, frames) exactly as the output file holds them, their rate, the
    report, and the output format the report names (what `save()` writes). Unpacks as (audio, rate, report).
    `traces`: per stage label, the tracks it computed for plots (remaster.traces), beside the report."""

    audio: np.ndarray
    sample_rate: int
    report: dict[str, Any]
    output: OutputSpec
    traces: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False, compare=False)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.audio, self.sample_rate, self.report))


def as_audio(source: str | os.PathLike | np.ndarray, sample_rate: int | None = None,
             max_seconds: float = MAX_SECONDS) -> tuple[np.ndarray, int, Path | None]:
    """Load a path, or check an array, into float32 (channels, frames) that the chain can master."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        data, rate = audio_io.read(path, max_seconds=max_seconds)
        where = str(path)
    elif isinstance(source, np.ndarray):
        path, where = None, "input array"
        data, rate = _from_array(source, sample_rate, max_seconds)
    else:
        raise AudioError(f"input: expected a file path or a numpy array, got {type(source).__name__}")
    _check_masterable(data, where, path is not None)
    return data, rate, path


def _from_array(source: np.ndarray, sample_rate: int | None, max_seconds: float) -> tuple[np.ndarray, int]:
    if sample_rate is None:
        raise AudioError("input array: sample_rate is required with an array, e.g. remaster(x, 32000)")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)):
        raise AudioError(f"input array: sample_rate must be an integer, got {type(sample_rate).__name__}")
    rate = int(sample_rate)
    if not audio_io.MIN_RATE <= rate <= audio_io.MAX_RATE:
        raise AudioError(f"input array: sample rate {rate} Hz is outside {audio_io.MIN_RATE}–{audio_io.MAX_RATE} Hz")
    if not (np.issubdtype(source.dtype, np.floating) or np.issubdtype(source.dtype, np.integer)):
        raise AudioError(f"input array: dtype {source.dtype} is not audio; allowed: float or integer samples")
    if source.ndim == 1:
        source = source[None, :]
    if source.ndim != 2:
        raise AudioError(f"input array: shape {source.shape}; allowed: (frames,) or (channels, frames)")
    if source.shape[0] > 16 and source.shape[1] <= 16:
        raise AudioError(f"input array: shape {source.shape} looks like (frames, channels); "
                         "pass it transposed, as (channels, frames)")
    if source.shape[1] / rate > max_seconds:
        raise AudioError(f"input array: longer than the {max_seconds / 60:.0f} min limit; split it first")
    return _as_float(source), rate


def _as_float(source: np.ndarray) -> np.ndarray:
    if np.issubdtype(source.dtype, np.unsignedinteger):
        half = (np.iinfo(source.dtype).max + 1) / 2          # unsigned PCM is offset by half its range
        return ((source.astype(np.float64) - half) / half).astype(np.float32)
    if np.issubdtype(source.dtype, np.integer):
        info = np.iinfo(source.dtype)
        return (source.astype(np.float64) / max(abs(info.min), info.max)).astype(np.float32)
    return np.ascontiguousarray(source, dtype=np.float32)


def _check_masterable(data: np.ndarray, where: str, from_file: bool) -> None:
    if data.shape[-1] == 0:
        raise AudioError(f"{where}: contains no audio frames")
    if data.shape[0] > MAX_CHANNELS:
        raise AudioError(f"{where}: {data.shape[0]} channels; mastering takes mono or stereo "
                         "(mix it down to stereo first)")
    bad = sum(int(np.count_nonzero(~np.isfinite(data[:, a: a + CHUNK]))) for a in range(0, data.shape[-1], CHUNK))
    if bad:
        fix = "the file is corrupt, re-export it" if from_file else "replace or drop them before mastering"
        raise AudioError(f"{where}: {bad} NaN or infinite samples; {fix}")
    peak = sample_peak(data)
    if peak == 0 or 20 * math.log10(peak) < SILENCE_DBFS:
        raise AudioError(f"{where}: silent (peak below {SILENCE_DBFS:g} dBFS); there is nothing to master")


def dither_seed(audio: np.ndarray) -> int:
    """Deterministic per take, so re-running a batch writes identical files."""
    return zlib.crc32(np.ascontiguousarray(audio[:, :65536]).tobytes())


def signal_seconds(audio: np.ndarray, sample_rate: int) -> float:
    """Duration of the audio that is not near-silence (50 ms frames above -60 dBFS)."""
    return float(np.count_nonzero(frame_rms_db(audio, sample_rate) > -60) * 0.05)


def compliance(processors: Sequence[Processor], stages: Sequence[dict[str, Any]], after: dict[str, Any],
               audio: np.ndarray, rate: int) -> dict[str, Any]:
    """Did the output keep every promise: no clipped samples, and each stage's own (loudness, true peak)?"""
    measured = {**after, "signal_s": signal_seconds(audio, rate)}
    out: dict[str, Any] = {"clipped_samples": after["clipped_samples"] == 0}
    by_label = {s["stage"]: s for s in stages}
    for proc in processors:
        if proc.label in by_label:
            out.update(proc.promises(by_label[proc.label], measured))
    out["ok"] = all(out.values())
    return out


def off_target_reason(stages: Sequence[dict[str, Any]], targets: dict[str, Any]) -> str:
    """One line: which promises the master missed, and what the stages that missed them say about it."""
    missed = ", ".join(k for k, v in targets.items() if k != "ok" and not v)
    said = "; ".join(f"{s['stage']}: {s['off_target']}" for s in stages if s.get("off_target"))
    return f"missed {missed}" + (f" ({said})" if said else "")


def master_take(take: list[np.ndarray], rate: int, preset: presets.Preset, processors: Sequence[Processor],
                measure: bool = True, source: Path | None = None) -> Mastered:
    """One pass of the chain over one take, measured before and after, encoded to the preset's output.

    `take` holds the samples and is emptied: from then on the chain's stages hold the only reference, so each
    stage's input is freed as soon as the next stage has its output (memory stays a few times the take)."""
    start = time.perf_counter()
    audio = take.pop()
    before = None
    # The input's measurement and the chain are independent, and both spend their time in numpy/scipy code that
    # releases the GIL: with a second core free (and a take small enough that both working sets fit), measure
    # while the chain runs.
    overlap = measure and threads() > 1 and audio.nbytes <= OVERLAP_BYTES
    with ThreadPoolExecutor(1) as pool:
        measuring = pool.submit(analyze, audio, rate) if overlap else None
        if measure and not overlap:
            before = analyze(audio, rate).to_dict()
        held = [audio]
        del audio
        result = Chain(processors).run(held.pop(), rate)
        if measuring is not None:
            before = measuring.result().to_dict()
    spec = preset.output
    out = audio_io.encode(result.audio, spec.bit_depth, spec.dither, seed=dither_seed(result.audio))
    result.audio = out                   # the chain's own output is no longer needed
    stages = [s.to_dict() for s in result.stages]
    report: dict[str, Any] = {"input": str(source) if source else None, "preset": preset.name,
                              "preset_sha256": preset.sha256, "output": spec.model_dump(), "stages": stages}
    judged = qa.verdict(processors, stages)
    if judged is not None:
        report["verdict"] = qa.summary(judged)
    if measure:
        after = analyze(out, result.sample_rate).to_dict()
        targets = compliance(processors, stages, after, out, result.sample_rate)
        report.update(before=before, after=after, targets=targets)
        if not targets["ok"]:
            report["off_target"] = off_target_reason(stages, targets)
    report["seconds"] = round(time.perf_counter() - start, 4)
    return Mastered(out, result.sample_rate, report, spec, {s.label: s.traces for s in result.stages if s.traces})


def remaster(source: str | os.PathLike | np.ndarray, sample_rate: int | None = None,
             preset: str | os.PathLike | presets.Preset = "streaming", *, context: Context | None = None,
             measure: bool = True, max_seconds: float = MAX_SECONDS, **overrides: Any) -> Mastered:
    """Master one take.

    `source` is a path (WAV, FLAC, OGG, MP3) or float/int samples shaped (channels, frames) or (frames,)
    with `sample_rate`. `preset` is a built-in name, a YAML path or a loaded Preset; keyword overrides are
    merged into it: a stage name takes a mapping of its parameters (`loudness={"target_lufs": -16}`),
    `output={"bit_depth": 16}` changes the file format. A take read from `take.wav` brings its sidecar
    `take.json` (prompt, seed, model) into the context; with a regenerator in the context, a take that a check
    stage wants made again is (see remaster.qa). Returns a Mastered: samples exactly as the output file will hold
    them, their rate, the report and the output format.
    """
    start = time.perf_counter()
    if context is not None and not isinstance(context, Context):
        raise AudioError(f"context: expected a remaster.Context, got {type(context).__name__}")
    if isinstance(max_seconds, bool) or not isinstance(max_seconds, (int, float)) or max_seconds <= 0:
        raise AudioError(f"max_seconds: expected a positive number of seconds, got {max_seconds!r}")
    resolved = presets.load(preset, overrides or None)
    processors = resolved.processors()
    data, rate, path = as_audio(source, sample_rate, max_seconds)
    context = context or Context(source=path)
    sidecar_error = None
    if path is not None and context.sidecar is None:
        sidecar, sidecar_error = load_sidecar(path)
        context = replace(context, source=context.source or path, sidecar=sidecar)
    take = [data]
    del data
    try:
        first = master_take(take, rate, resolved, processors, measure, path)
        mastered = qa.best_master(first, processors, context,
                                  lambda audio, sr: master_take([audio], sr, resolved, processors, measure, path))
    except SoriError as e:
        if path is None or str(e).startswith(str(path)):
            raise
        raise type(e)(f"{path}: {e}") from None
    if overrides:
        mastered.report["overrides"] = overrides
    if sidecar_error:
        mastered.report["sidecar_error"] = sidecar_error
    mastered.report["seconds"] = round(time.perf_counter() - start, 4)
    return mastered


def save(path: str | os.PathLike, mastered: Mastered) -> Path:
    """Write a `remaster()` result atomically (already dithered: no new dither): in the format the path's extension
    names (wav, flac, mp3), or, for a path without one, in the format the report names."""
    if not isinstance(mastered, Mastered):
        raise AudioError(f"save: expected the Mastered that remaster() returns, got {type(mastered).__name__}")
    p = output_path(path, mastered.output.format)
    audio_io.write(p, mastered.audio, mastered.sample_rate, mastered.output.bit_depth, dither=False)
    return p


def output_path(path: str | os.PathLike, fmt: str) -> Path:
    """`path` as written: with the output format's extension when it has none; one that Sori cannot write is an
    error, never a silent rename."""
    p = Path(path)
    suffix = p.suffix.lower().lstrip(".")
    if not suffix:
        return p.with_name(f"{p.name}.{fmt}")
    if suffix not in audio_io.WRITE_FORMATS:
        raise AudioError(f"{p}: Sori cannot write '.{suffix}' files; allowed: "
                         f"{', '.join('.' + f for f in audio_io.WRITE_FORMATS)}")
    return p
