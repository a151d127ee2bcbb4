"""Plotly figures of the dashboard, built from a run's summary (``venus_core.run_summary``) and run
files only; their titles, axes and legends in the session's language."""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui import i18n
from ui.i18n import N_, _
from ui.widgets import metric_title, run_problem_type

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


_FIGURES: dict[tuple, go.Figure] = {}
_FIGURES_LOCK = threading.Lock()
MAX_CACHED_FIGURES = 64


def cached(build: Callable[[dict[str, Any]], go.Figure], s: dict[str, Any]) -> go.Figure:
    """``build(s)``, built once per run and ``chart_version``: a live page redraws its charts every
    few seconds, but a figure is only rebuilt when something it shows changed. Shared by every tab
    of the same language (the server process builds it once per language)."""
    key = (build.__name__, s.get("run_dir"), s.get("started"), s.get("chart_version"), i18n.current())
    with _FIGURES_LOCK:
        figure = _FIGURES.get(key)
    if figure is None:
        figure = build(s)
        with _FIGURES_LOCK:
            if len(_FIGURES) >= MAX_CACHED_FIGURES:
                _FIGURES.clear()
            _FIGURES[key] = figure
    return figure


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
            annotation_text=_("best"),
            annotation_position="top left",
            **kw,
        )


# The live charts are redrawn every few seconds while a run trains. Building them through plotly's
# validating API took ~70 ms each time, holding the interpreter lock the trainer needs; so the frame
# of each chart (template, axes, legend, the best-epoch marker's style) is validated once, and each
# refresh only puts plain lists into it, unvalidated (plotly's own fast path for trusted figures):
# ~2 ms.


def _frame(y_title: str, right_title: str | None = None) -> tuple[dict, dict, dict]:
    """(layout, best-epoch line, its label) of a live chart in this session's language."""
    return _frame_in(i18n.current(), _(y_title), _(right_title) if right_title else None)


@functools.lru_cache(maxsize=32)
def _frame_in(lang: str, y_title: str, right_title: str | None) -> tuple[dict, dict, dict]:
    """``_frame``, validated once per language (``lang`` keys the cache; the titles are in it)."""
    fig = make_subplots(specs=[[{"secondary_y": True}]]) if right_title else go.Figure()
    _best_line(fig, {"best": {"epoch": 0}}, exclude_empty_subplots=False)
    fig.update_xaxes(title_text=_("Epoch"), rangemode="tozero")
    if right_title:
        fig.update_yaxes(title_text=y_title, secondary_y=False)
        fig.update_yaxes(title_text=right_title, secondary_y=True, showgrid=False)
    else:
        fig.update_yaxes(title_text=y_title)
    layout = _layout(fig).to_dict()["layout"]
    return layout, layout.pop("shapes")[0], layout.pop("annotations")[0]


def _live_figure(frame: tuple[dict, dict, dict], traces: list[dict], best: float | None) -> go.Figure:
    layout, line, label = frame
    if best is not None:
        layout = {
            **layout,
            "shapes": [{**line, "x0": best, "x1": best}],
            "annotations": [{**label, "x": best}],
        }
    return go.Figure({"data": traces, "layout": layout}, _validate=False)


@dataclass(frozen=True)
class Series:
    """One curve of a run chart, whoever draws it (Plotly here, ``ui.live_chart`` as SVG).
    ``style``: "faint" (a thin pale line), or "points" (line and markers); ``right``: on the
    secondary axis; ``None`` in ``y`` is a gap."""

    name: str
    color: str
    x: list[float | None]
    y: list[float | None]
    style: str = "points"
    right: bool = False


@dataclass(frozen=True)
class RunChart:
    """What a run chart shows: its curves, axis titles (untranslated) and the best epoch."""

    series: list[Series]
    y_title: str
    right_title: str | None = None
    best_epoch: float | None = None


def loss_chart(s: dict[str, Any]) -> RunChart:
    """Training and Validation Loss: per-step training loss, per-epoch training and validation loss."""
    series = []
    if s["steps"]:
        step_loss = [_num(r.get("train/loss")) for r in _thin(s["steps"])]
        name = _("train loss (running mean in epoch)")
        series.append(Series(name, COLORS[0], _step_x(s), step_loss, style="faint"))
    epochs = [r.get("epoch") for r in s["epochs"]]
    if epochs:
        train = [_num(r.get("train/loss")) for r in s["epochs"]]
        series.append(Series(_("train loss (epoch mean)"), COLORS[0], epochs, train))
        val = [_num(r.get("val/loss")) for r in s["epochs"]]
        series.append(Series(_("validation loss"), COLORS[1], epochs, val))
    return RunChart(series, N_("Loss"), best_epoch=_best_epoch(s))


def metrics_chart(s: dict[str, Any]) -> RunChart:
    """Validation Metrics per epoch; MSE (unbounded, lower is better) gets its own right axis."""
    names = s["metric_names"]
    two_axes = "mse" in names and len(names) > 1
    epochs = [r.get("epoch") for r in s["epochs"]]
    problem_type = run_problem_type(s)
    series = [
        Series(
            metric_title(name, problem_type),
            COLORS[i % len(COLORS)],
            epochs,
            [_num(r.get(f"val/{name}")) for r in s["epochs"]],
            right=two_axes and name == "mse",
        )
        for i, name in enumerate(names)
    ]
    right = N_("MSE (label units²)") if two_axes else None
    return RunChart(series, N_("Metric value"), right, best_epoch=_best_epoch(s))


def _best_epoch(s: dict[str, Any]) -> float | None:
    return _num((s.get("best") or {}).get("epoch"))


