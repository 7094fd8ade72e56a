"""What a run writes of its model: checkpoints to resume from, and the final export.

A checkpoint (OUTPUT/checkpoints/step-NNNNNNN) holds the trainable weights, the optimiser, the scheduler, the fp16
loss scale, every process's RNG states and the data position, so a resumed run continues with exactly the losses of
an uninterrupted one; the last `keep_checkpoints` are kept. The export (OUTPUT/final) is the LoRA adapter alone or the
whole fine-tuned model with its processor. Each is written to a temporary folder and renamed.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import GenerateError
from .batches import Batches
from .config import TrainConfig


def rng_state() -> dict[str, Any]:
    """Every RNG a step draws from (Python's, numpy's, torch's CPU and CUDA ones), of this process."""
    import torch
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    import torch
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def trainable_state(module: Any) -> dict[str, Any]:
    return {n: p.detach().cpu().contiguous() for n, p in module.named_parameters() if p.requires_grad}


def checkpoints(out: Path) -> list[Path]:
    """The run's finished checkpoints, oldest first (a temporary folder never counts)."""
    root = out / "checkpoints"
    return sorted(p for p in root.glob("step-*") if p.is_dir() and (p / "state.json").is_file()) \
        if root.is_dir() else []


def save_checkpoint(out: Path, step: int, module: Any, optimizer: Any, scheduler: Any, batches: Batches,
                    cfg: TrainConfig, accelerator: Any, extra: dict[str, Any]) -> Path:
    """Everything a resumed run needs, in checkpoints/step-NNNNNN, written to a temporary folder and renamed."""
    import torch
    from safetensors.torch import save_file
    final = out / "checkpoints" / f"step-{step:07d}"
    tmp = out / "checkpoints" / f".step-{step:07d}.tmp"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    torch.save(rng_state(), tmp / f"rng-{accelerator.process_index}.pt")
    if accelerator.is_main_process:
        save_file(trainable_state(accelerator.unwrap_model(module)), str(tmp / "trainable.safetensors"))
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
        if accelerator.scaler is not None:            # fp16: the loss scale carries on too
            torch.save(accelerator.scaler.state_dict(), tmp / "scaler.pt")
        state = {"step": step, "data": batches.state_dict(), "world": accelerator.num_processes,
                 "fingerprint": cfg.fingerprint(), **extra}
        (tmp / "state.json").write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        for old in checkpoints(out)[:-cfg.keep_checkpoints]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


def load_checkpoint(path: Path, module: Any, optimizer: Any, scheduler: Any, batches: Batches, cfg: TrainConfig,
                    accelerator: Any) -> dict[str, Any]:
    """Restore what `save_checkpoint` wrote; a checkpoint of another run (settings, process count, trainable
    parameters) is refused with one line."""
    import torch
    from safetensors.torch import load_file
    state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    if state.get("fingerprint") != cfg.fingerprint():
        raise GenerateError(f"{path}: this checkpoint is of a run with another model, data, method or batch; "
                            "use a new `output`, or pass --fresh to start over in this one")
    if state.get("world") != accelerator.num_processes:
        raise GenerateError(f"{path}: saved with {state.get('world')} processes, resumed with "
                            f"{accelerator.num_processes}; the data order depends on it: launch the same number")
    unwrapped = accelerator.unwrap_model(module)
    weights = load_file(str(path / "trainable.safetensors"))
    expected = {n for n, p in unwrapped.named_parameters() if p.requires_grad}
    if set(weights) != expected:
        raise GenerateError(f"{path}: its weights do not match this run's trainable parameters")
    unwrapped.load_state_dict(weights, strict=False)
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", map_location="cpu", weights_only=False))
    scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=False))
    if accelerator.scaler is not None and (path / "scaler.pt").is_file():
        accelerator.scaler.load_state_dict(torch.load(path / "scaler.pt", weights_only=False))
    batches.load_state_dict(state["data"])
    set_rng_state(torch.load(path / f"rng-{accelerator.process_index}.pt", weights_only=False))
    return state


def with_rng_kept(fn: Callable[[], Any]) -> Any:
    """Run `fn` without disturbing any RNG, so samples and evaluation leave the training randomness as it was."""
    state = rng_state()
    try:
        return fn()
    finally:
        set_rng_state(state)


def export_model(accelerator: Any, module: Any, loaded: Any, cfg: TrainConfig, out: Path, step: int,
                 val: tuple[float, list[float]] | None) -> Path:
    """OUTPUT/final: the LoRA adapter alone (its config names the base model) or the whole fine-tuned model with
    its processor; either loads with `sori generate --model OUTPUT/final`."""
    final = out / "final"
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        tmp = out / ".final.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        inner = accelerator.unwrap_model(module).model
        if cfg.method == "lora":
            inner.save_pretrained(str(tmp))
            cfg_path = tmp / "adapter_config.json"
            adapter = json.loads(cfg_path.read_text(encoding="utf-8"))
            local = Path(cfg.model).expanduser()
            adapter["base_model_name_or_path"] = str(local.resolve()) if local.is_dir() else cfg.model
            cfg_path.write_text(json.dumps(adapter, indent=2) + "\n", encoding="utf-8")
        else:
            inner.save_pretrained(str(tmp))
            loaded.processor.save_pretrained(str(tmp))
        card = {"base_model": cfg.model, "method": cfg.method, "steps": step, "data": cfg.data,
                "val_loss": val[0] if val else None, "val_loss_per_codebook": val[1] if val else None,
                "config": cfg.model_dump(mode="json")}
        (tmp / "sori-train.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        old = out / ".final.old"
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final
