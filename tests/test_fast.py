"""Sori's generation path (generate.fast) against `model.generate`, on the tiny MusicGens of tests/tiny_musicgen.py.

The codes EnCodec is asked to decode are the observation point: both paths end in `audio_encoder.decode`, so the
tests record what it is given and compare it, as well as the audio.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import torch

from generate import fast
from generate.errors import GenerateError
from generate.musicgen import load_model
from generate.takes import generate_takes
from tests.tiny_musicgen import RATE, save_tiny

NEW = 30            # new tokens per call: 27 frames + 3 delay steps


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="module")
def stereo(tmp_path_factory: pytest.TempPathFactory):
    return load_model(str(save_tiny(tmp_path_factory.mktemp("tiny-stereo"), channels=2)), device="cpu")


@contextlib.contextmanager
def recording(model: Any) -> Iterator[tuple[list[torch.Tensor], list[torch.Tensor]]]:
    """The codes every `audio_encoder.decode` call of the block is given, and the probabilities every sampling step
    draws from (both paths sample with torch.multinomial: equal probabilities mean bit-equal logits)."""
    codec = fast._base(model).audio_encoder
    original, multinomial, seen, probs = codec.decode, torch.multinomial, [], []

    def decode(codes: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        seen.append(codes.clone())
        return original(codes, *args, **kwargs)

    def draw(p: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        probs.append(p.clone())
        return multinomial(p, *args, **kwargs)

    codec.decode = decode
    torch.multinomial = draw
    try:
        yield seen, probs
    finally:
        del codec.decode
        torch.multinomial = multinomial


def inputs_for(loaded, captions: list[str], prompt_seconds: float | None = None) -> dict[str, torch.Tensor]:
    """The processor's tensors as generate.takes makes them; with a noise prompt of `prompt_seconds`."""
    inputs = dict(loaded.processor(text=captions, padding=True, return_tensors="pt"))
    if prompt_seconds:
        noise = np.random.default_rng(0).standard_normal((loaded.channels, round(prompt_seconds * RATE)))
        noise = (0.1 * noise).astype(np.float32)
        feats = loaded.processor.feature_extractor(noise[0] if loaded.channels == 1 else noise,
                                                   sampling_rate=RATE, return_tensors="pt")
        inputs["input_values"] = feats["input_values"]
        inputs["padding_mask"] = feats["padding_mask"]
    return inputs


Run = tuple[list[torch.Tensor], torch.Tensor, list[torch.Tensor]]       # codes, audio, sampling probabilities


def plain(model: Any, inputs: dict, seed: int, **kw: Any) -> Run:
    kw = {"do_sample": True, "top_k": 250, "top_p": 1.0, "temperature": 1.0, "guidance_scale": None, **kw}
    with recording(model) as (codes, probs), torch.inference_mode():
        torch.manual_seed(seed)
        audio = model.generate(**inputs, max_new_tokens=NEW, **kw)
    return codes, audio, probs


def sori(model: Any, inputs: dict, seed: int, monkeypatch: pytest.MonkeyPatch, **kw: Any) -> Run:
    def not_here(*_: Any, **__: Any) -> None:
        raise AssertionError("generate.fast fell back to model.generate")

    with monkeypatch.context() as m, recording(model) as (codes, probs):
        m.setattr(model, "generate", not_here)
        torch.manual_seed(seed)
        audio = fast.generate(model, inputs, max_new_tokens=NEW, **kw)
    return codes, audio, probs


def assert_same(a: Run, b: Run) -> None:
    (codes_a, audio_a, probs_a), (codes_b, audio_b, probs_b) = a, b
    assert len(codes_a) == len(codes_b) >= 1
    for x, y in zip(codes_a, codes_b, strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=0)
    assert audio_a.shape == audio_b.shape
    assert torch.equal(audio_a, audio_b)
    assert len(probs_a) == len(probs_b)                     # NEW draws when sampling, none when greedy
    for x, y in zip(probs_a, probs_b, strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=0)


CASES = {
    "guidance, top-k": {"guidance_scale": 3.0, "top_k": 20},
    "no guidance, top-k 250": {"guidance_scale": None, "top_k": 250},
    "guidance, top-p, temperature": {"guidance_scale": 2.5, "top_k": 0, "top_p": 0.8, "temperature": 0.7},
    "guidance, greedy": {"guidance_scale": 3.0, "do_sample": False},
}


