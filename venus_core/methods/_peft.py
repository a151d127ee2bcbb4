"""What the PEFT-based methods share: LoRA options, target checks and wrapping a backbone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from venus_core.errors import VenusError

if TYPE_CHECKING:
    from torch import nn

    from venus_core.config import RunConfig
    from venus_core.models import Architecture, ModelEntry

# The options every LoRA-family method reads (the Model page's "LoRA Parameters").
LORA_FIELDS = ("lora_r", "lora_alpha", "lora_dropout", "lora_target_modules")


def lora_targets(cfg: RunConfig, arch: Architecture) -> tuple[str, ...]:
    return cfg.method.lora_target_modules or arch.lora_targets


def check_targets(model: nn.Module, targets: tuple[str, ...], option: str = "lora_target_modules") -> None:
    """Every target name must match at least one Linear module (PEFT matches name suffixes)."""
    from torch import nn

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


def lora_config(cfg: RunConfig, arch: Architecture, **extra: Any) -> Any:
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


def wrap(model: nn.Module, peft_config: Any) -> nn.Module:
    """The PEFT model: the base frozen, the adapters trainable."""
    import warnings

    from peft import get_peft_model

    with warnings.catch_warnings():  # peft calls a transformers API that warns of its own renaming
        warnings.simplefilter("ignore", FutureWarning)
        return get_peft_model(model, peft_config)


def lora_params_estimate(entry: ModelEntry, cfg: RunConfig) -> int:
    """Rank-r A and B matrices on each target projection of every layer (square h x h layers)."""
    h, layers = entry.hidden_size or 1024, entry.num_layers or 12
    targets = cfg.method.lora_target_modules or entry.architecture.lora_targets
    return layers * len(targets) * 2 * h * cfg.method.lora_r
