"""generate.audiocraft through `load_model`: audiocraft LM checkpoints written here from the tiny models' own weights
(the inverse of the renaming), loaded over their base, and the one-line errors of checkpoints that do not fit."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from generate import audiocraft
from generate.errors import GenerateError
from generate.musicgen import load_model
from generate.regenerate import TakeRegenerator
from generate.takes import generate_takes
from tests.tiny_musicgen import BINS, CODEBOOKS

TINY_CFG = "transformer_lm:\n  dim: 32\n  num_heads: 2\n  num_layers: 2\n  n_q: 4\n  card: 64\n"


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))


def _audiocraft_layout(model) -> dict:
    """A MusicGen's LM weights written the way audiocraft's LMModel names them (q, k, v stacked); a melody model
    has no cross-attention, and its chroma projection is the self_wav conditioner's."""
    sd = model.decoder.state_dict()
    out = {}
    renames = {"fc1": "linear1", "fc2": "linear2", "self_attn_layer_norm": "norm1",
               "encoder_attn_layer_norm": "norm_cross", "final_layer_norm": "norm2",
               "self_attn.out_proj": "self_attn.out_proj", "encoder_attn.out_proj": "cross_attention.out_proj"}
    for key, tensor in sd.items():
        if key.startswith("model.decoder.embed_tokens."):
            out[key.replace("model.decoder.embed_tokens.", "emb.")] = tensor
        elif key.startswith("lm_heads."):
            out[key.replace("lm_heads.", "linears.")] = tensor
        elif key.startswith("model.decoder.layer_norm."):
            out[key.replace("model.decoder.layer_norm.", "out_norm.")] = tensor
    for i in range(model.decoder.config.num_hidden_layers):
        p = f"model.decoder.layers.{i}."
        for ours, theirs in (("self_attn", "self_attn"), ("encoder_attn", "cross_attention")):
            if f"{p}{ours}.q_proj.weight" in sd:
                out[f"transformer.layers.{i}.{theirs}.in_proj_weight"] = torch.cat(
                    [sd[f"{p}{ours}.{x}_proj.weight"] for x in "qkv"])
        for ours, theirs in renames.items():
            for leaf in ("weight", "bias"):
                if f"{p}{ours}.{leaf}" in sd:
                    out[f"transformer.layers.{i}.{theirs}.{leaf}"] = sd[f"{p}{ours}.{leaf}"]
    for module, conditioner in (("enc_to_dec_proj", "description"), ("audio_enc_to_dec_proj", "self_wav")):
        if getattr(model, module, None) is not None:
            for leaf, tensor in getattr(model, module).state_dict().items():
                out[f"condition_provider.conditioners.{conditioner}.output_proj.{leaf}"] = tensor
    return out


def _tuned(cls, base_dir: Path, out: Path, seed: int = 7):
    """The base model with other LM weights (what a training run would leave), saved with save_pretrained."""
    model = cls.from_pretrained(base_dir).eval()
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith(("decoder.", "enc_to_dec_proj.", "audio_enc_to_dec_proj.")):
                p.add_(torch.randn_like(p) * 0.1)
    shutil.copytree(base_dir, out)              # the processor's files; the weights are replaced next
    model.save_pretrained(out)
    return model


