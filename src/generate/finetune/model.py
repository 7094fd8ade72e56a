"""What is trained and how: MusicGen's decoder under its frozen text encoder (`DecoderLM`), made trainable in full
or through LoRA adapters (`prepare_model`), its loss (`lm_loss`) and its optimiser and schedule (`make_optimizer`)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import torch

from ..errors import GenerateError
from .config import TrainConfig


class DecoderLM(torch.nn.Module):
    """MusicGen under its frozen text encoder, as one module whose forward gives the decoder's logits: the module
    accelerate prepares (DDP synchronises gradients through a module's own forward)."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model            # MusicgenForConditionalGeneration, or a PeftModel around it

    @property
    def base(self) -> Any:
        m = self.model
        return m.get_base_model() if hasattr(m, "get_base_model") else m

    def forward(self, input_ids: Any, attention_mask: Any, keep: Any, tokens: Any) -> Any:
        base = self.base
        with torch.no_grad():
            states = base.text_encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if (base.text_encoder.config.hidden_size != base.decoder.config.hidden_size
                and base.decoder.config.cross_attention_hidden_size is None):
            states = base.enc_to_dec_proj(states)
        mask = attention_mask * keep[:, None].to(attention_mask.dtype)
        states = states * mask[..., None].to(states.dtype)
        b, k, s = tokens.shape
        logits = base.decoder(input_ids=tokens.reshape(b * k, s), encoder_hidden_states=states,
                              encoder_attention_mask=mask).logits
        return logits.reshape(b, k, s, -1)


def prepare_model(model: Any, cfg: TrainConfig) -> Any:
    """Freeze the text encoder and the codec; LoRA on the decoder, or the whole decoder trainable."""
    for p in model.parameters():
        p.requires_grad_(False)
    if cfg.method == "lora":
        from peft import LoraConfig, get_peft_model
        lcfg = LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                          target_modules=list(cfg.lora.target_modules), bias="none")
        try:
            with warnings.catch_warnings():     # peft asks transformers 5 for a renamed attribute
                warnings.simplefilter("ignore", FutureWarning)
                model = get_peft_model(model, lcfg)
        except ValueError as e:
            raise GenerateError(f"lora.target_modules {cfg.lora.target_modules}: {str(e).splitlines()[0]}") from None
    else:
        for name, p in model.named_parameters():
            if name.startswith(("decoder.", "enc_to_dec_proj.")):
                p.requires_grad_(True)
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if cfg.gradient_checkpointing:
        enable = getattr(base.decoder, "activation_checkpointing_enable", None)     # transformers >= 5.x
        if enable is not None:
            enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            base.decoder.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return model


def lm_loss(logits: Any, targets: Any, mask: Any) -> tuple[Any, Any, Any]:
    """Cross-entropy per codebook over the masked positions: (mean over codebooks, per-codebook sums, counts)."""
    b, k, s, v = logits.shape
    ce = torch.nn.functional.cross_entropy(logits.float().reshape(-1, v), targets.masked_fill(~mask, -100).reshape(-1),
                                           reduction="none", ignore_index=-100).reshape(b, k, s)
    m = mask.to(ce.dtype)
    sums, counts = (ce * m).sum(dim=(0, 2)), m.sum(dim=(0, 2))
    return (sums / counts.clamp_min(1)).mean(), sums.detach(), counts.detach()


def make_optimizer(module: torch.nn.Module, cfg: TrainConfig) -> tuple[Any, Any]:
    """AdamW over the trainable parameters (weight decay on matrices only) and its warm-up + cosine schedule."""
    trainable = [p for p in module.parameters() if p.requires_grad]
    decay = [p for p in trainable if p.dim() >= 2]          # no decay on biases and norms
    rest = [p for p in trainable if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                   {"params": rest, "weight_decay": 0.0}],
                                  lr=cfg.learning_rate, betas=cfg.betas)
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule(cfg))


def schedule(cfg: TrainConfig) -> Callable[[int], float]:
    """The learning rate's factor at each step: linear warm-up, then cosine decay to `min_lr_ratio`."""
    def factor(step: int) -> float:
        if step < cfg.warmup_steps:
            return (step + 1) / (cfg.warmup_steps + 1)
        span = max(1, cfg.max_steps - cfg.warmup_steps)
        progress = min(1.0, (step - cfg.warmup_steps) / span)
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return factor
