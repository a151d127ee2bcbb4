"""Which precision a run computes in, per device and setting."""

from __future__ import annotations

import pytest
import torch

from venus_core import devices
from venus_core.config import RunConfig

CPU, CUDA, MPS = torch.device("cpu"), torch.device("cuda"), torch.device("mps")


@pytest.mark.parametrize(
    ("device", "native_cpu_bf16", "gpu_bf16", "expected"),
    [
        (CPU, True, False, torch.bfloat16),
        (CPU, False, False, None),  # emulated bf16 is slower than float32
        (CUDA, False, True, torch.bfloat16),
        (CUDA, False, False, torch.float16),  # pre-Ampere GPUs
        (MPS, True, True, None),
    ],
)
def test_autocast_dtype(monkeypatch, device, native_cpu_bf16, gpu_bf16, expected):
    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: native_cpu_bf16)
    monkeypatch.setattr("torch.cuda.is_bf16_supported", lambda: gpu_bf16)
    assert devices.autocast_dtype(device, True) is expected
    assert devices.autocast_dtype(device, False) is None  # off: float32 everywhere


def test_describe_precision_for_an_unavailable_device(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    cfg = RunConfig().with_values(device="cuda:1")
    assert devices.describe_precision(cfg) == "The device is not available here."


def test_describe_precision_on_a_gpu(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)
    monkeypatch.setattr("torch.cuda.is_bf16_supported", lambda: False)
    assert devices.describe_precision(RunConfig().with_values(device="cuda")) == (
        "Trains in fp16 mixed precision on the GPU."
    )
