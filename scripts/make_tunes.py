"""Write the folk tunes' MIDI files (src/generate/data/tunes/*.mid) from their notes (tunes/notes.yaml).

    .venv/bin/python scripts/make_tunes.py          # after editing notes.yaml; tests/test_tunes.py checks they agree
"""

from __future__ import annotations

from pathlib import Path

from generate.tunes import load_notes, write_midi

OUT = Path(__file__).resolve().parents[1] / "src" / "generate" / "data" / "tunes"


def main() -> None:
    for file, tune in load_notes().items():
        write_midi(tune, OUT / file)
        print(f"{OUT / file}: {tune.title}, {len(tune.bars)} bars")


if __name__ == "__main__":
    main()
