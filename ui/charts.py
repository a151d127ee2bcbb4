"""Plotly figures of the dashboard, built from ``summarize(events)`` and run files only."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui.widgets import metric_title

COLORS = ["#1f5fa8", "#d9730d", "#2e8540", "#b03a2e", "#6c4f9e", "#8c6d31", "#00838f", "#c2185b"]
HEIGHT = 340


def _layout(fig: go.Figure, title: str | None = None, height: int = HEIGHT) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        title={"text": title, "x": 0, "font": {"size": 14}} if title else None,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1},
        hovermode="x unified",
    )
    return fig


def _num(v: Any) -> float | None:
    """A plottable number; undefined metrics (None/NaN) become gaps, negatives are kept."""
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else f


MAX_STEP_POINTS = 2000  # a long run's per-step curve is thinned: the browser gets it every second


def _thin(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(rows) <= MAX_STEP_POINTS:
        return rows
    every = -(-len(rows) // MAX_STEP_POINTS)
    return rows[::every] + ([rows[-1]] if (len(rows) - 1) % every else [])


def _step_x(s: dict[str, Any]) -> list[float | None]:
    """Position of each optimizer step in epochs (the step's share of the whole run x epochs)."""
    n_epochs = s.get("num_epochs")
    xs = []
    for row in _thin(s["steps"]):
        frac = _num(row.get("fraction"))
        if frac is not None and n_epochs:
            xs.append(frac * n_epochs)
        elif s.get("steps_per_epoch") and row.get("step") is not None:
            xs.append(row["step"] / s["steps_per_epoch"])
        else:
            xs.append(_num(row.get("epoch")))
    return xs


def _best_line(fig: go.Figure, s: dict[str, Any], **kw: Any) -> None:
    best = s.get("best")
    if best and best.get("epoch") is not None:
        fig.add_vline(
            x=best["epoch"],
            line_dash="dot",
            line_color="#888",
            annotation_text="best",
            annotation_position="top left",
            **kw,
        )


def loss_figure(s: dict[str, Any]) -> go.Figure:
    """Training and Validation Loss: per-step training loss, per-epoch training and validation loss."""
    fig = go.Figure()
    if s["steps"]:
        fig.add_scatter(
            x=_step_x(s),
            y=[_num(r.get("train/loss")) for r in _thin(s["steps"])],
            mode="lines",
            name="train loss (running mean in epoch)",
            line={"color": COLORS[0], "width": 1},
            opacity=0.35,
        )
    epochs = [r.get("epoch") for r in s["epochs"]]
    if epochs:
        fig.add_scatter(
            x=epochs,
            y=[_num(r.get("train/loss")) for r in s["epochs"]],
            mode="lines+markers",
            name="train loss (epoch mean)",
            line={"color": COLORS[0]},
        )
        fig.add_scatter(
            x=epochs,
            y=[_num(r.get("val/loss")) for r in s["epochs"]],
            mode="lines+markers",
            name="validation loss",
            line={"color": COLORS[1]},
        )
    _best_line(fig, s)
    fig.update_xaxes(title_text="Epoch", rangemode="tozero")
    fig.update_yaxes(title_text="Loss")
    return _layout(fig)


def metrics_figure(s: dict[str, Any]) -> go.Figure:
    """Validation Metrics per epoch; MSE (unbounded, lower is better) gets its own right axis."""
    names = s["metric_names"]
    right = [n for n in names if n == "mse"]
    fig = make_subplots(specs=[[{"secondary_y": bool(right and len(names) > 1)}]])
    epochs = [r.get("epoch") for r in s["epochs"]]
    for i, name in enumerate(names):
        fig.add_scatter(
            x=epochs,
            y=[_num(r.get(f"val/{name}")) for r in s["epochs"]],
            mode="lines+markers",
            name=metric_title(name),
            line={"color": COLORS[i % len(COLORS)]},
            secondary_y=bool(name in right and len(names) > 1),
        )
    _best_line(fig, s)
    fig.update_xaxes(title_text="Epoch", rangemode="tozero")
    fig.update_yaxes(title_text="Metric value", secondary_y=False)
    if right and len(names) > 1:
        fig.update_yaxes(title_text="MSE (label units²)", secondary_y=True, showgrid=False)
    return _layout(fig)


def compare_figure(runs: list[tuple[str, dict[str, Any]]], key: str) -> go.Figure:
    """One curve per run of a per-epoch value (e.g. ``val/loss`` or ``val/accuracy``)."""
    fig = go.Figure()
    for i, (name, s) in enumerate(runs):
        fig.add_scatter(
            x=[r.get("epoch") for r in s["epochs"]],
            y=[_num(r.get(key)) for r in s["epochs"]],
            mode="lines+markers",
            name=name,
            line={"color": COLORS[i % len(COLORS)]},
        )
    split, _, metric = key.partition("/")
    label = {"val": "Validation", "train": "Training"}.get(split, split)
    fig.update_xaxes(title_text="Epoch", rangemode="tozero")
    fig.update_yaxes(
        title_text=f"{label} {metric_title(metric).lower() if metric == 'loss' else metric_title(metric)}"
    )
    return _layout(fig)


# -- dataset preview --------------------------------------------------------------------------------


def length_histogram(stats: dict[str, Any]) -> go.Figure:
    fig = go.Figure()
    for i, (split, entry) in enumerate(stats.get("splits", {}).items()):
        if entry.get("lengths"):
            fig.add_histogram(
                x=entry["lengths"],
                name=split,
                opacity=0.55,
                marker_color=COLORS[i % len(COLORS)],
                histnorm="percent",
                xbins={"size": _bin_size(entry["lengths"])},
            )
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(title_text="Sequence length (residues)")
    fig.update_yaxes(title_text="Share of the split's sequences (%)")
    return _layout(fig, "Sequence lengths")


def _bin_size(lengths: list[int]) -> int:
    """A round bin width giving about 40 bins."""
    span = max(lengths) - min(lengths) if lengths else 0
    raw = max(1.0, span / 40)
    for nice in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if nice >= raw:
            return nice
    return int(raw)


def label_figure(stats: dict[str, Any]) -> go.Figure:
    fig = go.Figure()
    names = stats.get("label_names") or {}
    regression = stats.get("problem_type") == "regression"
    for i, (split, entry) in enumerate(stats.get("splits", {}).items()):
        labels = entry.get("labels") or {}
        color = COLORS[i % len(COLORS)]
        if regression:
            edges, counts = labels.get("edges") or [], labels.get("counts") or []
            if counts:
                centers = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=False)]
                widths = [b - a for a, b in zip(edges[:-1], edges[1:], strict=False)]
                fig.add_bar(x=centers, y=counts, width=widths, name=split, marker_color=color, opacity=0.6)
        else:
            keys = list(labels)
            fig.add_bar(
                x=[_class_name(k, names) for k in keys],
                y=[labels[k] for k in keys],
                name=split,
                marker_color=color,
            )
    fig.update_layout(barmode="overlay" if regression else "group")
    fig.update_xaxes(
        title_text="Label value" if regression else "Class", type=None if regression else "category"
    )
    fig.update_yaxes(title_text="Sequences")
    return _layout(fig, "Label distribution")


