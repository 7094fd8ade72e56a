"""A model's parts must agree (generate.parts): a tiny MusicGen whose EnCodec yields 8 codebooks for a decoder that
reads 4 is refused, in one line naming both numbers, at `sori generate`, at `sori data tokenize`, and by
`tokens.tokenize` given such a model already loaded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from generate.errors import GenerateError
from generate.parts import check_parts
from tests.clirun import one_error
from tests.tiny_musicgen import RATE, save_tiny


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))


@pytest.fixture(scope="module")
def mismatched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny(tmp_path_factory.mktemp("mismatched"), codec_codebooks=8)


def _dataset(root: Path) -> Path:
    """The smallest prepared dataset: one 1 s window and its manifest row."""
    (root / "audio").mkdir(parents=True)
    t = np.arange(RATE) / RATE
    sf.write(root / "audio" / "a.wav", (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), RATE)
    row = {"id": "a", "split": "train", "audio": "audio/a.wav", "caption": "calm gayageum"}
    (root / "manifest.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    return root


def test_generate_refuses_a_model_whose_parts_disagree(sori, mismatched: Path, tmp_path: Path) -> None:
    line = one_error(sori("generate", "가야금", "--model", mismatched, "-d", "0.3", "-o", tmp_path / "out", "-q"))
    assert "yields 8 codebooks per channel but its decoder expects 4" in line and str(mismatched) in line
    assert not (tmp_path / "out").exists()


def test_tokenize_refuses_it_before_writing_a_cache(sori, mismatched: Path, tmp_path: Path) -> None:
    data = _dataset(tmp_path / "data")
    line = one_error(sori("data", "tokenize", data, "--model", mismatched, "--device", "cpu", "-q"))
    assert "8 codebooks" in line and "expects 4" in line
    assert not (data / "tokens").exists()


def test_tokenize_checks_a_model_loaded_elsewhere(mismatched: Path, tmp_path: Path) -> None:
    from transformers import AutoProcessor, MusicgenForConditionalGeneration

    from generate.finetune.tokens import tokenize
    from generate.musicgen import Loaded

    model = MusicgenForConditionalGeneration.from_pretrained(mismatched)
    loaded = Loaded(model=model, processor=AutoProcessor.from_pretrained(mismatched), model_id=str(mismatched),
                    revision=None, device="cpu", dtype="float32", sample_rate=RATE, frame_rate=50.0, max_seconds=2.0)
    with pytest.raises(GenerateError, match="yields 8 codebooks per channel but its decoder expects 4"):
        tokenize(_dataset(tmp_path / "data"), "mismatched", loaded=loaded)
    assert not (tmp_path / "data" / "tokens").exists()


def test_each_disagreement_names_both_numbers(loaded) -> None:
    base, processor = loaded.model, loaded.processor
    check_parts(base, processor, "tiny")                         # the consistent tiny model passes
    decoder, codec = base.config.decoder, base.audio_encoder.config
    cases = [(decoder, "vocab_size", 100, "hold 64 codes but its decoder's vocabulary is 100"),
             (processor.feature_extractor, "sampling_rate", 16_000, "reads audio at 16000 Hz but its codec works at "
                                                                   "8000 Hz"),
             (codec, "sampling_rate", 7990, "frame rate is 49.9375 frames a second")]
    for obj, attr, value, says in cases:
        old = getattr(obj, attr)
        setattr(obj, attr, value)
        try:
            with pytest.raises(GenerateError, match=says):
                check_parts(base, processor, "tiny")
        finally:
            setattr(obj, attr, old)
