"""Load a MusicGen model through `transformers`: a hub id, a local folder, a LoRA adapter or an audiocraft LM.

    from generate.musicgen import load_model
    loaded = load_model("facebook/musicgen-small")        # hub id (the local cache when offline)
    loaded = load_model("/models/musicgen-small")          # a folder saved with save_pretrained
    loaded = load_model("/runs/gugak-lora")                # a LoRA adapter folder: its base model, then the adapter
    loaded = load_model("facebook/musicgen-small", adapter="/runs/xp/state_dict.bin")    # an audiocraft LM
    loaded = load_model("/runs/xp/state_dict.bin")         # the same: the base is named by the checkpoint's size

All go through one path: the base model is loaded, then the adapter (LoRA, or audiocraft LM weights, see
`generate.audiocraft`) is applied over it. A machine without the weights gets a `GenerateError` with one paragraph
that names the model and how to provide it, never a traceback, and gets it at once: a hub id is looked for in the
local cache first (and loaded from there without the network), and otherwise the hub is tried once, briefly
(`generate.hub`), instead of huggingface_hub's half a minute of retries. A misspelt MusicGen id is refused before
that with the closest known ids. A loaded model's parts are checked to agree (`generate.parts`), and `Loaded.license`
says what its weights may be used for (MusicGen's: CC-BY-NC-4.0, no commercial use).
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import audiocraft, hub
from .errors import GenerateError
from .parts import check_config, check_parts

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
    adapter: str | None = None        # what was applied over `model_id`: a LoRA folder or an audiocraft checkpoint
    adapter_format: str | None = None  # "lora" | "audiocraft"
    channels: int = 1
    num_codebooks: int = 4
    model_type: str = "musicgen"
    engine: str = "transformers"      # "transformers": the model's own generate; "sori": generate.fast's loop
    quantized: bool = False           # the decoder's linear layers hold int8 weights (generate.fast)
    license: str | None = None        # of the base model's weights (model card, or MusicGen's CC-BY-NC-4.0)


_looks_like_path = hub.looks_like_path
_cache_dir = hub.cache_dir
_offline = hub.offline


def missing_weights_message(name: str, reason: str | None = None, adapter: str | None = None) -> str:
    """One paragraph: which model, that it is neither cached nor reachable, and the ways to provide it (with the
    adapter that goes over it, when there is one)."""
    offline = _offline()
    state = "HF_HUB_OFFLINE is set" if offline else "the Hugging Face hub could not be reached"
    short = name.rsplit("/", 1)[-1]
    over = f", with --adapter {adapter}" if adapter else ""
    msg = (f"Cannot load the MusicGen model '{name}': its weights are not in the local Hugging Face cache "
           f"({_cache_dir()}) and {state}. Provide the weights one of these ways: pass a local directory with "
           f"--model /path/to/{short} (saved with save_pretrained, or fetched on a connected machine with "
           f"`huggingface-cli download {name} --local-dir /path/to/{short}` and copied here){over}; or copy a "
           f"Hugging Face cache that holds it and point HF_HOME (or HF_HUB_CACHE) at it, then set HF_HUB_OFFLINE=1 so "
           f"nothing tries the network.")
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
        from remaster.analysis.pitch import resolve_device
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


@dataclass
class _Adapter:
    """What goes over the base model: a LoRA adapter folder, or an audiocraft LM checkpoint."""

    path: str                         # as given (`~` expanded): what a sidecar records and a rerun passes back
    format: str                       # "lora" | "audiocraft"
    checkpoint: Path | None = None    # audiocraft: the file
    contents: Any = field(default=None, repr=False)

    def state(self) -> Any:
        """The checkpoint's contents, read once (naming the base and loading both need them)."""
        if self.contents is None and self.checkpoint is not None:
            self.contents = audiocraft.read_checkpoint(self.checkpoint)
        return self.contents

    def base_model(self) -> str:
        """The base model this adapter names: the LoRA config's, or the hub model of the checkpoint's size."""
        if self.format == "lora":
            return _read_adapter_base(Path(self.path))
        shape = audiocraft.lm_shape(self.state(), self.path)
        base = audiocraft.hub_model(shape)
        if base is None:
            raise GenerateError(f"{self.path}: an audiocraft LM of {shape}, which is none of the hub's MusicGen "
                                "models; pass the base model it was trained from with --model and this checkpoint "
                                "with --adapter")
        return base

    def apply(self, model: Any, base_name: str) -> Any:
        if self.format == "audiocraft":
            return audiocraft.load_audiocraft_lm(model, self.state(), self.path, base_name)
        try:
            from peft import PeftModel
            with warnings.catch_warnings():     # peft asks transformers 5 for a renamed attribute
                warnings.simplefilter("ignore", FutureWarning)
                return PeftModel.from_pretrained(model, self.path)
        except (OSError, ValueError, KeyError, RuntimeError) as e:
            raise GenerateError(f"{self.path}: cannot apply the LoRA adapter to {base_name} ({_first_line(e)})"
                                ) from None


