"""Benchmark: Sori's `streaming` preset against ffmpeg's two-pass `loudnorm`, same corpus, same run.

Both tools target -14 LUFS integrated and -1.0 dBTP true peak and write 48 kHz 24-bit WAV. Every input of
the synthetic corpus (`tests.signals.make_corpus`: ~34 files, WAV/FLAC/OGG/MP3, 8-192 kHz, mono and
stereo, 1 s to 10 min) is mastered by each tool, one file at a time:

* Sori: `remaster(path, dissonance=None)` + `save(out, m)` in this process (the preset's pitch check is
  left out, as ffmpeg does nothing of the kind; `--with-dissonance` keeps it), timed as wall time per file
  (what `sori batch` does per file, including its before/after analysis). One untimed warm-up call on a
  short file comes first, so import and first-call costs are excluded.
* ffmpeg: pass 1 measures with `loudnorm=...:print_format=json`, pass 2 applies it with the measured values
  and `linear=true`, resampling to 48 kHz and writing pcm_s24le. Both passes (two ffmpeg processes, start-up
  included) are timed together. Pass 2 reports whether loudnorm stayed linear or fell back to dynamic mode.

Every output of both tools is graded by two meters that belong to neither tool's own code path:
pyloudnorm (integrated loudness) and ffmpeg's `ebur128=peak=true` filter (integrated loudness and true
peak; it prints both to 0.1 dB). Clipped samples (|x| >= 0.9999) are counted from the file data. Sori's own
analyzer is also run on both outputs, for the JSON rows and the meter cross-check only. The loudness target
(within +-0.5 LU of -14 LUFS) applies to files whose input has at least 3 s of signal (50 ms frames above
-60 dBFS RMS); the true-peak (<= -1.0 dBTP), clipping and 48 kHz targets apply to every file.

The same comparison then runs on a second corpus, of generated-music-like takes (benchmarks/generated_corpus.py:
ten 32 kHz mono 16-bit takes of 30 s to 4 min rendered by FluidSynth from music21 corpus movements, quiet, with
hiss; half with drums). Each corpus prints its own table, summaries and speed ratio (target: Sori >= 2.0x ffmpeg's
speed on both). Last, `sori batch` throughput with the whole `streaming` preset (pitch check included, --jobs 2) on
the second corpus, and the peak memory of remaster() + save() on the long file of the first (a fresh process; the
increase of its peak RSS over a warm-up, against the decoded input as float32; target <= 3x).

Run from the repository root (ffmpeg is installed with apt-get when missing; FluidSynth and its soundfont too):

    .venv/bin/python benchmarks/bench_loudnorm.py [--long-seconds 600] [--corpus DIR] [--generated DIR]
                                                  [--json PATH]

Without --corpus the corpus is generated into a temporary folder (about 30 s). With --corpus DIR an existing
folder that already holds audio files is reused as is; otherwise the corpus is generated there and kept.
The exit status is 0 whether or not the targets are met: this is a benchmark, read the PASS/FAIL lines.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyloudnorm
import soundfile as sf

from remaster import audio, remaster, save
from remaster.analysis import analyze
from remaster.errors import SoriError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))     # the repo: tests.signals holds the signals
from tests.signals import make_corpus

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generated_corpus

TARGET_LUFS = -14.0
TARGET_TP = -1.0
LRA = 11.0
TOLERANCE_LU = 0.5
MIN_SIGNAL_S = 3.0
SIGNAL_FLOOR_DB = -60.0
FRAME_S = 0.05
CLIP_LEVEL = 0.9999
OUT_RATE = 48_000
METER_DISAGREEMENT_LU = 0.2

_FFMPEG = ["ffmpeg", "-hide_banner", "-nostats", "-nostdin"]
_LOUDNORM = f"loudnorm=I={TARGET_LUFS:g}:TP={TARGET_TP:g}:LRA={LRA:g}"


# ---------------------------------------------------------------------------------------------- setup


def ensure_ffmpeg() -> str:
    """Path of ffmpeg, installing Debian's package with apt-get when it is missing (exits on failure)."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    print("ffmpeg not found: installing it with apt-get (apt-get update -qq; apt-get install -y -qq ffmpeg)",
          flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "ffmpeg"]):
        print("  $ " + " ".join(cmd), flush=True)
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        except OSError as e:
            sys.exit(f"bench_loudnorm: ffmpeg is missing and could not be installed ({cmd[0]}: {e.strerror})")
        if proc.returncode != 0:
            last = (proc.stderr.strip() or proc.stdout.strip() or f"exit status {proc.returncode}").splitlines()[-1]
            sys.exit(f"bench_loudnorm: ffmpeg is missing and `{' '.join(cmd)}` failed: {last}")
    found = shutil.which("ffmpeg")
    if not found:
        sys.exit("bench_loudnorm: apt-get reported success but ffmpeg is still not on PATH")
    print(f"  installed {found}", flush=True)
    return found


