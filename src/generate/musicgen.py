"""Load a MusicGen model through `transformers`: a hub id, a local directory, or a LoRA adapter directory.

    from generate.musicgen import load_model
    loaded = load_model("facebook/musicgen-small")              # hub id (the local cache when offline)
    loaded = load_model("/models/musicgen-small")                # a directory saved with save_pretrained
    loaded = load_model("/runs/gugak-lora")                      # a LoRA adapter dir: its base model, then the adapter

All three go through one path. A machine without the weights gets a `GenerateError` with one paragraph that names
the model and how to provide it, never a traceback.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from remaster.analysis.pitch import resolve_device

from .errors import GenerateError

ADAPTER_CONFIG = "adapter_config.json"
_DEFAULT_MAX_LENGTH = 20          # GenerationConfig's default max_length: means "not set by the checkpoint"
_ENGINES = ("auto", "sori", "transformers")
_DTYPES = {"fp32": "float32", "float32": "float32", "fp16": "float16", "float16": "float16", "half": "float16",
           "bf16": "bfloat16", "bfloat16": "bfloat16"}


@dataclass
class Loaded:
    """A model ready to generate, and what a sidecar needs to say about it."""

    model: Any
    processor: Any
    model_id: str
    revision: str | None
    device: str
    dtype: str
    sample_rate: int
    frame_rate: float
    max_seconds: float
    adapter: str | None = None
    channels: int = 1
    num_codebooks: int = 4
    model_type: str = "musicgen"
    engine: str = "transformers"      # "transformers": the model's own generate; "sori": generate.fast's loop
    quantized: bool = False           # the decoder's linear layers hold int8 weights (generate.fast)


def _looks_like_path(name: str) -> bool:
    """A hub id is `name` or `org/name`; anything else (absolute, relative, deeper) is meant as a directory."""
    return os.path.isabs(name) or name.startswith((".", "~")) or name.count("/") > 1 or "\\" in name


def _cache_dir() -> str:
    hub = os.environ.get("HF_HUB_CACHE")
    if hub:
        return hub
    home = os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
    return os.path.join(home, "hub")


def _offline() -> bool:
    return any(os.environ.get(v, "").strip().lower() in {"1", "true", "yes", "on"}
               for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def missing_weights_message(name: str, reason: str | None = None) -> str:
    """One paragraph: which model, that it is neither cached nor reachable, and the ways to provide it."""
    offline = _offline()
    state = "HF_HUB_OFFLINE is set" if offline else "the Hugging Face hub could not be reached"
    short = name.rsplit("/", 1)[-1]
    msg = (f"Cannot load the MusicGen model '{name}': its weights are not in the local Hugging Face cache "
           f"({_cache_dir()}) and {state}. Provide the weights one of these ways: pass a local directory with "
           f"--model /path/to/{short} (saved with save_pretrained, or fetched on a connected machine with "
           f"`huggingface-cli download {name} --local-dir /path/to/{short}` and copied here); or copy a Hugging Face "
           f"cache that holds it and point HF_HOME (or HF_HUB_CACHE) at it, then set HF_HUB_OFFLINE=1 so nothing "
           f"tries the network.")
    if reason:
        msg += f" (The loader said: {reason})"
    return msg


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:300]


def _hub_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OSError]
    try:
        from huggingface_hub import errors as hub_errors
        for n in ("LocalEntryNotFoundError", "EntryNotFoundError", "RepositoryNotFoundError", "RevisionNotFoundError",
                  "GatedRepoError", "HfHubHTTPError", "OfflineModeIsEnabled"):
            cls = getattr(hub_errors, n, None)
            if isinstance(cls, type):
                errors.append(cls)
    except ImportError:  # pragma: no cover - transformers depends on huggingface_hub
        pass
    return tuple(errors)


def _resolve_device(device: str) -> str:
    import torch
    device = (device or "auto").lower()
    if device == "auto":
        return resolve_device("auto")      # the same choice as the pitch check's: CUDA, then MPS, then CPU
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise GenerateError(f"device '{device}' was asked for but CUDA is not available; allowed here: auto, cpu")
    if device not in {"cpu", "mps"} and not device.startswith("cuda"):
        raise GenerateError(f"unknown device '{device}'; allowed: auto, cpu, cuda, cuda:N, mps")
    return device


def _resolve_dtype(dtype: str, device: str) -> str:
    import torch
    dtype = (dtype or "auto").lower()
    if dtype == "auto":
        if device.startswith("cuda"):
            return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        return "float16" if device == "mps" else "float32"
    if dtype not in _DTYPES:
        raise GenerateError(f"unknown dtype '{dtype}'; allowed: auto, {', '.join(sorted(_DTYPES))}")
    return _DTYPES[dtype]


def _read_adapter_base(adapter_dir: Path) -> str:
    try:
        cfg = json.loads((adapter_dir / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise GenerateError(f"{adapter_dir / ADAPTER_CONFIG}: cannot read the adapter config "
                            f"({_first_line(e)})") from None
    base = cfg.get("base_model_name_or_path")
    if not base:
        raise GenerateError(f"{adapter_dir / ADAPTER_CONFIG}: no 'base_model_name_or_path'; pass the base model "
                            "with --model and the adapter with --adapter")
    return str(base)


def _dtype_kwarg(transformers: Any) -> str:
    """`dtype` since transformers 4.56; `torch_dtype` before (and deprecated after)."""
    try:
        major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    except ValueError:
        return "dtype"
    return "dtype" if (major, minor) >= (4, 56) else "torch_dtype"


def _max_seconds(model: Any, frame_rate: float) -> float:
    positions = int(model.config.decoder.max_position_embeddings)
    gen = getattr(model, "generation_config", None)
    max_length = getattr(gen, "max_length", None) if gen is not None else None
    if isinstance(max_length, int) and max_length > _DEFAULT_MAX_LENGTH:
        positions = min(positions, max_length)      # the checkpoint's own window (1500 frames = 30 s for MusicGen)
    return positions / frame_rate


def load_model(name_or_path: str, *, adapter: str | None = None, device: str = "auto", dtype: str = "auto",
               engine: str = "auto", quantize: bool = False) -> Loaded:
    """Load a MusicGen model (hub id, saved directory or LoRA adapter directory) ready to generate, in eval mode.

    `engine`: "sori" (generate.fast's loop: the same tokens as transformers' in float32, faster), "transformers"
    (`model.generate`), or "auto" (sori where it supports the model, as for musicgen-melody it does not).
    `quantize`: int8 weights for the decoder's linear layers, CPU and float32 only (see generate.fast)."""
    engine = (engine or "auto").lower()
    if engine not in _ENGINES:
        raise GenerateError(f"unknown engine '{engine}'; allowed: {', '.join(_ENGINES)}")
    name = str(name_or_path)
    local = Path(name).expanduser()
    if local.is_dir() and (local / ADAPTER_CONFIG).is_file():
        if adapter is not None:
            raise GenerateError(f"{local} is itself a LoRA adapter; pass its base model with --model to add "
                                f"the adapter {adapter}")
        adapter, name = str(local), _read_adapter_base(local)
        local = Path(name).expanduser()
    if adapter is not None:
        a = Path(adapter).expanduser()
        if not (a / ADAPTER_CONFIG).is_file():
            raise GenerateError(f"{adapter}: not a LoRA adapter directory (it has no {ADAPTER_CONFIG})")
        adapter = str(a)
    is_local = local.is_dir()
    if not is_local and _looks_like_path(name):
        raise GenerateError(f"{name}: no such model directory; pass a directory saved with save_pretrained or a "
                            "hub id such as facebook/musicgen-small")
    source = str(local) if is_local else name

    dev = _resolve_device(device)
    dt = _resolve_dtype(dtype, dev)
    if quantize and (dev != "cpu" or dt != "float32"):
        # fail before loading: the int8 kernels are CPU kernels over float32 activations
        raise GenerateError(f"quantize (int8) runs on the CPU in fp32 only, not on {dev} in {dt}; on a GPU use "
                            "--dtype bf16 or fp16 instead")

    import torch
    import transformers

    hub_errors = _hub_errors()
    # huggingface_hub reads HF_HUB_OFFLINE and HF_HOME once, at import: read them again now, so that settings made
    # after the import (a CLI option, a test) still hold and an offline machine never waits on network retries.
    opts: dict[str, Any] = {}
    if not is_local:
        opts["local_files_only"] = _offline()
        if os.environ.get("HF_HUB_CACHE") or os.environ.get("HF_HOME"):
            opts["cache_dir"] = _cache_dir()
    try:
        config = transformers.AutoConfig.from_pretrained(source, **opts)
        model_type = getattr(config, "model_type", "")
        if model_type == "musicgen_melody":
            model_cls = transformers.MusicgenMelodyForConditionalGeneration
        elif model_type == "musicgen":
            model_cls = transformers.MusicgenForConditionalGeneration
        else:
            raise GenerateError(f"{name}: is a '{model_type}' model, not MusicGen (musicgen or musicgen_melody)")
        model = model_cls.from_pretrained(source, **{_dtype_kwarg(transformers): getattr(torch, dt)}, **opts)
        if model_type == "musicgen_melody":      # transformers' own processor for it needs torchaudio
            from .chroma import MelodyProcessor
            processor = MelodyProcessor.from_pretrained(source, **opts)
        else:
            processor = transformers.AutoProcessor.from_pretrained(source, **opts)
    except GenerateError:
        raise
    except hub_errors as e:
        if is_local:
            raise GenerateError(f"{source}: cannot load a MusicGen model from this directory "
                                f"({_first_line(e)})") from None
        raise GenerateError(missing_weights_message(name, _first_line(e))) from None
    except (ValueError, KeyError) as e:
        raise GenerateError(f"{name}: cannot load a MusicGen model ({_first_line(e)})") from None

    revision = getattr(model.config, "_commit_hash", None) or getattr(config, "_commit_hash", None)
    if adapter is not None:
        try:
            from peft import PeftModel
            with warnings.catch_warnings():     # peft asks transformers 5 for a renamed attribute
                warnings.simplefilter("ignore", FutureWarning)
                model = PeftModel.from_pretrained(model, adapter)
        except (OSError, ValueError, KeyError, RuntimeError) as e:
            raise GenerateError(f"{adapter}: cannot apply the LoRA adapter to {name} ({_first_line(e)})") from None

    model.to(dev)
    model.eval()
    from . import fast
    if quantize:
        model = fast.quantize(model)         # a LoRA adapter is merged into the weights first
    reason = fast.unsupported_reason(model) if engine != "transformers" else None
    if engine == "sori" and reason is not None:
        raise GenerateError(f"engine 'sori' cannot run {name}: {reason}; use engine 'auto' or 'transformers'")
    engine = "transformers" if engine == "transformers" or reason is not None else "sori"
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    audio_cfg = base.config.audio_encoder
    frame_rate = float(getattr(audio_cfg, "frame_rate", None) or base.audio_encoder.config.frame_rate)
    return Loaded(model=model, processor=processor, model_id=name, revision=revision, device=dev, dtype=dt,
                  sample_rate=int(audio_cfg.sampling_rate), frame_rate=frame_rate,
                  max_seconds=_max_seconds(base, frame_rate), adapter=adapter,
                  channels=int(getattr(base.config.decoder, "audio_channels", 1) or 1),
                  num_codebooks=int(base.config.decoder.num_codebooks), model_type=base.config.model_type,
                  engine=engine, quantized=bool(quantize))
