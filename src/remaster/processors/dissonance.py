"""The dissonance check in the chain (see remaster.analysis.dissonance): report sour notes, or reject the take.

    dissonance:
      style: gugak            # western | gugak | auto: which scales, and how much ornament is tolerated
      action: regenerate      # report | regenerate | reject
      max_findings: 0         # a take with more findings than this is sour
      max_attempts: 3

The stage itself only checks: it passes the audio through untouched and reports what it found. `reject` stops a
sour take with a one-line error (in a batch: a failed row, no output). `regenerate` is a request to whoever
drives the chain: `remaster()` (through `remaster.qa`) asks the take's regenerator for new takes, masters each
with the whole chain, and keeps the best by (findings, score).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from .. import traces
from ..analysis.dissonance import Check, CheckParams, check
from ..errors import ProcessingError
from .base import Processed, Processor, Report, Verdict, param, register, reported


class RejectedTake(ProcessingError):
    """The dissonance stage's `reject` action: the take must not ship."""


class DissonanceParams(CheckParams):
    action: Literal["report", "regenerate", "reject"] = param(
        "report", unit="choice", description="what a sour take gets: a report; new takes from its generator, "
        "the best kept (remaster.qa); or a one-line error and no master")
    max_findings: int = param(0, unit="count", ge=0, description="a take with more findings than this is sour")
    max_attempts: int = param(3, unit="count", ge=1, le=20, description="new takes asked for at most (regenerate)")


class DissonanceReport(Report):
    action: str | None = reported(unit="choice", description="the stage's action")
    model: str | None = reported(unit="choice", description="pitch tracker used")
    style: str | None = reported(unit="choice", description="scales considered")
    findings: list[dict[str, Any]] | None = reported(
        description="sour notes and rough stretches: kind, start and end in seconds, cents, found and expected pitch")
    score: float | None = reported(unit="%", description="share of the pitched time that is sour", column=True)
    notes: int | None = reported(unit="count", description="notes found")
    pitched_s: float | None = reported(unit="s", description="time with a pitch")
    tuning_reference_cents: float | None = reported(unit="cents", description="the take's tuning, from A = 440 Hz")
    tuning_reference_hz: float | None = reported(unit="Hz", description="A4 of the take's tuning")
    scale: str | None = reported(description="the scale found (or declared)", column=True)
    scale_fit: float | None = reported(unit="fraction", description="share of the notes on that scale")
    windows: list[dict[str, Any]] | None = reported(description="score per window of `window_s` seconds")
    passed: bool | None = reported(unit="yes/no", description="no more findings than max_findings", column=True)
    finding_count: int | None = reported(unit="count", description="how many findings", column=True)
    first_finding_s: float | None = reported(unit="s", description="start of the first finding", column=True)
    voices: str | None = reported(unit="choice", description="how the take was read: mono (one tracked line), "
                                  "melody (the mix's top line) or poly (every voice, multi-pitch model)", column=True)


def pitch_traces(result: Check) -> dict[str, Any]:
    """What the pitch plot draws: the track, the notes (start, end, centre in MIDI cents), the scale's pitch
    classes and the tuning reference."""
    out: dict[str, Any] = {
        "notes": [[round(n.start, 3), round(n.end, 3), round(n.centre, 1)] for n in result.notes],
        "scale_pitch_classes": sorted(result.scale.pitch_classes) if result.scale else None,
        "reference_cents": round(result.reference_cents, 1)}
    if result.track is not None and result.track.times.size:
        out["pitch"] = traces.pitch(result.track.times, result.track.cents)
    return out


def _rank(result: Mapping[str, Any]) -> tuple[float, float]:
    return float(len(result.get("findings") or ())), float(result.get("score") or 0.0)


@register
class Dissonance(Processor):
    """Find sour notes (SwiftF0 or CREPE pitch, or every voice of a mix; stable note centres, estimated tuning and
    scale); report or reject."""

    name = "dissonance"
    checks_only = True
    Params = DissonanceParams
    Report = DissonanceReport

    def analyse(self, audio: np.ndarray, sample_rate: int) -> Check:
        return check(audio, sample_rate, self.params)

    def process(self, audio: np.ndarray, sample_rate: int) -> Processed:
        p = self.params
        result = self.analyse(audio, sample_rate)
        passed = len(result.findings) <= p.max_findings
        if not passed and p.action == "reject":
            first = result.findings[0]
            raise RejectedTake(
                f"rejected by the dissonance check: {len(result.findings)} finding(s), more than "
                f"max_findings={p.max_findings}; first {first.kind} at {first.start:.2f}–{first.end:.2f} s "
                f"({first.found or 'rough'}{', expected ' + first.expected if first.expected else ''}); "
                "regenerate the take or raise dissonance.max_findings")
        info = {"action": p.action, "model": p.model, "style": p.style, **result.summary(), "passed": passed,
                "finding_count": len(result.findings),
                "first_finding_s": round(result.findings[0].start, 2) if result.findings else None}
        return Processed(audio, sample_rate, info, pitch_traces(result))

    @classmethod
    def retry_overrides(cls, attempts: int) -> dict[str, Any]:
        return {"action": "regenerate", "max_attempts": attempts}

    def verdict(self, report: Mapping[str, Any]) -> Verdict:
        findings = tuple(report.get("findings") or ())
        first = findings[0] if findings else None
        summary = (f"{len(findings)} finding(s), first {first['kind']} at {first['start']:.2f} s" if first
                   else "no findings")
        return Verdict(passed=bool(report.get("passed")), rank=_rank(report), summary=summary, findings=findings,
                       attempts=self.params.max_attempts if self.params.action == "regenerate" else 0)