def ffmpeg_version() -> str:
    out = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else "ffmpeg (unknown version)"


def audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in audio.READ_SUFFIXES)


def prepare_corpus(corpus: Path | None, long_seconds: float, scratch: Path) -> list[Path]:
    """Reuse `corpus` when it already holds audio files; otherwise generate one (there, or in `scratch`)."""
    if corpus is not None and corpus.is_dir():
        files = audio_files(corpus)
        if files:
            print(f"corpus: reusing {len(files)} files in {corpus} (not regenerated; --long-seconds ignored)")
            return files
    where = corpus if corpus is not None else scratch / "corpus"
    print(f"corpus: generating into {where} (long file {long_seconds:g} s; takes about 30 s) ...", flush=True)
    start = time.perf_counter()
    files = make_corpus(where, long_seconds=long_seconds)
    print(f"corpus: {len(files)} files in {time.perf_counter() - start:.1f} s")
    return files


# ---------------------------------------------------------------------------------------------- tools


def _last_json_block(text: str) -> dict[str, Any]:
    """loudnorm prints one flat JSON object at the end of stderr."""
    end = text.rfind("}")
    start = text.rfind("{", 0, end)
    if start < 0 or end < 0:
        raise ValueError("no JSON block in ffmpeg's output")
    return json.loads(text[start:end + 1])


def _ffmpeg(args: list[str]) -> str:
    proc = subprocess.run([*_FFMPEG, *args], capture_output=True, text=True, errors="replace")
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"
        raise RuntimeError(f"ffmpeg failed: {tail}")
    return proc.stderr


def run_ffmpeg_loudnorm(src: Path, dst: Path) -> dict[str, Any]:
    """Two-pass loudnorm of `src` into a 48 kHz 24-bit WAV; returns timing and both passes' JSON."""
    start = time.perf_counter()
    first = _last_json_block(_ffmpeg(["-i", str(src), "-af", f"{_LOUDNORM}:print_format=json", "-f", "null", "-"]))
    measured = {k: first.get(k) for k in ("input_i", "input_tp", "input_lra", "input_thresh", "target_offset")}
    usable = all(v is not None and math.isfinite(float(v)) for v in measured.values())
    if usable:
        filt = (f"{_LOUDNORM}:measured_I={measured['input_i']}:measured_TP={measured['input_tp']}"
                f":measured_LRA={measured['input_lra']}:measured_thresh={measured['input_thresh']}"
                f":offset={measured['target_offset']}:linear=true:print_format=json")
    else:   # silence: pass 2 rejects -inf measurements; loudnorm then runs single-pass (dynamic)
        filt = f"{_LOUDNORM}:print_format=json"
    second = _last_json_block(_ffmpeg(["-y", "-i", str(src), "-af", filt, "-ar", str(OUT_RATE),
                                       "-c:a", "pcm_s24le", str(dst)]))
    return {"seconds": time.perf_counter() - start, "pass1": first, "pass2": second,
            "normalization_type": second.get("normalization_type", "?"), "measured_used": usable}


SORI_OVERRIDES: dict[str, Any] = {"dissonance": None}


def run_sori(src: Path, dst: Path) -> dict[str, Any]:
    """remaster() + save(), timed together, exactly the per-file work of `sori batch`."""
    start = time.perf_counter()
    m = remaster(src, **SORI_OVERRIDES)
    written = save(dst, m)
    seconds = time.perf_counter() - start
    after = m.report.get("after", {})
    return {"seconds": seconds, "path": written, "self_lufs": after.get("integrated_lufs"),
            "self_tp": after.get("true_peak_dbtp"), "self_clipped": after.get("clipped_samples"),
            "self_targets": m.report.get("targets")}


# ---------------------------------------------------------------------------------------------- meters


