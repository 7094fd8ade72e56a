"""Shared MIDI tools for the benchmark data sets: a Standard MIDI File writer and FluidSynth rendering.

- MIDI messages (notes, programs, controllers, pitch bend, the RPN 0 pitch-bend range) as raw bytes and a
  format-0 Standard MIDI File writer over `(tick, order, message)` events, written with `struct`; there is
  no MIDI dependency.
- FluidSynth and a General MIDI soundfont: found on the machine, or installed from Debian's packages
  (`fluidsynth`, `fluid-soundfont-gm`) with apt-get when missing (which needs root or sudo).
- Rendering MIDI bytes to float audio with the fluidsynth command line.

Used by superres_data.py and pitch_set.py (`from midi import ...`, run from the repository root as
`python benchmarks/x.py`, so the benchmarks folder is on the import path).
"""

from __future__ import annotations

import glob
import os
import shutil
import struct
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

SOUNDFONT_GLOB = "/usr/share/sounds/sf2/*.sf2"
TPB = 480  # default MIDI ticks per beat
BEND_CENTRE = 8192
BEND_MIN, BEND_MAX = -8192, 8191

# --------------------------------------------------------------------------------------------------------
# Tools
# --------------------------------------------------------------------------------------------------------


def find_soundfont() -> Path | None:
    """The FluidR3 GM soundfont if present, else any other .sf2 in Debian's soundfont folder."""
    found = sorted(Path(p) for p in glob.glob(SOUNDFONT_GLOB))
    for path in found:
        if path.name == "FluidR3_GM.sf2":
            return path
    for path in found:
        if path.exists():  # default-GM.sf2 may be a dangling alternatives link
            return path.resolve()
    return None


def ensure_tools(log=print) -> tuple[str, Path]:
    """Path of the fluidsynth executable and of a GM soundfont, installing both with apt-get when missing."""
    exe, soundfont = shutil.which("fluidsynth"), find_soundfont()
    if exe is None or soundfont is None:
        missing = [name for name, have in (("fluidsynth", exe), ("a GM soundfont", soundfont)) if have is None]
        log(f"missing {' and '.join(missing)}: installing the Debian packages fluidsynth and fluid-soundfont-gm")
        prefix = [] if os.geteuid() == 0 else ["sudo"]
        for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "fluidsynth",
                                                   "fluid-soundfont-gm"]):
            log("$ " + " ".join(prefix + cmd))
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            subprocess.run(prefix + cmd, check=True, env=env, stdout=subprocess.DEVNULL)
        exe, soundfont = shutil.which("fluidsynth"), find_soundfont()
        if exe is None or soundfont is None:
            raise RuntimeError("fluidsynth or the GM soundfont is still missing after apt-get install")
    return exe, soundfont


def fluidsynth_version(exe: str) -> str:
    out = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("FluidSynth runtime version"):
            return line.split()[-1]
    return out.strip().splitlines()[0] if out.strip() else "unknown"


# --------------------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------------------


def tempo_usec(bpm: float) -> int:
    """Microseconds per beat, as written in the tempo meta event."""
    return round(60_000_000 / bpm)


def tempo_event(bpm: float) -> bytes:
    return b"\xff\x51\x03" + tempo_usec(bpm).to_bytes(3, "big")


def time_signature_event(beats_per_bar: int, denominator_power: int = 2) -> bytes:
    """Metre meta event: `beats_per_bar` / 2**`denominator_power`, 24 clocks per click, 8 32nds per beat."""
    return bytes([0xFF, 0x58, 0x04, beats_per_bar, denominator_power, 24, 8])


def program_change(chan: int, program: int) -> bytes:
    """Program change; `program` is the 0-based wire value (GM program number minus one)."""
    return bytes([0xC0 | chan, program & 0x7F])


def control_change(chan: int, controller: int, value: int) -> bytes:
    return bytes([0xB0 | chan, controller & 0x7F, max(0, min(127, value))])


def note_on(chan: int, pitch: int, velocity: int) -> bytes:
    return bytes([0x90 | chan, pitch & 0x7F, max(1, min(127, velocity))])


def note_off(chan: int, pitch: int) -> bytes:
    return bytes([0x80 | chan, pitch & 0x7F, 0])