@pytest.mark.parametrize("case", list(CASES))
def test_text_only_same_tokens_as_generate(loaded, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = inputs_for(loaded, ["calm gayageum sanjo at 60 bpm"])
    want = plain(loaded.model, inputs, 11, **CASES[case])
    got = sori(loaded.model, inputs, 11, monkeypatch, **CASES[case])
    assert_same(want, got)
    assert len(got[2]) == (NEW if CASES[case].get("do_sample", True) else 0)
    assert want[0][0].shape == (1, 1, 4, NEW - 3) and want[1].shape == (1, 1, (NEW - 3) * RATE // 50)


def test_seed_matters(loaded, monkeypatch: pytest.MonkeyPatch) -> None:
    """So that the equalities above mean something: another seed, other tokens."""
    inputs = inputs_for(loaded, ["sad piano"])
    a = sori(loaded.model, inputs, 1, monkeypatch, guidance_scale=3.0, top_k=20)
    b = sori(loaded.model, inputs, 2, monkeypatch, guidance_scale=3.0, top_k=20)
    assert not torch.equal(a[0][0], b[0][0])


@pytest.mark.parametrize("guidance", [3.0, None])
def test_audio_prompt_same_tokens_as_generate(loaded, guidance: float | None, monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = inputs_for(loaded, ["bright haegeum"], prompt_seconds=0.3)
    want = plain(loaded.model, inputs, 5, guidance_scale=guidance, top_k=20)
    assert_same(want, sori(loaded.model, inputs, 5, monkeypatch, guidance_scale=guidance, top_k=20))
    assert want[0][0].shape[-1] == 15 + NEW - 3          # the prompt's 15 frames, re-decoded, then the new ones


def test_padded_batch_same_tokens_as_generate(loaded, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two captions of different lengths: the shorter one's padding is masked in cross-attention."""
    inputs = inputs_for(loaded, ["sad piano", "happy flute ambient at 90 bpm"])
    assert not bool(inputs["attention_mask"].all())
    for guidance in (None, 3.0):
        want = plain(loaded.model, inputs, 9, guidance_scale=guidance, top_k=20)
        assert_same(want, sori(loaded.model, inputs, 9, monkeypatch, guidance_scale=guidance, top_k=20))
        assert want[1].shape[0] == 2


@pytest.mark.parametrize("prompt", [None, 0.3])
def test_stereo_same_tokens_as_generate(stereo, prompt: float | None, monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = inputs_for(stereo, ["calm piano"], prompt_seconds=prompt)
    want = plain(stereo.model, inputs, 3, guidance_scale=3.0, top_k=20)
    got = sori(stereo.model, inputs, 3, monkeypatch, guidance_scale=3.0, top_k=20)
    assert_same(want, got)
    assert len(want[0]) == 2 and want[1].shape[1] == 2            # left and right decoded apart
    assert not torch.equal(want[0][0], want[0][1])


def test_lora_model_runs_in_the_loop(tiny_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import peft
    from transformers import MusicgenForConditionalGeneration

    torch.manual_seed(3)
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    tuned = peft.get_peft_model(MusicgenForConditionalGeneration.from_pretrained(tiny_dir), config).eval()
    assert fast.unsupported_reason(tuned) is None
    loaded = load_model(str(tiny_dir), device="cpu")
    inputs = inputs_for(loaded, ["dark guitar"])
    want = plain(tuned, inputs, 4, guidance_scale=3.0, top_k=20)
    assert_same(want, sori(tuned, inputs, 4, monkeypatch, guidance_scale=3.0, top_k=20))
    assert not torch.equal(want[0][0], plain(loaded.model, inputs, 4, guidance_scale=3.0, top_k=20)[0][0])

    merged = fast.quantize(tuned)                   # the adapter is merged, then the decoder quantized
    assert not hasattr(merged, "peft_config") and fast.is_quantized(merged)


def test_quantized_decoder_is_int8(tiny_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from torch import nn
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    q = load_model(str(tiny_dir), device="cpu", quantize=True)
    assert q.quantized and q.engine == "sori" and fast.is_quantized(q.model)
    layer = q.model.decoder.model.decoder.layers[0]
    for module in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.out_proj,
                   layer.encoder_attn.q_proj, layer.fc1, layer.fc2, q.model.decoder.lm_heads[0]):
        assert isinstance(module, DynamicLinear) and module.weight().dtype == torch.qint8
    # run once per take on the text: kept in float32; so are the text encoder and EnCodec
    assert type(layer.encoder_attn.k_proj) is nn.Linear and type(layer.encoder_attn.v_proj) is nn.Linear
    assert not any(isinstance(m, DynamicLinear) for m in q.model.text_encoder.modules())

    inputs = inputs_for(q, ["calm flute"])
    codes, audio, _ = sori(q.model, inputs, 2, monkeypatch, guidance_scale=3.0, top_k=20)
    assert audio.shape == (1, 1, (NEW - 3) * RATE // 50) and bool(torch.isfinite(audio).all())
    assert codes[0].min() >= 0 and codes[0].max() < 64
    # the transformers engine runs the same int8 modules
    assert plain(q.model, inputs, 2, guidance_scale=3.0, top_k=20)[1].shape == audio.shape


def test_load_model_engine_and_quantize_options(loaded, tiny_dir: Path, tmp_path: Path) -> None:
    assert (loaded.engine, loaded.quantized) == ("sori", False)            # auto picks sori for MusicGen
    assert load_model(str(tiny_dir), device="cpu", engine="transformers").engine == "transformers"
    assert load_model(str(tiny_dir), device="cpu", engine="SORI").engine == "sori"
    with pytest.raises(GenerateError, match="unknown engine 'fastest'; allowed: auto, sori, transformers"):
        load_model(str(tiny_dir), engine="fastest")
    with pytest.raises(GenerateError, match="CPU in fp32 only"):
        load_model(str(tiny_dir), device="cpu", dtype="bf16", quantize=True)

    # a generation config with a processor the loop does not reproduce: auto falls back, sori says why
    odd = tmp_path / "odd"
    shutil.copytree(tiny_dir, odd)
    gen = json.loads((odd / "generation_config.json").read_text(encoding="utf-8"))
    (odd / "generation_config.json").write_text(json.dumps({**gen, "repetition_penalty": 1.3}), encoding="utf-8")
    assert load_model(str(odd), device="cpu").engine == "transformers"
    with pytest.raises(GenerateError, match="repetition_penalty"):
        load_model(str(odd), device="cpu", engine="sori")


def test_unsupported_models_fall_back_to_generate(tiny_dir: Path) -> None:
    from transformers import (
        EncodecConfig,
        MusicgenMelodyConfig,
        MusicgenMelodyDecoderConfig,
        MusicgenMelodyForConditionalGeneration,
        T5Config,
    )

    text = T5Config(vocab_size=40, d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2)
    codec = EncodecConfig(target_bandwidths=[1.2], sampling_rate=RATE, hidden_size=16, num_filters=4,
                          num_residual_layers=1, upsampling_ratios=[8, 5, 4], codebook_size=64, num_lstm_layers=1)
    decoder = MusicgenMelodyDecoderConfig(vocab_size=64, max_position_embeddings=100, num_hidden_layers=1, ffn_dim=32,
                                          num_attention_heads=2, hidden_size=16, pad_token_id=64, bos_token_id=64)
    melody = MusicgenMelodyForConditionalGeneration(
        MusicgenMelodyConfig(text_encoder=text, audio_encoder=codec, decoder=decoder)).eval()
    assert "MusicgenMelody" in fast.unsupported_reason(melody)
    ids = torch.tensor([[5, 6, 7, 1]])
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    want = plain(melody, inputs, 0, guidance_scale=3.0, top_k=20)[1]
    torch.manual_seed(0)
    got = fast.generate(melody, inputs, max_new_tokens=NEW, guidance_scale=3.0, top_k=20)
    assert torch.equal(want, got)

    loaded = load_model(str(tiny_dir), device="cpu")
    assert fast.unsupported_reason(loaded.model, {**inputs, "input_features": ids}) is not None
    assert fast.unsupported_reason(loaded.model, inputs, max_new_tokens=4) is not None     # delay pattern needs 7
    with pytest.raises(GenerateError, match="MusicGen"):
        fast.quantize(melody)


def test_takes_through_sori_match_transformers(loaded, tiny_dir: Path, tmp_path: Path) -> None:
    hf = load_model(str(tiny_dir), device="cpu", engine="transformers")
    assert loaded.engine == "sori"
    # 0.4 s: one call; 2.6 s: a second window prompted with the first one's tail (the window is 2 s)
    for duration in (0.4, 2.6):
        kw = {"duration": duration, "seed": 21, "top_k": 20, "tail_seconds": 0.5, "crossfade_seconds": 0.1,
              "progress": False}
        a = generate_takes(hf, "sad gayageum sanjo", out_dir=tmp_path / f"hf{duration}", **kw)[0]
        b = generate_takes(loaded, "sad gayageum sanjo", out_dir=tmp_path / f"sori{duration}", **kw)[0]
        wav_a, wav_b = sf.read(a, dtype="float32")[0], sf.read(b, dtype="float32")[0]
        assert wav_a.shape == wav_b.shape == (round(duration * RATE),)
        np.testing.assert_array_equal(wav_a, wav_b)
        windows = json.loads(b.with_suffix(".json").read_text(encoding="utf-8"))["windows"]
        assert len(windows) == (1 if duration < 2 else 2)