def identity_histogram(leak: dict[str, Any], threshold: float) -> go.Figure:
    """Highest identity to train per validation/test protein (related ones), 5% bins."""
    fig = go.Figure()
    for i, (name, entry) in enumerate(leak["splits"].items()):
        values = np.asarray(entry["max_identity"], dtype=np.float64) * 100
        fig.add_histogram(
            x=values[values > 0].round(2).tolist(),
            name=name,
            opacity=0.6,
            marker_color=COLORS[(i + 1) % len(COLORS)],
            xbins={"start": 0, "end": 100.001, "size": 5},
        )
    fig.add_vline(x=threshold * 100, line_dash="dash", line_color="#b03a2e")
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(title_text="Highest identity to a training protein (%)", range=[0, 101])
    fig.update_yaxes(title_text="Proteins")
    return _layout(fig, "Identity to the training set")


def _class_name(key: Any, names: Any) -> str:
    if isinstance(names, dict) and str(key) in names:
        return f"{key}: {names[str(key)]}"
    if isinstance(names, (list, tuple)):
        try:
            return f"{key}: {names[int(key)]}"
        except (ValueError, IndexError):
            pass
    return str(key)


# -- test predictions -------------------------------------------------------------------------------


def prob_columns(df: pd.DataFrame) -> list[str]:
    cols = [c for c in df.columns if str(c).startswith("prob_")]
    return sorted(cols, key=lambda c: int(str(c)[5:]) if str(c)[5:].isdigit() else 0)


