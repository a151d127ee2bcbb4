"""The field's vocabulary: names of problem types, metrics, methods, pooling heads and schedulers.

This module is light (no torch) so that config validation and the catalogue CLI start fast. The
heavy registries (``methods.METHODS``, ``heads.HEADS``, ``metrics.METRIC_FUNCTIONS``) are keyed by
exactly these names; a test checks that they agree.
"""

from __future__ import annotations

from dataclasses import dataclass

PROBLEM_TYPES = ("single_label_classification", "multi_label_classification", "regression")


@dataclass(frozen=True)
class MetricSpec:
    name: str
    title: str
    direction: str  # "max" or "min": which way is better
    problem_types: tuple[str, ...]
    help: str


_CLS = ("single_label_classification", "multi_label_classification")
# fmt: off
METRICS: dict[str, MetricSpec] = {
    m.name: m
    for m in (
        MetricSpec("accuracy", "Accuracy", "max", _CLS, "Fraction of correct predictions (multi-label: per label, averaged)."),
        MetricSpec("recall", "Recall", "max", _CLS, "Binary: recall of the positive class. Multi-class and multi-label: macro average."),
        MetricSpec("precision", "Precision", "max", _CLS, "Binary: precision of the positive class. Multi-class and multi-label: macro average."),
        MetricSpec("f1", "F1", "max", _CLS, "Binary: F1 of the positive class. Multi-class and multi-label: macro average."),
        MetricSpec("mcc", "MCC", "max", _CLS, "Matthews correlation coefficient; fair on imbalanced data."),
        MetricSpec("auroc", "AUROC", "max", _CLS, "Area under the ROC curve, on predicted probabilities (macro for several classes)."),
        MetricSpec("f1_max", "F1 max", "max", ("multi_label_classification",), "Protein-centric Fmax: the best F1 over decision thresholds."),
        MetricSpec("spearman_corr", "Spearman", "max", ("regression",), "Spearman rank correlation between prediction and label, in [-1, 1]."),
        MetricSpec("mse", "MSE", "min", ("regression",), "Mean squared error, in the label's original units."),
    )
}
# fmt: on
METRIC_ALIASES = {"f1max": "f1_max", "spearman": "spearman_corr"}

DEFAULT_METRICS = {
    "single_label_classification": ("accuracy", "mcc", "f1", "precision", "recall", "auroc"),
    "multi_label_classification": ("f1_max",),
    "regression": ("spearman_corr", "mse"),
}
DEFAULT_MONITOR = {
    "single_label_classification": "accuracy",
    "multi_label_classification": "f1_max",
    "regression": "spearman_corr",
}

TRAINING_METHODS = ("freeze", "full", "plm-lora", "dora", "adalora", "ia3", "plm-qlora", "ses-adapter")
TRAINING_METHOD_ALIASES = {
    "plm-dora": "dora",
    "plm-adalora": "adalora",
    "plm-ia3": "ia3",
    "lora": "plm-lora",
    "qlora": "plm-qlora",
}
LORA_METHODS = ("plm-lora", "dora", "adalora", "plm-qlora")
# Methods whose backbone never changes: its outputs can be computed once and cached.
FROZEN_BACKBONE_METHODS = ("freeze", "ses-adapter")

POOLING_METHODS = ("mean", "attention1d", "light_attention")
SCHEDULERS = ("linear", "cosine", "step")  # None means a constant learning rate
STRUCTURE_SEQS = ("foldseek_seq", "ss8_seq")
NORMALIZATIONS = ("standard", "min_max")
SPLIT_METHODS = ("random", "homology")
BATCH_MODES = ("size", "token")

# 20 standard residues plus the ambiguity/rare codes protein LMs know (X, B, Z, U, O).
AMINO_ACIDS = frozenset("ACDEFGHIKLMNPQRSTVWYXBZUO")


def metric_direction(name: str) -> str:
    """``max`` or ``min``; ``loss`` is minimised."""
    return "min" if name == "loss" else METRICS[name].direction


def canonical_method(name: str) -> str:
    return TRAINING_METHOD_ALIASES.get(name, name)


def canonical_metric(name: str) -> str:
    name = name.strip().lower()
    return METRIC_ALIASES.get(name, name)
