"""A request for takes, checked whole before any model loads: `sori generate` and `sori make` are built on it, and
so is the Python API.

    from generate.request import Request
    plan = Request(text="슬픈 가야금 산조", n=4, duration=30).check()     # GenerateError (one line) if anything is off
    print("\\n".join(plan.lines()))          # caption, mapping, notes, parameters: what --dry-run prints
    paths = plan.generate("takes/")         # loads the model only now
    plan = Request(prose=open("diary.txt").read(), model="facebook/musicgen-melody", melody="아리랑").check()

`check` refuses, each in one line: misspelt words (with the closest known names; an instrument is never dropped
silently), a caption that comes out empty, a melody file that is missing, unreadable or not a melody (or a tune name
that is none), a melody for a model that cannot follow one, an adapter that is none, a misspelt MusicGen id, a
folder that is not there, and numbers out of range (takes, seconds, seed, sampling). Only then does anything load.
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import GenerateError
from .prompt import Prompt, build_prompt
from .sampling import Sampling, check_request

DEFAULT_MODEL = "facebook/musicgen-small"
MAX_TEXT_BYTES = 1_000_000          # a long blog post is 20 kB; more than this is not prose for one caption
_DEVICES = ("auto", "cpu", "mps", "cuda")


def read_text_source(source: str | os.PathLike) -> str:
    """The prose of `--from-text`: a UTF-8 file, or standard input for '-'."""
    if str(source) == "-":
        data = sys.stdin.buffer.read(MAX_TEXT_BYTES + 1)
        where = "standard input"
    else:
        path = Path(source).expanduser()
        if not path.exists():
            raise GenerateError(f"--from-text {path}: no such file; give a text file (UTF-8), or - to read stdin")
        if path.is_dir():
            raise GenerateError(f"--from-text {path}: is a folder; give a text file")
        try:
            with path.open("rb") as f:
                data = f.read(MAX_TEXT_BYTES + 1)
        except OSError as e:
            raise GenerateError(f"--from-text {path}: cannot be read ({e.strerror or e})") from None
        where = str(path)
    if len(data) > MAX_TEXT_BYTES:
        raise GenerateError(f"--from-text {where}: longer than {MAX_TEXT_BYTES // 1000} kB; give the paragraphs the "
                            "music is for")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise GenerateError(f"--from-text {where}: not UTF-8 text (save it as UTF-8; a CP949/EUC-KR file can be "
                            "converted with `iconv -f cp949 -t utf-8`)") from None
    if not text.strip():
        raise GenerateError(f"--from-text {where}: is empty; give a paragraph or more")
    return text


@dataclass
class Request:
    """What a caller asks for; `check()` turns it into a `Plan` or refuses it in one line."""

    text: str | None = None                 # keywords: '슬픈 가야금 산조 중모리'
    prose: str | None = None                # a blog post, diary, novel's paragraph or poem (--from-text)
    instruments: list[str] = field(default_factory=list)
    genres: list[str] = field(default_factory=list)
    moods: list[str] = field(default_factory=list)
    tempo: str | None = None
    mode: str | None = None
    extra: str = ""
    solo: bool = False
    model: str = DEFAULT_MODEL
    adapter: str | None = None
    melody: str | None = None               # a file, or a folk tune's name (아리랑)
    n: int = 1
    duration: float = 10.0
    seed: int | None = None
    guidance: float = 3.0
    top_k: int = 250
    top_p: float = 0.0
    temperature: float = 1.0
    device: str = "auto"
    dtype: str = "auto"
    engine: str = "auto"
    int8: bool = False
    stem: str = "take"

    def check(self) -> Plan:
        prompt = self._prompt()
        sampling = check_request(self.n, self.duration, self.seed,
                                 Sampling(self.guidance, self.top_k, self.top_p, self.temperature), self.stem)
        self._check_names()
        from .musicgen import check_source, model_type_of
        base = check_source(self.model, self.adapter)
        melody = self._melody(prompt, model_type_of(base))
        return Plan(self, prompt, sampling, melody)

    def _prompt(self) -> Prompt:
        if not (self.text or self.prose or self.instruments or self.genres or self.moods or self.tempo
                or self.mode or self.extra):
            raise GenerateError("nothing to make: give a prompt (e.g. '슬픈 가야금 산조'), --from-text FILE, or "
                                "--instrument/--genre/--mood/--tempo; `sori categories` lists the known words")
        options = {"instruments": self.instruments, "genres": self.genres, "moods": self.moods, "tempo": self.tempo,
                   "mode": self.mode, "solo": self.solo, "extra": self.extra}
        if self.prose is not None:
            from .prose import prompt_from_text
            prompt = prompt_from_text(self.prose, keywords=self.text, **options)
        else:
            prompt = build_prompt(keywords=self.text or None, **options)
        if not prompt.caption.strip():
            said = f" in '{self.text}'" if self.text else ""
            raise GenerateError(f"the caption is empty: nothing{said} is a known instrument, genre, mood or tempo; "
                                "see `sori categories search WORD`, or give prose with --from-text")
        return prompt

    def _check_names(self) -> None:
        from .musicgen import _DTYPES, _ENGINES
        device = (self.device or "auto").lower()
        if device.split(":")[0] not in _DEVICES or (device.startswith("cuda:") and not device[5:].isdigit()):
            raise GenerateError(f"unknown device '{self.device}'; allowed: auto, cpu, cuda, cuda:N, mps")
        if (self.dtype or "auto").lower() not in {"auto", *_DTYPES}:
            raise GenerateError(f"unknown dtype '{self.dtype}'; allowed: auto, {', '.join(sorted(_DTYPES))}")
        if (self.engine or "auto").lower() not in _ENGINES:
            raise GenerateError(f"unknown engine '{self.engine}'; allowed: {', '.join(_ENGINES)}")

    def _melody(self, prompt: Prompt, model_type: str | None) -> dict[str, Any] | None:
        source = self.melody or (prompt.tune if model_type == "musicgen_melody" else None)
        if source is None:
            return None
        from .melody import check
        record = check(source)
        if model_type is not None and model_type != "musicgen_melody":
            raise GenerateError(f"melody {source}: {self.model} is a '{model_type}' model and cannot follow a "
                                "melody; use a melody model such as facebook/musicgen-melody, or drop --melody")
        return {**record, "source": str(source)}


@dataclass
class Plan:
    """A checked request: the prompt (with its mapping), the sampling, the melody; what --dry-run shows."""

    request: Request
    prompt: Prompt
    sampling: Sampling
    melody: dict[str, Any] | None

    def parameters(self) -> dict[str, Any]:
        r = self.request
        from .hub import license_of
        from .musicgen import model_type_of
        return {"model": r.model, "adapter": r.adapter, "model_type": model_type_of(r.model),
                "license": license_of(r.model, Path(r.model).expanduser() if Path(r.model).expanduser().is_dir()
                                      else None),
                "takes": r.n, "duration": r.duration, "seed": r.seed, **asdict(self.sampling),
                "melody": self.melody, "device": r.device, "dtype": r.dtype, "engine": r.engine, "int8": r.int8}

    def to_dict(self) -> dict[str, Any]:
        return {"caption": self.prompt.caption, "prompt": self.prompt.to_dict(), "parameters": self.parameters()}

    def lines(self) -> list[str]:
        """The caption, which words led to which caption parts, the notes, and the parameters."""
        p, r = self.parameters(), self.request
        out = [f"caption: {self.prompt.caption}", "mapping:"]
        out += [f"  {line}" for line in self.prompt.mapping_lines()] or ["  (the caption is as written)"]
        out += [f"note: {n}" for n in self.prompt.notes]
        licence = f" (licence {p['license']})" if p["license"] else " (licence unknown)"
        out.append(f"model: {r.model}{licence}" + (f" + adapter {r.adapter}" if r.adapter else ""))
        seed = "random" if r.seed is None else (f"{r.seed}" if r.n == 1 else f"{r.seed}..{r.seed + r.n - 1}")
        out.append(f"takes: {r.n} x {r.duration:g} s, seed {seed}")
        out.append(f"sampling: guidance {self.sampling.guidance_scale:g}, top-k {self.sampling.top_k}, top-p "
                   f"{self.sampling.top_p:g}, temperature {self.sampling.temperature:g}")
        if self.melody is not None:
            tune = f"the tune {self.melody['tune']}, " if self.melody.get("tune") else ""
            out.append(f"melody: {tune}{self.melody['path']} ({self.melody['kind']}, {self.melody['seconds']:g} s)")
        return out

    def load(self) -> Any:
        from .musicgen import load_model
        r = self.request
        return load_model(r.model, adapter=r.adapter, device=r.device, dtype=r.dtype, engine=r.engine,
                          quantize=r.int8)

    def generate(self, out_dir: str | os.PathLike, *, loaded: Any = None, progress: bool = True) -> list[Path]:
        """Load the model (unless given) and write the takes, as `generate.takes.generate_takes`."""
        loaded = loaded or self.load()        # first: the model's errors come before any other import
        from .takes import generate_takes
        r = self.request
        return generate_takes(loaded, self.prompt, n=r.n, duration=r.duration, seed=r.seed,
                              guidance_scale=r.guidance, top_k=r.top_k, top_p=r.top_p, temperature=r.temperature,
                              out_dir=out_dir, stem=r.stem, progress=progress,
                              melody=self.melody["source"] if self.melody else None)
