"""Plotly figures of the Explore views (split shift, embedding map), from the plain frames that
``venus_core.split_shift`` and ``venus_core.embedding_map`` return. Binned on the server: a figure
carries at most a few thousand numbers (the map: one point per plotted protein)."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.colors import qualitative

from ui.charts import COLORS, HEIGHT, _layout
from ui.i18n import _, tr
from venus_core.split_shift import OTHER

# Plotly's toolbar saves a PNG; this names the file and doubles its resolution.
TOOLBAR = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}
MAX_COLOUR_GROUPS = 24  # more label values than this: the rarest share one colour ("other")
CATEGORY_COLORS = qualitative.Dark24


def toolbar(name: str) -> dict:
    return {**TOOLBAR, "toImageButtonOptions": {**TOOLBAR["toImageButtonOptions"], "filename": name}}


def split_color(i: int) -> str:
    return COLORS[i % len(COLORS)]


def length_shift(bins) -> go.Figure:
    """% of each split's sequences per length bin, overlaid."""
    fig = go.Figure()
    centers = ((bins["start"] + bins["end"] + 1) / 2).tolist()
    width = float((bins["end"] - bins["start"] + 1).iloc[0]) if len(bins) else 1.0
    for i, split in enumerate(c for c in bins.columns if c not in ("start", "end")):
        fig.add_bar(
            x=centers,
            y=bins[split].round(3).tolist(),
            width=width,
            name=tr(split),
            opacity=0.55,
            marker_color=split_color(i),
            customdata=bins[["start", "end"]].to_numpy(),
            hovertemplate=_("%{customdata[0]}-%{customdata[1]} residues: %{y:.2f}%")
            + "<extra>"
            + tr(split)
            + "</extra>",
        )
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(title_text=_("Sequence length (residues)"))
    fig.update_yaxes(title_text=_("Share of the split's sequences (%)"))
    return _layout(fig, _("Length distribution per split"))


def label_shift(shares, regression: bool) -> go.Figure:
    """% of each split per label bin (regression: overlaid bars), or per class (horizontal grouped
    bars, one row per class, so that many classes and long class names stay readable)."""
    fig = go.Figure()
    splits = [c for c in shares.columns if c not in ("class", "name", "start", "end")]
    if regression:
        centers = ((shares["start"] + shares["end"]) / 2).tolist()
        width = float((shares["end"] - shares["start"]).iloc[0]) if len(shares) else 1.0
        for i, split in enumerate(splits):
            fig.add_bar(
                x=centers, y=shares[split].round(3).tolist(), width=width, opacity=0.55, name=tr(split)
            )
            fig.data[-1].marker.color = split_color(i)
        fig.update_layout(barmode="overlay")
        fig.update_xaxes(title_text=_("Label value"))
        fig.update_yaxes(title_text=_("Share of the split's sequences (%)"))
        return _layout(fig, _("Label distribution per split"))
    names = [str(n) for n in shares["name"]]
    for i, split in enumerate(splits):
        fig.add_bar(
            y=names,
            x=shares[split].round(3).tolist(),
            name=tr(split),
            orientation="h",
            marker_color=split_color(i),
            hovertemplate="%{y}: %{x:.2f}%<extra>" + tr(split) + "</extra>",
        )
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text=_("Share of the split's sequences (%)"))
    fig.update_yaxes(
        type="category",
        autorange="reversed",
        tickvals=names,
        ticktext=[_short(n) for n in names],
    )
    fig = _layout(
        fig, _("Label distribution per split"), height=max(HEIGHT, 90 + 14 * len(splits) * len(names))
    )
    fig.update_layout(hovermode="closest")
    return fig


def _short(name: str, limit: int = 28) -> str:
    """A class name short enough for an axis (the hover shows it whole)."""
    return name if len(name) <= limit else name[: limit - 1] + "…"


