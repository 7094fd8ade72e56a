"""Quick trials of the pitch check's rules: bench_dissonance.py's own scoring, on cached tracker and network outputs.

    .venv/bin/python benchmarks/trial.py NAME [--pools set,gugak,setpoly,tunes,fresh,heldout] [--cache DIR]
        [--set MODULE.NAME=VALUE ...] [--patch FILE.py ...] [--against BASE] [--workers 2] [--only NAME,...]

A rule of the check (`remaster.analysis.dissonance`, `keyfinding`, `notes`, `multipitch`'s rules) changes what is
judged, not what the trackers hear, yet a run of the full benchmark spends most of its 25 minutes in SwiftF0, Basic
Pitch and the roughness track. Here those three (`pitch.track_pitch`, `multipitch.posteriorgrams`,
`roughness.roughness_track`) are memoised on disk, keyed by the audio's bytes, the call's arguments and the source
and constants of the code that computes them, so a trial of a rule on every pool takes minutes, and a change to a
tracker's code is never read from a stale cache. Each file is checked as the benchmark checks it
(`bench_dissonance.run`: style auto, voices auto for the melodies; style gugak for `gugak`; voices poly for the
mixes), and matched and scored by the same functions.

- `--set dissonance.TOLERANCE_CENTS=40` sets a module constant (any module under `remaster.analysis`; the value is
  read as a Python literal) before the run; `--patch FILE.py` runs FILE in a namespace of its own that holds those
  modules by name (`dissonance`, `multipitch`, `keyfinding`, `notes`, `tuning`), to replace a function.
- Results are kept as CACHE/results/NAME_POOL.pkl; `--against BASE` lists, file by file, the errors found and lost
  and the negative files newly flagged or cleared against an earlier NAME.

The pools are the benchmark's, in the folders it makes them in (pitch_set.py; `--set-dir`, `--held-out-dir`,
`--held-out-tunes-dir`, `--fresh-tunes-dir` as there). Use it to choose among variants; report the full benchmark.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import hashlib
import inspect
import io
import json
import pickle
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import wraps
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_dissonance as bench
from pitch_set import prepare, truth_path

from remaster.analysis import crepe, dissonance, keyfinding, multipitch, notes, pitch, roughness, swiftf0, tuning

MODULES = {"dissonance": dissonance, "multipitch": multipitch, "keyfinding": keyfinding, "notes": notes,
           "tuning": tuning, "pitch": pitch, "roughness": roughness}
DEFAULT_CACHE = Path("/tmp/sori-trials")
# pool -> (the folder option, pitch_set's held_out, the set's part, style, voices)
POOLS = {
    "set": ("set_dir", False, "mono", None, "auto"),
    "gugak": ("set_dir", False, "gugak", "gugak", "auto"),
    "setpoly": ("set_dir", False, "poly", None, "poly"),
    "tunes": ("held_out_tunes_dir", "tunes", "mono", None, "auto"),
    "fresh": ("fresh_tunes_dir", "fresh", "mono", None, "auto"),
    "heldout": ("held_out_dir", "chorales", "poly", None, "poly"),
}
FOLDERS = {"set_dir": bench.DEFAULT_SET, "held_out_dir": Path("/tmp/sori-pitch-held-out"),
           "held_out_tunes_dir": Path("/tmp/sori-pitch-held-out-tunes"),
           "fresh_tunes_dir": Path("/tmp/sori-pitch-fresh-tunes")}


def _digest(value: Any) -> str:
    h = hashlib.sha1()
    if isinstance(value, np.ndarray):
        h.update(str((value.dtype, value.shape)).encode())
        h.update(np.ascontiguousarray(value).tobytes())
    else:
        h.update(repr(value).encode())
    return h.hexdigest()


def _fingerprint(source: Any) -> str:
    """A module's source and the values of its constants (a `--set` changes those, not the source), a function's
    source, or any other value's repr."""
    if inspect.ismodule(source):
        constants = {k: v for k, v in vars(source).items() if k.isupper()}
        return inspect.getsource(source) + repr(sorted(constants.items(), key=lambda kv: kv[0]))
    if inspect.isfunction(source):
        return inspect.getsource(source)
    return repr(source)


