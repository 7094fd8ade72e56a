"""The `sori` command line, happy paths (bad input is in test_bad_input.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from remaster.audio import read
from tests.clirun import SORI

from .conftest import tone, write_wav


def sori(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SORI, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture
def take(tmp_path: Path) -> Path:
    return write_wav(tmp_path / "take.wav", tone(330, 4, 32_000, -24, -60), 32_000)


def test_remaster_writes_the_master_and_says_what_it_did(take: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "master.wav"
    r = sori("remaster", str(take), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "-14.0 LUFS" in r.stdout and "48000 Hz" in r.stdout and "24-bit" in r.stdout
    audio, rate = read(out)
    assert rate == 48_000 and audio.shape == (2, 4 * 48_000)


def test_remaster_with_preset_set_and_json(take: Path, tmp_path: Path) -> None:
    r = sori("remaster", str(take), "-o", str(tmp_path), "--preset", "background", "--set", "loudness.target_lufs=-20",
             "--set", "output.format=flac", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["preset"] == "background"
    assert report["after"]["integrated_lufs"] == pytest.approx(-20, abs=0.5)
    assert report["output_path"] == str(tmp_path / "take.flac")
    assert (tmp_path / "take.flac").is_file()


def test_refuses_to_overwrite_its_input(take: Path) -> None:
    before = take.read_bytes()
    r = sori("remaster", str(take), "-o", str(take))
    assert r.returncode != 0 and "never overwrites its input" in r.stderr
    assert take.read_bytes() == before


def test_analyze_text_and_json(take: Path) -> None:
    r = sori("analyze", str(take), "--json")
    assert r.returncode == 0
    m = json.loads(r.stdout)[str(take)]
    assert m["sample_rate"] == 32_000 and m["channels"] == 1 and m["integrated_lufs"] < -20
    text = sori("analyze", str(take))
    assert "LUFS" in text.stdout and "dBTP" in text.stdout


def test_presets_commands(tmp_path: Path) -> None:
    listing = sori("presets", "list")
    assert listing.returncode == 0
    for name in ("streaming", "gugak-solo", "background", "lofi"):
        assert name in listing.stdout
    shown = sori("presets", "show", "gugak-solo", "--set", "fade.out_ms=900")
    assert "target_lufs: -16" in shown.stdout and "out_ms: 900" in shown.stdout
    assert "sample_rate: 48000" in shown.stdout                      # inherited from streaming
    good = tmp_path / "good.yaml"
    good.write_text("extends: streaming\nchain:\n  loudness: {target_lufs: -15}\n")
    ok = sori("presets", "validate", str(good))
    assert ok.returncode == 0 and ok.stdout.startswith("ok:")
