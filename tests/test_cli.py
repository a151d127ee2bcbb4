"""The CLI as users run it: train, evaluate, predict, SIGINT, kill -9 + --resume, clear errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import train_flags, write_toy_dataset

from venus_core import rundir

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "venus_core", *args], capture_output=True, text=True, timeout=timeout, env=ENV
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_toy_dataset(tmp_path_factory.mktemp("cli") / "slc", "single_label_classification", 64, 24)


def test_train_evaluate_predict(tiny_esm, data_dir, tmp_path):
    out = cli(
        "train",
        *train_flags(tiny_esm, data_dir, tmp_path, "--run_name", "r1", "--training_method", "plm-lora"),
    )
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr and "completed" in out.stderr
    run = tmp_path / "r1"
    reported = rundir.read_test_metrics(run)

    ev = cli("evaluate", "--run_dir", str(run), "--test_file", str(data_dir / "test.csv"))
    assert ev.returncode == 0, ev.stderr
    evaluated = dict(line.split(",") for line in ev.stdout.strip().splitlines())
    for name, value in reported.items():
        assert float(evaluated[name]) == pytest.approx(value, abs=1e-6), name

    pred_out = tmp_path / "pred.csv"
    pr = cli(
        "predict",
        "--run_dir",
        str(run),
        "--input_file",
        str(data_dir / "test.csv"),
        "--output_file",
        str(pred_out),
    )
    assert pr.returncode == 0, pr.stderr
    predicted = pd.read_csv(pred_out)
    expected = pd.read_csv(run / "test_predictions.csv")
    assert list(predicted["prediction"]) == list(expected["prediction"])
    assert predicted["prob_1"].to_numpy() == pytest.approx(expected["prob_1"].to_numpy(), abs=1e-6)

    fasta = tmp_path / "in.fasta"
    fasta.write_text(">a desc\nMKTAYIAK\nQRQIS\n>b\nKKKKKKKKKK\n")
    pr = cli("predict", "--run_dir", str(run), "--input_file", str(fasta), "--output_file", str(pred_out))
    assert pr.returncode == 0, pr.stderr
    fa = pd.read_csv(pred_out)
    assert list(fa["aa_seq"]) == ["MKTAYIAKQRQIS", "KKKKKKKKKK"] and "prob_0" in fa


def test_print_command_and_existing_run_name(tiny_esm, data_dir, tmp_path):
    out = cli("train", *train_flags(tiny_esm, data_dir, tmp_path, "--print_command"))
    assert out.returncode == 0 and out.stdout.startswith("python -m venus_core train ")
    (tmp_path / "taken").mkdir()
    out = cli("train", *train_flags(tiny_esm, data_dir, tmp_path, "--run_name", "taken"))
    assert out.returncode != 0 and "already exists" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["--learning_rate", "-1"], "learning_rate must be a positive"),
        (["--lora_r", "x"], "must be of type int"),
        (["--run_name", "../../etc"], "must be a plain file or folder name"),
        (["--training_method", "plm-lora", "--lora_target_modules", "nope"], "match no linear layer"),
        (["--cpu_bf16"], "Option 'cpu_bf16' was retired: mixed_precision now autocasts to bf16"),
    ],
)
def test_user_errors_are_one_clear_message(tiny_esm, data_dir, tmp_path, args, phrase):
    out = cli("train", *train_flags(tiny_esm, data_dir, tmp_path, *args))
    assert out.returncode not in (0, 130)
    assert phrase in out.stderr and "Traceback" not in out.stderr + out.stdout


def test_bad_data_fails_with_the_doctors_message(tiny_esm, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "train.csv").write_text("aa_seq,label\nMKV,0\nMK1V,1\nMKK,0\nMKVV,1\n")
    out = cli("train", *train_flags(tiny_esm, bad, tmp_path / "o"))
    assert out.returncode == 1
    assert "row 2" in out.stderr and "Traceback" not in out.stderr


def _start_training(tiny_esm, data_dir, out_dir, name, epochs="30"):
    flags = train_flags(
        tiny_esm, data_dir, out_dir, "--run_name", name, "--num_epochs", epochs, "--patience", "100"
    )
    return subprocess.Popen(
        [sys.executable, "-m", "venus_core", "train", *flags, "--training_method", "plm-lora"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )


def _wait_for_epochs(run: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if sum(1 for e in rundir.read_events(run) if e["type"] == "epoch") >= n:
            return
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)
    raise AssertionError("training did not progress")


def test_sigint_aborts_cleanly(tiny_esm, data_dir, tmp_path):
    proc = _start_training(tiny_esm, data_dir, tmp_path, "int")
    _wait_for_epochs(tmp_path / "int", 1, proc)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    events = rundir.read_events(tmp_path / "int")
    assert events[-1]["type"] == "status" and events[-1]["status"] == "aborted"
    assert (tmp_path / "int/checkpoints/last/trainer_state.json").exists()
    assert len(pd.read_csv(tmp_path / "int/metrics.csv")) >= 1


def test_kill9_then_resume_equals_uninterrupted(tiny_esm, data_dir, tmp_path):
    epochs = "4"
    full = cli(
        "train",
        *train_flags(
            tiny_esm,
            data_dir,
            tmp_path,
            "--run_name",
            "full",
            "--num_epochs",
            epochs,
            "--training_method",
            "plm-lora",
            "--patience",
            "100",
        ),
    )
    assert full.returncode == 0, full.stderr
    proc = _start_training(tiny_esm, data_dir, tmp_path, "killed", epochs=epochs)
    _wait_for_epochs(tmp_path / "killed", 2, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    resumed = cli("train", "--resume", str(tmp_path / "killed"))
    assert resumed.returncode == 0, resumed.stderr
    a = pd.read_csv(tmp_path / "full/test_metrics.csv")
    b = pd.read_csv(tmp_path / "killed/test_metrics.csv")
    pd.testing.assert_frame_equal(a, b)
    again = cli("train", "--resume", str(tmp_path / "killed"))
    assert again.returncode == 0 and "already completed" in again.stderr
