"""The studio's work, apart from its web page (`app.py`): the takes to choose from, a mastering session per take
(remaster.session: the chain's unchanged prefix cached), the preset being edited, the player and plots the report
draws (remaster.view), saving the edit as YAML, and generating a take when a model is given.

Every method takes and returns plain values, so the tests drive it without a browser, and `app.py` only wires widgets
to it. Errors come back as the one line the command line prints for the same mistake (`sori: error: ...`).
"""

from __future__ import annotations

import html
import json
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from remaster import audio as audio_io
from remaster import presets
from remaster.errors import SoriError
from remaster.presets.edits import save_preset
from remaster.session import Render, Session
from remaster.view import page

from .controls import Control, control_for, controls_for, overrides

MAX_SESSIONS = 3            # takes kept with their caches (each holds a few copies of its audio)
FILE_ROUTE = "/gradio_api/file="


def file_url(path: Path) -> str:
    return FILE_ROUTE + quote(str(Path(path).resolve()))


@dataclass
class Outcome:
    """What an edit shows: the take's player and plots, the status line, and a message per control in error."""

    view: str = ""
    status: str = ""
    errors: dict[str, str] = field(default_factory=dict)      # control id -> the one-line message
    error: str = ""                                            # one not about a single control
    pending: bool = False
    unchanged: bool = False                                    # nothing to show that is not shown already


