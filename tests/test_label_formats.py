"""Multi-label files as class indices ("0,3") or multi-hot ("1,0,0,1"): parsed as said, never
silently misread, recorded in the run's label codec, and written back the same way."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import AMINO, build_tiny_esm

from venus_core import data, doctor, rundir
from venus_core.config import RunConfig
from venus_core.data import LabelCodec
from venus_core.errors import VenusError
from venus_core.label_formats import format_multi_hot, looks_multi_hot, parse_multi_label
from venus_core.pipeline import predictions_frame

MLC = "multi_label_classification"


@pytest.mark.parametrize(
    ("values", "num_labels", "expected"),
    [
        (["1,0,0,1", "0,1,0,0", "0,0,0,0"], 4, "1,0,0,1"),
        (["1,0,0,1", "0,1,0,0"], None, "1,0,0,1"),  # num_labels not set: the width says it
        (["[1, 1]", "[0, 1]"], 2, "[1, 1]"),  # two labels: "1,1" repeats an index
        (["0,1", "1,0"], 2, None),  # both indices once: could be index lists
        (["1,0,0,1", "0,1,0,0"], 3, None),  # 4 entries, 3 labels: not multi-hot of this task
        (["1,0,0,1", "0,1,0"], None, None),  # different lengths
        (["0,2", "1", "1,2"], 3, None),  # the guide's index lists
        (["1,0,2"], 3, None),  # an entry that is not 0/1
        (["1", "0"], 2, None),  # one entry each
    ],
)
def test_looks_multi_hot(values, num_labels, expected):
    assert looks_multi_hot(values, num_labels) == expected


@pytest.mark.parametrize(
    ("value", "num_labels", "expected"),
    [
        ("1,0,0,1", 4, ((0, 3), None)),
        ("[0, 0, 1]", 3, ((2,), None)),
        ("0,0,0", 3, ((), None)),
        (" 1 , 1 ", None, ((0, 1), None)),
        ("1,0,2", 3, (None, 'label is not multi-hot: its entries must be 0 or 1, e.g. "1,0,0,1"')),
        ("1,0", 3, (None, "multi-hot label has 2 entries; num_labels is 3")),
        ("a,b", 3, (None, 'label is not multi-hot: its entries must be 0 or 1, e.g. "1,0,0,1"')),
    ],
)
def test_parse_multi_hot(value, num_labels, expected):
    assert parse_multi_label(value, "multi_hot", num_labels) == expected


def test_indices_stay_the_default_reading():
    assert parse_multi_label("1,0,0,1") == ((0, 1), None)
    assert data.parse_label("0,3", MLC) == ((0, 3), None)
    assert format_multi_hot((0, 3), 4) == "1,0,0,1" and format_multi_hot((), 2) == "0,0"


def _multi_hot_files(tmp: Path, n=(40, 10, 10), num_labels: int = 4, seed: int = 0) -> dict:
    """Multi-hot CSVs where labels 2 and 3 are often positive (the issue's misreading lost them)."""
    rng = random.Random(seed)
    files = {}
    for key, size in zip(("train_file", "valid_file", "test_file"), n, strict=True):
        rows = []
        for _ in range(size):
            seq = "".join(rng.choice(AMINO) for _ in range(rng.randint(8, 20)))
            hot = [int(rng.random() < 0.4) for _ in range(num_labels)]
            rows.append({"aa_seq": seq, "label": ",".join(map(str, hot))})
        path = tmp / f"{key}.csv"
        pd.DataFrame(rows).to_csv(path, index=False)
        files[key] = str(path)
    return files


def test_multi_hot_file_read_as_indices_is_an_error_that_says_how_to_choose(tmp_path):
    files = _multi_hot_files(tmp_path)
    report = doctor.check(RunConfig().with_values(**files, problem_type=MLC, num_labels=4))
    found = [e for e in report.errors if e.kind == "looks_multi_hot"]
    assert {e.file for e in found} == set(files.values())  # each split is named
    assert "each has 4 entries, every one 0 or 1" in found[0].message
    assert "which reads" in found[0].message and "as the class indices {" in found[0].message
    assert "--multi_label_format multi_hot" in found[0].fix and "list each index once" in found[0].fix


def test_multi_hot_file_is_read_per_label(tmp_path):
    files = _multi_hot_files(tmp_path)
    task = data.load_data(
        RunConfig().with_values(**files, problem_type=MLC, num_labels=4, multi_label_format="multi_hot")
    )
    written = pd.read_csv(files["train_file"])["label"]
    expected = np.array([[int(x) for x in v.split(",")] for v in written], dtype=np.float32)
    np.testing.assert_array_equal(task.targets("train"), expected)
    assert (expected.sum(0)[2:] > 0).all()  # labels 2 and 3 have positives: nothing was lost
    codec = LabelCodec.from_dict(json.loads(json.dumps(task.to_dict())))
    assert codec.multi_label_format == "multi_hot" and codec.parse("0,1,1,0") == (1, 2)
    with pytest.raises(ValueError, match="2 entries; num_labels is 4"):
        codec.parse("1,0")


def test_multi_hot_num_labels_is_inferred_from_the_width(tmp_path):
    files = _multi_hot_files(tmp_path, num_labels=5)
    task, report = data.prepare(
        RunConfig().with_values(**files, problem_type=MLC, multi_label_format="multi_hot")
    )
    assert task is not None and task.num_labels == 5
    assert any("inferred 5 from the multi-hot labels" in w.message for w in report.warnings)


def test_older_codecs_read_as_indices(tmp_path):
    old = {"problem_type": MLC, "num_labels": 3, "label_names": None, "normalization": None}
    codec = LabelCodec.from_dict(old)
    assert codec.multi_label_format == "indices" and codec.parse("0,2") == (0, 2)
    path = tmp_path / "eval.csv"
    pd.DataFrame({"aa_seq": ["MKV", "MKW"], "label": ["0,2", "1"]}).to_csv(path, index=False)
    task = data.load_eval_data(RunConfig(), path, codec)
    np.testing.assert_array_equal(task.targets("test"), [[1, 0, 1], [0, 1, 0]])


def test_evaluation_file_is_read_with_the_runs_format(tmp_path):
    codec = LabelCodec(MLC, 3, multi_label_format="multi_hot")
    path = tmp_path / "eval.csv"
    pd.DataFrame({"aa_seq": ["MKV", "MKW"], "label": ["1,0,1", "0,0,0"]}).to_csv(path, index=False)
    task = data.load_eval_data(RunConfig(), path, codec)
    np.testing.assert_array_equal(task.targets("test"), [[1, 0, 1], [0, 0, 0]])
    pd.DataFrame({"aa_seq": ["MKV"], "label": ["0,2"]}).to_csv(path, index=False)
    with pytest.raises(VenusError, match="row 1, column label: label is not multi-hot"):
        data.load_eval_data(RunConfig(), path, codec)


def test_predictions_are_written_like_the_labels():
    frame = pd.DataFrame({"aa_seq": ["MKV", "MKW"], "label": ["1,0,1", "0,0,0"]})
    outputs = np.array([[0.9, 0.2, 0.7], [0.1, 0.1, 0.4]])
    cfg = RunConfig().with_values(problem_type=MLC, num_labels=3)
    assert predictions_frame(frame, outputs, cfg)["prediction"].tolist() == ["0,2", ""]
    hot = predictions_frame(frame, outputs, cfg.with_values(multi_label_format="multi_hot"))
    assert hot["prediction"].tolist() == ["1,0,1", "0,0,0"]


def test_multi_hot_only_applies_to_multi_label():
    with pytest.raises(VenusError, match="multi_label_format multi_hot only applies to multi-label"):
        RunConfig().with_values(problem_type="regression", multi_label_format="multi_hot").validate()
    with pytest.raises(VenusError, match="multi_label_format 'onehot' is not one of indices, multi_hot"):
        RunConfig().with_values(multi_label_format="onehot").validate()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "venus_core", *args], capture_output=True, text=True, timeout=300
    )


