"""The README's pictures: the demo's report.html and `sori studio`, in Debian's headless chromium (tests/browser.py).

    python scripts/screenshots.py            # writes docs/report.png and docs/studio.png

Masters the demo's takes into a temporary folder (as `make demo` does), opens the report with its first file's
section drawn, then starts the studio on the raw takes, changes the loudness target once, and photographs both.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from tests.browser import chromium, wait_for  # noqa: E402
from tests.signals import make_examples  # noqa: E402

from remaster.batch import run_batch  # noqa: E402


def report_shot(page: Path, out: Path) -> None:
    with chromium(1400, 1700) as driver:
        driver.get(page.as_uri())
        wait_for(lambda: driver.execute_script(
            "var s = document.querySelector('section.take'); var p = s && s.querySelectorAll('.plot');"
            "return p && p.length && s.querySelectorAll('.plot[data-drawn]').length === p.length"), 60, "the plots")
        time.sleep(0.5)
        driver.save_screenshot(str(out))


def studio_shot(raw: Path, work: Path, out: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sori = str(Path(sys.executable).with_name("sori"))
    proc = subprocess.Popen([sori, "studio", raw, "--port", str(port), "--no-browser", "--out", work],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for(lambda: urllib.request.urlopen(url, timeout=2).status == 200, 120, "the studio")
        with chromium(1500, 1750) as driver:
            driver.get(url)

            def status() -> str:
                return driver.execute_script("var s = document.querySelector('#sori-status');"
                                             "return s ? s.innerText : ''")

            wait_for(lambda: "rendered" in status() and "checking" not in status(), 180, "the first render")
            box = wait_for(lambda: driver.find_element(By.CSS_SELECTOR, "#ctl-loudness-target_lufs input"), 60,
                           "the controls")
            box.send_keys(Keys.CONTROL, "a")
            box.send_keys("-16")
            box.send_keys(Keys.ENTER)
            wait_for(lambda: "ran loudness" in status(), 60, "the re-render")
            wait_for(lambda: driver.execute_script(
                "return document.querySelectorAll('#sori-view .plot[data-drawn]').length") >= 4, 60, "the plots")
            driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
            time.sleep(0.5)
            driver.save_screenshot(str(out))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="sori-shots-") as tmp:
        root = Path(tmp)
        make_examples(root / "raw")
        result = run_batch(root / "raw", root / "mastered", progress=False)
        report_shot(result.report_html, args.out / "report.png")
        studio_shot(root / "raw", root / "studio", args.out / "studio.png")
    print(f"wrote {args.out / 'report.png'} and {args.out / 'studio.png'}")


if __name__ == "__main__":
    main()
