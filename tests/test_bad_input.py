"""Bad input gets one clear line, a non-zero exit, no traceback and no partial output.

The requirement: an empty file, a truncated WAV, a text file named `.wav`, all-silent audio, NaN or infinite
samples, 6 channels, an unsupported extension, an unreadable file, a preset with an unknown processor, a
misspelt key or an out-of-range value gets one line (what, where, what is allowed), a non-zero exit, no
traceback and no partial output file; in a batch it is a failed row of the report and the other files are
done. Wrong types passed to `remaster()` raise `SoriError` subclasses, never TypeError or AttributeError.

Bad input files and the batch run the real CLI as a subprocess (the installed `sori` command): that is where a
traceback, a C library writing to stderr or a stray file would show. Starting Python and importing the package
takes about two seconds, so those subprocesses are started up front by one module fixture, in parallel, and
each test waits only for its own. Preset and `--set` errors are raised before any audio is read, so they go
through the same `main()` in-process, with the file descriptors captured.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import remaster
from remaster import SoriError
from tests.clirun import SORI

RATE = 32_000
SECONDS = 3.0
TEMP_MARK = ".sori-tmp-"


# --- audio, synthesised here: a sine plus a little noise at about -20 dBFS --------------------------------


def tone(channels: int = 2, seconds: float = SECONDS, seed: int = 0) -> np.ndarray:
    """float32 (frames, channels), as soundfile writes it."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    mono = 0.1 * np.sin(2 * np.pi * 220 * t) + 0.003 * rng.standard_normal(t.size)
    return np.stack([mono * (1 - 0.1 * c) for c in range(channels)], axis=1).astype(np.float32)


def write_good(path: Path, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, tone(seed=seed), RATE, subtype="PCM_16", format=None if path.suffix else "WAV")
    return path


def write_empty(path: Path) -> None:
    path.write_bytes(b"")


