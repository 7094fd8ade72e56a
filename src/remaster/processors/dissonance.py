"""The dissonance check in the chain (see remaster.analysis.dissonance): report sour notes, have the take
generated again, or reject it.

    dissonance:
      style: gugak            # western | gugak | auto: which scales, and how much ornament is tolerated
      action: regenerate      # report | regenerate | reject
      max_findings: 0         # a take with more findings than this is sour
      max_attempts: 3

`regenerate` asks the context's regenerator (remaster.regenerate) for new takes, runs each through the chain's
earlier stages so the takes compare like for like, and keeps the best by (findings, score): the original
included, every attempt in the report. A failing regenerator is reported and the best take so far is kept.
`reject` stops the take with a one-line error (in a batch: a failed row, no output).
"""

from __future__ import annotations

import time
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from ..analysis.dissonance import Check, check
from ..analysis.notes import NoteParams
from ..analysis.tuning import SCALES, pitch_class
from ..errors import ProcessingError
from ..regenerate import Request, Take
from .base import Context, Params, Processed, Processor, register


class RejectedTake(ProcessingError):
    """The dissonance stage's `reject` action: the take must not ship."""


class ScaleSpec(Params):
    tonic: str = Field(description="tonic note name, e.g. Eb")
    mode: Literal[tuple(SCALES)] | None = None          # type: ignore[valid-type]
    degrees: list[int] | None = Field(None, description="semitones above the tonic, instead of a mode")

    @model_validator(mode="after")
    def _one_of(self) -> ScaleSpec:
        try:
            pitch_class(self.tonic)
        except ValueError as e:
            raise ValueError(str(e)) from None
        if (self.mode is None) == (self.degrees is None):
            raise ValueError("give either mode or degrees")
        return self


class NotesSpec(Params):
    smooth_s: float = Field(0.18, ge=0.02, le=1.0, description="running median; about one vibrato cycle")
    split_cents: float = Field(40.0, ge=10, le=300)
    min_note_s: float = Field(0.1, ge=0.02, le=2.0)
    max_glide_s: float = Field(0.25, ge=0.0, le=2.0)
    stable_cents: float = Field(35.0, ge=5, le=300)


class DissonanceParams(Params):
    action: Literal["report", "regenerate", "reject"] = "report"
    style: Literal["western", "gugak", "auto"] = "auto"
    model: Literal["tiny", "full"] = "tiny"
    hop_s: float = Field(0.02, ge=0.005, le=0.1)
    device: str = "auto"
    batch_size: int = Field(192, ge=1, le=8192)
    tolerance_cents: float | None = Field(None, ge=5, le=50, description="default: western 25, gugak 35")
    min_periodicity: float = Field(0.5, ge=0.0, le=1.0)
    min_sour_s: float = Field(0.15, ge=0.0, le=10.0)
    scale: ScaleSpec | None = None
    reference_cents: float | None = Field(None, ge=-50, le=50, description="tuning offset from A=440 12-TET")
    notes: NotesSpec = NotesSpec()
    roughness_threshold: float = Field(0.1, ge=0.0, le=10.0)
    min_rough_s: float = Field(0.5, ge=0.05, le=60.0)
    window_s: float = Field(5.0, ge=0.5, le=600.0)
    max_findings: int = Field(0, ge=0)
    max_attempts: int = Field(3, ge=1, le=20)


def _rank(result: Check) -> tuple[int, float]:
    return len(result.findings), result.score


