"""The leakage report on the Dataset page: a progress bar while the check aligns proteins, then a
histogram of each validation/test protein's highest identity to train, the near-duplicate
threshold and the counts above it (``venus_core.leakage`` computes them)."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import streamlit as st

from ui import charts, keys, state
from ui.widgets import bound
from venus_core import leakage, vocab
from venus_core.config import DataConfig
from venus_core.doctor import Report

THRESHOLD_KEY = keys.field_key("leakage_identity")


class ProgressBar:
    """``progress(done, total, stage)`` for ``doctor.check``: one bar and a Stop button, drawn on
    the first call (a check without alignment shows neither). Any click reruns the page, which
    interrupts the check at its next update."""

    def __init__(self) -> None:
        self.bar = st.empty()
        self.stop = st.empty()
        self.last = 0.0

    def __call__(self, done: int, total: int, stage: str) -> None:
        now = time.monotonic()
        if 0 < done < total and now - self.last < 0.3:  # the browser needs no more than ~3 updates/s
            return
        if self.last == 0.0:
            self.stop.button("Stop", key="stop_check", icon=":material/stop:")
        self.last = now
        self.bar.progress(done / max(total, 1), text=f"{stage}: {done:,} of {total:,} proteins")

    def clear(self) -> None:
        self.bar.empty()
        self.stop.empty()


def split_settings() -> None:
    """How splits are made (random or by homology) and whether the check reports leakage."""
    d = state.cfg().data
    with st.expander("Splits and homology", expanded=d.split_method != "random"):
        c1, c2 = st.columns(2)
        with c1:
            bound(
                "split_method",
                st.selectbox,
                "Split method",
                options=list(vocab.SPLIT_METHODS),
                format_func=lambda m: {"random": "random", "homology": "by homology (clusters)"}[m],
            )
        with c2:
            if state.cfg().data.split_method == "homology":
                bound(
                    "split_identity",
                    st.slider,
                    "Split identity",
                    min_value=1,
                    max_value=100,
                    step=1,
                    format="%d%%",
                    to_widget=lambda v: int(round(v * 100)),
                    from_widget=lambda v: v / 100,
                )
        bound("leakage_report", st.checkbox, "Report each validation/test protein's identity to train")


def same_data(previewed: DataConfig, current: DataConfig) -> bool:
    """Whether a preview still describes the data: the threshold only changes the counts."""
    return dataclasses.replace(previewed, leakage_identity=current.leakage_identity) == current


def render(report: Report) -> None:
    """The leakage section of a preview (nothing when the report was not computed)."""
    leak = report.stats.get("leakage")
    if not leak:
        if not state.cfg().data.leakage_report:
            st.caption("Leakage report off (leakage_report): identity to train was not computed.")
        return
    st.markdown("**Homology leakage: each protein's highest identity to a training protein**")
    bound(
        "leakage_identity",
        st.slider,
        "Near-duplicate threshold",
        min_value=1,
        max_value=100,
        step=1,
        format="%d%%",
        to_widget=lambda v: int(round(v * 100)),
        from_widget=lambda v: v / 100,
        # Before the rerun draws the warnings: they follow the new threshold at once.
        on_change=lambda: leakage.set_threshold(report, st.session_state[THRESHOLD_KEY] / 100),
    )
    threshold = state.cfg().data.leakage_identity
    if leak.get("threshold") != threshold:
        leakage.set_threshold(report, threshold)
    splits = leak["splits"]
    cols = st.columns(len(splits))
    for col, (name, entry) in zip(cols, splits.items(), strict=True):
        n = leakage.counts(entry["max_identity"], threshold)
        col.metric(f"{name.capitalize()} ≥ {threshold:.0%} identical", f"{n:,} of {len(entry['rows']):,}")
    for name, entry in splits.items():
        n = leakage.counts(entry["max_identity"], threshold)
        if n:
            st.warning(
                f"**{n:,} {name} protein(s)** are at least {threshold:.0%} identical to a training protein: "
                f"{name} scores will be too optimistic. Split by homology (split_method homology) to "
                "keep similar proteins in one split.",
                icon=":material/content_copy:",
            )
    st.plotly_chart(charts.identity_histogram(leak, threshold), width="stretch", key="leakage-hist")
    unrelated = ", ".join(
        f"{name} {int((np.asarray(e['max_identity']) == 0).sum()):,}" for name, e in splits.items()
    )
    how = "read from the cache" if leak["cached"] else f"computed in {leak['seconds']:.1f} s"
    st.caption(
        f"Identity: {leak['identity']}. Proteins with no related training protein (not plotted): "
        f"{unrelated}. {leak['method'].capitalize()}; {how}."
    )
