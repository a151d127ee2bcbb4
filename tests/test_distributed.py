"""Data-parallel training (DDP and FSDP): 2 CPU ranks with gloo under torchrun, on a tiny model."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import train_flags, write_toy_dataset
from safetensors.torch import load_file

from venus_core import rundir

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]


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
    env = ENV
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
    a = rundir.read_test_metrics(run)
    b = rundir.read_test_metrics(tmp_path / "single")
    assert a["accuracy"] == pytest.approx(b["accuracy"], abs=0.15)
    assert a["auroc"] == pytest.approx(b["auroc"], abs=0.1)


def torchrun(*args: str) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [*TORCHRUN, "-m", "venus_core", "train", *args], capture_output=True, text=True, timeout=600, env=ENV
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return write_toy_dataset(tmp_path_factory.mktemp("data"), "single_label_classification", 64, 25)


def test_fsdp_trains_like_ddp_and_saves_whole_tensors(tiny_esm, toy, tmp_path):
    """FSDP shards parameters but computes the same thing: same global batch, same metrics, and
    its checkpoints hold whole tensors that load into an unsharded model."""
    for name, extra in (("ddp", ()), ("fsdp", ("--fsdp",))):
        # Accumulation covers FSDP's skipped gradient reduction on micro-steps.
        accumulate = ("--gradient_accumulation_steps", "2")
        torchrun(*flags(tiny_esm, toy, tmp_path, name, 8), "--training_method", "full", *accumulate, *extra)
    start = next(e for e in rundir.read_events(tmp_path / "fsdp") if e["type"] == "run_start")
    assert start["fsdp"] is True and start["world_size"] == 2
    a = rundir.read_test_metrics(tmp_path / "ddp")
    b = rundir.read_test_metrics(tmp_path / "fsdp")
    assert a == pytest.approx(b, abs=1e-5)
    ddp_w, fsdp_w = (load_file(str(tmp_path / n / "model.safetensors")) for n in ("ddp", "fsdp"))
    assert ddp_w.keys() == fsdp_w.keys()
    for k in ddp_w:
        torch.testing.assert_close(fsdp_w[k], ddp_w[k], atol=1e-5, rtol=1e-4)
    preds = pd.read_csv(tmp_path / "fsdp" / "test_predictions.csv")
    assert list(preds["aa_seq"]) == list(pd.read_csv(toy / "test.csv")["aa_seq"])
    # The whole-tensor checkpoint serves the single-process CLI.
    out = subprocess.run(
        [
            *(sys.executable, "-m", "venus_core", "evaluate"),
            *("--run_dir", str(tmp_path / "fsdp"), "--test_file", str(toy / "test.csv")),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=ENV,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    evaluated = dict(line.split(",") for line in out.stdout.split())
    assert {k: float(v) for k, v in evaluated.items()} == pytest.approx(b, abs=1e-5)


def _children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (from /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _wait_for_checkpoint(run, epochs: int, proc: subprocess.Popen, timeout: float = 300) -> None:
    state = run / "checkpoints" / "last" / "trainer_state.json"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if state.exists() and sum(e["type"] == "epoch" for e in rundir.read_events(run)) >= epochs:
            return
        assert proc.poll() is None, proc.stderr.read()[-3000:]
        time.sleep(0.05)
    raise AssertionError("training did not progress")


@pytest.mark.parametrize("mode", ["ddp", "fsdp"])
def test_kill_then_resume_under_torchrun_equals_uninterrupted(tiny_esm, toy, tmp_path, mode):
    """The whole torchrun job killed (a lost node) after epoch 2, then ``--resume`` under torchrun:
    the same test metrics as the run that was never interrupted."""
    extra = ("--fsdp",) if mode == "fsdp" else ()

    def run_flags(name):
        return [*flags(tiny_esm, toy, tmp_path, name, 8), "--num_epochs", "40", "--patience", "100", *extra]

    torchrun(*run_flags("whole"))
    proc = subprocess.Popen(
        [*TORCHRUN, "-m", "venus_core", "train", *run_flags("killed")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    _wait_for_checkpoint(tmp_path / "killed", 2, proc)
    for pid in [*_children(proc.pid), proc.pid]:  # the ranks run in sessions of their own
        os.kill(pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    events = rundir.read_events(tmp_path / "killed")
    assert not any(e["type"] == "status" and e["status"] == "completed" for e in events), (
        "the run finished before it was killed: nothing was resumed"
    )
    torchrun("--resume", str(tmp_path / "killed"))
    a = pd.read_csv(tmp_path / "whole" / "test_metrics.csv")
    b = pd.read_csv(tmp_path / "killed" / "test_metrics.csv")
    pd.testing.assert_frame_equal(a, b)
    resumed = next(e for e in rundir.read_events(tmp_path / "killed") if e.get("resumed_from_epoch"))
    assert resumed["world_size"] == 2


def _turns_worker(rank: int, world: int, port: int, log: str) -> None:
    from venus_core import distributed

    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_WORLD_SIZE=str(world),
    )
    d = distributed.from_env()
    with distributed.in_turns(d):
        for word in ("start", "end"):
            with open(log, "a") as f:
                f.write(f"{rank}:{word}\n")
            time.sleep(0.2)
    distributed.shutdown(d)


def test_fsdp_loading_takes_turns_per_node(tmp_path):
    """FSDP loads the whole backbone into host memory: a node's processes must do it one at a time."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "turns.log"
    torch.multiprocessing.spawn(_turns_worker, args=(3, port, str(log)), nprocs=3)
    assert log.read_text().split() == ["0:start", "0:end", "1:start", "1:end", "2:start", "2:end"]