def _adapter_at(path: Path) -> _Adapter | None:
    if path.is_dir() and (path / ADAPTER_CONFIG).is_file():
        return _Adapter(str(path), "lora")
    checkpoint = audiocraft.checkpoint_file(path)
    return _Adapter(str(path), "audiocraft", checkpoint) if checkpoint is not None else None


def check_source(name_or_path: str, adapter: str | None = None) -> str:
    """What can be known about a model without loading it, checked: a misspelt MusicGen id, a folder that is not
    there, an adapter that is none, a LoRA adapter's base. Returns the base model's name (a hub id or a folder)."""
    name = str(name_or_path)
    hub.check_model_id(name)
    own = _adapter_at(Path(name).expanduser())
    if own is not None and own.format == "lora":
        if adapter is not None:
            raise GenerateError(f"{own.path} is itself a LoRA adapter; pass its base model with --model to add the "
                                f"adapter {adapter}")
        name = _read_adapter_base(Path(own.path))
        hub.check_model_id(name)
    elif own is None and adapter is not None and _adapter_at(Path(adapter).expanduser()) is None:
        _resolve(name, adapter)               # raises the one line about the adapter
    if own is None and not Path(name).expanduser().is_dir() and _looks_like_path(name):
        raise GenerateError(f"{name}: no such model directory; pass a directory saved with save_pretrained or a "
                            "hub id such as facebook/musicgen-small")
    return name


def model_type_of(name: str) -> str | None:
    """musicgen or musicgen_melody, as far as it is known before loading (a folder's config, a hub id's name, or
    the cache's config); None when it is not."""
    folder = Path(name).expanduser()
    config = folder / "config.json" if folder.is_dir() else None
    if config is None and (snapshot := hub.cached(name)) is not None:
        config = snapshot / "config.json"
    if config is not None:
        try:
            return str(json.loads(config.read_text(encoding="utf-8")).get("model_type") or "") or None
        except (OSError, ValueError):
            return None
    if name in hub.KNOWN_MODELS:
        return "musicgen_melody" if "melody" in name else "musicgen"
    return None


def _resolve(name: str, adapter: str | None) -> tuple[str, _Adapter | None]:
    """The base model to load and what goes over it: `name` may itself be an adapter that names its base."""
    own = _adapter_at(Path(name).expanduser())
    if own is not None:
        if adapter is not None:
            what = "a LoRA adapter" if own.format == "lora" else "an audiocraft LM checkpoint"
            raise GenerateError(f"{own.path} is itself {what}; pass its base model with --model to add the adapter "
                                f"{adapter}")
        return own.base_model(), own
    if adapter is None:
        return name, None
    given = _adapter_at(Path(adapter).expanduser())
    if given is None:
        files = " or ".join(audiocraft.CHECKPOINT_FILES)
        raise GenerateError(f"{adapter}: not a LoRA adapter directory (it has no {ADAPTER_CONFIG}) nor an audiocraft "
                            f"LM checkpoint (a .pt or .bin file, or a folder holding {files})")
    return name, given


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
    """Load a MusicGen model ready to generate, in eval mode: a hub id or a saved folder, with an adapter over it.

    `name_or_path` may itself be an adapter that names its base: a LoRA adapter folder (its config's base model) or
    an audiocraft LM checkpoint (the hub model of its size). `adapter`: a LoRA adapter folder or an audiocraft LM
    checkpoint (a `.pt`/`.bin` file, or a folder holding `state_dict.bin` or `lm_final.pt`) over `name_or_path`.
    `engine`: "sori" (generate.fast's loop: the same tokens as transformers' in float32, faster), "transformers"
    (`model.generate`), or "auto" (sori where it supports the model, as for musicgen-melody it does not).
    `quantize`: int8 weights for the decoder's linear layers, CPU and float32 only (see generate.fast)."""
    engine = (engine or "auto").lower()
    if engine not in _ENGINES:
        raise GenerateError(f"unknown engine '{engine}'; allowed: {', '.join(_ENGINES)}")
    hub.check_model_id(str(name_or_path))
    name, extra = _resolve(str(name_or_path), adapter)
    hub.check_model_id(name)          # the base an adapter names, too
    local = Path(name).expanduser()
    if not local.is_dir() and _looks_like_path(name):
        raise GenerateError(f"{name}: no such model directory; pass a directory saved with save_pretrained or a "
                            "hub id such as facebook/musicgen-small")
    # before torch is even imported: an offline machine without the weights is told so at once
    opts = {} if local.is_dir() else _hub_options(name, extra.path if extra else None)
    dev = _resolve_device(device)
    dt = _resolve_dtype(dtype, dev)
    if quantize and (dev != "cpu" or dt != "float32"):
        # fail before loading: the int8 kernels are CPU kernels over float32 activations
        raise GenerateError(f"quantize (int8) runs on the CPU in fp32 only, not on {dev} in {dt}; on a GPU use "
                            "--dtype bf16 or fp16 instead")
    model, processor, revision = _from_pretrained(name, local, dt, opts, extra.path if extra else None)
    check_parts(model, processor, name)
    if extra is not None:
        model = extra.apply(model, name)
    model.to(dev)
    model.eval()
    from . import fast
    if quantize:
        model = fast.quantize(model)         # a LoRA adapter is merged into the weights first
    engine = _engine(engine, model, name)
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    audio_cfg = base.config.audio_encoder
    frame_rate = float(getattr(audio_cfg, "frame_rate", None) or base.audio_encoder.config.frame_rate)
    return Loaded(model=model, processor=processor, model_id=name, revision=revision, device=dev, dtype=dt,
                  sample_rate=int(audio_cfg.sampling_rate), frame_rate=frame_rate,
                  max_seconds=_max_seconds(base, frame_rate), adapter=extra.path if extra else None,
                  adapter_format=extra.format if extra else None,
                  channels=int(getattr(base.config.decoder, "audio_channels", 1) or 1),
                  num_codebooks=int(base.config.decoder.num_codebooks), model_type=base.config.model_type,
                  engine=engine, quantized=bool(quantize),
                  license=hub.license_of(name, local if local.is_dir() else hub.cached(name)))


