"""How well Korean prose becomes the categories a gugak musician would choose: `sori generate --from-text`.

    .venv/bin/python benchmarks/bench_text.py              # the table, per field and split, and the misses
    .venv/bin/python benchmarks/bench_text.py --quiet      # the table only

The texts and their labels are benchmarks/data/gugak_texts.yaml (public-domain literature and blog-style prose;
read its header). For each text, `generate.prose.prompt_from_text` chooses the categories; a field agrees when the
prediction shares one of the musician's choices (tempo: when the predicted tempo is one they accept). Texts whose
label for a field is empty are not scored in it. The peer in the same run is the category parser alone
(`generate.prompt.parse_text`: the names written in the text, no Korean analysis, no lexicon), which is what Sori
did with such text before the Korean reader. Targets (issue 15): >= 80 % on instruments and genres over the texts
that name or clearly imply them; no empty caption.

It also measures what the Korean analyzer costs: Kiwi's load (once per process) and the reading of a text.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).with_name("data") / "gugak_texts.yaml"
FIELDS = {"instruments": "instruments", "genres": "genres", "moods": "moods", "tempo": "tempos"}


def load_texts() -> list[dict[str, Any]]:
    texts = yaml.safe_load(DATA.read_text(encoding="utf-8"))["texts"]
    ids = [t["id"] for t in texts]
    assert len(ids) == len(set(ids)), "duplicate ids"
    return texts


def sori(text: str) -> dict[str, Any]:
    from generate.prose import prompt_from_text
    p = prompt_from_text(text)
    defaulted = any(m["via"].startswith("default") for m in p.mapping)
    return {**p.categories, "caption": p.caption, "defaulted": defaulted}


def parser_only(text: str) -> dict[str, Any]:
    """The peer: the names the category parser finds in the text as written."""
    from generate.prompt import parse_text
    from generate.taxonomy import FIELDS as ALL
    found = parse_text(text).entries
    cats = {f: [e.en for e in found if e.field == f] for f in ALL}
    return {**cats, "caption": ", ".join(e.en for e in found), "defaulted": False}


def agrees(field: str, predicted: dict[str, Any], gold: list[str]) -> bool:
    got = predicted[FIELDS[field]]
    return bool(set(got[:1] if field == "tempo" else got) & set(gold))


def score(texts: list[dict[str, Any]], predict: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    rows = []
    for t in texts:
        pred = predict(t["text"])
        rows.append({"id": t["id"], "split": t["split"], "pred": pred,
                     "hit": {f: agrees(f, pred, t[f]) for f in FIELDS if t[f]},
                     "implies": set(t.get("implies") or [])})
    return {"rows": rows}


def rate(rows: list[dict[str, Any]], field: str, where: Callable[[dict[str, Any]], bool] = lambda r: True) -> str:
    scored = [r for r in rows if field in r["hit"] and where(r)]
    if not scored:
        return "   -      "
    hits = sum(r["hit"][field] for r in scored)
    return f"{100 * hits / len(scored):5.1f} % {hits:>2}/{len(scored):<2}"


def table(name: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{name}")
    print(f"  {'field':<12} {'all':>14} {'dev':>14} {'held out':>14} {'named/implied':>16}")
    for field in FIELDS:
        implied = rate(rows, field, lambda r, f=field: FIELDS[f] in r["implies"]) if field in (
            "instruments", "genres") else "   -      "
        print(f"  {field:<12} {rate(rows, field):>14} {rate(rows, field, lambda r: r['split'] == 'dev'):>14} "
              f"{rate(rows, field, lambda r: r['split'] == 'heldout'):>14} {implied:>16}")
    empty = [r["id"] for r in rows if not r["pred"]["caption"].strip()]
    defaulted = [r["id"] for r in rows if r["pred"]["defaulted"]]
    print(f"  empty captions: {len(empty)}{' ' + ', '.join(empty) if empty else ''}")
    print(f"  captions from the default alone (the text named nothing musical): {len(defaulted)}"
          f"{' ' + ', '.join(defaulted) if defaulted else ''}")


def misses(texts: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    print("\nwhere Sori disagrees with the musician (field: predicted / accepted)")
    by_id = {t["id"]: t for t in texts}
    for r in rows:
        wrong = [f for f, ok in r["hit"].items() if not ok]
        if wrong:
            parts = [f"{f}: {r['pred'][FIELDS[f]] or '-'} / {by_id[r['id']][f]}" for f in wrong]
            print(f"  {r['id']:<22} " + "; ".join(parts))


def kiwi_cost() -> tuple[float, float]:
    """Seconds to load Kiwi in a fresh process, and to read one paragraph once loaded."""
    import subprocess
    import sys
    code = ("import time; t = time.perf_counter(); from generate.korean import kiwi, read_words; kiwi(); "
            "read_words('가'); a = time.perf_counter() - t; t = time.perf_counter(); "
            "read_words('지난 주말 전주 한옥마을에 다녀왔어요. 돌담길을 따라 걷다 보니 가야금 소리가 들려왔다.'); "
            "print(a, time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quiet", action="store_true", help="the tables only, not the misses")
    args = ap.parse_args()
    texts = load_texts()
    print(f"{len(texts)} texts ({sum(t['split'] == 'dev' for t in texts)} dev, "
          f"{sum(t['split'] == 'heldout' for t in texts)} held out) from {DATA.name}")
    load_s, read_s = kiwi_cost()
    started = time.perf_counter()
    ours = score(texts, sori)
    per_text = (time.perf_counter() - started) / len(texts)
    peer = score(texts, parser_only)
    table("Sori's prose reader (Kiwi lemmas + taxonomy names + mood lexicon)", ours["rows"])
    table("peer: the category parser alone (names as written)", peer["rows"])
    print(f"\nKiwi: {load_s:.2f} s to load (once per process, offline, from the kiwipiepy-model wheel); "
          f"{1000 * read_s:.1f} ms to read a paragraph; {1000 * per_text:.1f} ms a text for the whole mapping")
    if not args.quiet:
        misses(texts, ours["rows"])


if __name__ == "__main__":
    main()
