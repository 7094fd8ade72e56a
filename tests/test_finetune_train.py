"""The token cache and the trainer, on the AI Hub fixture and a tiny MusicGen built here.

The pipeline is the one a user runs: the fixture in the AI Hub 71470 layout -> `prepare` (8 kHz windows of 1-3 s) ->
a tiny MusicGen whose codebooks are drawn from those windows and whose tokenizer knows the captions' words ->
`tokenize` -> `train` -> `sori generate --model OUTPUT/final`.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from generate.errors import GenerateError
from generate.finetune import tokens as tok
from generate.finetune import train as tr
from generate.finetune.batches import delay_pattern, eval_batches
from generate.finetune.config import TrainConfig, load_config
from generate.finetune.model import DecoderLM, lm_loss
from generate.finetune.prepare import prepare
from generate.musicgen import load_model
from tests.aihub_fixture import write_aihub_fixture
from tests.clirun import one_error
from tests.tiny_musicgen import CODEBOOKS, RATE, save_tiny

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))


def _rows(dataset: Path) -> list[dict]:
    return [json.loads(line) for line in (dataset / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def gugak(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Fixture -> prepared windows -> tiny model fitted to them -> token cache; built once for the module."""
    root = tmp_path_factory.mktemp("gugak")
    info = write_aihub_fixture(root / "source", sample_rate=16_000, clips_per_instrument=16, valid_per_instrument=5)
    dataset = root / "dataset"
    prepare(info["root"], dataset, sample_rate=RATE, min_seconds=1, max_seconds=3, jobs=1, progress=False)
    rows = _rows(dataset)
    audio = [sf.read(dataset / r["audio"], dtype="float32")[0] for r in rows]
    model = save_tiny(root / "tiny", fit_to=audio, texts=sorted({r["caption"] for r in rows}))
    loaded = load_model(str(model), device="cpu", dtype="fp32", engine="transformers")
    result = tok.tokenize(dataset, str(model), loaded=loaded, shard_size=32)
    return {"root": root, "dataset": dataset, "model": model, "cache": result.cache_dir, "rows": rows,
            "result": result}


def _config(gugak: dict, out: Path, **kw) -> TrainConfig:
    base = {"model": str(gugak["model"]), "data": str(gugak["cache"]), "output": str(out), "method": "lora",
            "batch_size": 4, "segment_seconds": 1.0, "max_steps": 20, "learning_rate": 3e-3, "warmup_steps": 3,
            "eval_every": 10, "save_every": 10, "log_every": 5}
    return TrainConfig(**(base | kw))


def _log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text(encoding="utf-8").splitlines()]


# --- the token cache -----------------------------------------------------------------------------------------------

def test_cache_holds_every_window_once(gugak: dict) -> None:
    cache = tok.TokenCache(gugak["cache"])
    rows = gugak["rows"]
    meta = cache.meta
    assert meta["codebooks"] == CODEBOOKS and meta["frame_rate"] == 50 and meta["sample_rate"] == RATE
    assert meta["windows"] == {"train": sum(r["split"] == "train" for r in rows),
                               "valid": sum(r["split"] == "valid" for r in rows)}
    by_id = {r["id"]: r for r in rows}
    seen = [w.record["id"] for s in ("train", "valid") for w in cache.split(s)]
    assert sorted(seen) == sorted(by_id) and len(seen) == len(set(seen))
    for split in ("train", "valid"):
        for w in cache.split(split):
            row = by_id[w.record["id"]]
            assert row["split"] == split and w.record["caption"] == row["caption"]
            assert w.codes.dtype == torch.int16 and w.codes.shape[0] == CODEBOOKS
            assert abs(w.codes.shape[1] - row["duration_s"] * 50) <= 1          # 50 frames a second
            assert 0 <= int(w.codes.min()) and int(w.codes.max()) < 64
    # the codes are the model's EnCodec's, frame for frame, encoded in the batch tokenize put the window in
    # (the CPU's convolution kernels may round differently for another batch size, and a code can flip on a tie)
    shard = tok.plan_shards(sorted(rows, key=lambda r: r["id"]), 32)[0]
    windows = {w.record["id"]: w for s in ("train", "valid") for w in cache.split(s)}
    audio = [tok._read_window(gugak["dataset"], by_id[i], RATE) for i in shard.ids]
    batch = next(tok._batches([by_id[i] for i in shard.ids], audio, 8))
    model = load_model(str(gugak["model"]), device="cpu", dtype="fp32", engine="transformers").model
    for i, codes in zip(batch, tok.encode(model, [audio[i] for i in batch]), strict=True):
        assert np.array_equal(codes, windows[shard.ids[i]].codes.numpy())