def _from_pretrained(name: str, local: Path, dt: str, opts: dict[str, Any],
                     adapter: str | None) -> tuple[Any, Any, str | None]:
    """The model, its processor and its revision, from a local folder or the hub (or its cache); `adapter` is
    what goes over it, for the message of a machine without the weights."""
    import torch
    import transformers

    is_local = local.is_dir()
    source = str(local) if is_local else name
    hub_errors = _hub_errors()
    try:
        config = transformers.AutoConfig.from_pretrained(source, **opts)
        model_type = getattr(config, "model_type", "")
        if model_type == "musicgen_melody":
            model_cls = transformers.MusicgenMelodyForConditionalGeneration
        elif model_type == "musicgen":
            model_cls = transformers.MusicgenForConditionalGeneration
        else:
            raise GenerateError(f"{name}: is a '{model_type}' model, not MusicGen (musicgen or musicgen_melody)")
        check_config(config, name)            # parts that disagree are refused before the weights are read
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
        raise GenerateError(missing_weights_message(name, _first_line(e), adapter)) from None
    except (ValueError, KeyError) as e:
        raise GenerateError(f"{name}: cannot load a MusicGen model ({_first_line(e)})") from None
    revision = getattr(model.config, "_commit_hash", None) or getattr(config, "_commit_hash", None)
    return model, processor, revision


def _hub_options(name: str, adapter: str | None) -> dict[str, Any]:
    """How to reach a hub id: from the local cache alone when it is there; else from the hub, once it is known to
    answer (an offline machine gets the missing-weights paragraph now, not after the downloader's retries).
    huggingface_hub reads HF_HUB_OFFLINE and HF_HOME once, at import: they are read again here, so that settings
    made after the import (a CLI option, a test) still hold."""
    opts: dict[str, Any] = {}
    if os.environ.get("HF_HUB_CACHE") or os.environ.get("HF_HOME"):
        opts["cache_dir"] = _cache_dir()
    if hub.cached(name) is not None or _offline():
        opts["local_files_only"] = True
    elif not hub.hub_answers():
        raise GenerateError(missing_weights_message(name, f"no answer from the hub within {hub.HUB_TIMEOUT_S:g} s",
                                                    adapter))
    return opts


def _engine(engine: str, model: Any, name: str) -> str:
    """The decoding loop to use: sori's where it runs this model (or where asked, if it can), else transformers'."""
    from . import fast
    reason = fast.unsupported_reason(model) if engine != "transformers" else None
    if engine == "sori" and reason is not None:
        raise GenerateError(f"engine 'sori' cannot run {name}: {reason}; use engine 'auto' or 'transformers'")
    return "transformers" if engine == "transformers" or reason is not None else "sori"
