"""Import a MusicGen language model trained with audiocraft, by renaming its `state_dict` (no audiocraft needed).

    import torch
    from generate.audiocraft import load_audiocraft_lm
    checkpoint = torch.load("state_dict.bin", map_location="cpu")      # audiocraft's {'best_state': ..., ...}
    load_audiocraft_lm(loaded.model, checkpoint)                         # into a MusicgenForConditionalGeneration

audiocraft's LM names its parts `emb.{k}`, `transformer.layers.{i}.{self_attn,cross_attention}.in_proj_weight`
(query, key and value stacked), `...out_proj`, `linear1/linear2`, `norm1/norm_cross/norm2`, `out_norm` and
`linears.{k}`; transformers' MusicgenForCausalLM keeps the same tensors as `model.decoder.embed_tokens.{k}`,
`model.decoder.layers.{i}.{self_attn,encoder_attn}.{q,k,v,out}_proj`, `fc1/fc2`,
`self_attn_layer_norm/encoder_attn_layer_norm/final_layer_norm`, `model.decoder.layer_norm` and `lm_heads.{k}`. The
projection from the text encoder to the decoder (`condition_provider.conditioners.description.output_proj`) is
`enc_to_dec_proj` of MusicgenForConditionalGeneration.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import GenerateError

_PROJECTION = "condition_provider.conditioners.description.output_proj."
_LAYER = re.compile(r"^transformer\.layers\.(\d+)\.(.+)$")
_IN_LAYER = {
    "self_attn.out_proj": "self_attn.out_proj",
    "cross_attention.out_proj": "encoder_attn.out_proj",
    "linear1": "fc1",
    "linear2": "fc2",
    "norm1": "self_attn_layer_norm",
    "norm_cross": "encoder_attn_layer_norm",
    "norm2": "final_layer_norm",
}
_STACKED = {"self_attn.in_proj_weight": "self_attn", "cross_attention.in_proj_weight": "encoder_attn"}
# Parts of an audiocraft LM with no counterpart in transformers' decoder: conditioners other than the text one
# (their weights live in the T5 encoder, loaded separately) and the fuser.
_IGNORED_PREFIXES = ("condition_provider.", "fuser.")


def unwrap_checkpoint(checkpoint: Mapping[str, Any]) -> Mapping[str, Any]:
    """The LM state dict inside an audiocraft checkpoint (`best_state`, `model` or `state_dict`), or the dict itself."""
    for key in ("best_state", "model", "state_dict"):
        inner = checkpoint.get(key)
        if isinstance(inner, Mapping) and inner and not any(k.startswith(("emb.", "transformer.")) for k in checkpoint):
            return unwrap_checkpoint(inner)
    return checkpoint


def _clean(key: str) -> str:
    for prefix in ("module.", "_orig_mod.", "lm."):
        while key.startswith(prefix):
            key = key[len(prefix):]
    return key


def convert_audiocraft_lm(state_dict: Mapping[str, Any], decoder_config: Any) -> dict[str, Any]:
    """audiocraft LM weights renamed (and q/k/v split) to transformers' MusicgenForCausalLM keys.

    `decoder_config` is a MusicgenDecoderConfig; the number of codebooks, layers and the hidden size are checked
    against it. The text projection is left out: see `convert_audiocraft_projection`.
    """
    state_dict = unwrap_checkpoint(state_dict)
    hidden = int(decoder_config.hidden_size)
    layers, codebooks = int(decoder_config.num_hidden_layers), int(decoder_config.num_codebooks)
    out: dict[str, Any] = {}
    unknown = []
    for raw, tensor in state_dict.items():
        key = _clean(raw)
        if key.startswith(_IGNORED_PREFIXES):
            continue
        if m := re.fullmatch(r"emb\.(\d+)\.weight", key):
            out[f"model.decoder.embed_tokens.{m.group(1)}.weight"] = tensor
        elif m := re.fullmatch(r"linears\.(\d+)\.weight", key):
            out[f"lm_heads.{m.group(1)}.weight"] = tensor
        elif m := re.fullmatch(r"out_norm\.(weight|bias)", key):
            out[f"model.decoder.layer_norm.{m.group(1)}"] = tensor
        elif m := _LAYER.match(key):
            i, rest = int(m.group(1)), m.group(2)
            if i >= layers:
                raise GenerateError(f"audiocraft checkpoint: {raw} is past the {layers} layers of the decoder config")
            prefix = f"model.decoder.layers.{i}."
            if rest in _STACKED:
                if tensor.shape[0] != 3 * hidden:
                    raise GenerateError(f"audiocraft checkpoint: {raw} has shape {tuple(tensor.shape)}, expected "
                                        f"({3 * hidden}, ...) for hidden size {hidden}")
                q, k, v = tensor.split(hidden, dim=0)
                for name, part in zip(("q_proj", "k_proj", "v_proj"), (q, k, v), strict=True):
                    out[f"{prefix}{_STACKED[rest]}.{name}.weight"] = part.clone()
            else:
                module, _, leaf = rest.rpartition(".")
                if module not in _IN_LAYER or leaf not in {"weight", "bias"}:
                    unknown.append(raw)
                    continue
                out[f"{prefix}{_IN_LAYER[module]}.{leaf}"] = tensor
        else:
            unknown.append(raw)
    if unknown:
        raise GenerateError(f"audiocraft checkpoint: {len(unknown)} key(s) with no MusicGen counterpart, first "
                            f"'{unknown[0]}' (bias in attention or layer scale are not supported)")
    heads = sum(k.startswith("lm_heads.") for k in out)
    embeds = sum(k.startswith("model.decoder.embed_tokens.") for k in out)
    if heads != codebooks or embeds != codebooks:
        raise GenerateError(f"audiocraft checkpoint: {embeds} embeddings and {heads} output heads, but the decoder "
                            f"config has {codebooks} codebooks")
    return out


def convert_audiocraft_projection(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """The text-to-decoder projection as `enc_to_dec_proj` keys ({} when the checkpoint has none)."""
    state_dict = unwrap_checkpoint(state_dict)
    out = {}
    for raw, tensor in state_dict.items():
        key = _clean(raw)
        if key.startswith(_PROJECTION):
            out[key[len(_PROJECTION):]] = tensor
    return out


def load_audiocraft_lm(model: Any, checkpoint: Mapping[str, Any]) -> Any:
    """Load an audiocraft LM checkpoint into a MusicgenForConditionalGeneration (strict: every weight must match)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    decoder = base.decoder
    weights = convert_audiocraft_lm(checkpoint, decoder.config)
    try:
        decoder.load_state_dict(weights, strict=True)
        projection = convert_audiocraft_projection(checkpoint)
        if projection and getattr(base, "enc_to_dec_proj", None) is not None:
            base.enc_to_dec_proj.load_state_dict(projection, strict=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise GenerateError(f"audiocraft checkpoint does not fit this MusicGen model: {first[:300]}") from None
    return model
