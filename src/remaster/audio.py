"""Audio I/O at the edges of the package.

Inside Sori audio is one type: float32 samples shaped (channels, frames) plus a sample rate, the convention
pedalboard uses. Conversion happens here, once, on load and on save.

Writes are atomic (a temporary file in the destination folder, fsynced, then renamed over the target), and
integer outputs get TPDF dither (triangular, 2 LSB peak-to-peak), which decorrelates the quantisation error
from the signal as bit-depth reduction requires.
"""

from __future__ import annotations

import contextlib
import os
import struct
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from .analysis.levels import dual_mono
from .errors import AudioError

READ_SUFFIXES = {".wav": "WAV", ".wave": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".oga": "OGG", ".mp3": "MP3"}
WRITE_FORMATS = {"wav": (16, 24, 32), "flac": (16, 24), "mp3": (16, 24, 32)}   # mp3: previews, VBR ~245 kbps
MP3_QUALITY = "V0"
MIN_RATE, MAX_RATE = 8_000, 192_000
TEMP_MARK = ".sori-tmp-"

_SUBTYPES = {("wav", 16): "PCM_16", ("wav", 24): "PCM_24", ("wav", 32): "FLOAT",
             ("flac", 16): "PCM_16", ("flac", 24): "PCM_24"}


def _allowed_read() -> str:
    return ", ".join(sorted({s.lstrip(".") for s in READ_SUFFIXES}))


def check_readable(path: str | os.PathLike) -> Path:
    """Fail with one line when `path` is not a readable, non-empty file of a supported format."""
    p = Path(path)
    if p.is_symlink() and not p.exists():
        raise AudioError(f"{p}: broken symbolic link; point it at an audio file")
    if not p.exists():
        raise AudioError(f"{p}: no such file")
    if p.is_dir():
        raise AudioError(f"{p}: is a folder, not an audio file")
    if p.suffix.lower() not in READ_SUFFIXES:
        raise AudioError(f"{p}: unsupported format '{p.suffix or '(no extension)'}'; allowed: {_allowed_read()}")
    if not os.access(p, os.R_OK):
        raise AudioError(f"{p}: permission denied; make the file readable")
    if p.stat().st_size == 0:
        raise AudioError(f"{p}: empty file (0 bytes)")
    return p


