"""Processors: one small class each, registered by name for presets.

Import order is the order `sori presets` lists them in.
"""

from .base import REGISTRY, Context, Params, Processed, Processor, processor_class, register
from .channels import Channels
from .cleanup import Cleanup
from .compressor import Compressor
from .denoise import Denoise
from .dissonance import Dissonance
from .eq import Eq
from .fade import Fade
from .limiter import Limiter
from .loudness import Loudness
from .resample import Resample
from .superres import Superres
from .trim import Trim

__all__ = [
    "REGISTRY", "Channels", "Cleanup", "Compressor", "Context", "Denoise", "Dissonance", "Eq", "Fade", "Limiter",
    "Loudness", "Params", "Processed", "Processor", "Resample", "Superres", "Trim", "processor_class", "register",
]
