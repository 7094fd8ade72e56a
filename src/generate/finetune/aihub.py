"""The AI Hub 71470 reader (국악 악보 및 음원 데이터): labels, WAVs and MIDIs, in folders or zips, paired into `Clip`s.

Layout (facts: docs/reference/aihub-71470.md): `Training|Validation/01.원천데이터/TS_*|VS_*/` hold `*.wav` and
`*.mid`, `Training|Validation/02.라벨링데이터/TL_*|VL_*/` hold one `*.json` per item, and any of those folders may
still be packed as one zip (members possibly inside a subfolder, names possibly CP949 without the UTF-8 flag). A
JSON, its WAV and its MID share the file stem; they are paired by split and NFC-normalised stem, so Training and
Validation never mix. SOURCE may be the dataset's top folder, a folder above it, or one below it that still holds the
split folders: the split is read from the nearest `TS_/TL_/VS_/VL_` or `Training/Validation` part of each file's
absolute path.

The codes in the labels (instrument, genre, jangdan, mode) are translated through the code tables (`codes.py`) into
taxonomy entries, and the captions are made by `captions.py`. Bad input never stops the reader: unknown codes (kept
raw), missing keys, malformed JSON, a JSON without its WAV and a WAV without its JSON, NFD names and CP949 names in
zips all become `Problem` records.
"""

from __future__ import annotations

import re
import zipfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from remaster.batch import visible_files

from ..errors import GenerateError
from ..taxonomy import Taxonomy, load_taxonomy
from .captions import Labels, captions
from .clips import (
    AUDIO_SUFFIXES,
    MIDI_SUFFIXES,
    SPLITS,
    Clip,
    Locator,
    Problem,
    Reading,
    label_bpm,
    label_text,
    nfc,
    open_zip,
    read_label,
    safe_id,
    unique_id,
)
from .codes import Code, Codes, load_codes

# "Training", "1.Training", "validation" ... and the TS_/TL_/VS_/VL_ folder (or zip) names of AI Hub.
_SPLIT_DIR = re.compile(r"^(?:\d+[.\s_-]*)?(training|validation)$", re.IGNORECASE)
_SPLIT_PREFIX = re.compile(r"^(TS|TL|VS|VL)_", re.IGNORECASE)
# The keys of the label this reader uses (section -> keys), reported when absent.
_EXPECTED = {"music_source_info": ("music_nm_kor",),
             "music_type_info": ("music_genre_cd", "instrument_cd"),
             "annotation_data_info": ("gukak_beat_cd", "mode_cd", "tempo")}


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


def is_split_marker(name: str) -> bool:
    """A folder (or zip) named like an AI Hub split: Training, Validation, TS_..., TL_..., VS_..., VL_..."""
    stem = name[:-4] if name.lower().endswith(".zip") else name
    return bool(_SPLIT_DIR.match(stem) or _SPLIT_PREFIX.match(stem))


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


def instrument_codes(value: Any) -> list[str]:
    """instrument_cd as codes: a string, a comma- (or space-, slash-) separated string, or a list of those."""
    items = value if isinstance(value, list | tuple) else [value]
    out: list[str] = []
    for item in items:
        text = label_text(item)
        if text:
            out.extend(c.upper() for c in re.split(r"[\s,;/|]+", text) if c)
    return list(dict.fromkeys(out))


# --- finding the files ---------------------------------------------------------------------------------------------

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
        return nfc(path.relative_to(self.root).as_posix())

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
            zf = open_zip(path)
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
                self.add((*outer, *member_parts), Locator(path, info.filename, f"{rel}!{nfc(name)}"))
        if "cp949" in recoded:
            self.problems.append(Problem("cp949-name", rel, f"{recoded.count('cp949')} member name(s) are CP949 "
                                         "without the zip's UTF-8 flag; read as CP949"))
        if "cp437" in recoded:
            self.problems.append(Problem("undecodable-name", rel, f"{recoded.count('cp437')} member name(s) are "
                                         "neither UTF-8 nor CP949; kept as read (cp437)"))

    def add(self, parts: Sequence[str], loc: Locator) -> None:
        name = parts[-1]
        if nfc(name) != name:
            self.problems.append(Problem("non-nfc-name", loc.rel, "the file name is not NFC (decomposed Hangul, "
                                         "as macOS writes it); paired and named by its NFC form"))
        split, folder = split_of([nfc(p) for p in parts[:-1]])
        if split is None:
            return                                  # outside Training/Validation: not part of the dataset
        stem = PurePosixPath(nfc(name))
        suffix = stem.suffix.lower()
        kind = "json" if suffix == ".json" else "midi" if suffix in MIDI_SUFFIXES else "audio"
        self.groups[split, stem.stem][kind].append(_Found(kind, loc, folder))


# --- reading -------------------------------------------------------------------------------------------------------

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
        pair = _pair(split, stem, group, problems)
        if pair is None:
            continue
        label, audio, midi = pair
        data, why = read_label(label.loc)
        if data is None:
            problems.append(Problem("malformed-json", label.loc.rel, f"{why}; the clip is left out"))
            continue
        clip_id = unique_id(safe_id(stem), stem, used[split])
        clip, found = _clip(split, clip_id, data, label, audio, midi, table, tax)
        problems.extend(found)
        if clip is not None:
            clips.append(clip)
    return Reading("aihub", root, clips, problems)


def _pair(split: str, stem: str, group: dict[str, list[_Found]], problems: list[Problem]
          ) -> tuple[_Found, _Found, _Found | None] | None:
    """The label, WAV and MIDI of one stem; None (the problem noted) without a label or a WAV."""
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
        return None
    if audio is None:
        problems.append(Problem("json-without-audio", label.loc.rel,
                                f"label without a WAV named '{stem}' in {split}; left out"))
        return None
    if label is None:
        problems.append(Problem("audio-without-json", audio.loc.rel,
                                f"WAV without a label named '{stem}.json' in {split}; left out"))
        return None
    return label, audio, midi


