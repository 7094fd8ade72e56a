"""MusicGen loading and takes, on a tiny MusicGen built from configs here (random weights, a tokenizer trained here).

Nothing is downloaded: the tiny model is saved with save_pretrained and loaded through the same `load_model` path
as a hub id, and the hub is switched off for the whole module.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from generate.errors import GenerateError
from generate.musicgen import load_model
from generate.prompt import build_prompt
from generate.takes import crossfade_join, generate_takes
from tests.tiny_musicgen import CODEBOOKS, RATE, WINDOW, save_tiny


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


def _read(path: Path) -> np.ndarray:
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    assert rate == RATE
    return data.T


def test_load_model_reports_the_model(loaded, tiny_dir: Path) -> None:
    assert loaded.model_id == str(tiny_dir)
    assert (loaded.device, loaded.dtype) == ("cpu", "float32")
    assert loaded.sample_rate == RATE and loaded.frame_rate == 50
    assert loaded.max_seconds == pytest.approx(WINDOW / 50)
    assert loaded.adapter is None and loaded.num_codebooks == CODEBOOKS and loaded.channels == 1
    assert not loaded.model.training


def test_takes_sidecars_and_distinct_seeds(loaded, tmp_path: Path) -> None:
    paths = generate_takes(loaded, "calm gayageum sanjo", n=3, duration=0.5, seed=41, top_k=20, out_dir=tmp_path,
                           progress=False)
    assert [p.name for p in paths] == ["take_000.wav", "take_001.wav", "take_002.wav"]
    sidecars = [json.loads(p.with_suffix(".json").read_text(encoding="utf-8")) for p in paths]
    assert [s["seed"] for s in sidecars] == [41, 42, 43]
    s = sidecars[0]
    assert s["prompt"] == "calm gayageum sanjo" and s["categories"] is None
    assert s["model"] == loaded.model_id and s["adapter"] is None and s["device"] == "cpu"
    assert s["generation"]["top_k"] == 20 and s["generation"]["guidance_scale"] == 3.0
    assert s["duration"] == 0.5 and s["timings"]["seconds"] > 0 and "real_time_factor" in s["timings"]
    assert s["sori_version"] and len(s["windows"]) == 1
    audios = [_read(p) for p in paths]
    assert all(a.shape == (1, RATE // 2) for a in audios)
    assert not np.array_equal(audios[0], audios[1])

    # resume: a finished take is kept as is, a missing one is made again with its own seed
    before = paths[0].stat().st_mtime_ns
    paths[2].unlink()
    generate_takes(loaded, "calm gayageum sanjo", n=3, duration=0.5, seed=41, top_k=20, out_dir=tmp_path,
                   progress=False)
    assert paths[0].stat().st_mtime_ns == before
    np.testing.assert_array_equal(_read(paths[2]), audios[2])


def test_same_seed_same_audio(loaded, tmp_path: Path) -> None:
    kw = {"n": 1, "duration": 0.4, "top_k": 20, "progress": False}
    a = _read(generate_takes(loaded, "sad piano", seed=7, out_dir=tmp_path / "a", **kw)[0])
    b = _read(generate_takes(loaded, "sad piano", seed=7, out_dir=tmp_path / "b", **kw)[0])
    c = _read(generate_takes(loaded, "sad piano", seed=8, out_dir=tmp_path / "c", **kw)[0])
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_random_seed_is_recorded(loaded, tmp_path: Path) -> None:
    paths = generate_takes(loaded, "dark flute", n=2, duration=0.2, top_k=20, out_dir=tmp_path, progress=False)
    seeds = [json.loads(p.with_suffix(".json").read_text(encoding="utf-8"))["seed"] for p in paths]
    assert isinstance(seeds[0], int) and seeds[1] == seeds[0] + 1


def test_continuation_past_the_window(loaded, tmp_path: Path) -> None:
    duration = 5.0                                   # the window is 2 s
    (path,) = generate_takes(loaded, "bright haegeum", duration=duration, seed=3, top_k=20, tail_seconds=0.6,
                             crossfade_seconds=0.1, out_dir=tmp_path, progress=False)
    audio = _read(path)
    assert audio.shape == (1, int(duration * RATE))
    assert np.isfinite(audio).all() and np.abs(audio).max() > 0
    windows = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["windows"]
    assert len(windows) >= 3
    assert windows[0]["prompt_seconds"] == 0 and all(w["prompt_seconds"] == pytest.approx(0.6) for w in windows[1:])
    assert windows[-1]["end_seconds"] == pytest.approx(duration)
    for before, after in itertools.pairwise(windows):
        assert after["start_seconds"] == pytest.approx(before["end_seconds"])


def test_stereo_continuation(tmp_path: Path) -> None:
    stereo = load_model(str(save_tiny(tmp_path / "stereo", channels=2)), device="cpu")
    assert (stereo.channels, stereo.num_codebooks) == (2, 2 * CODEBOOKS)
    (path,) = generate_takes(stereo, "calm piano", duration=3.0, seed=2, top_k=20, tail_seconds=0.5,
                             crossfade_seconds=0.1, out_dir=tmp_path / "out", progress=False)
    audio = _read(path)
    assert audio.shape == (2, 3 * RATE) and not np.array_equal(audio[0], audio[1])
    assert len(json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["windows"]) == 2


def test_crossfade_join_is_equal_power() -> None:
    head, tail = np.ones((1, 100), np.float32), np.ones((1, 50), np.float32)
    joined = crossfade_join(head, tail, 20)
    assert joined.shape == (1, 130)
    mid = joined[0, 80:100]
    assert np.all(mid >= 1.0 - 1e-6) and mid.max() <= np.sqrt(2) + 1e-6     # cos + sin of one signal


def test_korean_prompt_goes_into_the_sidecar(loaded, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prompt = build_prompt(instruments="가야금", solo=True)
    (path,) = generate_takes(loaded, prompt, duration=0.2, seed=1, top_k=20, out_dir=tmp_path, stem="gugak")
    assert path.name == "gugak_000.wav"
    data = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert data["prompt"] == prompt.caption and "gayageum" in prompt.caption.lower()
    assert data["categories"] == prompt.to_dict() and data["categories"]["solo"] is True
    captured = capsys.readouterr()
    assert captured.out == "" and "1/1" in captured.err           # the progress bar goes to stderr


def test_lora_adapter_changes_the_output(loaded, tiny_dir: Path, tmp_path: Path) -> None:
    import peft
    from transformers import MusicgenForConditionalGeneration

    base = MusicgenForConditionalGeneration.from_pretrained(tiny_dir)
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    torch.manual_seed(1)
    peft.get_peft_model(base, config).save_pretrained(tmp_path / "adapter")
    adapter_cfg = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text(encoding="utf-8"))
    assert adapter_cfg["base_model_name_or_path"] == str(tiny_dir)

    tuned = load_model(str(tmp_path / "adapter"), device="cpu")
    assert tuned.adapter == str(tmp_path / "adapter") and tuned.model_id == str(tiny_dir)
    assert not tuned.model.training
    kw = {"duration": 0.4, "seed": 5, "top_k": 20, "progress": False}
    a = generate_takes(loaded, "sad piano", out_dir=tmp_path / "base", **kw)[0]
    b = generate_takes(tuned, "sad piano", out_dir=tmp_path / "tuned", **kw)[0]
    assert not np.array_equal(_read(a), _read(b))
    assert json.loads(b.with_suffix(".json").read_text(encoding="utf-8"))["adapter"] == str(tmp_path / "adapter")
    # the explicit form: the base directory plus adapter=
    again = load_model(str(tiny_dir), adapter=str(tmp_path / "adapter"), device="cpu")
    c = generate_takes(again, "sad piano", out_dir=tmp_path / "again", **kw)[0]
    np.testing.assert_array_equal(_read(b), _read(c))


def test_offline_without_weights_is_one_clear_paragraph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    with pytest.raises(GenerateError) as info:
        load_model("facebook/musicgen-small")
    message = str(info.value)
    assert "facebook/musicgen-small" in message and "HF_HUB_OFFLINE" in message
    assert "--model" in message and "HF_HOME" in message and str(tmp_path / "hf" / "hub") in message
    assert "\n" not in message and "Traceback" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_bad_inputs_are_generate_errors(loaded, tmp_path: Path) -> None:
    with pytest.raises(GenerateError, match="no such model directory"):
        load_model(str(tmp_path / "nowhere" / "model"))
    with pytest.raises(GenerateError, match="duration"):
        generate_takes(loaded, "sad piano", duration=0, out_dir=tmp_path, progress=False)
    with pytest.raises(GenerateError, match="top_p"):
        generate_takes(loaded, "sad piano", top_p=1.5, out_dir=tmp_path, progress=False)
    with pytest.raises(GenerateError, match="device"):
        load_model(str(tmp_path), device="tpu")
