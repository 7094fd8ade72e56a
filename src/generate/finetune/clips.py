"""What every dataset reader makes, and the helpers both readers share.

A reader (`aihub.py`, `folder.py`; `source.read_source` picks one) turns SOURCE into a `Reading`: the usable `Clip`s,
each with a `Locator` saying where its bytes are (a file, or a member of a zip), and a `Problem` for everything odd
it met. Zips stay open in a small cache while a reader runs; `close_zips` closes them.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from remaster import audio as audio_io
from remaster.errors import AudioError

SPLITS = ("train", "valid")
FILTER_FIELDS = ("instruments", "genres", "tempos", "modes")
CODE_KEYS = ("instrument", "genre", "jangdan", "mode", "category")
AUDIO_SUFFIXES = frozenset(audio_io.READ_SUFFIXES)
MIDI_SUFFIXES = frozenset({".mid", ".midi"})
_UNSAFE = re.compile(r"[^\w.\-]+")


@dataclass(frozen=True)
class Problem:
    """Something odd in the source: `kind` (e.g. 'malformed-json'), `path` relative to SOURCE, and what happened."""

    kind: str
    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "path": self.path, "message": self.message}


@dataclass(frozen=True)
class Locator:
    """Where a file's bytes are: a plain file, or a member of a zip (`member` as `zipfile` names it).

    `rel` is how people and manifests see it: relative to SOURCE, NFC, a zip member as "path/x.zip!member"."""

    path: Path
    member: str | None = None
    rel: str = ""

    def read_bytes(self) -> bytes:
        if self.member is None:
            return self.path.read_bytes()
        return open_zip(self.path).read(self.member)

    def fingerprint(self) -> str:
        """Changes when the bytes change (size and time of the file; a member's CRC and size)."""
        st = self.path.stat()
        if self.member is None:
            return f"{st.st_size}:{st.st_mtime_ns}"
        info = open_zip(self.path).getinfo(self.member)
        return f"{info.CRC:08x}:{info.file_size}"

    def __str__(self) -> str:
        return self.rel or str(self.path)


@dataclass
class Clip:
    """One recording with its labels and captions: what `prepare` cuts into windows."""

    split: str                              # "train" | "valid"
    clip_id: str                            # unique within the split, safe as a file name (NFC)
    audio: Locator
    midi: Locator | None
    title: str | None
    caption: str                            # English, for MusicGen
    caption_ko: str                         # Korean ("" when unknown)
    instruments: list[str]                  # English names (taxonomy names where the taxonomy has the instrument)
    genre: str | None
    jangdan: str | None
    mode: str | None
    bpm: int | None                         # the recording's own tempo when its labels give one
    solo: bool
    codes: dict[str, str | None] = field(default_factory=dict)       # raw codes of the labels (CODE_KEYS)
    label: str | None = None                # the label file (relative locator), if any
    names: dict[str, frozenset[str]] = field(default_factory=dict)   # normalised names per FILTER_FIELDS

    @property
    def key(self) -> str:
        return f"{self.split}/{self.clip_id}"

    def matches(self, field_name: str, wanted: Iterable[str]) -> bool:
        """True when any normalised name in `wanted` names this clip's instrument/genre/jangdan/mode."""
        return bool(self.names.get(field_name, frozenset()) & set(wanted))


@dataclass
class Reading:
    """What a source held: its format, the usable clips (sorted by split and id) and the problems met."""

    format: str
    root: Path
    clips: list[Clip]
    problems: list[Problem]


# --- zips ----------------------------------------------------------------------------------------------------------

class _ZipCache:
    """Open zips kept for reuse (reading thousands of labels from one zip must not re-read its directory each time)."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self.open: dict[Path, zipfile.ZipFile] = {}

    def get(self, path: Path) -> zipfile.ZipFile:
        zf = self.open.pop(path, None)
        if zf is None:
            zf = zipfile.ZipFile(path)
            while len(self.open) >= self.size:
                self.open.pop(next(iter(self.open))).close()
        self.open[path] = zf                    # most recently used last
        return zf

    def close(self) -> None:
        for zf in self.open.values():
            zf.close()
        self.open.clear()


_ZIPS = _ZipCache()


def open_zip(path: Path) -> zipfile.ZipFile:
    """The zip at `path`, opened once and kept open until `close_zips`."""
    return _ZIPS.get(path)


def close_zips() -> None:
    """Close the zips this process keeps open."""
    _ZIPS.close()


def read_audio(loc: Locator) -> tuple[np.ndarray, int]:
    """float32 samples (channels, frames) and the rate, from a file or a zip member; `AudioError` if unreadable."""
    if loc.member is None:
        return audio_io.read(loc.path)
    import soundfile as sf
    try:
        data, rate = sf.read(io.BytesIO(loc.read_bytes()), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError, ValueError, zipfile.BadZipFile, OSError) as e:
        raise AudioError(f"{loc}: corrupt or unreadable audio ({str(e).strip().splitlines()[-1] if str(e) else e})"
                         ) from None
    if data.shape[0] == 0:
        raise AudioError(f"{loc}: contains no audio frames")
    return np.ascontiguousarray(data.T), int(rate)


# --- labels --------------------------------------------------------------------------------------------------------

def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def label_text(value: Any) -> str | None:
    """A label value as stripped NFC text; None for missing, empty or non-scalar values."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return None if isinstance(value, float) and not math.isfinite(value) else str(value)
    if isinstance(value, str):
        value = nfc(value).strip()
        return value or None
    return None


def label_bpm(value: Any) -> tuple[int | None, str | None]:
    """A tempo annotation as beats per minute, or why it is not one."""
    if value is None or value == "" or isinstance(value, bool):
        return None, None
    try:
        bpm = float(value.strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        return None, f"tempo annotation {value!r} is not a number"
    if not math.isfinite(bpm) or not 20 <= bpm <= 300:
        return None, f"tempo annotation {value!r} is outside 20-300 bpm"
    return round(bpm), None


def read_label(loc: Locator) -> tuple[Any, str]:
    """A JSON label (UTF-8, or CP949 as Korean tools wrote them) as a dict, or None and why it is not one."""
    try:
        raw = loc.read_bytes()
    except (OSError, zipfile.BadZipFile, KeyError) as e:
        return None, f"cannot read the label ({e})"
    for encoding in ("utf-8-sig", "cp949"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        return None, "the label is neither UTF-8 nor CP949 text"
    try:
        data = json.loads(text)
    except ValueError as e:
        return None, f"not valid JSON ({e})"
    if not isinstance(data, dict):
        return None, f"expected a JSON object, got {type(data).__name__}"
    return data, ""


def safe_id(stem: str) -> str:
    """A clip id from a file stem: NFC, characters other than letters, digits, '.', '-' and '_' become '_'."""
    return _UNSAFE.sub("_", nfc(stem)).strip("._") or "clip"


def unique_id(clip_id: str, salt: str, used: set[str]) -> str:
    """`clip_id`, or with a short hash of `salt` when the split already has that id; recorded in `used`."""
    if clip_id in used:
        clip_id = f"{clip_id}-{hashlib.sha1(salt.encode()).hexdigest()[:6]}"
    used.add(clip_id)
    return clip_id
