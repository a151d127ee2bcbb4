"""Evaluate and predict with a finished run, using only its run directory.

The model is rebuilt by the same builder as training, the trained tensors loaded from
``checkpoints/<best|last>``, sequences encoded by the same tokenizer code and scored by the same
``evaluate`` function, so a prediction here equals the one in ``test_predictions.csv``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from venus_core import rundir
from venus_core.config import RunConfig
from venus_core.errors import VenusError
from venus_core.i18n import N_


@dataclass
class LoadedRun:
    cfg: RunConfig
    codec: Any  # data.LabelCodec
    model: Any
    tokenizer: Any
    device: torch.device


def load_run(run_dir: str | Path, checkpoint: str = "best", device: str = "auto") -> LoadedRun:
    from venus_core.data import LabelCodec
    from venus_core.devices import pick_device
    from venus_core.modeling import build_model, load_trainable

    run_dir = Path(run_dir)
    if not (run_dir / rundir.CONFIG).exists():
        raise VenusError(f"{run_dir} is not a run folder: it has no {rundir.CONFIG}.")
    weights = rundir.checkpoint_dir(run_dir, checkpoint) / "trainable.safetensors"
    if not weights.exists():
        raise VenusError(
            N_("{run} has no {checkpoint} checkpoint yet: the run did not finish an epoch.").format(
                run=run_dir, checkpoint=checkpoint
            )
        )
    cfg = RunConfig.load(run_dir / rundir.CONFIG)
    codec = LabelCodec.from_dict(json.loads((run_dir / rundir.LABEL_CODEC).read_text(encoding="utf-8")))
    cfg = cfg.with_values(
        num_labels=codec.num_labels,
        problem_type=codec.problem_type,
        multi_label_format=codec.multi_label_format,
    )
    total_steps = next((e["total_steps"] for e in rundir.read_events(run_dir) if e["type"] == "run_start"), 1)
    dev = pick_device(device if device != "auto" else cfg.train.device)
    built = build_model(cfg, dev, total_steps)
    load_trainable(built.model, weights)
    built.model.eval()
    return LoadedRun(cfg, codec, built.model, built.tokenizer, dev)


def predict_frame(run_dir: str | Path, frame: pd.DataFrame, checkpoint: str = "best") -> pd.DataFrame:
    """Predictions for a table with an ``aa_seq`` column (cleaned with ``data.clean_sequence``)."""
    from venus_core.evaluation import evaluate
    from venus_core.pipeline import encode_frame, predictions_frame

    if frame.empty:
        raise VenusError(N_("There are no sequences to predict."))
    run = load_run(run_dir, checkpoint)
    encoded = encode_frame(frame, run.tokenizer, run.cfg, targets=None)
    _, _, outputs = evaluate(run.model, encoded, run.cfg, run.device, run.codec)
    return predictions_frame(frame, outputs, run.cfg)


def predictions_table(run_dir: str | Path, frame: pd.DataFrame, checkpoint: str = "best") -> pd.DataFrame:
    """The input's own columns (ids, descriptions ...), then the predictions, and for a single-label
    run with class names the predicted class's name beside its index."""
    preds = predict_frame(run_dir, frame, checkpoint)
    extra = [c for c in frame.columns if c not in preds.columns and c != "row"]
    table = pd.concat([frame[extra].reset_index(drop=True), preds], axis=1)
    return with_class_names(table, rundir.label_names(Path(run_dir)))


def with_class_names(table: pd.DataFrame, names: list[str] | None) -> pd.DataFrame:
    """Add ``predicted_class`` (the class's name) next to a single-label ``prediction``."""
    if not names or "prediction" not in table.columns or "prob_0" not in table.columns:
        return table
    try:
        index = pd.to_numeric(table["prediction"]).astype(int)
    except (ValueError, TypeError):
        return table  # multi-label predictions are lists of classes
    out = table.copy()
    position = list(out.columns).index("prediction") + 1
    out.insert(position, "predicted_class", [names[i] if 0 <= i < len(names) else "" for i in index])
    return out


def sequence_column(run_dir: str | Path) -> str:
    """The training data's sequence column: an input table to predict from uses it (FASTA needs none)."""
    config = Path(run_dir) / rundir.CONFIG
    return RunConfig.load(config).data.sequence_column_name if config.exists() else "aa_seq"


def predict_file(
    run_dir: str | Path, input_file: str | Path, output_file: str | Path, checkpoint: str = "best"
) -> int:
    from venus_core.data import read_sequences_file

    frame = read_sequences_file(input_file, sequence_column(run_dir))
    out = predictions_table(run_dir, frame, checkpoint)
    with rundir.atomic_path(Path(output_file)) as tmp:
        out.to_csv(tmp, index=False)
    return len(out)


def evaluate_file(
    run_dir: str | Path,
    test_file: str | Path,
    output_file: str | Path | None = None,
    checkpoint: str = "best",
) -> dict[str, float]:
    """Metrics of a run on a labelled file (same metrics code as the test step)."""
    from venus_core.data import load_eval_data
    from venus_core.evaluation import evaluate
    from venus_core.pipeline import encode_split, predictions_frame

    run = load_run(run_dir, checkpoint)
    task = load_eval_data(run.cfg, test_file, run.codec)
    encoded = encode_split(task.splits["test"], task, "test", run.tokenizer, run.cfg)
    loss, metrics, outputs = evaluate(run.model, encoded, run.cfg, run.device, run.codec)
    if output_file:
        with rundir.atomic_path(Path(output_file)) as tmp:
            predictions_frame(task.splits["test"], outputs, run.cfg).to_csv(tmp, index=False)
    return {"loss": loss, **metrics}
