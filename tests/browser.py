"""Debian's chromium, headless, driven through Selenium and Debian's chromium-driver: for the browser tests of the
HTML report and the studio, the report benchmark and the README's screenshots (scripts/screenshots.py).

    with chromium() as driver:
        driver.get(path.as_uri())

Nothing is downloaded: Selenium is pointed at the system chromedriver and browser (Selenium Manager never runs), and
the browser is started with networking features off and a fresh profile. When either is missing, `chromium()` raises
BrowserMissing with the command that installs them (the tests fail with it: they do not skip).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
DRIVERS = ("chromedriver", "chromium-driver")
INSTALL = "apt-get update && apt-get install -y chromium chromium-driver"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
         "--no-default-browser-check", "--disable-extensions", "--mute-audio",
         "--autoplay-policy=no-user-gesture-required", "--allow-file-access-from-files")


class BrowserMissing(RuntimeError):
    pass


def find(names: tuple[str, ...], what: str) -> str:
    for name in names:
        found = shutil.which(name) or (f"/usr/lib/chromium/{name}" if Path(f"/usr/lib/chromium/{name}").exists()
                                       else None)
        if found:
            return found
    raise BrowserMissing(f"{what} not found (looked for {', '.join(names)}); install Debian's: {INSTALL}")


@contextlib.contextmanager
def chromium(width: int = 1400, height: int = 1000) -> Iterator[Any]:
    """A headless chromium with a fresh profile, closed (and its profile removed) on exit."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as e:
        raise BrowserMissing(f"selenium is not installed ({e}); run `make .venv/.installed`") from None
    binary, driver_path = find(BROWSERS, "chromium"), find(DRIVERS, "chromedriver")
    profile = tempfile.mkdtemp(prefix="sori-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        driver.set_script_timeout(60)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(condition: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll until `condition()` is truthy; its value. A TimeoutError names `what`."""
    end = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < end:
        try:
            last = condition()
        except Exception as e:   # the page may be mid-render: try again
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout:g} s waiting for {what} (last: {last!r})")


def full_screenshot(driver: Any, path: Path, height: int | None = None) -> Path:
    """A PNG of the page (the window resized to `height`, or to the page's height up to 6000 px)."""
    width = driver.execute_script("return document.documentElement.scrollWidth")
    tall = height or min(6000, driver.execute_script("return document.documentElement.scrollHeight"))
    driver.set_window_size(max(width, 1200), tall)
    time.sleep(0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    return path