def write_truncated(path: Path) -> None:
    """A valid 16-bit WAV with its second half cut off: the header still promises the full length."""
    write_good(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def write_header_only(path: Path) -> None:
    """The 44-byte header of a 16-bit WAV and none of the audio it promises."""
    write_good(path)
    path.write_bytes(path.read_bytes()[:44])


def write_text(path: Path) -> None:
    path.write_text("this is a lyrics sheet, not audio\n" * 20, encoding="utf-8")


def write_silent(path: Path) -> None:
    sf.write(path, np.zeros((int(SECONDS * RATE), 2), np.float32), RATE, subtype="FLOAT")


def write_with(value: float) -> Callable[[Path], None]:
    def writer(path: Path) -> None:
        audio = tone()
        audio[1000, 0] = value
        sf.write(path, audio, RATE, subtype="FLOAT")
    return writer


def write_six_channels(path: Path) -> None:
    sf.write(path, tone(channels=6), RATE, subtype="PCM_16")


def write_dangling_link(path: Path) -> None:
    path.symlink_to(path.parent / "no-such-target" / "take.wav")


def write_folder(path: Path) -> None:
    path.mkdir()


def write_nothing(path: Path) -> None:
    pass


# (id, file name, how to make it, words the error line must contain besides the file name)
BAD_INPUTS: list[tuple[str, str, Callable[[Path], None], list[str]]] = [
    ("empty", "empty.wav", write_empty, ["empty"]),
    ("truncated", "truncated.wav", write_truncated, ["truncated"]),
    ("text_named_wav", "lyrics.wav", write_text, ["not a valid WAV"]),
    ("text_named_mp3", "lyrics.mp3", write_text, ["not a valid MP3"]),
    ("silent", "silent.wav", write_silent, ["silent"]),
    ("nan", "nan.wav", write_with(np.nan), ["NaN"]),
    ("infinite", "inf.wav", write_with(np.inf), ["infinite"]),
    ("six_channels", "surround.wav", write_six_channels, ["6 channels", "stereo"]),
    ("unsupported_extension", "take.aiff", write_good, ["unsupported", ".aiff", "allowed", "wav", "flac"]),
    ("dangling_symlink", "x.wav", write_dangling_link, ["link"]),
    ("directory", "y.wav", write_folder, ["folder"]),
]
# More of the same kind, checked through `main()` in-process (each subprocess costs two seconds of imports).
MORE_BAD_INPUTS: list[tuple[str, str, Callable[[Path], None], list[str]]] = [
    ("no_extension", "take", write_good, ["unsupported", "allowed", "wav"]),
    ("missing", "missing.wav", write_nothing, ["no such file"]),
    ("uppercase_text", "NOTES.WAV", write_text, ["not a valid WAV"]),
    ("header_only", "header_only.wav", write_header_only, ["truncated"]),
]
ALL_BAD_INPUTS = BAD_INPUTS + MORE_BAD_INPUTS

# (id, file name, YAML text, words the error line must contain besides the file name)
PRESET_CASES: list[tuple[str, str, str, list[str]]] = [
    ("unknown_processor", "unknown_processor.yaml", "chain: {reverbb: {}}\n",
     ["chain.reverbb", "unknown processor", "allowed", "loudness"]),
    ("misspelt_key", "misspelt_key.yaml", "chain: {loudness: {target_lufz: -14}}\n",
     ["chain.loudness.target_lufz", "unknown key", "target_lufs"]),
    ("two_misspelt_keys", "two_misspelt_keys.yaml", "chain: {loudness: {target_lufz: -14, true_peak_dbb: -1}}\n",
     ["chain.loudness.target_lufz", "chain.loudness.true_peak_dbb", "true_peak_db"]),
    ("out_of_range", "out_of_range.yaml", "chain: {loudness: {target_lufs: 5}}\n",
     ["chain.loudness.target_lufs", "out of range", "-5"]),
    ("wrong_type", "wrong_type.yaml", "chain: {loudness: {target_lufs: loud}}\n",
     ["chain.loudness.target_lufs", "number"]),
    ("bad_output", "bad_output.yaml", "output: {bit_depth: 20}\n", ["output.bit_depth", "16", "24"]),
    ("misspelt_top_key", "misspelt_top_key.yaml", "outptu: {format: wav}\n", ["outptu", "output"]),
    ("invalid_yaml", "invalid_yaml.yaml", "chain:\n  loudness: {target_lufs: -14\n  fade: [\n",
     ["invalid YAML", "line"]),
    ("unknown_extends", "unknown_extends.yaml", "extends: streamingg\n", ["extends", "streamingg", "streaming"]),
    ("circular_extends", "circular_a.yaml", "extends: circular_b.yaml\n", ["extends", "circular", "circular_b.yaml"]),
    ("not_a_mapping", "not_a_mapping.yaml", "- loudness\n- fade\n", ["mapping", "list"]),
]
PRESET_HELPERS = {"circular_b.yaml": "extends: circular_a.yaml\n"}
GOOD_PRESET = ("good.yaml", "extends: streaming\nchain: {loudness: {target_lufs: -16}}\n")

# (id, --preset value, words); these name no file of their own
PRESET_REFS: list[tuple[str, str, list[str]]] = [
    ("unknown_builtin", "streamingg", ["unknown preset", "streamingg", "did you mean 'streaming'"]),
    ("missing_file", "{dir}/nope.yaml", ["nope.yaml", "not found"]),
]

# (id, --set value, words)
SET_CASES: list[tuple[str, str, list[str]]] = [
    ("unknown_key", "loudness.nope=1", ["loudness.nope", "unknown key", "target_lufs"]),
    ("bad_value", "loudness.target_lufs=abc", ["loudness.target_lufs", "number"]),
    ("out_of_range", "loudness.target_lufs=5", ["loudness.target_lufs", "-5"]),
    ("unknown_stage", "reverbb.mix=1", ["reverbb", "unknown processor"]),
    ("no_equals", "loudness.target_lufs", ["--set", "KEY.PATH=VALUE"]),
]

BATCH_GOOD = ["a.wav", "sub/b.wav", "sub/deeper/c.flac"]
BATCH_GOOD_OUT = ["a.wav", "sub/b.wav", "sub/deeper/c.wav"]
# Not files, or not audio by their name (a batch folder also holds sidecars and notes): no row for these.
BATCH_NOT_JOBS = ("missing", "directory", "no_extension")


# --- running the CLI --------------------------------------------------------------------------------------


def sori(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI, in a fresh process."""
    cmd = [SORI, *map(str, args)]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False)


class Runs:
    """Subprocesses started up front; `runs[name]` waits for that one.

    Every input is written before the first process starts, and each child gets a copy of the environment
    taken then: a child started from a pool thread while the main thread still wrote files (and imported
    modules that set environment variables) once failed to exec on CI.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pool = ThreadPoolExecutor(max_workers=max(2, min(8, os.cpu_count() or 2)))
        self.pending: list[tuple[str, tuple[str | Path, ...]]] = []
        self.futures: dict[str, Future[subprocess.CompletedProcess[str]]] = {}
        self.snapshots: dict[str, dict[str, str]] = {}

    def start(self, name: str, *args: str | Path) -> None:
        self.pending.append((name, args))

    def launch(self) -> None:
        env = dict(os.environ)
        for name, args in self.pending:
            self.futures[name] = self.pool.submit(sori, *args, cwd=self.root, env=env)
        self.pending.clear()

    def __getitem__(self, name: str) -> subprocess.CompletedProcess[str]:
        return self.futures[name].result()


@pytest.fixture
def cli(capfd: pytest.CaptureFixture[str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """The CLI's `main()` in this process, stdout and stderr captured at the file-descriptor level."""
    from sori.cli import main

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        capfd.readouterr()
        argv = [str(a) for a in args]
        try:
            main(argv)
            code: int = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        out, err = capfd.readouterr()
        return subprocess.CompletedProcess(argv, code, out, err)

    return run


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry under `folder` with what it is: content hash, link target or 'dir'."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(folder))
            if p.is_symlink():
                out[rel] = "link -> " + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def temps(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if TEMP_MARK in p.name] if folder.exists() else []


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """What bad input must produce: a non-zero exit, no traceback, exactly one `sori: error:` line."""
    assert proc.returncode != 0, f"exit 0 for bad input; stdout: {proc.stdout!r}"
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{proc.stderr}"
    line = lines[0]
    assert line.startswith("sori: error: "), f"not a clear error line (an internal error?): {line}"
    assert len(line) > len("sori: error: ") + 10
    return line


# --- the subprocesses, all started once -------------------------------------------------------------------


def _start_bad_inputs(runs: Runs) -> None:
    for case_id, name, make, _ in BAD_INPUTS:
        folder = runs.root / "single" / case_id
        (folder / "out").mkdir(parents=True)
        make(folder / name)
        runs.start(f"input:{case_id}", "remaster", folder / name, "-o", folder / "out" / "master.wav")

    good = write_good(runs.root / "good" / "take.wav")
    # A control: the good take masters through the same entry point.
    runs.start("control", "remaster", good, "-o", runs.root / "good-out" / "master.wav")


def _start_batch(runs: Runs) -> None:
    in_dir = runs.root / "batch" / "in"
    for i, rel in enumerate(BATCH_GOOD):
        write_good(in_dir / rel, seed=i)
    for case_id, name, make, _ in ALL_BAD_INPUTS:
        if case_id not in BATCH_NOT_JOBS:
            make(in_dir / ("sub" if case_id == "truncated" else "") / name)
    (in_dir / "y.wav").mkdir()           # a folder named like audio is just a folder
    runs.snapshots["batch"] = snapshot(in_dir)
    runs.start("batch", "batch", in_dir, runs.root / "batch" / "out", "--quiet")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    r = Runs(tmp_path_factory.mktemp("bad_input"))
    try:
        _start_batch(r)                  # the longest: first
        _start_bad_inputs(r)
        r.launch()
        yield r
    finally:
        r.pool.shutdown(wait=True, cancel_futures=True)


# --- 1. one bad input file --------------------------------------------------------------------------------


@pytest.mark.parametrize(("case_id", "name", "words"), [(c, n, w) for c, n, _, w in BAD_INPUTS],
                         ids=[c for c, *_ in BAD_INPUTS])
def test_bad_input_file_is_one_line_and_writes_nothing(runs: Runs, case_id: str, name: str,
                                                       words: list[str]) -> None:
    proc = runs[f"input:{case_id}"]
    line = error_line(proc)
    assert name in line, f"the line does not say which file: {line}"
    for word in words:
        assert word.lower() in line.lower(), f"{word!r} missing from: {line}"
    assert proc.stdout.strip() == ""
    out_dir = runs.root / "single" / case_id / "out"
    assert not (out_dir / "master.wav").exists()
    assert temps(out_dir) == []
    assert sorted(p.name for p in out_dir.iterdir()) == [], "partial output left"


def test_python_m_remaster_cli_masters_a_good_take(runs: Runs) -> None:
    # A control for the tests above: their failures come from the input, not from the entry point.
    proc = runs["control"]
    out = runs.root / "good-out" / "master.wav"
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert sf.info(str(out)).samplerate == 48_000
    assert temps(out.parent) == []


@pytest.mark.parametrize(("name", "make", "words"), [(n, m, w) for _, n, m, w in MORE_BAD_INPUTS],
                         ids=[c for c, *_ in MORE_BAD_INPUTS])
def test_more_bad_input_files(cli, tmp_path: Path, name: str, make: Callable[[Path], None],
                              words: list[str]) -> None:
    make(tmp_path / name)
    (tmp_path / "out").mkdir()
    proc = cli("remaster", tmp_path / name, "-o", tmp_path / "out" / "master.wav")
    line = error_line(proc)
    assert name in line, f"the line does not say which file: {line}"
    for word in words:
        assert word.lower() in line.lower(), f"{word!r} missing from: {line}"
    assert list((tmp_path / "out").iterdir()) == [], "partial output or temp file left"


def test_output_folder_that_cannot_be_made_is_a_clear_error(cli, tmp_path: Path) -> None:
    take = write_good(tmp_path / "take.wav")
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder\n")
    line = error_line(cli("remaster", take, "-o", blocker / "master.wav"))
    assert "blocker" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker", "take.wav"]


def test_output_that_is_the_input_is_refused(cli, tmp_path: Path) -> None:
    take = write_good(tmp_path / "take.wav")
    before = snapshot(tmp_path)
    line = error_line(cli("remaster", take, "-o", take))
    assert "take.wav" in line and "input" in line
    assert snapshot(tmp_path) == before


# --- 2. bad presets ---------------------------------------------------------------------------------------


@pytest.fixture
def preset_dir(tmp_path: Path) -> Path:
    """Every preset file of PRESET_CASES, a good one, a good take and an empty output folder."""
    folder = tmp_path / "presets"
    folder.mkdir()
    for name, text in [*((n, t) for _, n, t, _ in PRESET_CASES), *PRESET_HELPERS.items(), GOOD_PRESET]:
        (folder / name).write_text(text, encoding="utf-8")
    write_good(tmp_path / "take.wav")
    (tmp_path / "out").mkdir()
    return folder


def _remaster_with(cli, preset_dir: Path, *options: str | Path) -> subprocess.CompletedProcess[str]:
    root = preset_dir.parent
    proc = cli("remaster", root / "take.wav", "-o", root / "out" / "master.wav", *options)
    assert list((root / "out").iterdir()) == [], "output written for a bad preset"
    return proc


@pytest.mark.parametrize(("name", "words"), [(n, w) for _, n, _, w in PRESET_CASES], ids=[c for c, *_ in PRESET_CASES])
def test_bad_preset_file_via_remaster(cli, preset_dir: Path, name: str, words: list[str]) -> None:
    line = error_line(_remaster_with(cli, preset_dir, "--preset", preset_dir / name))
    assert name in line, f"the line does not name the preset file: {line}"
    for word in words:
        assert word in line, f"{word!r} missing from: {line}"


@pytest.mark.parametrize(("name", "words"), [(n, w) for _, n, _, w in PRESET_CASES], ids=[c for c, *_ in PRESET_CASES])
def test_bad_preset_file_via_presets_validate(cli, preset_dir: Path, name: str, words: list[str]) -> None:
    line = error_line(cli("presets", "validate", preset_dir / name))
    assert line.startswith(f"sori: error: {preset_dir / name}:"), line
    for word in words:
        assert word in line, f"{word!r} missing from: {line}"


def test_presets_validate_one_line_per_bad_file_and_ok_for_the_good_one(cli, preset_dir: Path) -> None:
    names = [n for _, n, _, _ in PRESET_CASES]
    proc = cli("presets", "validate", *(preset_dir / n for n in names), preset_dir / GOOD_PRESET[0])
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert [ln.split(": ")[2] for ln in lines] == [str(preset_dir / n) for n in names], proc.stderr
    assert f"ok: {preset_dir / GOOD_PRESET[0]}" in proc.stdout


@pytest.mark.parametrize(("ref", "words"), [(r, w) for _, r, w in PRESET_REFS], ids=[c for c, *_ in PRESET_REFS])
def test_bad_preset_reference(cli, preset_dir: Path, ref: str, words: list[str]) -> None:
    line = error_line(_remaster_with(cli, preset_dir, "--preset", ref.format(dir=preset_dir)))
    for word in words:
        assert word in line, f"{word!r} missing from: {line}"


# --- 5. --set overrides -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "words"), [(v, w) for _, v, w in SET_CASES], ids=[c for c, *_ in SET_CASES])
def test_bad_set_override(cli, preset_dir: Path, value: str, words: list[str]) -> None:
    line = error_line(_remaster_with(cli, preset_dir, "--set", value))
    for word in words:
        assert word in line, f"{word!r} missing from: {line}"


@pytest.mark.parametrize("value", [v for _, v, _ in SET_CASES[:4]], ids=[c for c, *_ in SET_CASES[:4]])
def test_bad_set_override_is_blamed_on_the_override_not_the_preset_file(cli, preset_dir: Path, value: str) -> None:
    # "where" is the --set option the user typed; the built-in preset file holds no such key or value.
    line = error_line(_remaster_with(cli, preset_dir, "--set", value))
    assert "--set" in line, f"the line does not point at the --set override: {line}"
    assert "streaming.yaml" not in line, f"the line blames the built-in preset for a --set typo: {line}"


# --- 3. batch ---------------------------------------------------------------------------------------------


def test_batch_reports_every_bad_file_and_masters_the_rest(runs: Runs) -> None:
    proc = runs["batch"]
    in_dir, out_dir = runs.root / "batch" / "in", runs.root / "batch" / "out"
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr

    # The good files are mastered, mirroring the tree, as readable 48 kHz WAVs; nothing else is written.
    for rel in BATCH_GOOD_OUT:
        info = sf.info(str(out_dir / rel))
        assert (info.samplerate, info.format, info.channels) == (48_000, "WAV", 2)
        assert info.frames > 48_000 * 2
    reports = ("report.json", "report.csv", "report.html")
    masters = sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*")
                     if p.is_file() and ".sori" not in p.parts and p.name not in reports)
    assert masters == sorted(BATCH_GOOD_OUT)

    doc = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    rows = {r["input"]: r for r in doc["files"]}
    assert len(rows) == len(doc["files"]), "one row per file"
    bad = {str(Path("sub" if c == "truncated" else "") / n) for c, n, *_ in ALL_BAD_INPUTS
           if c not in BATCH_NOT_JOBS}
    assert set(rows) == set(BATCH_GOOD) | bad
    for rel in BATCH_GOOD:
        assert rows[rel]["status"] == "done", rows[rel]
    for rel in bad:
        row = rows[rel]
        assert row["status"] == "failed", row
        assert row["output"] is None, row
        assert isinstance(row["reason"], str) and row["reason"].strip(), row
        assert "\n" not in row["reason"] and "Traceback" not in row["reason"], row
    assert doc["summary"] == {"done": len(BATCH_GOOD), "skipped": 0, "failed": len(bad), "off_target": 0,
                              "failed_checks": 0}

    with open(out_dir / "report.csv", newline="", encoding="utf-8") as f:
        csv_rows = list(csv.DictReader(f))
    assert len(csv_rows) == len(doc["files"])
    assert {r["input"]: r["status"] for r in csv_rows} == {k: r["status"] for k, r in rows.items()}
    assert all(r["reason"].strip() for r in csv_rows if r["status"] == "failed")

    # Nothing was written into the input tree, and no temp files are left anywhere.
    assert snapshot(in_dir) == runs.snapshots["batch"]
    assert temps(out_dir) == [] and temps(in_dir) == []


@pytest.mark.parametrize("out", ["in/masters", "in", "in/sub/deeper"])
def test_batch_output_inside_input_is_refused(cli, tmp_path: Path, out: str) -> None:
    in_dir = tmp_path / "in"
    write_good(in_dir / "sub" / "a.wav")
    before = snapshot(tmp_path)
    line = error_line(cli("batch", in_dir, tmp_path / out, "--quiet"))
    assert "outside" in line
    assert snapshot(tmp_path) == before


def test_batch_with_a_bad_preset_writes_nothing(cli, preset_dir: Path) -> None:
    in_dir, out_dir = preset_dir.parent / "in", preset_dir.parent / "masters"
    write_good(in_dir / "a.wav")
    line = error_line(cli("batch", in_dir, out_dir, "--quiet", "--preset", preset_dir / "misspelt_key.yaml"))
    assert "misspelt_key.yaml" in line and "target_lufs" in line
    assert not out_dir.exists()


# --- 4. the Python API ------------------------------------------------------------------------------------


def _array(channels: int = 2) -> np.ndarray:
    return np.ascontiguousarray(tone(channels).T)           # (channels, frames)


def _with(value: float) -> np.ndarray:
    a = _array()
    a[0, 1000] = value
    return a


# (id, positional args, keyword args, words the message must contain)
API_CASES: list[tuple[str, tuple, dict, list[str]]] = [
    ("list", ([0.1, 0.2, 0.3], RATE), {}, ["numpy array", "list"]),
    ("none", (None,), {}, ["numpy array"]),
    ("bytes", (b"take.wav",), {}, ["numpy array"]),
    ("missing_path", ("{tmp}/no-such-take.wav",), {}, ["no-such-take.wav", "no such file"]),
    ("no_sample_rate", (_array(),), {}, ["sample_rate", "required"]),
    ("frames_channels", (np.ascontiguousarray(tone()), RATE), {}, ["(channels, frames)"]),
    ("bool_sample_rate", (_array(), True), {}, ["sample_rate", "integer", "bool"]),
    ("str_sample_rate", (_array(), "32000"), {}, ["sample_rate", "integer"]),
    ("sample_rate_out_of_range", (_array(), 100), {}, ["100", "8000"]),
    ("three_dims", (_array()[None], RATE), {}, ["shape", "(channels, frames)"]),
    ("string_dtype", (np.array(["a", "b"]), RATE), {}, ["dtype", "float or integer"]),
    ("bool_dtype", (_array() > 0, RATE), {}, ["dtype", "float or integer"]),
    ("empty_array", (np.zeros((2, 0), np.float32), RATE), {}, ["no audio"]),
    ("nan", (_with(np.nan), RATE), {}, ["NaN"]),
    ("infinite", (_with(np.inf), RATE), {}, ["infinite"]),
    ("silent", (np.zeros((2, 3 * RATE), np.float32), RATE), {}, ["silent"]),
    ("six_channels", (_array(6), RATE), {}, ["6 channels", "stereo"]),
    ("unknown_preset", (_array(), RATE), {"preset": "streamingg"}, ["did you mean 'streaming'"]),
    ("misspelt_override", (_array(), RATE), {"loudness": {"target_lufz": -14}}, ["target_lufz", "target_lufs"]),
    ("override_not_a_mapping", (_array(), RATE), {"loudness": "loud"}, ["loudness", "mapping"]),
    ("out_of_range_override", (_array(), RATE), {"loudness": {"target_lufs": 5}}, ["target_lufs", "-5"]),
    ("context_not_a_context", (_array(), RATE), {"context": "studio"}, ["context"]),
    ("max_seconds_not_a_number", (_array(), RATE), {"max_seconds": "long"}, ["max_seconds"]),
]


@pytest.mark.parametrize(("args", "kwargs", "words"), [(a, k, w) for _, a, k, w in API_CASES],
                         ids=[c for c, *_ in API_CASES])
def test_api_wrong_input_raises_sori_error(tmp_path: Path, args: tuple, kwargs: dict, words: list[str]) -> None:
    args = tuple(a.format(tmp=tmp_path) if isinstance(a, str) and "{tmp}" in a else a for a in args)
    with pytest.raises(SoriError) as info:
        remaster.remaster(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message, f"{word!r} missing from: {message}"


def test_api_errors_are_the_documented_subclasses(tmp_path: Path) -> None:
    with pytest.raises(remaster.AudioError):
        remaster.remaster(_with(np.nan), RATE)
    with pytest.raises(remaster.PresetError):
        remaster.remaster(_array(), RATE, loudness={"target_lufz": -14})
    with pytest.raises(remaster.AudioError, match="no such file"):
        remaster.remaster(tmp_path / "missing.wav")


@pytest.mark.parametrize(("name", "make"), [(n, m) for c, n, m, _ in ALL_BAD_INPUTS if c != "text_named_mp3"],
                         ids=[c for c, *_ in ALL_BAD_INPUTS if c != "text_named_mp3"])
def test_api_refuses_the_same_bad_files(tmp_path: Path, name: str, make: Callable[[Path], None]) -> None:
    # Through the API every bad file is an AudioError naming the file. (The text named .mp3 is left to the
    # CLI test: libmpg123 writes notes to the process's stderr, which is what that test checks.)
    make(tmp_path / name)
    with pytest.raises(remaster.AudioError) as info:
        remaster.remaster(tmp_path / name)
    assert name in str(info.value)
