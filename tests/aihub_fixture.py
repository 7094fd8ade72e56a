"""A small AI Hub 71470 tree written in the test: WAV, MIDI and JSON as the dataset lays them out.

    info = write_aihub_fixture(tmp_path / "aihub", clips_per_instrument=3)
    info["root"]                       # the dataset's top folder (it holds Training/ and Validation/)
    info["clips"]["AP_F02_00001"]      # split, instrument, expected captions, files ...

The layout and the JSON fields are those of docs/reference/aihub-71470.md. Three instruments with distinct
timbres, so a tiny model can tell them apart: 가야금 (SP01) a plucked Karplus-Strong string, 대금 (WN01) a breathy
flute (stereo), 해금 (SR01) a bowed, nasal saw. The Validation source folder is left packed as a zip whose member
names are CP949 without the UTF-8 flag, as older Korean tools wrote them. With `problems=True` the tree also holds
one of each thing a reader must survive (see `PLANTED`).
"""

from __future__ import annotations

import json
import unicodedata
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from scipy import signal

TOP = "209.국악 악보 및 음원 데이터/01-1.정식개방데이터"
GROUP = "전통국악_F_민속악"

# instrument code -> (Korean, English, genre code, Korean genre, mode code, Korean mode, English mode, timbre)
INSTRUMENTS = {
    "SP01": ("가야금", "gayageum", "F02", "산조", "MG01", "계면조", "gyemyeonjo", "pluck"),
    "WN01": ("대금", "daegeum", "F02", "산조", "MF01", "평조", "pyeongjo", "flute"),
    "SR01": ("해금", "haegeum", "F06", "민요", "MG02", "계면조", "gyemyeonjo", "bow"),
}
GENRE_EN = {"F02": "sanjo", "F06": "minyo"}
# (beat code, Korean jangdan in the title, English jangdan or None, tempo annotation) per clip, in turn. DQ0403 counts
# as 중중모리 only when the title says so: the fourth clip's title does not, so it has no jangdan.
JANGDAN = [("QN1202", "중모리", "jungmori", 72), ("DQ0404", "자진모리", "jajinmori", 120),
           ("DQ0403", "중중모리", "jungjungmori", 96), ("DQ0405", "굿거리", "gutgeori", None),
           ("DQ0403", "", None, 90)]
PLANTED = ("malformed-json", "audio-without-json", "json-without-audio", "non-nfc-name", "unknown-code",
           "missing-field", "silent", "too-short", "cp949-name")
PENTATONIC = (0, 2, 4, 7, 9)


def _notes(rng: np.random.Generator, seconds: float, step: float, base_hz: float) -> list[tuple[float, float, float]]:
    """(start, length, frequency) of a simple pentatonic line."""
    out, t = [], 0.0
    while t < seconds - 0.05:
        length = min(step * rng.choice([1, 1, 2]), seconds - t)
        semis = rng.choice(PENTATONIC) + 12 * rng.integers(0, 2)
        out.append((t, length, base_hz * 2 ** (semis / 12)))
        t += length
    return out


