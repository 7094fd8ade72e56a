"""Import a MusicGen language model trained with audiocraft, by renaming its `state_dict` (no audiocraft needed).

    from generate.musicgen import load_model
    loaded = load_model("facebook/musicgen-small", adapter="runs/xp/state_dict.bin")   # over the base it grew from
    loaded = load_model("runs/xp/state_dict.bin")        # the base named by the checkpoint's size, where one fits

A checkpoint is a `.pt` or `.bin` file (audiocraft's exported `state_dict.bin`: `best_state` and the `xp.cfg` it was
trained with; or a bare LM state dict such as `lm_final.pt`), or a folder holding `state_dict.bin` or `lm_final.pt`.
It is read with `torch.load(weights_only=True)`: tensors, strings and numbers only, nothing in it runs.

audiocraft's LM names its parts `emb.{k}`, `transformer.layers.{i}.{self_attn,cross_attention}.in_proj_weight`
(query, key and value stacked), `...out_proj`, `linear1/linear2`, `norm1/norm_cross/norm2`, `out_norm` and
`linears.{k}`; transformers' MusicgenForCausalLM keeps the same tensors as `model.decoder.embed_tokens.{k}`,
`model.decoder.layers.{i}.{self_attn,encoder_attn}.{q,k,v,out}_proj`, `fc1/fc2`,
`self_attn_layer_norm/encoder_attn_layer_norm/final_layer_norm`, `model.decoder.layer_norm` and `lm_heads.{k}`. The
projections from the text encoder (`condition_provider.conditioners.description.output_proj`) and, in melody models,
from the chroma (`...self_wav.output_proj`) are `enc_to_dec_proj` and `audio_enc_to_dec_proj` of the
ConditionalGeneration model. Melody models have no cross-attention: they prepend their conditions.
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import GenerateError

CHECKPOINT_SUFFIXES = (".pt", ".bin")
CHECKPOINT_FILES = ("state_dict.bin", "lm_final.pt")        # audiocraft's export; bare LM state dicts of trainers
_PROJECTIONS = {"condition_provider.conditioners.description.output_proj.": "enc_to_dec_proj",
                "condition_provider.conditioners.self_wav.output_proj.": "audio_enc_to_dec_proj"}
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
# Parts of an audiocraft LM with no counterpart in transformers' decoder: the conditioners (their weights live in the
# T5 encoder, loaded separately; the projections are read by `convert_audiocraft_projections`) and the fuser.
_IGNORED_PREFIXES = ("condition_provider.", "fuser.")


@dataclass(frozen=True)
class LMShape:
    """The size of a MusicGen LM: what tells which base model it was trained from."""

    width: int
    layers: int
    codebooks: int
    melody: bool                # conditioned by prepending (chroma and text), without cross-attention

    def __str__(self) -> str:
        layers = f"{self.layers} layer{'s' if self.layers != 1 else ''}"
        return f"width {self.width}, {layers}, {self.codebooks} codebooks" + (", melody" if self.melody else "")


# The hub's MusicGen models, by size: an audiocraft LM of one of these sizes was trained from that model.
HUB_MODELS = {
    LMShape(1024, 24, 4, False): "facebook/musicgen-small",
    LMShape(1536, 48, 4, False): "facebook/musicgen-medium",
    LMShape(2048, 48, 4, False): "facebook/musicgen-large",
    LMShape(1536, 48, 4, True): "facebook/musicgen-melody",
    LMShape(2048, 48, 4, True): "facebook/musicgen-melody-large",
    LMShape(1024, 24, 8, False): "facebook/musicgen-stereo-small",
    LMShape(1536, 48, 8, False): "facebook/musicgen-stereo-medium",
    LMShape(2048, 48, 8, False): "facebook/musicgen-stereo-large",
    LMShape(1536, 48, 8, True): "facebook/musicgen-stereo-melody",
    LMShape(2048, 48, 8, True): "facebook/musicgen-stereo-melody-large",
}


def checkpoint_file(path: str | os.PathLike) -> Path | None:
    """The audiocraft LM checkpoint that `path` names (the file itself, or the one in the folder), else None.

    A folder with a `config.json` is a transformers model, not a checkpoint, whatever else it holds."""
    p = Path(path).expanduser()
    if p.is_file():
        return p if p.suffix.lower() in CHECKPOINT_SUFFIXES else None
    if p.is_dir() and not (p / "config.json").is_file():
        return next((p / n for n in CHECKPOINT_FILES if (p / n).is_file()), None)
    return None


def read_checkpoint(path: Path) -> Mapping[str, Any]:
    """A checkpoint file's contents, read without running anything in it."""
    import torch
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "Unsupported global" not in str(e):      # torch's restricted unpickler met no pickle it knows
            raise GenerateError(f"{path}: cannot read this checkpoint (not a file torch.save wrote, or a damaged "
                                "one)") from None
        raise GenerateError(f"{path}: holds Python objects besides tensors (a training checkpoint?), which are not "
                            "loaded; export the LM with audiocraft's export_lm (state_dict.bin), or save "
                            "lm.state_dict()") from None
    except (OSError, RuntimeError, EOFError, ValueError) as e:
        raise GenerateError(f"{path}: cannot read this checkpoint ({_first_line(e)})") from None
    if not isinstance(data, Mapping):
        raise GenerateError(f"{path}: not an audiocraft LM checkpoint (it holds a {type(data).__name__}, not a "
                            "state dict)")
    return data