def confusion_figure(df: pd.DataFrame, names: list[str] | None = None) -> go.Figure | None:
    """Confusion matrix of single-label predictions (rows: true class, columns: predicted)."""
    try:
        y = pd.to_numeric(df["label"]).astype(int)
        p = pd.to_numeric(df["prediction"]).astype(int)
    except (KeyError, ValueError, TypeError):
        return None
    n = int(max(y.max(), p.max(), len(prob_columns(df)) - 1)) + 1
    matrix = np.zeros((n, n), dtype=int)
    for t, q in zip(y, p, strict=True):
        matrix[t, q] += 1
    classes = [_class_name(i, names or []) for i in range(n)]
    fig = go.Figure(
        go.Heatmap(
            z=matrix,
            x=classes,
            y=classes,
            colorscale="Blues",
            showscale=False,
            text=matrix,
            texttemplate="%{text}",
            hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="Predicted class", type="category")
    fig.update_yaxes(title_text="True class", type="category", autorange="reversed")
    return _layout(fig, "Confusion matrix (test set)", height=max(HEIGHT, 28 * n + 120))


def roc_figure(df: pd.DataFrame) -> go.Figure | None:
    """ROC curve(s) from the predicted probabilities: binary, or one-vs-rest per class."""
    from sklearn.metrics import auc, roc_curve

    probs = prob_columns(df)
    try:
        y = pd.to_numeric(df["label"]).astype(int).to_numpy()
    except (KeyError, ValueError, TypeError):
        return None
    if not probs:
        return None
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dash", "color": "#aaa"}, name="chance")
    classes = [1] if len(probs) == 2 else list(range(len(probs)))
    for i, k in enumerate(classes):
        positives = y == k
        if positives.all() or not positives.any():
            continue  # undefined for this class on this test set
        score = pd.to_numeric(df[f"prob_{k}"], errors="coerce").fillna(0).to_numpy()
        fpr, tpr, _ = roc_curve(positives, score)
        name = f"AUC {auc(fpr, tpr):.3f}" if len(classes) == 1 else f"class {k} (AUC {auc(fpr, tpr):.3f})"
        fig.add_scatter(x=fpr, y=tpr, mode="lines", name=name, line={"color": COLORS[i % len(COLORS)]})
    if len(fig.data) == 1:
        return None
    fig.update_xaxes(title_text="False positive rate", range=[0, 1])
    fig.update_yaxes(title_text="True positive rate", range=[0, 1.02])
    fig.update_layout(hovermode="closest")
    return _layout(fig, "ROC curve (test set)")


def regression_figure(df: pd.DataFrame) -> go.Figure | None:
    try:
        y = pd.to_numeric(df["label"], errors="coerce")
        p = pd.to_numeric(df["prediction"], errors="coerce")
    except KeyError:
        return None
    ok = y.notna() & p.notna()
    if not ok.any():
        return None
    lo, hi = float(min(y[ok].min(), p[ok].min())), float(max(y[ok].max(), p[ok].max()))
    fig = go.Figure()
    fig.add_scatter(
        x=[lo, hi], y=[lo, hi], mode="lines", line={"dash": "dash", "color": "#aaa"}, name="y = x"
    )
    fig.add_scatter(
        x=y[ok],
        y=p[ok],
        mode="markers",
        name="test sequences",
        marker={"color": COLORS[0], "opacity": 0.6},
    )
    fig.update_xaxes(title_text="True value")
    fig.update_yaxes(title_text="Predicted value")
    fig.update_layout(hovermode="closest")
    return _layout(fig, "Predicted vs true (test set)")
