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

CAPTIONS = [f"{mood} {inst} {genre} at {bpm} bpm"
            for mood in ("sad", "happy", "calm", "bright", "dark")
            for inst in ("gayageum", "piano", "haegeum", "flute", "guitar")
            for genre, bpm in (("sanjo", 60), ("ambient", 90))]


def train_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import T5TokenizerFast

    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=120, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>")
    tok.train_from_iterator(CAPTIONS, trainer)
    return T5TokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                           extra_ids=0)


def save_tiny(out: Path, channels: int = 1) -> Path:
    """A tiny MusicGen (T5 text encoder, EnCodec, 2-layer decoder) saved with save_pretrained into `out`."""
    from transformers import (
        EncodecConfig,
        EncodecFeatureExtractor,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        MusicgenProcessor,
        T5Config,
    )

    tokenizer = train_tokenizer()
    text = T5Config(vocab_size=len(tokenizer), d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2,
                    pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    # 4 codebooks of 64 bins at 50 Hz = 6 bits * 50 * 4 = 1.2 kbps
    codec = EncodecConfig(target_bandwidths=[1.2], sampling_rate=RATE, hidden_size=16, num_filters=4,
                          num_residual_layers=1, upsampling_ratios=[8, 5, 4], codebook_size=BINS, num_lstm_layers=1)
    # stereo models interleave the left and right codebooks: 2 x 4
    decoder = MusicgenDecoderConfig(vocab_size=BINS, max_position_embeddings=WINDOW, num_hidden_layers=2, ffn_dim=64,
                                    num_attention_heads=2, hidden_size=32, num_codebooks=CODEBOOKS * channels,
                                    audio_channels=channels, pad_token_id=BINS, bos_token_id=BINS)
    config = MusicgenConfig(text_encoder=text, audio_encoder=codec, decoder=decoder)
    torch.manual_seed(0)
    model = MusicgenForConditionalGeneration(config).eval()
    with torch.no_grad():       # EnCodec's codebooks start at zeros: every code would decode to the same sound
        for layer in model.audio_encoder.quantizer.layers:
            layer.codebook.embed.normal_()
    extractor = EncodecFeatureExtractor(feature_size=channels, sampling_rate=RATE)
    processor = MusicgenProcessor(feature_extractor=extractor, tokenizer=tokenizer)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out
