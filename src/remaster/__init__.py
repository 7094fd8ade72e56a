"""Sori's mastering package: turn raw generated audio into a streaming-grade master.

    from remaster import remaster
    audio, sample_rate, report = remaster("take.wav", preset="streaming")
"""

from .api import Mastered, remaster, save
from .chain import Chain, ChainResult
from .errors import AudioError, PresetError, ProcessingError, SoriError
from .processors import Context, Processed, Processor

__version__ = "0.1.0"
__all__ = [
           "AudioError",
           "Chain",
           "ChainResult",
           "Context",
           "Mastered",
           "PresetError",
           "Processed",
           "ProcessingError",
           "Processor",
           "SoriError",
           "remaster",
           "save",
]
