"""How report.html scales: the size and open time of a 500-file batch report in headless Chromium.

    python benchmarks/bench_report.py                   # masters the demo's takes first (about half a minute)
    python benchmarks/bench_report.py --from examples/mastered --files 500

The takes: a batch folder's own files (its report.json and the curves its records keep), by default the demo's
four takes mastered here. The report of N files repeats them under N names, with 2 % failed and 5 % off target as
a real batch has, so every row and section is a real one. Each page is opened in Debian's chromium (tests/browser.py)
in a fresh profile (cold: nothing cached, plotly.js not yet compiled) and then three times more (warm).

Printed per page: size; open time (navigation start to the summary drawn and sortable, the page's `data-ready`)
and first paint; the time to draw one file's section with its four plots when it is clicked (plotly.js compiled
on the first). The peers, measured in the same run: the same page for the four takes alone (a lazy page should open
about as fast with 500), and the eager page (`#all`: every section drawn at once, what a page without lazy sections
would do) for 50 files.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser import chromium, wait_for

from remaster.view import page


def batch_takes(out_dir: Path, in_dir: Path | None = None) -> list[page.Take]:
    doc = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    in_dir = in_dir or Path(doc["input_dir"])
    takes = []
    for row in doc["files"]:
        record = out_dir / ".sori" / "records" / f"{row['output']}.json"
        result = json.loads(record.read_text(encoding="utf-8"))["result"] if record.exists() else {}
        takes.append(page.Take(row["input"], row["status"], row.get("reason") or "", row.get("report"),
                               result.get("curves"), in_dir / row["input"],
                               out_dir / row["output"] if row.get("output") else None))
    return takes


def many(takes: list[page.Take], n: int) -> list[page.Take]:
    out = []
    for i in range(n):
        t = takes[i % len(takes)]
        name = f"album-{i // 100:02d}/take_{i:04d}_{Path(t.name).stem}.wav"
        if i % 50 == 7:
            out.append(page.Take(name, "failed", f"{name}: not a sound file (unknown format)", source=t.source))
        elif i % 20 == 3 and t.report:
            report = {**t.report, "off_target": "missed loudness (loudness: reached -15.20 LUFS of -14 with 12.0 dB "
                                                "of limiting; the target needs 14.3 dB of limiting, over the budget)"}
            out.append(page.Take(name, "done", "", report, t.curves, t.source, t.master))
        else:
            out.append(page.Take(name, t.status, t.reason, t.report, t.curves, t.source, t.master))
    return out


def open_times(driver, url: str) -> dict[str, float]:
    driver.get("about:blank")
    driver.get(url)
    ready = float(wait_for(lambda: driver.execute_script(
        "return document.documentElement.getAttribute('data-ready')"), 60, "the summary"))
    fcp = driver.execute_script("var e = performance.getEntriesByName('first-contentful-paint')[0];"
                                "return e ? e.startTime : null")
    return {"ready_ms": ready, "paint_ms": fcp or float("nan")}


def section_ms(driver, index: int) -> float:
    """Click a file's row; the time until its plots are drawn."""
    start = time.perf_counter()
    driver.execute_script(f"document.querySelector('#files tr[data-i=\"{index}\"] a').click()")
    wait_for(lambda: driver.execute_script(
        f"var s = document.getElementById('take-{index}');"
        "var p = s.querySelectorAll('.plot'); return p.length > 0 && "
        "s.querySelectorAll('.plot[data-drawn]').length === p.length"), 60, "the section's plots")
    return 1000 * (time.perf_counter() - start)


def measure(path: Path, label: str, click: int | None, warm: int = 3) -> dict[str, float]:
    with chromium() as driver:
        cold = open_times(driver, path.as_uri())
        first_section = section_ms(driver, click) if click is not None else float("nan")
        runs = [open_times(driver, path.as_uri()) for _ in range(warm)]
        again = section_ms(driver, click) if click is not None else float("nan")
    size = path.stat().st_size / 1e6
    warm_ready = statistics.median(r["ready_ms"] for r in runs)
    warm_paint = statistics.median(r["paint_ms"] for r in runs)
    print(f"{label:<26} {size:8.1f} MB  open {cold['ready_ms']:7.0f} ms cold  {warm_ready:6.0f} ms warm   "
          f"first paint {warm_paint:5.0f} ms   one section {first_section:6.0f} ms first, {again:5.0f} ms after")
    return {"size_mb": size, "cold_ms": cold["ready_ms"], "warm_ms": warm_ready, "section_ms": first_section}


def eager(path: Path, label: str) -> float:
    with chromium() as driver:
        start = time.perf_counter()
        driver.get(path.as_uri() + "#all")
        wait_for(lambda: driver.execute_script(
            "var p = document.querySelectorAll('.plot'); return p.length > 0 && "
            "document.querySelectorAll('.plot[data-drawn]').length === p.length"), 600, "every plot")
        ms = 1000 * (time.perf_counter() - start)
    print(f"{label:<26} {path.stat().st_size / 1e6:8.1f} MB  every section drawn at open: {ms:7.0f} ms")
    return ms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--from", dest="source", type=Path, help="a `sori batch` output folder (default: the demo's "
                    "takes, mastered here)")
    ap.add_argument("--files", type=int, default=500)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        work = Path(tmp)
        source = args.source
        if source is None:
            from tests.signals import make_examples

            from remaster.batch import run_batch

            make_examples(work / "raw")
            run_batch(work / "raw", work / "mastered", progress=False)
            source = work / "mastered"
        takes = batch_takes(source)
        meta = {"title": "bench", "preset": "streaming", "input": "raw", "output": "mastered"}
        pages = {}
        for n in (len(takes), 50, args.files):
            start = time.perf_counter()
            pages[n] = page.write_report(source / f"bench-report-{n}.html", many(takes, n) if n > len(takes)
                                         else takes, meta)
            print(f"wrote the {n}-file report in {time.perf_counter() - start:.2f} s")
        try:
            small = measure(pages[len(takes)], f"{len(takes)} files (peer)", click=0)
            big = measure(pages[args.files], f"{args.files} files", click=args.files // 2)
            eager_ms = eager(pages[50], "50 files, eager (peer)")
        finally:
            for p in pages.values():
                p.unlink(missing_ok=True)
    print(f"\n{args.files} files: {big['size_mb']:.1f} MB, opens in {big['warm_ms']:.0f} ms warm "
          f"({big['cold_ms']:.0f} ms cold); x{big['warm_ms'] / small['warm_ms']:.2f} the {len(takes)}-file page's "
          f"open time for x{args.files / len(takes):.0f} the files; drawing 50 files eagerly takes "
          f"x{eager_ms / big['warm_ms']:.0f} the lazy {args.files}-file page's open time")


if __name__ == "__main__":
    main()