def memoised(func: Callable, cache: Path, *sources: Any) -> Callable:
    """`func` with its results kept in `cache`, keyed by its arguments and by `sources` (modules, functions or
    values: the code and the constants that decide what it returns)."""
    code = hashlib.sha1("".join(_fingerprint(s) for s in sources).encode()).hexdigest()[:12]
    folder = cache / f"{func.__name__}-{code}"
    folder.mkdir(parents=True, exist_ok=True)

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = _digest(tuple(_digest(a) for a in args) + tuple(sorted((k, _digest(v)) for k, v in kwargs.items())))
        path = folder / f"{key}.pkl"
        if path.exists():
            return pickle.loads(path.read_bytes())
        value = func(*args, **kwargs)
        with tempfile.NamedTemporaryFile(dir=folder, delete=False) as tmp:  # atomic: workers share the folder
            tmp.write(pickle.dumps(value))
        Path(tmp.name).replace(path)
        return value
    return wrapper


def install_cache(cache: Path) -> None:
    """Memoise the trackers and the network in every module that calls them."""
    track = memoised(pitch.track_pitch, cache, pitch, swiftf0, crepe)
    pitch.track_pitch = dissonance.track_pitch = track
    dissonance.roughness_track = memoised(roughness.roughness_track, cache, roughness)
    m = multipitch     # not its whole module: a trial of its rules keeps the network's outputs
    multipitch.posteriorgrams = memoised(m.posteriorgrams, cache, m.posteriorgrams, m.session,
                                         (m.RATE, m.WINDOW, m.HOP, m.OVERLAP, m.OUTPUTS, m.MODEL_SHA256))


def parsed_settings(settings: list[str]) -> list[tuple[Any, str, Any]]:
    """(module, name, value) for each `--set MODULE.NAME=VALUE`; one line and an exit for a name that does not exist
    or a value that is no Python literal."""
    out = []
    for setting in settings:
        name, _, value = setting.partition("=")
        module, _, attr = name.partition(".")
        if module not in MODULES or not hasattr(MODULES[module], attr):
            raise SystemExit(f"--set {setting}: no {name}; allowed: MODULE.NAME=VALUE, MODULE one of "
                             f"{', '.join(MODULES)}")
        try:
            out.append((MODULES[module], attr, ast.literal_eval(value)))
        except (ValueError, SyntaxError):
            raise SystemExit(f"--set {setting}: {value!r} is no Python literal; allowed: a number, a quoted string, "
                             f"a tuple, True, False, None") from None
    return out


def apply_changes(settings: list[str], patches: list[Path]) -> None:
    for module, attr, value in parsed_settings(settings):
        setattr(module, attr, value)
    for patch in patches:
        exec(compile(patch.read_text(), str(patch), "exec"), dict(MODULES))


def check_changes(settings: list[str], patches: list[Path]) -> None:
    """A trial's changes checked before any work, not applied: they are applied in the workers only, which, forked
    from this process, would run a patch twice (a function it wraps wrapped twice)."""
    parsed_settings(settings)
    for patch in patches:
        try:
            compile(patch.read_text(), str(patch), "exec")
        except SyntaxError as e:
            raise SystemExit(f"--patch {patch}: line {e.lineno}: {e.msg}") from None


def pool_paths(pool: str, folders: dict[str, Path]) -> list[Path]:
    folder_key, held_out, part, _, _ = POOLS[pool]
    paths = prepare(folders[folder_key], 0, held_out=held_out)   # renders a pool not made yet
    if held_out:
        return paths
    truths = {p: json.loads(truth_path(p).read_text()) for p in paths}
    if part == "gugak":
        return [p for p in paths if truths[p]["set"] == "mono" and truths[p]["style"] == "gugak"]
    return [p for p in paths if truths[p]["set"] == part]


def _worker_setup(cache: Path, settings: list[str], patches: list[Path]) -> None:
    import torch

    torch.set_num_threads(1)
    apply_changes(settings, [])     # before the cache: its keys read the constants the trackers use
    install_cache(cache)
    apply_changes([], patches)


def _check(paths: list[Path], style: str | None, voices: str) -> list[bench.Result]:
    with contextlib.redirect_stdout(io.StringIO()):      # its progress lines, per chunk, say nothing here
        return bench.run(paths, "swiftf0", style, voices, "trial")