def composition_heatmap(comp) -> go.Figure:
    """Splits x amino acids, % of the split's residues, with the difference to train on hover."""
    z = comp.to_numpy()
    base = comp.loc["train"].to_numpy() if "train" in comp.index else z[0]
    fig = go.Figure(
        go.Heatmap(
            z=z.round(3).tolist(),
            x=[tr(c) if c == OTHER else c for c in comp.columns],  # amino acids, and other
            y=[tr(s) for s in comp.index],
            text=[[f"{v:.1f}" for v in row] for row in z],
            texttemplate="%{text}",
            customdata=(z - base).round(3).tolist(),
            hovertemplate=_("%{y}, %{x}: %{z:.2f}% of residues (%{customdata:+.2f} points vs train)")
            + "<extra></extra>",
            colorscale="Blues",
            colorbar={"title": {"text": "%"}},
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text=_("Amino acid"), type="category")
    fig.update_layout(hovermode="closest")
    return _layout(fig, _("Amino-acid composition (% of residues)"), height=220 + 30 * len(comp))


def embedding_scatter(points, axes: tuple[str, str], colour: str, regression: bool) -> go.Figure:
    """One marker per protein; ``points`` has x, y, split, id, length, label (+ value when
    regression). ``colour``: "label" or "split"; regression labels get a continuous scale."""
    fig = go.Figure()
    hover = _(
        "<b>%{customdata[0]}</b><br>%{customdata[1]} · %{customdata[2]} residues<br>label %{customdata[3]}"
    )
    custom = ["id", "split", "length", "label"]
    if colour == "label" and regression:
        fig.add_scattergl(
            x=points["x"].tolist(),
            y=points["y"].tolist(),
            mode="markers",
            name=_("proteins"),
            customdata=points[custom].to_numpy().tolist(),
            hovertemplate=hover + "<extra></extra>",
            marker={
                "size": 6,
                "color": points["value"].tolist(),
                "colorscale": "Viridis",
                "showscale": True,
                "colorbar": {"title": {"text": _("label")}},
                "opacity": 0.8,
            },
        )
    else:
        groups = _groups(points, colour)
        for i, (name, part) in enumerate(groups):
            fig.add_scattergl(
                x=part["x"].tolist(),
                y=part["y"].tolist(),
                mode="markers",
                name=name,
                customdata=part[custom].to_numpy().tolist(),
                hovertemplate=hover + "<extra></extra>",
                marker={
                    "size": 6,
                    "opacity": 0.75,
                    "color": split_color(i) if colour == "split" else _category_color(i),
                },
            )
    fig.update_xaxes(title_text=tr(axes[0]), zeroline=False)
    fig.update_yaxes(title_text=tr(axes[1]), zeroline=False)
    fig = _layout(fig, None, height=max(HEIGHT, 560))
    fig.update_layout(
        hovermode="closest",
        legend={
            "orientation": "v",
            "yanchor": "top",
            "y": 0.9,  # below Plotly's toolbar, which would hide the first entry
            "x": 1.02,
            "xanchor": "left",
            "title": {"text": tr(colour)},
        },
    )
    return fig


def _groups(points, colour: str) -> list[tuple[str, object]]:
    """(name, rows) per colour group: splits in order, labels by size (rarest ones as "other")."""
    col = "split" if colour == "split" else "label"
    if col == "split":
        return [(tr(s), points[points["split"] == s]) for s in dict.fromkeys(points["split"])]
    counts = points["label"].value_counts()
    if len(counts) <= MAX_COLOUR_GROUPS:
        return [(str(k), points[points["label"] == k]) for k in sorted(counts.index, key=_label_order)]
    kept = list(counts.index[: MAX_COLOUR_GROUPS - 1])
    out = [(str(k), points[points["label"] == k]) for k in sorted(kept, key=_label_order)]
    return [*out, (_("other"), points[~points["label"].isin(kept)])]


def _label_order(label: str) -> tuple:
    head = str(label).split(":", 1)[0].split(",", 1)[0]
    return (0, int(head), str(label)) if head.strip().isdigit() else (1, 0, str(label))


def _category_color(i: int) -> str:
    return CATEGORY_COLORS[i % len(CATEGORY_COLORS)]
