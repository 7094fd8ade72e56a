"""The dataset reader: AI Hub 71470 (국악 악보 및 음원 데이터) or a plain folder of captioned audio, as `Clip`s.

    from generate.finetune.data import read_source
    reading = read_source(Path("~/aihub/209.국악 악보 및 음원 데이터"))
    reading.clips[0].caption      # 'traditional Korean sanjo, solo gayageum (...), moderate jungmori rhythm ...'
    reading.problems              # everything odd that was met, one `Problem` (kind, path, message) each

AI Hub 71470 (facts: shared/reference/aihub-71470.md): `Training|Validation/01.원천데이터/TS_*|VS_*/` hold
`*.wav` and `*.mid`, `Training|Validation/02.라벨링데이터/TL_*|VL_*/` hold one `*.json` per item, and any of those
folders may still be packed as one zip (members possibly inside a subfolder). A JSON, its WAV and its MID share the
file stem; they are paired by split and NFC-normalised stem, so Training and Validation never mix. SOURCE may be
the dataset's top folder, a folder above it, or one below it that still holds the split folders: the split is read
from the nearest `TS_/TL_/VS_/VL_` or `Training/Validation` part of each file's absolute path.

The codes in the labels (instrument, genre, jangdan, mode) are translated through `codes.yaml` beside this module
(data, with its sources noted there) into taxonomy entries of `generate/data/categories.yaml`, and the English
caption is built by `generate.prompt.build_prompt`, as `sori generate` builds one from a request.

A reader that meets bad input keeps going: unknown codes (kept raw), missing keys, malformed JSON, a JSON without
its WAV and a WAV without its JSON, NFD names, CP949 names in zips all become `Problem` records.

The folder format: audio files (anything `remaster.audio` reads) with a `.txt` caption or a `.json`
({"caption", "caption_ko", "instruments", "genre", "jangdan" or "tempo", "mode", "bpm", "solo", "split", "title"})
beside each. The split is the JSON's, else a `train/` or `valid/` folder on the path, else a stable hash of the
relative path (`valid_fraction` of the clips go to "valid").
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import math
import os
import re
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import yaml

from remaster import audio as audio_io
from remaster.batch import visible_files
from remaster.errors import AudioError

from ..errors import GenerateError
from ..prompt import build_prompt, parse_text
from ..taxonomy import Entry, Taxonomy, has_hangul, load_taxonomy, normalize

SPLITS = ("train", "valid")
FORMATS = ("auto", "aihub", "folder")
FILTER_FIELDS = ("instruments", "genres", "tempos", "modes")
CODE_KEYS = ("instrument", "genre", "jangdan", "mode", "category")
AUDIO_SUFFIXES = frozenset(audio_io.READ_SUFFIXES)
MIDI_SUFFIXES = frozenset({".mid", ".midi"})
_TABLES = ("instruments", "jangdan", "mode_prefixes", "genres", "genre_letters")
_CODE_KEYS_ALLOWED = {"ko", "en", "taxonomy", "caption", "melodic", "ensemble", "title"}
# Which taxonomy field a code table's `taxonomy:` names.
_TABLE_FIELD = {"instruments": "instruments", "jangdan": "tempos", "mode_prefixes": "modes", "genres": "genres",
                "genre_letters": "genres"}

# "Training", "1.Training", "validation" ... and the TS_/TL_/VS_/VL_ folder (or zip) names of AI Hub.
_SPLIT_DIR = re.compile(r"^(?:\d+[.\s_-]*)?(training|validation)$", re.IGNORECASE)
_SPLIT_PREFIX = re.compile(r"^(TS|TL|VS|VL)_", re.IGNORECASE)
_FOLDER_SPLITS = {"train": "train", "training": "train", "valid": "valid", "validation": "valid", "val": "valid",
                  "dev": "valid"}
_UNSAFE = re.compile(r"[^\w.\-]+")


# --- records -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    """Something odd in the source: `kind` (e.g. 'malformed-json'), `path` relative to SOURCE, and what happened."""

    kind: str
    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "path": self.path, "message": self.message}


@dataclass(frozen=True)
class Locator:
    """Where a file's bytes are: a plain file, or a member of a zip (`member` as `zipfile` names it).

    `rel` is how people and manifests see it: relative to SOURCE, NFC, a zip member as "path/x.zip!member"."""

    path: Path
    member: str | None = None
    rel: str = ""

    def read_bytes(self) -> bytes:
        if self.member is None:
            return self.path.read_bytes()
        return _zip(self.path).read(self.member)

    def fingerprint(self) -> str:
        """Changes when the bytes change (size and time of the file; a member's CRC and size)."""
        st = self.path.stat()
        if self.member is None:
            return f"{st.st_size}:{st.st_mtime_ns}"
        info = _zip(self.path).getinfo(self.member)
        return f"{info.CRC:08x}:{info.file_size}"

    def __str__(self) -> str:
        return self.rel or str(self.path)


@dataclass
class Clip:
    """One recording with its labels and captions: what `prepare` cuts into windows."""

    split: str                              # "train" | "valid"
    clip_id: str                            # unique within the split, safe as a file name (NFC)
    audio: Locator
    midi: Locator | None
    title: str | None
    caption: str                            # English, for MusicGen
    caption_ko: str                         # Korean ("" when unknown)
    instruments: list[str]                  # English names (taxonomy names where the taxonomy has the instrument)
    genre: str | None
    jangdan: str | None
    mode: str | None
    bpm: int | None                         # the recording's own tempo when its labels give one
    solo: bool
    codes: dict[str, str | None] = field(default_factory=dict)       # raw codes of the labels (CODE_KEYS)
    label: str | None = None                # the label file (relative locator), if any
    names: dict[str, frozenset[str]] = field(default_factory=dict)   # normalised names per FILTER_FIELDS

    @property
    def key(self) -> str:
        return f"{self.split}/{self.clip_id}"

    def matches(self, field_name: str, wanted: Iterable[str]) -> bool:
        """True when any normalised name in `wanted` names this clip's instrument/genre/jangdan/mode."""
        return bool(self.names.get(field_name, frozenset()) & set(wanted))


@dataclass
class Reading:
    """What a source held: its format, the usable clips (sorted by split and id) and the problems met."""

    format: str
    root: Path
    clips: list[Clip]
    problems: list[Problem]


# --- code tables ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Code:
    """One row of a code table in codes.yaml (or a category of a folder dataset's JSON)."""

    code: str
    ko: str
    en: str                         # English name ('' for a code that names nothing, such as NB0013 기타)
    entry: Entry | None = None      # the taxonomy entry, when the taxonomy has one
    caption: str | None = None      # English caption words when there is no entry
    melodic: bool = True
    ensemble: bool = False
    title: str | None = None        # jangdan: counts only when the title contains this word

    @property
    def name(self) -> str:
        """The English name manifests use: the taxonomy's where it has the entry."""
        return self.entry.en if self.entry is not None else self.en

    @property
    def phrase(self) -> str:
        return self.caption or self.en

    @property
    def is_ensemble(self) -> bool:
        return self.ensemble or (self.entry is not None and self.entry.ensemble)

    def keys(self) -> set[str]:
        names = {self.ko, self.en, *(self.entry.names if self.entry is not None else ())}
        return {normalize(n) for n in names if n and normalize(n)}


@dataclass(frozen=True)
class Codes:
    instruments: dict[str, Code]
    jangdan: dict[str, Code]
    mode_prefixes: dict[str, Code]
    genres: dict[str, Code]
    genre_letters: dict[str, Code]
    title_genres: tuple[tuple[str, str], ...]       # (word, genre code), longest word first
    title_jangdan: tuple[tuple[str, str], ...]

    def find_name(self, field_name: str, word: str) -> Code | None:
        """A code-table row by its Korean or English name, for names the taxonomy lacks (e.g. 비파)."""
        tables = {"instruments": (self.instruments,), "genres": (self.genres, self.genre_letters),
                  "tempos": (self.jangdan,), "modes": (self.mode_prefixes,)}[field_name]
        key = normalize(word)
        for table in tables:
            for code in table.values():
                if key and key in {normalize(code.ko), normalize(code.en)}:
                    return code
        return None


def read_codes(text: str, source: str = "codes.yaml", taxonomy: Taxonomy | None = None) -> Codes:
    """Code tables from YAML text; errors name the source, the table and the code."""
    tax = taxonomy or load_taxonomy()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise GenerateError(f"{source}: not valid YAML: {exc}".replace("\n", " ")) from exc
    if not isinstance(data, dict):
        raise GenerateError(f"{source}: expected a mapping with {', '.join(_TABLES)}")
    tables: dict[str, dict[str, Code]] = {}
    for table in _TABLES:
        raw = data.get(table)
        if not isinstance(raw, dict) or not raw:
            raise GenerateError(f"{source}: '{table}' must be a mapping of code to entry")
        rows: dict[str, Code] = {}
        for code, row in raw.items():
            where = f"{source}: {table}.{code}"
            if not isinstance(row, dict):
                raise GenerateError(f"{where}: an entry must be a mapping, got {row!r}")
            unknown = set(row) - _CODE_KEYS_ALLOWED
            if unknown:
                raise GenerateError(f"{where}: unknown keys {sorted(unknown)}; "
                                    f"allowed are {sorted(_CODE_KEYS_ALLOWED)}")
            if not isinstance(row.get("ko"), str) or not row["ko"].strip():
                raise GenerateError(f"{where}: 'ko' must be a non-empty string")
            entry = None
            if row.get("taxonomy") is not None:
                entry = tax.lookup(str(row["taxonomy"]), _TABLE_FIELD[table])
                if entry is None:
                    raise GenerateError(f"{where}: taxonomy entry '{row['taxonomy']}' is not a known "
                                        f"{_TABLE_FIELD[table]} entry of the taxonomy")
            en = row.get("en", entry.en if entry is not None else None)
            if not isinstance(en, str) or has_hangul(en) or has_hangul(row.get("caption") or ""):
                raise GenerateError(f"{where}: needs 'en' (English, no Hangul) or a 'taxonomy' entry")
            rows[str(code).upper()] = Code(code=str(code).upper(), ko=_nfc(row["ko"].strip()), en=en.strip(),
                                           entry=entry, caption=row.get("caption"),
                                           melodic=bool(row.get("melodic", True)),
                                           ensemble=bool(row.get("ensemble", False)),
                                           title=_nfc(row["title"]) if row.get("title") else None)
        tables[table] = rows

    def words(key: str, table: str) -> tuple[tuple[str, str], ...]:
        raw = data.get(key) or {}
        if not isinstance(raw, dict):
            raise GenerateError(f"{source}: '{key}' must be a mapping of word to code")
        for word, code in raw.items():
            if str(code).upper() not in tables[table]:
                raise GenerateError(f"{source}: {key}.{word}: code '{code}' is not in '{table}'")
        return tuple(sorted(((_nfc(str(w)), str(c).upper()) for w, c in raw.items()), key=lambda wc: -len(wc[0])))

    return Codes(**tables, title_genres=words("title_genres", "genres"),
                 title_jangdan=words("title_jangdan", "jangdan"))


@functools.cache
def load_codes() -> Codes:
    """The built-in code tables (package data next to this module), loaded once."""
    text = resources.files("generate.finetune").joinpath("codes.yaml").read_text(encoding="utf-8")
    return read_codes(text, "generate/finetune/codes.yaml")


# --- small helpers -------------------------------------------------------------------------------------------------

def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _text(value: Any) -> str | None:
    """A label value as stripped NFC text; None for missing, empty or non-scalar values."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return None if isinstance(value, float) and not math.isfinite(value) else str(value)
    if isinstance(value, str):
        value = _nfc(value).strip()
        return value or None
    return None


def safe_id(stem: str) -> str:
    """A clip id from a file stem: NFC, characters other than letters, digits, '.', '-' and '_' become '_'."""
    return _UNSAFE.sub("_", _nfc(stem)).strip("._") or "clip"


def member_name(info: zipfile.ZipInfo) -> tuple[str, str]:
    """A zip member's real name and how it was decoded.

    Zip entries without the UTF-8 flag (0x800) are decoded by Python as cp437; Korean tools of the AI Hub era wrote
    those names in CP949. So: the flag set -> as is; else the cp437 bytes read as UTF-8 (tools that forget the flag)
    or CP949; names neither fits stay as Python read them ('cp437')."""
    name = info.filename
    if info.flag_bits & 0x800:
        return name, "utf-8"
    try:
        raw = name.encode("cp437")
    except UnicodeEncodeError:
        return name, "utf-8"                # already decoded another way (ZipFile(metadata_encoding=...))
    if raw.isascii():
        return name, "ascii"
    for encoding in ("utf-8", "cp949"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            pass
    return name, "cp437"


class _ZipCache:
    """Open zips kept for reuse (reading thousands of labels from one zip must not re-read its directory each time)."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self.open: dict[Path, zipfile.ZipFile] = {}

    def get(self, path: Path) -> zipfile.ZipFile:
        zf = self.open.pop(path, None)
        if zf is None:
            zf = zipfile.ZipFile(path)
            while len(self.open) >= self.size:
                self.open.pop(next(iter(self.open))).close()
        self.open[path] = zf                    # most recently used last
        return zf

    def close(self) -> None:
        for zf in self.open.values():
            zf.close()
        self.open.clear()


_ZIPS = _ZipCache()


def _zip(path: Path) -> zipfile.ZipFile:
    return _ZIPS.get(path)


def close_zips() -> None:
    """Close the zips this process keeps open."""
    _ZIPS.close()


def read_audio(loc: Locator) -> tuple[np.ndarray, int]:
    """float32 samples (channels, frames) and the rate, from a file or a zip member; `AudioError` if unreadable."""
    if loc.member is None:
        return audio_io.read(loc.path)
    import soundfile as sf
    try:
        data, rate = sf.read(io.BytesIO(loc.read_bytes()), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError, ValueError, zipfile.BadZipFile, OSError) as e:
        raise AudioError(f"{loc}: corrupt or unreadable audio ({str(e).strip().splitlines()[-1] if str(e) else e})"
                         ) from None
    if data.shape[0] == 0:
        raise AudioError(f"{loc}: contains no audio frames")
    return np.ascontiguousarray(data.T), int(rate)


def _split_hash(rel: str) -> float:
    """A number in [0, 1) fixed by the relative path: the same file always lands in the same split."""
    return int.from_bytes(hashlib.sha256(rel.encode("utf-8")).digest()[:8], "big") / 2.0 ** 64


def split_of(parts: Sequence[str]) -> tuple[str | None, str | None]:
    """The AI Hub split of a path (its parts, NFC) and the TS_/TL_/VS_/VL_ folder it is in: the nearest marker wins."""
    for part in reversed(parts):
        m = _SPLIT_PREFIX.match(part)
        if m:
            return ("train" if m.group(1).upper().startswith("T") else "valid"), part
        m = _SPLIT_DIR.match(part)
        if m:
            return ("train" if m.group(1).lower() == "training" else "valid"), None
    return None, None


def _is_marker(name: str) -> bool:
    stem = name[:-4] if name.lower().endswith(".zip") else name
    return bool(_SPLIT_DIR.match(stem) or _SPLIT_PREFIX.match(stem))


def detect_format(root: Path, max_depth: int = 6) -> str:
    """'aihub' when ROOT (or a folder or zip under it, a few levels deep) is named like the AI Hub split folders
    (Training, Validation, TS_..., TL_..., VS_..., VL_...); else 'folder'."""
    if any(_is_marker(_nfc(p)) for p in root.resolve().parts):
        return "aihub"
    base = len(root.parts)
    for dirpath, dirnames, filenames in os.walk(root):
        depth = len(Path(dirpath).parts) - base
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")) if depth < max_depth else []
        if any(_is_marker(_nfc(n)) for n in dirnames) or any(
                n.lower().endswith(".zip") and _is_marker(_nfc(n)) for n in filenames):
            return "aihub"
    return "folder"


def read_source(root: str | os.PathLike, fmt: str = "auto", valid_fraction: float = 0.05,
                taxonomy: Taxonomy | None = None, codes: Codes | None = None) -> Reading:
    """Read SOURCE as AI Hub 71470 or as a captioned folder (`fmt` 'auto' decides by the folder names)."""
    root = Path(root)
    if fmt not in FORMATS:
        raise GenerateError(f"unknown format '{fmt}'; use one of {', '.join(FORMATS)}")
    if not root.exists():
        raise GenerateError(f"{root}: no such folder")
    if not root.is_dir():
        raise GenerateError(f"{root}: is not a folder; SOURCE is the dataset's folder")
    kind = detect_format(root) if fmt == "auto" else fmt
    try:
        if kind == "aihub":
            return read_aihub(root, taxonomy, codes)
        return read_folder(root, valid_fraction, taxonomy, codes)
    finally:
        close_zips()


# --- captions ------------------------------------------------------------------------------------------------------

@dataclass
class Labels:
    """A clip's categories as code-table rows (or taxonomy entries wrapped as rows), before captions are made."""

    instruments: list[Code] = field(default_factory=list)
    unknown_instruments: list[str] = field(default_factory=list)
    genre: Code | None = None
    jangdan: Code | None = None
    mode: Code | None = None
    bpm: int | None = None
    solo: bool | None = None            # None: decide by the rule in `decide_solo`

    def decide_solo(self) -> bool:
        """One instrument only, a melodic one that is not a group, nothing unknown, and no ensemble genre."""
        if self.solo is not None:
            return self.solo
        return (len(self.instruments) == 1 and not self.unknown_instruments and self.instruments[0].melodic
                and not self.instruments[0].is_ensemble and not (self.genre is not None and self.genre.is_ensemble))

    def names(self) -> dict[str, frozenset[str]]:
        one = {"genres": self.genre, "tempos": self.jangdan, "modes": self.mode}
        out = {"instruments": frozenset(k for c in self.instruments for k in c.keys())}
        out.update({f: frozenset(c.keys()) if c is not None else frozenset() for f, c in one.items()})
        return out


def captions(labels: Labels, gugak: bool = True, taxonomy: Taxonomy | None = None) -> tuple[str, str, bool]:
    """The English caption (through `build_prompt`), the Korean caption, and whether the clip is solo.

    Categories the taxonomy has go in as taxonomy entries; the rest as English free text (`extra`). `gugak` adds
    "traditional Korean music" when nothing else in the caption says so."""
    tax = taxonomy or load_taxonomy()
    solo = labels.decide_solo()
    inst_entries = [c.entry for c in labels.instruments if c.entry is not None]
    free: list[str] = []
    solo_entry = solo and len(inst_entries) == 1 and len(labels.instruments) == 1
    if solo and not solo_entry:
        free.append(f"solo {labels.instruments[0].phrase}")          # the taxonomy lacks this instrument
    else:
        free.extend(c.phrase for c in labels.instruments if c.entry is None and c.phrase and not has_hangul(c.phrase))
    genres: list[Entry] = []
    genre = labels.genre
    if genre is not None:
        if genre.entry is not None:
            genres.append(genre.entry)
            if genre.en and normalize(genre.en) != normalize(genre.entry.en):
                free.append(genre.en)                                 # the piece's form, e.g. yeongsan hoesang
        elif genre.phrase and not has_hangul(genre.phrase):
            free.insert(0, genre.phrase)
    jangdan = labels.jangdan if labels.jangdan is not None and labels.jangdan.en else None
    tempo = jangdan.entry if jangdan is not None else None
    if jangdan is not None and tempo is None and not has_hangul(jangdan.en):
        free.append(f"{jangdan.en} rhythm")
    mode = labels.mode.entry if labels.mode is not None else None
    if mode is None and labels.mode is not None and labels.mode.en and not has_hangul(labels.mode.en):
        free.append(labels.mode.phrase)
    if gugak and not any(e.gugak for e in (*inst_entries, *genres, tempo, mode) if e is not None):
        genres.append(tax.find("traditional Korean music", "genres"))
    prompt = build_prompt(instruments=inst_entries, genres=genres, tempo=tempo, mode=mode, solo=solo_entry,
                          extra=", ".join(free), bpm=labels.bpm, taxonomy=tax)

    ko: list[str] = []
    if labels.instruments:
        names = ", ".join(c.ko for c in labels.instruments)
        alone = "독창" if labels.instruments[0].code.startswith("V") else "독주"     # a voice sings alone: 독창
        ko.append(f"{names} {alone}" if solo else names)
    if genre is not None:
        ko.append(genre.ko)
    if jangdan is not None:
        ko.append(jangdan.ko if jangdan.ko.endswith("장단") else f"{jangdan.ko} 장단")
    if labels.mode is not None:
        ko.append(labels.mode.ko)
    if gugak and not any("국악" in part for part in ko):
        ko.append("국악")
    return prompt.caption, ", ".join(ko), solo


def _wrap(entry: Entry, codes: Codes) -> Code:
    """A taxonomy entry as a code-table row; unpitched as the code table says (장구, 북, ...)."""
    unpitched = any(c.entry is entry and not c.melodic for c in codes.instruments.values())
    return Code(code="", ko=entry.ko, en=entry.en, entry=entry, ensemble=entry.ensemble, melodic=not unpitched)


# --- AI Hub 71470 --------------------------------------------------------------------------------------------------

@dataclass
class _Found:
    kind: str                 # json | audio | midi
    loc: Locator
    folder: str | None        # the TS_/TL_/VS_/VL_ folder (NFC), for the genre letter


class _Scan:
    """Every label, audio and MIDI file under ROOT (and inside zips), grouped by split and NFC stem."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root_abs = root.resolve()
        self.groups: dict[tuple[str, str], dict[str, list[_Found]]] = defaultdict(lambda: defaultdict(list))
        self.problems: list[Problem] = []

    def rel(self, path: Path) -> str:
        return _nfc(path.relative_to(self.root).as_posix())

    def walk(self) -> None:
        for path in visible_files(self.root):
            suffix = path.suffix.lower()
            if suffix == ".zip":
                self.zip(path)
            elif suffix in AUDIO_SUFFIXES or suffix in MIDI_SUFFIXES or suffix == ".json":
                parts = (self.root_abs / path.relative_to(self.root)).parts
                self.add(parts, Locator(path, None, self.rel(path)))

    def zip(self, path: Path) -> None:
        rel = self.rel(path)
        if path.with_suffix("").is_dir():           # unpacked beside its zip: read the folder only
            self.problems.append(Problem("duplicate", rel, f"the folder {path.stem}/ beside it holds the same "
                                         "files; the zip is left out"))
            return
        try:
            zf = _zip(path)
            infos = zf.infolist()
        except (zipfile.BadZipFile, OSError) as e:
            self.problems.append(Problem("bad-zip", rel, f"not a readable zip ({e}); its files are left out"))
            return
        outer = (self.root_abs / path.relative_to(self.root)).parts
        outer = (*outer[:-1], path.stem)            # the zip stands for the folder it packs
        recoded: list[str] = []
        for info in infos:
            if info.is_dir():
                continue
            name, how = member_name(info)
            if how in ("cp949", "cp437"):
                recoded.append(how)
            member_parts = PurePosixPath(name.replace("\\", "/")).parts
            if any(part.startswith((".", "__MACOSX")) for part in member_parts):
                continue                            # macOS resource forks ("__MACOSX/._x.wav") and hidden files
            suffix = PurePosixPath(name).suffix.lower()
            if suffix in AUDIO_SUFFIXES or suffix in MIDI_SUFFIXES or suffix == ".json":
                self.add((*outer, *member_parts), Locator(path, info.filename, f"{rel}!{_nfc(name)}"))
        if "cp949" in recoded:
            self.problems.append(Problem("cp949-name", rel, f"{recoded.count('cp949')} member name(s) are CP949 "
                                         "without the zip's UTF-8 flag; read as CP949"))
        if "cp437" in recoded:
            self.problems.append(Problem("undecodable-name", rel, f"{recoded.count('cp437')} member name(s) are "
                                         "neither UTF-8 nor CP949; kept as read (cp437)"))

    def add(self, parts: Sequence[str], loc: Locator) -> None:
        name = parts[-1]
        if _nfc(name) != name:
            self.problems.append(Problem("non-nfc-name", loc.rel, "the file name is not NFC (decomposed Hangul, "
                                         "as macOS writes it); paired and named by its NFC form"))
        split, folder = split_of([_nfc(p) for p in parts[:-1]])
        if split is None:
            return                                  # outside Training/Validation: not part of the dataset
        nfc = PurePosixPath(_nfc(name))
        suffix = nfc.suffix.lower()
        kind = "json" if suffix == ".json" else "midi" if suffix in MIDI_SUFFIXES else "audio"
        self.groups[split, nfc.stem][kind].append(_Found(kind, loc, folder))


def read_aihub(root: Path, taxonomy: Taxonomy | None = None, codes: Codes | None = None) -> Reading:
    """Read the AI Hub 71470 layout under ROOT (see the module's docstring and the reference file)."""
    tax = taxonomy or load_taxonomy()
    table = codes or load_codes()
    scan = _Scan(root)
    scan.walk()
    problems = scan.problems
    clips: list[Clip] = []
    used: dict[str, set[str]] = {s: set() for s in SPLITS}
    for (split, stem), group in sorted(scan.groups.items()):
        for kind, found in group.items():
            for extra in found[1:]:
                problems.append(Problem("duplicate", extra.loc.rel, f"a second {kind} file for '{stem}' in {split} "
                                        f"(first: {found[0].loc.rel}); this one is left out"))
        label = group["json"][0] if group.get("json") else None
        audio = group["audio"][0] if group.get("audio") else None
        midi = group["midi"][0] if group.get("midi") else None
        if label is None and audio is None:
            if midi is not None:
                problems.append(Problem("midi-without-audio", midi.loc.rel, "a MIDI file without WAV or label"))
            continue
        if audio is None:
            problems.append(Problem("json-without-audio", label.loc.rel,
                                    f"label without a WAV named '{stem}' in {split}; left out"))
            continue
        if label is None:
            problems.append(Problem("audio-without-json", audio.loc.rel,
                                    f"WAV without a label named '{stem}.json' in {split}; left out"))
            continue
        data, why = _load_json(label.loc)
        if data is None:
            problems.append(Problem("malformed-json", label.loc.rel, f"{why}; the clip is left out"))
            continue
        clip_id = safe_id(stem)
        if clip_id in used[split]:
            clip_id = f"{clip_id}-{hashlib.sha1(stem.encode()).hexdigest()[:6]}"
        used[split].add(clip_id)
        clip, found = _aihub_clip(split, clip_id, data, label, audio, midi, table, tax)
        problems.extend(found)
        if clip is not None:
            clips.append(clip)
    return Reading("aihub", root, clips, problems)


def _load_json(loc: Locator) -> tuple[Any, str]:
    try:
        raw = loc.read_bytes()
    except (OSError, zipfile.BadZipFile, KeyError) as e:
        return None, f"cannot read the label ({e})"
    for encoding in ("utf-8-sig", "cp949"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        return None, "the label is neither UTF-8 nor CP949 text"
    try:
        data = json.loads(text)
    except ValueError as e:
        return None, f"not valid JSON ({e})"
    if not isinstance(data, dict):
        return None, f"expected a JSON object, got {type(data).__name__}"
    return data, ""


# The keys of the label this reader uses (section -> keys), reported when absent.
_EXPECTED = {"music_source_info": ("music_nm_kor",),
             "music_type_info": ("music_genre_cd", "instrument_cd"),
             "annotation_data_info": ("gukak_beat_cd", "mode_cd", "tempo")}


def instrument_codes(value: Any) -> list[str]:
    """instrument_cd as codes: a string, a comma- (or space-, slash-) separated string, or a list of those."""
    items = value if isinstance(value, list | tuple) else [value]
    out: list[str] = []
    for item in items:
        text = _text(item)
        if text:
            out.extend(c.upper() for c in re.split(r"[\s,;/|]+", text) if c)
    return list(dict.fromkeys(out))


def _bpm(value: Any) -> tuple[int | None, str | None]:
    """A tempo annotation as beats per minute, or why it is not one."""
    if value is None or value == "" or isinstance(value, bool):
        return None, None
    try:
        bpm = float(value.strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        return None, f"tempo annotation {value!r} is not a number"
    if not math.isfinite(bpm) or not 20 <= bpm <= 300:
        return None, f"tempo annotation {value!r} is outside 20-300 bpm"
    return round(bpm), None


def _folder_genre(folder: str | None, codes: Codes) -> Code | None:
    """The genre of a folder named like TS_전통국악_F_민속악: its one-letter group."""
    if not folder:
        return None
    parts = folder.split("_")
    for part in parts[1:]:
        if len(part) == 1 and part.upper() in codes.genre_letters:
            return codes.genre_letters[part.upper()]
    return None


def _title_code(title: str | None, words: tuple[tuple[str, str], ...], table: dict[str, Code]) -> Code | None:
    if title:
        for word, code in words:
            if word in title:
                row = table[code]
                if row.title is None or row.title in title:
                    return row
    return None


def _aihub_clip(split: str, clip_id: str, data: dict[str, Any], label: _Found, audio: _Found, midi: _Found | None,
                codes: Codes, tax: Taxonomy) -> tuple[Clip | None, list[Problem]]:
    problems: list[Problem] = []

    def problem(kind: str, message: str) -> None:
        problems.append(Problem(kind, label.loc.rel, message))

    missing: list[str] = []
    sections: dict[str, dict[str, Any]] = {}
    for name, keys in _EXPECTED.items():
        section = data.get(name)
        if not isinstance(section, dict):
            missing.append(name)
            section = {}
        else:
            missing.extend(f"{name}.{k}" for k in keys if k not in section
                           and not (k == "instrument_cd" and "main_instrmt_cd" in section))
        sections[name] = section
    if missing:
        problem("missing-field", f"no {', '.join(missing)}; the caption leaves that out")
    src, kind, ann = sections["music_source_info"], sections["music_type_info"], sections["annotation_data_info"]
    title = _text(src.get("music_nm_kor"))

    labels = Labels()
    raw_instruments = kind.get("instrument_cd")
    if not instrument_codes(raw_instruments):       # the NIA checker: one of the two is filled in
        raw_instruments = kind.get("main_instrmt_cd")
    inst = instrument_codes(raw_instruments)
    for code in inst:
        row = codes.instruments.get(code)
        if row is None:
            labels.unknown_instruments.append(code)
            problem("unknown-code", f"instrument code '{code}' is not in the code table; kept as a raw code")
        else:
            labels.instruments.append(row)

    genre_cd = (_text(kind.get("music_genre_cd")) or "").upper() or None
    labels.genre = codes.genres.get(genre_cd) if genre_cd else None
    if genre_cd and labels.genre is None:
        problem("unknown-code", f"genre code '{genre_cd}' is not in the code table; the folder's genre is used")
    if labels.genre is None:
        labels.genre = (_title_code(title, codes.title_genres, codes.genres)
                        or _folder_genre(audio.folder, codes) or _folder_genre(label.folder, codes))

    beat_cd = (_text(ann.get("gukak_beat_cd")) or "").upper() or None
    row = codes.jangdan.get(beat_cd) if beat_cd else None
    if beat_cd and row is None:
        problem("unknown-code", f"jangdan code '{beat_cd}' is not in the code table; kept as a raw code")
    if row is not None and row.title is not None and row.title not in (title or ""):
        row = None                                  # e.g. DQ0403 counts as 중중모리 only when the title says so
    if row is not None and not row.en:
        row = None                                  # NB0013 기타: no rhythm named
    labels.jangdan = row or _title_code(title, codes.title_jangdan, codes.jangdan)

    mode_cd = (_text(ann.get("mode_cd")) or "").upper() or None
    labels.mode = codes.mode_prefixes.get(mode_cd[:2]) if mode_cd else None
    if mode_cd and labels.mode is None:
        problem("unknown-code", f"mode code '{mode_cd}' is neither MG (계면조) nor MF (평조) family; kept raw")

    tempo = ann.get("tempo")                        # a list of annotations; the first one's code is the BPM
    first = (tempo[0] if tempo else None) if isinstance(tempo, list) else tempo
    value = first.get("annotation_code") if isinstance(first, dict) else first
    labels.bpm, why = _bpm(value if not isinstance(value, list | dict) else str(value))
    if why:
        problem("bad-tempo", f"{why}; the caption uses the jangdan's usual tempo")

    try:
        caption, caption_ko, solo = captions(labels, gugak=True, taxonomy=tax)
    except GenerateError as e:
        problem("bad-labels", f"no caption can be made ({e}); the clip is left out")
        return None, problems
    clip = Clip(split=split, clip_id=clip_id, audio=audio.loc, midi=midi.loc if midi else None, title=title,
                caption=caption, caption_ko=caption_ko, instruments=[c.name for c in labels.instruments],
                genre=labels.genre.name if labels.genre else None,
                jangdan=labels.jangdan.name if labels.jangdan else None,
                mode=labels.mode.name if labels.mode else None, bpm=labels.bpm, solo=solo,
                codes={"instrument": ",".join(inst) or None, "genre": genre_cd, "jangdan": beat_cd, "mode": mode_cd,
                       "category": _text(kind.get("music_catagory_1"))},   # sic: the dataset's spelling
                label=label.loc.rel, names=labels.names())
    return clip, problems


# --- a folder of captioned audio -----------------------------------------------------------------------------------

def read_folder(root: Path, valid_fraction: float = 0.05, taxonomy: Taxonomy | None = None,
                codes: Codes | None = None) -> Reading:
    """Audio files with a `.txt` caption or a `.json` of categories beside each (see the module's docstring)."""
    tax = taxonomy or load_taxonomy()
    table = codes or load_codes()
    clips: list[Clip] = []
    problems: list[Problem] = []
    used: dict[str, set[str]] = {s: set() for s in SPLITS}
    for path in visible_files(root):
        if path.suffix.lower() not in AUDIO_SUFFIXES:
            continue
        raw_rel = path.relative_to(root).as_posix()
        rel = _nfc(raw_rel)
        if rel != raw_rel:
            problems.append(Problem("non-nfc-name", rel, "the file name is not NFC; named by its NFC form"))
        clip, found = _folder_clip(root, path, rel, valid_fraction, table, tax, used)
        problems.extend(found)
        if clip is not None:
            clips.append(clip)
    clips.sort(key=lambda c: c.key)
    return Reading("folder", root, clips, problems)


def _beside(path: Path, suffixes: Iterable[str]) -> Path | None:
    for suffix in suffixes:
        for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
            if candidate.is_file():
                return candidate
    return None


def _folder_clip(root: Path, path: Path, rel: str, valid_fraction: float, codes: Codes, tax: Taxonomy,
                 used: dict[str, set[str]]) -> tuple[Clip | None, list[Problem]]:
    problems: list[Problem] = []
    meta: dict[str, Any] = {}
    side_json = _beside(path, (".json",))
    side_txt = _beside(path, (".txt",))
    label_loc = None
    if side_json is not None:
        label_loc = Locator(side_json, None, _nfc(side_json.relative_to(root).as_posix()))
        data, why = _load_json(label_loc)
        if data is None:
            problems.append(Problem("malformed-json", label_loc.rel, f"{why}; ignored"))
            label_loc = None
        else:
            meta = data
    text_caption = None
    if side_txt is not None:
        try:
            text_caption = " ".join(side_txt.read_text(encoding="utf-8-sig").split()) or None
        except (OSError, UnicodeDecodeError) as e:
            problems.append(Problem("bad-caption", _nfc(side_txt.relative_to(root).as_posix()),
                                    f"cannot read the caption ({e}); ignored"))
        if label_loc is None and text_caption:
            label_loc = Locator(side_txt, None, _nfc(side_txt.relative_to(root).as_posix()))
    caption = _text(meta.get("caption")) or text_caption

    labels = Labels()
    given = False

    def resolve(value: Any, field_name: str) -> list[Code]:
        out = []
        for word in category_names(value):
            entry = tax.lookup(word, field_name)
            row = _wrap(entry, codes) if entry is not None else codes.find_name(field_name, word)
            if row is None:
                problems.append(Problem("unknown-category", rel, f"'{word}' is not a known {field_name[:-1]}; "
                                        "kept as written"))
                row = Code(code="", ko=word, en="" if has_hangul(word) else word, caption=None)
            out.append(row)
        return out

    if meta.get("instruments") is not None:
        labels.instruments, given = resolve(meta["instruments"], "instruments"), True
    if meta.get("genre") is not None:
        labels.genre, given = next(iter(resolve(meta["genre"], "genres")), None), True
    for key in ("jangdan", "tempo", "bpm"):         # a jangdan or tempo name, or beats per minute
        value = meta.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, int | float) or (isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?", value.strip())):
            bpm, why = _bpm(value)
            if why:
                problems.append(Problem("bad-tempo", rel, f"{why}; ignored"))
            labels.bpm = labels.bpm or bpm
        elif key != "bpm" and labels.jangdan is None:
            labels.jangdan, given = next(iter(resolve(value, "tempos")), None), True
    if meta.get("mode") is not None:
        labels.mode, given = next(iter(resolve(meta["mode"], "modes")), None), True
    if isinstance(meta.get("solo"), bool):
        labels.solo = meta["solo"]

    if caption:                                     # fill what the JSON did not give from the caption's own words
        parsed = parse_text(caption, tax)
        found = {f: [e for e in parsed.entries if e.field == f] for f in ("instruments", "genres", "tempos", "modes")}
        if meta.get("instruments") is None:
            labels.instruments = [_wrap(e, codes) for e in found["instruments"]]
        if labels.genre is None and found["genres"]:
            labels.genre = _wrap(found["genres"][0], codes)
        if labels.jangdan is None and (jd := [e for e in found["tempos"] if e.gugak]):
            labels.jangdan = _wrap(jd[0], codes)
        if labels.mode is None and found["modes"]:
            labels.mode = _wrap(found["modes"][0], codes)
        if labels.bpm is None:
            labels.bpm = parsed.bpm
        if labels.solo is None:
            labels.solo = any(e.flag == "solo" for e in parsed.entries)
        caption_ko = _text(meta.get("caption_ko")) or ""
        solo = labels.decide_solo()
    elif given:
        gugak = any(c.entry is not None and c.entry.gugak for c in (*labels.instruments, labels.genre,
                                                                     labels.jangdan, labels.mode) if c is not None)
        try:
            caption, caption_ko, solo = captions(labels, gugak=gugak, taxonomy=tax)
        except GenerateError as e:
            problems.append(Problem("bad-labels", rel, f"no caption can be made ({e}); left out"))
            return None, problems
        caption_ko = _text(meta.get("caption_ko")) or caption_ko
    else:
        why = "no caption: put a .txt beside it, or a .json with 'caption' (or instruments/genre/jangdan/mode)"
        problems.append(Problem("no-caption", rel, f"{why}; left out"))
        return None, problems

    split = _folder_split(rel, meta.get("split"), valid_fraction, problems)
    stem = PurePosixPath(rel).with_suffix("").as_posix()
    clip_id = safe_id(stem.replace("/", "__"))
    if clip_id in used[split]:
        clip_id = f"{clip_id}-{hashlib.sha1(rel.encode()).hexdigest()[:6]}"
    used[split].add(clip_id)
    midi = _beside(path, (".mid", ".midi"))
    clip = Clip(split=split, clip_id=clip_id, audio=Locator(path, None, rel),
                midi=Locator(midi, None, _nfc(midi.relative_to(root).as_posix())) if midi else None,
                title=_text(meta.get("title")), caption=caption, caption_ko=caption_ko,
                instruments=[c.name for c in labels.instruments if c.name],
                genre=labels.genre.name or None if labels.genre else None,
                jangdan=labels.jangdan.name or None if labels.jangdan else None,
                mode=labels.mode.name or None if labels.mode else None, bpm=labels.bpm, solo=solo,
                codes=dict.fromkeys(CODE_KEYS), label=label_loc.rel if label_loc else None, names=labels.names())
    return clip, problems


def category_names(value: Any) -> list[str]:
    """A JSON category value as names: a string (comma-separated allowed) or a list of strings."""
    items = value if isinstance(value, list | tuple) else [value]
    out = []
    for item in items:
        text = _text(item)
        if text:
            out.extend(p.strip() for p in text.split(",") if p.strip())
    return list(dict.fromkeys(out))


def _folder_split(rel: str, wanted: Any, valid_fraction: float, problems: list[Problem]) -> str:
    if wanted is not None:
        split = _FOLDER_SPLITS.get(str(wanted).strip().lower())
        if split is not None:
            return split
        problems.append(Problem("bad-split", rel, f"split {wanted!r} is not train or valid; split by hash"))
    for part in reversed(PurePosixPath(rel).parts[:-1]):
        split = _FOLDER_SPLITS.get(part.lower())
        if split is not None:
            return split
    return "valid" if _split_hash(rel) < valid_fraction else "train"
