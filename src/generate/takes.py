"""Generate N takes of a prompt with MusicGen: one WAV and one sidecar JSON per take, resumable and reproducible.

    from generate.prompt import build_prompt
    from generate.musicgen import load_model
    from generate.takes import generate_takes
    loaded = load_model("facebook/musicgen-small")
    generate_takes(loaded, build_prompt(instruments="가야금", solo=True), n=4, duration=20, seed=7, out_dir="out")
    # out/take_000.wav + out/take_000.json (seed 7), ... out/take_003.* (seed 10)

Take i uses seed S + i, set on torch right before the take, so the same seed, model and device give the same audio.
A take whose WAV and JSON both exist is skipped, so an interrupted run picks up where it stopped.

Durations up to the model's window (`loaded.max_seconds`, 30 s for MusicGen) take one call. Longer ones are made by
windowed continuation: each next window is prompted with the tail of the audio so far (MusicGen's audio prompt,
encoded by EnCodec into the first decoder tokens), and the re-decoded tail is joined to the audio so far with an
equal-power crossfade. The sidecar lists the windows.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from remaster.audio import atomic_write_text, write
from remaster.progress import progress_bar
from remaster.regenerate import load_sidecar, sidecar_path

from .errors import GenerateError
from .musicgen import Loaded
from .prompt import Prompt
from .sampling import MAX_SEED, Sampling, check_request


def seed_everything(seed: int) -> None:
    """Seed the generators MusicGen's sampling draws from (torch on CPU and every GPU)."""
    import torch
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def _equal_power(n: int) -> tuple[np.ndarray, np.ndarray]:
    t = (np.arange(n, dtype=np.float64) + 0.5) / n
    return np.cos(0.5 * np.pi * t).astype(np.float32), np.sin(0.5 * np.pi * t).astype(np.float32)


def crossfade_join(head: np.ndarray, tail: np.ndarray, overlap: int) -> np.ndarray:
    """`head` then `tail`, (channels, frames) each, the last `overlap` frames of head faded (equal power) into the
    first `overlap` frames of tail."""
    overlap = min(overlap, head.shape[-1], tail.shape[-1])
    if overlap <= 0:
        return np.concatenate([head, tail], axis=-1)
    fade_out, fade_in = _equal_power(overlap)
    mixed = head[:, -overlap:] * fade_out + tail[:, :overlap] * fade_in
    return np.concatenate([head[:, :-overlap], mixed, tail[:, overlap:]], axis=-1)


def _model_dtype(loaded: Loaded) -> Any:
    import torch
    return getattr(torch, loaded.dtype)


