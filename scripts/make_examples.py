"""Write the demo's raw "generated" clips (synthesised here, never downloaded).

    python scripts/make_examples.py examples/raw             # the demo clips
    python scripts/make_examples.py corpus --corpus          # the 30+ file test corpus
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))     # the repo: tests.signals holds the signals
from tests.signals import make_corpus, make_examples


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--corpus", action="store_true", help="write the varied corpus instead of the demo clips")
    ap.add_argument("--long-seconds", type=float, default=600.0, help="length of the corpus's long file")
    args = ap.parse_args()
    paths = make_corpus(args.out_dir, args.long_seconds) if args.corpus else make_examples(args.out_dir)
    print(f"wrote {len(paths)} clips to {args.out_dir}")


if __name__ == "__main__":
    main()