def unwrap_checkpoint(checkpoint: Mapping[str, Any]) -> Mapping[str, Any]:
    """The LM state dict inside an audiocraft checkpoint (`best_state`, `model` or `state_dict`), or the dict itself."""
    for key in ("best_state", "model", "state_dict"):
        inner = checkpoint.get(key)
        if isinstance(inner, Mapping) and inner and not any(k.startswith(("emb.", "transformer.")) for k in checkpoint):
            return unwrap_checkpoint(inner)
    return checkpoint


def lm_shape(checkpoint: Mapping[str, Any], name: str = "audiocraft checkpoint") -> LMShape:
    """The LM's size: from the config audiocraft stored with it (`xp.cfg`), else from its tensors."""
    state = {_clean(k): v for k, v in unwrap_checkpoint(checkpoint).items()}
    melody = not any(_LAYER.match(k) and ".cross_attention." in k for k in state)
    lm = _stored_config(checkpoint).get("transformer_lm")
    if isinstance(lm, Mapping) and all(isinstance(lm.get(k), int) for k in ("dim", "num_layers", "n_q")):
        return LMShape(lm["dim"], lm["num_layers"], lm["n_q"], melody)
    embeds = sorted(k for k in state if re.fullmatch(r"emb\.\d+\.weight", k))
    layers = {int(m.group(1)) for k in state if (m := _LAYER.match(k))}
    if not embeds or not layers:
        raise GenerateError(f"{name}: holds no MusicGen LM weights (no emb.N.weight or transformer.layers.N keys)")
    return LMShape(int(state[embeds[0]].shape[-1]), max(layers) + 1, len(embeds), melody)


def hub_model(shape: LMShape) -> str | None:
    """The hub model an LM of this size was trained from, if it is one of the hub's sizes."""
    return HUB_MODELS.get(shape)


def model_shape(model: Any) -> LMShape:
    """The size of a loaded MusicgenForConditionalGeneration (or MusicgenMelody...) decoder."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    cfg = base.decoder.config
    return LMShape(int(cfg.hidden_size), int(cfg.num_hidden_layers), int(cfg.num_codebooks),
                   base.config.model_type == "musicgen_melody")


def convert_audiocraft_lm(state_dict: Mapping[str, Any], decoder_config: Any,
                          name: str = "audiocraft checkpoint") -> dict[str, Any]:
    """audiocraft LM weights renamed (and q/k/v split) to transformers' MusicgenForCausalLM keys.

    `decoder_config` is a MusicgenDecoderConfig; the number of codebooks, layers and the hidden size are checked
    against it. The projections are left out: see `convert_audiocraft_projections`.
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
        renamed = _rename(key, tensor, hidden, layers, f"{name}: {raw}")
        if renamed is None:
            unknown.append(raw)
        out.update(renamed or {})
    if unknown:
        raise GenerateError(f"{name}: {len(unknown)} key(s) with no MusicGen counterpart, first "
                            f"'{unknown[0]}' (bias in attention or layer scale are not supported)")
    heads = sum(k.startswith("lm_heads.") for k in out)
    embeds = sum(k.startswith("model.decoder.embed_tokens.") for k in out)
    if heads != codebooks or embeds != codebooks:
        raise GenerateError(f"{name}: {embeds} embeddings and {heads} output heads, but the decoder "
                            f"config has {codebooks} codebooks")
    return out


def _rename(key: str, tensor: Any, hidden: int, layers: int, where: str) -> dict[str, Any] | None:
    """One audiocraft tensor under its transformers name(s); None for a key that has no counterpart."""
    if m := re.fullmatch(r"emb\.(\d+)\.weight", key):
        return {f"model.decoder.embed_tokens.{m.group(1)}.weight": tensor}
    if m := re.fullmatch(r"linears\.(\d+)\.weight", key):
        return {f"lm_heads.{m.group(1)}.weight": tensor}
    if m := re.fullmatch(r"out_norm\.(weight|bias)", key):
        return {f"model.decoder.layer_norm.{m.group(1)}": tensor}
    if m := _LAYER.match(key):
        return _rename_in_layer(int(m.group(1)), m.group(2), tensor, hidden, layers, where)
    return None