def _same_lm(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    keys = [k for k in sa if k.startswith(("decoder.", "enc_to_dec_proj.", "audio_enc_to_dec_proj."))]
    return bool(keys) and all(torch.equal(sa[k], sb[k]) for k in keys)


def _read(path: Path) -> np.ndarray:
    return sf.read(path, dtype="float32", always_2d=True)[0]


def _one_line(info: pytest.ExceptionInfo) -> str:
    message = str(info.value)
    error = info.value                          # no chained traceback under it either
    assert "\n" not in message and error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    return message


def test_renaming_round_trip(tiny_dir: Path) -> None:
    from transformers import MusicgenForConditionalGeneration

    source = MusicgenForConditionalGeneration.from_pretrained(tiny_dir).eval()
    checkpoint = {"best_state": _audiocraft_layout(source), "xp.cfg": "..."}
    converted = audiocraft.convert_audiocraft_lm(checkpoint, source.decoder.config)
    assert set(converted) == set(source.decoder.state_dict())

    torch.manual_seed(123)
    target = MusicgenForConditionalGeneration(source.config).eval()
    target.audio_encoder.load_state_dict(source.audio_encoder.state_dict())
    target.text_encoder.load_state_dict(source.text_encoder.state_dict())
    ids = torch.tensor([[3, 4, 5, 1]])
    codes = torch.randint(0, BINS, (CODEBOOKS, 6), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = source(input_ids=ids, decoder_input_ids=codes).logits
        assert not torch.equal(target(input_ids=ids, decoder_input_ids=codes).logits, want)
        audiocraft.load_audiocraft_lm(target, checkpoint)
        torch.testing.assert_close(target(input_ids=ids, decoder_input_ids=codes).logits, want, rtol=0, atol=0)

    bad = dict(checkpoint["best_state"])
    bad["transformer.layers.0.layer_scale_1.scale"] = torch.ones(1)
    with pytest.raises(GenerateError, match="layer_scale_1"):
        audiocraft.convert_audiocraft_lm(bad, source.decoder.config)


def test_checkpoint_as_adapter_generates_as_the_model_it_came_from(tiny_dir: Path, tmp_path: Path, sori) -> None:
    from transformers import MusicgenForConditionalGeneration

    tuned = _tuned(MusicgenForConditionalGeneration, tiny_dir, tmp_path / "tuned")
    xp = tmp_path / "xp"
    xp.mkdir()
    torch.save({"best_state": _audiocraft_layout(tuned), "xp.cfg": TINY_CFG, "version": "1.3.0", "exported": True},
               xp / "state_dict.bin")
    got = load_model(str(tiny_dir), adapter=str(xp), device="cpu")
    assert (got.model_id, got.adapter, got.adapter_format) == (str(tiny_dir), str(xp), "audiocraft")
    assert _same_lm(got.model, tuned) and not got.model.training
    ref = load_model(str(tmp_path / "tuned"), device="cpu")
    assert got.engine == ref.engine
    kw = {"duration": 0.4, "seed": 5, "top_k": 20, "progress": False}
    a = generate_takes(got, "sad piano", out_dir=tmp_path / "a", **kw)[0]
    b = generate_takes(ref, "sad piano", out_dir=tmp_path / "b", **kw)[0]
    np.testing.assert_array_equal(_read(a), _read(b))
    sidecar = json.loads(a.with_suffix(".json").read_text(encoding="utf-8"))
    assert (sidecar["model"], sidecar["adapter"], sidecar["adapter_format"]) == (str(tiny_dir), str(xp), "audiocraft")
    again = TakeRegenerator(device="cpu").model_for(sidecar)          # a re-take loads what the sidecar names
    assert again.adapter == str(xp) and _same_lm(again.model, tuned)
    proc = sori("generate", "sad piano", "-d", "0.4", "--seed", "5", "--top-k", "20", "-o", tmp_path / "cli",
                "--model", tiny_dir, "--adapter", xp, "-q")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "cli" / "take_000.json").read_text(encoding="utf-8"))["adapter"] == str(xp)
    # a bare LM state dict (a trainer's lm_final.pt, keys under `lm.`), named by its file
    torch.save({f"lm.{k}": v for k, v in _audiocraft_layout(tuned).items()}, tmp_path / "lm_final.pt")
    bare = load_model(str(tiny_dir), adapter=str(tmp_path / "lm_final.pt"), device="cpu")
    assert _same_lm(bare.model, tuned) and bare.adapter == str(tmp_path / "lm_final.pt")


def test_melody_checkpoint(tiny_melody_dir: Path, tmp_path: Path) -> None:
    from transformers import MusicgenMelodyForConditionalGeneration

    tuned = _tuned(MusicgenMelodyForConditionalGeneration, tiny_melody_dir, tmp_path / "tuned")
    layout = _audiocraft_layout(tuned)
    assert not any("cross_attention" in k for k in layout) and any("self_wav" in k for k in layout)
    torch.save({"best_state": layout}, tmp_path / "melody.pt")
    assert audiocraft.lm_shape(layout) == audiocraft.LMShape(32, 2, CODEBOOKS, melody=True)
    got = load_model(str(tiny_melody_dir), adapter=str(tmp_path / "melody.pt"), device="cpu")
    assert _same_lm(got.model, tuned) and got.model_type == "musicgen_melody"


