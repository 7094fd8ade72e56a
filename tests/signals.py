"""Synthetic "raw generations": real melodies, degraded the way MusicGen output is.

Nothing is downloaded. Plucked strings are Karplus–Strong (a delay line with a lossy averaging filter,
run as one IIR filter), winds are additive with a vibrato contour, drums are pitched-sine kicks and noise
snares and hats. `degrade()` then does to them what a 32 kHz generator does: band-limit to 16 kHz, sit
quietly (about -30 LUFS), add hiss and a DC offset. The demo, the tests and the benchmarks share these.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import butter, lfilter, sosfilt

from remaster import audio as audio_io
from remaster.analysis.loudness import integrated_loudness
from remaster.analysis.tuning import SCALES
from remaster.processors.resample import resample

A4 = 440.0
MAJOR = list(SCALES["major"])
PYEONGJO = list(SCALES["pyeongjo"])          # sol la do re mi, in semitones from sol
GYEMYEONJO = list(SCALES["gyemyeonjo"])      # la do re mi sol, in semitones from la


def midi_hz(note: float, cents: float = 0.0) -> float:
    return A4 * 2 ** ((note - 69 + cents / 100) / 12)


def karplus_strong(freq: float, seconds: float, sample_rate: int, rng: np.random.Generator,
                   decay: float = 0.996, brightness: float = 0.6) -> np.ndarray:
    """A plucked string: noise burst into a delay line of one period with a two-tap loss filter."""
    period = sample_rate / freq
    n = int(period)
    frac = period - n             # the two-tap average adds `frac` of a sample: the loop is exactly `period`
    total = int(seconds * sample_rate)
    burst = rng.uniform(-1, 1, n)
    burst = lfilter([brightness], [1, brightness - 1], burst)   # softer pluck, less high noise
    x = np.zeros(total)
    x[: min(n, total)] = burst[: min(n, total)]
    a = np.zeros(n + 2)
    a[0] = 1.0
    a[n] -= decay * (1 - frac)
    a[n + 1] -= decay * frac
    y = lfilter([1.0], a, x)
    return (y / (np.abs(y).max() + 1e-12)).astype(np.float32)


def wind(f0: np.ndarray, sample_rate: int, harmonics: int = 8, breath: float = 0.02,
         rng: np.random.Generator | None = None) -> np.ndarray:
    """An additive wind voice following the per-sample pitch contour `f0` (Hz)."""
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    out = np.zeros_like(f0)
    for h in range(1, harmonics + 1):
        audible = (h * f0) < sample_rate / 2 - 500
        out += np.where(audible, np.sin(h * phase) / h ** 1.5, 0.0)
    if rng is not None:
        out += breath * rng.standard_normal(f0.size)
    env = np.minimum(1.0, np.arange(f0.size) / (0.04 * sample_rate))
    env *= np.minimum(1.0, (f0.size - np.arange(f0.size)) / (0.06 * sample_rate))
    return (out * env / (np.abs(out).max() + 1e-12)).astype(np.float32)


@dataclass
class Note:
    start: float
    seconds: float
    midi: float
    cents: float = 0.0


@dataclass
class Piece:
    audio: np.ndarray                 # (channels, frames) float32
    sample_rate: int
    notes: list[Note] = field(default_factory=list)
    defects: list[dict] = field(default_factory=list)


def pluck_melody(sample_rate: int, rng: np.random.Generator, bars: int = 4, tonic: int = 60,
                 scale: list[int] = MAJOR, bpm: float = 96, detune: tuple[int, float] | None = None) -> Piece:
    """A stepwise melody of plucked notes in `scale`; `detune=(index, cents)` mistunes one note."""
    beat = 60 / bpm
    notes, t, degree = [], 0.0, 0
    while t < bars * 4 * beat:
        degree = int(np.clip(degree + rng.choice([-2, -1, 1, 1, 2]), -3, 8))
        octave, step = divmod(degree, len(scale))
        midi = tonic + 12 * octave + scale[step]
        dur = beat * rng.choice([0.5, 1.0, 1.0, 2.0])
        notes.append(Note(t, dur, midi))
        t += dur
    if detune:
        notes[detune[0]].cents = detune[1]
    total = t + 1.0
    out = np.zeros(int(total * sample_rate) + 1, dtype=np.float32)
    for note in notes:
        s = karplus_strong(midi_hz(note.midi, note.cents), note.seconds + 0.8, sample_rate, rng)
        i = int(note.start * sample_rate)
        out[i: i + s.size] += 0.5 * s[: out.size - i]
    defects = [{"kind": "detuned_note", "start": notes[detune[0]].start,
                "end": notes[detune[0]].start + notes[detune[0]].seconds, "cents": detune[1]}] if detune else []
    return Piece(out[None, :], sample_rate, notes, defects)


def wind_line(notes: list[Note], sample_rate: int, rng: np.random.Generator, vibrato_cents: float = 0.0,
              vibrato_hz: float = 5.5, slide_cents: float = 0.0, slide_s: float = 0.12,
              offset_cents: float = 0.0, seconds: float | None = None) -> np.ndarray:
    """A legato wind voice playing `notes` (each with its own `cents` detune), with nonghyeon-style vibrato
    that grows over half a second, a slide of `slide_cents` into every note (chuseong), and a global tuning
    offset. Returns float32 samples."""
    n = int((seconds or max(x.start + x.seconds for x in notes)) * sample_rate)
    base = np.full(n, float(notes[0].midi))
    cents = np.full(n, offset_cents)
    for note in notes:
        i, j = int(note.start * sample_rate), min(n, int((note.start + note.seconds) * sample_rate))
        base[i:j] = note.midi
        k = np.arange(j - i) / sample_rate
        slide = slide_cents * np.clip(1 - k / slide_s, 0, 1)
        vib = vibrato_cents * np.clip(k / 0.5, 0, 1) * np.sin(2 * np.pi * vibrato_hz * k)
        cents[i:j] = offset_cents + note.cents + slide + vib
    return wind(A4 * 2 ** ((base - 69 + cents / 100) / 12), sample_rate, rng=rng)


def gugak_phrase(sample_rate: int, rng: np.random.Generator, mode: list[int] = PYEONGJO, tonic: int = 63,
                 seconds: float = 12.0, vibrato_cents: float = 80.0) -> Piece:
    """A daegeum-like wind line in a gugak mode with wide nonghyeon vibrato and slides up a whole tone into
    notes (chuseong), over a gayageum-like plucked drone on the tonic and fifth."""
    notes, t = [], 0.0
    while t < seconds - 1:
        step = int(rng.integers(0, len(mode)))
        dur = float(rng.choice([0.75, 1.0, 1.5, 2.0]))
        notes.append(Note(t, min(dur, seconds - t), tonic + mode[step]))
        t += dur
    n = int(seconds * sample_rate)
    line = wind_line(notes, sample_rate, rng, vibrato_cents=vibrato_cents, slide_cents=-200, seconds=seconds)
    drone = np.zeros(n, dtype=np.float32)
    for start in np.arange(0, seconds - 1, 2.0):
        for interval in (0, 7):
            s = karplus_strong(midi_hz(tonic - 12 + interval), 2.5, sample_rate, rng)
            i = int(start * sample_rate)
            drone[i: i + s.size] += 0.25 * s[: n - i]
    return Piece((0.6 * line + drone)[None, :].astype(np.float32), sample_rate, notes)


def drum_loop(sample_rate: int, rng: np.random.Generator, bars: int = 4, bpm: float = 100,
              kick_gain: float = 0.9) -> Piece:
    beat = 60 / bpm
    n = int((bars * 4 * beat + 0.5) * sample_rate)
    out = np.zeros(n, dtype=np.float32)

    def hit(sig: np.ndarray, at: float, gain: float) -> None:
        i = int(at * sample_rate)
        out[i: i + sig.size] += gain * sig[: n - i]

    k = np.arange(int(0.35 * sample_rate)) / sample_rate
    kick = np.sin(2 * np.pi * (45 * k + 60 * (1 - np.exp(-k * 30)) / 30)) * np.exp(-k * 9)
    s = np.arange(int(0.2 * sample_rate)) / sample_rate
    snare_sos = butter(2, [900, 6000], btype="bandpass", fs=sample_rate, output="sos")
    hat_sos = butter(4, min(7000, sample_rate * 0.4), btype="highpass", fs=sample_rate, output="sos")
    for b in range(bars * 4):
        t = b * beat
        if b % 2 == 0:
            hit(kick, t, kick_gain)
        else:
            snare = sosfilt(snare_sos, rng.standard_normal(s.size)) * np.exp(-s * 22) + \
                0.3 * np.sin(2 * np.pi * 190 * s) * np.exp(-s * 30)
            hit(snare, t, 0.6)
        for half in (0, 0.5):
            hat = sosfilt(hat_sos, rng.standard_normal(s.size // 3)) * np.exp(-s[: s.size // 3] * 60)
            hit(hat, t + half * beat, 0.25 * rng.uniform(0.6, 1.0))
    return Piece(out[None, :], sample_rate)


def mix(*parts: Piece, gains: tuple[float, ...] | None = None) -> Piece:
    rate = parts[0].sample_rate
    n = max(p.audio.shape[-1] for p in parts)
    out = np.zeros((1, n), dtype=np.float32)
    for p, g in zip(parts, gains or (1.0,) * len(parts), strict=True):
        out[:, : p.audio.shape[-1]] += g * p.audio
    return Piece(out, rate, [x for p in parts for x in p.notes], [x for p in parts for x in p.defects])


def degrade(piece: Piece, rng: np.random.Generator, rate: int = 32_000, cutoff_hz: float = 16_000,
            lufs: float = -30.0, hiss_dbfs: float = -62.0, dc: float = 0.01) -> Piece:
    """What a 32 kHz generator hands over: band-limited, quiet, hissy, with a DC offset."""
    x = resample(piece.audio.astype(np.float32), piece.sample_rate, rate, "HQ") if piece.sample_rate != rate \
        else piece.audio.copy()
    if cutoff_hz < rate / 2:
        x = sosfilt(butter(8, cutoff_hz, fs=rate, output="sos"), x, axis=-1).astype(np.float32)
    x *= 10 ** ((lufs - integrated_loudness(x, rate)) / 20)
    if hiss_dbfs > -200:
        x += (10 ** (hiss_dbfs / 20) * rng.standard_normal(x.shape)).astype(np.float32)
    x += dc
    return Piece(x.astype(np.float32), rate, piece.notes, piece.defects)


def write_truth(path: Path, piece: Piece, description: str) -> None:
    """Sidecar of what the clip is and what is wrong with it (for checks that must find the defects)."""
    data = {"description": description, "sample_rate": piece.sample_rate, "defects": piece.defects,
            "notes": [vars(n) for n in piece.notes]}
    audio_io.atomic_write_text(path, json.dumps(data, indent=1, default=float))


def make_examples(out_dir: str | Path, seed: int = 7) -> list[Path]:
    """A few short raw generations for the demo: melody, gugak phrase, drums, and a band."""
    out = Path(out_dir)
    rng = np.random.default_rng(seed)
    hi = 48_000
    melody = pluck_melody(hi, rng, bars=4, detune=(5, 60.0))
    gugak = gugak_phrase(hi, rng)
    drums = drum_loop(hi, rng)
    band = mix(pluck_melody(hi, rng, bars=4, tonic=64), drum_loop(hi, rng),
               pluck_melody(hi, rng, bars=4, tonic=40), gains=(0.8, 0.7, 0.6))
    clips = {
        "pluck_melody": (melody, "plucked-string melody in C major; note 6 is 60 cents sharp"),
        "gugak_pyeongjo": (gugak, "daegeum-like line in pyeongjo over a gayageum drone, nonghyeon vibrato"),
        "drum_loop": (drums, "kick, snare and hats at 100 bpm"),
        "band": (band, "melody, bass and drums"),
    }
    paths = []
    for name, (piece, text) in clips.items():
        raw = degrade(piece, rng)
        path = out / f"{name}.wav"
        audio_io.write(path, raw.audio, raw.sample_rate, bit_depth=16)
        write_truth(out / f"{name}.json", raw, text)
        paths.append(path)
    return paths


def _stereo(x: np.ndarray, rng: np.random.Generator, width: float = 0.3) -> np.ndarray:
    """Stereo from mono: a small delay and level difference on the right channel."""
    d = int(rng.integers(5, 40))
    right = np.concatenate([np.zeros(d, np.float32), x[0, :-d]])
    return np.stack([x[0], (1 - width) * x[0] + width * right]).astype(np.float32)


def make_corpus(out_dir: str | Path, long_seconds: float = 600.0, seed: int = 11) -> list[Path]:
    """At least 30 varied raw inputs: quiet, hot and clipping, DC, noisy, band-limited, 8 kHz mono,
    96 kHz stereo, very short, very long, and every supported container and sample format."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    base = 48_000

    def song(seconds: float = 8.0, kind: str = "band") -> np.ndarray:
        if kind == "gugak":
            return gugak_phrase(base, rng, seconds=seconds).audio
        bars = max(1, int(np.ceil(seconds / 2.4)))
        parts = [pluck_melody(base, rng, bars=bars, tonic=int(rng.integers(55, 70)))]
        if kind == "band":
            parts += [drum_loop(base, rng, bars=bars), pluck_melody(base, rng, bars=bars, tonic=40)]
        x = mix(*parts, gains=(0.8, 0.7, 0.6)[: len(parts)]).audio
        return x[:, : int(seconds * base)]

    def at(x: np.ndarray, rate: int, lufs: float) -> np.ndarray:
        x = resample(x, base, rate, "HQ") if rate != base else x
        return (x * 10 ** ((lufs - integrated_loudness(x, rate)) / 20)).astype(np.float32)

    def put(name: str, x: np.ndarray, rate: int, subtype: str = "PCM_16") -> None:
        path = out / name
        fmt = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".mp3": "MP3"}[path.suffix]
        audio_io.atomic_write(path, lambda f: sf.write(f, np.clip(x, -1, 1).T, rate, subtype=subtype, format=fmt))

    def generated(seconds: float, kind: str = "band", **kw) -> np.ndarray:
        return degrade(Piece(song(seconds, kind), base), rng, **kw).audio

    put("quiet_-40lufs.wav", at(song(8), 32_000, -40), 32_000)
    hot = at(song(8), 44_100, -6) * 1.6
    put("hot_clipping.wav", _stereo(np.clip(hot, -1, 1), rng), 44_100)
    put("dc_offset.wav", at(song(8), 32_000, -22) + 0.08, 32_000)
    put("noisy.wav", generated(8, hiss_dbfs=-38), 32_000)
    put("bandlimited_32k.wav", generated(8), 32_000)
    put("mono_8k.wav", at(song(8), 8_000, -24), 8_000)
    put("stereo_96k.wav", _stereo(at(song(8), 96_000, -20), rng), 96_000, "PCM_24")
    put("short_1s.wav", generated(1.0), 32_000)
    put("short_2s.wav", generated(2.0), 32_000)
    put("float32.wav", at(song(6), 48_000, -18), 48_000, "FLOAT")
    put("float32_over_full_scale.wav", at(song(6), 48_000, -3) * 2.5, 48_000, "FLOAT")
    put("pcm_u8.wav", at(song(6), 22_050, -16), 22_050, "PCM_U8")
    put("pcm24_48k_stereo.wav", _stereo(at(song(8), 48_000, -20), rng), 48_000, "PCM_24")
    put("pcm32_int.wav", at(song(6), 44_100, -20), 44_100, "PCM_32")
    put("lossless.flac", _stereo(at(song(8), 44_100, -19), rng), 44_100)
    put("vorbis.ogg", _stereo(at(song(8), 44_100, -17), rng), 44_100, "VORBIS")
    put("mpeg.mp3", _stereo(at(song(8), 44_100, -15), rng), 44_100, "MPEG_LAYER_III")
    put("mono_22k.wav", at(song(8), 22_050, -26), 22_050)
    put("mono_16k.wav", at(song(8), 16_000, -28), 16_000)
    put("stereo_192k.wav", _stereo(at(song(4), 192_000, -21), rng), 192_000, "PCM_24")
    quiet_then_loud = song(10)
    quiet_then_loud[:, : quiet_then_loud.shape[-1] // 2] *= 0.05
    put("wide_dynamics.wav", at(quiet_then_loud, 32_000, -25), 32_000)
    put("drums_only.wav", at(drum_loop(base, rng, bars=4).audio, 32_000, -24), 32_000)
    put("gugak_solo.wav", generated(10, "gugak"), 32_000)
    bass = sosfilt(butter(4, 150, fs=base, output="sos"), song(8), axis=-1).astype(np.float32)
    put("sub_heavy.wav", at(bass + 0.2 * song(8), 32_000, -20), 32_000)
    bright = sosfilt(butter(2, 3000, btype="highpass", fs=base, output="sos"), song(8), axis=-1)
    put("very_bright.wav", at(bright.astype(np.float32), 44_100, -22), 44_100)
    lead_in = np.concatenate([np.zeros((1, 4 * base), np.float32), song(6)], axis=1)
    put("silent_lead_in.wav", at(lead_in, 32_000, -24), 32_000)
    wide = song(8)
    put("wide_stereo.wav", at(np.stack([wide[0], -0.7 * wide[0] + 0.3 * song(8)[0]]), 48_000, -20), 48_000)
    dual = at(song(8), 44_100, -21)
    put("dual_mono.wav", np.repeat(dual, 2, axis=0), 44_100)
    tone = at(np.sin(2 * np.pi * 440 * np.arange(6 * base) / base)[None].astype(np.float32) +
              0.01 * rng.standard_normal((1, 6 * base)).astype(np.float32), 32_000, -20)
    put("tone_and_noise.wav", tone, 32_000)
    put("smashed_-6lufs.wav", np.clip(at(song(8), 44_100, -4), -0.98, 0.98), 44_100)
    clicks = np.zeros((1, 6 * base), np.float32)
    clicks[0, :: base // 2] = 0.9
    clicks = sosfilt(butter(2, 8000, fs=base, output="sos"), clicks + 0.002 * song(6), axis=-1)
    put("sparse_clicks.wav", at(clicks.astype(np.float32), 48_000, -30), 48_000)
    put("generated_band.wav", generated(12), 32_000)
    put("generated_gugak.wav", generated(12, "gugak", hiss_dbfs=-55), 32_000)
    # The long one: a 30 s generation, repeated with slow level changes, like a long generated track.
    if long_seconds > 0:
        piece = generated(30.0, hiss_dbfs=-60)
        reps = int(np.ceil(long_seconds / 30))
        tiled = np.tile(piece, (1, reps))[:, : int(long_seconds * 32_000)]
        swell = 1 + 0.5 * np.sin(2 * np.pi * np.arange(tiled.shape[-1]) / (32_000 * 97.0))
        put(f"long_{int(long_seconds // 60)}min.wav", (tiled * swell).astype(np.float32), 32_000)
    return sorted(p for p in out.iterdir() if p.suffix in audio_io.READ_SUFFIXES)


def peaky_drum_loop(sample_rate: int = 44_100, seconds: float = 9.0, lufs: float = -21.3,
                    peak_dbtp: float = -0.3, seed: int = 0) -> Piece:
    """The take that made the loudness stage run away: a kick/snare/hat loop whose every kick starts with a stick
    click a few samples long, so its peaks stand 20 dB and more over its RMS; at `lufs`, true peak `peak_dbtp`."""
    from remaster.analysis import truepeak

    rng = np.random.default_rng(seed)
    bars = max(1, round(seconds / (4 * 60 / 100)))
    body = drum_loop(sample_rate, rng, bars=bars, kick_gain=0.45).audio[0].astype(np.float64)
    body = body[: int(seconds * sample_rate)]
    body = np.tanh(3 * body / np.abs(body).max())      # the loop's own hits rounded off: the peaks are the clicks
    beat = int(60 / 100 * sample_rate)
    clicks = np.zeros_like(body)
    for at in range(0, body.size - 9, 2 * beat):
        clicks[at: at + 9] += np.hanning(9)

    def level(x: np.ndarray) -> float:
        return integrated_loudness(x[None, :].astype(np.float32), sample_rate)

    def peak(x: np.ndarray) -> float:
        return 20 * np.log10(truepeak.true_peak(x[None, :].astype(np.float32)))

    body = body * 10 ** ((lufs - level(body)) / 20)
    lo, hi = 0.0, 4.0
    for _ in range(40):                  # the click level that puts the true peak at `peak_dbtp`
        a = (lo + hi) / 2
        lo, hi = (a, hi) if peak(body + a * clicks) < peak_dbtp else (lo, a)
    x = body + (lo + hi) / 2 * clicks
    return Piece(x[None, :].astype(np.float32), sample_rate)
