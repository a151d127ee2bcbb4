"""Which device a run uses and what it can compute fast. Light to import (torch only): the
dashboard's pages ask these questions without loading the training stack."""

from __future__ import annotations

import torch

from venus_core.config import RunConfig
from venus_core.errors import VenusError
from venus_core.i18n import N_


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


def gpu_count() -> int:
    return torch.cuda.device_count()


def cpu_has_native_bf16() -> bool:
    """Intel AMX or AVX512-BF16 (Intel Cooper Lake and newer, AMD Zen 4 and newer)."""
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def autocast_dtype(device: torch.device, mixed_precision: bool) -> torch.dtype | None:
    """The dtype forward passes autocast to; None for float32.

    Mixed precision means the same on every device: autocast where the hardware computes the
    narrow type natively (bf16 on GPUs that have it, else fp16; bf16 on CPUs with AMX or
    AVX512-BF16). Weights, optimizer state and losses stay float32. Elsewhere (older CPUs, where
    bf16 is emulated and slower; MPS) a run is float32 whatever the setting.
    """
    if not mixed_precision:
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and cpu_has_native_bf16():
        return torch.bfloat16
    return None


def precision_name(dtype: torch.dtype | None) -> str:
    return {None: "float32", torch.bfloat16: N_("bf16 mixed"), torch.float16: N_("fp16 mixed")}[dtype]


def describe_precision(cfg: RunConfig) -> str:
    """What ``mixed_precision`` will do for this config on this machine, in a sentence."""
    try:
        device = pick_device(cfg.train.device)
    except VenusError:
        return N_("The device is not available here.")
    name = precision_name(autocast_dtype(device, cfg.train.mixed_precision))
    if not cfg.train.mixed_precision:
        return N_(
            "Trains in {precision}: the same numbers on any machine, slower where bf16 is native."
        ).format(precision=name)
    if device.type == "cpu":
        if name == "float32":
            return N_("Trains in float32: this CPU has no native bf16 (AMX or AVX512-BF16).")
        return N_(
            "Trains in bf16 mixed precision: this CPU computes bf16 natively, faster than float32 "
            "(results differ slightly from a float32 run; untick for float32)."
        )
    if device.type == "cuda":
        return N_("Trains in {precision} precision on the GPU.").format(precision=name)
    return N_("Trains in {precision} on {device}.").format(precision=name, device=device.type)
