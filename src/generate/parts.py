"""A MusicGen's parts must agree: its codec (EnCodec), its decoder and its processor, checked when a model loads
(`generate.musicgen.load_model`) and when a token cache is made (`generate.finetune.tokens.tokenize`).

    from generate.parts import check_config, check_parts
    check_config(config, "runs/x/final")            # before the weights are read
    check_parts(model, processor, "runs/x/final")   # GenerateError naming both numbers, or nothing

What must hold, per the MusicGen design (Copet et al. 2023, "Simple and Controllable Music Generation", section 2:
the decoder models K parallel streams of codes of one EnCodec, one token per codebook and frame):

- codebooks: the codes EnCodec yields per channel at the bandwidth MusicGen uses (its first target bandwidth) are
  the decoder's codebooks per channel (a stereo decoder interleaves two channels of K);
- vocabulary: the codec's codebook size is the decoder's vocabulary (it adds the pad/BOS token above it);
- frame rate: the codec's hop divides its sample rate, so a second is a whole number of frames (durations, windows
  and token caches count frames);
- sample rate: the processor reads audio at the codec's rate (audio prompts, melodies).

Any of these off and the model does not fail where the cause is: a cache of 8-codebook codes is written happily and
training dies later with "shape '[-1, 4, 106]' is invalid". So each is one line naming both numbers.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import GenerateError


def codec_codebooks(codec_config: Any) -> int:
    """The codebooks EnCodec yields at the bandwidth MusicGen encodes with (its first target bandwidth), computed as
    transformers' EncodecResidualVectorQuantizer does: bandwidth / (bits per code x frame rate)."""
    bandwidths = getattr(codec_config, "target_bandwidths", None) or [None]
    per_codebook = math.log2(int(codec_config.codebook_size)) * int(codec_config.frame_rate)
    if bandwidths[0] is None or bandwidths[0] <= 0:
        return int(codec_config.num_quantizers)
    return int(max(1, math.floor(bandwidths[0] * 1000 / per_codebook)))


def check_config(config: Any, name: str) -> None:
    """The checks a MusicGen config alone allows, before any weights are read: codebooks, vocabulary, frame rate."""
    decoder, codec = config.decoder, config.audio_encoder
    channels = int(getattr(decoder, "audio_channels", 1) or 1)
    per_channel, rest = divmod(int(decoder.num_codebooks), channels)
    if rest:
        raise GenerateError(f"{name}: its decoder has {decoder.num_codebooks} codebooks for {channels} audio "
                            "channels, which is not a whole number per channel")
    yields = codec_codebooks(codec)
    if yields != per_channel:
        raise GenerateError(f"{name}: its codec (EnCodec) yields {yields} codebooks per channel but its decoder "
                            f"expects {per_channel}; the model's parts do not belong together (use the codec the "
                            "decoder was trained with)")
    bins, vocab = int(codec.codebook_size), int(decoder.vocab_size)
    if bins != vocab:
        raise GenerateError(f"{name}: its codec's codebooks hold {bins} codes but its decoder's vocabulary is "
                            f"{vocab}; the model's parts do not belong together")
    rate, hop = int(codec.sampling_rate), int(codec.hop_length)
    if rate % hop:
        raise GenerateError(f"{name}: its codec's frame rate is {rate / hop:g} frames a second ({rate} Hz, hop "
                            f"{hop}), not a whole number; its config rounds it to {codec.frame_rate}")


def check_parts(model: Any, processor: Any, name: str) -> None:
    """One `GenerateError` line for the first disagreement between the parts of a loaded MusicGen: its config's
    (`check_config`), the codec module's own quantizer, and the processor's sample rate."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    check_config(base.config, name)
    codec = base.audio_encoder
    bandwidths = getattr(codec.config, "target_bandwidths", None) or [None]
    yields = int(codec.quantizer.get_num_quantizers_for_bandwidth(bandwidths[0]))
    per_channel = int(base.config.decoder.num_codebooks) // int(getattr(base.config.decoder, "audio_channels", 1)
                                                                 or 1)
    if yields != per_channel:
        raise GenerateError(f"{name}: its codec (EnCodec) yields {yields} codebooks per channel but its decoder "
                            f"expects {per_channel}; the model's parts do not belong together")
    rate = int(codec.config.sampling_rate)
    extractor = getattr(processor, "feature_extractor", None)
    reads = getattr(extractor, "sampling_rate", None)
    if reads is not None and int(reads) != rate:
        raise GenerateError(f"{name}: its processor reads audio at {reads} Hz but its codec works at {rate} Hz; "
                            "save the processor that belongs to this model")


def check_codes(codes_shape: tuple[int, ...], expected: int, name: str) -> None:
    """The codebooks of codes EnCodec actually produced (…, codebooks, frames) against what the decoder reads."""
    got = int(codes_shape[-2])
    if got != expected:
        raise GenerateError(f"{name}: its codec produced {got} codebooks per frame but its decoder reads "
                            f"{expected}; the model's parts do not belong together")