def _check_wav_complete(p: Path) -> None:
    """libsndfile quietly reads a truncated WAV's remainder; a master must not be made from half a file."""
    size = p.stat().st_size
    with open(p, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
            return  # not RIFF/WAVE: libsndfile decides (and fails with its own reason)
        if head[:4] == b"RF64":
            return
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk_id, chunk_size = struct.unpack("<4sI", f.read(8))
            if chunk_id == b"data":
                # 0 and 0xFFFFFFFF are what streaming writers leave when they cannot seek back.
                if chunk_size not in (0, 0xFFFFFFFF) and pos + 8 + chunk_size > size:
                    missing = pos + 8 + chunk_size - size
                    raise AudioError(
                        f"{p}: truncated WAV: the header promises {chunk_size} bytes of audio, "
                        f"{missing} are missing; re-export or re-download the file")
                return
            pos += 8 + chunk_size + (chunk_size & 1)
        raise AudioError(f"{p}: WAV file has no audio data chunk (truncated or corrupt)")


_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def _decoder_quiet(path: Path) -> Iterator[None]:
    """libmpg123 (inside libsndfile) prints notes about odd MP3 frames straight to file descriptor 2;
    the user gets our one line instead. Only around MP3 decoding, and one thread at a time."""
    if path.suffix.lower() != ".mp3":
        yield
        return
    with _STDERR_LOCK:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def info(path: str | os.PathLike) -> sf._SoundFileInfo:
    """Header information, after the same checks as `read`."""
    p = check_readable(path)
    try:
        with _decoder_quiet(p):
            return sf.info(str(p))
    except (RuntimeError, sf.LibsndfileError) as e:
        kind = READ_SUFFIXES[p.suffix.lower()]
        raise AudioError(f"{p}: not a valid {kind} file ({_reason(e)}); check it plays, or re-export it") from None


def _reason(e: Exception) -> str:
    msg = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
    # libsndfile says this of any file whose contents it does not recognise.
    if "not a regular file" in msg or "Format not recognised" in msg or "unknown format" in msg.lower():
        return "its contents are not audio of that format"
    return msg.split(": ", 1)[-1] if msg.startswith("Error opening") else msg


def read(path: str | os.PathLike, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Read WAV, FLAC, OGG or MP3 at 8–192 kHz, any channel count and sample format.

    Returns float32 samples shaped (channels, frames) and the sample rate.
    """
    p = check_readable(path)
    if p.suffix.lower() in (".wav", ".wave"):
        _check_wav_complete(p)
    head = info(p)
    if not MIN_RATE <= head.samplerate <= MAX_RATE:
        raise AudioError(f"{p}: sample rate {head.samplerate} Hz is outside the supported "
                         f"{MIN_RATE}–{MAX_RATE} Hz; resample it first")
    if max_seconds is not None and head.frames > 0 and head.frames / head.samplerate > max_seconds:
        raise AudioError(f"{p}: {head.frames / head.samplerate / 60:.1f} min long; the limit is "
                         f"{max_seconds / 60:.0f} min; split the file first")
    try:
        with _decoder_quiet(p):
            data, rate = _decode(p)
    except (RuntimeError, sf.LibsndfileError, ValueError) as e:
        raise AudioError(f"{p}: corrupt or unreadable audio ({_reason(e)})") from None
    if data.shape[-1] == 0:
        raise AudioError(f"{p}: contains no audio frames")
    return data, rate


def _decode(p: Path) -> tuple[np.ndarray, int]:
    """float32 (channels, frames), decoded a chunk at a time straight into place: no interleaved copy of the whole
    take. A decoder whose frame count is an estimate (MP3) gets the array trimmed or grown to what it decoded."""
    with sf.SoundFile(str(p)) as f:
        out = np.empty((f.channels, max(0, f.frames)), dtype=np.float32)
        at = 0
        while True:
            block = f.read(CHUNK, dtype="float32", always_2d=True)
            if block.shape[0] == 0:
                break
            if at + block.shape[0] > out.shape[1]:
                out = np.concatenate([out[:, :at], np.empty((f.channels, at + block.shape[0] + CHUNK - at),
                                                             dtype=np.float32)], axis=1)
            out[:, at: at + block.shape[0]] = block.T
            at += block.shape[0]
        return (out if at == out.shape[1] else np.ascontiguousarray(out[:, :at])), int(f.samplerate)


CHUNK = 1 << 18      # frames a chunk: quantising and writing go a chunk at a time


def tpdf_quantize(audio: np.ndarray, bits: int, seed: int = 0) -> np.ndarray:
    """Quantise float audio to `bits`-bit integers with TPDF dither; returns int32 on the `bits` grid."""
    return np.round(_dithered_grid(audio, bits, seed) * np.float32(2 ** (bits - 1))).astype(np.int32)


def _dithered_grid(audio: np.ndarray, bits: int, seed: int, dither: bool = True) -> np.ndarray:
    """The samples on the `bits`-bit grid (as float32, exactly: float32 holds every 24-bit integer), TPDF dither
    added, a chunk at a time: no whole-take temporaries."""
    scale = np.float32(2 ** (bits - 1))
    rng = np.random.default_rng(seed)
    out = np.empty_like(audio, dtype=np.float32)
    for a in range(0, audio.shape[-1], CHUNK):
        q = audio[:, a: a + CHUNK] * scale
        if dither:
            q += rng.random(q.shape, dtype=np.float32)
            q -= rng.random(q.shape, dtype=np.float32)
        np.round(q, out=q)
        np.clip(q, -scale, scale - 1, out=q)
        q /= scale
        out[:, a: a + CHUNK] = q
    return out


def encode(audio: np.ndarray, bit_depth: int, dither: bool = True, seed: int = 0) -> np.ndarray:
    """The samples exactly as a file of `bit_depth` will hold them, as float32 (channels, frames)."""
    if bit_depth == 32:
        return audio.astype(np.float32, copy=False)
    if dual_mono(audio):
        # Dual mono stays dual mono: the same dither on both channels (mono compatibility stays exact).
        mono = _dithered_grid(audio[:1], bit_depth, seed, dither)
        out = np.empty_like(audio, dtype=np.float32)
        out[0], out[1] = mono[0], mono[0]
        return out
    return _dithered_grid(audio, bit_depth, seed, dither)


def write(path: str | os.PathLike, audio: np.ndarray, sample_rate: int, bit_depth: int = 24,
          fmt: str | None = None, dither: bool = True, seed: int = 0) -> np.ndarray:
    """Write WAV (16/24-bit PCM, 32-bit float), FLAC (16/24-bit) or MP3 (for previews) atomically.

    Returns the samples as written (after dither and quantisation), so callers can measure the file itself.
    """
    p = Path(path)
    fmt = (fmt or p.suffix.lower().lstrip(".")).lower()
    if fmt == "wave":
        fmt = "wav"
    if fmt not in WRITE_FORMATS:
        raise AudioError(f"{p}: cannot write format '{fmt}'; allowed: {', '.join(WRITE_FORMATS)}")
    if bit_depth not in WRITE_FORMATS[fmt]:
        raise AudioError(f"{p}: {fmt} cannot hold {bit_depth}-bit audio; allowed: "
                         f"{', '.join(map(str, WRITE_FORMATS[fmt]))}")
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None, :]
    if not np.isfinite(audio).all():
        raise AudioError(f"{p}: refusing to write NaN or infinite samples")
    written = encode(audio, bit_depth, dither=dither, seed=seed)
    if fmt == "mp3":
        atomic_write(p, lambda f: _write_mp3(f, written, sample_rate))
        return written
    atomic_write(p, lambda f: _write_pcm(f, written, sample_rate, fmt, bit_depth))
    return written


def _write_pcm(f: Any, written: np.ndarray, sample_rate: int, fmt: str, bit_depth: int) -> None:
    """The samples (already on the grid) as integers, a chunk at a time (exact: float32 holds them)."""
    with sf.SoundFile(f, "w", sample_rate, written.shape[0], subtype=_SUBTYPES[fmt, bit_depth],
                      format=fmt.upper()) as out:
        for a in range(0, written.shape[-1], CHUNK):
            block = written[:, a: a + CHUNK].T
            if bit_depth == 16:
                out.write((block * np.float32(32768.0)).astype(np.int16))
            elif bit_depth == 24:
                # libsndfile takes int32 and keeps its top 24 bits
                out.write((block * np.float32(8388608.0)).astype(np.int32) << 8)
            else:
                out.write(np.ascontiguousarray(block))


def _write_mp3(f: Any, audio: np.ndarray, sample_rate: int) -> None:
    """LAME through pedalboard's AudioFile (MP3 is for previews: lossy, and its peaks move a little)."""
    from pedalboard.io import AudioFile

    with AudioFile(f, "w", sample_rate, audio.shape[0], format="mp3", quality=MP3_QUALITY) as out:
        out.write(audio)


def atomic_write(path: Path, writer, mode: str = "wb") -> None:
    """Run `writer(fileobj)` on a temporary file beside `path`, then rename it over `path`."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise AudioError(f"{path.parent}: cannot be the output folder: part of that path is a file") from None
    except PermissionError:
        raise AudioError(f"{path.parent}: permission denied creating the output folder") from None
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}{TEMP_MARK}")
    try:
        os.fchmod(fd, 0o666 & ~_umask())      # mkstemp makes 0600; outputs get ordinary permissions
        with os.fdopen(fd, mode) as f:
            writer(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))