def signal_seconds(x: np.ndarray, rate: int) -> float:
    """Seconds of 50 ms frames whose RMS (over all channels) is above -60 dBFS."""
    n = max(1, round(FRAME_S * rate))
    frames = x.shape[-1] // n
    if frames == 0:
        return 0.0
    blocks = x[:, : frames * n].astype(np.float64).reshape(x.shape[0], frames, n)
    power = np.square(blocks).mean(axis=(0, 2))
    floor = 10 ** (SIGNAL_FLOOR_DB / 10)
    return float(np.count_nonzero(power > floor) * FRAME_S)


def ebur128(path: Path) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) from ffmpeg's ebur128 summary."""
    err = _ffmpeg(["-i", str(path), "-af", "ebur128=peak=true", "-f", "null", "-"])
    summary = err[err.rfind("Summary:"):]
    i = re.search(r"^\s*I:\s*(\S+)\s+LUFS", summary, re.MULTILINE)
    tp = re.search(r"^\s*Peak:\s*(\S+)\s+dBFS", summary, re.MULTILINE)
    if not (i and tp):
        raise ValueError(f"{path.name}: no ebur128 summary in ffmpeg's output")
    return float(i.group(1)), float(tp.group(1))


def measure_output(path: Path) -> dict[str, Any]:
    """Grade one output file with pyloudnorm, ffmpeg ebur128 and Sori's analyzer; count clipped samples."""
    data, rate = sf.read(str(path), dtype="float64", always_2d=True)     # (frames, channels)
    try:
        pyln = float(pyloudnorm.Meter(rate).integrated_loudness(data))
    except ValueError:      # shorter than one 400 ms block
        pyln = -math.inf
    e_lufs, e_tp = ebur128(path)
    own = analyze(data.T.astype(np.float32), rate)
    return {"rate": int(rate), "channels": int(data.shape[1]), "frames": int(data.shape[0]),
            "pyln_lufs": pyln, "ebur_lufs": e_lufs, "ebur_tp": e_tp,
            "clipped": int(np.count_nonzero(np.abs(data) >= CLIP_LEVEL)),
            "sori_meter_lufs": own.integrated_lufs, "sori_meter_tp": own.true_peak_dbtp}


def grade(m: dict[str, Any], graded_loudness: bool) -> dict[str, Any]:
    """Target checks for one output. Loudness counts only when both independent meters agree it is on target."""
    err_pyln = m["pyln_lufs"] - TARGET_LUFS
    err_ebur = m["ebur_lufs"] - TARGET_LUFS
    on = [math.isfinite(e) and abs(e) <= TOLERANCE_LU + 1e-9 for e in (err_pyln, err_ebur)]
    return {"err_pyln": err_pyln, "err_ebur": err_ebur, "graded": graded_loudness,
            "on_target_pyln": on[0], "on_target_ebur": on[1],
            "on_target": (on[0] and on[1]) if graded_loudness else None,
            "tp_violation": not m["ebur_tp"] <= TARGET_TP, "clipped_file": m["clipped"] > 0,
            "rate_ok": m["rate"] == OUT_RATE}


# ---------------------------------------------------------------------------------------------- report


def _f(v: float | None, fmt: str = "+.2f", width: int = 6) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a".rjust(width)
    if isinstance(v, float) and math.isinf(v):
        return ("-inf" if v < 0 else "inf").rjust(width)
    return format(v, fmt).rjust(width)


def _flags(g: dict[str, Any] | None) -> str:
    if g is None:
        return "ERR"
    s = ""
    s += "L" if g["on_target"] is False else ""
    s += "P" if g["tp_violation"] else ""
    s += "C" if g["clipped_file"] else ""
    s += "R" if not g["rate_ok"] else ""
    return s or ("ok" if g["graded"] else "-")