def _trace(line: Series) -> dict:
    trace = {"type": "scatter", "x": line.x, "y": line.y, "name": line.name, "line": {"color": line.color}}
    if line.style == "faint":
        trace.update(mode="lines", line={"color": line.color, "width": 1}, opacity=0.35)
    else:
        trace["mode"] = "lines+markers"
    return {**trace, "yaxis": "y2"} if line.right else trace


def figure(chart: RunChart) -> go.Figure:
    """The interactive (Plotly) form of a run chart."""
    frame = _frame(chart.y_title, chart.right_title)
    return _live_figure(frame, [_trace(line) for line in chart.series], chart.best_epoch)


def loss_figure(s: dict[str, Any]) -> go.Figure:
    return figure(loss_chart(s))


def metrics_figure(s: dict[str, Any]) -> go.Figure:
    return figure(metrics_chart(s))


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
    split, _sep, metric = key.partition("/")
    kinds = {run_problem_type(s) for _name, s in runs}
    title = metric_title(metric, kinds.pop() if len(kinds) == 1 else None)
    if split == "val":
        axis = _("Validation loss") if metric == "loss" else _("Validation {metric}").format(metric=title)
    elif split == "train":
        axis = _("Training loss") if metric == "loss" else _("Training {metric}").format(metric=title)
    else:
        axis = key
    fig.update_xaxes(title_text=_("Epoch"), rangemode="tozero")
    fig.update_yaxes(title_text=axis)
    return _layout(fig)


# -- dataset preview --------------------------------------------------------------------------------


def length_histogram(stats: dict[str, Any]) -> go.Figure:
    fig = go.Figure()
    for i, (split, entry) in enumerate(stats.get("splits", {}).items()):
        if entry.get("lengths"):
            fig.add_histogram(
                x=entry["lengths"],
                name=i18n.tr(split),
                opacity=0.55,
                marker_color=COLORS[i % len(COLORS)],
                histnorm="percent",
                xbins={"size": _bin_size(entry["lengths"])},
            )
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(title_text=_("Sequence length (residues)"))
    fig.update_yaxes(title_text=_("Share of the split's sequences (%)"))
    return _layout(fig, _("Sequence lengths"))


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
                fig.add_bar(
                    x=centers, y=counts, width=widths, name=i18n.tr(split), marker_color=color, opacity=0.6
                )
        else:
            keys = list(labels)
            fig.add_bar(
                x=[_class_name(k, names) for k in keys],
                y=[labels[k] for k in keys],
                name=i18n.tr(split),
                marker_color=color,
            )
    fig.update_layout(barmode="overlay" if regression else "group")
    fig.update_xaxes(
        title_text=_("Label value") if regression else _("Class"), type=None if regression else "category"
    )
    fig.update_yaxes(title_text=_("Sequences"))
    return _layout(fig, _("Label distribution"))


def identity_histogram(leak: dict[str, Any], threshold: float) -> go.Figure:
    """Highest identity to train per validation/test protein (related ones), 5% bins."""
    fig = go.Figure()
    for i, (name, entry) in enumerate(leak["splits"].items()):
        values = np.asarray(entry["max_identity"], dtype=np.float64) * 100
        fig.add_histogram(
            x=values[values > 0].round(2).tolist(),
            name=i18n.tr(name),
            opacity=0.6,
            marker_color=COLORS[(i + 1) % len(COLORS)],
            xbins={"start": 0, "end": 100.001, "size": 5},
        )
    fig.add_vline(x=threshold * 100, line_dash="dash", line_color="#b03a2e")
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(title_text=_("Highest identity to a training protein (%)"), range=[0, 101])
    fig.update_yaxes(title_text=_("Proteins"))
    return _layout(fig, _("Identity to the training set"))


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
            hovertemplate=_("true %{y}, predicted %{x}: %{z}") + "<extra></extra>",
        )
    )
    fig.update_xaxes(title_text=_("Predicted class"), type="category")
    fig.update_yaxes(title_text=_("True class"), type="category", autorange="reversed")
    return _layout(fig, _("Confusion matrix (test set)"), height=max(HEIGHT, 28 * n + 120))


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
    fig.add_scatter(
        x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dash", "color": "#aaa"}, name=_("chance")
    )
    classes = [1] if len(probs) == 2 else list(range(len(probs)))
    for i, k in enumerate(classes):
        positives = y == k
        if positives.all() or not positives.any():
            continue  # undefined for this class on this test set
        score = pd.to_numeric(df[f"prob_{k}"], errors="coerce").fillna(0).to_numpy()
        fpr, tpr, _thresholds = roc_curve(positives, score)
        area = auc(fpr, tpr)
        name = (
            _("AUC {auc:.3f}").format(auc=area)
            if len(classes) == 1
            else _("class {k} (AUC {auc:.3f})").format(k=k, auc=area)
        )
        fig.add_scatter(x=fpr, y=tpr, mode="lines", name=name, line={"color": COLORS[i % len(COLORS)]})
    if len(fig.data) == 1:
        return None
    fig.update_xaxes(title_text=_("False positive rate"), range=[0, 1])
    fig.update_yaxes(title_text=_("True positive rate"), range=[0, 1.02])
    fig.update_layout(hovermode="closest")
    return _layout(fig, _("ROC curve (test set)"))


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
        name=_("test sequences"),
        marker={"color": COLORS[0], "opacity": 0.6},
    )
    fig.update_xaxes(title_text=_("True value"))
    fig.update_yaxes(title_text=_("Predicted value"))
    fig.update_layout(hovermode="closest")
    return _layout(fig, _("Predicted vs true (test set)"))
