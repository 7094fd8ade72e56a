"""Preparation: a source's clips cut into training windows, and the manifest the token cache reads.

    prepare("~/aihub/209.국악 악보 및 음원 데이터", "gugak-set", instruments=["가야금"])   # or `sori data prepare`

Each clip (read by `generate.finetune.source`: AI Hub 71470 the AI Hub 71470 layout, or a folder
of captioned audio) is mixed to mono, resampled with soxr (high quality) and cut where it is silent: silence at the
ends is trimmed, the clip is split at every silence of `silence_gap` seconds or more below `silence_db` dBFS, a
stretch shorter than `min_seconds` is dropped, and one longer than `max_seconds` is cut into equal windows. Every
window becomes a 16-bit FLAC:

    DATASET_DIR/audio/<split>/<clip id>-<k:03d>.flac
    DATASET_DIR/manifest.jsonl      one JSON object per window, sorted by id (MANIFEST_KEYS): the token cache's input
    DATASET_DIR/manifest.parquet    the same rows (`datasets.load_dataset("parquet", data_files=...)` reads it)
    DATASET_DIR/dataset.json        format, sample rate, options, source, counts, problems by kind
    DATASET_DIR/stats.json, stats.md    hours, clips and windows per split, instrument, genre, jangdan and mode
    DATASET_DIR/problems.jsonl      one {kind, path, message} per problem met
    DATASET_DIR/.sori/              the options the folder was made with, and one record per finished clip

Clips are the tasks of the resumable runner (remaster.runner), spread over processes, or over a Ray cluster's CPU
workers (`engine="ray"`: every node sees SOURCE and DATASET_DIR at the same paths). A finished clip leaves a
record (written atomically after its windows), so a rerun with the same options skips it and an interrupted run
loses nothing; a rerun into a folder made with other options is refused. Every file is written atomically; the
source is only read.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Console

from remaster import audio as audio_io
from remaster.batch import remove_stale_temps
from remaster.engines import Engine, make_engine
from remaster.errors import SoriError
from remaster.processors.resample import resample
from remaster.runner import Runner, Task, fingerprint

from ..errors import GenerateError
from ..taxonomy import load_taxonomy, normalize
from .clips import FILTER_FIELDS, SPLITS, Clip, Problem, Reading, close_zips, read_audio
from .codes import load_codes
from .source import FORMATS, read_source

if TYPE_CHECKING:
    import pyarrow as pa

FORMAT = "sori-dataset/1"
STATE_DIR = ".sori"
MANIFEST_KEYS = ("id", "split", "audio", "sample_rate", "duration_s", "start_s", "clip", "source", "caption",
                 "caption_ko", "instruments", "genre", "jangdan", "mode", "bpm", "solo", "title", "midi", "codes")
STAT_FIELDS = {"instrument": "instruments", "genre": "genre", "jangdan": "jangdan", "mode": "mode"}
_FILTER_OPTIONS = {"instruments": "--instrument", "genres": "--genre", "tempos": "--jangdan", "modes": "--mode"}
NONE = "(none)"


@dataclass(frozen=True)
class WindowSpec:
    """How clips become windows: output rate, window length bounds, and what counts as silence."""

    sample_rate: int = 32_000
    min_seconds: float = 10.0
    max_seconds: float = 30.0
    silence_db: float = -50.0       # a 20 ms frame quieter than this (RMS, dB re full scale) is silent
    silence_gap: float = 1.0        # silences at least this long split a clip

    def check(self) -> None:
        if not audio_io.MIN_RATE <= self.sample_rate <= audio_io.MAX_RATE:
            raise GenerateError(f"--sample-rate {self.sample_rate} is outside {audio_io.MIN_RATE}-"
                                f"{audio_io.MAX_RATE} Hz; MusicGen uses 32000")
        if not 0 < self.min_seconds <= self.max_seconds:
            raise GenerateError(f"--min-seconds {self.min_seconds:g} and --max-seconds {self.max_seconds:g}: need "
                                "0 < min <= max (MusicGen trains on windows of up to 30 s)")
        if not -120 <= self.silence_db < 0:
            raise GenerateError(f"--silence-db {self.silence_db:g} must be between -120 and 0 dBFS")
        if not 0 < self.silence_gap <= 60:
            raise GenerateError(f"--silence-gap {self.silence_gap:g} must be between 0 and 60 seconds")


def find_windows(x: np.ndarray, rate: int, spec: WindowSpec, frame_s: float = 0.02
                 ) -> tuple[list[tuple[int, int]], str | None]:
    """Windows (start, end) in samples of mono `x`, and why there are none ('silent', 'too-short') if so."""
    n = x.size
    hop = max(1, round(frame_s * rate))
    m = -(-n // hop)
    padded = np.zeros(m * hop, dtype=np.float64)
    padded[:n] = x
    power = np.mean(padded.reshape(m, hop) ** 2, axis=1)
    loud = 10 * np.log10(power + 1e-20) > spec.silence_db
    idx = np.flatnonzero(loud)
    if idx.size == 0:
        return [], "silent"
    gap = max(1, math.ceil(spec.silence_gap * rate / hop))
    breaks = np.flatnonzero(np.diff(idx) > gap)            # diff - 1 silent frames between two loud ones
    starts = [idx[0], *(idx[b + 1] for b in breaks)]
    ends = [*(idx[b] for b in breaks), idx[-1]]
    lo, hi = math.ceil(spec.min_seconds * rate - 1e-9), math.floor(spec.max_seconds * rate + 1e-9)
    windows: list[tuple[int, int]] = []
    for s, e in zip(starts, ends, strict=True):
        a, b = int(s) * hop, min(n, (int(e) + 1) * hop)
        length = b - a
        if length < lo:
            continue
        if length <= hi:
            windows.append((a, b))
            continue
        k = math.ceil(length / hi)
        size = length // k                                  # <= hi, since length / k <= hi
        if size < lo:                                       # min > max / 2: whole windows of max, centred
            k, size = length // hi, hi
            a += (length - k * hi) // 2
        windows.extend((a + i * size, a + (i + 1) * size) for i in range(k))
    return windows, None if windows else "too-short"


# --- one clip (in a worker process) --------------------------------------------------------------------------------

def window_path(clip: Clip, k: int) -> str:
    return f"audio/{clip.split}/{clip.clip_id}-{k:03d}.flac"


def prepare_clip(payload: tuple[Clip, WindowSpec, Path]) -> dict[str, Any]:
    """Cut one clip into windows and write them (the runner's work); returns the clip's record: its windows (also
    as `outputs`, which the runner records) and problems. Bad audio is a problem of the record, not a failure."""
    clip, spec, out_dir = payload
    record: dict[str, Any] = {"clip": clip.key, "windows": [], "problems": []}
    try:
        x, rate = read_audio(clip.audio)
        mono = x.mean(axis=0, dtype=np.float32) if x.shape[0] > 1 else x[0]
        mono = resample(mono[None], rate, spec.sample_rate)[0]
        windows, why = find_windows(mono, spec.sample_rate, spec)
        for k, (a, b) in enumerate(windows):
            rel = window_path(clip, k)
            audio_io.write(out_dir / rel, np.clip(mono[a:b], -1.0, 1.0), spec.sample_rate, bit_depth=16, fmt="flac",
                           seed=k)
            record["windows"].append({"audio": rel, "start_s": round(a / spec.sample_rate, 6),
                                      "duration_s": round((b - a) / spec.sample_rate, 6)})
        seconds = mono.size / spec.sample_rate
        if why == "silent":
            record["problems"].append(Problem("silent", clip.audio.rel, f"no sound above {spec.silence_db:g} dBFS "
                                              f"in {seconds:.1f} s; no windows").to_dict())
        elif why == "too-short":
            record["problems"].append(Problem("too-short", clip.audio.rel, f"no stretch of sound of "
                                              f"{spec.min_seconds:g} s or more in {seconds:.1f} s; no windows"
                                              ).to_dict())
    except (SoriError, OSError) as e:
        reason = str(e) if isinstance(e, SoriError) else f"cannot read: {e.strerror or e}"
        record["windows"] = []
        record["problems"] = [Problem("unreadable-audio", clip.audio.rel, reason).to_dict()]
    record["outputs"] = [w["audio"] for w in record["windows"]]
    return record


def clip_task(clip: Clip, spec: WindowSpec, out_dir: Path, options_sha: str) -> Task:
    """The runner's task for one clip: done again when the options or the clip's audio changed."""
    key = hashlib.sha1(clip.key.encode("utf-8")).hexdigest()[:20]
    return Task(key=key, fingerprint=fingerprint(options_sha, clip.key, clip.audio.fingerprint()),
                payload=(clip, spec, out_dir), label=clip.key)


def _failed(clip: Clip, reason: str) -> dict[str, Any]:
    return {"clip": clip.key, "windows": [], "problems": [Problem("failed", clip.audio.rel, reason).to_dict()],
            "failed": True}


# --- rows and reports ----------------------------------------------------------------------------------------------

def manifest_row(clip: Clip, k: int, window: dict[str, Any], sample_rate: int) -> dict[str, Any]:
    """One window's row of manifest.jsonl (MANIFEST_KEYS, in that order)."""
    return {"id": f"{clip.split}/{clip.clip_id}-{k:03d}", "split": clip.split, "audio": window["audio"],
            "sample_rate": sample_rate, "duration_s": window["duration_s"], "start_s": window["start_s"],
            "clip": clip.clip_id, "source": clip.audio.rel, "caption": clip.caption, "caption_ko": clip.caption_ko,
            "instruments": list(clip.instruments), "genre": clip.genre, "jangdan": clip.jangdan, "mode": clip.mode,
            "bpm": clip.bpm, "solo": clip.solo, "title": clip.title, "midi": clip.midi.rel if clip.midi else None,
            "codes": {k2: clip.codes.get(k2) for k2 in ("instrument", "genre", "jangdan", "mode", "category")}}


def parquet_schema() -> pa.Schema:
    """The manifest's columns with fixed types, so empty lists and nulls read back the same everywhere."""
    import pyarrow as pa
    return pa.schema([
        ("id", pa.string()), ("split", pa.string()), ("audio", pa.string()), ("sample_rate", pa.int32()),
        ("duration_s", pa.float64()), ("start_s", pa.float64()), ("clip", pa.string()), ("source", pa.string()),
        ("caption", pa.string()), ("caption_ko", pa.string()), ("instruments", pa.list_(pa.string())),
        ("genre", pa.string()), ("jangdan", pa.string()), ("mode", pa.string()), ("bpm", pa.int32()),
        ("solo", pa.bool_()), ("title", pa.string()), ("midi", pa.string()),
        ("codes", pa.struct([(k, pa.string()) for k in ("instrument", "genre", "jangdan", "mode", "category")])),
    ])


def _write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = pa.Table.from_pylist(rows, schema=parquet_schema())
    audio_io.atomic_write(path, lambda f: pq.write_table(table, f))


def statistics(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Clips, windows, seconds and hours per split, and per instrument, genre, jangdan and mode (each per split and
    in total). A window with two instruments counts under both."""
    def bucket() -> dict[str, Any]:
        return {"clips": set(), "windows": 0, "seconds": 0.0}

    splits: dict[str, dict[str, Any]] = {s: bucket() for s in SPLITS}
    total = bucket()
    by: dict[str, dict[str, dict[str, dict[str, Any]]]] = {f: defaultdict(lambda: defaultdict(bucket))
                                                           for f in STAT_FIELDS}
    for row in rows:
        clip = (row["split"], row["clip"])
        targets = [splits[row["split"]], total]
        for name, key in STAT_FIELDS.items():
            values = row[key] if isinstance(row[key], list) else [row[key]]
            for value in values or [None]:
                cell = by[name][value or NONE]
                targets += [cell[row["split"]], cell["total"]]
        for t in targets:
            t["clips"].add(clip)
            t["windows"] += 1
            t["seconds"] += row["duration_s"]

    def done(b: dict[str, Any]) -> dict[str, Any]:
        return {"clips": len(b["clips"]), "windows": b["windows"], "seconds": round(b["seconds"], 3),
                "hours": round(b["seconds"] / 3600, 4)}

    out: dict[str, Any] = {"splits": {s: done(b) for s, b in splits.items()}, "total": done(total)}
    for name in STAT_FIELDS:
        out[name] = {value: {s: done(cells[s]) for s in (*SPLITS, "total")}
                     for value, cells in sorted(by[name].items(), key=lambda kv: (-kv[1]["total"]["seconds"], kv[0]))}
    return out


def stats_markdown(stats: dict[str, Any], problems: Counter[str]) -> str:
    def table(title: str, label: str, items: dict[str, dict[str, Any]]) -> list[str]:
        lines = [f"## {title}", "", f"| {label} | " + " | ".join(f"{s} clips | {s} windows | {s} hours"
                                                            for s in (*SPLITS, "total")) + " |",
                 "| --- |" + " ---: |" * (3 * (len(SPLITS) + 1))]
        for value, cells in items.items():
            lines.append(f"| {value} | " + " | ".join(f"{cells[s]['clips']} | {cells[s]['windows']} | "
                                                      f"{cells[s]['hours']:.3f}" for s in (*SPLITS, "total")) + " |")
        return [*lines, ""]

    lines = ["# Dataset statistics", "", "| split | clips | windows | hours |", "| --- | ---: | ---: | ---: |"]
    for s, b in (*stats["splits"].items(), ("total", stats["total"])):
        lines.append(f"| {s} | {b['clips']} | {b['windows']} | {b['hours']:.3f} |")
    lines.append("")
    for name in STAT_FIELDS:
        lines += table(f"By {name}", name, stats[name])
    lines += ["## Problems", ""]
    lines += [f"- {kind}: {n}" for kind, n in sorted(problems.items())] or ["- none"]
    return "\n".join(lines) + "\n"


# --- the whole run -------------------------------------------------------------------------------------------------

@dataclass
class Prepared:
    """What a run made: the manifest rows, the problems, and how many clips were cut now or found finished."""

    out_dir: Path
    source_format: str
    rows: list[dict[str, Any]]
    problems: list[Problem]
    stats: dict[str, Any]
    clips: int                      # clips selected
    processed: int                  # clips cut in this run
    skipped: int                    # clips already finished by an earlier run
    options: dict[str, Any] = field(default_factory=dict)

    def problem_counts(self) -> Counter[str]:
        return Counter(p.kind for p in self.problems)

    def summary(self) -> list[str]:
        t = self.stats["total"]
        lines = [f"{self.out_dir}: {t['windows']} windows, {t['hours']:.2f} h from {t['clips']} of {self.clips} clips"
                 + (f" ({self.skipped} already prepared)" if self.skipped else "")]
        for s, b in self.stats["splits"].items():
            lines.append(f"  {s}: {b['windows']} windows, {b['hours']:.2f} h, {b['clips']} clips")
        counts = self.problem_counts()
        if counts:
            lines.append(f"problems: {sum(counts.values())} (" + ", ".join(f"{k} {n}" for k, n in sorted(
                counts.items())) + f"); see {self.out_dir / 'problems.jsonl'}")
        return lines


def resolve_filters(instruments: Sequence[str] = (), genres: Sequence[str] = (), jangdan: Sequence[str] = (),
                    modes: Sequence[str] = ()) -> dict[str, tuple[list[str], frozenset[str]]]:
    """Filter words (Korean or English) as canonical names and the normalised names a clip may carry.

    The taxonomy decides (its one-line `UnknownCategory`, with suggestions, for a word it does not know); names
    only the code tables have (e.g. 비파, 타령) are accepted too."""
    tax, codes = load_taxonomy(), load_codes()
    out: dict[str, tuple[list[str], frozenset[str]]] = {}
    for field_name, words in zip(FILTER_FIELDS, (instruments, genres, jangdan, modes), strict=True):
        canonical: list[str] = []
        names: set[str] = set()
        for word in words:
            entry = tax.lookup(word, field_name)
            if entry is not None:
                if field_name == "tempos" and not entry.gugak:
                    raise GenerateError(f"--jangdan '{word}' is a tempo ({entry.en}), not a jangdan; use one such as "
                                        "중모리 (jungmori) or 자진모리 (jajinmori)")
                canonical.append(entry.en)
                names |= _keys(entry.names)
                continue
            code = codes.find_name(field_name, word)
            if code is None:
                tax.find(word, field_name)          # raises UnknownCategory: the word, the field, close names
                raise GenerateError(f"unknown {field_name} '{word}'")   # unreachable: find() found nothing
            canonical.append(code.name)
            names |= code.keys()
        if canonical:
            out[field_name] = (sorted(set(canonical)), frozenset(names))
    return out


def _keys(names: Sequence[str]) -> set[str]:
    return {normalize(n) for n in names if normalize(n)}


def check_folders(source: Path, out_dir: Path) -> None:
    if not source.exists():
        raise GenerateError(f"{source}: no such folder; SOURCE is the AI Hub 71470 folder or a folder of audio")
    if not source.is_dir():
        raise GenerateError(f"{source}: is not a folder; SOURCE is the AI Hub 71470 folder or a folder of audio")
    a, b = source.resolve(), out_dir.resolve()
    if a == b or b.is_relative_to(a):
        raise GenerateError(f"{out_dir}: is inside SOURCE {source}; the source is never written to, choose an -o "
                            "folder outside it")
    if a.is_relative_to(b):
        raise GenerateError(f"{out_dir}: contains SOURCE {source}; choose an -o folder outside it")
    if out_dir.exists() and not out_dir.is_dir():
        raise GenerateError(f"{out_dir}: exists and is not a folder; -o takes the dataset folder")


def _claim(out_dir: Path, options: dict[str, Any]) -> None:
    """Make OUT_DIR this run's, or check it was made with the same options (the resume case)."""
    state = out_dir / STATE_DIR / "prepare.json"
    if state.is_file():
        try:
            old = json.loads(state.read_text(encoding="utf-8")).get("options", {})
        except (OSError, ValueError, AttributeError):
            raise GenerateError(f"{state}: unreadable; use a new -o folder") from None
        if old != options:
            diff = [f"{k} {old.get(k)!r} -> {options.get(k)!r}" for k in sorted(set(old) | set(options))
                    if old.get(k) != options.get(k)]
            raise GenerateError(f"{out_dir}: was prepared with other options ({'; '.join(diff)}); use a new -o "
                                "folder, or the same options to resume")
        return
    if out_dir.exists() and any(out_dir.iterdir()):
        raise GenerateError(f"{out_dir}: is not empty and was not made by `sori data prepare`; choose a new or "
                            "empty -o folder")
    try:
        audio_io.atomic_write_text(state, json.dumps({"format": FORMAT, "options": options}, ensure_ascii=False,
                                                     indent=1))
    except SoriError as e:
        raise GenerateError(str(e)) from None


def prepare(source: str | os.PathLike, out_dir: str | os.PathLike, *, instruments: Sequence[str] = (),
            genres: Sequence[str] = (), jangdan: Sequence[str] = (), modes: Sequence[str] = (),
            sample_rate: int = 32_000, min_seconds: float = 10.0, max_seconds: float = 30.0,
            silence_db: float = -50.0, silence_gap: float = 1.0, jobs: int | None = None, fmt: str = "auto",
            valid_fraction: float = 0.05, progress: bool = True, console: Console | None = None,
            engine: str | Engine = "local", address: str | None = None) -> Prepared:
    """Read SOURCE, keep the clips the filters select, cut them into windows in OUT_DIR and write the reports.

    Filters are repeatable: a clip passes when it has any of the names given for a field, and every field given.
    `engine`: "local" (`jobs` processes, default one per core) or "ray" (the cluster at `address`; `jobs`: at most
    that many clips at once, default the cluster's CPUs)."""
    spec = WindowSpec(sample_rate, float(min_seconds), float(max_seconds), float(silence_db), float(silence_gap))
    spec.check()
    local_jobs = _check_run_options(jobs, valid_fraction, fmt)
    source, out_dir = Path(source), Path(out_dir)
    check_folders(source, out_dir)
    filters = resolve_filters(instruments, genres, jangdan, modes)

    reading = read_source(source, fmt, valid_fraction)
    selected = _select(reading, filters, source)

    options = {"source": str(source.resolve()), "format": reading.format, **asdict(spec),
               "valid_fraction": valid_fraction if reading.format == "folder" else None,
               "filters": {_FILTER_OPTIONS[f][2:]: c for f, (c, _) in filters.items()}}
    options_sha = hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:16]
    _claim(out_dir, options)
    remove_stale_temps(out_dir)

    if isinstance(engine, str):
        engine = make_engine(engine, jobs=min(local_jobs, max(1, len(selected))) if engine == "local" else jobs,
                             address=address)
    records: dict[str, dict[str, Any]] = {}
    close_zips()                    # the workers open what they read; this process is done with the zips
    runner = Runner(out_dir / STATE_DIR, prepare_clip, engine=engine, label="preparing", progress=progress,
                    console=console, verify="exists")
    redone = 0
    for outcome in runner.run([clip_task(c, spec, out_dir, options_sha) for c in selected]):
        clip = outcome.task.payload[0]
        records[clip.key] = outcome.result if outcome.status != "failed" else _failed(clip, outcome.reason)
        redone += outcome.status != "skipped"
    close_zips()
    remove_stale_temps(out_dir)         # what a worker killed mid-clip left (its clip was cut again elsewhere)

    rows: list[dict[str, Any]] = []
    problems = list(reading.problems)
    for clip in selected:
        record = records[clip.key]
        rows.extend(manifest_row(clip, k, w, spec.sample_rate) for k, w in enumerate(record["windows"]))
        problems.extend(Problem(**p) for p in record["problems"])
    rows.sort(key=lambda r: r["id"])
    stats = statistics(rows)
    result = Prepared(out_dir, reading.format, rows, problems, stats, len(selected), redone,
                      len(selected) - redone, options)
    _write_reports(result, spec)
    if not rows:
        raise GenerateError(f"{out_dir}: no windows: every selected clip was silent, unreadable or shorter than "
                            f"--min-seconds {spec.min_seconds:g}; see {out_dir / 'problems.jsonl'}")
    return result


def _check_run_options(jobs: int | None, valid_fraction: float, fmt: str) -> int:
    """The number of worker processes (default: one per core), after checking the options of the run."""
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    if jobs < 1:
        raise GenerateError(f"--jobs {jobs}: need at least 1")
    if not 0 <= valid_fraction < 1:
        raise GenerateError(f"--valid-fraction {valid_fraction:g} must be at least 0 and below 1")
    if fmt not in FORMATS:
        raise GenerateError(f"--format '{fmt}' is not one of {', '.join(FORMATS)}")
    return jobs


def _select(reading: Reading, filters: dict[str, tuple[list[str], frozenset[str]]], source: Path) -> list[Clip]:
    """The clips the filters keep; nothing usable, or nothing kept, is one error that says what the source has."""
    if not reading.clips:
        kinds = Counter(p.kind for p in reading.problems)
        found = f" (problems: {', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})" if kinds else ""
        what = ("AI Hub 71470 label and WAV pairs under Training/Validation" if reading.format == "aihub"
                else "audio files with a .txt or .json caption beside them")
        raise GenerateError(f"{source}: nothing usable: no {what}{found}")
    selected = [c for c in reading.clips if all(c.matches(f, names) for f, (_, names) in filters.items())]
    if not selected:
        asked = "; ".join(f"{_FILTER_OPTIONS[f]} {', '.join(c)}" for f, (c, _) in filters.items())
        have = Counter(i for c in reading.clips for i in c.instruments)
        raise GenerateError(f"no clip of {source} matches {asked}; its {len(reading.clips)} clips have instruments "
                            f"{', '.join(f'{k} ({n})' for k, n in have.most_common(8)) or 'none named'}")
    return selected


def _write_reports(result: Prepared, spec: WindowSpec) -> None:
    out = result.out_dir
    counts = result.problem_counts()
    manifest = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in result.rows)
    audio_io.atomic_write_text(out / "manifest.jsonl", manifest)
    _write_parquet(out / "manifest.parquet", result.rows)
    audio_io.atomic_write_text(out / "problems.jsonl", "".join(
        json.dumps(p.to_dict(), ensure_ascii=False) + "\n" for p in result.problems))
    audio_io.atomic_write_text(out / "stats.json", json.dumps(result.stats, ensure_ascii=False, indent=1))
    audio_io.atomic_write_text(out / "stats.md", stats_markdown(result.stats, counts))
    t = result.stats["total"]
    doc = {"format": FORMAT, "sample_rate": spec.sample_rate, "source": result.options["source"],
           "source_format": result.source_format, "options": result.options,
           "counts": {"clips_selected": result.clips, "clips": t["clips"], "windows": t["windows"],
                      "hours": t["hours"], "splits": result.stats["splits"]},
           "problems": dict(sorted(counts.items())), "manifest_keys": list(MANIFEST_KEYS)}
    audio_io.atomic_write_text(out / "dataset.json", json.dumps(doc, ensure_ascii=False, indent=1))
