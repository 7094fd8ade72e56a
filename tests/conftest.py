from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf


def tone(freq: float = 440.0, seconds: float = 3.0, rate: int = 32_000, dbfs: float = -20.0,
         noise_dbfs: float | None = -70.0, channels: int = 1, seed: int = 0) -> np.ndarray:
    """A sine at `dbfs` peak with optional white noise, float32 (channels, frames)."""
    t = np.arange(int(seconds * rate)) / rate
    x = 10 ** (dbfs / 20) * np.sin(2 * np.pi * freq * t)
    if noise_dbfs is not None:
        x = x + 10 ** (noise_dbfs / 20) * np.random.default_rng(seed).standard_normal(t.size)
    return np.repeat(x[None, :], channels, axis=0).astype(np.float32)


def write_wav(path: Path, audio: np.ndarray, rate: int, subtype: str = "PCM_16") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio.T, rate, subtype=subtype)
    return path


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The 30+ file corpus of varied raw generations, including the 10-minute one (built once)."""
    from tests.signals import make_corpus
    return make_corpus(tmp_path_factory.mktemp("corpus"), long_seconds=600.0)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mono tiny MusicGen (tests/tiny_musicgen.py), built once and saved with save_pretrained."""
    from tests.tiny_musicgen import save_tiny
    return save_tiny(tmp_path_factory.mktemp("tiny-musicgen"))


@pytest.fixture(scope="session")
def loaded(tiny_dir: Path):
    """The tiny MusicGen loaded on the CPU through `generate.musicgen.load_model`, as a hub model would be."""
    from generate.musicgen import load_model
    return load_model(str(tiny_dir), device="cpu")


@pytest.fixture(scope="session")
def tiny_melody_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny musicgen-melody (tests/tiny_musicgen.py), built once and saved with save_pretrained."""
    from tests.tiny_musicgen import save_tiny_melody
    return save_tiny_melody(tmp_path_factory.mktemp("tiny-musicgen-melody"))


@pytest.fixture
def sori(capfd: pytest.CaptureFixture[str]):
    """`sori ARGS...` run in-process through `sori.cli.main`, the installed entry point: a CompletedProcess."""
    from tests.clirun import run_main
    return lambda *args: run_main(capfd, *args)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `make demo` makes: the demo's raw takes mastered with `sori batch` (report.html among them); the
    output folder."""
    from remaster.batch import run_batch
    from tests.signals import make_examples

    root = tmp_path_factory.mktemp("demo")
    make_examples(root / "raw")
    run_batch(root / "raw", root / "mastered", progress=False)
    return root / "mastered"


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, headless, through chromium-driver (tests/browser.py); fails when they are missing."""
    from tests.browser import chromium
    with chromium() as driver:
        yield driver