def test_cli_multi_hot_run_end_to_end(tmp_path):
    """Refused without the format, trained with it; the metrics name per-label accuracy, and
    evaluation and predictions speak multi-hot like the data."""
    model = build_tiny_esm(tmp_path / "esm")
    files = _multi_hot_files(tmp_path, n=(24, 8, 8))
    flags = [
        *("--plm_model", str(model), "--problem_type", MLC, "--num_labels", "4"),
        *("--train_file", files["train_file"], "--valid_file", files["valid_file"]),
        *("--test_file", files["test_file"], "--num_epochs", "1", "--num_workers", "0"),
        *("--output_dir", str(tmp_path / "runs"), "--no-mixed_precision"),
        *("--metrics", "accuracy,subset_accuracy,f1_max"),
    ]
    refused = _cli("train", *flags, "--run_name", "refused")
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "look multi-hot" in refused.stderr and "--multi_label_format multi_hot" in refused.stderr

    ok = _cli("train", *flags, "--run_name", "hot", "--multi_label_format", "multi_hot")
    assert ok.returncode == 0, ok.stderr[-3000:]
    run = tmp_path / "runs" / "hot"
    titles = dict(pd.read_csv(run / rundir.TEST_METRICS)[["metric", "title"]].values)
    assert titles["accuracy"] == "Accuracy (per label)" and titles["subset_accuracy"] == "Subset accuracy"
    predictions = pd.read_csv(run / rundir.TEST_PREDICTIONS, dtype=str)
    assert all(len(p.split(",")) == 4 for p in predictions["prediction"])

    evaluated = _cli("evaluate", "--run_dir", str(run), "--test_file", files["test_file"])
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    scores = dict(line.split(",") for line in evaluated.stdout.split())
    assert float(scores["subset_accuracy"]) == pytest.approx(rundir.read_test_metrics(run)["subset_accuracy"])
