"""The token cache: every window of a prepared dataset encoded once with the model's EnCodec.

Training then reads integer codes, never audio: a 30 s window is 1,500 frames x 4 codebooks of 2-byte codes
(12 kB) instead of 1.9 MB of 32 kHz float samples and an EnCodec pass at every step.

    CACHE/cache.json                 format, model, codec (rate, frame rate, codebooks, bins), shards, counts
    CACHE/train-00000.safetensors    `codes` int16 (codebooks, total frames), `lengths` int32 (windows,);
                                     metadata["records"]: the windows' manifest rows (id, caption, ...), in order

Shards are the tasks of the resumable runner (remaster.runner): each is one file written atomically and recorded
(CACHE/.sori/records/) with the hash of its windows and captions and of the codec, so an interrupted run keeps every
finished shard and a rerun encodes only the rest; a shard whose windows or captions changed is encoded again.
Shards are planned from the sorted manifest. The work (`ShardEncoder`) runs in this process with the codec loaded
once, or on a Ray cluster's actors (`engine="ray"`): each loads the codec once, on a GPU of its own when the cluster
has GPUs, checks it is the cache's codec, and writes its shards on the shared file system.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import GenerateError
from ..parts import check_codes, check_parts

if TYPE_CHECKING:
    from remaster.engines import Engine

FORMAT = "sori-tokens/1"
STATE_DIR = ".sori"
CACHE_JSON = "cache.json"
SPLITS = ("train", "valid")


def default_dir(dataset_dir: Path, model: str) -> Path:
    """DATASET_DIR/tokens/<model's last path part>, e.g. tokens/musicgen-small."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(model.rstrip("/\\")).name).strip("-.") or "model"
    return dataset_dir / "tokens" / slug