def print_table(rows: list[dict[str, Any]]) -> None:
    name_w = max(24, *(len(r["name"]) for r in rows))
    head1 = (f"{'':{name_w}} {'':>7} {'':>6} | {'Sori streaming':^37} | {'ffmpeg loudnorm (2-pass)':^46}")
    head2 = (f"{'file':{name_w}} {'dur s':>7} {'sig s':>6} | {'errPyLN':>7} {'errEBU':>6} {'TP':>5} {'time s':>7}"
             f" {'flag':>5} | {'errPyLN':>7} {'errEBU':>6} {'TP':>5} {'time s':>7} {'type':>7} {'flag':>5}")
    print(head1)
    print(head2)
    print("-" * len(head2))
    for r in rows:
        cells = [f"{r['name']:{name_w}} {r['duration']:7.1f} {r['signal']:6.1f} |"]
        for tool in ("sori", "ffmpeg"):
            t, g = r.get(tool), r.get(f"{tool}_grade")
            if t is None or g is None:
                width = 36 if tool == "sori" else 44
                cells.append(f"{'failed: ' + str(r.get(tool + '_error', '?'))[: width - 8]:<{width}}"
                             f" {'ERR':>5}" + (" |" if tool == "sori" else ""))
                continue
            m = r[f"{tool}_meter"]
            cell = (f"{_f(g['err_pyln'], '+.2f', 7)} {_f(g['err_ebur'], '+.1f', 6)} {_f(m['ebur_tp'], '.1f', 5)}"
                    f" {t['seconds']:7.2f}")
            if tool == "ffmpeg":
                cell += f" {t['normalization_type']:>7}"
            cells.append(f"{cell} {_flags(g):>5}" + (" |" if tool == "sori" else ""))
        print(" ".join(cells))
    print("-" * len(head2))
    print("errPyLN / errEBU: integrated loudness minus -14 LUFS by pyloudnorm / ffmpeg ebur128 (LU);"
          " TP: true peak by ebur128 (dBTP, 0.1 dB resolution)")
    print("flag: ok = all targets met; - = under 3 s of signal (loudness not graded); L = loudness off by more"
          " than 0.5 LU on either meter; P = true peak > -1.0 dBTP; C = clipped samples; R = not 48 kHz")


def summarize(rows: list[dict[str, Any]], tool: str) -> dict[str, Any]:
    done = [r for r in rows if r.get(f"{tool}_grade") is not None]
    graded = [r for r in done if r[f"{tool}_grade"]["graded"]]
    errs = [abs(e) for r in graded for e in (r[f"{tool}_grade"]["err_pyln"], r[f"{tool}_grade"]["err_ebur"])]
    tps = [r[f"{tool}_meter"]["ebur_tp"] for r in done]
    audio_s = sum(r["duration"] for r in done)
    wall_s = sum(r[tool]["seconds"] for r in done)
    return {
        "files": len(rows), "failed": len(rows) - len(done), "graded": len(graded),
        "on_target": sum(1 for r in graded if r[f"{tool}_grade"]["on_target"]),
        "on_target_pyln": sum(1 for r in graded if r[f"{tool}_grade"]["on_target_pyln"]),
        "on_target_ebur": sum(1 for r in graded if r[f"{tool}_grade"]["on_target_ebur"]),
        "tp_violations": sum(1 for r in done if r[f"{tool}_grade"]["tp_violation"]),
        "max_abs_lu_error": max(errs) if errs else math.nan,
        "max_true_peak": max(tps) if tps else math.nan,
        "clipped_files": sum(1 for r in done if r[f"{tool}_grade"]["clipped_file"]),
        "not_48k": sum(1 for r in done if not r[f"{tool}_grade"]["rate_ok"]),
        "audio_s": audio_s, "wall_s": wall_s, "speed_x": audio_s / wall_s if wall_s > 0 else math.nan,
        "dynamic": sum(1 for r in done if r[tool].get("normalization_type") == "dynamic") if tool == "ffmpeg" else None,
    }


def print_summary(label: str, s: dict[str, Any]) -> None:
    print(f"{label}")
    print(f"  files mastered            {s['files'] - s['failed']}/{s['files']}"
          + (f"  ({s['failed']} FAILED)" if s["failed"] else ""))
    print(f"  on target (+-0.5 LU)      {s['on_target']}/{s['graded']} files with >= 3 s of signal"
          f"  (pyloudnorm {s['on_target_pyln']}, ebur128 {s['on_target_ebur']})")
    print(f"  true-peak violations      {s['tp_violations']}  (> -1.0 dBTP by ebur128)")
    print(f"  max |LU error|            {_f(s['max_abs_lu_error'], '.2f', 0)} LU  (graded files, either meter)")
    print(f"  max true peak             {_f(s['max_true_peak'], '.1f', 0)} dBTP")
    print(f"  files with clipped samples {s['clipped_files']}")
    print(f"  outputs not 48 kHz        {s['not_48k']}")
    if s["dynamic"] is not None:
        print(f"  fell back to dynamic mode {s['dynamic']}  (loudnorm linear=true was not possible)")
    print(f"  speed                     {s['audio_s']:.1f} s audio / {s['wall_s']:.1f} s wall"
          f" = {s['speed_x']:.1f}x real time")


