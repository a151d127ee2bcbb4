"""The field's vocabulary: names of problem types, metrics, pooling heads and schedulers.

This module is light (no torch) so that config validation and the catalogue CLI start fast. The
heavy registries (``heads.POOLING_HEADS``, ``metrics.METRIC_FUNCTIONS``) are keyed by exactly these
names; a test checks that they agree. Fine-tuning methods name themselves (``venus_core.methods``).
"""

from __future__ import annotations

from dataclasses import dataclass

from venus_core.i18n import N_

PROBLEM_TYPES = ("single_label_classification", "multi_label_classification", "regression")


@dataclass(frozen=True)
class MetricSpec:
    name: str
    title: str
    direction: str  # "max" or "min": which way is better
    problem_types: tuple[str, ...]
    help: str
    # (problem_type, title) where the same name measures something else and must say so
    titles: tuple[tuple[str, str], ...] = ()

    def title_for(self, problem_type: str | None) -> str:
        return dict(self.titles).get(problem_type or "", self.title)


_CLS = ("single_label_classification", "multi_label_classification")
# fmt: off
METRICS: dict[str, MetricSpec] = {
    m.name: m
    for m in (
        MetricSpec(
            "accuracy", N_("Accuracy"), "max", _CLS,
            N_("Fraction of correct predictions. Multi-label: of correct (protein, label) pairs, i.e. per "
            "label, averaged (the guide's metric): near 1 on sparse label sets whatever the model does; "
            "subset_accuracy counts whole proteins."),
            titles=(("multi_label_classification", N_("Accuracy (per label)")),),
        ),
        MetricSpec(
            "subset_accuracy", N_("Subset accuracy"), "max", ("multi_label_classification",),
            N_("Exact match: fraction of proteins whose predicted label set (probability over 0.5) is "
            "exactly the true set."),
        ),
        MetricSpec("recall", N_("Recall"), "max", _CLS, N_("Binary: recall of the positive class. Multi-class and multi-label: macro average.")),
        MetricSpec("precision", N_("Precision"), "max", _CLS, N_("Binary: precision of the positive class. Multi-class and multi-label: macro average.")),
        MetricSpec("f1", N_("F1"), "max", _CLS, N_("Binary: F1 of the positive class. Multi-class and multi-label: macro average.")),
        MetricSpec("mcc", N_("MCC"), "max", _CLS, N_("Matthews correlation coefficient; fair on imbalanced data.")),
        MetricSpec("auroc", N_("AUROC"), "max", _CLS, N_("Area under the ROC curve, on predicted probabilities (macro for several classes).")),
        MetricSpec("f1_max", N_("F1 max"), "max", ("multi_label_classification",), N_("Protein-centric Fmax: the best F1 over decision thresholds.")),
        MetricSpec("spearman_corr", N_("Spearman"), "max", ("regression",), N_("Spearman rank correlation between prediction and label, in [-1, 1].")),
        MetricSpec("mse", N_("MSE"), "min", ("regression",), N_("Mean squared error, in the label's original units.")),
    )
}
# fmt: on
METRIC_ALIASES = {"f1max": "f1_max", "spearman": "spearman_corr", "exact_match": "subset_accuracy"}

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

POOLING_METHODS = ("mean", "attention1d", "light_attention")
SCHEDULERS = ("linear", "cosine", "step")  # None means a constant learning rate
STRUCTURE_SEQS = ("foldseek_seq", "ss8_seq")
NORMALIZATIONS = ("standard", "min_max")
# How a multi-label file lists a protein's labels: "0,3" (the guide's) or "1,0,0,1".
MULTI_LABEL_FORMATS = ("indices", "multi_hot")
SPLIT_METHODS = ("random", "homology")
BATCH_MODES = ("size", "token")

# 20 standard residues plus the ambiguity/rare codes protein LMs know (X, B, Z, U, O).
AMINO_ACIDS = frozenset("ACDEFGHIKLMNPQRSTVWYXBZUO")


def metric_direction(name: str) -> str:
    """``max`` or ``min``; ``loss`` is minimised."""
    return "min" if name == "loss" else METRICS[name].direction


def metric_title(name: str, problem_type: str | None = None) -> str:
    """How a metric is named on screen and in CSVs (``Accuracy (per label)`` on multi-label);
    ``loss`` is "Loss", an unknown name is itself."""
    if name == "loss":
        return N_("Loss")
    spec = METRICS.get(name)
    return spec.title_for(problem_type) if spec else name


def canonical_metric(name: str) -> str:
    name = name.strip().lower()
    return METRIC_ALIASES.get(name, name)