def read_manifest(dataset_dir: Path) -> list[dict[str, Any]]:
    """The rows of DATASET_DIR/manifest.jsonl (written by `sori data prepare`), sorted by id."""
    path = dataset_dir / "manifest.jsonl"
    if not path.is_file():
        raise GenerateError(f"{dataset_dir}: no manifest.jsonl; make the dataset first with "
                            "`sori data prepare SOURCE -o DATASET_DIR`")
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as e:
                raise GenerateError(f"{path}:{n}: not JSON ({e}); prepare the dataset again") from None
            missing = [k for k in ("id", "split", "audio", "caption") if k not in row]
            if missing:
                raise GenerateError(f"{path}:{n}: missing {', '.join(missing)}; prepare the dataset again")
            rows.append(row)
    if not rows:
        raise GenerateError(f"{path}: no windows; check the filters given to `sori data prepare`")
    return sorted(rows, key=lambda r: r["id"])


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def codec_fingerprint(model: Any) -> str:
    """What makes two encodings comparable: the codec's config and a checksum of its weights."""
    codec = model.audio_encoder
    h = hashlib.sha256(codec.config.to_json_string(use_diff=False).encode())
    for name, tensor in sorted(codec.state_dict().items()):
        h.update(name.encode())
        h.update(np.asarray(tensor.detach().float().sum().item(), dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


@dataclass
class Shard:
    name: str                  # train-00000.safetensors
    split: str
    ids: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "split": self.split, "windows": len(self.ids),
                "ids_sha256": _sha("\n".join(self.ids))}


def plan_shards(rows: Sequence[dict[str, Any]], shard_size: int) -> list[Shard]:
    shards = []
    for split in sorted({r["split"] for r in rows}, key=lambda s: (SPLITS.index(s) if s in SPLITS else 9, s)):
        ids = [r["id"] for r in rows if r["split"] == split]
        for i in range(0, len(ids), shard_size):
            shards.append(Shard(f"{split}-{i // shard_size:05d}.safetensors", split, ids[i:i + shard_size]))
    return shards


def _read_window(dataset_dir: Path, row: dict[str, Any], rate: int) -> np.ndarray:
    """A window as mono float32 at the codec's `rate`."""
    from remaster import audio as audio_io
    from remaster.errors import AudioError
    from remaster.processors.resample import resample
    try:
        audio, sr = audio_io.read(dataset_dir / row["audio"])
    except AudioError as e:
        raise GenerateError(f"{e}; prepare the dataset again") from None
    return resample(audio, sr, rate).mean(axis=0, dtype=np.float32)


def encode(model: Any, batch: Sequence[np.ndarray]) -> list[np.ndarray]:
    """EnCodec codes (codebooks, frames) of equal-length mono windows, as MusicGen's decoder reads them."""
    import torch
    device = next(model.audio_encoder.parameters()).device
    dtype = next(model.audio_encoder.parameters()).dtype
    values = torch.from_numpy(np.stack(batch)[:, None, :]).to(device=device, dtype=dtype)
    with torch.inference_mode():
        out = model.audio_encoder.encode(input_values=values, return_dict=True)
    codes = out.audio_codes            # (chunks, batch, codebooks, frames)
    if codes.shape[0] != 1:
        raise GenerateError("the model's EnCodec encodes in chunks; fine-tuning needs chunk_length None")
    return [c.cpu().numpy().astype(np.int16) for c in codes[0]]


def _batches(rows: Sequence[dict[str, Any]], audio: Sequence[np.ndarray], size: int) -> Iterator[list[int]]:
    """Indices grouped by exact length (so no window is padded), at most `size` at a time, in order of first use."""
    by_len: dict[int, list[int]] = {}
    for i, a in enumerate(audio):
        by_len.setdefault(len(a), []).append(i)
    for group in by_len.values():
        for j in range(0, len(group), size):
            yield group[j:j + size]


def _write_shard(path: Path, codes: list[np.ndarray], records: list[dict[str, Any]]) -> None:
    import torch
    from safetensors.torch import save

    from remaster.audio import atomic_write
    tensors = {"codes": torch.from_numpy(np.concatenate(codes, axis=1)),
               "lengths": torch.tensor([c.shape[1] for c in codes], dtype=torch.int32)}
    data = save(tensors, metadata={"records": json.dumps(records, ensure_ascii=False)})
    atomic_write(path, lambda f: f.write(data))      # a temporary file with Sori's mark: a killed run's is removed


@dataclass
class ShardEncoder:
    """The runner's work: encode one shard's windows, write the shard, return its frames. `setup()` runs once per
    worker: it loads `model_name`'s codec on `device` (unless `base` was given: this process' loaded model) and
    checks that it is the codec the cache holds."""

    out: Path
    dataset_dir: Path
    model_name: str
    device: str
    codec: str
    sample_rate: int
    batch_size: int
    codebooks: int                      # what the decoder reads: every batch of codes must have them
    base: Any = None                    # the loaded MusicGen; never sent to another process

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "base": None}

    def setup(self) -> None:
        if self.base is not None:
            return
        from .. import musicgen
        loaded = musicgen.load_model(self.model_name, device=self.device, dtype="fp32", engine="transformers")
        base = loaded.model.get_base_model() if hasattr(loaded.model, "get_base_model") else loaded.model
        if codec_fingerprint(base) != self.codec:
            raise GenerateError(f"{self.model_name} on this worker is another codec than the cache's; give every "
                                "node the same model (a folder on the shared file system, or the same hub revision)")
        self.base = base

    def __call__(self, payload: tuple[Shard, list[dict[str, Any]]]) -> dict[str, Any]:
        from remaster.runner import tick
        shard, srows = payload
        audio = [_read_window(self.dataset_dir, r, self.sample_rate) for r in srows]
        codes: list[np.ndarray | None] = [None] * len(srows)
        for idx in _batches(srows, audio, self.batch_size):
            for i, c in zip(idx, encode(self.base, [audio[i] for i in idx]), strict=True):
                check_codes(c.shape, self.codebooks, self.model_name)
                codes[i] = c
            tick(len(idx))
        _write_shard(self.out / shard.name, [c for c in codes if c is not None], srows)
        return {"frames": sum(c.shape[1] for c in codes if c is not None)}


@dataclass
class TokenizeResult:
    cache_dir: Path
    windows: int
    encoded: int               # windows encoded by this run (the rest came from finished shards)
    frames: int
    shards: int