@register
class Dissonance(Processor):
    """Find sour notes (CREPE pitch, stable note centres, estimated tuning and scale); act on them."""

    name = "dissonance"
    Params = DissonanceParams

    def analyse(self, audio: np.ndarray, sample_rate: int) -> Check:
        p = self.params
        return check(audio, sample_rate, style=p.style, model=p.model, hop_s=p.hop_s, device=p.device,
                     tolerance_cents=p.tolerance_cents, min_periodicity=p.min_periodicity,
                     scale=p.scale.model_dump() if p.scale else None, reference_cents=p.reference_cents,
                     notes=NoteParams(**p.notes.model_dump()), roughness_threshold=p.roughness_threshold,
                     min_rough_s=p.min_rough_s, window_s=p.window_s, min_sour_s=p.min_sour_s,
                     batch_size=p.batch_size)

    def sour(self, result: Check) -> bool:
        return len(result.findings) > self.params.max_findings

    def process(self, audio: np.ndarray, sample_rate: int, context: Context) -> Processed:
        p = self.params
        result = self.analyse(audio, sample_rate)
        info: dict[str, Any] = {"action": p.action, "model": p.model, "style": p.style, **result.summary(),
                                "passed": not self.sour(result)}
        if not self.sour(result) or p.action == "report":
            return Processed(audio, sample_rate, info)
        if p.action == "reject":
            first = result.findings[0]
            where = f"{context.source}: " if context.source else ""
            raise RejectedTake(
                f"{where}rejected by the dissonance check: {len(result.findings)} finding(s), more than "
                f"max_findings={p.max_findings}; first {first.kind} at {first.start:.2f}–{first.end:.2f} s "
                f"({first.found or 'rough'}{', expected ' + first.expected if first.expected else ''}); "
                "regenerate the take or raise dissonance.max_findings")
        return self.regenerate(audio, sample_rate, result, info, context)

    def regenerate(self, audio: np.ndarray, sample_rate: int, result: Check, info: dict[str, Any],
                   context: Context) -> Processed:
        p = self.params
        best = (audio, sample_rate, result, None)        # None: the original; else the attempts' row
        attempts: list[dict[str, Any]] = []
        info["kept"] = "original"
        if context.regenerator is None:
            info["regeneration_error"] = ("no regenerator: this take was kept as it is; call remaster() with "
                                          "Context(regenerator=...) or use `sori make` to generate takes again")
            return Processed(audio, sample_rate, info)
        if not context.sidecar:
            info["regeneration_error"] = (f"no sidecar for {context.source or 'this take'} (the JSON beside a "
                                          "generated take, with its prompt and seed): it was kept as it is")
            return Processed(audio, sample_rate, info)
        findings = tuple(f.to_dict() for f in result.findings)
        for attempt in range(1, p.max_attempts + 1):
            start = time.perf_counter()
            row: dict[str, Any] = {"attempt": attempt}
            try:
                take = context.regenerator(Request(dict(context.sidecar), attempt, findings, context.source))
                new_audio, new_rate = _take_audio(take)
                if context.upstream is not None:      # the stages before this one, so takes compare like for like
                    new_audio, new_rate = context.upstream(new_audio, new_rate)
                checked = self.analyse(new_audio, new_rate)
            except Exception as e:      # a regenerator is outside code: any failure is reported, not raised
                row.update(error=f"{type(e).__name__}: {e}", seconds=round(time.perf_counter() - start, 3))
                attempts.append(row)
                break
            row.update(findings=len(checked.findings), score=round(checked.score, 2),
                       sidecar=dict(take.sidecar), seconds=round(time.perf_counter() - start, 3))
            attempts.append(row)
            if _rank(checked) < _rank(best[2]):
                best = (new_audio, new_rate, checked, row)
            if not self.sour(checked):
                break
        kept_audio, kept_rate, kept, kept_row = best
        info.update(kept.summary())
        info.update(passed=not self.sour(kept), attempts=attempts,
                    kept="original" if kept_row is None else f"attempt {kept_row['attempt']}",
                    original={"findings": len(result.findings), "score": round(result.score, 2)})
        if kept_row is not None:
            info["kept_sidecar"] = kept_row["sidecar"]
        return Processed(kept_audio, kept_rate, info)


def _take_audio(take: Any) -> tuple[np.ndarray, int]:
    """Check what a regenerator returned: a Take with float (channels, frames) audio and an integer rate."""
    if not isinstance(take, Take):
        raise TypeError(f"the regenerator returned {type(take).__name__}, expected remaster.regenerate.Take")
    audio = np.asarray(take.audio)
    if audio.ndim == 1:
        audio = audio[None, :]
    if audio.ndim != 2 or audio.shape[0] > 2 or audio.shape[1] == 0 or not np.issubdtype(audio.dtype, np.floating):
        raise TypeError(f"the regenerator returned audio shaped {audio.shape} ({audio.dtype}); "
                        "expected float (channels, frames) with 1 or 2 channels")
    if not np.isfinite(audio).all():
        raise ValueError("the regenerator returned NaN or infinite samples")
    if isinstance(take.sample_rate, bool) or not isinstance(take.sample_rate, (int, np.integer)) \
            or not 8000 <= take.sample_rate <= 384_000:
        raise TypeError(f"the regenerator returned sample rate {take.sample_rate!r}; expected 8000–384000 Hz")
    return np.ascontiguousarray(audio, dtype=np.float32), int(take.sample_rate)
