"""A tiny MusicGen built from configs (random weights, a tokenizer trained here), saved with save_pretrained.

Tests load it through the same `load_model` path as a hub id; nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

import torch

RATE = 8000            # tiny EnCodec: 8 kHz, hop 8*5*4 = 160 -> 50 frames a second
CODEBOOKS = 4
BINS = 64              # codebook size = decoder vocabulary
WINDOW = 100           # decoder positions: 2 s at 50 Hz
MELODY_HOP = 1024      # tiny melody model's chroma hop: 128 ms at 8 kHz, as 4096 at 32 kHz

CAPTIONS = [f"{mood} {inst} {genre} at {bpm} bpm"
            for mood in ("sad", "happy", "calm", "bright", "dark")
            for inst in ("gayageum", "piano", "haegeum", "flute", "guitar")
            for genre, bpm in (("sanjo", 60), ("ambient", 90))]


def train_tokenizer(texts=None):
    """A T5 (Unigram) tokenizer made here: pieces trained on CAPTIONS, or, given `texts`, one piece per word of
    those texts (single characters for anything else), as a real T5 vocabulary has for common English words."""
    import re

    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import T5TokenizerFast

    specials = ["<pad>", "</s>", "<unk>"]
    if texts:
        words = sorted({w for t in texts for w in re.findall(r"\w+|[^\w\s]", t)})
        chars = sorted({c for t in texts for c in t if not c.isspace()} | {"\u2581"})
        vocab = [(p, 0.0) for p in specials] + [("\u2581" + w, -1.0) for w in words] + [(w, -2.0) for w in words] \
            + [(c, -10.0) for c in chars if c not in words]
        tok = Tokenizer(models.Unigram(vocab, unk_id=2))
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Punctuation(), pre_tokenizers.Metaspace()])
    else:
        tok = Tokenizer(models.Unigram())
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        trainer = trainers.UnigramTrainer(vocab_size=120, special_tokens=specials, unk_token="<unk>")
        tok.train_from_iterator(CAPTIONS, trainer)
    return T5TokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                           extra_ids=0)


def _text_and_codec(tokenizer, codebooks: int = CODEBOOKS):
    """The tiny T5 text encoder and EnCodec shared by the text-only and the melody model; `codebooks` the codes
    EnCodec yields (6 bits at 50 Hz each: 0.3 kbps a codebook)."""
    from transformers import EncodecConfig, T5Config

    text = T5Config(vocab_size=len(tokenizer), d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2,
                    pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    # 4 codebooks of 64 bins at 50 Hz = 6 bits * 50 * 4 = 1.2 kbps
    codec = EncodecConfig(target_bandwidths=[round(0.3 * codebooks, 6)], sampling_rate=RATE, hidden_size=16,
                          num_filters=4, num_residual_layers=1, upsampling_ratios=[8, 5, 4], codebook_size=BINS,
                          num_lstm_layers=1)
    return text, codec


def _decoder_kwargs(channels: int) -> dict:
    # stereo models interleave the left and right codebooks: 2 x 4
    return {"vocab_size": BINS, "max_position_embeddings": WINDOW, "num_hidden_layers": 2, "ffn_dim": 64,
            "num_attention_heads": 2, "hidden_size": 32, "num_codebooks": CODEBOOKS * channels,
            "audio_channels": channels, "pad_token_id": BINS, "bos_token_id": BINS}


def _spread_codebooks(model) -> None:
    with torch.no_grad():       # EnCodec's codebooks start at zeros: every code would decode to the same sound
        for layer in model.audio_encoder.quantizer.layers:
            layer.codebook.embed.normal_()


def fit_codebooks(model, audio) -> None:
    """Codebooks drawn from the encoder's own outputs on `audio` (list of mono 8 kHz arrays), layer by layer on the
    residuals, as EnCodec's k-means initialisation starts: random normal codebooks sit far from a random encoder's
    small outputs, so every frame would get the same code and a model trained on them would learn nothing."""
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        frames = []
        for a in audio:
            x = torch.as_tensor(a, dtype=torch.float32)[None, None, :]
            frames.append(model.audio_encoder.encoder(x)[0].T)          # (frames, dim)
        residual = torch.cat(frames)
        for layer in model.audio_encoder.quantizer.layers:
            pick = torch.randint(0, residual.shape[0], (BINS,), generator=gen)
            layer.codebook.embed.copy_(residual[pick] + 1e-3 * torch.randn(BINS, residual.shape[1], generator=gen))
            codes = layer.codebook.encode(residual[None])[0]
            residual = residual - layer.codebook.decode(codes)


def save_tiny(out: Path, channels: int = 1, fit_to=None, texts=None, codec_codebooks: int = CODEBOOKS) -> Path:
    """A tiny MusicGen (T5 text encoder, EnCodec, 2-layer decoder) saved with save_pretrained into `out`.

    `fit_to`: mono 8 kHz audio to draw the codebooks from (see `fit_codebooks`), and `texts` the captions the
    tokenizer learns its words from (besides CAPTIONS), for models that are trained. `codec_codebooks` other than
    CODEBOOKS makes a model whose parts disagree: its EnCodec yields that many codebooks, its decoder reads 4."""
    from transformers import (
        EncodecFeatureExtractor,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        MusicgenProcessor,
    )

    tokenizer = train_tokenizer(CAPTIONS + list(texts) if texts else None)
    text, codec = _text_and_codec(tokenizer, codec_codebooks)
    # a model to be trained starts at 1/sqrt(width) (0.18), not MusicGen's 0.02: at 32 wide the text would reach
    # the decoder 100x weakened and take thousands of steps to matter
    init = {"initializer_factor": 0.18} if fit_to is not None else {}
    decoder = MusicgenDecoderConfig(**_decoder_kwargs(channels), **init)
    config = MusicgenConfig(text_encoder=text, audio_encoder=codec, decoder=decoder)
    torch.manual_seed(0)
    model = MusicgenForConditionalGeneration(config).eval()
    _spread_codebooks(model)
    if fit_to is not None:
        fit_codebooks(model, fit_to)
    extractor = EncodecFeatureExtractor(feature_size=channels, sampling_rate=RATE)
    processor = MusicgenProcessor(feature_extractor=extractor, tokenizer=tokenizer)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


def save_tiny_melody(out: Path) -> Path:
    """A tiny musicgen-melody (the same text encoder, EnCodec and decoder sizes) with its chroma feature extractor.

    The extractor keeps the real model's timing scaled to 8 kHz: hop 1024 and a 4096-point FFT at 8 kHz are the
    same 128 ms hop (7.8125 chroma frames a second) and 512 ms window as hop 4096 and 16384 at 32 kHz, and the
    chroma window is the decoder's 2 s (1 + 16000 // 1024 = 16 frames), as 235 frames are the real 30 s."""
    from transformers import (
        MusicgenMelodyConfig,
        MusicgenMelodyDecoderConfig,
        MusicgenMelodyForConditionalGeneration,
    )

    from generate.chroma import ChromaExtractor, MelodyProcessor

    tokenizer = train_tokenizer()
    text, codec = _text_and_codec(tokenizer)
    decoder = MusicgenMelodyDecoderConfig(**_decoder_kwargs(1))
    seconds = WINDOW // 50
    config = MusicgenMelodyConfig(text_encoder=text, audio_encoder=codec, decoder=decoder, num_chroma=12,
                                  chroma_length=1 + seconds * RATE // MELODY_HOP)
    torch.manual_seed(0)
    model = MusicgenMelodyForConditionalGeneration(config).eval()
    _spread_codebooks(model)
    with torch.no_grad():       # at its initial std of 0.02 the chroma barely moves a random decoder's samples
        model.audio_enc_to_dec_proj.weight.normal_()
    # transformers' MusicgenMelodyFeatureExtractor needs torchaudio: its preprocessor_config.json is written by Sori's
    extractor = ChromaExtractor(sampling_rate=RATE, hop_length=MELODY_HOP, n_fft=4 * MELODY_HOP, chunk_length=seconds)
    processor = MelodyProcessor(tokenizer, extractor)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out