def test_tokenize_resumes_and_refuses_another_codec(gugak: dict, tmp_path: Path) -> None:
    loaded = load_model(str(gugak["model"]), device="cpu", dtype="fp32", engine="transformers")
    cache = tmp_path / "cache"
    shutil.copytree(gugak["cache"], cache)
    again = tok.tokenize(gugak["dataset"], "tiny", cache_dir=cache, loaded=loaded, shard_size=32)
    assert again.encoded == 0 and again.windows == gugak["result"].windows
    shards = sorted(cache.glob("train-*.safetensors"))
    assert len(shards) >= 2
    before = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.safetensors")}
    shards[1].unlink()                                                # as if the run had stopped there
    shards[0].write_bytes(shards[0].read_bytes()[:100])              # a torn file from another writer
    redo = tok.tokenize(gugak["dataset"], "tiny", cache_dir=cache, loaded=loaded, shard_size=32)
    assert redo.encoded == 64                                         # the two shards, nothing else
    after = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.safetensors")}
    assert {n for n in after if after[n] != before.get(n)} == {shards[0].name, shards[1].name}
    assert tok.TokenCache(cache).meta["windows"] == tok.TokenCache(gugak["cache"]).meta["windows"]

    # a shard whose windows got new captions is encoded again; the others are kept
    rows = _rows(gugak["dataset"])
    relabelled = tmp_path / "relabelled"
    shutil.copytree(gugak["dataset"], relabelled, ignore=shutil.ignore_patterns("tokens"))
    rows[0]["caption"] = "a new caption"
    (relabelled / "manifest.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                               encoding="utf-8")
    third = tok.tokenize(relabelled, "tiny", cache_dir=cache, loaded=loaded, shard_size=32)
    assert third.encoded == 32 and tok.TokenCache(cache).split("train")[0].record["caption"] == "a new caption"

    other = save_tiny(tmp_path / "other")                             # another codec's weights
    with pytest.raises(GenerateError, match="tokens of another codec"):
        tok.tokenize(gugak["dataset"], str(other), cache_dir=cache)


# --- the objective -------------------------------------------------------------------------------------------------

def test_delay_pattern_is_musicgens(gugak: dict) -> None:
    """Inputs and targets line up with transformers' own delay pattern: `build_delay_pattern_mask` given the whole
    take as its prompt returns the delayed sequence of T + K positions."""
    model = load_model(str(gugak["model"]), device="cpu", dtype="fp32", engine="transformers").model
    start = int(model.generation_config.decoder_start_token_id or model.generation_config.bos_token_id)
    g = torch.Generator().manual_seed(0)
    codes = torch.randint(0, 64, (2, CODEBOOKS, 9), generator=g)
    inputs, targets, mask = delay_pattern(codes, torch.tensor([9, 6]), start)
    ids = torch.cat([torch.full((2 * CODEBOOKS, 1), start), codes.reshape(2 * CODEBOOKS, 9)], dim=1)
    _, pattern = model.decoder.build_delay_pattern_mask(ids, pad_token_id=start, max_length=9 + CODEBOOKS)
    theirs = pattern.reshape(2, CODEBOOKS, -1)
    assert torch.equal(inputs[0], theirs[0, :, :-1]) and torch.equal(targets[0], theirs[0, :, 1:])
    for k in range(CODEBOOKS):                          # codebook k: frames at targets k..k+len-1, the rest masked
        assert mask[0, k].nonzero().flatten().tolist() == list(range(k, k + 9))
        assert mask[1, k].nonzero().flatten().tolist() == list(range(k, k + 6))
        assert torch.equal(targets[0, k, k:k + 9], codes[0, k])


# --- training ------------------------------------------------------------------------------------------------------

def test_lora_training_lowers_the_loss_and_exports_an_adapter(gugak: dict, tmp_path: Path, sori) -> None:
    out = tmp_path / "lora"
    cfg = _config(gugak, out, max_steps=40, eval_every=20, save_every=20, sample_every=40,
                  samples={"prompts": ["traditional Korean sanjo, solo gayageum"], "seconds": 0.5})
    result = tr.train(cfg, progress=False)
    losses = [loss for _, loss in result.losses]
    assert len(losses) == 40 and np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.05
    rows = _log(out)
    assert [r["step"] for r in rows] == list(range(1, 41))
    assert rows[19]["val_loss"] > rows[39]["val_loss"]                     # held-out loss falls too
    assert len(result.val_per_codebook) == CODEBOOKS
    assert result.val_loss == pytest.approx(np.mean(result.val_per_codebook))
    assert "tokens_per_s" in rows[4] and rows[4]["tokens_per_s"] > 0
    assert rows[0]["lr"] < rows[3]["lr"] and rows[39]["lr"] < rows[10]["lr"]       # warm-up, then cosine decay
    # TensorBoard has the curves
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = [EventAccumulator(str(p.parent)).Reload() for p in (out / "tensorboard").rglob("events.out.*")]
    tags = {t for e in events for t in e.Tags()["scalars"]}
    assert {"train/loss", "train/lr", "val/loss", "val/loss_cb0"} <= tags
    # samples, and the adapter alone: a few kB, its config names the base model
    assert sf.info(out / "samples" / "step-0000040" / "sample-00.wav").samplerate == RATE
    final = result.export
    assert sorted(p.name for p in final.iterdir()) == ["README.md", "adapter_config.json",
                                                       "adapter_model.safetensors", "sori-train.json"]
    adapter = json.loads((final / "adapter_config.json").read_text())
    assert Path(adapter["base_model_name_or_path"]) == gugak["model"].resolve()
    card = json.loads((final / "sori-train.json").read_text())
    assert card["steps"] == 40 and card["method"] == "lora" and card["val_loss"] == pytest.approx(result.val_loss)
    # the export generates through `sori generate --model OUTPUT/final`
    takes = tmp_path / "takes"
    proc = sori("generate", "--instrument", "가야금", "--genre", "산조", "--solo", "-d", "0.5", "--seed", "3",
                "-o", takes, "--model", final, "-q")
    assert proc.returncode == 0, proc.stderr
    sidecar = json.loads((takes / "take_000.json").read_text(encoding="utf-8"))
    assert sidecar["adapter"] == str(final)
    audio, sr = sf.read(takes / "take_000.wav")
    assert sr == RATE and len(audio) == RATE // 2 and np.abs(audio).max() > 0


def test_resume_gives_the_losses_of_an_uninterrupted_run(gugak: dict, tmp_path: Path) -> None:
    kw = {"method": "full", "max_steps": 12, "grad_accum": 2, "eval_every": 4, "save_every": 4}
    whole = tr.train(_config(gugak, tmp_path / "whole", **kw), progress=False)
    part = tr.train(_config(gugak, tmp_path / "part", **kw), progress=False, stop_after=6)
    assert part.step == 6 and part.export is None
    assert not list((tmp_path / "part" / "checkpoints").glob(".*"))          # no temporary folder left behind
    state = json.loads((tmp_path / "part" / "checkpoints" / "step-0000006" / "state.json").read_text())
    assert state["step"] == 6 and state["data"]["pos"] > 0
    rest = tr.train(_config(gugak, tmp_path / "part", **kw), progress=False)   # a new process would do the same
    assert rest.resumed_from == 6
    assert rest.losses == whole.losses[6:]                                     # exactly, not approximately
    assert rest.val_per_codebook == whole.val_per_codebook
    assert [r["step"] for r in _log(tmp_path / "part")] == list(range(1, 13))
    from safetensors.torch import load_file
    a, b = load_file(whole.export / "model.safetensors"), load_file(rest.export / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    finished = tr.train(_config(gugak, tmp_path / "part", **kw), progress=False)     # run again: nothing to do
    assert finished.losses == [] and finished.export == rest.export and finished.val_loss == rest.val_loss
    # kept: the last two checkpoints
    assert sorted(p.name for p in (tmp_path / "part" / "checkpoints").iterdir()) == ["step-0000008", "step-0000012"]
    # a different run in the same folder is refused, --fresh starts over
    with pytest.raises(GenerateError, match="another model, data, method or batch"):
        tr.train(_config(gugak, tmp_path / "part", **(kw | {"batch_size": 2, "max_steps": 14})), progress=False)
    again = tr.train(_config(gugak, tmp_path / "part", **(kw | {"max_steps": 2})), fresh=True, progress=False)
    assert again.resumed_from is None and again.losses[0] == whole.losses[0]


def _shuffled_dataset(gugak: dict, folder: Path) -> Path:
    """The same windows with the training captions shuffled among them (validation captions stay true)."""
    shutil.copytree(gugak["dataset"], folder, ignore=shutil.ignore_patterns("tokens"))
    rows = _rows(folder)
    train = [r for r in rows if r["split"] == "train"]
    captions = [r["caption"] for r in train]
    random.Random(0).shuffle(captions)
    for r, c in zip(train, captions, strict=True):
        r["caption"] = c
    (folder / "manifest.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                           encoding="utf-8")
    return folder


def test_the_conditioning_is_learned(gugak: dict, tmp_path: Path) -> None:
    """Trained on true captions, the held-out loss on correctly captioned windows is lower than trained on shuffled
    captions, and the model trained on true captions does worse when given the wrong caption."""
    loaded = load_model(str(gugak["model"]), device="cpu", dtype="fp32", engine="transformers")
    shuffled = tok.tokenize(_shuffled_dataset(gugak, tmp_path / "shuffled"), "tiny", loaded=loaded,
                            cache_dir=tmp_path / "shuffled-cache").cache_dir
    kw = {"method": "full", "max_steps": 400, "segment_seconds": 0.2, "learning_rate": 5e-3, "warmup_steps": 10,
          "eval_every": 400, "save_every": 400}
    true = tr.train(_config(gugak, tmp_path / "true", **kw), progress=False)
    shuf = tr.train(_config(gugak, tmp_path / "shuf", **(kw | {"data": str(shuffled)})), progress=False)
    assert true.val_loss < shuf.val_loss - 0.01, (true.val_loss, shuf.val_loss)

    model = load_model(str(true.export), device="cpu", dtype="fp32", engine="transformers")
    module = DecoderLM(model.model).eval()
    valid = tok.TokenCache(gugak["cache"]).split("valid")
    captions = sorted({w.record["caption"] for w in valid})

    def loss(pick) -> float:
        b = eval_batches(valid, 64, 10)[0]
        b["captions"] = [pick(c) for c in b["captions"]]
        text = model.processor.tokenizer(b["captions"], padding=True, return_tensors="pt")
        inputs, targets, mask = delay_pattern(b["codes"], b["lengths"], 64)
        with torch.no_grad():
            return lm_loss(module(text["input_ids"], text["attention_mask"], b["keep"], inputs), targets, mask)[0]

    right = loss(lambda c: c)
    wrong = loss(lambda c: captions[(captions.index(c) + 1) % len(captions)])
    print(f"held-out loss: true captions {true.val_loss:.4f}, shuffled {shuf.val_loss:.4f}; the true model given "
          f"right captions {right:.4f}, wrong ones {wrong:.4f}")
    assert right < wrong - 0.01, (right, wrong)


# --- the commands --------------------------------------------------------------------------------------------------

def test_commands_tokenize_train_and_generate(gugak: dict, tmp_path: Path, sori) -> None:
    cache = tmp_path / "cache"
    proc = sori("data", "tokenize", gugak["dataset"], "--model", gugak["model"], "-o", cache, "--device", "cpu",
                "-q")
    assert proc.returncode == 0, proc.stderr
    assert f"{cache}: {gugak['result'].windows} windows" in proc.stdout
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"model": str(gugak["model"]), "data": str(cache), "output": str(tmp_path / "run"),
                                      "method": "full", "max_steps": 50, "batch_size": 2, "segment_seconds": 0.5,
                                      "eval_every": 3, "save_every": 3}), encoding="utf-8")
    proc = sori("train", config, "--max-steps", "4", "-q")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("step 4;") and "sori generate --model" in proc.stdout
    assert json.loads((tmp_path / "run" / "final" / "sori-train.json").read_text())["steps"] == 4
    assert (tmp_path / "run" / "final" / "config.json").is_file()             # the whole model, with its processor
    proc = sori("generate", "sanjo", "-d", "0.4", "-o", tmp_path / "takes", "--model", tmp_path / "run" / "final",
                "-q")
    assert proc.returncode == 0, proc.stderr
    assert sf.info(tmp_path / "takes" / "take_000.wav").frames == int(0.4 * RATE)