def _rename_in_layer(i: int, rest: str, tensor: Any, hidden: int, layers: int, where: str) -> dict[str, Any] | None:
    if i >= layers:
        raise GenerateError(f"{where} is past the {layers} layers of the decoder config")
    prefix = f"model.decoder.layers.{i}."
    if rest in _STACKED:
        if tensor.shape[0] != 3 * hidden:
            raise GenerateError(f"{where} has shape {tuple(tensor.shape)}, expected ({3 * hidden}, ...) for hidden "
                                f"size {hidden}")
        q, k, v = tensor.split(hidden, dim=0)
        return {f"{prefix}{_STACKED[rest]}.{n}.weight": part.clone()
                for n, part in zip(("q_proj", "k_proj", "v_proj"), (q, k, v), strict=True)}
    module, _, leaf = rest.rpartition(".")
    if module not in _IN_LAYER or leaf not in {"weight", "bias"}:
        return None
    return {f"{prefix}{_IN_LAYER[module]}.{leaf}": tensor}


def convert_audiocraft_projections(state_dict: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The projections the checkpoint has, as {module name ('enc_to_dec_proj', ...): its state dict}."""
    state_dict = unwrap_checkpoint(state_dict)
    out: dict[str, dict[str, Any]] = {}
    for raw, tensor in state_dict.items():
        key = _clean(raw)
        for prefix, module in _PROJECTIONS.items():
            if key.startswith(prefix):
                out.setdefault(module, {})[key[len(prefix):]] = tensor
    return out


def load_audiocraft_lm(model: Any, checkpoint: Mapping[str, Any], name: str = "audiocraft checkpoint",
                       base_name: str = "this MusicGen model") -> Any:
    """Load an audiocraft LM checkpoint into a MusicgenForConditionalGeneration (strict: every weight must match).

    A checkpoint of another size is one line naming both sizes (and the hub model it fits, if any)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    have, want = lm_shape(checkpoint, name), model_shape(base)
    if have != want:
        fits = hub_model(have)
        raise GenerateError(f"{name}: an audiocraft LM of {have} does not fit {base_name} ({want}); pass the base "
                            f"model it was trained from with --model" + (f" ({fits} is of that size)" if fits else ""))
    decoder = base.decoder
    weights = convert_audiocraft_lm(checkpoint, decoder.config, name)
    _check_shapes(weights, decoder.state_dict(), name, base_name)
    projections = convert_audiocraft_projections(checkpoint)
    targets = {m: getattr(base, m, None) for m in projections}
    for module, state in projections.items():
        if targets[module] is not None:
            _check_shapes(state, targets[module].state_dict(), name, base_name, prefix=f"{module}.")
    try:
        decoder.load_state_dict(weights, strict=True)
        for module, state in projections.items():
            if targets[module] is not None:
                targets[module].load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise GenerateError(f"{name}: does not fit {base_name}: {_load_error(e)}") from None
    return model


def _check_shapes(weights: Mapping[str, Any], own: Mapping[str, Any], name: str, base_name: str,
                  prefix: str = "") -> None:
    for key, tensor in weights.items():
        if key in own and tuple(tensor.shape) != tuple(own[key].shape):
            raise GenerateError(f"{name}: {prefix}{key} has shape {tuple(tensor.shape)} in the checkpoint but "
                                f"{tuple(own[key].shape)} in {base_name}")


def _stored_config(checkpoint: Mapping[str, Any]) -> Mapping[str, Any]:
    """The training config audiocraft keeps beside the weights (`xp.cfg`, YAML text once exported), or {}."""
    import yaml
    raw = checkpoint.get("xp.cfg")
    if isinstance(raw, str):
        try:
            raw = yaml.safe_load(raw)
        except yaml.YAMLError:
            return {}
    return raw if isinstance(raw, Mapping) else {}


def _clean(key: str) -> str:
    for prefix in ("module.", "_orig_mod.", "lm."):
        while key.startswith(prefix):
            key = key[len(prefix):]
    return key


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:300]


def _load_error(e: RuntimeError) -> str:
    """The informative line of torch's load_state_dict error (its first line only names the module class)."""
    lines = [line.strip() for line in str(e).strip().splitlines() if line.strip()]
    return (lines[1] if len(lines) > 1 else lines[0] if lines else type(e).__name__)[:300]
