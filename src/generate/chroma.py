"""musicgen-melody's chroma features and processor, without torchaudio.

transformers' `MusicgenMelodyFeatureExtractor` computes its spectrogram with torchaudio, whose compiled part loads
only with the torch release it was built for, so Sori computes the same features itself with `torch.stft` and
uses the model's tokenizer directly. The steps are the extractor's (which follow audiocraft's `ChromaExtractor`):

1. keep at most `chunk_length` seconds; zero-pad a signal shorter than one FFT to one FFT, split evenly;
2. power spectrogram: Hann window of `n_fft` samples, frames centred on every `hop_length`-th sample (reflect
   padding at the ends), scaled by 1 / sqrt(sum of the squared window) before squaring, as torchaudio's
   `Spectrogram(normalized=True, power=2)` does;
3. a chroma filter bank (librosa's, as `transformers.audio_utils.chroma_filter_bank` builds it, tuning 0, C first);
4. each frame divided by its largest pitch class (floor 1e-6), then that pitch class set to 1 and the rest to 0.

    extractor = ChromaExtractor(sampling_rate=32000, hop_length=4096, n_fft=16384)
    chroma = extractor(mono)          # (frames, 12) one-hot float32, frames = 1 + len(mono) // 4096
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

PREPROCESSOR_CONFIG = "preprocessor_config.json"


@dataclass(frozen=True)
class ChromaExtractor:
    """The feature extractor of a musicgen-melody checkpoint, from its `preprocessor_config.json`."""

    sampling_rate: int = 32_000
    hop_length: int = 4096
    n_fft: int = 16_384
    num_chroma: int = 12
    chunk_length: int = 30
    config: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ChromaExtractor:
        keys = ("sampling_rate", "hop_length", "n_fft", "num_chroma", "chunk_length")
        values = {k: int(config[k]) for k in keys if k in config}
        return cls(**values, config=dict(config))

    def __call__(self, mono: np.ndarray) -> np.ndarray:
        """One-hot chroma (frames, num_chroma), float32, of a mono signal at `sampling_rate`."""
        import torch
        from transformers.audio_utils import chroma_filter_bank

        wave = torch.as_tensor(np.asarray(mono, dtype=np.float32).reshape(-1)[: self.chunk_length * self.sampling_rate])
        if wave.shape[0] < self.n_fft:
            pad = self.n_fft - wave.shape[0]
            wave = torch.nn.functional.pad(wave, (pad // 2, pad // 2 + pad % 2))
        window = torch.hann_window(self.n_fft)
        spec = torch.stft(wave, self.n_fft, hop_length=self.hop_length, win_length=self.n_fft, window=window,
                          center=True, pad_mode="reflect", return_complex=True)
        power = (spec / window.pow(2.0).sum().sqrt()).abs().pow(2.0)                # (bins, frames)
        filters = torch.from_numpy(chroma_filter_bank(num_frequency_bins=self.n_fft, num_chroma=self.num_chroma,
                                                      sampling_rate=self.sampling_rate, tuning=0)).float()
        raw = torch.einsum("cf,ft->ct", filters, power)
        norm = torch.nn.functional.normalize(raw, p=float("inf"), dim=0, eps=1e-6)
        one_hot = np.zeros((norm.shape[1], self.num_chroma), dtype=np.float32)
        one_hot[np.arange(norm.shape[1]), norm.argmax(dim=0).numpy()] = 1.0
        return one_hot

    def save_pretrained(self, directory: str | os.PathLike) -> None:
        config = {"feature_extractor_type": "MusicgenMelodyFeatureExtractor", "feature_size": self.num_chroma,
                  "padding_value": 0.0, "return_attention_mask": False, **self.config,
                  "sampling_rate": self.sampling_rate, "hop_length": self.hop_length, "n_fft": self.n_fft,
                  "num_chroma": self.num_chroma, "chunk_length": self.chunk_length}
        path = Path(directory) / PREPROCESSOR_CONFIG
        path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


class MelodyProcessor:
    """What `AutoProcessor` gives for musicgen-melody, minus torchaudio: `processor(text=[...], ...)` tokenizes the
    captions with the model's own tokenizer, and `feature_extractor` is the ChromaExtractor above."""

    def __init__(self, tokenizer: Any, feature_extractor: ChromaExtractor) -> None:
        self.tokenizer = tokenizer
        self.feature_extractor = feature_extractor

    def __call__(self, text: Any = None, **kwargs: Any) -> Any:
        return self.tokenizer(text, **kwargs)

    def save_pretrained(self, directory: str | os.PathLike) -> None:
        self.tokenizer.save_pretrained(str(directory))
        self.feature_extractor.save_pretrained(directory)

    @classmethod
    def from_pretrained(cls, source: str, **opts: Any) -> MelodyProcessor:
        """Tokenizer and feature-extractor config of a hub id or folder (`opts`: local_files_only, cache_dir)."""
        from transformers import AutoTokenizer
        from transformers.feature_extraction_utils import FeatureExtractionMixin

        config, _ = FeatureExtractionMixin.get_feature_extractor_dict(source, **opts)
        return cls(AutoTokenizer.from_pretrained(source, **opts), ChromaExtractor.from_config(config))
