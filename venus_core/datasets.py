"""The dataset catalogue and the resolution of a run's task settings.

The predefined datasets are facts from VenusFactory's dataset configs (``predefined_datasets.tsv``
beside this file: hub id, problem type, labels, metrics, monitor). Residue-level tasks are not in
scope. The offline demos (``assets.DEMO_DATASETS``) are listed first.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

from venus_core import assets, vocab
from venus_core.config import RunConfig, field_default
from venus_core.errors import VenusError
from venus_core.i18n import N_

_TSV = Path(__file__).with_name("predefined_datasets.tsv")


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    dataset: str  # hub id, or local folder for the demos
    problem_type: str
    num_labels: int
    metrics: tuple[str, ...]
    monitor: str
    monitor_strategy: str
    normalize: str | None
    sequence_column_name: str
    label_column_name: str
    structure_source: str | None  # AlphaFold2 / ESMFold: the split carries foldseek_seq and ss8_seq
    source: str  # "hub" or "demo"
    description: str = ""

    @property
    def available_offline(self) -> bool:
        return self.source == "demo" and (Path(self.dataset) / "train.csv").exists()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["metrics"] = list(self.metrics)
        d["available_offline"] = self.available_offline
        return d


@cache
def _predefined() -> tuple[DatasetEntry, ...]:
    with _TSV.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return tuple(
        DatasetEntry(
            name=r["config"],
            dataset=r["dataset"],
            problem_type=r["problem_type"],
            num_labels=int(r["num_labels"]),
            metrics=tuple(vocab.canonical_metric(m) for m in r["metrics"].split(",")),
            monitor=vocab.canonical_metric(r["monitor"]),
            monitor_strategy=r["monitor_strategy"],
            normalize=r["normalize"] or None,
            sequence_column_name=r["sequence_column_name"] or "aa_seq",
            label_column_name=r["label_column_name"] or "label",
            structure_source=r["pdb_type"] or None,
            source="hub",
        )
        for r in rows
    )


def _demo_entries() -> tuple[DatasetEntry, ...]:
    out = []
    for name, meta in assets.DEMO_DATASETS.items():
        metrics = vocab.DEFAULT_METRICS[meta["problem_type"]]
        out.append(
            DatasetEntry(
                name=name,
                dataset=str(assets.demo_dataset_dir(name)),
                problem_type=meta["problem_type"],
                num_labels=meta["num_labels"],
                metrics=metrics,
                monitor=meta.get("monitor", vocab.DEFAULT_MONITOR[meta["problem_type"]]),
                monitor_strategy=meta.get("monitor_strategy", "max"),
                normalize=None,
                sequence_column_name="aa_seq",
                label_column_name="label",
                structure_source=None,
                source="demo",
                description=meta.get("description", ""),
            )
        )
    return tuple(out)


def catalogue_entries() -> list[DatasetEntry]:
    return [*_demo_entries(), *_predefined()]


def find_entry(name: str | None) -> DatasetEntry | None:
    if not name:
        return None
    for e in catalogue_entries():
        if name in (e.name, e.dataset) and (e.source == "demo" or e.name == name):
            return e
    return None


def read_dataset_config(path: str | Path) -> dict[str, Any]:
    """A VenusFactory dataset config JSON (dataset, num_labels, problem_type, metrics, ...)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise VenusError(f"Dataset config {path} does not exist.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise VenusError(f"Dataset config {path} is not valid JSON: {e}.") from None
    if not isinstance(data, dict):
        raise VenusError(f"Dataset config {path} must be a JSON object.")
    known = {
        "dataset",
        "num_labels",
        "problem_type",
        "metrics",
        "monitor",
        "monitor_strategy",
        "normalize",
        "sequence_column_name",
        "label_column_name",
        "pdb_type",
        "train_file",
        "valid_file",
        "test_file",
    }
    unknown = sorted(set(data) - known)
    if unknown:
        raise VenusError(f"Dataset config {path} has unknown keys {unknown}; known keys: {sorted(known)}.")
    data.pop("pdb_type", None)
    if isinstance(data.get("metrics"), list):
        data["metrics"] = ",".join(data["metrics"])
    return {k: v for k, v in data.items() if v not in (None, "")}


def resolve_task(cfg: RunConfig) -> RunConfig:
    """Fill the task settings the user left unset, then validate.

    Precedence: what the user set > the dataset config JSON > the catalogue entry > the problem
    type's defaults. ``num_labels`` of a custom classification dataset may stay None: the data
    loader then infers it from the labels (and the data doctor says so).
    """
    d, t = cfg.data, cfg.train
    if d.train_file and d.dataset:
        # Split files given: they are the data. (``dataset`` defaults to the demo, which must not
        # leak its task settings into a custom run.)
        cfg = cfg.with_values(dataset=None)
        d = cfg.data
    inherited: dict[str, Any] = {}
    entry = find_entry(d.dataset)
    if entry is not None:
        inherited.update(
            dataset=entry.dataset,
            problem_type=entry.problem_type,
            num_labels=entry.num_labels,
            metrics=entry.metrics,
            monitor=entry.monitor,
            monitor_strategy=entry.monitor_strategy,
            normalize=entry.normalize,
            sequence_column_name=entry.sequence_column_name,
            label_column_name=entry.label_column_name,
        )
    if d.dataset_config:
        inherited.update(read_dataset_config(d.dataset_config))

    values: dict[str, Any] = {}
    for name, value in inherited.items():
        current = cfg.get(name)
        unset = current is None or current == () or current == field_default(name)
        if unset or name == "dataset":
            values[name] = value
    if values:
        cfg = cfg.with_values(**values)
        d, t = cfg.data, cfg.train

    if d.problem_type is None:
        raise VenusError(
            N_(
                "problem_type is not set: choose single_label_classification, multi_label_classification "
                "or regression (predefined datasets set it for you)."
            )
        )
    if d.problem_type not in vocab.PROBLEM_TYPES:
        cfg.validate()  # raises with the list of valid problem types
    fill: dict[str, Any] = {}
    if d.problem_type == "regression" and d.num_labels is None:
        fill["num_labels"] = 1
    metrics = d.metrics or vocab.DEFAULT_METRICS[d.problem_type]
    fill["metrics"] = metrics
    monitor = t.monitor
    if monitor is None:
        default = vocab.DEFAULT_MONITOR[d.problem_type]
        monitor = default if default in metrics else metrics[0]
        fill["monitor"] = monitor
    if t.monitor_strategy is None:
        fill["monitor_strategy"] = (
            vocab.metric_direction(monitor) if monitor in vocab.METRICS or monitor == "loss" else "max"
        )
    cfg = cfg.with_values(**fill)
    cfg.validate()
    _check_monitor_direction(cfg)
    return cfg


def _check_monitor_direction(cfg: RunConfig) -> None:
    """A known monitor watched the wrong way round (loss maximised) is a mistake: say which way."""
    t = cfg.train
    if t.monitor in vocab.METRICS or t.monitor == "loss":
        direction = vocab.metric_direction(t.monitor)
        if t.monitor_strategy != direction:
            contradiction = (
                N_(
                    "monitor_strategy '{strategy}' contradicts the monitor '{monitor}', which is better "
                    "when higher: use monitor_strategy {direction}."
                )
                if direction == "max"
                else N_(
                    "monitor_strategy '{strategy}' contradicts the monitor '{monitor}', which is better "
                    "when lower: use monitor_strategy {direction}."
                )
            )
            raise VenusError(
                contradiction.format(strategy=t.monitor_strategy, monitor=t.monitor, direction=direction)
            )


def format_table(entries: list[DatasetEntry]) -> str:
    rows = [("name", "problem type", "labels", "metrics", "monitor", "offline")]
    for e in entries:
        rows.append(
            (
                e.name,
                e.problem_type,
                str(e.num_labels),
                ",".join(e.metrics),
                e.monitor,
                "yes" if e.available_offline else "",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)
