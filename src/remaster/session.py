"""A mastering session: one take, many settings tried one after another (the studio's engine; no web code here).

    session = Session.open("take.wav")
    first = session.render(presets.load("streaming"))                  # the whole chain
    again = session.render(presets.load("streaming", {"eq": {...}}))   # only eq and the stages after it run

The chain is a pure function of the take and the stages' parameters, so the output of every stage is kept under a
key made of the take and of each stage up to it (label, processor, parameters): a render re-runs only the stages
from the first one whose key changed. A check stage (the pitch check) passes its audio through untouched, so it is
left out of the key (changing the check never re-runs what follows it), and with `defer_checks` a render does not
wait for a check whose input changed (CREPE takes seconds where the rest of the chain takes a fraction of one):
its report is pending until `complete()` runs it. What a render writes and measures is what `remaster()` would
(the same encode, dither, measurements and promises); the raw take is measured once.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import audio as audio_io
from . import presets as presets_mod
from . import qa
from .analysis import analyze
from .api import Mastered, as_audio, compliance, dither_seed, off_target_reason
from .chain import Chain, StageReport
from .processors.base import Processor
from .view.curves import RawCurves, measure_raw, take_curves


@dataclass
class Render:
    """One render of the take: the master (as `remaster()` returns it), its curves for the plots, which stages
    ran, which came from the cache, which checks are still pending, and how long it took."""

    mastered: Mastered
    curves: dict[str, Any]
    ran: list[str]
    reused: list[str]
    pending: list[str]
    seconds: float


@dataclass
class _Pending:
    proc: Processor
    audio: np.ndarray
    rate: int
    key: str


@dataclass
class _Kept:
    audio: np.ndarray
    rate: int
    stage: StageReport


def stage_key(previous: str, proc: Processor) -> str:
    params = json.dumps(proc.params.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(f"{previous}|{proc.label}|{proc.name}|{params}".encode()).hexdigest()


@dataclass
class Session:
    audio: np.ndarray
    sample_rate: int
    source: Path | None = None
    name: str = "take"
    _cache: dict[str, _Kept] = field(default_factory=dict, repr=False)
    _checks: dict[str, StageReport] = field(default_factory=dict, repr=False)
    _pending: dict[str, _Pending] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _raw: RawCurves | None = field(default=None, repr=False)
    _before: dict[str, Any] | None = field(default=None, repr=False)
    _previous: set[str] = field(default_factory=set, repr=False)

    @classmethod
    def open(cls, path: str | os.PathLike) -> Session:
        audio, rate, where = as_audio(path)
        return cls(audio, rate, where, Path(path).name)

    @property
    def root(self) -> str:
        return hashlib.sha256(np.ascontiguousarray(self.audio).tobytes()[:1 << 22] +
                              f"{self.audio.shape}{self.sample_rate}".encode()).hexdigest()

    def raw(self) -> RawCurves:
        if self._raw is None:
            self._raw = measure_raw(self.audio, self.sample_rate)
        return self._raw

    def before(self) -> dict[str, Any]:
        if self._before is None:
            self._before = analyze(self.audio, self.sample_rate).to_dict()
        return self._before

    @property
    def pending(self) -> list[str]:
        """The checks the last render left for `complete()`."""
        return [job.proc.label for job in self._pending.values()]

    def render(self, preset: presets_mod.Preset, defer_checks: bool = False) -> Render:
        """Master the take with `preset`, re-running only what changed since earlier renders."""
        with self._lock:
            return self._render(preset, defer_checks)

    def complete(self, preset: presets_mod.Preset) -> Render:
        """Run the checks an earlier `render(..., defer_checks=True)` left pending, then render with them."""
        with self._lock:
            for key, job in list(self._pending.items()):
                self._keep_check(key, self._run_stage(job.proc, job.audio, job.rate).stage)
            self._pending.clear()
            return self._render(preset, defer_checks=False)

    @staticmethod
    def _run_stage(proc: Processor, audio: np.ndarray, rate: int) -> _Kept:
        """One stage, timed and its report checked against its declaration (a one-stage Chain)."""
        result = Chain([proc])(audio, rate)
        return _Kept(result.audio, result.sample_rate, result.stages[0])

    def _keep_check(self, key: str, stage: StageReport) -> None:
        """A check's report, with the last few (a change that goes back finds its check done)."""
        self._checks = {**{k: v for k, v in list(self._checks.items())[-3:] if k != key}, key: stage}

    def _render(self, preset: presets_mod.Preset, defer_checks: bool) -> Render:
        start = time.perf_counter()
        processors = preset.processors()
        audio, rate, key = self.audio, self.sample_rate, self.root
        stages: list[StageReport] = []
        ran, reused, pending, used = [], [], [], set()
        for proc in processors:
            if proc.checks_only:
                stage, how = self._check(proc, audio, rate, stage_key(key, proc), defer_checks)
                {"ran": ran, "reused": reused, "pending": pending}[how].append(proc.label)
                if stage is not None:
                    stages.append(stage)
                continue
            key = stage_key(key, proc)
            used.add(key)
            kept = self._cache.get(key)
            if kept is None:
                kept = self._cache[key] = self._run_stage(proc, audio, rate)
                ran.append(proc.label)
            else:
                reused.append(proc.label)
            audio, rate = kept.audio, kept.rate
            stages.append(kept.stage)
        self._forget(used)
        self._pending = {k: v for k, v in self._pending.items() if v.proc.label in pending}
        mastered = self._assemble(preset, processors, audio, rate, stages, pending)
        curves = take_curves(self.raw(), None, mastered, preset)
        return Render(mastered, curves, ran, reused, pending, round(time.perf_counter() - start, 4))

    def _check(self, proc: Processor, audio: np.ndarray, rate: int, key: str,
               defer: bool) -> tuple[StageReport | None, str]:
        if key in self._checks:
            return self._checks[key], "reused"
        if defer:
            self._pending[key] = _Pending(proc, audio, rate, key)
            return None, "pending"
        self._keep_check(key, self._run_stage(proc, audio, rate).stage)
        return self._checks[key], "ran"

    def _forget(self, used: set[str]) -> None:
        """Keep this render's stages and the previous render's (the next change usually goes back and forth)."""
        keep = used | self._previous
        for k in [k for k in self._cache if k not in keep]:
            del self._cache[k]
        self._previous = used

    def _assemble(self, preset: presets_mod.Preset, processors: list[Processor], audio: np.ndarray, rate: int,
                  stages: list[StageReport], pending: list[str]) -> Mastered:
        spec = preset.output
        out = audio_io.encode(audio, spec.bit_depth, spec.dither, seed=dither_seed(audio))
        reports = [s.to_dict() for s in stages]
        report: dict[str, Any] = {"input": str(self.source) if self.source else None, "preset": preset.name,
                                  "preset_sha256": preset.sha256, "output": spec.model_dump(), "stages": reports}
        judged = None if pending else qa.verdict(processors, reports)
        if judged is not None:
            report["verdict"] = qa.summary(judged)
        after = analyze(out, rate).to_dict()
        targets = compliance(processors, reports, after, out, rate)
        report.update(before=self.before(), after=after, targets=targets)
        if not targets["ok"]:
            report["off_target"] = off_target_reason(reports, targets)
        return Mastered(out, rate, report, spec, {s.label: s.traces for s in stages if s.traces})
