"""The leakage report on the Dataset page: a progress bar while the check aligns proteins, then a
histogram of each validation/test protein's highest identity to train, the near-duplicate
threshold and the counts above it (``venus_core.leakage`` computes them)."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import streamlit as st

from ui import charts, i18n, keys, state
from ui.i18n import _, tr
from ui.widgets import bound
from venus_core import leakage, vocab
from venus_core.config import DataConfig
from venus_core.report import Report

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
            self.stop.button(_("Stop"), key="stop_check", icon=":material/stop:")
        self.last = now
        self.bar.progress(
            done / max(total, 1),
            text=_("{stage}: {done:,} of {total:,} proteins").format(stage=tr(stage), done=done, total=total),
        )

    def clear(self) -> None:
        self.bar.empty()
        self.stop.empty()


def split_settings() -> None:
    """How splits are made (random or by homology) and whether the check reports leakage."""
    d = state.cfg().data
    with st.expander(_("Splits and homology"), expanded=d.split_method != "random"):
        c1, c2 = st.columns(2)
        with c1:
            bound(
                "split_method",
                st.selectbox,
                _("Split method"),
                options=list(vocab.SPLIT_METHODS),
                format_func=lambda m: {"random": "random", "homology": _("by homology (clusters)")}[m],
            )
        with c2:
            if state.cfg().data.split_method == "homology":
                percent_slider("split_identity", _("Split identity"))
        bound("leakage_report", st.checkbox, _("Report each validation/test protein's identity to train"))


def percent_slider(name: str, label: str, **kwargs) -> None:
    """An identity option (a fraction in the config) as a 1-100% slider."""
    bound(
        name,
        st.slider,
        label,
        min_value=1,
        max_value=100,
        step=1,
        format="%d%%",
        to_widget=lambda v: int(round(v * 100)),
        from_widget=lambda v: v / 100,
        **kwargs,
    )


def same_data(previewed: DataConfig, current: DataConfig) -> bool:
    """Whether a preview still describes the data: the threshold only changes the counts."""
    return dataclasses.replace(previewed, leakage_identity=current.leakage_identity) == current


def render(report: Report) -> None:
    """The leakage section of a preview (nothing when the report was not computed)."""
    leak = report.stats.get("leakage")
    if not leak:
        if not state.cfg().data.leakage_report:
            st.caption(_("Leakage report off (leakage_report): identity to train was not computed."))
        return
    st.markdown(_("**Homology leakage: each protein's highest identity to a training protein**"))
    percent_slider(
        "leakage_identity",
        _("Near-duplicate threshold"),
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
        col.metric(
            _("{split} ≥ {threshold:.0%} identical").format(split=split_title(name), threshold=threshold),
            _("{n:,} of {total:,}").format(n=n, total=len(entry["rows"])),
        )
    for name, entry in splits.items():
        n = leakage.counts(entry["max_identity"], threshold)
        if n:
            st.warning(
                _(
                    "**{n:,} {split} protein(s)** are at least {threshold:.0%} identical to a training "
                    "protein: {split} scores will be too optimistic. Split by homology (split_method "
                    "homology) to keep similar proteins in one split."
                ).format(n=n, split=tr(name), threshold=threshold),
                icon=":material/content_copy:",
            )
    st.plotly_chart(charts.identity_histogram(leak, threshold), width="stretch", key="leakage-hist")
    unrelated = i18n.join(
        [
            _("{split} {n:,}").format(split=tr(name), n=int((np.asarray(e["max_identity"]) == 0).sum()))
            for name, e in splits.items()
        ]
    )
    how = (
        _("read from the cache")
        if leak["cached"]
        else _("computed in {seconds:.1f} s").format(seconds=leak["seconds"])
    )
    st.caption(
        _(
            "Identity: {identity}. Proteins with no related training protein (not plotted): {unrelated}. "
            "{method}; {how}."
        ).format(
            identity=tr(leak["identity"]),
            unrelated=unrelated,
            method=_sentence_case(tr(leak["method"])),
            how=how,
        )
    )


def split_title(name: str) -> str:
    """A split's name as a title: ``Train``, ``Validation``, ``Test`` (others as they are)."""
    if name == "train":
        return i18n.pgettext("split", "Train")
    if name == "validation":
        return i18n.pgettext("split", "Validation")
    if name == "test":
        return i18n.pgettext("split", "Test")
    return name


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]