def tokenize(dataset_dir: str | os.PathLike, model_name: str, *, cache_dir: str | os.PathLike | None = None,
             shard_size: int = 512, batch_size: int = 8, device: str = "auto",
             on_progress: Callable[[int, int], None] | None = None, loaded: Any = None,
             engine: str | Engine = "local", address: str | None = None, jobs: int | None = None) -> TokenizeResult:
    """Encode every window of DATASET_DIR with `model_name`'s EnCodec into CACHE (default DATASET_DIR/tokens/<model>).

    `on_progress(done, total)` is called as windows are finished. `loaded` (a `Loaded`) skips loading the model in
    this process. `engine="ray"`: the shards are encoded on the cluster at `address` by `jobs` workers (default:
    one per GPU, else one per 4 CPUs), each loading `model_name` (a hub id every node has, or a shared folder)."""
    from remaster.audio import atomic_write_text
    from remaster.batch import remove_stale_temps

    from .. import musicgen

    ddir = Path(dataset_dir)
    rows = read_manifest(ddir)
    out = Path(cache_dir) if cache_dir is not None else default_dir(ddir, model_name)
    if shard_size < 1 or batch_size < 1:
        raise GenerateError("--shard-size and --batch-size must be at least 1")
    runs_on = _engine(engine, address, jobs)
    if loaded is None:
        loaded = musicgen.load_model(model_name, device=device, dtype="fp32", engine="transformers")
    base = loaded.model.get_base_model() if hasattr(loaded.model, "get_base_model") else loaded.model
    # codes the decoder cannot read would only fail at `sori train`: refuse the model before any shard is written
    check_parts(base, loaded.processor, model_name)
    if loaded.channels != 1:
        raise GenerateError(f"{model_name} is a stereo model; the prepared windows are mono, so fine-tune a mono "
                            "MusicGen (musicgen-small, -medium, -large)")
    meta = _cache_meta(model_name, loaded, base, ddir)
    _claim(out, meta)
    remove_stale_temps(out)                 # shards a killed run left half-written

    shards = plan_shards(rows, shard_size)
    encoder = ShardEncoder(out, ddir, model_name, device, meta["codec"], loaded.sample_rate, batch_size,
                           loaded.num_codebooks, base)
    frames, encoded = _run_shards(out, shards, {r["id"]: r for r in rows}, encoder, runs_on, on_progress)
    # shards of an earlier, longer plan would be read as data: remove them
    planned = {s.name for s in shards}
    for stale in out.glob("*.safetensors"):
        if stale.name not in planned:
            stale.unlink()
    meta["shards"] = [s.to_dict() | {"frames": frames[s.name]} for s in shards]
    meta["windows"] = {sp: sum(1 for r in rows if r["split"] == sp) for sp in sorted({r["split"] for r in rows})}
    meta["frames"] = sum(frames.values())
    meta["hours"] = round(meta["frames"] / loaded.frame_rate / 3600, 4)
    atomic_write_text(out / CACHE_JSON, json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    return TokenizeResult(out, len(rows), encoded, meta["frames"], len(shards))


def _engine(engine: str | Engine, address: str | None, jobs: int | None) -> Engine:
    from remaster.engines import make_engine
    if not isinstance(engine, str):
        return engine
    if engine == "local" and jobs not in (None, 1):
        raise GenerateError(f"--jobs {jobs}: tokenization runs in this process here (one codec; --device picks "
                            "the CPU or a GPU); --jobs is for --engine ray")
    return make_engine(engine, jobs=jobs, address=address, gpus="auto", cpus=4)


def _cache_meta(model_name: str, loaded: Any, base: Any, ddir: Path) -> dict[str, Any]:
    """cache.json's first part: what the codes are codes of."""
    return {"format": FORMAT, "model": model_name, "codec": codec_fingerprint(base),
            "sample_rate": loaded.sample_rate, "frame_rate": loaded.frame_rate,
            "codebooks": loaded.num_codebooks, "bins": int(base.config.decoder.vocab_size),
            "pad_token_id": int(base.generation_config.pad_token_id
                                if base.generation_config.pad_token_id is not None
                                else base.config.decoder.pad_token_id),
            "dataset": str(ddir.resolve())}


def _claim(out: Path, meta: dict[str, Any]) -> None:
    """Make OUT this codec's cache, or check it already is."""
    from remaster.audio import atomic_write_text
    old = _read_meta(out)
    if old is not None and (old.get("codec") != meta["codec"] or old.get("format") != FORMAT):
        raise GenerateError(f"{out} holds tokens of another codec ({old.get('model')}); pass a new --output or "
                            "delete that folder")
    out.mkdir(parents=True, exist_ok=True)
    # claimed before the first shard (no "shards" yet: not a finished cache), so that a rerun with another codec
    # is refused even when this run stops early
    atomic_write_text(out / CACHE_JSON, json.dumps(meta, indent=2, ensure_ascii=False) + "\n")


def _run_shards(out: Path, shards: Sequence[Shard], by_id: dict[str, dict[str, Any]], encoder: ShardEncoder,
                engine: Engine, on_progress: Callable[[int, int], None] | None) -> tuple[dict[str, int], int]:
    """Every shard encoded or, when its record still matches, kept: frames per shard, and windows encoded now."""
    from remaster.runner import Runner, Task, fingerprint

    tasks = [Task(key=s.name, fingerprint=fingerprint(encoder.codec, [by_id[i] for i in s.ids]),
                  outputs=(out / s.name,), payload=(s, [by_id[i] for i in s.ids]), label=s.name, size=len(s.ids))
             for s in shards]
    frames: dict[str, int] = {}
    encoded = 0
    runner = Runner(out / STATE_DIR, encoder, engine=engine, progress=False, on_progress=on_progress)
    for outcome in runner.run(tasks):
        if outcome.status == "failed":
            raise GenerateError(outcome.reason)
        if outcome.status == "done":
            encoded += outcome.task.size
        frames[outcome.task.key] = int(outcome.result["frames"])
    return frames, encoded


def _read_meta(cache_dir: Path) -> dict[str, Any] | None:
    p = cache_dir / CACHE_JSON
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except ValueError:
        return None


@dataclass
class Window:
    codes: Any                 # torch.int16 (codebooks, frames)
    record: dict[str, Any]


class TokenCache:
    """A finished cache, read whole into memory (42.8 h of 32 kHz MusicGen codes is about 60 MB)."""

    def __init__(self, cache_dir: str | os.PathLike) -> None:
        from safetensors import safe_open
        self.dir = Path(cache_dir)
        meta = _read_meta(self.dir)
        if meta is None or "shards" not in meta:
            raise GenerateError(f"{self.dir}: not a finished token cache (no {CACHE_JSON}); run "
                                "`sori data tokenize DATASET_DIR --model M` (it resumes where it stopped)")
        if meta.get("format") != FORMAT:
            raise GenerateError(f"{self.dir}: token cache format {meta.get('format')!r}, this Sori reads {FORMAT}")
        self.meta = meta
        self.windows: dict[str, list[Window]] = {}
        for s in meta["shards"]:
            path = self.dir / s["name"]
            try:
                with safe_open(str(path), "pt") as f:
                    codes = f.get_tensor("codes")
                    lengths = [int(x) for x in f.get_tensor("lengths")]
                    records = json.loads((f.metadata() or {})["records"])
            except Exception as e:
                raise GenerateError(f"{path}: cannot read this shard ({type(e).__name__}); run "
                                    "`sori data tokenize` again to rewrite it") from None
            if int(codes.shape[0]) != int(meta["codebooks"]):     # a cache made before the parts were checked
                raise GenerateError(f"{path}: holds codes of {int(codes.shape[0])} codebooks but the model reads "
                                    f"{meta['codebooks']}; its codec and decoder do not belong together; "
                                    "tokenize again with a consistent model")
            start = 0
            for n, rec in zip(lengths, records, strict=True):
                self.windows.setdefault(s["split"], []).append(Window(codes[:, start:start + n], rec))
                start += n

    @property
    def codebooks(self) -> int:
        return int(self.meta["codebooks"])

    @property
    def frame_rate(self) -> float:
        return float(self.meta["frame_rate"])

    def split(self, name: str) -> list[Window]:
        return self.windows.get(name, [])
