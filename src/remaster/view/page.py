"""`report.html`: one self-contained page per batch (or per `sori remaster --report`), opened offline.

At the top the batch: counts, then one row per file, failed and off-target files first, every column sortable. Below,
one section per file: the A/B player (raw take and master at the same position, loudness-matched by default), the
waveform with the gain reduction, loudness over time against the target, the long-term spectrum with the rebuilt
band, the pitch track with notes, scale and findings, the measurements and the stage-by-stage table.

Everything the page needs is inside it: plotly.js (from the installed plotly package: the `studio` extra), the
page's own script and style (`assets/`), and each file's data as JSON. Audio is linked, relative to the page, never
embedded. A section is built, and its plots drawn, only when it scrolls into view (and dropped when it is far out of
view), so a 500-file report opens as fast as its summary table.
"""

from __future__ import annotations

import html
import json
import math
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import audio as audio_io
from ..errors import SoriError
from . import figures

ASSETS = Path(__file__).with_name("assets")
EXTRA_HINT = "the HTML report needs plotly: pip install 'sori[studio]'"


@dataclass
class Take:
    """One row of the page: a file of the batch, its report and curves (None where it failed or was measured by an
    older Sori), and where its raw take and master are."""

    name: str
    status: str                       # done | skipped | failed
    reason: str = ""
    report: Mapping[str, Any] | None = None
    curves: Mapping[str, Any] | None = None
    source: Path | None = None
    master: Path | None = None


def plotly_js() -> str:
    """plotly.js as the installed plotly package ships it (inlined: the page opens offline)."""
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        raise SoriError(EXTRA_HINT) from None
    return get_plotlyjs()


def available() -> bool:
    try:
        import plotly  # noqa: F401
    except ImportError:
        return False
    return True


def asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def link(target: Path | None, page_dir: Path) -> str | None:
    """A URL for `target` relative to the page (each segment quoted: Korean and spaced names work)."""
    if target is None or not Path(target).exists():
        return None
    try:
        rel = os.path.relpath(Path(target).resolve(), page_dir.resolve())
    except ValueError:                       # another drive (Windows): an absolute file URL
        return Path(target).resolve().as_uri()
    return "/".join(quote(part) for part in Path(rel).as_posix().split("/"))


def _first(stages: Iterable[Mapping[str, Any]], *keys: str) -> Any:
    for key in keys:
        for s in stages:
            if s.get(key) is not None:
                return s[key]
    return None


def summary_values(take: Take) -> dict[str, Any]:
    """The numbers of a summary row (None where they do not apply)."""
    r = take.report or {}
    stages = r.get("stages", [])
    before, after = r.get("before") or {}, r.get("after") or {}
    verdict = r.get("verdict") or {}
    return {"raw_lufs": before.get("integrated_lufs"), "lufs": after.get("integrated_lufs"),
            "true_peak": after.get("true_peak_dbtp"), "lra": after.get("loudness_range_lu"),
            "gain": _first(stages, "gain_db"), "limiting": _first(stages, "max_limiting_db", "max_reduction_db"),
            "findings": verdict.get("findings"), "score": _first(stages, "score"),
            "seconds": r.get("seconds")}


def verdict_of(take: Take) -> tuple[int, str]:
    """(rank, word): failed first, then off target, then sour takes, then the rest."""
    r = take.report or {}
    if take.status == "failed":
        return 0, "failed"
    if r.get("off_target"):
        return 1, "off target"
    findings = (r.get("verdict") or {}).get("findings")
    if findings:
        return 2, f"{findings} finding{'s' if findings != 1 else ''}"
    return 3, "ok"


COLUMNS = [("#", "num"), ("file", "text"), ("verdict", "num"), ("raw LUFS", "num"), ("LUFS", "num"),
           ("true peak dBTP", "num"), ("LRA LU", "num"), ("gain dB", "num"), ("limiting dB", "num"),
           ("findings", "num"), ("sour %", "num"), ("time s", "num"), ("note", "text")]


