"""Sori's mastering package: turn raw generated audio into a streaming-grade master.

    from remaster import remaster, save
    mastered = remaster("take.wav", preset="streaming")
    save("master.wav", mastered)

`remaster` imports neither `generate` nor any model library (docs/architecture.md says what may import what).
The names below load their modules on first use, so `import remaster.errors` (the CLI's start) stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
_EXPORTS = {
    "remaster": "api", "save": "api", "Mastered": "api",
    "Chain": "chain", "ChainResult": "chain",
    "AudioError": "errors", "PresetError": "errors", "ProcessingError": "errors", "SoriError": "errors",
    "Processed": "processors", "Processor": "processors",
    "Context": "regenerate",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'remaster' has no attribute {name!r}")
