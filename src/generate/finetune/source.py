"""Read a dataset SOURCE as `Clip`s: AI Hub 71470 (`aihub.py`) or a plain folder of captioned audio (`folder.py`).

    from generate.finetune.source import read_source
    reading = read_source(Path("~/aihub/209.국악 악보 및 음원 데이터"))
    reading.clips[0].caption      # 'traditional Korean sanjo, solo gayageum (...), moderate jungmori rhythm ...'
    reading.problems              # everything odd that was met, one `Problem` (kind, path, message) each
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import GenerateError
from ..taxonomy import Taxonomy
from .aihub import is_split_marker, read_aihub
from .clips import Reading, close_zips, nfc
from .codes import Codes
from .folder import read_folder

FORMATS = ("auto", "aihub", "folder")


def detect_format(root: Path, max_depth: int = 6) -> str:
    """'aihub' when ROOT (or a folder or zip under it, a few levels deep) is named like the AI Hub split folders
    (Training, Validation, TS_..., TL_..., VS_..., VL_...); else 'folder'."""
    if any(is_split_marker(nfc(p)) for p in root.resolve().parts):
        return "aihub"
    base = len(root.parts)
    for dirpath, dirnames, filenames in os.walk(root):
        depth = len(Path(dirpath).parts) - base
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")) if depth < max_depth else []
        if any(is_split_marker(nfc(n)) for n in dirnames) or any(
                n.lower().endswith(".zip") and is_split_marker(nfc(n)) for n in filenames):
            return "aihub"
    return "folder"


def read_source(root: str | os.PathLike, fmt: str = "auto", valid_fraction: float = 0.05,
                taxonomy: Taxonomy | None = None, codes: Codes | None = None) -> Reading:
    """Read SOURCE as AI Hub 71470 or as a captioned folder (`fmt` 'auto' decides by the folder names)."""
    root = Path(root)
    if fmt not in FORMATS:
        raise GenerateError(f"unknown format '{fmt}'; use one of {', '.join(FORMATS)}")
    if not root.exists():
        raise GenerateError(f"{root}: no such folder")
    if not root.is_dir():
        raise GenerateError(f"{root}: is not a folder; SOURCE is the dataset's folder")
    kind = detect_format(root) if fmt == "auto" else fmt
    try:
        if kind == "aihub":
            return read_aihub(root, taxonomy, codes)
        return read_folder(root, valid_fraction, taxonomy, codes)
    finally:
        close_zips()