def _cell(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return '<td data-v="">–</td>'
    if isinstance(value, float):
        return f'<td data-v="{value}">{value:.{digits}f}</td>'
    return f'<td data-v="{html.escape(str(value))}">{html.escape(str(value))}</td>'


def _row(i: int, take: Take) -> str:
    v = summary_values(take)
    rank, word = verdict_of(take)
    r = take.report or {}
    note = take.reason if take.status == "failed" else r.get("off_target") or \
        ((r.get("verdict") or {}).get("summary") if rank == 2 else "")
    earlier = ' <span class="earlier" title="mastered by an earlier run with the same settings">↺</span>' \
        if take.status == "skipped" else ""
    cells = [f'<td data-v="{i}">{i + 1}</td>',
             f'<td data-v="{html.escape(take.name)}"><a href="#take-{i}">{html.escape(take.name)}</a>{earlier}</td>',
             f'<td data-v="{rank}"><span class="badge v{rank}">{html.escape(word)}</span></td>',
             _cell(v["raw_lufs"]), _cell(v["lufs"]), _cell(v["true_peak"], 2), _cell(v["lra"]), _cell(v["gain"]),
             _cell(v["limiting"]), _cell(v["findings"]), _cell(v["score"]), _cell(v["seconds"]),
             f'<td class="note" data-v="{html.escape(note or "")}">{html.escape(note or "")}</td>']
    return f'<tr class="v{rank}" data-i="{i}">{"".join(cells)}</tr>'


def take_data(take: Take, page_dir: Path | None) -> dict[str, Any]:
    """What the page's script builds a file's section from (also what the studio hands its player)."""
    r = dict(take.report or {})
    stages = r.get("stages", [])
    findings = next((s.get("findings") for s in stages if s.get("findings") is not None), None)
    before, after = r.get("before") or {}, r.get("after") or {}
    data: dict[str, Any] = {
        "name": take.name, "status": take.status, "reason": take.reason, "verdict": verdict_of(take)[1],
        "a": link(take.source, page_dir) if page_dir else None, "b": link(take.master, page_dir) if page_dir else None,
        "lufs_a": before.get("integrated_lufs"), "lufs_b": after.get("integrated_lufs"),
        "offset": (take.curves or {}).get("offset_s", 0.0),
        "before": before or None, "after": after or None, "targets": r.get("targets"),
        "off_target": r.get("off_target"), "check": r.get("verdict"), "regeneration": r.get("regeneration"),
        "preset": r.get("preset"), "output": r.get("output"), "seconds": r.get("seconds"),
        "stages": [{k: v for k, v in s.items() if k not in ("findings", "windows")} for s in stages],
        "findings": findings or [],
    }
    if take.curves is not None:
        data["figures"] = figures.figures(take.curves)
    elif take.status != "failed":
        data["no_curves"] = "no plots: this file was mastered by an earlier Sori that did not keep its curves"
    return data


def _json(value: Any) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def _section(i: int, take: Take) -> str:
    _, word = verdict_of(take)
    return (f'<section class="take" id="take-{i}" data-i="{i}"><header><h2>{html.escape(take.name)}</h2>'
            f'<span class="badge v{verdict_of(take)[0]}">{html.escape(word)}</span></header>'
            f'<div class="take-body"></div></section>')


def counts(takes: list[Take]) -> dict[str, int]:
    ranks = [verdict_of(t)[0] for t in takes]
    return {"files": len(takes), "mastered": sum(t.status == "done" for t in takes),
            "earlier": sum(t.status == "skipped" for t in takes), "failed": ranks.count(0),
            "off_target": ranks.count(1), "sour": ranks.count(2), "ok": ranks.count(3)}


def _cards(takes: list[Take], meta: Mapping[str, Any]) -> str:
    c = counts(takes)
    cards = [("files", c["files"], ""), ("mastered now", c["mastered"], ""),
             ("from an earlier run", c["earlier"], ""), ("failed", c["failed"], "v0" if c["failed"] else ""),
             ("off target", c["off_target"], "v1" if c["off_target"] else ""),
             ("with findings", c["sour"], "v2" if c["sour"] else ""), ("ok", c["ok"], "v3")]
    out = "".join(f'<div class="card {cls}"><b>{n}</b><span>{html.escape(label)}</span></div>'
                  for label, n, cls in cards)
    album = meta.get("album")
    if album:
        state = "on target" if album.get("on_target") else "OFF TARGET"
        out += (f'<div class="card wide"><b>{album.get("output_lufs", "–")} LUFS</b><span>album: {album["takes"]} '
                f'takes, one gain of {album["gain_db"]:+.2f} dB, target {album["target_lufs"]:g} ({state})'
                '</span></div>')
    return out


def render(takes: list[Take], page: Path, meta: Mapping[str, Any]) -> str:
    """The whole page as text."""
    page_dir = page.parent
    order = sorted(range(len(takes)), key=lambda i: (verdict_of(takes[i])[0], takes[i].name))
    head = "".join(f"<th data-k=\"{kind}\">{html.escape(name)}</th>" for name, kind in COLUMNS)
    rows = "".join(_row(i, takes[i]) for i in order)
    sections = "".join(_section(i, takes[i]) for i in order)
    data = "".join(f'<script type="application/json" id="take-data-{i}">{_json(take_data(t, page_dir))}</script>'
                   for i, t in enumerate(takes))
    where = " · ".join(html.escape(f"{k}: {meta[k]}") for k in ("preset", "input", "output") if meta.get(k))
    title = html.escape(str(meta.get("title") or "Sori master report"))
    base = _json({"layout": figures.BASE_LAYOUT, "config": figures.CONFIG, "time": list(figures.TIME_FIGURES)})
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Sori"><title>{title}</title><style>{asset("report.css")}</style></head>
<body><div class="page">
<header class="top"><h1>{title}</h1><p class="where">{where}</p>
<p class="made">written {html.escape(str(meta.get("written") or time.strftime("%Y-%m-%d %H:%M")))} ·
click a column to sort · click a file to hear and see it · A/B: the keys A and B, space to play</p></header>
<section id="summary"><div class="cards">{_cards(takes, meta)}</div>
<table id="files"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></section>
<main id="takes">{sections}</main></div>
<script type="application/json" id="sori-base">{base}</script>
{data}
<script type="text/plain" id="sori-plotly">{plotly_js()}</script>
<script>{asset("report.js")}</script>
<script>window.soriPage();</script>
</body></html>
"""


def write_report(path: str | os.PathLike, takes: list[Take], meta: Mapping[str, Any] | None = None) -> Path:
    """Write the page atomically. `meta`: title, preset, input, output, album (what the top of the page says)."""
    page = Path(path)
    text = render(takes, page, meta or {})
    page.parent.mkdir(parents=True, exist_ok=True)
    audio_io.atomic_write_text(page, text)
    return page
