"""Data-parallel training: 2 CPU ranks with gloo under torchrun, on a tiny model."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest
from conftest import train_flags, write_toy_dataset

from venus_core import rundir


def flags(model, data, out, name, batch_size):
    return train_flags(
        model,
        data,
        out,
        "--num_epochs",
        "3",
        "--training_method",
        "plm-lora",
        "--batch_size",
        str(batch_size),
        "--run_name",
        name,
        "--patience",
        "10",
    )


def test_two_gloo_ranks_match_one_process(tiny_esm, tmp_path):
    data = write_toy_dataset(tmp_path / "data", "single_label_classification", 64, 25)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    ddp = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "venus_core",
            "train",
            *flags(tiny_esm, data, tmp_path, "ddp", 8),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    single = subprocess.run(
        [sys.executable, "-m", "venus_core", "train", *flags(tiny_esm, data, tmp_path, "single", 16)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert single.returncode == 0, single.stderr[-3000:]

    run = tmp_path / "ddp"
    start = next(e for e in rundir.read_events(run) if e["type"] == "run_start")
    assert start["world_size"] == 2
    # Rank 0 alone writes events: one status line, one epoch line per epoch.
    events = rundir.read_events(run)
    assert sum(e["type"] == "status" for e in events) == 1
    assert [e["epoch"] for e in events if e["type"] == "epoch"] == [1, 2, 3]
    # Every test example is predicted exactly once, in the test file's order (25 is odd on purpose).
    preds = pd.read_csv(run / "test_predictions.csv")
    test = pd.read_csv(data / "test.csv")
    assert list(preds["aa_seq"]) == list(test["aa_seq"])
    # Same global batch (2 x 8 vs 16): close, not identical (batches are composed differently).
    a = dict(pd.read_csv(run / "test_metrics.csv").values)
    b = dict(pd.read_csv(tmp_path / "single" / "test_metrics.csv").values)
    assert a["accuracy"] == pytest.approx(b["accuracy"], abs=0.15)
    assert a["auroc"] == pytest.approx(b["auroc"], abs=0.1)
