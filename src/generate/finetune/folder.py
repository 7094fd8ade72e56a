"""The folder reader: a plain folder of audio files, each with a caption beside it, as `Clip`s.

Audio files (anything `remaster.audio` reads) with a `.txt` caption or a `.json`
({"caption", "caption_ko", "instruments", "genre", "jangdan" or "tempo", "mode", "bpm", "solo", "split", "title"})
beside each. Categories the JSON names are looked up in the taxonomy (then the code tables); what it leaves out is
read from the caption's own words; without a caption, one is made from the categories. The split is the JSON's,
else a `train/` or `valid/` folder on the path, else a stable hash of the relative path (`valid_fraction` of the
clips go to "valid").
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from remaster.batch import visible_files

from ..errors import GenerateError
from ..prompt import parse_text
from ..taxonomy import Taxonomy, has_hangul, load_taxonomy
from .captions import Labels, captions
from .clips import (
    AUDIO_SUFFIXES,
    CODE_KEYS,
    SPLITS,
    Clip,
    Locator,
    Problem,
    Reading,
    label_bpm,
    label_text,
    nfc,
    read_label,
    safe_id,
    unique_id,
)
from .codes import Code, Codes, load_codes

_FOLDER_SPLITS = {"train": "train", "training": "train", "valid": "valid", "validation": "valid", "val": "valid",
                  "dev": "valid"}
_NUMBER = re.compile(r"\d+(\.\d+)?")


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
        rel = nfc(raw_rel)
        if rel != raw_rel:
            problems.append(Problem("non-nfc-name", rel, "the file name is not NFC; named by its NFC form"))
        clip, found = _clip(root, path, rel, valid_fraction, table, tax, used)
        problems.extend(found)
        if clip is not None:
            clips.append(clip)
    clips.sort(key=lambda c: c.key)
    return Reading("folder", root, clips, problems)


def category_names(value: Any) -> list[str]:
    """A JSON category value as names: a string (comma-separated allowed) or a list of strings."""
    items = value if isinstance(value, list | tuple) else [value]
    out = []
    for item in items:
        text = label_text(item)
        if text:
            out.extend(p.strip() for p in text.split(",") if p.strip())
    return list(dict.fromkeys(out))


def _clip(root: Path, path: Path, rel: str, valid_fraction: float, codes: Codes, tax: Taxonomy,
          used: dict[str, set[str]]) -> tuple[Clip | None, list[Problem]]:
    problems: list[Problem] = []
    meta, text_caption, label_loc = _beside_files(root, path, problems)
    caption = label_text(meta.get("caption")) or text_caption
    labels, given = _meta_labels(meta, rel, codes, tax, problems)
    if caption:
        _fill_from_caption(labels, caption, meta, codes, tax)
        caption_ko = label_text(meta.get("caption_ko")) or ""
        solo = labels.decide_solo()
    elif given:
        made = _made_captions(labels, rel, tax, problems)
        if made is None:
            return None, problems
        caption, caption_ko, solo = made
        caption_ko = label_text(meta.get("caption_ko")) or caption_ko
    else:
        why = "no caption: put a .txt beside it, or a .json with 'caption' (or instruments/genre/jangdan/mode)"
        problems.append(Problem("no-caption", rel, f"{why}; left out"))
        return None, problems

    split = _split(rel, meta.get("split"), valid_fraction, problems)
    clip_id = unique_id(safe_id(PurePosixPath(rel).with_suffix("").as_posix().replace("/", "__")), rel, used[split])
    midi = _beside(path, (".mid", ".midi"))
    clip = Clip(split=split, clip_id=clip_id, audio=Locator(path, None, rel),
                midi=Locator(midi, None, nfc(midi.relative_to(root).as_posix())) if midi else None,
                title=label_text(meta.get("title")), caption=caption, caption_ko=caption_ko,
                instruments=[c.name for c in labels.instruments if c.name],
                genre=labels.genre.name or None if labels.genre else None,
                jangdan=labels.jangdan.name or None if labels.jangdan else None,
                mode=labels.mode.name or None if labels.mode else None, bpm=labels.bpm, solo=solo,
                codes=dict.fromkeys(CODE_KEYS), label=label_loc.rel if label_loc else None, names=labels.names())
    return clip, problems


def _beside(path: Path, suffixes: Iterable[str]) -> Path | None:
    for suffix in suffixes:
        for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
            if candidate.is_file():
                return candidate
    return None


def _beside_files(root: Path, path: Path, problems: list[Problem]
                  ) -> tuple[dict[str, Any], str | None, Locator | None]:
    """The JSON beside the audio ({} if none or unreadable), the .txt caption, and which of them is the label."""
    meta: dict[str, Any] = {}
    label_loc = None
    side_json = _beside(path, (".json",))
    if side_json is not None:
        loc = Locator(side_json, None, nfc(side_json.relative_to(root).as_posix()))
        data, why = read_label(loc)
        if data is None:
            problems.append(Problem("malformed-json", loc.rel, f"{why}; ignored"))
        else:
            meta, label_loc = data, loc
    text_caption = None
    side_txt = _beside(path, (".txt",))
    if side_txt is not None:
        txt_rel = nfc(side_txt.relative_to(root).as_posix())
        try:
            text_caption = " ".join(side_txt.read_text(encoding="utf-8-sig").split()) or None
        except (OSError, UnicodeDecodeError) as e:
            problems.append(Problem("bad-caption", txt_rel, f"cannot read the caption ({e}); ignored"))
        if label_loc is None and text_caption:
            label_loc = Locator(side_txt, None, txt_rel)
    return meta, text_caption, label_loc


def _meta_labels(meta: dict[str, Any], rel: str, codes: Codes, tax: Taxonomy, problems: list[Problem]
                 ) -> tuple[Labels, bool]:
    """The categories the JSON names, and whether it names any."""
    labels = Labels()
    given = False
    if meta.get("instruments") is not None:
        labels.instruments, given = _rows(meta["instruments"], "instruments", rel, codes, tax, problems), True
    if meta.get("genre") is not None:
        labels.genre, given = next(iter(_rows(meta["genre"], "genres", rel, codes, tax, problems)), None), True
    for key in ("jangdan", "tempo", "bpm"):         # a jangdan or tempo name, or beats per minute
        value = meta.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value.strip())):
            bpm, why = label_bpm(value)
            if why:
                problems.append(Problem("bad-tempo", rel, f"{why}; ignored"))
            labels.bpm = labels.bpm or bpm
        elif key != "bpm" and labels.jangdan is None:
            labels.jangdan, given = next(iter(_rows(value, "tempos", rel, codes, tax, problems)), None), True
    if meta.get("mode") is not None:
        labels.mode, given = next(iter(_rows(meta["mode"], "modes", rel, codes, tax, problems)), None), True
    if isinstance(meta.get("solo"), bool):
        labels.solo = meta["solo"]
    return labels, given


def _rows(value: Any, field_name: str, rel: str, codes: Codes, tax: Taxonomy, problems: list[Problem]) -> list[Code]:
    """A JSON category value as rows: taxonomy entries, else code-table names, else kept as written (noted)."""
    out = []
    for word in category_names(value):
        entry = tax.lookup(word, field_name)
        row = codes.wrap(entry) if entry is not None else codes.find_name(field_name, word)
        if row is None:
            problems.append(Problem("unknown-category", rel, f"'{word}' is not a known {field_name[:-1]}; "
                                    "kept as written"))
            row = Code(code="", ko=word, en="" if has_hangul(word) else word, caption=None)
        out.append(row)
    return out


def _fill_from_caption(labels: Labels, caption: str, meta: dict[str, Any], codes: Codes, tax: Taxonomy) -> None:
    """What the JSON did not give, from the caption's own words."""
    parsed = parse_text(caption, tax)
    found = {f: [e for e in parsed.entries if e.field == f] for f in ("instruments", "genres", "tempos", "modes")}
    if meta.get("instruments") is None:
        labels.instruments = [codes.wrap(e) for e in found["instruments"]]
    if labels.genre is None and found["genres"]:
        labels.genre = codes.wrap(found["genres"][0])
    if labels.jangdan is None and (jd := [e for e in found["tempos"] if e.gugak]):
        labels.jangdan = codes.wrap(jd[0])
    if labels.mode is None and found["modes"]:
        labels.mode = codes.wrap(found["modes"][0])
    if labels.bpm is None:
        labels.bpm = parsed.bpm
    if labels.solo is None:
        labels.solo = any(e.flag == "solo" for e in parsed.entries)


def _made_captions(labels: Labels, rel: str, tax: Taxonomy, problems: list[Problem]
                   ) -> tuple[str, str, bool] | None:
    """Captions made from the JSON's categories; None (noted) when they cannot make one."""
    gugak = any(c.entry is not None and c.entry.gugak for c in (*labels.instruments, labels.genre,
                                                                 labels.jangdan, labels.mode) if c is not None)
    try:
        return captions(labels, gugak=gugak, taxonomy=tax)
    except GenerateError as e:
        problems.append(Problem("bad-labels", rel, f"no caption can be made ({e}); left out"))
        return None


def _split(rel: str, wanted: Any, valid_fraction: float, problems: list[Problem]) -> str:
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


def _split_hash(rel: str) -> float:
    """A number in [0, 1) fixed by the relative path: the same file always lands in the same split."""
    return int.from_bytes(hashlib.sha256(rel.encode("utf-8")).digest()[:8], "big") / 2.0 ** 64