def _delay(loaded: Loaded) -> int:
    """Extra decoding steps of the delay pattern: codebook k lags k steps, so K - 1 more steps complete the last
    frame of every codebook (K per channel: stereo models interleave left and right codebooks)."""
    return max(1, loaded.num_codebooks // max(1, loaded.channels)) - 1


def _call(loaded: Loaded, caption: str, new_frames: int, sampling: Sampling,
          prompt_audio: np.ndarray | None = None, conditioning: Mapping[str, Any] | None = None) -> np.ndarray:
    """One generation: `new_frames` new EnCodec frames after the optional audio prompt; (channels, samples).

    `conditioning` holds extra model inputs, such as the chroma of a melody for musicgen-melody."""
    import torch
    processor = loaded.processor
    inputs = dict(processor(text=[caption], padding=True, return_tensors="pt"))
    if prompt_audio is not None:
        # The feature extractor directly: MusicgenProcessor(audio=...) passes it an option it does not take
        # (transformers 5.x). It wants mono as (samples,) and stereo as (2, samples).
        audio_in = prompt_audio[0] if prompt_audio.shape[0] == 1 else prompt_audio
        feats = processor.feature_extractor(audio_in, sampling_rate=loaded.sample_rate, return_tensors="pt")
        inputs["input_values"] = feats["input_values"].to(_model_dtype(loaded))
        if "padding_mask" in feats:
            inputs["padding_mask"] = feats["padding_mask"]
    if conditioning:
        inputs.update(conditioning)
    inputs = {k: v.to(loaded.device) for k, v in inputs.items()}
    max_new_tokens = new_frames + _delay(loaded)
    with torch.inference_mode():
        if loaded.engine == "sori":
            from .fast import generate as fast_generate
            audio = fast_generate(loaded.model, inputs, max_new_tokens=max_new_tokens, **sampling.generate_kwargs())
        else:
            out = loaded.model.generate(**inputs, max_new_tokens=max_new_tokens, **sampling.generate_kwargs())
            audio = out.audio_values if hasattr(out, "audio_values") else out
    return audio[0].float().cpu().numpy()


def continue_audio(loaded: Loaded, caption: str, head: np.ndarray, prompt_len: int, new_frames: int, new_len: int,
                   sampling: Sampling, crossfade: int, conditioning: Mapping[str, Any] | None = None) -> np.ndarray:
    """`head` continued by `new_frames` frames (`new_len` samples kept): the model is prompted with the last
    `prompt_len` samples of `head`, and its output starts with that prompt re-decoded, which is faded (equal power,
    `crossfade` samples at most) into `head`, ending at the join."""
    out = _call(loaded, caption, new_frames, sampling, prompt_audio=head[:, -prompt_len:], conditioning=conditioning)
    xf = max(1, min(crossfade, prompt_len))
    return crossfade_join(head, out[:, prompt_len - xf:prompt_len + new_len], xf)


def plan_windows(loaded: Loaded, duration: float, tail_seconds: float) -> list[dict[str, Any]]:
    """The generate calls a take of `duration` seconds needs: each with its prompt and new frames."""
    fr = loaded.frame_rate
    total = max(1, round(duration * fr))
    window = max(2, math.floor(loaded.max_seconds * fr + 1e-9) - _delay(loaded) - 1)   # + BOS + delay steps
    if total <= window + _delay(loaded) + 1:     # fits the model's window with its BOS and delay steps
        return [{"index": 0, "prompt_frames": 0, "new_frames": total, "start_frame": 0}]
    if loaded.model_type == "musicgen_melody":
        raise GenerateError(f"{duration:g} s is longer than {loaded.model_id}'s window ({loaded.max_seconds:g} s) and "
                            "the melody model cannot continue audio; ask for at most that, or use a text-only model")
    prompt = max(1, min(round(tail_seconds * fr), window // 2))
    windows = [{"index": 0, "prompt_frames": 0, "new_frames": window, "start_frame": 0}]
    done = window
    while done < total:
        new = min(window - prompt, total - done)
        windows.append({"index": len(windows), "prompt_frames": prompt, "new_frames": new, "start_frame": done})
        done += new
    return windows


def render(loaded: Loaded, caption: str, duration: float, sampling: Sampling, *, seed: int | None = None,
           tail_seconds: float = 10.0, crossfade_seconds: float = 1.0,
           conditioning: Mapping[str, Any] | None = None,
           on_window: Callable[[dict[str, Any]], None] | None = None) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Audio of `duration` seconds, (channels, samples) float32, and the windows it was made of (seconds)."""
    sampling.check()
    if not (math.isfinite(duration) and duration > 0):
        raise GenerateError(f"duration {duration}: must be a positive number of seconds")
    if seed is not None:
        seed_everything(seed)
    sr, fr = loaded.sample_rate, loaded.frame_rate
    hop = sr / fr
    windows = plan_windows(loaded, duration, tail_seconds)
    audio: np.ndarray | None = None
    records = []
    for w in windows:
        want = round((w["prompt_frames"] + w["new_frames"]) * hop)      # the call's prompt and new part
        if audio is None:
            audio = _call(loaded, caption, w["new_frames"], sampling, conditioning=conditioning)[:, :want]
        else:
            prompt_len = round(w["prompt_frames"] * hop)
            audio = continue_audio(loaded, caption, audio, prompt_len, w["new_frames"], want - prompt_len, sampling,
                                   round(crossfade_seconds * sr), conditioning)
        record = {"index": w["index"], "start_seconds": w["start_frame"] / fr,
                  "end_seconds": (w["start_frame"] + w["new_frames"]) / fr,
                  "prompt_seconds": w["prompt_frames"] / fr, "new_frames": w["new_frames"],
                  "max_new_tokens": w["new_frames"] + _delay(loaded)}
        if w["prompt_frames"]:
            record["crossfade_seconds"] = min(crossfade_seconds, w["prompt_frames"] / fr)
        records.append(record)
        if on_window is not None:
            on_window(record)
    assert audio is not None
    target = round(duration * sr)
    if audio.shape[-1] < target:
        audio = np.pad(audio, ((0, 0), (0, target - audio.shape[-1])))
    audio = np.ascontiguousarray(audio[:, :target], dtype=np.float32)
    if not np.isfinite(audio).all():
        raise GenerateError(f"{loaded.model_id} produced NaN or infinite samples (dtype {loaded.dtype}); "
                            "try --dtype fp32")
    return audio, records


def _sori_version() -> str:
    try:
        from importlib.metadata import version
        return version("sori")
    except Exception:
        from remaster import __version__
        return __version__


def _complete(wav: Path) -> bool:
    return wav.is_file() and load_sidecar(wav)[0] is not None


def _existing_base_seed(out: Path, stem: str) -> int | None:
    """The base seed of an earlier run into the same folder, so a resumed random-seed run keeps its numbering."""
    for sidecar in sorted(out.glob(f"{stem}_[0-9][0-9][0-9].json")):
        data, _ = load_sidecar(sidecar)
        try:
            return int(data["base_seed"])
        except (KeyError, TypeError, ValueError):
            continue
    return None


def generate_takes(loaded: Loaded, prompt: Prompt | str, *, n: int = 1, duration: float = 10.0,
                   seed: int | None = None, guidance_scale: float = 3.0, top_k: int = 250, top_p: float = 0.0,
                   temperature: float = 1.0, out_dir: str | os.PathLike, stem: str = "take", progress: bool = True,
                   tail_seconds: float = 10.0, crossfade_seconds: float = 1.0, bit_depth: int = 32,
                   melody: str | os.PathLike | None = None) -> list[Path]:
    """Write `n` takes as `out_dir/stem_000.wav` plus `stem_000.json`, ...; return the WAV paths (skipped ones too).

    `melody`, an audio or MIDI file or a folk tune's name (아리랑), makes a musicgen-melody model follow its tune
    (see generate.melody); a prompt that names a tune brings that tune's melody to a melody model by itself."""
    sampling = check_request(n, duration, seed, Sampling(guidance_scale, top_k, top_p, temperature), stem)
    caption = prompt.caption if isinstance(prompt, Prompt) else str(prompt)
    if not caption.strip():
        raise GenerateError("the prompt is empty: give a caption or categories")
    if melody is None and isinstance(prompt, Prompt) and prompt.tune and loaded.model_type == "musicgen_melody":
        melody = prompt.tune
    windows_per_take = len(plan_windows(loaded, duration, tail_seconds))
    conditioning, melody_record = None, None
    if melody is not None:
        from .melody import describe, melody_inputs
        conditioning = melody_inputs(loaded, melody, duration)      # once: every take follows the same melody
        melody_record = describe(melody)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    base = seed if seed is not None else _existing_base_seed(out, stem)
    if base is None or not 0 <= base <= MAX_SEED - n:
        base = secrets.randbelow(MAX_SEED - n)
    paths = []
    with progress_bar(f"generating {n} take{'s' if n > 1 else ''}", enabled=progress, remaining=False) as bar:
        task = bar.add_task("", total=n * windows_per_take)
        for i in range(n):
            wav = out / f"{stem}_{i:03d}.wav"
            sidecar = sidecar_path(wav)
            paths.append(wav)
            if _complete(wav):
                bar.advance(task, windows_per_take)
                continue
            take_seed = base + i
            bar.update(task, description=f"take {i + 1}/{n} (seed {take_seed})")
            started = time.perf_counter()
            audio, windows = render(loaded, caption, duration, sampling, seed=take_seed, tail_seconds=tail_seconds,
                                    crossfade_seconds=crossfade_seconds, conditioning=conditioning,
                                    on_window=lambda _w: bar.advance(task, 1))
            elapsed = time.perf_counter() - started
            write(wav, audio, loaded.sample_rate, bit_depth=bit_depth, dither=False)
            data = {
                "prompt": caption,
                "categories": prompt.to_dict() if isinstance(prompt, Prompt) else None,
                "seed": take_seed,
                "base_seed": base,
                "take": i,
                "model": loaded.model_id,
                "revision": loaded.revision,
                "license": loaded.license,
                "adapter": loaded.adapter,
                "adapter_format": loaded.adapter_format,
                "model_type": loaded.model_type,
                "melody": melody_record,
                "generation": {**{k: getattr(sampling, k) for k in ("guidance_scale", "top_k", "top_p",
                                                                     "temperature")},
                               "do_sample": True, "tail_seconds": tail_seconds,
                               "crossfade_seconds": crossfade_seconds},
                "device": loaded.device,
                "dtype": loaded.dtype,
                "engine": loaded.engine,
                "quantized": loaded.quantized,
                "duration": duration,
                "sample_rate": loaded.sample_rate,
                "channels": int(audio.shape[0]),
                "frames": int(audio.shape[-1]),
                "bit_depth": bit_depth,
                "windows": windows,
                "timings": {"seconds": round(elapsed, 4), "real_time_factor": round(elapsed / duration, 4)},
                "audio": wav.name,
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "sori_version": _sori_version(),
            }
            atomic_write_text(sidecar, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    return paths
