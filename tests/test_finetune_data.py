"""The dataset readers (generate.finetune.source: aihub, folder, codes, captions) and .prepare: windows, manifest,
reports."""

from __future__ import annotations

import json
import unicodedata
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from generate.errors import GenerateError
from generate.finetune.aihub import instrument_codes, member_name
from generate.finetune.clips import Locator, read_audio
from generate.finetune.codes import load_codes
from generate.finetune.prepare import MANIFEST_KEYS, WindowSpec, find_windows, prepare
from generate.finetune.source import detect_format, read_source
from generate.prompt import build_prompt
from tests.aihub_fixture import PLANTED, _CP949Info, _label, write_aihub_fixture
from tests.clirun import one_error

RATE = 8_000                       # the prepared rate in these tests (the fixture writes 16 kHz: resampled)
SHORT = {"min_seconds": 1.0, "max_seconds": 3.0, "sample_rate": RATE, "progress": False}


@pytest.fixture(scope="module")
def aihub(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return write_aihub_fixture(tmp_path_factory.mktemp("aihub"))


@pytest.fixture(scope="module")
def prepared(aihub: dict, tmp_path_factory: pytest.TempPathFactory):
    """The whole fixture prepared once, from the folder ABOVE the dataset, with two worker processes."""
    out = tmp_path_factory.mktemp("prepared") / "set"
    return prepare(aihub["root"].parent.parent, out, jobs=2, **SHORT)


def rows_of(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]


# --- reading -------------------------------------------------------------------------------------------------------

def test_reader_pairs_by_split_and_nfc_stem(aihub: dict) -> None:
    reading = read_source(aihub["root"])
    assert reading.format == "aihub"
    got = {c.clip_id: c for c in reading.clips}
    expected = set(aihub["clips"]) | set(aihub["problems"]["silent"]) | set(aihub["problems"]["too-short"])
    assert set(got) == expected
    for clip_id, want in aihub["clips"].items():
        assert got[clip_id].split == want["split"], clip_id
        assert got[clip_id].instruments == ([want["instrument"]] if want["instrument"] else [])
    nfd = got["가야금산조_01"]                          # NFD WAV paired with its NFC JSON, named NFC
    assert unicodedata.is_normalized("NFC", nfd.audio.rel) and nfd.midi is not None
    zipped = got["가야금산조_검증_01"]                   # CP949 member of the Validation zip
    assert zipped.audio.member is not None and zipped.audio.rel.endswith(
        ".zip!VS_전통국악_F_민속악/가야금산조_검증_01.wav")
    assert read_audio(zipped.audio)[1] == aihub["sample_rate"]


def test_root_may_be_above_or_below_the_dataset(aihub: dict) -> None:
    assert detect_format(aihub["root"].parent.parent) == "aihub"
    below = read_source(aihub["root"] / "Validation")          # only Validation: every clip is valid
    assert below.clips and {c.split for c in below.clips} == {"valid"}
    assert {c.clip_id for c in below.clips} == {k for k, v in aihub["clips"].items() if v["split"] == "valid"}


def test_captions_from_codes(aihub: dict) -> None:
    got = {c.clip_id: c for c in read_source(aihub["root"]).clips}
    for clip_id, want in aihub["clips"].items():
        clip = got[clip_id]
        if want["caption"] is not None:
            assert clip.caption == want["caption"], clip_id
        assert clip.caption_ko == want["caption_ko"], clip_id
        assert (clip.jangdan, clip.mode, clip.bpm, clip.solo) == (want["jangdan"], want["mode"], want["bpm"],
                                                                  want["solo"]), clip_id
    first = got["AP_F02_00001"]
    assert first.caption.startswith("traditional Korean sanjo, solo gayageum")
    assert "jungmori rhythm around 72 bpm" in first.caption and "gyemyeonjo mode" in first.caption
    assert first.caption_ko == "가야금 독주, 산조, 중모리 장단, 계면조, 국악"
    assert first.codes == {"instrument": "SP01", "genre": "F02", "jangdan": "QN1202", "mode": "MG01",
                           "category": "전통국악"}
    # DQ0403 is 중중모리 only when the title says so
    assert got["AP_F02_00003"].jangdan == "jungjungmori" and "중중모리" in got["AP_F02_00003"].title
    unconfirmed = got["AP_F02_00502"]
    assert unconfirmed.codes["jangdan"] == "DQ0403" and unconfirmed.jangdan is None
    assert "jungjungmori" not in unconfirmed.caption and "90 bpm" in unconfirmed.caption
    # the unknown instrument code is kept raw, and the clip is not solo
    odd = got["AP_F02_09004"]
    assert odd.codes["instrument"] == "XX99" and odd.instruments == [] and not odd.solo
    # percussion alone is not a solo melody
    assert got["AP_F02_09005"].instruments == ["janggu"] and not got["AP_F02_09005"].solo


def test_code_tables_are_data() -> None:
    codes = load_codes()
    assert codes.instruments["SP01"].entry.en == "gayageum" and codes.instruments["SP04"].entry is None
    assert codes.instruments["SP03"].entry.en == "bipa" and codes.genres["E05"].entry.en == "gagok"      # issue 15
    assert codes.jangdan["DQ0403"].title == "중중모리" and codes.mode_prefixes["MF"].ko == "평조"
    assert codes.genres["F02"].name == "sanjo" and codes.genre_letters["R"].name == "contemporary gugak"
    assert instrument_codes("SP01, wn01") == ["SP01", "WN01"]
    assert instrument_codes(["SR01", "SR01,PN01"]) == ["SR01", "PN01"] and instrument_codes(None) == []
    caption = build_prompt(instruments="가야금", tempo="중모리", bpm=66).caption
    assert "jungmori rhythm around 66 bpm" in caption
    with pytest.raises(GenerateError, match="out of range"):
        build_prompt(instruments="가야금", bpm=900)


def test_zip_member_names(tmp_path: Path) -> None:
    path = tmp_path / "x.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(_CP949Info("폴더/가야금.wav"), b"")
        zf.writestr("utf8/해금.wav", b"")                           # flagged UTF-8
        odd = zipfile.ZipInfo("x")
        zf.writestr(odd, b"")
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        assert member_name(infos[0]) == ("폴더/가야금.wav", "cp949")
        assert member_name(infos[1]) == ("utf8/해금.wav", "utf-8")
        assert member_name(infos[2]) == ("x", "ascii")
        bad = zipfile.ZipInfo(b"\xff\xfe\xfd".decode("cp437"))      # neither UTF-8 nor CP949
        assert member_name(bad)[1] == "cp437"


def test_zips_skip_macos_forks_and_unpacked_copies(tmp_path: Path) -> None:
    root = tmp_path / "Training"
    label = _label("a", "가야금 산조 중 중모리", "F02", "SP01", "QN1202", "MG01", 70, 2.0)
    (root / "02.라벨링데이터" / "TL_x_F_민속악").mkdir(parents=True)
    (root / "02.라벨링데이터" / "TL_x_F_민속악" / "a.json").write_text(json.dumps(label), encoding="utf-8")
    src = root / "01.원천데이터"
    src.mkdir()
    _tone(tmp_path / "a.wav")
    with zipfile.ZipFile(src / "TS_x_F_민속악.zip", "w") as zf:
        zf.write(tmp_path / "a.wav", "TS_x_F_민속악/a.wav")
        zf.writestr("__MACOSX/TS_x_F_민속악/._a.wav", b"resource fork")
    reading = read_source(root)
    assert [c.key for c in reading.clips] == ["train/a"] and reading.problems == []
    assert reading.clips[0].genre == "sanjo" and reading.clips[0].bpm == 70
    (src / "TS_x_F_민속악").mkdir()                               # unpacked beside the zip: read once
    (src / "TS_x_F_민속악" / "a.wav").write_bytes((tmp_path / "a.wav").read_bytes())
    reading = read_source(root)
    assert [c.audio.member for c in reading.clips] == [None]
    assert [p.kind for p in reading.problems] == ["duplicate"]


# --- windows -------------------------------------------------------------------------------------------------------

def test_find_windows_trims_splits_and_cuts() -> None:
    rate = 1000
    tone = lambda s: 0.3 * np.sin(np.arange(int(s * rate)) * 0.3)  # noqa: E731
    quiet = lambda s: np.zeros(int(s * rate))                      # noqa: E731
    x = np.concatenate([quiet(0.5), tone(7.0), quiet(2.0), tone(0.5), quiet(1.2), tone(0.3), quiet(1)])
    wins, why = find_windows(x, rate, WindowSpec(rate, 1.0, 3.0))
    assert why is None and len(wins) == 3                          # 7 s -> 3 x 2.33 s; the 0.5 and 0.3 s dropped
    assert wins[0][0] == 500 and all(abs((b - a) - 2333) <= 1 for a, b in wins)
    wins, _ = find_windows(x, rate, WindowSpec(rate, 2.5, 3.0))    # 7 / 3 < 2.5: two whole 3 s windows
    assert [b - a for a, b in wins] == [3000, 3000] and wins[0][0] == 500 + 500
    short = np.concatenate([tone(0.5), quiet(1.5), tone(0.5)])
    assert find_windows(short, rate, WindowSpec(rate, 1.0, 3.0)) == ([], "too-short")
    assert find_windows(quiet(3), rate, WindowSpec(rate, 1.0, 3.0)) == ([], "silent")
    # a short pause inside the sound does not split it
    assert len(find_windows(np.concatenate([tone(1.5), quiet(0.5), tone(1.0)]), rate, WindowSpec(rate, 1, 3))[0]) == 1


# --- prepare: manifest, audio, reports -----------------------------------------------------------------------------

def test_manifest_rows(aihub: dict, prepared) -> None:
    out = prepared.out_dir
    rows = rows_of(out)
    assert rows == prepared.rows and [r["id"] for r in rows] == sorted({r["id"] for r in rows})
    for row in rows:
        assert tuple(row) == MANIFEST_KEYS
        assert row["id"] == f"{row['split']}/{row['clip']}-{row['id'][-3:]}" and row["split"] in ("train", "valid")
        assert 1.0 <= row["duration_s"] <= 3.0 and row["sample_rate"] == RATE
        info = sf.info(out / row["audio"])
        assert (info.samplerate, info.channels, info.subtype) == (RATE, 1, "PCM_16")
        assert info.frames == round(row["duration_s"] * RATE)
        assert row["audio"].startswith(f"audio/{row['split']}/")
    clips = {r["clip"] for r in rows}
    assert clips == set(aihub["clips"])                        # the silent and too-short clips left no window
    for row in rows:                                           # Training and Validation are never mixed
        assert row["split"] == aihub["clips"][row["clip"]]["split"]
    zipped = [r for r in rows if r["clip"] == "가야금산조_검증_01"]
    assert zipped and "!" in zipped[0]["source"] and zipped[0]["midi"].endswith(".mid")
    gap = aihub["clips"]["AP_F06_00007"]["gap"]                # no window spans the 1.5 s silence
    windows = [r for r in rows if r["clip"] == "AP_F06_00007"]
    assert len(windows) == 2
    for r in windows:
        assert r["start_s"] + r["duration_s"] <= gap[0] + 0.05 or r["start_s"] >= gap[1] - 0.05
    first = next(r for r in rows if r["clip"] == "AP_F02_00001")
    assert first["start_s"] == pytest.approx(0.2, abs=0.03)    # the leading silence is trimmed


def test_parquet_has_the_same_rows(prepared) -> None:
    import pyarrow.parquet as pq
    table = pq.read_table(prepared.out_dir / "manifest.parquet")
    assert table.column_names == list(MANIFEST_KEYS)
    assert table.to_pylist() == rows_of(prepared.out_dir)


def test_stats_add_up(aihub: dict, prepared) -> None:
    stats = json.loads((prepared.out_dir / "stats.json").read_text(encoding="utf-8"))
    total = stats["total"]
    assert total["windows"] == len(prepared.rows)
    assert total["seconds"] == pytest.approx(sum(r["duration_s"] for r in prepared.rows), abs=0.01)
    assert sum(v["total"]["seconds"] for v in stats["instrument"].values()) == pytest.approx(total["seconds"])
    assert sum(v["total"]["clips"] for v in stats["instrument"].values()) == total["clips"]
    for en, ids in aihub["instruments"].items():
        for split in ("train", "valid"):
            want = sum(aihub["clips"][i]["split"] == split for i in ids)
            assert stats["instrument"][en][split]["clips"] == want, (en, split)
    assert stats["jangdan"]["jungjungmori"]["train"]["clips"] == 3
    assert sum(s["hours"] for s in stats["splits"].values()) == pytest.approx(total["hours"], abs=1e-3)
    md = (prepared.out_dir / "stats.md").read_text(encoding="utf-8")
    assert "| gayageum |" in md and "## By jangdan" in md


def test_problems_report(aihub: dict, prepared) -> None:
    problems = [json.loads(line) for line in (prepared.out_dir / "problems.jsonl").read_text(
        encoding="utf-8").splitlines()]
    assert all(set(p) == {"kind", "path", "message"} for p in problems)
    for kind in PLANTED:
        for stem in aihub["problems"][kind]:
            assert any(p["kind"] == kind and stem in unicodedata.normalize("NFC", p["path"]) for p in problems), \
                (kind, stem)
    doc = json.loads((prepared.out_dir / "dataset.json").read_text(encoding="utf-8"))
    assert doc["format"] == "sori-dataset/1" and doc["sample_rate"] == RATE and doc["source_format"] == "aihub"
    assert doc["problems"] == {k: sum(p["kind"] == k for p in problems) for k in doc["problems"]}
    assert doc["counts"]["windows"] == len(prepared.rows)
    assert "problems:" in "\n".join(prepared.summary())


def test_resume_skips_finished_clips(aihub: dict, tmp_path: Path) -> None:
    out = tmp_path / "set"
    first = prepare(aihub["root"], out, instruments=["해금"], jobs=1, **SHORT)
    assert first.processed == 4 and first.skipped == 0
    stamps = {p: p.stat().st_mtime_ns for p in (out / "audio").rglob("*.flac")}
    again = prepare(aihub["root"], out, instruments=["haegeum"], jobs=1, **SHORT)   # same filter, in English
    assert (again.processed, again.skipped) == (0, 4)
    assert {p: p.stat().st_mtime_ns for p in (out / "audio").rglob("*.flac")} == stamps
    assert again.rows == first.rows
    # an interrupted run: one clip's record is missing, so only that clip is cut again
    records = sorted((out / ".sori" / "records").glob("*.json"))
    records[0].unlink()
    third = prepare(aihub["root"], out, instruments=["해금"], jobs=1, **SHORT)
    assert (third.processed, third.skipped) == (1, 3) and third.rows == first.rows
    with pytest.raises(GenerateError, match="other options"):
        prepare(aihub["root"], out, instruments=["해금"], jobs=1, **{**SHORT, "max_seconds": 2.0})


def test_filters(aihub: dict, tmp_path: Path) -> None:
    gayageum = prepare(aihub["root"], tmp_path / "a", instruments=["가야금"], jobs=1, **SHORT)
    assert {tuple(r["instruments"]) for r in gayageum.rows} == {("gayageum",)}
    assert {r["clip"] for r in gayageum.rows} == set(aihub["instruments"]["gayageum"])
    jjm = prepare(aihub["root"], tmp_path / "b", jangdan=["중중모리"], jobs=1, **SHORT)
    assert {r["jangdan"] for r in jjm.rows} == {"jungjungmori"} and len({r["clip"] for r in jjm.rows}) == 3
    both = prepare(aihub["root"], tmp_path / "c", instruments=["가야금", "daegeum"], modes=["평조"], jobs=1, **SHORT)
    assert {(r["instruments"][0], r["mode"]) for r in both.rows} == {("daegeum", "pyeongjo")}
    with pytest.raises(GenerateError, match=r"no clip of .* matches --instrument ajaeng"):
        prepare(aihub["root"], tmp_path / "d", instruments=["아쟁"], jobs=1, **SHORT)
    with pytest.raises(GenerateError, match="is a tempo"):
        prepare(aihub["root"], tmp_path / "e", jangdan=["slow"], **SHORT)


# --- the folder format ---------------------------------------------------------------------------------------------

def _tone(path: Path, seconds: float = 2.5, rate: int = 16_000, freq: float = 330.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate)


def test_folder_dataset(tmp_path: Path) -> None:
    src = tmp_path / "songs"
    _tone(src / "a.wav")
    (src / "a.txt").write_text("solo gayageum, sanjo, jungmori rhythm\n", encoding="utf-8")
    _tone(src / "sub" / "b.flac")
    (src / "sub" / "b.json").write_text(json.dumps({"caption": "calm daegeum melody", "caption_ko": "잔잔한 대금",
                                                    "instruments": ["대금"], "split": "valid"}), encoding="utf-8")
    _tone(src / "train" / "c.wav")
    (src / "train" / "c.json").write_text(json.dumps({"instruments": "해금", "genre": "민요", "jangdan": "굿거리",
                                                      "mode": "평조", "bpm": 84}, ensure_ascii=False), encoding="utf-8")
    _tone(src / "valid" / "d.wav")
    (src / "valid" / "d.txt").write_text("piano ballad", encoding="utf-8")
    _tone(src / "e.wav")                                              # no caption: a problem
    (src / "f.wav").write_bytes(b"")
    (src / "f.json").write_text("{broken", encoding="utf-8")
    assert detect_format(src) == "folder"
    reading = read_source(src, valid_fraction=0.0)
    got = {c.clip_id: c for c in reading.clips}
    assert set(got) == {"a", "sub__b", "train__c", "valid__d"}
    assert got["a"].split == "train" and got["a"].caption == "solo gayageum, sanjo, jungmori rhythm"
    assert got["a"].instruments == ["gayageum"] and got["a"].solo and got["a"].jangdan == "jungmori"
    assert got["sub__b"].split == "valid" and got["sub__b"].caption_ko == "잔잔한 대금"
    assert got["sub__b"].instruments == ["daegeum"]
    c = got["train__c"]
    assert c.split == "train" and "haegeum" in c.caption and "gutgeori rhythm around 84 bpm" in c.caption
    assert c.caption_ko == "해금 독주, 민요, 굿거리 장단, 평조, 국악" and c.bpm == 84
    assert got["valid__d"].split == "valid" and got["valid__d"].instruments == ["piano"]
    kinds = {(p.kind, p.path) for p in reading.problems}
    assert ("no-caption", "e.wav") in kinds and ("malformed-json", "f.json") in kinds
    # the hash split is stable and honours the fraction
    assert [c.split for c in read_source(src, valid_fraction=0.0).clips] == [c.split for c in reading.clips]
    assert {c.clip_id: c.split for c in read_source(src, valid_fraction=0.999).clips}["a"] == "valid"
    result = prepare(src, tmp_path / "set", fmt="auto", jobs=1, **SHORT)
    assert result.source_format == "folder" and {r["clip"] for r in result.rows} >= {"a", "sub__b", "train__c"}
    assert any(p.kind == "unreadable-audio" for p in result.problems) is False   # f.wav has no caption: never read


def test_unreadable_audio_is_a_problem(tmp_path: Path) -> None:
    src = tmp_path / "songs"
    _tone(src / "good.wav")
    (src / "good.txt").write_text("gayageum", encoding="utf-8")
    (src / "bad.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    (src / "bad.txt").write_text("haegeum", encoding="utf-8")
    result = prepare(src, tmp_path / "set", jobs=1, **SHORT)
    assert {r["clip"] for r in result.rows} == {"good"}
    assert [p.kind for p in result.problems] == ["unreadable-audio"]
    assert Locator(src / "good.wav", None, "good.wav").fingerprint()


# --- the command ---------------------------------------------------------------------------------------------------

def test_cli_prepare(sori, aihub: dict, tmp_path: Path) -> None:
    out = tmp_path / "set"
    proc = sori("data", "prepare", aihub["root"], "-o", out, "--instrument", "대금", "--genre", "산조",
                "--min-seconds", "1", "--max-seconds", "3", "--sample-rate", str(RATE), "-j", "1", "-q")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{out}: ") and "windows" in proc.stdout and "train:" in proc.stdout
    rows = rows_of(out)
    assert rows and {r["instruments"][0] for r in rows} == {"daegeum"}
    assert "unknown instrument '가야근'; did you mean 가야금 (gayageum)" in one_error(
        sori("data", "prepare", aihub["root"], "-o", tmp_path / "x", "-i", "가야근"))
    assert "is a tempo" in one_error(sori("data", "prepare", aihub["root"], "-o", tmp_path / "x", "--jangdan", "fast"))
    assert "inside SOURCE" in one_error(sori("data", "prepare", aihub["root"], "-o", aihub["root"] / "out"))
    assert "no such folder" in one_error(sori("data", "prepare", tmp_path / "nope", "-o", tmp_path / "x"))
    (tmp_path / "empty").mkdir()
    assert "nothing usable" in one_error(sori("data", "prepare", tmp_path / "empty", "-o", tmp_path / "x"))
    assert "other options" in one_error(sori("data", "prepare", aihub["root"], "-o", out, "-i", "대금",
                                             "--min-seconds", "1", "--max-seconds", "3", "-q"))
    assert not (tmp_path / "x").exists()
