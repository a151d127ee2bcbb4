"""CSV downloads neutralise cells a spreadsheet would execute, and keep numbers as numbers."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from venus_core.export import metrics_frame, neutralize_cell, safe_csv


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("-0.25", "-0.25"),
        ("+3e-4", "+3e-4"),
        ("MKV-LL", "MKV-LL"),
        ("", ""),
        (-0.25, -0.25),
        (3, 3),
        (None, None),
    ],
)
def test_neutralize_cell(cell, expected):
    assert neutralize_cell(cell) == expected


def test_safe_csv_round_trip_keeps_negative_numbers():
    frame = pd.DataFrame(
        {"aa_seq": ["MKV", "=cmd|' /C calc'!A0", "@x"], "label": [1, 0, 1], "prediction": [-0.5, 0.25, -3.0]}
    )
    back = pd.read_csv(io.BytesIO(safe_csv(frame)))
    assert back["aa_seq"].tolist() == ["MKV", "'=cmd|' /C calc'!A0", "'@x"]
    assert back["prediction"].tolist() == [-0.5, 0.25, -3.0]
    assert back["label"].tolist() == [1, 0, 1]


def test_metrics_frame_handles_undefined_and_negative():
    frame = metrics_frame({"accuracy": 0.9, "mcc": -0.1, "auroc": None, "f1": float("nan")})
    assert frame["metric"].tolist() == ["accuracy", "mcc", "auroc", "f1"]
    assert frame["value"].iloc[1] == -0.1 and pd.isna(frame["value"].iloc[2])
    text = safe_csv(frame).decode()
    assert text.splitlines()[0] == "metric,value,title" and "mcc,-0.1,MCC" in text and "auroc,,AUROC" in text


def test_metrics_frame_names_what_each_metric_measures():
    metrics = {"loss": 0.2, "accuracy": 0.81, "subset_accuracy": 0.1}
    multi = metrics_frame(metrics, "multi_label_classification")
    assert multi["title"].tolist() == ["Loss", "Accuracy (per label)", "Subset accuracy"]
    assert multi["metric"].tolist() == ["loss", "accuracy", "subset_accuracy"]  # keys stay the guide's
    single = metrics_frame({"accuracy": 0.9}, "single_label_classification")
    assert single["title"].tolist() == ["Accuracy"]
