"""Sori's MusicGen generation path: its own decoding loop over a `transformers` MusicGen, and int8 CPU weights.

    from generate.fast import generate, quantize
    audio = generate(model, inputs, max_new_tokens=503, guidance_scale=3.0, top_k=250)   # (batch, channels, samples)
    model = quantize(model)          # int8 decoder linears (CPU): see benchmarks/bench_generate.py for the speed

`generate` does what `MusicgenForConditionalGeneration.generate(**inputs, ...)` does for sampling and greedy search,
with less work per step:

* the T5 text encoding, its projection and the cross-attention keys/values are computed once (transformers recomputes
  the projection and the padding multiply at every step);
* the self-attention cache is preallocated for the whole take and written in place (transformers' dynamic cache
  copies the whole past into a new tensor at every layer and step);
* one step is a plain loop over the decoder layers, without the generic generate machinery around it.

Exactness: in float32 and without `quantize`, the same `torch.manual_seed` gives exactly the same tokens, and so the
same audio, as `model.generate` with the same arguments. Each step runs the same kernels on the same shapes in the
same order (sdpa attention, the delay pattern built by the model's own `build_delay_pattern_mask`, classifier-free
guidance, then temperature, top-k and top-p as transformers orders its logits processors, then `torch.multinomial`
on the same probabilities), so the random generator is consumed identically. The tests check this for text-only
and audio-prompted generation, guidance on and off, top-k and top-p, mono and stereo. Unlike `model.generate`,
sampling settings not passed here are not read from the checkpoint's generation config: pass them all.

int8: `quantize` swaps the decoder's linear layers (self-attention, cross-attention queries and outputs, feed-forward,
and the codebook heads) for dynamically quantized int8 ones (torch.ao's fbgemm kernels: per-channel int8 weights,
activations quantized per call). On CPU a musicgen-small step at batch 2 (guidance) is bound by reading ~1.4 GB of
float32 weights, and int8 reads a quarter of that. The price is accuracy: the logits carry int8 rounding, so the
tokens are not float32's for the same seed, and a take is a different take. How much that costs in quality on
trained weights has not been measured here; use float32 where a take must be reproduced exactly. The T5 encoder
and EnCodec run once per take and stay float32, as do the cross-attention key/value projections (run once).

Falls back to `model.generate` (same arguments, same result) for what the loop does not reproduce: musicgen-melody
(`MusicgenMelodyForConditionalGeneration` prepends the chroma to the decoder input instead of cross-attending), an
attention implementation other than sdpa, a generation config with extra logits processors or an EOS token, inputs
other than input_ids / attention_mask / input_values / padding_mask, a guidance scale in (0, 1), or fewer new tokens
than the delay pattern needs. A PEFT (LoRA) model runs in the loop through its base model, whose LoRA layers stay in
place, so it matches `PeftModel.generate`; `quantize` merges the adapter into the weights first.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from .errors import GenerateError

_INPUTS = frozenset({"input_ids", "attention_mask", "input_values", "padding_mask"})

# Generation-config fields that would add a logits processor or a stopping criterion the loop does not have, with
# the values that add none.
_NEUTRAL: dict[str, tuple[Any, ...]] = {
    "eos_token_id": (None,), "repetition_penalty": (None, 1.0), "encoder_repetition_penalty": (None, 1.0),
    "no_repeat_ngram_size": (None, 0), "encoder_no_repeat_ngram_size": (None, 0), "bad_words_ids": (None,),
    "sequence_bias": (None,), "suppress_tokens": (None,), "begin_suppress_tokens": (None,),
    "forced_bos_token_id": (None,), "forced_eos_token_id": (None,), "min_p": (None,), "top_h": (None,),
    "typical_p": (None, 1.0), "epsilon_cutoff": (None, 0.0), "eta_cutoff": (None, 0.0),
    "renormalize_logits": (None, False), "remove_invalid_values": (None, False),
    "exponential_decay_length_penalty": (None,), "watermarking_config": (None,), "num_return_sequences": (None, 1),
    "num_beams": (None, 1), "max_time": (None,), "stop_strings": (None,),
}

# Linear layers that run once per take (on the text): quantizing them would cost accuracy and save nothing.
_KEEP_FLOAT = ("encoder_attn.k_proj", "encoder_attn.v_proj")


def _base(model: Any) -> Any:
    """The transformers model under a PEFT wrapper (its LoRA layers stay in place), or the model itself."""
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


def _channel_codebooks(base: Any) -> int:
    k = int(base.decoder.num_codebooks)
    return k // 2 if int(getattr(base.decoder.config, "audio_channels", 1)) == 2 else k


def unsupported_reason(model: Any, inputs: Mapping[str, Any] | None = None, *, max_new_tokens: int | None = None,
                       guidance_scale: float | None = None) -> str | None:
    """Why `generate` would hand this model (and these inputs) to `model.generate`; None when its loop runs them."""
    from transformers import MusicgenForConditionalGeneration

    base = _base(model)
    if not isinstance(base, MusicgenForConditionalGeneration):
        return f"{type(base).__name__} is not MusicgenForConditionalGeneration (e.g. musicgen-melody)"
    return _model_reason(base) or _generation_config_reason(base.generation_config) or _call_reason(
        base, inputs, max_new_tokens, guidance_scale)


def _model_reason(base: Any) -> str | None:
    if base.training:
        return "the model is in training mode"
    impl = getattr(base.decoder.config, "_attn_implementation", None)
    if impl != "sdpa":
        return f"the decoder uses the '{impl}' attention implementation (the loop reproduces sdpa)"
    if int(getattr(base.decoder.config, "audio_channels", 1)) not in (1, 2):
        return "only mono and stereo decoders are handled"
    return None


def _generation_config_reason(gen: Any) -> str | None:
    for name, neutral in _NEUTRAL.items():
        value = getattr(gen, name, None)
        if not any(value is n or value == n for n in neutral):
            return f"its generation config sets {name}={value!r}, which the loop does not reproduce"
    if gen.pad_token_id is None or (gen.decoder_start_token_id is None and gen.bos_token_id is None):
        return "its generation config has no pad or decoder start token"
    return None


def _call_reason(base: Any, inputs: Mapping[str, Any] | None, max_new_tokens: int | None,
                 guidance_scale: float | None) -> str | None:
    """What this call asks for that the loop does not do: other inputs, unbatched guidance, too short a take."""
    if inputs is not None:
        extra = set(inputs) - _INPUTS
        if extra:
            return f"inputs {sorted(extra)} are not handled"
        if "input_ids" not in inputs or "attention_mask" not in inputs:
            return "input_ids and attention_mask are both needed"
    if guidance_scale is not None and guidance_scale <= 1 and guidance_scale != 1:
        return "a guidance scale below 1 is transformers' unbatched guidance"
    if max_new_tokens is not None and max_new_tokens + 1 < 2 * _channel_codebooks(base) - 1:
        return "too few new tokens for the delay pattern"
    return None


def generate(model: Any, inputs: Mapping[str, torch.Tensor], *, max_new_tokens: int, do_sample: bool = True,
             guidance_scale: float | None = None, top_k: int | None = 250, top_p: float | None = 1.0,
             temperature: float | None = 1.0) -> torch.Tensor:
    """Audio values (batch, channels, samples) for `inputs` (the processor's tensors, on the model's device), the
    same as `model.generate(**inputs, max_new_tokens=..., ...)` returns; see the module docstring."""
    sampling = {"do_sample": do_sample, "guidance_scale": guidance_scale, "top_k": top_k, "top_p": top_p,
                "temperature": temperature}
    with torch.inference_mode():
        if unsupported_reason(model, inputs, max_new_tokens=max_new_tokens, guidance_scale=guidance_scale):
            out = model.generate(**inputs, max_new_tokens=max_new_tokens, **sampling)
            return out.audio_values if hasattr(out, "audio_values") else out
        base = _base(model)
        codes, scales = _sample_codes(base, inputs, max_new_tokens=max_new_tokens, **sampling)
        return _decode_audio(base, codes, scales)


# --------------------------------------------------------------------------------------------- the decoding loop


def _encode_prompt(base: Any, inputs: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor | None, Any]:
    """The audio prompt's EnCodec codes as decoder ids (batch * codebooks, frames), and the scales, as generate
    makes them (stereo: left and right encoded apart and interleaved)."""
    values = inputs.get("input_values")
    if values is None:
        return None, None
    codec = base.audio_encoder
    kwargs: dict[str, Any] = {"return_dict": True}
    if inputs.get("padding_mask") is not None:
        kwargs["padding_mask"] = inputs["padding_mask"]
    if int(base.decoder.config.audio_channels) == 1:
        out = codec.encode(input_values=values, **kwargs)
        codes, scales = out.audio_codes, out.audio_scales
    else:
        if values.shape[1] != 2:
            raise ValueError(f"Expected stereo audio (2-channels) but example has {values.shape[1]} channel.")
        left = codec.encode(input_values=values[:, :1, :], **kwargs)
        right = codec.encode(input_values=values[:, 1:, :], **kwargs)
        frames, bsz, books, length = left.audio_codes.shape
        codes = left.audio_codes.new_ones((frames, bsz, 2 * books, length))
        codes[:, :, ::2, :] = left.audio_codes
        codes[:, :, 1::2, :] = right.audio_codes
        if left.audio_scales != [None] or right.audio_scales != [None]:
            scales = torch.stack([left.audio_scales, right.audio_scales], dim=1)
        else:
            scales = [None] * bsz
    frames, bsz, _, length = codes.shape
    if frames != 1:
        raise ValueError(f"Expected 1 frame in the audio code outputs, got {frames} frames. Ensure chunking is "
                         "disabled by setting `chunk_length=None` in the audio encoder.")
    return codes[0].reshape(bsz * base.decoder.num_codebooks, length), scales


class _Decoder:
    """MusicGen's decoder stack over a static self-attention cache and precomputed cross-attention keys/values.

    The operations are those of MusicgenDecoder/MusicgenAttention (sdpa) in the same order and on the same shapes,
    so float32 results are bit for bit the same as the model's forward with its dynamic cache."""

    def __init__(self, base: Any, enc_states: torch.Tensor, enc_mask: torch.Tensor, max_length: int) -> None:
        causal_lm = base.decoder
        self.core = causal_lm.model.decoder
        self.layers = list(self.core.layers)
        self.heads = list(causal_lm.lm_heads)
        self.num_codebooks = int(causal_lm.num_codebooks)
        batch = enc_states.shape[0]
        att = self.layers[0].self_attn
        shape = (batch, att.num_heads, max_length, att.head_dim)
        self.keys = [enc_states.new_empty(shape) for _ in self.layers]
        self.values = [enc_states.new_empty(shape) for _ in self.layers]
        self.cross_keys, self.cross_values = [], []
        for layer in self.layers:
            cross = layer.encoder_attn
            kv_shape = (*enc_states.shape[:-1], -1, cross.head_dim)
            # contiguous, as the model's cache holds them after its first concatenation
            self.cross_keys.append(cross.k_proj(enc_states).view(kv_shape).transpose(1, 2).contiguous())
            self.cross_values.append(cross.v_proj(enc_states).view(kv_shape).transpose(1, 2).contiguous())
        # the 2-D text mask as the model's bidirectional sdpa mask: none without padding, else boolean per query
        self._enc_mask = None if bool(enc_mask.all()) else enc_mask.bool()
        self._cross_masks: dict[int, torch.Tensor | None] = {}

    def _cross_mask(self, q_len: int) -> torch.Tensor | None:
        if self._enc_mask is None:
            return None
        if q_len not in self._cross_masks:
            m = self._enc_mask
            self._cross_masks[q_len] = m[:, None, None, :].expand(m.shape[0], 1, q_len, m.shape[1]).contiguous()
        return self._cross_masks[q_len]

    def __call__(self, ids: torch.Tensor, past: int) -> torch.Tensor:
        """Last-position logits (batch * codebooks, vocab) for `ids` (batch, codebooks, q) after `past` positions."""
        q_len = ids.shape[-1]
        embeds = sum(self.core.embed_tokens[k](ids[:, k]) for k in range(self.num_codebooks))
        hidden = embeds + self.core.embed_positions(ids, past).to(embeds.device)
        end = past + q_len
        cross_mask = self._cross_mask(q_len)
        for i, layer in enumerate(self.layers):
            residual = hidden
            x = layer.self_attn_layer_norm(hidden)
            att = layer.self_attn
            split = (*x.shape[:-1], -1, att.head_dim)
            q = att.q_proj(x).view(split).transpose(1, 2)
            self.keys[i][:, :, past:end] = att.k_proj(x).view(split).transpose(1, 2)
            self.values[i][:, :, past:end] = att.v_proj(x).view(split).transpose(1, 2)
            out = F.scaled_dot_product_attention(q, self.keys[i][:, :, :end], self.values[i][:, :, :end],
                                                 attn_mask=None, dropout_p=0.0, scale=att.scaling,
                                                 is_causal=q_len > 1)
            out = out.transpose(1, 2).contiguous().reshape(*x.shape[:-1], -1).contiguous()
            hidden = residual + att.out_proj(out)

            residual = hidden
            x = layer.encoder_attn_layer_norm(hidden)
            att = layer.encoder_attn
            q = att.q_proj(x).view(split).transpose(1, 2)
            out = F.scaled_dot_product_attention(q, self.cross_keys[i], self.cross_values[i], attn_mask=cross_mask,
                                                 dropout_p=0.0, scale=att.scaling, is_causal=False)
            out = out.transpose(1, 2).contiguous().reshape(*x.shape[:-1], -1).contiguous()
            hidden = residual + att.out_proj(out)

            residual = hidden
            x = layer.activation_fn(layer.fc1(layer.final_layer_norm(hidden)))
            hidden = residual + layer.fc2(x)
        hidden = self.core.layer_norm(hidden)
        logits = torch.stack([head(hidden) for head in self.heads], dim=1)     # (batch, codebooks, q, vocab)
        return logits.reshape(-1, *logits.shape[2:])[:, -1]


