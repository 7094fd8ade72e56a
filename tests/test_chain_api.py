"""The chain takes any registered processor; remaster() from paths, arrays, presets, threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from remaster import Chain, Processed, ProcessingError, Processor, remaster, save
from remaster.analysis import loudness
from remaster.audio import read
from remaster.presets import parameter_rows, preset_json_schema
from remaster.processors import REGISTRY, Cleanup, Loudness, Params, Report, Resample, param, register, reported

from .conftest import tone, write_wav


class GainParams(Params):
    db: float = param(0.0, unit="dB", ge=-60, le=60, description="gain added to every sample")


class GainReport(Report):
    db: float | None = reported(unit="dB", description="gain applied", column=True)


class Gain(Processor):
    """A processor defined outside the package: a Params, a Report and `process`, nothing else."""

    name = "test_gain"
    Params = GainParams
    Report = GainReport

    def process(self, audio: np.ndarray, sample_rate: int) -> Processed:
        return Processed((audio * 10 ** (self.params.db / 20)).astype(np.float32), sample_rate, {"db": self.params.db})


class Chatty(Processor):
    """Reports a key its Report does not declare: a bug the chain names."""

    name = "test_chatty"
    Params = Params

    def process(self, audio: np.ndarray, sample_rate: int) -> Processed:
        return Processed(audio, sample_rate, {"undeclared": 1})


@pytest.fixture(autouse=True)
def _registered():
    register(Gain)
    register(Chatty)
    yield
    REGISTRY.pop("test_gain")
    REGISTRY.pop("test_chatty")


def test_a_new_processor_runs_from_a_preset_without_touching_the_chain(tmp_path: Path) -> None:
    preset = tmp_path / "p.yaml"
    chain = {"test_gain": {"db": -6}, "loudness": {"target_lufs": -20}}
    preset.write_text(yaml.safe_dump({"chain": chain}, sort_keys=False))
    audio, rate, report = remaster(tone(), 32_000, preset=preset)
    assert [s["stage"] for s in report["stages"]] == ["test_gain", "loudness"]
    assert report["stages"][0]["db"] == -6
    assert loudness.integrated_loudness(audio, rate) == pytest.approx(-20, abs=0.1)


def test_a_new_processor_appears_in_the_schema_and_the_csv(tmp_path: Path, sori) -> None:
    rows = parameter_rows("test_gain")
    assert rows[0]["name"] == "db" and rows[0]["unit"] == "dB" and (rows[0]["min"], rows[0]["max"]) == (-60, 60)
    stage = preset_json_schema()["properties"]["chain"]["properties"]["test_gain"]["anyOf"][0]
    assert stage["properties"]["db"]["description"] == "gain added to every sample"
    listed = sori("presets", "schema", "test_gain")
    assert listed.returncode == 0 and "db" in listed.stdout and "gain added to every sample" in listed.stdout
    takes = tmp_path / "in"
    write_wav(takes / "a.wav", tone(seconds=4), 32_000)
    preset = tmp_path / "p.yaml"
    preset.write_text("extends: streaming\nchain:\n  dissonance: null\n  test_gain: {db: -3}\n")
    done = sori("batch", takes, tmp_path / "out", "--preset", preset, "-q")
    assert done.returncode == 0, done.stderr
    header = (tmp_path / "out" / "report.csv").read_text().splitlines()[0].split(",")
    assert "test_gain.db" in header and "loudness.gain_db" in header


def test_the_chain_is_a_pure_function_of_its_audio() -> None:
    chain = Chain([Cleanup(), Gain(db=-6), Resample(sample_rate=48_000)])
    x = tone(440, 1.0, 32_000)
    kept = x.copy()
    first, second = chain(x, 32_000), chain(x, 32_000)
    np.testing.assert_array_equal(x, kept)                                   # the input is untouched
    np.testing.assert_array_equal(first.audio, second.audio)                 # and nothing is kept between calls
    assert [s.info for s in first.stages] == [s.info for s in second.stages]
    with pytest.raises(ProcessingError, match=r"test_chatty: reported what Chatty\.Report does not declare"):
        Chain([Chatty()])(x, 32_000)


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
    out = save(tmp_path / "m.wav", m)
    back, _ = read(out)
    np.testing.assert_array_equal(back, m.audio)
    assert sf.info(str(out)).subtype == "PCM_16"


def test_save_writes_the_format_the_report_names(tmp_path: Path) -> None:
    lofi = remaster(tone(seconds=4), 32_000, preset="lofi")
    assert lofi.report["output"]["bit_depth"] == 16 == lofi.output.bit_depth
    assert sf.info(str(save(tmp_path / "lofi.wav", lofi))).subtype == "PCM_16"
    flac = remaster(tone(seconds=4), 32_000, output={"format": "flac", "bit_depth": 24})
    written = save(tmp_path / "master", flac)
    assert written.suffix == ".flac" and sf.info(str(written)).subtype == "PCM_24"


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