def pluck(seconds: float, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Karplus-Strong plucked string: a noise burst through a damped delay loop, a new pluck every note."""
    out = np.zeros(int(seconds * rate))
    for start, length, freq in _notes(rng, seconds, 0.35, 196.0):
        n, period = int(length * rate), max(2, round(rate / freq))
        excite = np.zeros(n)
        excite[:period] = rng.uniform(-1, 1, min(period, n))
        a = np.zeros(period + 2)
        a[0], a[period], a[period + 1] = 1.0, -0.4985, -0.4985
        s = int(start * rate)
        out[s:s + n] += signal.lfilter([1.0], a, excite)[: out.size - s]
    return 0.5 * out / (np.abs(out).max() + 1e-9)


def flute(seconds: float, rate: int, rng: np.random.Generator) -> np.ndarray:
    """A breathy flute: a near-sine with a weak octave, slow attack, wide vibrato and band-passed breath noise."""
    t = np.arange(int(seconds * rate)) / rate
    freq = np.zeros_like(t)
    env = np.zeros_like(t)
    for start, length, f in _notes(rng, seconds, 0.6, 392.0):
        m = (t >= start) & (t < start + length)
        freq[m] = f
        local = t[m] - start
        env[m] = np.minimum(1, local / 0.08) * np.minimum(1, (length - local) / 0.05)
    freq *= 1 + 0.012 * np.sin(2 * np.pi * 5.0 * t)
    phase = 2 * np.pi * np.cumsum(freq) / rate
    tone = np.sin(phase) + 0.15 * np.sin(2 * phase)
    b, a = signal.butter(2, [1500 / (rate / 2), min(0.95, 5000 / (rate / 2))], "band")
    breath = signal.lfilter(b, a, rng.standard_normal(t.size))
    x = env * (tone + 0.35 * breath / (np.abs(breath).max() + 1e-9))
    return 0.4 * x / (np.abs(x).max() + 1e-9)


def bow(seconds: float, rate: int, rng: np.random.Generator) -> np.ndarray:
    """A bowed fiddle: a band-limited sawtooth with vibrato and bow noise, nasal from a formant near 1.2 kHz."""
    t = np.arange(int(seconds * rate)) / rate
    freq = np.zeros_like(t)
    for start, length, f in _notes(rng, seconds, 0.5, 293.7):
        freq[(t >= start) & (t < start + length)] = f
    freq *= 1 + 0.02 * np.sin(2 * np.pi * 6.0 * t)
    phase = 2 * np.pi * np.cumsum(freq) / rate
    saw = sum(np.sin(k * phase) / k for k in range(1, int(rate / 2 / 800)))
    b, a = signal.iirpeak(1200 / (rate / 2), 3.0)
    x = saw + 2.0 * signal.lfilter(b, a, saw) + 0.05 * rng.standard_normal(t.size)
    return 0.45 * x / (np.abs(x).max() + 1e-9)


TIMBRES = {"pluck": pluck, "flute": flute, "bow": bow}


def _midi(path: Path, notes_hz: list[float], bpm: int | None) -> None:
    import mido
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm or 80)))
    for f in notes_hz:
        note = round(69 + 12 * float(np.log2(f / 440.0)))
        track.append(mido.Message("note_on", note=note, velocity=80, time=0))
        track.append(mido.Message("note_off", note=note, velocity=0, time=480))
    mid.save(path)


def _label(stem: str, title: str, genre: str, instrument: Any, beat: str, mode: str, tempo: Any,
           seconds: float) -> dict[str, Any]:
    return {
        "music_source_info": {"music_src_nm": stem, "music_src_fmt": "wav", "music_nm_kor": title,
                              "play_time": round(seconds, 2)},
        "music_type_info": {"music_catagory_1": "전통국악", "music_genre_cd": genre, "instrument_cd": instrument,
                            "main_instr_player": "연주자"},
        "annotation_data_info": {"gukak_beat_cd": beat, "mode_cd": mode,
                                 "tempo": [{"annotation_code": tempo}] if tempo is not None else [],
                                 "lyrics": [], "single_tonguing_cd": [{"annotation_name": "농현"}]},
        "get_info": {"get_place": "국립국악원"},
    }


def _write_wav(path: Path, x: np.ndarray, rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x.T if x.ndim == 2 else x, rate, subtype="PCM_16")


class _CP949Info(zipfile.ZipInfo):
    """A zip entry whose name is stored in CP949 without the UTF-8 flag, as older Korean zip tools did."""

    def _encodeFilenameFlags(self):             # zipfile's own hook, overridden
        return self.filename.encode("cp949"), self.flag_bits & ~0x800


def write_aihub_fixture(root: Path, sample_rate: int = 16_000, clips_per_instrument: int = 3,
                        valid_per_instrument: int = 1, seconds: float = 4.0, problems: bool = True,
                        zip_validation: bool = True, seed: int = 0) -> dict[str, Any]:
    """Write the tree under `root`; returns what was written and what a reader should make of it:

    {"root": Path (holds Training/ and Validation/), "sample_rate": int,
     "clips": {clip_id: {"split", "instrument" (English or None), "instrument_ko", "code", "genre", "jangdan",
                         "mode", "bpm", "solo", "title", "caption", "caption_ko", "seconds", "audio" (path, or
                         "zip!member"), "label" (path), "midi" (path or None), "gap" ((start, end) s or None)}},
     "instruments": {English instrument: [clip ids]},
     "problems": {kind: [the file stem(s) it concerns]}}

    Every entry of "clips" yields windows when prepared with --min-seconds 1 (a clip without a usable instrument or
    label has instrument None). The first training haegeum clip has a 1.5 s silence in the middle; every clip
    starts with 0.2 s of silence."""
    from generate.prompt import build_prompt

    rng = np.random.default_rng(seed)
    top = root / TOP
    info: dict[str, Any] = {"root": top, "sample_rate": sample_rate, "clips": {}, "instruments": {},
                            "problems": {k: [] for k in PLANTED} if problems else {}}
    zip_members: list[tuple[str, Path]] = []
    for split, folder, count in (("train", "Training", clips_per_instrument),
                                 ("valid", "Validation", valid_per_instrument)):
        s_prefix, l_prefix = ("TS", "TL") if split == "train" else ("VS", "VL")
        src = top / folder / "01.원천데이터" / f"{s_prefix}_{GROUP}"
        lab = top / folder / "02.라벨링데이터" / f"{l_prefix}_{GROUP}"
        lab.mkdir(parents=True, exist_ok=True)
        number = 1 if split == "train" else 501
        for k, (code, (ko, en, genre, genre_ko, mode, mode_ko, mode_en, timbre)) in enumerate(INSTRUMENTS.items()):
            for i in range(count):
                # training clips take the jangdan in turn; validation: 굿거리, or DQ0403 with a title that does not
                # confirm it (no jangdan)
                j = i if split == "train" else 3 + (i + k) % 2
                beat, jd_ko, jd_en, tempo = JANGDAN[j % len(JANGDAN)]
                stem = f"AP_{genre}_{number:05d}"
                if split == "train" and code == "SP01" and i == 1:
                    stem = "가야금산조_01"                    # Korean: the WAV's name is written NFD below
                if split == "valid" and code == "SP01" and i == 0:
                    stem = "가야금산조_검증_01"               # Korean inside the CP949 zip
                number += 1
                title = f"{ko} {genre_ko} 중 {jd_ko}" if jd_ko else f"{ko} {genre_ko} (무제)"
                gap = (0.2 + 1.5, 0.2 + 3.0) if (split == "train" and code == "SR01" and i == 0) else None
                body = TIMBRES[timbre](seconds, sample_rate, rng)
                if gap:
                    cut = int(1.5 * sample_rate)
                    body = np.concatenate([body[:cut], np.zeros(int(1.5 * sample_rate)), body[cut:]])
                x = np.concatenate([np.zeros(int(0.2 * sample_rate)), body]).astype(np.float32)
                if timbre == "flute":                       # stereo: the reader mixes it down
                    x = np.stack([x, 0.8 * x])
                wav_name = unicodedata.normalize("NFD", stem) if "가야금산조_01" == stem else stem
                wav = src / f"{wav_name}.wav"
                _write_wav(wav, x, sample_rate)
                midi = src / f"{stem}.mid"
                _midi(midi, [196.0, 220.0, 246.9, 293.7], tempo)
                # instrument_cd as the dataset varies it: a string, a one-item list, a comma-terminated string
                inst_value = {"SP01": "SP01", "WN01": ["WN01"], "SR01": "SR01,"}[code]
                (lab / f"{stem}.json").write_text(json.dumps(
                    _label(stem, title, genre, inst_value, beat, mode, tempo, x.shape[-1] / sample_rate),
                    ensure_ascii=False, indent=1), encoding="utf-8")
                caption = build_prompt(instruments=en, genres=GENRE_EN[genre], tempo=jd_en, mode=mode_en,
                                       solo=True, bpm=tempo).caption
                parts = [f"{ko} 독주", genre_ko] + ([f"{jd_ko} 장단"] if jd_en else []) + [mode_ko, "국악"]
                audio, midi_at = str(wav), str(midi)
                if split == "valid" and zip_validation:
                    zip_members.append((f"{src.name}/{stem}.wav", wav))
                    zip_members.append((f"{src.name}/{stem}.mid", midi))
                    audio = f"{src.parent / (src.name + '.zip')}!{src.name}/{stem}.wav"
                    midi_at = f"{src.parent / (src.name + '.zip')}!{src.name}/{stem}.mid"
                info["clips"][stem] = {
                    "split": split, "instrument": en, "instrument_ko": ko, "code": code, "genre": GENRE_EN[genre],
                    "jangdan": jd_en, "mode": mode_en, "bpm": tempo, "solo": True, "title": title,
                    "caption": caption, "caption_ko": ", ".join(parts), "seconds": x.shape[-1] / sample_rate,
                    "audio": audio, "label": str(lab / f"{stem}.json"), "midi": midi_at, "gap": gap}
                info["instruments"].setdefault(en, []).append(stem)
        if split == "train" and problems:
            _plant(info, src, lab, sample_rate, seconds, rng)
    if zip_members:
        src_dir = zip_members[0][1].parent
        with zipfile.ZipFile(src_dir.parent / f"{src_dir.name}.zip", "w", zipfile.ZIP_DEFLATED) as zf:
            for member, path in zip_members:
                zi = _CP949Info(member, date_time=(2022, 10, 11, 0, 0, 0))
                zi.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(zi, path.read_bytes())
        for _, path in zip_members:
            path.unlink()
        src_dir.rmdir()
        if problems:
            info["problems"]["cp949-name"].append(src_dir.name)
    if problems:
        info["problems"]["non-nfc-name"].append("가야금산조_01")
    return info


def _plant(info: dict[str, Any], src: Path, lab: Path, rate: int, seconds: float, rng: np.random.Generator) -> None:
    """One of each problem a reader must report and survive, in the Training split."""
    tone = (0.3 * np.sin(2 * np.pi * 330 * np.arange(int(seconds * rate)) / rate)).astype(np.float32)
    label = _label("X", "제목", "F02", "SP01", "QN1202", "MG01", 72, seconds)
    # malformed JSON beside a good WAV
    _write_wav(src / "AP_F02_09001.wav", tone, rate)
    (lab / "AP_F02_09001.json").write_text('{"music_source_info": {"music_nm_kor": "깨진', encoding="utf-8")
    info["problems"]["malformed-json"].append("AP_F02_09001")
    # a WAV without its JSON, and a JSON without its WAV
    _write_wav(src / "AP_F02_09002.wav", tone, rate)
    info["problems"]["audio-without-json"].append("AP_F02_09002")
    (lab / "AP_F02_09003.json").write_text(json.dumps(label, ensure_ascii=False), encoding="utf-8")
    info["problems"]["json-without-audio"].append("AP_F02_09003")
    # an unknown instrument code, and no annotation_data_info at all: kept, reported twice
    odd = _label("AP_F02_09004", "알 수 없는 악기", "F02", "XX99", "", "", None, seconds)
    del odd["annotation_data_info"]
    _write_wav(src / "AP_F02_09004.wav", tone, rate)
    (lab / "AP_F02_09004.json").write_text(json.dumps(odd, ensure_ascii=False), encoding="utf-8")
    info["problems"]["unknown-code"].append("AP_F02_09004")
    info["problems"]["missing-field"].append("AP_F02_09004")
    info["clips"]["AP_F02_09004"] = {
        "split": "train", "instrument": None, "instrument_ko": None, "code": "XX99", "genre": "sanjo",
        "jangdan": None, "mode": None, "bpm": None, "solo": False, "title": "알 수 없는 악기", "caption": None,
        "caption_ko": "산조, 국악", "seconds": seconds, "audio": str(src / "AP_F02_09004.wav"),
        "label": str(lab / "AP_F02_09004.json"), "midi": None, "gap": None}
    # a silent clip and a too-short one (janggu, so the melodic instruments' counts stay as asked)
    for stem, x, kind in (("AP_F02_09005", np.zeros_like(tone), "silent"),
                          ("AP_F02_09006", tone[: int(0.5 * rate)], "too-short")):
        _write_wav(src / f"{stem}.wav", x, rate)
        (lab / f"{stem}.json").write_text(json.dumps(_label(stem, "장구 장단", "F02", "PN01", "QN1202", "MG01",
                                                            72, x.size / rate), ensure_ascii=False), encoding="utf-8")
        info["problems"][kind].append(stem)
