"""Folk tunes as melodies: the taxonomy's `tunes` (아리랑, 도라지타령, ...) with a few bars each as MIDI.

    from generate.tunes import tune_file
    tune_file("아리랑")          # .../generate/data/tunes/arirang.mid, or None when no tune has that name
    # sori generate "해금 아리랑" --melody 아리랑 --model facebook/musicgen-melody

The notes are data (`data/tunes/notes.yaml`, Sori's own transcription of the public-domain tunes); the MIDI files
beside it are written from them by `write_midi` (`scripts/make_tunes.py`), shipped in the wheel, and read by
`generate.melody` like any MIDI file. `read_notes` checks every bar against the meter and every note against the
tune's scale, so a typo in a transcription is an error, not a wrong melody.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .errors import GenerateError
from .taxonomy import Entry, Taxonomy, load_taxonomy

TICKS_PER_BEAT = 480               # a quarter note
_NOTE = re.compile(r"^(?:(?P<name>[A-G])(?P<acc>[#b]?)(?P<octave>-?\d)|(?P<rest>r)):(?P<len>\d+)$")
_PITCH_CLASS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


@dataclass(frozen=True)
class Tune:
    """One tune's notes: (MIDI pitch or None for a rest, length in eighth notes), bar by bar."""

    file: str
    title: str
    meter: str
    beat: int                      # eighth notes a counted beat lasts
    bpm: float
    bars: tuple[tuple[tuple[int | None, int], ...], ...]

    @property
    def microseconds_per_quarter(self) -> int:
        return round(60_000_000 / self.bpm * 2 / self.beat)


def _pitch(m: re.Match[str]) -> int | None:
    if m.group("rest"):
        return None
    pc = _PITCH_CLASS[m.group("name")] + {"#": 1, "b": -1, "": 0}[m.group("acc")]
    return 12 * (int(m.group("octave")) + 1) + pc


def _bar(text: str, eighths: int, scale: set[int], where: str) -> tuple[tuple[int | None, int], ...]:
    notes = []
    for token in text.split():
        m = _NOTE.match(token)
        if m is None or int(m.group("len")) < 1:
            raise GenerateError(f"{where}: '{token}' is not a note such as A4:2 (pitch and octave, length in "
                                "eighths) or a rest r:2")
        pitch = _pitch(m)
        if pitch is not None and pitch % 12 not in scale:
            raise GenerateError(f"{where}: {token} is outside the tune's scale")
        notes.append((pitch, int(m.group("len"))))
    if sum(n for _, n in notes) != eighths:
        raise GenerateError(f"{where}: the bar lasts {sum(n for _, n in notes)} eighths, the meter "
                            f"{eighths}")
    return tuple(notes)


def _tune(file: str, raw: Any, source: str) -> Tune:
    where = f"{source}: {file}"
    try:
        num, den = (int(x) for x in str(raw["meter"]).split("/"))
        eighths = num * 8 // den
        scale = {_PITCH_CLASS[n[0]] + {"#": 1, "b": -1}.get(n[1:], 0) for n in raw["scale"]}
        bars = tuple(_bar(b, eighths, scale, f"{where} bar {i + 1}") for i, b in enumerate(raw["bars"]))
        final = next(p for bar in reversed(bars) for p, _ in reversed(bar) if p is not None)
        if final % 12 != _PITCH_CLASS[raw["final"]]:
            raise GenerateError(f"{where}: ends on pitch class {final % 12}, not its final {raw['final']}")
        return Tune(file=file, title=str(raw["title"]), meter=raw["meter"], beat=int(raw["beat"]),
                    bpm=float(raw["bpm"]), bars=bars)
    except (KeyError, TypeError, ValueError, StopIteration) as e:
        raise GenerateError(f"{where}: needs title, meter, beat, bpm, scale, final and bars ({e!r})") from None


def read_notes(text: str, source: str = "tunes/notes.yaml") -> dict[str, Tune]:
    """The tunes of a notes file, checked: bars fill the meter, notes keep to the scale, the last note is the
    final."""
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("tunes"), dict):
        raise GenerateError(f"{source}: expected a mapping with 'tunes'")
    return {file: _tune(file, raw, source) for file, raw in data["tunes"].items()}


@functools.cache
def load_notes() -> dict[str, Tune]:
    text = resources.files("generate").joinpath("data", "tunes", "notes.yaml").read_text(encoding="utf-8")
    return read_notes(text, "generate/data/tunes/notes.yaml")


def write_midi(tune: Tune, path: str | Path) -> Path:
    """A one-track MIDI file of the tune: tempo, time signature, the notes on channel 1 (program 0)."""
    import mido

    num, den = (int(x) for x in tune.meter.split("/"))
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=Path(tune.file).stem, time=0))   # Latin-1 only
    track.append(mido.MetaMessage("set_tempo", tempo=tune.microseconds_per_quarter, time=0))
    track.append(mido.MetaMessage("time_signature", numerator=num, denominator=den, time=0))
    eighth = TICKS_PER_BEAT // 2
    wait = 0
    for bar in tune.bars:
        for pitch, length in bar:
            ticks = length * eighth
            if pitch is None:
                wait += ticks
                continue
            track.append(mido.Message("note_on", note=pitch, velocity=80, time=wait))
            track.append(mido.Message("note_off", note=pitch, velocity=0, time=ticks))
            wait = 0
    track.append(mido.MetaMessage("end_of_track", time=wait))
    mid = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_BEAT)
    mid.tracks.append(track)
    path = Path(path)
    mid.save(str(path))
    return path


def tune_path(entry: Entry) -> Path:
    """The MIDI file of a tune entry, in the installed package."""
    return Path(str(resources.files("generate").joinpath("data", "tunes", entry.midi or "")))


def tune_file(name: str, taxonomy: Taxonomy | None = None) -> Path | None:
    """The MIDI file of the tune `name` names (Korean, English or an alias), or None."""
    entry = (taxonomy or load_taxonomy()).lookup(name, "tunes")
    return tune_path(entry) if entry is not None else None