def print_notes(rows: list[dict[str, Any]]) -> None:
    notes = []
    for r in rows:
        for tool, label in (("sori", "Sori"), ("ffmpeg", "ffmpeg")):
            m, g = r.get(f"{tool}_meter"), r.get(f"{tool}_grade")
            if m is None or g is None:
                notes.append(f"{r['name']}: {label} failed: {r.get(tool + '_error')}")
                continue
            if g["graded"] and not g["on_target"]:
                notes.append(f"{r['name']}: {label} misses the loudness target (pyloudnorm {m['pyln_lufs']:.2f},"
                             f" ebur128 {m['ebur_lufs']:.1f} LUFS)")
            if g["tp_violation"]:
                notes.append(f"{r['name']}: {label} true peak {m['ebur_tp']:.1f} dBTP by ebur128"
                             f" (Sori's meter {m['sori_meter_tp']:.2f})")
            if g["clipped_file"]:
                notes.append(f"{r['name']}: {label} output has {m['clipped']} clipped samples")
            vals = {"pyloudnorm": m["pyln_lufs"], "ebur128": m["ebur_lufs"], "Sori meter": m["sori_meter_lufs"]}
            finite = {k: v for k, v in vals.items() if math.isfinite(v)}
            if len(finite) == len(vals) and max(finite.values()) - min(finite.values()) > METER_DISAGREEMENT_LU:
                notes.append(f"{r['name']}: meters disagree on the {label} output by "
                             f"{max(finite.values()) - min(finite.values()):.2f} LU ("
                             + ", ".join(f"{k} {v:.2f}" for k, v in vals.items()) + ")")
            elif len(finite) != len(vals):
                notes.append(f"{r['name']}: a meter found no gated loudness on the {label} output ("
                             + ", ".join(f"{k} {v:.2f}" for k, v in vals.items()) + ")")
            if math.isfinite(m["sori_meter_tp"]) and abs(m["sori_meter_tp"] - m["ebur_tp"]) > 0.2:
                notes.append(f"{r['name']}: true-peak meters disagree on the {label} output"
                             f" (ebur128 {m['ebur_tp']:.1f}, Sori meter {m['sori_meter_tp']:.2f} dBTP)")
        if r.get("sori") and r.get("sori_grade"):
            own = (r["sori"].get("self_targets") or {}).get("loudness")
            mine = r["sori_grade"]["graded"]
            if (own is not None) != mine:
                notes.append(f"{r['name']}: Sori's report {'grades' if own is not None else 'skips'} loudness but"
                             f" this benchmark {'grades' if mine else 'skips'} it (signal {r['signal']:.2f} s)")
    print("notes")
    for n in notes or ["none: no misses, no failures, no meter disagreement > 0.2 LU"]:
        print(f"  - {n}")


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, (np.floating, np.integer)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


# ---------------------------------------------------------------------------------------------- main


