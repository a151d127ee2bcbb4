"""Which device a run uses and what it can compute fast. Light to import (torch only): the
dashboard's pages ask these questions without loading the training stack."""

from __future__ import annotations

import torch

from venus_core.config import RunConfig
from venus_core.errors import VenusError


def pick_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise VenusError(
            f"device '{name}' was requested but no CUDA GPU is available; use device auto or cpu."
        )
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise VenusError(
            "device 'mps' was requested but Apple's MPS is not available; use device auto or cpu."
        )
    return torch.device(name)


def cpu_has_native_bf16() -> bool:
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def cpu_bf16_would_help(cfg: RunConfig) -> bool:
    """The run trains on a CPU that computes bf16 natively, with ``cpu_bf16`` still off."""
    if cfg.train.cpu_bf16:
        return False
    try:
        on_cpu = pick_device(cfg.train.device).type == "cpu"
    except VenusError:
        return False
    return on_cpu and cpu_has_native_bf16()
