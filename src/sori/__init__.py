"""Sori's command line (`sori.cli`). The library lives in `remaster` (mastering) and `generate` (MusicGen)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sori")
except PackageNotFoundError:      # a source tree that was never installed
    __version__ = "0.0.0+source"
