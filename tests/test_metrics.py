"""Metrics agree with scikit-learn/scipy; undefined cases are NaN; losses have the right shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    matthews_corrcoef,
    mean_squared_error,
    precision_score,
    recall_score,
    roc_auc_score,
)

from venus_core import vocab
from venus_core.metrics import (
    METRIC_FUNCTIONS,
    compute_metrics,
    f1_max,
    is_undefined,
    loss_fn,
    outputs_from_logits,
)

SL, ML, REG = vocab.PROBLEM_TYPES
CLS_METRICS = ("accuracy", "recall", "precision", "f1", "mcc", "auroc")
SEEDS = (0, 1, 2, 3)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _single_label_data(seed: int, n: int, c: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    y[:c] = np.arange(c)  # every class present, so every sklearn metric is defined
    # Logits correlated with the label, so the metrics are not all at chance level.
    logits = rng.normal(size=(n, c)) + 1.5 * np.eye(c)[y]
    return _softmax(logits), y


def _multi_label_data(seed: int, n: int, num: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random((n, num)) < 0.35).astype(np.float32)
    y[0], y[1] = 1, 0  # every label has positives and negatives
    probs = 1 / (1 + np.exp(-(rng.normal(size=(n, num)) + 1.2 * (2 * y - 1))))
    return probs, y


def test_metric_functions_keys_match_vocab() -> None:
    assert set(METRIC_FUNCTIONS) == set(vocab.METRICS)


@pytest.mark.parametrize("seed", SEEDS)
def test_binary_matches_sklearn(seed: int) -> None:
    probs, y = _single_label_data(seed, 97, 2)
    got = compute_metrics(SL, CLS_METRICS, probs, y, 2)
    pred = probs.argmax(1)
    want = {
        "accuracy": accuracy_score(y, pred),
        "recall": recall_score(y, pred, average="binary", zero_division=0),
        "precision": precision_score(y, pred, average="binary", zero_division=0),
        "f1": f1_score(y, pred, average="binary", zero_division=0),
        "mcc": matthews_corrcoef(y, pred),
        "auroc": roc_auc_score(y, probs[:, 1]),
    }
    assert got == pytest.approx(want, abs=1e-6)
    assert all(type(v) is float for v in got.values())


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("c", [3, 5])
def test_multiclass_matches_sklearn_macro(seed: int, c: int) -> None:
    probs, y = _single_label_data(seed, 113, c)
    got = compute_metrics(SL, CLS_METRICS, torch.from_numpy(probs), torch.from_numpy(y), c)
    pred = probs.argmax(1)
    want = {
        "accuracy": accuracy_score(y, pred),
        "recall": recall_score(y, pred, average="macro", zero_division=0),
        "precision": precision_score(y, pred, average="macro", zero_division=0),
        "f1": f1_score(y, pred, average="macro", zero_division=0),
        "mcc": matthews_corrcoef(y, pred),
        "auroc": roc_auc_score(y, probs, multi_class="ovr", average="macro"),
    }
    assert got == pytest.approx(want, abs=1e-6)
    # Macro, not micro: micro precision/recall/F1 would all equal accuracy.
    assert got["f1"] != pytest.approx(got["accuracy"], abs=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_multilabel_matches_sklearn(seed: int) -> None:
    probs, y = _multi_label_data(seed, 89, 6)
    got = compute_metrics(ML, CLS_METRICS, probs, y, 6)
    pred = (probs > 0.5).astype(int)
    yi = y.astype(int)
    want = {
        "accuracy": (pred == yi).mean(),
        "recall": recall_score(yi, pred, average="macro", zero_division=0),
        "precision": precision_score(yi, pred, average="macro", zero_division=0),
        "f1": f1_score(yi, pred, average="macro", zero_division=0),
        # torchmetrics' multi-label MCC pools every (protein, label) pair.
        "mcc": matthews_corrcoef(yi.ravel(), pred.ravel()),
        "auroc": roc_auc_score(yi, probs, average="macro"),
    }
    assert got == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize("seed", SEEDS)
def test_subset_accuracy_is_sklearns_multilabel_accuracy(seed: int) -> None:
    probs, y = _multi_label_data(seed, 89, 6)
    got = compute_metrics(ML, ["subset_accuracy", "exact_match"], probs, y, 6)
    assert list(got) == ["subset_accuracy"]  # the alias is the same metric
    # sklearn's accuracy_score on indicator arrays is the exact-match (subset) accuracy.
    assert got["subset_accuracy"] == pytest.approx(accuracy_score(y.astype(int), (probs > 0.5).astype(int)))


def test_per_label_and_subset_accuracy_part_on_sparse_labels() -> None:
    """On a sparse label set a model that predicts nothing is ~97% "accurate" per label but gets
    no protein right: the two metrics say different things, and each is named for what it is."""
    rng = np.random.default_rng(0)
    y = np.zeros((200, 30), dtype=np.float32)
    y[np.arange(200), rng.integers(0, 30, 200)] = 1  # one GO-like term per protein
    nothing = np.full(y.shape, 0.1)
    got = compute_metrics(ML, ["accuracy", "subset_accuracy"], nothing, y, 30)
    assert got["accuracy"] == pytest.approx(29 / 30) and got["subset_accuracy"] == 0.0
    assert vocab.metric_title("accuracy", ML) == "Accuracy (per label)"
    assert vocab.metric_title("accuracy", SL) == vocab.metric_title("accuracy") == "Accuracy"
    assert vocab.metric_title("subset_accuracy", ML) == "Subset accuracy"
    assert vocab.metric_title("loss") == "Loss" and vocab.metric_title("custom") == "custom"
    assert vocab.METRICS["subset_accuracy"].problem_types == (ML,)


def _fmax_reference(scores: np.ndarray, truth: np.ndarray, thresholds: np.ndarray) -> float:
    """Straight-from-the-definition CAFA Fmax, written independently of the implementation."""
    scores, truth = np.asarray(scores, np.float64), np.asarray(truth, np.float64)
    best = 0.0
    for t in thresholds:
        precisions, recalls = [], []
        for s, y in zip(scores, truth, strict=True):
            predicted = s >= t
            tp = float((predicted & (y > 0)).sum())
            if predicted.sum() > 0:
                precisions.append(tp / predicted.sum())
            if y.sum() > 0:
                recalls.append(tp / y.sum())
        if not precisions:
            continue
        p, r = np.mean(precisions), np.mean(recalls)
        if p + r > 0:
            best = max(best, 2 * p * r / (p + r))
    return best


def test_f1_max_hand_computed() -> None:
    # Protein A: true {0, 1}; protein B: true {2}; protein C: no true label.
    scores = np.array([[0.9, 0.4, 0.1], [0.8, 0.2, 0.6], [0.3, 0.7, 0.0]])
    truth = np.array([[1, 1, 0], [0, 0, 1], [0, 0, 0]])
    # t=0.9: A predicts {0}: P=1, R: A 1/2, B 0 -> R=0.25, F=0.4
    # t=0.8: A {0} (1), B {0} (0): P=0.5, R=0.25, F=1/3
    # t=0.7: A {0} 1, B {0} 0, C {1} 0: P=1/3, R=0.25
    # t=0.6: A {0} 1, B {0,2} 1/2, C {1} 0: P=0.5, R=(0.5+1)/2=0.75, F=0.6
    # t=0.4: A {0,1} 1, B 1/2, C 0: P=0.5, R=(1+1)/2=1, F=2/3  <- max
    # t=0.3: A 1, B 1/2, C {0,1} 0: P=0.5, R=1, F=2/3
    assert f1_max(scores, truth) == pytest.approx(2 / 3)
    assert _fmax_reference(scores, truth, np.unique(scores)) == pytest.approx(2 / 3)


@pytest.mark.parametrize("seed", SEEDS)
def test_f1_max_matches_reference(seed: int) -> None:
    probs, y = _multi_label_data(seed, 40, 6)
    rng = np.random.default_rng(seed)
    y[rng.integers(0, 40, 5)] = 0  # some proteins without any true label
    probs = np.round(probs, 2)  # ties, within and across proteins
    want = _fmax_reference(probs, y, np.unique(probs))
    assert f1_max(probs, y) == pytest.approx(want, abs=1e-12)
    got = compute_metrics(ML, ["f1_max"], probs, y, 6)["f1_max"]
    assert got == pytest.approx(want, abs=1e-6)
    # The exact sweep is never below a 101-point grid (it includes every threshold that matters).
    assert got >= _fmax_reference(probs, y, np.linspace(0, 1, 101)) - 1e-9


@pytest.mark.parametrize("seed", SEEDS)
def test_regression_matches_scipy_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.normal(size=150)
    pred = y + rng.normal(size=150)
    pred[:20] = np.round(pred[:20])  # ties, which Spearman ranks by averaging
    got = compute_metrics(REG, ["spearman_corr", "mse"], pred, y, 1)
    assert got["spearman_corr"] == pytest.approx(spearmanr(pred, y).statistic, abs=1e-6)
    assert got["mse"] == pytest.approx(mean_squared_error(y, pred), rel=1e-6)


def test_aliases_give_canonical_keys() -> None:
    got = compute_metrics(REG, ["spearman", "mse"], np.arange(5.0), np.arange(5.0) ** 2, 1)
    assert set(got) == {"spearman_corr", "mse"}
    assert got["spearman_corr"] == pytest.approx(1.0)


def test_binary_auroc_uses_class_one_probability() -> None:
    y = np.array([0, 1, 0, 1, 1, 0])
    p1 = np.array([0.2, 0.9, 0.4, 0.3, 0.8, 0.1])
    two_col = np.stack([1 - p1, p1], 1)
    got = compute_metrics(SL, ["auroc"], two_col, y, 2)["auroc"]
    assert got == pytest.approx(roc_auc_score(y, p1))
    # Column 0 would rank the other way round.
    assert got != pytest.approx(roc_auc_score(y, two_col[:, 0]))
    assert compute_metrics(SL, ["auroc"], p1, y, 2)["auroc"] == pytest.approx(got)


def test_binary_precision_is_positive_class() -> None:
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    pred = np.array([1, 0, 0, 1, 0, 0, 0, 0])
    probs = np.eye(2)[pred] * 0.8 + 0.1
    got = compute_metrics(SL, ["precision", "recall"], probs, y, 2)
    assert got == pytest.approx({"precision": 0.5, "recall": 1 / 3})


def test_undefined_cases_are_nan(capsys: pytest.CaptureFixture[str]) -> None:
    probs, _ = _single_label_data(0, 10, 2)
    assert math.isnan(compute_metrics(SL, ["auroc"], probs, np.ones(10, dtype=int), 2)["auroc"])
    probs5, _ = _single_label_data(0, 10, 5)
    assert math.isnan(compute_metrics(SL, ["auroc"], probs5, np.full(10, 3), 5)["auroc"])
    mprobs, _ = _multi_label_data(0, 10, 3)
    got = compute_metrics(ML, ["auroc", "f1_max"], mprobs, np.zeros((10, 3)), 3)
    assert math.isnan(got["auroc"]) and math.isnan(got["f1_max"])
    reg = compute_metrics(REG, ["spearman_corr", "mse"], np.full(8, 2.0), np.arange(8.0), 1)
    assert math.isnan(reg["spearman_corr"]) and reg["mse"] == pytest.approx(np.mean((2 - np.arange(8)) ** 2))
    assert math.isnan(compute_metrics(REG, ["spearman_corr"], np.arange(8.0), np.ones(8), 1)["spearman_corr"])
    assert math.isnan(compute_metrics(REG, ["spearman_corr"], np.ones(1), np.ones(1), 1)["spearman_corr"])
    empty = compute_metrics(SL, CLS_METRICS, np.zeros((0, 3)), np.zeros(0), 3)
    assert all(math.isnan(v) for v in empty.values())
    diverged = compute_metrics(REG, ["mse"], np.array([1.0, np.nan]), np.array([1.0, 2.0]), 1)
    assert math.isnan(diverged["mse"])
    assert is_undefined(float("nan")) and is_undefined(None) and not is_undefined(0.0)
    assert capsys.readouterr().out == ""


def test_multilabel_auroc_skips_labels_without_both_classes() -> None:
    probs, y = _multi_label_data(1, 50, 4)
    y[:, 3] = 0
    got = compute_metrics(ML, ["auroc"], probs, y, 4)["auroc"]
    assert got == pytest.approx(roc_auc_score(y[:, :3], probs[:, :3], average="macro"), abs=1e-6)


def test_multiclass_auroc_averages_over_present_classes() -> None:
    probs, y = _single_label_data(2, 60, 4)
    y[y == 3] = 0  # class 3 never occurs
    got = compute_metrics(SL, ["auroc"], probs, y, 4)["auroc"]
    want = np.mean([roc_auc_score(y == k, probs[:, k]) for k in range(3)])
    assert got == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize(
    ("problem_type", "name"),
    [(SL, "nope"), (SL, "f1_max"), (REG, "accuracy"), (ML, "mse"), (SL, "subset_accuracy")],
)
def test_unknown_or_inapplicable_metric_raises(problem_type: str, name: str) -> None:
    with pytest.raises(ValueError):
        compute_metrics(problem_type, [name], np.zeros((2, 2)), np.zeros(2), 2)


def test_mismatched_shapes_raise() -> None:
    with pytest.raises(ValueError):
        compute_metrics(SL, ["accuracy"], np.full((4, 3), 1 / 3), np.array([0, 1, 2, 3]), 3)
    with pytest.raises(ValueError):
        compute_metrics(ML, ["f1_max"], np.zeros((4, 3)), np.zeros((4, 2)), 3)


def test_losses_shapes_and_dtypes() -> None:
    torch.manual_seed(0)
    logits = torch.randn(4, 3, requires_grad=True)
    loss = loss_fn(SL)(logits, torch.tensor([0, 2, 1, 1]))
    assert loss.shape == () and loss.dtype == torch.float32
    loss.backward()
    assert logits.grad is not None

    ml_logits = torch.randn(4, 6)
    ml_targets = (torch.rand(4, 6) > 0.5).float()
    ml = loss_fn(ML)(ml_logits, ml_targets)
    assert ml.shape == () and torch.allclose(
        ml, torch.nn.functional.binary_cross_entropy_with_logits(ml_logits, ml_targets)
    )

    reg_logits = torch.randn(4, 1)
    reg_targets = torch.randn(4)
    reg = loss_fn(REG)(reg_logits, reg_targets)
    assert reg.shape == () and torch.allclose(reg, ((reg_logits[:, 0] - reg_targets) ** 2).mean())
    # A batch of one must not be squeezed to a scalar and broadcast.
    one = loss_fn(REG)(torch.tensor([[2.0]]), torch.tensor([0.0]))
    assert one.item() == pytest.approx(4.0)
    # Half-precision logits (autocast) still give a float32 loss.
    assert loss_fn(SL)(logits.detach().bfloat16(), torch.tensor([0, 2, 1, 1])).dtype == torch.float32


def test_outputs_from_logits() -> None:
    logits = torch.randn(5, 3)
    sl = outputs_from_logits(SL, logits)
    assert sl.shape == (5, 3) and torch.allclose(sl.sum(1), torch.ones(5))
    ml = outputs_from_logits(ML, logits)
    assert ml.shape == (5, 3) and torch.allclose(ml, logits.sigmoid())
    reg = outputs_from_logits(REG, logits[:, :1])
    assert reg.shape == (5,) and torch.equal(reg, logits[:, 0])
    assert outputs_from_logits(REG, torch.ones(1, 1)).shape == (1,)
    with pytest.raises(ValueError):
        outputs_from_logits("classification", logits)