def run_pool(pool: str, paths: list[Path], workers: int, setup: tuple[Path, list[str], list[Path]]) -> list:
    _, _, _, style, voices = POOLS[pool]
    chunks = [paths[k::workers * 4] for k in range(workers * 4)]
    with ProcessPoolExecutor(workers, initializer=_worker_setup, initargs=setup) as ex:
        parts = list(ex.map(_check, chunks, [style] * len(chunks), [voices] * len(chunks)))
    order = {p: k for k, p in enumerate(paths)}
    return sorted((r for part in parts for r in part), key=lambda r: order[r.path])


def summary(pool: str, rs: list) -> str:
    t, n = bench.precision(rs)
    if POOLS[pool][4] == "poly":
        f, m = bench.recall(rs, ("out_of_key",))
        flags = ", ".join(f"{v} flagged {a}/{b}" for v in ("clean", "offset")
                          for a, b in [bench.flag_rate(rs, v)] if b)
        return f"{pool}: out_of_key found {f}/{m} {bench.pct(f, m)}, {flags or 'no negatives'}, precision {t}/{n} " \
               f"{bench.pct(t, n)}"
    f, m = bench.recall(rs, bench.BIG, min_s=0.15)
    f30, m30 = bench.recall(rs, ("detune30",), min_s=0.15)
    flags = ", ".join(f"{v} {a}/{b}" for v in bench.NEGATIVES for a, b in [bench.flag_rate(rs, v)] if b)
    return (f"{pool}: recall >=50c >=0.15s {f}/{m} {bench.pct(f, m)}, 30c {f30}/{m30}, precision {t}/{n} "
            f"{bench.pct(t, n)}; flagged: {flags or 'no negatives'}")


def differences(base: list, new: list) -> list[str]:
    """File by file: errors found and lost, negatives newly flagged or cleared."""
    before = {r.path.name: r for r in base}
    lines = []
    for r in new:
        b = before.get(r.path.name)
        if b is None:
            continue
        for i in r.sour_errors():
            e = r.errors[i]
            if r.found(i) != b.found(i):
                lines.append(f"{'found' if r.found(i) else 'LOST '} {r.path.name} {e['kind']} at {e['start']:.2f} s "
                             f"(midi {e.get('found_midi')}){'' if r.found(i) else ': ' + r.why.get(i, '')}")
        if r.variant in bench.NEGATIVES and r.flagged() != b.flagged():
            first = r.findings[0] if r.findings else {}
            lines.append(f"{'FLAG ' if r.flagged() else 'clear'} {r.path.name}"
                         + (f": {first.get('kind')} at {first.get('start', 0):.2f} s" if first else ""))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="this trial's name: its results are kept under it")
    parser.add_argument("--pools", default="set,tunes,fresh,heldout",
                        help=f"comma-separated, of: {', '.join(POOLS)}")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="MODULE.NAME=VALUE")
    parser.add_argument("--patch", dest="patches", action="append", default=[], type=Path)
    parser.add_argument("--against", help="an earlier trial's name: list what changed, file by file")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", help="comma-separated parts of file names: check only the files named so")
    for key, folder in FOLDERS.items():
        parser.add_argument("--" + key.replace("_", "-"), dest=key, type=Path, default=folder)
    args = parser.parse_args(argv)
    pools = args.pools.split(",")
    unknown = [p for p in pools if p not in POOLS]
    if unknown:
        parser.error(f"unknown pool {', '.join(unknown)}; allowed: {', '.join(POOLS)}")
    missing = [p for p in args.patches if not p.is_file()]
    if missing:
        parser.error(f"--patch {missing[0]}: no such file")
    check_changes(args.settings, args.patches)
    folders = {k: getattr(args, k) for k in FOLDERS}
    results = args.cache / "results"
    results.mkdir(parents=True, exist_ok=True)
    setup = (args.cache, args.settings, [p.resolve() for p in args.patches])
    for pool in pools:
        paths = pool_paths(pool, folders)
        if args.only:
            paths = [p for p in paths if any(part in p.name for part in args.only.split(","))]
        rs = run_pool(pool, paths, args.workers, setup)
        (results / f"{args.name}_{pool}.pkl").write_bytes(pickle.dumps(rs))
        print(summary(pool, rs), flush=True)
        if args.against:
            base = results / f"{args.against}_{pool}.pkl"
            if not base.exists():
                print(f"  no {base}: run the trial {args.against} on {pool} first")
                continue
            b = pickle.loads(base.read_bytes())
            print(f"  against {args.against}: {summary(pool, b)}")
            for line in differences(b, rs):
                print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
