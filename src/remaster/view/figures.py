"""The plots of one master, as plotly figure specs (plain data that plotly.js draws; `plotly.graph_objects.Figure`
takes them as they are): the waveform with the gain reduction under it, loudness over time against the target,
the long-term spectrum with the rebuilt band, and the pitch track with notes, scale and findings.

    specs = figures(curves)                  # {"wave": {...}, "loudness": {...}, "spectrum": {...}, "pitch": {...}}

The report embeds them and merges `BASE_LAYOUT` in the browser (written once per page, not once per plot); the
studio merges it here (`full=True`). Times are the master's (remaster.view.curves). Building a spec is cheap (no
numbers are decoded), so a 500-file report builds its 2000 plots in well under a second.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

from ..analysis.tuning import NAMES

RAW, MASTER = "#8a8f98", "#1769e0"
GAIN_REDUCTION, TARGET = "#d93025", "#188038"
FINDING_COLOURS = {"detuned": "#e37400", "out_of_key": "#d93025", "rough": "#9334e6"}
TIME_FIGURES = ("wave", "loudness", "pitch")        # share the master's time axis (a playhead, click to seek)
BASE_LAYOUT: dict[str, Any] = {
    "height": 240, "margin": {"l": 58, "r": 14, "t": 46, "b": 34},
    "font": {"family": "system-ui, -apple-system, 'Segoe UI', sans-serif", "size": 11, "color": "#202124"},
    "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff", "hovermode": "x", "dragmode": "zoom",
    "title": {"x": 0.01, "xanchor": "left", "y": 0.985, "yanchor": "top", "font": {"size": 12}},
    "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.0, "yanchor": "bottom", "font": {"size": 10},
               "bgcolor": "rgba(255,255,255,0)"},
    "xaxis": {"gridcolor": "#ececec", "zeroline": False, "linecolor": "#bdbdbd"},
    "yaxis": {"gridcolor": "#ececec", "zeroline": False, "linecolor": "#bdbdbd"},
    "yaxis2": {"gridcolor": "#ececec", "zeroline": False, "linecolor": "#bdbdbd"},
}
CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": "hover",
          "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


def figures(curves: Mapping[str, Any], full: bool = False) -> dict[str, dict[str, Any]]:
    """Every plot the curves allow (no pitch plot without a pitch check). `full`: with BASE_LAYOUT merged in."""
    out = {"wave": wave(curves), "loudness": loudness(curves), "spectrum": spectrum(curves)}
    if curves.get("pitch"):
        out["pitch"] = pitch(curves)
    return {k: with_base(v) for k, v in out.items()} if full else out


def with_base(fig: Mapping[str, Any]) -> dict[str, Any]:
    return {"data": fig["data"], "layout": _merged(BASE_LAYOUT, fig["layout"])}


def _merged(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(base))
    for k, v in over.items():
        out[k] = _merged(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
    return out


def _envelope(name: str, env: Mapping[str, Any], x0: float, dt: float, colour: str, fill: str) -> list[dict]:
    common = {"type": "scatter", "mode": "lines", "x0": x0, "dx": dt, "line": {"width": 0, "color": colour},
              "legendgroup": name, "hoverinfo": "skip"}
    return [{**common, "y": env["hi"], "showlegend": False, "name": name},
            {**common, "y": env["lo"], "fill": "tonexty", "fillcolor": fill, "name": name}]


def wave(c: Mapping[str, Any]) -> dict[str, Any]:
    w, offset = c["wave"], c["offset_s"]
    data = [*_envelope("master", w["after"], w["dt"] / 2, w["dt"], MASTER, "rgba(23,105,224,0.45)"),
            *_envelope("raw take", w["before"], w["dt"] / 2 - offset, w["dt"], RAW, "rgba(95,99,104,0.6)")]
    gr = c.get("gain_reduction")
    depth = gr["max_db"] if gr else 0.0
    if gr:
        data.append({"type": "scatter", "mode": "lines", "name": "gain reduction", "x0": gr["t0"], "dx": gr["dt"],
                     "y": gr["db"], "yaxis": "y2", "fill": "tozeroy", "line": {"width": 1, "color": GAIN_REDUCTION},
                     "fillcolor": "rgba(217,48,37,0.25)", "hovertemplate": "%{y:.2f} dB<extra>gain reduction</extra>"})
    title = f"Waveform · gain reduction {'deepest ' + format(depth, '.1f') + ' dB' if depth > 0 else 'none'}"
    layout = {"title": {"text": title}, "height": 270,
              "xaxis": {"title": {"text": "time (s)"}, "range": [0, c["duration_s"]], "anchor": "y2"},
              "yaxis": {"domain": [0.36, 1], "range": [-128, 128], "tickvals": [-127, -64, 0, 64, 127],
                        "ticktext": ["−1", "−½", "0", "½", "1"], "title": {"text": "amplitude"}, "fixedrange": True},
              "yaxis2": {"domain": [0, 0.28], "range": [-max(1.0, depth * 1.2), 0.3], "title": {"text": "GR dB"},
                         "fixedrange": True}}
    return {"data": data, "layout": layout}


def _lufs_range(c: Mapping[str, Any]) -> list[float]:
    lo, hi = [], []
    for side in ("before", "after"):
        for name in ("momentary", "short_term"):
            track = c["loudness"][side][name]
            if track.get("max") is not None:
                hi.append(track["max"])
                lo.append(track["min"] if track.get("min") is not None else track["max"] - 20)
    target = c["loudness"].get("target_lufs")
    if target is not None:
        lo.append(target)
        hi.append(target)
    if not hi:
        return [-60.0, 0.0]
    return [max(-70.0, min(lo) - 3), max(hi) + 3]


def loudness(c: Mapping[str, Any]) -> dict[str, Any]:
    lu, offset = c["loudness"], c["offset_s"]
    data = []
    for side, colour, label in (("before", RAW, "raw"), ("after", MASTER, "master")):
        x_shift = -offset if side == "before" else 0.0
        track = lu[side]
        m, s = track["momentary"], track["short_term"]
        data.append({"type": "scatter", "mode": "lines", "name": f"{label} momentary", "x0": m["t0"] + x_shift,
                     "dx": track["dt"], "y": m["values"], "line": {"width": 1, "color": colour}, "opacity": 0.55,
                     "hovertemplate": "%{y:.1f} LUFS", **({"visible": "legendonly"} if side == "before" else {})})
        data.append({"type": "scatter", "mode": "lines", "name": f"{label} short-term", "x0": s["t0"] + x_shift,
                     "dx": track["dt"], "y": s["values"], "line": {"width": 2.2, "color": colour},
                     "hovertemplate": "%{y:.1f} LUFS"})
    shapes, notes = [], []
    target = lu.get("target_lufs")
    if target is not None:
        tol = lu.get("tolerance_lu", 0.5)
        shapes += [{"type": "rect", "xref": "paper", "x0": 0, "x1": 1, "y0": target - tol, "y1": target + tol,
                    "fillcolor": "rgba(24,128,56,0.13)", "line": {"width": 0}, "layer": "below"},
                   {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": target, "y1": target,
                    "line": {"color": TARGET, "width": 1.2, "dash": "dash"}}]
        notes.append(f"target {target:g}")
    integrated = lu["after"].get("integrated")
    if integrated is not None:
        notes.append(f"master {integrated:.1f}")
    if lu["before"].get("integrated") is not None:
        notes.append(f"raw {lu['before']['integrated']:.1f} LUFS")
    layout = {"title": {"text": "Loudness · " + " · ".join(notes)}, "shapes": shapes,
              "xaxis": {"title": {"text": "time (s)"}, "range": [0, c["duration_s"]]},
              "yaxis": {"title": {"text": "LUFS"}, "range": _lufs_range(c)}}
    return {"data": data, "layout": layout}


HZ_TICKS = [20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 40000]


def _hz_label(hz: float) -> str:
    return f"{hz / 1000:g}k" if hz >= 1000 else f"{hz:g}"


def _khz(hz: float) -> str:
    return f"{hz / 1000:.1f} kHz"


def spectrum(c: Mapping[str, Any]) -> dict[str, Any]:
    s = c["spectrum"]
    data = [{"type": "scatter", "mode": "lines", "name": name, "x": s["hz"], "y": s[side],
             "line": {"width": 1.6, "color": colour}, "hovertemplate": "%{x:.0f} Hz: %{y:.1f} dB"}
            for side, name, colour in (("before", "raw take", RAW), ("after", "master", MASTER))]
    top = max(s["nyquist_before_hz"], s["nyquist_after_hz"])
    cutoff = s.get("cutoff_hz")
    shapes, title = [], "Spectrum"
    if cutoff and cutoff < s["nyquist_before_hz"] * 0.999:
        upper = s.get("rebuilt_to_hz") or s["nyquist_after_hz"]
        if upper > cutoff * 1.01:
            shapes.append({"type": "rect", "x0": cutoff, "x1": upper, "yref": "paper", "y0": 0, "y1": 1,
                           "fillcolor": "rgba(23,105,224,0.09)", "line": {"width": 0}, "layer": "below"})
            title += f" · raw ends at {_khz(cutoff)} · rebuilt to {_khz(upper)} (shaded)"
        else:
            title += f" · raw ends at {_khz(cutoff)}"
        shapes.append({"type": "line", "x0": cutoff, "x1": cutoff, "yref": "paper", "y0": 0, "y1": 1,
                       "line": {"color": "#5f6368", "width": 1, "dash": "dot"}})
    else:
        title += " · raw take full-band"
    layout = {"title": {"text": title}, "shapes": shapes,
              "xaxis": {"type": "log", "title": {"text": "frequency (Hz)"}, "tickvals": HZ_TICKS,
                        "ticktext": [_hz_label(f) for f in HZ_TICKS], "range": [math.log10(20), math.log10(top)]},
              "yaxis": {"title": {"text": "dB"}}}
    return {"data": data, "layout": layout}


def _note_ticks(lo: float, hi: float, reference: float, pitch_classes: list[int] | None) -> tuple[list, list]:
    """A tick on every grid note in range (only the scale's when there are many), named."""
    vals, text = [], []
    first, last = math.ceil((lo - reference) / 100), math.floor((hi - reference) / 100)
    many = last - first > 24
    for m in range(first, last + 1):
        pc = m % 12
        if many and pitch_classes is not None and pc not in pitch_classes:
            continue
        vals.append(reference + 100 * m)
        text.append(f"{NAMES[pc]}{m // 12 - 1}")
    return vals, text


def _finding_text(f: Mapping[str, Any]) -> str:
    when = f"{f['start']:.2f}–{f['end']:.2f} s"
    if f["kind"] == "rough":
        return f"rough {when}: roughness {f.get('roughness', 0):.3f}"
    return f"{f['kind'].replace('_', ' ')} {when}: {f['cents']:+.0f} cents, found {f.get('found', '?')}, " \
           f"expected {f.get('expected', '?')}"


def pitch(c: Mapping[str, Any]) -> dict[str, Any]:
    p = c["pitch"]
    reference = p.get("reference_cents") or 0.0
    lo, hi = p["range_cents"]
    data: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "lines", "name": "pitch", "x0": p["t0"], "dx": p["dt"], "y": p["cents"],
         "line": {"width": 1.3, "color": MASTER}, "connectgaps": False, "hoverinfo": "skip"}]
    if p["notes"]:
        xs, ys, names = [], [], []
        for start, end, centre in p["notes"]:
            xs += [start, end, None]
            ys += [centre, centre, None]
            names += [_name(centre)] * 2 + [""]
        data.append({"type": "scatter", "mode": "lines", "name": "notes", "x": xs, "y": ys, "text": names,
                     "line": {"width": 5, "color": "rgba(32,33,36,0.55)"}, "hovertemplate": "%{text}<extra></extra>"})
    shapes = []
    for pc in p.get("scale_pitch_classes") or []:
        for octave in range(math.floor((lo - reference) / 1200) - 1, math.ceil((hi - reference) / 1200) + 1):
            y = reference + 100 * (12 * octave + pc)
            if lo <= y <= hi:
                shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": y, "y1": y, "layer": "below",
                               "line": {"color": "rgba(24,128,56,0.35)", "width": 1}})
    by_kind: dict[str, list] = {}
    for f in p["findings"]:
        colour = FINDING_COLOURS.get(f["kind"], "#d93025")
        shapes.append({"type": "rect", "x0": f["start"], "x1": f["end"], "yref": "paper", "y0": 0, "y1": 1,
                       "fillcolor": colour, "opacity": 0.22, "line": {"width": 0}, "layer": "below"})
        by_kind.setdefault(f["kind"], []).append(f)
    for kind, found in by_kind.items():
        data.append({"type": "scatter", "mode": "markers", "name": kind.replace("_", " "),
                     "x": [(f["start"] + f["end"]) / 2 for f in found], "y": [hi - 40] * len(found),
                     "text": [_finding_text(f) for f in found], "hovertemplate": "%{text}<extra></extra>",
                     "marker": {"symbol": "triangle-down", "size": 11, "color": FINDING_COLOURS.get(kind, "#d93025")}})
    vals, text = _note_ticks(lo, hi, reference, p.get("scale_pitch_classes"))
    count = len(p["findings"])
    parts = [f"scale {p['scale']}" + (f" (fit {p['scale_fit']:.2f})" if p.get("scale_fit") is not None else "")
             if p.get("scale") else "no scale found"]
    if p.get("tuning_reference_hz"):
        parts.append(f"A4 = {p['tuning_reference_hz']:.1f} Hz")
    parts.append(f"{count} finding{'s' if count != 1 else ''}" +
                 (f" (score {p['score']:.1f} %)" if p.get("score") is not None else ""))
    layout = {"title": {"text": "Pitch · " + " · ".join(parts)}, "height": 260, "shapes": shapes,
              "xaxis": {"title": {"text": "time (s)"}, "range": [0, c["duration_s"]]},
              "yaxis": {"range": [lo, hi], "tickvals": vals, "ticktext": text, "title": {"text": "note"}}}
    return {"data": data, "layout": layout}


def _name(cents: float) -> str:
    m = round(cents / 100)
    off = cents - 100 * m
    return f"{NAMES[m % 12]}{m // 12 - 1} {off:+.0f}¢"
