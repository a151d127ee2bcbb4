"""Fine-tuning methods: a registry from the guide's method name to how the backbone is prepared.

Each ``prepare`` takes the loaded backbone and returns the module to train (the backbone itself or a
PEFT wrapper), with ``requires_grad`` set so that exactly the method's parameters train.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from venus_core import vocab
from venus_core.config import RunConfig
from venus_core.errors import VenusError
from venus_core.models import Architecture


@dataclass(frozen=True)
class Method:
    name: str
    prepare: Callable[[nn.Module, RunConfig, Architecture, int], nn.Module]
    frozen_backbone: bool  # backbone outputs never change: run it without grad (and cache it)
    quantized: bool = False  # load the backbone in 4-bit (QLoRA)
    uses_structure: bool = False  # fuses foldseek/ss8 structure sequences (SES-Adapter)


def _freeze_all(model: nn.Module) -> nn.Module:
    model.requires_grad_(False)
    return model


def _prepare_freeze(model: nn.Module, cfg: RunConfig, arch: Architecture, total_steps: int) -> nn.Module:
    return _freeze_all(model)


def _prepare_full(model: nn.Module, cfg: RunConfig, arch: Architecture, total_steps: int) -> nn.Module:
    model.requires_grad_(True)
    for name, module in model.named_modules():
        if name.split(".")[-1] in arch.unused_modules:
            module.requires_grad_(False)
    return model


def lora_targets(cfg: RunConfig, arch: Architecture) -> tuple[str, ...]:
    return cfg.method.lora_target_modules or arch.lora_targets


def check_targets(model: nn.Module, targets: tuple[str, ...], option: str = "lora_target_modules") -> None:
    """Every target name must match at least one Linear module (PEFT matches name suffixes)."""
    linear_names = [
        n for n, m in model.named_modules() if isinstance(m, nn.Linear) or "Linear" in type(m).__name__
    ]
    missing = [t for t in targets if not any(n == t or n.endswith("." + t) for n in linear_names)]
    if missing:
        suffixes = sorted(
            {n.split(".")[-1] for n in linear_names} | {".".join(n.split(".")[-2:]) for n in linear_names}
        )
        raise VenusError(
            f"{option} {', '.join(missing)} match no linear layer of this model. "
            f"Names that exist: {', '.join(suffixes[:30])}."
        )


def _lora_config(cfg: RunConfig, arch: Architecture, **extra: Any) -> Any:
    from peft import LoraConfig

    m = cfg.method
    return LoraConfig(
        r=m.lora_r,
        lora_alpha=m.lora_alpha,
        lora_dropout=m.lora_dropout,
        target_modules=list(lora_targets(cfg, arch)),
        bias="none",
        **extra,
    )


def _wrap(model: nn.Module, peft_config: Any) -> nn.Module:
    import warnings

    from peft import get_peft_model

    with warnings.catch_warnings():  # peft calls a transformers API that warns of its own renaming
        warnings.simplefilter("ignore", FutureWarning)
        return get_peft_model(model, peft_config)  # freezes the base, adapters trainable


def _prepare_lora(model, cfg, arch, total_steps):
    check_targets(model, lora_targets(cfg, arch))
    return _wrap(model, _lora_config(cfg, arch))


def _prepare_dora(model, cfg, arch, total_steps):
    check_targets(model, lora_targets(cfg, arch))
    return _wrap(model, _lora_config(cfg, arch, use_dora=True))


def _prepare_adalora(model, cfg, arch, total_steps):
    """AdaLoRA needs the real number of optimizer steps to schedule its rank budget; the trainer
    calls ``update_and_allocate`` after every optimizer step."""
    from peft import AdaLoraConfig

    m = cfg.method
    targets = lora_targets(cfg, arch)
    check_targets(model, targets)
    total = max(int(total_steps), 1)
    # Rank pruning starts after 10% of training and is fixed for the last 20% (peft's own ratios).
    tinit, tfinal = total // 10, total // 5
    return _wrap(
        model,
        AdaLoraConfig(
            init_r=max(m.lora_r * 3 // 2, m.lora_r),
            target_r=m.lora_r,
            lora_alpha=m.lora_alpha,
            lora_dropout=m.lora_dropout,
            target_modules=list(targets),
            total_step=total,
            tinit=tinit,
            tfinal=tfinal,
            deltaT=max(1, (total - tinit - tfinal) // 10),
        ),
    )


ADALORA_SCORES = ("ipt", "exp_avg_ipt", "exp_avg_unc")  # peft RankAllocator's per-weight statistics


def adalora_orthogonality(backbone: nn.Module) -> torch.Tensor:
    """AdaLoRA's regulariser keeping P (``lora_A``) and Q (``lora_B``) near-orthogonal: the mean of
    ||P P^T - I||_F and ||Q^T Q - I||_F, times ``orth_reg_weight`` (the paper's and peft's form). peft
    adds it only to a loss its own forward computed from labels; here the head computes the loss,
    so the trainer adds it."""
    config = backbone.peft_config[backbone.base_model.rankallocator.adapter_name]
    terms = []
    for name, p in backbone.named_parameters():
        if p.requires_grad and ("lora_A" in name or "lora_B" in name):
            cov = p @ p.T if "lora_A" in name else p.T @ p
            eye = torch.eye(cov.shape[0], dtype=cov.dtype, device=cov.device)
            terms.append(torch.linalg.matrix_norm(cov - eye))
    return config.orth_reg_weight * torch.stack(terms).mean()


def adalora_state(backbone: nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """What AdaLoRA's rank allocation has learnt so far, for a checkpoint: the smoothed importance
    scores of every adapter weight, and the rank pattern once the ranks are fixed. Without them a
    resumed run would allocate ranks from fresh scores, or (in the final phase) have no pattern."""
    alloc = backbone.base_model.rankallocator
    tensors = {
        f"{kind}/{name}": t.detach().to("cpu").contiguous()
        for kind in ADALORA_SCORES
        for name, t in getattr(alloc, kind).items()
    }
    return tensors, {"rank_pattern": backbone.peft_config[alloc.adapter_name].rank_pattern}


def load_adalora_state(backbone: nn.Module, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    alloc = backbone.base_model.rankallocator
    device = next(p for p in backbone.parameters() if p.requires_grad).device
    for kind in ADALORA_SCORES:
        prefix = kind + "/"
        scores = {k[len(prefix) :]: v.to(device) for k, v in tensors.items() if k.startswith(prefix)}
        setattr(alloc, kind, scores)
    backbone.peft_config[alloc.adapter_name].rank_pattern = meta.get("rank_pattern")


def _prepare_ia3(model, cfg, arch, total_steps):
    from peft import IA3Config

    check_targets(model, arch.ia3_targets, "IA3 target modules")
    return _wrap(
        model,
        IA3Config(target_modules=list(arch.ia3_targets), feedforward_modules=list(arch.ia3_feedforward)),
    )


def _prepare_qlora(model, cfg, arch, total_steps):
    """The backbone was loaded in 4-bit nf4 (see ``quantization_config``); LoRA trains on top."""
    from peft import prepare_model_for_kbit_training

    check_targets(model, lora_targets(cfg, arch))
    # Gradient checkpointing is left off: it trades compute for memory, and the quantized weights
    # already saved most of it. The call casts norms to fp32 for stable training.
    model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    return _wrap(model, _lora_config(cfg, arch))


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("freeze", _prepare_freeze, frozen_backbone=True),
        Method("full", _prepare_full, frozen_backbone=False),
        Method("plm-lora", _prepare_lora, frozen_backbone=False),
        Method("dora", _prepare_dora, frozen_backbone=False),
        Method("adalora", _prepare_adalora, frozen_backbone=False),
        Method("ia3", _prepare_ia3, frozen_backbone=False),
        Method("plm-qlora", _prepare_qlora, frozen_backbone=False, quantized=True),
        Method("ses-adapter", _prepare_freeze, frozen_backbone=True, uses_structure=True),
    )
}
assert tuple(METHODS) == vocab.TRAINING_METHODS


def get_method(name: str) -> Method:
    name = vocab.canonical_method(name)
    if name not in METHODS:
        raise VenusError(f"Unknown training method '{name}'. Choose from {', '.join(METHODS)}.")
    return METHODS[name]


def quantization_config(device: torch.device) -> Any:
    """bitsandbytes 4-bit nf4 for QLoRA: bf16 compute on GPUs that have it, fp32 elsewhere.

    Linear layers created fresh at load time must not be quantized; ours (the head) live outside
    the backbone, and ESM's contact head is skipped because its input size is not a multiple of 64.
    """
    from transformers import BitsAndBytesConfig

    bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16 if bf16 else torch.float32,
        llm_int8_skip_modules=["contact_head", "pooler.dense", "classifier", "lm_head"],
    )