def test_the_base_is_named_by_the_checkpoint_size(tiny_dir: Path, tmp_path: Path) -> None:
    def lm(width: int, layers: int, codebooks: int, cross: bool = True) -> dict:
        meta = {f"emb.{k}.weight": torch.empty(2049, width, device="meta") for k in range(codebooks)}
        for i in range(layers):
            meta[f"transformer.layers.{i}.self_attn.in_proj_weight"] = torch.empty(3 * width, width, device="meta")
            if cross:
                meta[f"transformer.layers.{i}.cross_attention.in_proj_weight"] = torch.empty(3 * width, width,
                                                                                             device="meta")
        return meta

    name = {s: audiocraft.hub_model(audiocraft.lm_shape(lm(*s))) for s in [(1024, 24, 4), (1536, 48, 4),
                                                                           (2048, 48, 8), (1536, 48, 4, False),
                                                                           (1024, 24, 8), (32, 2, 4)]}
    assert name == {(1024, 24, 4): "facebook/musicgen-small", (1536, 48, 4): "facebook/musicgen-medium",
                    (2048, 48, 8): "facebook/musicgen-stereo-large", (1536, 48, 4, False): "facebook/musicgen-melody",
                    (1024, 24, 8): "facebook/musicgen-stereo-small", (32, 2, 4): None}
    # the config audiocraft stored beside the weights comes first: this one says musicgen-small, which is then
    # what load_model asks the hub (switched off here) for
    from transformers import MusicgenForConditionalGeneration
    layout = _audiocraft_layout(MusicgenForConditionalGeneration.from_pretrained(tiny_dir))
    small = tmp_path / "small.bin"
    torch.save({"best_state": layout, "xp.cfg": "transformer_lm: {dim: 1024, num_layers: 24, n_q: 4}\n"}, small)
    with pytest.raises(GenerateError) as info:
        load_model(str(small), device="cpu")
    message = _one_line(info)
    assert "Cannot load the MusicGen model 'facebook/musicgen-small'" in message and f"--adapter {small}" in message
    # no hub model of the tiny size: one line that says what to pass
    tiny = tmp_path / "tiny.pt"
    torch.save({"best_state": layout, "xp.cfg": TINY_CFG}, tiny)
    with pytest.raises(GenerateError) as info:
        load_model(str(tiny), device="cpu")
    message = _one_line(info)
    assert str(tiny) in message and "width 32, 2 layers, 4 codebooks" in message
    assert "--model" in message and "--adapter" in message


def test_checkpoints_that_do_not_fit_are_one_line(tiny_dir: Path, tmp_path: Path) -> None:
    from transformers import MusicgenForConditionalGeneration

    layout = _audiocraft_layout(MusicgenForConditionalGeneration.from_pretrained(tiny_dir))

    def fails(state, **kw) -> str:
        path = tmp_path / "ckpt.pt"
        torch.save(state, path)
        with pytest.raises(GenerateError) as info:
            load_model(str(tiny_dir), adapter=str(path), device="cpu", **kw)
        return _one_line(info)

    one_layer = {k: v for k, v in layout.items() if not k.startswith("transformer.layers.1.")}
    message = fails(one_layer)
    assert "an audiocraft LM of width 32, 1 layer, 4 codebooks does not fit" in message
    assert "width 32, 2 layers, 4 codebooks" in message and "--model" in message
    message = fails(layout | {"emb.0.weight": torch.zeros(70, 32)})
    assert "embed_tokens.0.weight has shape (70, 32) in the checkpoint but (65, 32)" in message
    layer_scale = layout | {"transformer.layers.0.layer_scale_1.scale": torch.ones(32)}
    assert "layer_scale_1" in fails(layer_scale)
    assert "holds Python objects besides tensors" in fails({"best_state": layout, "args": argparse.Namespace(a=1)})
    assert "holds no MusicGen LM weights" in fails({"weights": torch.zeros(3)})
    (tmp_path / "broken.bin").write_bytes(b"not a torch file")
    with pytest.raises(GenerateError) as info:
        load_model(str(tiny_dir), adapter=str(tmp_path / "broken.bin"), device="cpu")
    assert "cannot read this checkpoint" in _one_line(info)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(GenerateError) as info:
        load_model(str(tiny_dir), adapter=str(tmp_path / "notes.txt"), device="cpu")
    assert "nor an audiocraft LM checkpoint" in _one_line(info)
    torch.save(layout, tmp_path / "lm.pt")
    with pytest.raises(GenerateError) as info:
        load_model(str(tmp_path / "lm.pt"), adapter=str(tmp_path / "lm.pt"), device="cpu")
    assert "is itself an audiocraft LM checkpoint" in _one_line(info)