class _Notes(list[Problem]):
    """The problems of one label file."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def add(self, kind: str, message: str) -> None:
        self.append(Problem(kind, self.path, message))


def _clip(split: str, clip_id: str, data: dict[str, Any], label: _Found, audio: _Found, midi: _Found | None,
          codes: Codes, tax: Taxonomy) -> tuple[Clip | None, list[Problem]]:
    notes = _Notes(label.loc.rel)
    src, kind, ann = _sections(data, notes)
    title = label_text(src.get("music_nm_kor"))
    labels = Labels()
    inst, labels.instruments, labels.unknown_instruments = _instruments(kind, codes, notes)
    genre_cd, labels.genre = _genre(kind, title, audio, label, codes, notes)
    beat_cd, labels.jangdan = _jangdan(ann, title, codes, notes)
    mode_cd, labels.mode = _mode(ann, codes, notes)
    labels.bpm = _tempo(ann, notes)
    try:
        caption, caption_ko, solo = captions(labels, gugak=True, taxonomy=tax)
    except GenerateError as e:
        notes.add("bad-labels", f"no caption can be made ({e}); the clip is left out")
        return None, notes
    clip = Clip(split=split, clip_id=clip_id, audio=audio.loc, midi=midi.loc if midi else None, title=title,
                caption=caption, caption_ko=caption_ko, instruments=[c.name for c in labels.instruments],
                genre=labels.genre.name if labels.genre else None,
                jangdan=labels.jangdan.name if labels.jangdan else None,
                mode=labels.mode.name if labels.mode else None, bpm=labels.bpm, solo=solo,
                codes={"instrument": ",".join(inst) or None, "genre": genre_cd, "jangdan": beat_cd, "mode": mode_cd,
                       "category": label_text(kind.get("music_catagory_1"))},   # sic: the dataset's spelling
                label=label.loc.rel, names=labels.names())
    return clip, notes


def _sections(data: dict[str, Any], notes: _Notes) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The label's source, type and annotation sections ({} where absent), with what is missing noted."""
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
        notes.add("missing-field", f"no {', '.join(missing)}; the caption leaves that out")
    return sections["music_source_info"], sections["music_type_info"], sections["annotation_data_info"]


def _code(section: dict[str, Any], key: str) -> str | None:
    return (label_text(section.get(key)) or "").upper() or None


def _instruments(kind: dict[str, Any], codes: Codes, notes: _Notes) -> tuple[list[str], list[Code], list[str]]:
    """The instrument codes as given, the rows of the known ones, and the unknown codes."""
    raw = kind.get("instrument_cd")
    if not instrument_codes(raw):                   # the NIA checker: one of the two is filled in
        raw = kind.get("main_instrmt_cd")
    inst = instrument_codes(raw)
    rows, unknown = [], []
    for code in inst:
        row = codes.instruments.get(code)
        if row is None:
            unknown.append(code)
            notes.add("unknown-code", f"instrument code '{code}' is not in the code table; kept as a raw code")
        else:
            rows.append(row)
    return inst, rows, unknown


def _genre(kind: dict[str, Any], title: str | None, audio: _Found, label: _Found, codes: Codes, notes: _Notes
           ) -> tuple[str | None, Code | None]:
    """The genre code, and its row: the code's, else a word of the title, else the folders' genre letter."""
    genre_cd = _code(kind, "music_genre_cd")
    row = codes.genres.get(genre_cd) if genre_cd else None
    if genre_cd and row is None:
        notes.add("unknown-code", f"genre code '{genre_cd}' is not in the code table; the folder's genre is used")
    if row is None:
        row = (_title_code(title, codes.title_genres, codes.genres)
               or _folder_genre(audio.folder, codes) or _folder_genre(label.folder, codes))
    return genre_cd, row


def _jangdan(ann: dict[str, Any], title: str | None, codes: Codes, notes: _Notes) -> tuple[str | None, Code | None]:
    beat_cd = _code(ann, "gukak_beat_cd")
    row = codes.jangdan.get(beat_cd) if beat_cd else None
    if beat_cd and row is None:
        notes.add("unknown-code", f"jangdan code '{beat_cd}' is not in the code table; kept as a raw code")
    if row is not None and row.title is not None and row.title not in (title or ""):
        row = None                                  # e.g. DQ0403 counts as 중중모리 only when the title says so
    if row is not None and not row.en:
        row = None                                  # NB0013 기타: no rhythm named
    return beat_cd, row or _title_code(title, codes.title_jangdan, codes.jangdan)


def _mode(ann: dict[str, Any], codes: Codes, notes: _Notes) -> tuple[str | None, Code | None]:
    mode_cd = _code(ann, "mode_cd")
    row = codes.mode_prefixes.get(mode_cd[:2]) if mode_cd else None
    if mode_cd and row is None:
        notes.add("unknown-code", f"mode code '{mode_cd}' is neither MG (계면조) nor MF (평조) family; kept raw")
    return mode_cd, row


def _tempo(ann: dict[str, Any], notes: _Notes) -> int | None:
    tempo = ann.get("tempo")                        # a list of annotations; the first one's code is the BPM
    first = (tempo[0] if tempo else None) if isinstance(tempo, list) else tempo
    value = first.get("annotation_code") if isinstance(first, dict) else first
    bpm, why = label_bpm(value if not isinstance(value, list | dict) else str(value))
    if why:
        notes.add("bad-tempo", f"{why}; the caption uses the jangdan's usual tempo")
    return bpm


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