def bench_file(src: Path, out_dir: Path) -> dict[str, Any]:
    x, rate = audio.read(src)
    sig = signal_seconds(x, rate)
    row: dict[str, Any] = {"name": src.name, "input_rate": rate, "input_channels": int(x.shape[0]),
                           "duration": x.shape[-1] / rate, "signal": sig}
    graded = sig >= MIN_SIGNAL_S
    outputs = {"sori": out_dir / "sori" / f"{src.stem}.wav", "ffmpeg": out_dir / "ffmpeg" / f"{src.stem}.wav"}
    for tool, runner in (("sori", run_sori), ("ffmpeg", run_ffmpeg_loudnorm)):
        try:
            row[tool] = runner(src, outputs[tool])
            row[f"{tool}_meter"] = measure_output(outputs[tool])
            row[f"{tool}_grade"] = grade(row[f"{tool}_meter"], graded)
        except (SoriError, RuntimeError, ValueError, OSError) as e:
            row[f"{tool}_error"] = f"{type(e).__name__}: {e}"
            row.pop(tool, None)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Sori streaming preset vs ffmpeg two-pass loudnorm (-14 LUFS, -1 dBTP)")
    ap.add_argument("--long-seconds", type=float, default=600.0, help="length of the long corpus file (default 600)")
    ap.add_argument("--corpus", type=Path, help="corpus folder: reused when it holds audio files, else generated")
    ap.add_argument("--generated", type=Path, help="the generated-like corpus' folder: rendered there on the first "
                    "run, reused after (default: a temporary folder)")
    ap.add_argument("--out", type=Path, help="keep both tools' outputs here (default: a temporary folder, removed)")
    ap.add_argument("--json", type=Path, help="write the per-file rows and summaries as JSON to this path")
    ap.add_argument("--with-dissonance", action="store_true", help="keep the preset's pitch check in Sori's chain")
    args = ap.parse_args(argv)

    ensure_ffmpeg()
    scratch = Path(tempfile.mkdtemp(prefix="bench-loudnorm-"))
    try:
        return _run(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run(args: argparse.Namespace, scratch: Path) -> int:
    print(f"tools: Sori streaming preset (in-process) vs {ffmpeg_version()}")
    own = prepare_corpus(args.corpus, args.long_seconds, scratch)
    where = args.generated if args.generated is not None else scratch / "generated"
    print(f"generated-like corpus: {where} (rendered on the first run, about a minute) ...", flush=True)
    generated = generated_corpus.make(where, log=lambda m: print(m, flush=True))
    out_dir = args.out if args.out is not None else scratch / "out"
    if args.with_dissonance:
        SORI_OVERRIDES.clear()
    warm_up(own, out_dir)

    results, checks = {}, []
    for label, files in (("own corpus", own), ("generated-like corpus", generated)):
        rows, sori, ff, ratio = bench_corpus(label, files, out_dir / label.split()[0])
        results[label] = {"rows": rows, "summary": {"sori": sori, "ffmpeg": ff}, "speed_ratio": ratio}
        checks += corpus_checks(label, sori, ff, ratio)

    print("\n=== sori batch, the full streaming preset (pitch check included), on the generated-like corpus")
    batch = batch_throughput(where, out_dir / "batch", sum(r["duration"] for r in results["generated-like corpus"]
                                                           ["rows"]), len(generated))
    long_file = max(own, key=lambda p: p.stat().st_size)
    print(f"\n=== peak memory: remaster() + save() of {long_file.name} in a fresh process")
    memory = peak_memory(long_file, min(own, key=lambda p: p.stat().st_size), out_dir / "memory")
    checks.append((memory["ratio"] <= 3.0, f"peak memory {memory['increase_mb']:.0f} MB = {memory['ratio']:.2f}x "
                   f"the decoded audio ({memory['decoded_mb']:.0f} MB) on {long_file.name} (target <= 3x)"))
    print()
    for ok, text in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")

    if args.json is not None:
        payload = {"target_lufs": TARGET_LUFS, "target_tp": TARGET_TP, "tolerance_lu": TOLERANCE_LU,
                   "ffmpeg": ffmpeg_version(), "corpora": results, "batch": batch, "memory": memory}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(_jsonable(payload), indent=1))
        print(f"\nrows written to {args.json}")
    return 0


def warm_up(files: list[Path], out_dir: Path) -> None:
    warm = min(files, key=lambda p: p.stat().st_size)
    start = time.perf_counter()
    (out_dir / "warmup").mkdir(parents=True, exist_ok=True)
    save(out_dir / "warmup" / "warmup.wav", remaster(warm, **SORI_OVERRIDES))
    subprocess.run(["ffmpeg", "-version"], capture_output=True)
    print(f"warm-up: one untimed Sori remaster+save of {warm.name} ({time.perf_counter() - start:.2f} s) and one"
          " `ffmpeg -version`, so imports and first-call costs are excluded from the timings")


