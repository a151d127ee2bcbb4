"""Checks that need CUDA: mixed precision, QLoRA's 4-bit backbone and FSDP/DDP over nccl.
Skipped on machines without a GPU (CI has none); run them where one is lent: ``pytest -m gpu``."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from conftest import train_flags, write_toy_dataset

from venus_core import rundir

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return write_toy_dataset(tmp_path_factory.mktemp("data"), "single_label_classification", 64, 25)


def _train(prefix: list[str], model, data, out, name, *extra: str) -> dict[str, float]:
    flags = train_flags(
        model,
        data,
        out,
        "--run_name",
        name,
        "--device",
        "cuda",
        "--num_epochs",
        "3",
        "--mixed_precision",
        *extra,
    )
    run = subprocess.run(
        [*prefix, "-m", "venus_core", "train", *flags], capture_output=True, text=True, timeout=900
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return rundir.read_test_metrics(out / name)


@pytest.mark.parametrize("method", ["full", "plm-lora", "plm-qlora", "freeze"])
def test_one_gpu_with_mixed_precision(tiny_esm, toy, tmp_path, method):
    metrics = _train([sys.executable], tiny_esm, toy, tmp_path, method, "--training_method", method)
    start = next(e for e in rundir.read_events(tmp_path / method) if e["type"] == "run_start")
    assert start["device"].startswith("cuda")
    assert start["precision"] == ("bf16 mixed" if torch.cuda.is_bf16_supported() else "fp16 mixed")
    assert 0 <= metrics["accuracy"] <= 1 and metrics["loss"] == metrics["loss"]  # finite, not NaN


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 GPUs (nccl: one process per GPU)")
def test_fsdp_over_nccl_matches_ddp(tiny_esm, toy, tmp_path):
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    a = _train(torchrun, tiny_esm, toy, tmp_path, "ddp", "--training_method", "full")
    b = _train(torchrun, tiny_esm, toy, tmp_path, "fsdp", "--training_method", "full", "--fsdp")
    assert a["accuracy"] == pytest.approx(b["accuracy"], abs=0.1)  # bf16: close, not identical
