"""Losses, logits-to-outputs conversion and evaluation metrics, one code path for train/eval/predict.

Conventions (the reference implementation got several of these wrong, see
``shared/reference/venusfactory-defects.md``):

- Single-label with 2 classes is scored as a *binary* task on the positive-class probability
  ``outputs[:, 1]``: precision, recall and F1 are those of class 1, AUROC is on the probability.
- Single-label with more than 2 classes uses *macro* averaging for precision, recall and F1 (micro
  averaging would make all three equal to accuracy) and one-vs-rest macro AUROC on probabilities.
- Multi-label uses a 0.5 threshold on the sigmoid probabilities and macro averaging over labels;
  ``f1_max`` is the protein-centric Fmax of CAFA, computed exactly over every distinct score.
- Regression metrics are computed on what the caller passes (values already in label units).

A metric that is undefined for the data (AUROC with one class present, Spearman of a constant,
anything on an empty set or on non-finite outputs) is ``float("nan")``; nothing here raises or
prints for such data.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics.functional import classification as tmc
from torchmetrics.functional import regression as tmr

from venus_core import vocab

ArrayLike = np.ndarray | Tensor
LossFn = Callable[[Tensor, Tensor], Tensor]
MetricFn = Callable[[str, Tensor, Tensor, int], float]

NAN = float("nan")


# ----------------------------------------------------------------------------------------------
# Losses and outputs


def _check_problem_type(problem_type: str) -> None:
    if problem_type not in vocab.PROBLEM_TYPES:
        raise ValueError(f"unknown problem_type {problem_type!r}; expected one of {vocab.PROBLEM_TYPES}")


def loss_fn(problem_type: str) -> LossFn:
    """The training loss for ``problem_type`` as ``loss(logits, targets) -> scalar``.

    - single-label: cross-entropy; logits (N, C), targets int64 (N,)
    - multi-label: BCE-with-logits; logits (N, L), targets float multi-hot (N, L)
    - regression: MSE; logits (N, 1) or (N,), targets float (N,)
    """
    _check_problem_type(problem_type)

    # Losses are computed in float32 even under bf16/fp16 autocast: the reduction over a batch
    # loses too much precision in half types.
    def single_label(logits: Tensor, targets: Tensor) -> Tensor:
        return F.cross_entropy(logits.float(), targets.long())

    def multi_label(logits: Tensor, targets: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(logits.float(), targets.float())

    def regression(logits: Tensor, targets: Tensor) -> Tensor:
        # squeeze(-1), not squeeze(): a batch of one must stay a vector.
        values = logits.float().squeeze(-1) if logits.dim() > 1 else logits.float()
        return F.mse_loss(values, targets.float().reshape(values.shape))

    return {
        "single_label_classification": single_label,
        "multi_label_classification": multi_label,
        "regression": regression,
    }[problem_type]


def outputs_from_logits(problem_type: str, logits: Tensor) -> Tensor:
    """What the metrics and the prediction files see: probabilities or values, float32.

    single-label: softmax probabilities (N, C); multi-label: sigmoid probabilities (N, L);
    regression: values (N,).
    """
    _check_problem_type(problem_type)
    logits = logits.float()
    if problem_type == "single_label_classification":
        return logits.softmax(-1)
    if problem_type == "multi_label_classification":
        return logits.sigmoid()
    return logits.squeeze(-1) if logits.dim() > 1 else logits


# ----------------------------------------------------------------------------------------------
# Helpers


def is_undefined(x: float | None) -> bool:
    """True for ``None`` and NaN: a metric that could not be computed for the data."""
    return x is None or (isinstance(x, float) and math.isnan(x))


def _as_tensor(x: ArrayLike) -> Tensor:
    t = x.detach().cpu() if isinstance(x, Tensor) else torch.as_tensor(np.array(x))
    return t


def _float(x: Tensor | float) -> float:
    v = float(x.item()) if isinstance(x, Tensor) else float(x)
    return v if math.isfinite(v) else NAN


def _binary_probs(outputs: Tensor) -> Tensor:
    """Probability of class 1 from (N, 2) probabilities, or the (N,) probabilities themselves."""
    return outputs[:, 1] if outputs.dim() == 2 else outputs


def _single_label_preds(outputs: Tensor, num_labels: int) -> Tensor:
    """Predicted class ids (N,) from (N, C) probabilities (or (N,) class-1 probabilities)."""
    if outputs.dim() == 1:
        return (outputs > 0.5).long()
    return outputs.argmax(-1)


def _auroc_single_label(outputs: Tensor, targets: Tensor, num_labels: int) -> float:
    present = torch.unique(targets)
    if present.numel() < 2:
        return NAN  # ROC needs both positives and negatives
    if num_labels == 2:
        return _float(tmc.binary_auroc(_binary_probs(outputs).double(), targets))
    # Per-class one-vs-rest AUROC, averaged over the classes that occur in the targets: a class
    # that never occurs has no positives, so its AUROC is undefined and must not count as 0.
    per_class = tmc.multiclass_auroc(outputs.double(), targets, num_classes=num_labels, average="none")
    return _float(per_class[present].mean())


def _auroc_multi_label(outputs: Tensor, targets: Tensor, num_labels: int) -> float:
    positives = targets.sum(0)
    defined = (positives > 0) & (positives < targets.shape[0])
    if not bool(defined.any()):
        return NAN
    per_label = tmc.multilabel_auroc(outputs.double(), targets, num_labels=num_labels, average="none")
    # Macro over the labels where AUROC is defined (both classes present).
    return _float(per_label[defined].mean())


def f1_max(outputs: ArrayLike, targets: ArrayLike) -> float:
    """Protein-centric Fmax (CAFA) for multi-label scores (N, L) and multi-hot targets (N, L).

    A label is predicted at threshold ``t`` when its score is ``>= t``. For each ``t``:
    precision(t) is the mean of TP/predicted over the proteins with at least one prediction,
    recall(t) is the mean of TP/true over all proteins with at least one true label, and
    F(t) = 2PR/(P+R). Fmax = max over t. The thresholds are *every distinct score* (exact, not a
    101-point grid, which can only miss the maximum), evaluated in O(NL log NL) by sweeping the
    scores from high to low and updating each protein's running precision and recall.
    NaN when no protein has a true label or there are no scores.
    """
    scores = _as_tensor(outputs).double().numpy()
    truth = _as_tensor(targets).double().numpy() > 0.5
    if scores.ndim != 2 or scores.size == 0 or not np.isfinite(scores).all():
        return NAN
    n, num = scores.shape
    n_true = truth.sum(1)
    has_true = n_true > 0
    if not has_true.any():
        return NAN

    # Within each protein, sort by score (high to low) and compute the running precision and
    # recall after each of its labels is added; store the change each label makes.
    order = np.argsort(-scores, axis=1, kind="stable")
    row_truth = np.take_along_axis(truth, order, axis=1).astype(np.float64)
    tp = np.cumsum(row_truth, axis=1)
    predicted = np.arange(1, num + 1, dtype=np.float64)[None, :]
    prec = tp / predicted
    d_prec = np.diff(prec, axis=1, prepend=0.0)
    d_rec = np.where(has_true[:, None], row_truth / np.maximum(n_true, 1)[:, None], 0.0)
    d_covered = np.zeros_like(prec)
    d_covered[:, 0] = 1.0  # the protein starts counting for precision with its first prediction

    # Sweep all (protein, label) pairs globally from high score to low. After all pairs with score
    # >= t are in, each protein's included set is a prefix of its own order, so the summed changes
    # equal its precision and recall at t whatever order ties were added in.
    row_scores = np.take_along_axis(scores, order, axis=1).ravel()
    glob = np.argsort(-row_scores, kind="stable")
    sorted_scores = row_scores[glob]
    sum_prec = np.cumsum(d_prec.ravel()[glob])
    sum_rec = np.cumsum(d_rec.ravel()[glob])
    covered = np.cumsum(d_covered.ravel()[glob])
    # Evaluate only at the last pair of each run of equal scores: that is the threshold t = score.
    last_of_tie = np.ones(sorted_scores.shape, dtype=bool)
    last_of_tie[:-1] = sorted_scores[1:] != sorted_scores[:-1]

    precision = sum_prec[last_of_tie] / covered[last_of_tie]
    recall = sum_rec[last_of_tie] / has_true.sum()
    denom = precision + recall
    f = np.where(denom > 0, 2 * precision * recall / np.where(denom > 0, denom, 1.0), 0.0)
    return float(f.max())


# ----------------------------------------------------------------------------------------------
# Metric functions: fn(problem_type, outputs, targets, num_labels) -> float
#
# outputs: single-label probabilities (N, C); multi-label probabilities (N, L); regression values
# (N,). targets: class ids (N,); multi-hot (N, L); values (N,). All already torch tensors.


def _classification(binary_fn: Callable, multiclass_fn: Callable, multilabel_fn: Callable) -> MetricFn:
    """A thresholded classification metric built from three torchmetrics functionals."""

    def metric(problem_type: str, outputs: Tensor, targets: Tensor, num_labels: int) -> float:
        if problem_type == "multi_label_classification":
            return _float(multilabel_fn(outputs, targets, num_labels))
        if num_labels == 2:
            return _float(binary_fn(_binary_probs(outputs), targets))
        return _float(multiclass_fn(_single_label_preds(outputs, num_labels), targets, num_labels))

    return metric


def _averaged(name: str, multiclass_average: str = "macro") -> MetricFn:
    binary = getattr(tmc, f"binary_{name}")
    multiclass = getattr(tmc, f"multiclass_{name}")
    multilabel = getattr(tmc, f"multilabel_{name}")
    return _classification(
        lambda p, t: binary(p, t, threshold=0.5),
        lambda p, t, c: multiclass(p, t, num_classes=c, average=multiclass_average),
        lambda p, t, c: multilabel(p, t, num_labels=c, threshold=0.5, average="macro"),
    )


def _auroc(problem_type: str, outputs: Tensor, targets: Tensor, num_labels: int) -> float:
    if problem_type == "multi_label_classification":
        return _auroc_multi_label(outputs, targets, num_labels)
    return _auroc_single_label(outputs, targets, num_labels)


def _subset_accuracy(problem_type: str, outputs: Tensor, targets: Tensor, num_labels: int) -> float:
    # Exact match: a protein counts only when every one of its labels is right.
    return _float(tmc.multilabel_exact_match(outputs, targets, num_labels=num_labels, threshold=0.5))


def _f1_max(problem_type: str, outputs: Tensor, targets: Tensor, num_labels: int) -> float:
    return f1_max(outputs, targets)


def _spearman(problem_type: str, outputs: Tensor, targets: Tensor, num_labels: int) -> float:
    preds, target = outputs.double().reshape(-1), targets.double().reshape(-1)
    # A constant vector has no ranking: the correlation is undefined (scipy also gives NaN).
    if preds.numel() < 2 or bool((preds == preds[0]).all()) or bool((target == target[0]).all()):
        return NAN
    return _float(tmr.spearman_corrcoef(preds, target))


def _mse(problem_type: str, outputs: Tensor, targets: Tensor, num_labels: int) -> float:
    return _float(tmr.mean_squared_error(outputs.double().reshape(-1), targets.double().reshape(-1)))


METRIC_FUNCTIONS: dict[str, MetricFn] = {
    # Multi-class accuracy is micro (the fraction correct): torchmetrics' macro accuracy would be
    # the mean per-class recall (balanced accuracy), which is not what "accuracy" means.
    "accuracy": _averaged("accuracy", multiclass_average="micro"),
    "recall": _averaged("recall"),
    "precision": _averaged("precision"),
    "f1": _averaged("f1_score"),
    # Multi-label MCC is torchmetrics' definition: one MCC over the pooled 2x2 confusion matrix of
    # all (protein, label) pairs (per-label MCC is undefined for any label that is never predicted).
    "mcc": _classification(
        lambda p, t: tmc.binary_matthews_corrcoef(p, t, threshold=0.5),
        lambda p, t, c: tmc.multiclass_matthews_corrcoef(p, t, num_classes=c),
        lambda p, t, c: tmc.multilabel_matthews_corrcoef(p, t, num_labels=c, threshold=0.5),
    ),
    "auroc": _auroc,
    "subset_accuracy": _subset_accuracy,
    "f1_max": _f1_max,
    "spearman_corr": _spearman,
    "mse": _mse,
}


def compute_metrics(
    problem_type: str,
    names: Sequence[str],
    outputs: ArrayLike,
    targets: ArrayLike,
    num_labels: int,
) -> dict[str, float]:
    """Compute the metrics ``names`` (canonical names or aliases) for one evaluation set.

    ``outputs`` are what :func:`outputs_from_logits` returns: single-label softmax probabilities
    (N, C) (for 2 classes, (N,) class-1 probabilities are accepted too); multi-label sigmoid
    probabilities (N, L); regression values (N,) in label units. ``targets`` are class ids (N,),
    multi-hot (N, L) or values (N,).

    Single-label with 2 classes is a binary task on ``outputs[:, 1]`` (precision/recall/F1 of class
    1); with more classes precision/recall/F1 are *macro* averages (micro would equal accuracy) and
    AUROC is one-vs-rest macro over the classes present. Multi-label: threshold 0.5, macro over
    labels (accuracy = mean per-label accuracy; MCC pooled over all pairs), plus ``f1_max`` and
    ``subset_accuracy`` (the fraction of proteins whose whole label set is right).

    Returns ``{canonical_name: float}``; an undefined metric is NaN. Raises ``ValueError`` only for
    a caller bug: an unknown metric, one that does not apply to ``problem_type``, or outputs and
    targets whose shapes (or class ids) do not fit ``num_labels``.
    """
    _check_problem_type(problem_type)
    canonical = [vocab.canonical_metric(n) for n in names]
    for name in canonical:
        if name not in METRIC_FUNCTIONS:
            raise ValueError(f"unknown metric {name!r}; expected one of {list(vocab.METRICS)}")
        if problem_type not in vocab.METRICS[name].problem_types:
            raise ValueError(f"metric {name!r} does not apply to {problem_type}")

    out = _as_tensor(outputs).float()
    tgt = _as_tensor(targets)
    if problem_type == "regression":
        out, tgt = out.reshape(-1), tgt.float().reshape(-1)
    else:
        tgt = tgt.long()
    _check_shapes(problem_type, out, tgt, num_labels)
    # A diverged model (NaN/inf outputs) or an empty set has no meaningful score.
    if out.numel() == 0 or tgt.numel() == 0 or not bool(torch.isfinite(out).all()):
        return dict.fromkeys(canonical, NAN)

    results: dict[str, float] = {}
    # torchmetrics warns (through `warnings`) about classes absent from the data; those cases are
    # handled explicitly (NaN or excluded from the average), so the warnings are noise here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in canonical:
            results[name] = METRIC_FUNCTIONS[name](problem_type, out, tgt, num_labels)
    return results


def _check_shapes(problem_type: str, out: Tensor, tgt: Tensor, num_labels: int) -> None:
    """Raise ValueError for outputs/targets that do not fit the problem type (a caller bug)."""
    n = tgt.shape[0] if tgt.dim() else 0
    if problem_type == "regression":
        ok = out.shape == tgt.shape
    elif problem_type == "multi_label_classification":
        ok = out.dim() == 2 and out.shape == tgt.shape and out.shape[1] == num_labels
    else:
        ok = tgt.dim() == 1 and out.shape[0] == n
        ok = ok and (out.shape[1:] == (num_labels,) or (num_labels == 2 and out.dim() == 1))
        ok = ok and bool(((tgt >= 0) & (tgt < num_labels)).all())
    if not ok:
        raise ValueError(
            f"{problem_type}: outputs {tuple(out.shape)} and targets {tuple(tgt.shape)} do not fit "
            f"num_labels={num_labels} (or a target is outside 0..{num_labels - 1})"
        )