@dataclass
class Studio:
    takes: list[Path]
    preset: str = "streaming"
    workdir: Path = field(default_factory=lambda: Path.cwd() / "sori-studio")
    model: str | None = None
    device: str = "auto"

    def __post_init__(self) -> None:
        self.renders = Path(tempfile.mkdtemp(prefix="sori-studio-"))
        self.sessions: OrderedDict[str, Session] = OrderedDict()
        self.lock = threading.Lock()
        self.loaded: Any = None
        self.written: list[Path] = []
        self.views = 0
        self.shown: tuple[str, str] | None = None      # (take, preset sha256) of what the page shows

    def close(self) -> None:
        shutil.rmtree(self.renders, ignore_errors=True)

    # --- takes and presets ---------------------------------------------------------------------------------------

    def take_choices(self) -> list[tuple[str, str]]:
        common = _common_parent(self.takes)
        return [(str(p.relative_to(common)) if common else p.name, str(p)) for p in self.takes]

    def add_take(self, path: Path) -> str:
        path = Path(path).resolve()
        if path not in self.takes:
            self.takes.append(path)
        return str(path)

    def session(self, take: str) -> Session:
        with self.lock:
            if take in self.sessions:
                self.sessions.move_to_end(take)
                return self.sessions[take]
            s = Session.open(take)
            self.sessions[take] = s
            while len(self.sessions) > MAX_SESSIONS:
                self.sessions.popitem(last=False)
            return s

    @staticmethod
    def base(name: str) -> presets.Preset:
        return presets.load(name or "streaming")

    @staticmethod
    def controls(base: presets.Preset) -> list[Control]:
        return [c for group in controls_for(base).values() for c in group]

    def resolve(self, base_name: str, values: list[Any]) -> tuple[presets.Preset, dict[str, Any], list[Control]]:
        base = self.base(base_name)
        controls = self.controls(base)
        changed = overrides(controls, values)
        return presets.load(base, changed or None), changed, controls

    # --- rendering -------------------------------------------------------------------------------------------------

    def render(self, take: str, base_name: str, values: list[Any] | None, complete: bool = False) -> Outcome:
        """Master `take` with the base preset and the controls' values (None: the base as it is): an Outcome with
        the player and plots, or the message beside the control at fault. `complete`: run pending checks too."""
        if not take:
            return Outcome(status="pick a take (or generate one)")
        controls: list[Control] = []
        try:
            base = self.base(base_name)
            controls = self.controls(base)
            changed = overrides(controls, values) if values is not None else {}
            preset = presets.load(base, changed or None)
            session = self.session(take)
            if complete and not session.pending:
                return Outcome(unchanged=True)           # the render before had nothing left to check
            if values is not None and not complete and self.shown == (take, preset.sha256):
                return Outcome(unchanged=True)           # Enter, then leaving the field: one change, one render
            done = session.complete(preset) if complete else session.render(preset, defer_checks=True)
            self.shown = (take, preset.sha256)
        except (SoriError, ValueError) as e:      # ValueError: YAML a control could not read
            self.shown = None
            line = f"sori: error: {e}"
            hit = control_for(controls, str(e))
            return Outcome(errors={hit.id: line} if hit else {}, error="" if hit else line, status=line)
        return Outcome(self.view(session, done), self.status(done, changed), pending=bool(done.pending))

    def view(self, session: Session, done: Render) -> str:
        """The take's player, plots and tables: the report's own section, as the <sori-take> element."""
        m = done.mastered
        out = self.renders / f"{Path(session.name).stem}-{time.time_ns()}.wav"
        depth = m.output.bit_depth if m.output.format != "mp3" else 24
        audio_io.write(out, m.audio, m.sample_rate, depth, dither=False)
        self._keep(out)
        take = page.Take(session.name, "done", "", m.report, done.curves, session.source, out)
        data = page.take_data(take, None)
        data["a"], data["b"] = file_url(session.source) if session.source else None, file_url(out)
        if done.pending:
            data["pending"] = done.pending
        text = html.escape(json.dumps(data, ensure_ascii=False, separators=(",", ":")), quote=True)
        # gradio updates an HTML component by patching the old DOM into the new one, which would empty the player
        # and plots drawn inside the element; a wrapper whose tag alternates is replaced whole instead.
        self.views += 1
        wrap = ("section", "article")[self.views % 2]
        return f'<{wrap}><sori-take data-key="studio" data-take="{text}"></sori-take></{wrap}>'

    def _keep(self, path: Path, last: int = 4) -> None:
        """Renders on disk: the last few (a player may still be reading the one before)."""
        self.written.append(path)
        while len(self.written) > last:
            self.written.pop(0).unlink(missing_ok=True)

    @staticmethod
    def status(done: Render, changed: dict[str, Any]) -> str:
        parts = [f"rendered in {done.seconds:.2f} s"]
        if done.ran:
            parts.append("ran " + ", ".join(done.ran))
        if done.reused:
            parts.append(f"{len(done.reused)} stage{'s' if len(done.reused) != 1 else ''} from the cache")
        if done.pending:
            parts.append(", ".join(done.pending) + ": checking…")
        after = done.mastered.report.get("after") or {}
        if after.get("integrated_lufs") is not None:
            parts.append(f"{after['integrated_lufs']:.1f} LUFS, {after['true_peak_dbtp']:.1f} dBTP")
        parts.append(f"{_count(changed)} change{'s' if _count(changed) != 1 else ''} from the preset")
        return " · ".join(parts)

    # --- saving and generating -------------------------------------------------------------------------------------

    def save(self, path: str, base_name: str, values: list[Any], description: str = "") -> tuple[str, str | None]:
        """Write the edit as YAML (`extends:` the base, only the changed keys): (message, written path or None)."""
        try:
            base = self.base(base_name)
            changed = overrides(self.controls(base), values)
            target = Path(path or self.workdir / f"{base.name}-studio.yaml").expanduser()
            written = save_preset(target, base.path or base_name, changed, description)
        except (SoriError, ValueError, OSError) as e:
            return f"sori: error: {e}", None
        return (f"saved {written} ({_count(changed)} change{'s' if _count(changed) != 1 else ''} from "
                f"{base.name}); check it with `sori presets validate {written}`"), str(written)

    def generate(self, words: str, categories: dict[str, Any], duration: float, seed: int | None) -> Path:
        """A new take from categories (Korean or English words) with the studio's model, added to the takes."""
        if not self.model:
            raise SoriError("no model: start the studio with --model (a hub id such as facebook/musicgen-small, or "
                            "a folder) to generate takes")
        from generate.musicgen import load_model
        from generate.prompt import build_prompt
        from generate.takes import generate_takes

        prompt = build_prompt(keywords=words or None, **{k: v for k, v in categories.items() if v})
        if self.loaded is None:
            self.loaded = load_model(self.model, device=self.device)
        out = self.workdir / "takes"
        stem = f"take-{time.strftime('%Y%m%d-%H%M%S')}"
        (path,) = generate_takes(self.loaded, prompt, n=1, duration=duration, seed=seed, out_dir=out, stem=stem,
                                 progress=False)
        self.add_take(path)
        return path


def _count(changed: dict[str, Any]) -> int:
    return sum(_count(v) if isinstance(v, dict) else 1 for v in changed.values())


def _common_parent(paths: list[Path]) -> Path | None:
    if not paths:
        return None
    parents = [set(p.parents) for p in paths]
    common = set.intersection(*parents)
    return max(common, key=lambda p: len(p.parts)) if common else None
