"""Processors: one small class each, registered by name for presets.

Import order is the order `sori presets schema` lists them in. A processor defined outside this package
registers itself the same way (`@register`) and is usable from presets at once (docs/architecture.md).
"""

from .base import REGISTRY, Params, Processed, Processor, Report, Verdict, param, processor_class, register, reported
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
    "REGISTRY", "Channels", "Cleanup", "Compressor", "Denoise", "Dissonance", "Eq", "Fade", "Limiter", "Loudness",
    "Params", "Processed", "Processor", "Report", "Resample", "Superres", "Trim", "Verdict", "param",
    "processor_class", "register", "reported",
]