def pitch_bend(chan: int, value: int) -> bytes:
    """Pitch-wheel message; `value` from -8192 to 8191 (clamped), 0 is no bend."""
    v = max(0, min(16383, value + BEND_CENTRE))
    return bytes([0xE0 | chan, v & 0x7F, v >> 7])


def bend_value(cents: float, range_semitones: float) -> int:
    """The pitch-wheel value for a bend of `cents` when the wheel spans +-`range_semitones`."""
    value = round(cents / (100.0 * range_semitones) * BEND_CENTRE)
    if not BEND_MIN <= value <= BEND_MAX:
        raise ValueError(f"a bend of {cents:g} cents is outside the +-{range_semitones:g} semitone wheel range")
    return value


def bend_cents(value: int, range_semitones: float) -> float:
    """The bend in cents that a pitch-wheel `value` gives (the inverse of `bend_value`, up to rounding)."""
    return value / BEND_CENTRE * 100.0 * range_semitones


def bend_range_messages(chan: int, semitones: int, cents: int = 0) -> list[bytes]:
    """Set the pitch-wheel range with registered parameter 0 (data entry MSB semitones, LSB cents), then
    deselect it with the null RPN (127, 127) so later data-entry messages change nothing."""
    return [control_change(chan, 101, 0), control_change(chan, 100, 0), control_change(chan, 6, semitones),
            control_change(chan, 38, cents), control_change(chan, 101, 127), control_change(chan, 100, 127)]


# --------------------------------------------------------------------------------------------------------
# Standard MIDI File
# --------------------------------------------------------------------------------------------------------


def vlq(value: int) -> bytes:
    """A variable-length quantity, as delta times are written."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def smf_bytes(events: Iterable[tuple[int, int, bytes]], end_tick: int = 0, tpb: int = TPB) -> bytes:
    """A format-0 Standard MIDI File from `(tick, order, message)` events.

    Events are sorted by tick, then by `order` (so at equal ticks, say, a pitch bend can precede the note-on
    it is meant for); the sort is stable, so events with equal keys keep the order they were given in (RPN
    sequences, for instance). The end-of-track event is at `end_tick`, or at the last event if later.
    """
    ordered = sorted(events, key=lambda e: (e[0], e[1]))
    if ordered and ordered[0][0] < 0:
        raise ValueError("negative tick")
    track, now = bytearray(), 0
    for tick, _, msg in ordered:
        track += vlq(tick - now) + msg
        now = tick
    track += vlq(max(end_tick, now) - now) + b"\xff\x2f\x00"
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, tpb) + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)


# --------------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------------


def render_midi(exe: str, soundfont: Path, midi: bytes, workdir: Path, name: str, sample_rate: int,
                gain: float = 0.7, options: Sequence[str] = (), timeout: float | None = None) -> np.ndarray:
    """Float audio (channels, frames) rendered by fluidsynth from MIDI bytes.

    `fluidsynth -ni -q [options] -g GAIN -r RATE -T wav -O float -F OUT.wav SOUNDFONT IN.mid`; the .mid and
    .wav files are left in `workdir` under `name` (use a temporary folder). `options` are extra command-line
    settings, e.g. `("-C", "0")` to switch the chorus off. `timeout`: seconds before a render that runs away (a
    note that never ends) is stopped, with an error.
    """
    mid, wav = workdir / f"{name}.mid", workdir / f"{name}.wav"
    mid.write_bytes(midi)
    cmd = [exe, "-ni", "-q", *options, "-g", f"{gain:g}", "-r", str(sample_rate), "-T", "wav", "-O", "float",
           "-F", str(wav), str(soundfont), str(mid)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        wav.unlink(missing_ok=True)
        raise RuntimeError(f"fluidsynth ran past {timeout:g} s on {name}: the MIDI does not end") from None
    if proc.returncode != 0 or not wav.exists():
        raise RuntimeError(f"fluidsynth failed on {name}: {proc.stderr.strip()[-400:]}")
    audio, rate = sf.read(wav, dtype="float32", always_2d=True)
    if rate != sample_rate:
        raise RuntimeError(f"fluidsynth wrote {rate} Hz, asked for {sample_rate}")
    return np.ascontiguousarray(audio.T)
