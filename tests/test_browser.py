"""In a real browser (Debian's chromium, headless, driven by Selenium through chromium-driver): the demo's
report.html, and `sori studio`. These run in CI (.ci/run installs the browser); without it they fail, saying how
to install it. The screenshots they take are what scripts/screenshots.py puts in the README."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from remaster.analysis.loudness import integrated_loudness
from tests.browser import wait_for
from tests.clirun import SORI


def _js(driver, script: str, *args):
    return driver.execute_script(script, *args)


def _section_drawn(driver, section) -> bool:
    return _js(driver, "var p = arguments[0].querySelectorAll('.plot');"
               "return p.length > 0 && arguments[0].querySelectorAll('.plot[data-drawn]').length === p.length",
               section)


def test_the_demo_report_opens_with_a_player_per_file_every_plot_drawn_and_a_working_ab(demo: Path, browser,
                                                                                       tmp_path: Path) -> None:
    doc = json.loads((demo / "report.json").read_text(encoding="utf-8"))
    browser.get((demo / "report.html").as_uri())
    wait_for(lambda: _js(browser, "return document.documentElement.getAttribute('data-ready')"), 30, "the page")
    rows = browser.find_elements(By.CSS_SELECTOR, "#files tbody tr")
    assert len(rows) == len(doc["files"]) == 4
    # sortable: by file name, then the other way
    headers = browser.find_elements(By.CSS_SELECTOR, "#files th")
    names = [h.text for h in headers]
    headers[names.index("file")].click()
    headers[names.index("file")].click()
    shown = [r.find_elements(By.TAG_NAME, "td")[1].text
             for r in browser.find_elements(By.CSS_SELECTOR, "#files tbody tr")]
    assert shown == sorted((r["input"] for r in doc["files"]), reverse=True)
    sections = browser.find_elements(By.CSS_SELECTOR, "section.take")
    assert len(sections) == 4
    for section in sections:
        _js(browser, "arguments[0].scrollIntoView()", section)
        wait_for(lambda s=section: _section_drawn(browser, s), 60, "the section's plots")
        kinds = {p.get_attribute("data-fig") for p in section.find_elements(By.CSS_SELECTOR, ".plot[data-drawn]")}
        assert kinds == {"wave", "loudness", "spectrum", "pitch"}
        assert all(p.find_elements(By.CSS_SELECTOR, ".main-svg") for p in section.find_elements(By.CSS_SELECTOR,
                                                                                                 ".plot"))
        audio = section.find_elements(By.CSS_SELECTOR, ".ab audio")
        assert [a.get_attribute("class") for a in audio] == ["ab-audio-a", "ab-audio-b"]
        assert wait_for(lambda s=section: _js(browser, "return arguments[0].querySelector('audio.ab-audio-b')"
                                              ".readyState >= 1", s), 20, "the master's audio")
    # A/B: play the master, switch to the raw take at the same place, loudness-matched
    first = sections[0]
    _js(browser, "arguments[0].scrollIntoView()", first)            # drawn again if it was dropped out of view
    wait_for(lambda: _section_drawn(browser, first), 60, "the first section, back in view")
    first.find_element(By.CSS_SELECTOR, ".ab-play").click()
    state = ("var a = arguments[0].querySelector('audio.ab-audio-a'), "
             "b = arguments[0].querySelector('audio.ab-audio-b');"
             "return [a.paused, b.paused, a.currentTime, b.currentTime, a.volume, b.volume]")
    wait_for(lambda: _js(browser, state, first)[3] > 0.6, 20, "the master playing")
    # the switch, and where each player stands at that moment (read in the same script: no time passes)
    at_b, at_a = _js(browser, "var r = arguments[0], b = r.querySelector('audio.ab-audio-b').currentTime;"
                     "r.querySelector('.ab-a').click(); return [b, r.querySelector('audio.ab-audio-a').currentTime]",
                     first)
    offset = _js(browser, "return JSON.parse(document.getElementById('take-data-' + arguments[0]).textContent).offset",
                 first.get_attribute("data-i"))
    assert at_b > 0.6 and abs(at_a - (at_b + offset)) < 0.05            # the same place in the music
    wait_for(lambda: _js(browser, state, first)[2] > at_a + 0.2, 20, "the raw take playing on")
    a_paused, b_paused, _, _, a_vol, b_vol = _js(browser, state, first)
    assert not a_paused and b_paused and first.find_element(By.CSS_SELECTOR, ".ab").get_attribute("data-side") == "a"
    report = next(r["report"] for r in doc["files"] if first.find_element(By.TAG_NAME, "h2").text == r["input"])
    louder = report["after"]["integrated_lufs"] - report["before"]["integrated_lufs"]
    assert louder > 3 and a_vol == 1 and b_vol == pytest.approx(10 ** (-louder / 20), rel=0.01)
    first.find_element(By.CSS_SELECTOR, ".ab-match").click()            # unmatched: both at full volume
    assert _js(browser, state, first)[5] == 1
    first.find_element(By.CSS_SELECTOR, ".ab-play").click()
    browser.save_screenshot(str(tmp_path / "report.png"))
    assert (tmp_path / "report.png").stat().st_size > 50_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def studio(demo: Path, tmp_path: Path):
    """`sori studio` on one of the demo's raw takes, on a free port; its URL and its output folder."""
    port = _free_port()
    take = demo.parent / "raw" / "pluck_melody.wav"
    proc = subprocess.Popen([SORI, "studio", take, "--port", str(port), "--no-browser", "--out", tmp_path / "studio"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for(lambda: proc.poll() is None and urllib.request.urlopen(url, timeout=2).status == 200, 120,
                 "the studio to answer")
        yield url, tmp_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _status(driver) -> str:
    return _js(driver, "var s = document.querySelector('#sori-status'); return s ? s.innerText : ''")


def _master_url(driver) -> str | None:
    return _js(driver, "var a = document.querySelector('#sori-view audio.ab-audio-b'); return a ? a.src : null")


def _lufs(url: str) -> float:
    with urllib.request.urlopen(url, timeout=30) as r:
        data, rate = sf.read(io.BytesIO(r.read()), dtype="float32", always_2d=True)
    return integrated_loudness(np.ascontiguousarray(data.T), rate)


def _type(box, text: str) -> None:
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)


def test_the_studio_renders_a_change_shows_a_bad_value_beside_its_control_and_saves_a_valid_preset(
        studio, browser, sori) -> None:
    url, out = studio
    browser.get(url)
    wait_for(lambda: "rendered" in _status(browser) and "checking" not in _status(browser), 180, "the first render")
    wait_for(lambda: _js(browser, "return document.querySelectorAll('#sori-view .plot[data-drawn]').length") == 4,
             60, "the plots")
    before = _master_url(browser)
    assert abs(_lufs(before) - (-14)) < 0.5
    box = wait_for(lambda: browser.find_element(By.CSS_SELECTOR, "#ctl-loudness-target_lufs input"), 60, "a control")
    _type(box, "-20")
    wait_for(lambda: _master_url(browser) not in (None, before), 60, "the new master")
    assert "ran loudness" in _status(browser)                     # only the stage that changed
    assert abs(_lufs(_master_url(browser)) - (-20)) < 0.5
    # a bad value: the command line's own line, under the control
    _type(box, "3")
    error = wait_for(lambda: _js(browser, "var e = document.getElementById('ctl-loudness-target_lufs-error');"
                                 "return e && e.offsetParent !== null && e.innerText"), 30, "the error line")
    cli = sori("presets", "show", "streaming", "--set", "loudness.target_lufs=3")
    assert cli.returncode == 2 and cli.stderr.strip() in error
    _type(box, "-20")
    wait_for(lambda: not _js(browser, "var e = document.getElementById('ctl-loudness-target_lufs-error');"
                             "return e && e.offsetParent !== null"), 30, "the error to go")
    target = out / "presets" / "quiet.yaml"
    path = browser.find_element(By.CSS_SELECTOR, "#sori-save-path textarea, #sori-save-path input")
    path.send_keys(Keys.CONTROL, "a")
    path.send_keys(str(target))
    browser.find_element(By.ID, "sori-save").click()
    wait_for(lambda: target.is_file() and "saved" in browser.find_element(By.ID, "sori-saved").text, 30, "the save")
    saved = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert saved == {"extends": "streaming", "chain": {"loudness": {"target_lufs": -20}}}
    check = subprocess.run([SORI, "presets", "validate", target], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0 and check.stdout.startswith(f"ok: {target}"), check.stderr
    browser.save_screenshot(str(out / "studio.png"))
    assert (out / "studio.png").stat().st_size > 50_000