def _pick(logits: torch.Tensor, *, do_sample: bool, guidance_scale: float | None, top_k: int | None,
          top_p: float | None, temperature: float | None) -> torch.Tensor:
    """The next token of every row: transformers' processors in its order, then multinomial sampling (or argmax)."""
    scores = logits.to(copy=True, dtype=torch.float32)
    if guidance_scale is not None and guidance_scale > 1:
        cond, uncond = scores.split(scores.shape[0] // 2, dim=0)
        scores = uncond + (cond - uncond) * guidance_scale
    if do_sample:
        if temperature is not None and temperature != 1.0:
            scores = scores / temperature
        if top_k is not None and top_k != 0:
            k = min(max(int(top_k), 1), scores.shape[-1])
            scores = scores.masked_fill(scores < torch.topk(scores, k)[0][..., -1, None], -float("inf"))
        if top_p is not None and top_p < 1.0:
            sorted_logits, sorted_indices = torch.sort(scores, descending=False)
            cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
            remove = cumulative <= (1 - top_p)
            remove[..., -1:] = 0
            scores = scores.masked_fill(remove.scatter(1, sorted_indices, remove), -float("inf"))
        return torch.multinomial(F.softmax(scores, dim=-1), num_samples=1).squeeze(1)
    return torch.argmax(scores, dim=-1)


def _sample_codes(base: Any, inputs: Mapping[str, torch.Tensor], *, max_new_tokens: int, do_sample: bool,
                  guidance_scale: float | None, top_k: int | None, top_p: float | None,
                  temperature: float | None) -> tuple[torch.Tensor, Any]:
    """The EnCodec codes (1, batch, codebooks, frames) that `model.generate` would decode, and the audio scales."""
    causal_lm = base.decoder
    gen = base.generation_config
    start = gen.decoder_start_token_id if gen.decoder_start_token_id is not None else gen.bos_token_id
    pad = gen.pad_token_id
    books = int(causal_lm.num_codebooks)
    input_ids, attention_mask = inputs["input_ids"], inputs["attention_mask"]
    batch = input_ids.shape[0]
    guided = guidance_scale is not None and guidance_scale > 1

    # Text: encoded once; with guidance the null condition is zeros with an all-zero mask, after the real one.
    states = base.get_encoder()(input_ids=input_ids, attention_mask=attention_mask, return_dict=True).last_hidden_state
    mask = attention_mask
    if guided:
        states = torch.concatenate([states, torch.zeros_like(states)], dim=0)
        mask = torch.concatenate([mask, torch.zeros_like(mask)], dim=0)
    if (base.text_encoder.config.hidden_size != causal_lm.config.hidden_size
            and causal_lm.config.cross_attention_hidden_size is None):
        states = base.enc_to_dec_proj(states)
    states = states * mask[..., None]

    # Decoder ids: BOS, after the audio prompt's codes when there is one; then the delay pattern over the take.
    prompt, scales = _encode_prompt(base, inputs)
    bos = torch.ones((batch * books, 1), dtype=torch.long, device=input_ids.device) * start
    if prompt is None:
        ids = bos
    elif (prompt[..., 0] != start).all().item():
        ids = torch.cat([bos, prompt], dim=-1)
    else:
        ids = prompt
    max_length = max_new_tokens + ids.shape[-1]
    ids, pattern = causal_lm.build_delay_pattern_mask(ids, pad_token_id=start, max_length=max_length)
    seq = torch.empty((ids.shape[0], max_length), dtype=torch.long, device=ids.device)
    length = ids.shape[-1]
    seq[:, :length] = ids
    free = pattern == -1                    # the positions the model fills; the rest come from the pattern

    decoder = _Decoder(base, states, mask, max_length)
    pick = {"do_sample": do_sample, "guidance_scale": guidance_scale, "top_k": top_k, "top_p": top_p,
            "temperature": temperature}

    def step(cols: torch.Tensor, past: int) -> torch.Tensor:
        cols = torch.where(free[:, past:past + cols.shape[-1]], cols, pattern[:, past:past + cols.shape[-1]])
        if guided:
            cols = cols.repeat((2, 1))
        return decoder(cols.reshape(-1, books, cols.shape[-1]), past)

    logits = step(seq[:, :length], 0)
    while True:
        seq[:, length] = _pick(logits, **pick)
        length += 1
        if length >= max_length:
            break
        logits = step(seq[:, length - 1:length], length - 1)

    out = torch.where(free, seq, pattern)
    out = out[out != pad].reshape(batch, books, -1)
    return out[None, ...], scales


def _decode_audio(base: Any, codes: torch.Tensor, scales: Any) -> torch.Tensor:
    if scales is None:
        scales = [None] * codes.shape[1]
    codec = base.audio_encoder
    if int(base.decoder.config.audio_channels) == 1:
        return codec.decode(codes, audio_scales=scales).audio_values
    left = codec.decode(codes[:, :, ::2, :], audio_scales=scales).audio_values
    right = codec.decode(codes[:, :, 1::2, :], audio_scales=scales).audio_values
    return torch.cat([left, right], dim=1)


# ----------------------------------------------------------------------------------------------------- int8


def quantize(model: Any) -> Any:
    """int8 weights for the decoder's linear layers (dynamic quantization, per-channel scales), in place, on CPU.

    Returns the model to use from now on: the same object, or for a PEFT model its base with the adapter merged in
    (an int8 layer cannot carry a LoRA branch). Tokens no longer match float32 for the same seed."""
    from transformers import MusicgenForConditionalGeneration

    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    if not isinstance(model, MusicgenForConditionalGeneration):
        raise GenerateError(f"int8 quantization is for MusicGen (musicgen); not for {type(model).__name__}")
    params = list(model.decoder.parameters())
    if any(p.device.type != "cpu" for p in params):
        raise GenerateError("int8 quantization runs on the CPU only (its kernels are CPU kernels); on a GPU use "
                            "dtype bf16 or fp16 instead")
    if any(p.dtype != torch.float32 for p in params if p.is_floating_point()):
        raise GenerateError("int8 quantization needs the float32 model (dtype fp32)")
    targets = {name for name, module in model.decoder.named_modules()
               if type(module) is nn.Linear and not name.endswith(_KEEP_FLOAT)}
    if not targets:
        return model                                    # already quantized
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():                    # torch.ao's notice that eager quantization moves to torchao
        warnings.simplefilter("ignore")
        quantize_dynamic(model.decoder, {name: per_channel_dynamic_qconfig for name in targets}, dtype=torch.qint8,
                         inplace=True)
    return model


def is_quantized(model: Any) -> bool:
    """Whether the decoder holds int8 dynamically quantized linear layers."""
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    return any(isinstance(m, DynamicLinear) for m in _base(model).decoder.modules())
