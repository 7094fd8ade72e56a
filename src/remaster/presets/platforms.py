"""Delivery targets of the common streaming services: integrated loudness (ITU-R BS.1770) and true-peak ceiling.

A preset names one with `platform: apple-music` (or `--platform`, or `remaster(..., platform=...)`); the stages that
finish a master take its numbers (the `loudness` stage: `target_lufs`, `true_peak_db`), whatever the preset
inherited. The figures are the services' published normalisation references, as of 2026: Spotify (its "normal"
level, and -1 dBTP advised for lossy transcoding), YouTube, Tidal, Apple Music (Sound Check), Amazon Music, Deezer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Delivery:
    lufs: float
    true_peak_db: float
    service: str


PLATFORMS: dict[str, Delivery] = {
    "spotify": Delivery(-14.0, -1.0, "Spotify"),
    "youtube": Delivery(-14.0, -1.0, "YouTube"),
    "tidal": Delivery(-14.0, -1.0, "Tidal"),
    "apple-music": Delivery(-16.0, -1.0, "Apple Music"),
    "amazon-music": Delivery(-14.0, -2.0, "Amazon Music"),
    "deezer": Delivery(-15.0, -1.0, "Deezer"),
}