def test_command_errors_are_one_line(gugak: dict, tmp_path: Path, sori) -> None:
    assert "no manifest.jsonl" in one_error(sori("data", "tokenize", tmp_path, "--model", gugak["model"]))
    offline = one_error(sori("data", "tokenize", gugak["dataset"], "--model", "facebook/musicgen-small"))
    assert "HF_HUB_OFFLINE" in offline and not (gugak["dataset"] / "tokens" / "musicgen-small").exists()
    assert "cannot read the training config" in one_error(sori("train", tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    good = {"model": str(gugak["model"]), "data": str(gugak["cache"]), "output": str(tmp_path / "o")}
    bad.write_text(yaml.safe_dump(good | {"learning_rat": 0.1}), encoding="utf-8")
    assert "learning_rat: unknown key (did you mean 'learning_rate'?)" in one_error(sori("train", bad))
    bad.write_text(yaml.safe_dump(good | {"method": "qlora"}), encoding="utf-8")
    assert "method: 'qlora' is not allowed" in one_error(sori("train", bad))
    bad.write_text(yaml.safe_dump(good | {"data": str(tmp_path)}), encoding="utf-8")
    assert "not a finished token cache" in one_error(sori("train", bad))
    bad.write_text(yaml.safe_dump(good | {"batch_size": 1000}), encoding="utf-8")
    assert "fewer than one global batch" in one_error(sori("train", bad))
    bad.write_text("model: [", encoding="utf-8")
    assert "not valid YAML" in one_error(sori("train", bad))


def test_example_configs_are_valid() -> None:
    configs = sorted((ROOT / "configs" / "finetune").glob("*.yaml"))
    assert {p.stem for p in configs} == {"gugak-lora", "gayageum-lora", "musicgen-small-full"}
    methods = {p.stem: load_config(p).method for p in configs}
    assert methods == {"gugak-lora": "lora", "gayageum-lora": "lora", "musicgen-small-full": "full"}


def test_two_processes_through_torchrun(gugak: dict, tmp_path: Path) -> None:
    """The same module under a distributed launcher (torchrun; `accelerate launch` sets the same variables): two
    CPU processes share each global batch, and the checkpoint keeps each one's RNG."""
    config = tmp_path / "ddp.yaml"
    config.write_text(yaml.safe_dump({"model": str(gugak["model"]), "data": str(gugak["cache"]),
                                      "output": str(tmp_path / "ddp"), "batch_size": 2, "max_steps": 4,
                                      "segment_seconds": 0.5, "eval_every": 2, "save_every": 2}), encoding="utf-8")
    env = dict(os.environ, ACCELERATE_USE_CPU="1", OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                           "-m", "generate.finetune.train", str(config)],
                          capture_output=True, text=True, env=env, timeout=240, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("step 4;") == 1                                  # the main process reports
    ckpt = tmp_path / "ddp" / "checkpoints" / "step-0000004"
    assert json.loads((ckpt / "state.json").read_text())["world"] == 2
    assert (ckpt / "rng-0.pt").is_file() and (ckpt / "rng-1.pt").is_file()
    assert (tmp_path / "ddp" / "final" / "adapter_model.safetensors").is_file()
