"""The chain takes any registered processor; remaster() from paths, arrays, presets, threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import Field

from remaster import Chain, Context, Processed, Processor, remaster, save
from remaster.analysis import loudness
from remaster.audio import read
from remaster.processors import REGISTRY, Cleanup, Loudness, Resample, register
from remaster.processors.base import Params

from .conftest import tone, write_wav


class GainParams(Params):
    db: float = Field(0.0, ge=-60, le=60)


class Gain(Processor):
    """A processor defined outside the package, as superres and dissonance will be."""

    name = "test_gain"
    Params = GainParams

    def process(self, audio: np.ndarray, sample_rate: int, context: Context) -> Processed:
        return Processed((audio * 10 ** (self.params.db / 20)).astype(np.float32), sample_rate, {"db": self.params.db})


class SwapTake(Processor):
    """Replaces the take with one from context.extras, run through the stages before it (as a regenerator does)."""

    name = "test_swap"
    Params = Params

    def process(self, audio: np.ndarray, sample_rate: int, context: Context) -> Processed:
        new, rate = context.extras["replacement"]
        out, out_rate = context.upstream(new, rate)
        return Processed(out, out_rate, {"swapped": True})


@pytest.fixture(autouse=True)
def _registered():
    register(Gain)
    register(SwapTake)
    yield
    REGISTRY.pop("test_gain")
    REGISTRY.pop("test_swap")


def test_a_new_processor_runs_from_a_preset_without_touching_the_chain(tmp_path: Path) -> None:
    preset = tmp_path / "p.yaml"
    chain = {"test_gain": {"db": -6}, "loudness": {"target_lufs": -20}}
    preset.write_text(yaml.safe_dump({"chain": chain}, sort_keys=False))
    audio, rate, report = remaster(tone(), 32_000, preset=preset)
    assert [s["stage"] for s in report["stages"]] == ["test_gain", "loudness"]
    assert report["stages"][0]["db"] == -6
    assert loudness.integrated_loudness(audio, rate) == pytest.approx(-20, abs=0.1)


def test_upstream_reruns_the_earlier_stages_on_a_new_take() -> None:
    chain = Chain([Resample(sample_rate=48_000), Gain(db=-6), SwapTake()])
    replacement = tone(880, 1.0, 16_000, -3, None)
    result = chain(tone(440, 1.0, 32_000), 32_000, Context(extras={"replacement": (replacement, 16_000)}))
    assert result.sample_rate == 48_000 and result.audio.shape[1] == 48_000
    assert np.abs(result.audio).max() == pytest.approx(10 ** (-9 / 20), rel=0.02)     # -3 dB take, -6 dB gain
    assert [s.label for s in result.stages] == ["resample", "test_gain", "test_swap"]


def test_chain_reads_like_pedalboard() -> None:
    chain = Chain([Cleanup(), Resample(sample_rate=48_000), Loudness(target_lufs=-16)])
    out = chain(tone(), 32_000)
    assert out.sample_rate == 48_000
    assert loudness.integrated_loudness(out.audio, 48_000) == pytest.approx(-16, abs=0.1)
    assert [s.kind for s in out.stages] == ["cleanup", "resample", "loudness"]
    assert "Loudness(target_lufs=-16.0" in repr(chain)


def test_remaster_path_array_and_int_array_agree(tmp_path: Path) -> None:
    x = tone(330, 4, 32_000, -20, -60)
    path = write_wav(tmp_path / "take.wav", x, 32_000, "FLOAT")
    a, ra, rep_a = remaster(path)
    b, rb, _ = remaster(x, 32_000)
    c, _, _ = remaster((x * 32767).astype(np.int16), 32_000)
    assert ra == rb == 48_000 and a.shape == b.shape == (2, 4 * 48_000)
    np.testing.assert_array_equal(a, b)
    assert np.abs(c - a).max() < 1e-3
    assert rep_a["input"] == str(path) and rep_a["targets"]["ok"]
    assert rep_a["before"]["sample_rate"] == 32_000 and rep_a["after"]["sample_rate"] == 48_000


def test_remaster_overrides_and_save_writes_exactly_the_returned_samples(tmp_path: Path) -> None:
    m = remaster(tone(seconds=4), 32_000, loudness={"target_lufs": -20}, output={"bit_depth": 16})
    assert m.report["after"]["integrated_lufs"] == pytest.approx(-20, abs=0.1)
    out = save(tmp_path / "m.wav", m, "streaming", output={"bit_depth": 16})
    back, _ = read(out)
    np.testing.assert_array_equal(back, m.audio)


def test_remaster_is_safe_from_threads() -> None:
    jobs = [(tone(220 * (i + 1), 3, 32_000, -15 - i, -65, seed=i), ["streaming", "background", "lofi"][i % 3])
            for i in range(6)]
    alone = [remaster(x, 32_000, preset=p).audio for x, p in jobs]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda job: remaster(job[0], 32_000, preset=job[1]).audio, jobs))
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_array_equal(a, b)


def test_unsigned_arrays_are_centred() -> None:
    x = tone(330, 4, 32_000, -20, -60)
    u8 = np.round(x * 127 + 128).astype(np.uint8)
    m = remaster(u8, 32_000)
    assert abs(m.report["before"]["dc_offset"]) < 0.01
    assert m.report["targets"]["ok"]