def bench_corpus(label: str, files: list[Path], out_dir: Path) -> tuple[list[dict], dict, dict, float]:
    for sub in ("sori", "ffmpeg"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    print(f"\n=== {label}: {len(files)} files, one at a time, Sori then ffmpeg for each ...\n", flush=True)
    rows = []
    for i, src in enumerate(files, 1):
        row = bench_file(src, out_dir)
        rows.append(row)
        times = "  ".join(f"{t} {row[t]['seconds']:.2f} s" if t in row else f"{t} FAILED" for t in ("sori", "ffmpeg"))
        print(f"  [{i:2d}/{len(files)}] {src.name:<30} {row['duration']:7.1f} s audio   {times}", flush=True)
    print()
    print_table(rows)
    sori, ff = summarize(rows, "sori"), summarize(rows, "ffmpeg")
    print()
    print_summary(f"Sori on the {label} (streaming preset; time = remaster() + save(), incl. its before/after "
                  "analysis)", sori)
    print()
    print_summary(f"ffmpeg loudnorm two-pass on the {label} (time = both ffmpeg processes, incl. start-up)", ff)
    ratio = sori["speed_x"] / ff["speed_x"] if ff["speed_x"] and math.isfinite(ff["speed_x"]) else math.nan
    print()
    print(f"speed ratio Sori / ffmpeg on the {label}: {ratio:.2f}x  (Sori {sori['speed_x']:.1f}x vs ffmpeg "
          f"{ff['speed_x']:.1f}x real time)")
    print()
    print_notes(rows)
    return rows, sori, ff, ratio


def corpus_checks(label: str, sori: dict, ff: dict, ratio: float) -> list[tuple[bool, str]]:
    return [
        (sori["failed"] == 0 and sori["on_target"] == sori["graded"],
         f"{label}: Sori all on target: {sori['on_target']}/{sori['graded']} files with >= 3 s of signal within "
         "+-0.5 LU of -14 LUFS on both meters" + (f"; {sori['failed']} failed" if sori["failed"] else "")),
        (sori["failed"] == 0 and sori["tp_violations"] == 0,
         f"{label}: Sori no true-peak violations: {sori['tp_violations']} files above -1.0 dBTP by ebur128"
         f" (max {_f(sori['max_true_peak'], '.1f', 0)} dBTP)"),
        (math.isfinite(ratio) and ratio >= 2.0,
         f"{label}: Sori at least 2x ffmpeg's speed: {sori['speed_x']:.1f}x vs {ff['speed_x']:.1f}x real time "
         f"(ratio {ratio:.2f})"),
        (sori["failed"] == 0 and sori["clipped_files"] == 0 and sori["not_48k"] == 0,
         f"{label}: Sori no clipped samples and 48 kHz output: {sori['clipped_files']} clipped files,"
         f" {sori['not_48k']} not at 48 kHz"),
    ]


def batch_throughput(folder: Path, out: Path, audio_s: float, files: int) -> dict[str, Any]:
    """`sori batch` as a user runs it (a fresh process, --jobs 2), the whole streaming preset."""
    sori = str(Path(sys.executable).with_name("sori"))
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    proc = subprocess.run([sori, "batch", str(folder), str(out), "--jobs", "2", "-q"], capture_output=True, text=True)
    wall = time.perf_counter() - start
    summary = (proc.stdout.strip().splitlines() or ["?"])[-1]
    print(f"  exit {proc.returncode}: {summary}")
    print(f"  {files} files, {audio_s:.0f} s of audio in {wall:.1f} s wall (process start included): "
          f"{files / wall * 60:.1f} files/min, {audio_s / wall:.1f}x real time")
    return {"exit": proc.returncode, "summary": summary, "wall_s": wall, "audio_s": audio_s,
            "files_per_min": files / wall * 60, "speed_x": audio_s / wall}


MEMORY_SCRIPT = """
import json, resource, sys
from remaster import remaster, save
save(sys.argv[3], remaster(sys.argv[2], dissonance=None))      # warm-up: imports and first calls
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
m = remaster(sys.argv[1], dissonance=None)
save(sys.argv[3], m)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
b = m.report["before"]
print(json.dumps({"base_kb": base, "peak_kb": peak, "decoded": b["duration_s"] * b["sample_rate"] * b["channels"] * 4}))
"""


def peak_memory(path: Path, small: Path, out: Path) -> dict[str, Any]:
    """Peak RSS increase of remaster() + save() over the process' own after a warm-up, against the decoded
    input (float32, its rate and channels)."""
    out.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(path), str(small), str(out / "m.wav")],
                          capture_output=True, text=True, check=True)
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    increase = (r["peak_kb"] - r["base_kb"]) * 1024
    res = {"increase_mb": increase / 2**20, "decoded_mb": r["decoded"] / 2**20, "ratio": increase / r["decoded"],
           "baseline_mb": r["base_kb"] / 1024, "peak_mb": r["peak_kb"] / 1024}
    print(f"  baseline {res['baseline_mb']:.0f} MB, peak {res['peak_mb']:.0f} MB: increase {res['increase_mb']:.0f} MB"
          f" = {res['ratio']:.2f}x the decoded audio ({res['decoded_mb']:.0f} MB)")
    return res


if __name__ == "__main__":
    sys.exit(main())
