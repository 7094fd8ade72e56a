"""Quality assurance around the chain: judge a master, and when its check stages ask for it, have the take generated
again, master each new take with the whole chain, and keep the best.

    mastered = best_master(first, processors, context, master=lambda audio, rate: ...)

The chain stays a pure function from audio to audio; this loop is the only place that knows about generators. The
stages' own `verdict()` judge a take (the `dissonance` stage: its findings), so nothing here names a processor.
A failing regenerator is reported, never raised: the best take so far is kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .processors.base import Processor, Verdict
from .regenerate import Context, Request, take_audio

NO_REGENERATOR = ("no regenerator: this take was kept as it is; call remaster() with Context(regenerator=...) or use "
                  "`sori make` to generate takes again")


def verdict(processors: Sequence[Processor], stages: Iterable[Mapping[str, Any]]) -> Verdict | None:
    """The chain's judgement of one master, from its stage reports: passed when every check stage passed; ranked by
    their ranks in order; as many attempts as the most demanding failing stage allows. None: nothing was judged."""
    by_label = {s["stage"]: s for s in stages}
    found = [v for p in processors if p.label in by_label and (v := p.verdict(by_label[p.label])) is not None]
    if not found:
        return None
    failing = [v for v in found if not v.passed]
    return Verdict(passed=not failing, rank=tuple(r for v in found for r in v.rank),
                   summary="; ".join(v.summary for v in (failing or found)),
                   findings=tuple(f for v in found for f in v.findings),
                   attempts=max((v.attempts for v in failing), default=0))


def summary(v: Verdict) -> dict[str, Any]:
    """What a report says of its verdict."""
    return {"passed": v.passed, "findings": len(v.findings), "summary": v.summary}


def best_master(first: Any, processors: Sequence[Processor], context: Context,
                master: Callable[[np.ndarray, int], Any]) -> Any:
    """`first` (a remaster.api.Mastered), or the best master of up to `attempts` new takes when its verdict asks for
    them. The kept master's report gets a `regeneration` section listing every attempt."""
    judged = verdict(processors, first.report["stages"])
    if judged is None or judged.passed or judged.attempts == 0:
        return first
    section: dict[str, Any] = {"kept": "original", "attempts": [],
                               "original": {"findings": len(judged.findings), "score": _score(judged)}}
    if context.regenerator is None or not context.sidecar:
        section["error"] = NO_REGENERATOR if context.regenerator is None else (
            f"no sidecar for {context.source or 'this take'} (the JSON beside a generated take, with its prompt and "
            "seed): it was kept as it is")
        return _with(first, section)
    best, best_rank = first, judged.rank
    for attempt in range(1, judged.attempts + 1):
        start = time.perf_counter()
        row: dict[str, Any] = {"attempt": attempt}
        try:
            take = context.regenerator(Request(dict(context.sidecar), attempt, judged.findings, context.source))
            candidate = master(*take_audio(take))
            again = verdict(processors, candidate.report["stages"])
        except Exception as e:      # a regenerator is outside code: any failure is reported, not raised
            row.update(error=f"{type(e).__name__}: {e}", seconds=round(time.perf_counter() - start, 3))
            section["attempts"].append(row)
            break
        assert again is not None                  # the same stages judged the original
        row.update(findings=len(again.findings), score=_score(again), sidecar=dict(take.sidecar),
                   seconds=round(time.perf_counter() - start, 3))
        section["attempts"].append(row)
        if again.rank < best_rank:
            best, best_rank = candidate, again.rank
            section["kept"], section["kept_sidecar"] = f"attempt {attempt}", row["sidecar"]
        if again.passed:
            break
    return _with(best, section)


def _score(v: Verdict) -> float:
    return round(float(v.rank[1]), 2) if len(v.rank) > 1 else 0.0


def _with(mastered: Any, section: dict[str, Any]) -> Any:
    mastered.report["regeneration"] = section
    return mastered
