"""Explore, on the Dataset page after Preview Dataset: Browse (search, filter, sort, page through a
split), Split shift (train vs validation vs test) and Embedding map (the chosen model's mean
embeddings in 2-D). The engine is ``venus_core.explore``, ``split_shift`` and ``embedding_map``;
this module only draws.

The previewed data is kept in the session (``keys.EXPLORE_DATA``: read once, at Preview), the
section is a fragment (a filter reruns the section, not the page) and only the open tab is drawn.
A map is computed in a background thread (``embedding_map.MapJobs``, one per server process):
the page polls its progress every second and can stop it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from ui import charts, explore_charts, i18n, keys, state
from ui.i18n import N_, _, tr
from ui.leakage import same_data
from ui.widgets import show_error
from venus_core import explore, split_shift
from venus_core.embedding_map import MapJobs
from venus_core.errors import VenusError
from venus_core.explore import Explorer, Query
from venus_core.export import safe_csv

VIEWS = (N_("Browse"), N_("Split shift"), N_("Embedding map"))
SORT_NAMES = {"row": N_("file order"), "length": N_("length"), "label": N_("label"), "id": N_("id")}


@st.cache_resource
def map_jobs() -> MapJobs:
    """The embedding maps of this server process (a second tab finds a running one)."""
    return MapJobs()


def keep(cfg: Any, task: Any, report: Any) -> None:
    """After Preview Dataset: the checked data, ready to explore (nothing when it has errors)."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(keys.EXPLORE_PREFIX)]:
        del st.session_state[key]
    st.session_state.pop(keys.EXPLORE_QUERY, None)
    if task is None:
        st.session_state.pop(keys.EXPLORE_DATA, None)
        return
    columns = {s: e.get("columns", []) for s, e in (report.stats or {}).get("splits", {}).items()}
    ids = explore.read_ids(task, columns, cfg.data.sequence_column_name)
    st.session_state[keys.EXPLORE_DATA] = (cfg.data, Explorer(task, ids), task)


def render(report: Any) -> None:
    """The Explore section under the preview of ``report``."""
    held = st.session_state.get(keys.EXPLORE_DATA)
    if held is None or not same_data(held[0], state.cfg().data):
        if not report.errors:
            st.caption(_("Press Preview Dataset again to browse and explore this data."))
        return
    _section(held[1], held[2], report)


@st.fragment
def _section(ex: Explorer, task: Any, report: Any) -> None:
    st.subheader(_("Explore"))
    tabs = st.tabs([_(v) for v in VIEWS], key=keys.EXPLORE_TAB, on_change="rerun")
    for tab, view in zip(tabs, (browse, shift, embedding), strict=True):
        if tab.open is not False:  # only the open tab is computed and sent
            with tab:
                view(ex, task, report)


# -- Browse ----------------------------------------------------------------------------------------


def _query(ex: Explorer) -> Query:
    c1, c2, c3 = st.columns([1, 3, 2])
    split = c1.selectbox(_("Split"), ex.splits, key=keys.EXPLORE_SPLIT, format_func=i18n.now(tr))
    search = c2.text_input(
        _("Search"),
        key=keys.EXPLORE_SEARCH,
        placeholder=_("id, row, subsequence (KKLL) or motif (N[^P][ST], C-x(2)-C)"),
        help=_(
            "An id (the file's row number, or its id column), a subsequence, a regular expression "
            "or a PROSITE pattern. Press Enter to search."
        ),
    )
    labels, values = (), None
    if ex.problem_type == "regression":
        bounds = ex.value_bounds()
        if bounds and bounds[1] > bounds[0]:
            values = c3.slider(_("Label range"), bounds[0], bounds[1], bounds, key=keys.EXPLORE_VALUES)
    else:
        labels = tuple(
            c3.multiselect(
                _("Labels"),
                ex.classes(),
                key=keys.EXPLORE_LABELS,
                format_func=ex.class_name,
                placeholder=_("all labels"),
            )
        )
    c4, c5, c6 = st.columns([3, 1, 1], vertical_alignment="bottom")
    lo, hi = ex.length_bounds()
    length = None
    if hi > lo:
        length = c4.slider(_("Length (residues)"), lo, hi, (lo, hi), key=keys.EXPLORE_LENGTH)
        length = None if tuple(length) == (lo, hi) else tuple(length)
    sorts = [s for s in explore.SORTS if s != "id" or ex.has_ids]
    sort = c5.selectbox(
        _("Sort by"), sorts, key=keys.EXPLORE_SORT, format_func=i18n.now(lambda s: _(SORT_NAMES[s]))
    )
    descending = c6.toggle(_("Descending"), key=keys.EXPLORE_DESCENDING)
    values = None if values is None or tuple(values) == bounds else tuple(values)
    return Query(split, search, labels, values, length, sort, descending)


def browse(ex: Explorer, task: Any, report: Any) -> None:
    query = _query(ex)
    try:
        matches = ex.matches(query)
    except VenusError as e:
        show_error(e)
        return
    if st.session_state.get(keys.EXPLORE_QUERY) != query:  # a new question starts at page 1
        st.session_state[keys.EXPLORE_QUERY] = query
        st.session_state[keys.EXPLORE_PAGE] = 1
    total = len(ex.table(query.split))
    pages = matches.pages()
    c1, c2, c3 = st.columns([4, 1, 1], vertical_alignment="bottom")
    said = _("**{n:,}** of {total:,} {split} sequences match.").format(
        n=len(matches), total=total, split=tr(query.split)
    )
    if matches.search_kind:
        said = _("{matches} ({kind})").format(matches=said, kind=tr(matches.search_kind))
    c1.markdown(said)
    page_no = c2.number_input(
        _("Page (of {pages:,})").format(pages=pages),
        min_value=1,
        max_value=pages,
        step=1,
        key=keys.EXPLORE_PAGE,
    )
    c3.download_button(
        _("Matching rows"),
        data=lambda: ex.rows_csv(matches),
        file_name=f"{query.split}-rows.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key="explore_rows_csv",
        help=_("Every matching row (all pages), whole sequences, as CSV."),
    )
    rows = ex.page(matches, int(page_no))
    signature = abs(hash((query, int(page_no)))) % 10**12
    event = st.dataframe(
        rows,
        key=f"{keys.EXPLORE_TABLE}-{signature}",
        on_select="rerun",
        selection_mode="single-row",
        hide_index=True,
        width="stretch",
        column_order=[c for c in rows.columns if c != "position"],
        column_config={
            "row": st.column_config.NumberColumn(_("Row"), help=_("Row in the source file"), format="%d"),
            "id": st.column_config.TextColumn(_("Id")),
            "length": st.column_config.NumberColumn(_("Length"), format="%d"),
            "label": st.column_config.TextColumn(_("Label")),
            "sequence": st.column_config.TextColumn(_("Sequence"), width="large"),
        },
    )
    chosen = event.selection.rows if event is not None else []
    if not chosen:
        st.caption(
            _("{n} rows per page. Select a row to see its whole sequence.").format(n=explore.PAGE_SIZE)
        )
        return
    _record(ex.record(query.split, int(rows["position"].iloc[chosen[0]]), matches.pattern))


def _record(rec: dict[str, Any]) -> None:
    with st.container(border=True):
        st.markdown(
            _("**{id}** · {split} row {row} · {length:,} residues · label **{label}**").format(
                id=rec["id"], split=tr(rec["split"]), row=rec["row"], length=rec["length"], label=rec["label"]
            )
        )
        hits = rec.get("hits")
        if hits:
            shown = ", ".join(f"{h:,}" for h in hits[:20]) + (" …" if len(hits) > 20 else "")
            st.caption(_("The search matches at residue {residues}.").format(residues=shown))
        st.code(rec["aa_seq"], language=None, wrap_lines=True)


# -- Split shift -----------------------------------------------------------------------------------


def _csv(frame: pd.DataFrame, name: str, index: bool = False) -> None:
    st.download_button(
        _("CSV"),
        data=safe_csv(frame.reset_index() if index else frame),
        file_name=f"{name}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key=f"csv-{name}",
        help=_("The numbers of this chart as CSV (the chart's toolbar saves a PNG)."),
    )


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    """The summary as text: numbers rounded, "—" where a comparison does not apply (train against
    itself), not the grid's grey "None"."""
    digits = {N_("median length"): 0, N_("mean length"): 1, N_("sequences"): 0}

    def cell(value: Any, column: str) -> str:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return "—"
        d = digits.get(column, 0 if "identical" in column else 3)
        return f"{value:,.{d}f}"

    # The headers and split names in the session's language (the CSV download keeps them English).
    return pd.DataFrame(
        {
            tr(c): [tr(v) for v in table[c]] if c == "split" else [cell(v, c) for v in table[c]]
            for c in table.columns
        }
    )


def shift(ex: Explorer, task: Any, report: Any) -> None:
    leak = (report.stats or {}).get("leakage")
    table = split_shift.summary(ex, leak)
    st.markdown(_("**Each split against train**"))
    st.dataframe(_shown(table), hide_index=True, width="stretch")
    st.caption(
        _(
            "Distances to train: length KS = the largest gap between the two length distributions "
            "(Kolmogorov-Smirnov statistic); label and composition distance = the share of the "
            "distribution that would have to move to match train (total variation). 0 means the same, "
            "1 disjoint; above ~0.1 the split differs noticeably."
        )
    )
    _csv(table, "split-summary")
    c1, c2 = st.columns(2)
    with c1:
        bins = split_shift.length_bins(ex)
        st.plotly_chart(
            explore_charts.length_shift(bins), key="shift-length", config=explore_charts.toolbar("lengths")
        )
        _csv(bins, "length-distribution")
    with c2:
        shares = split_shift.label_shares(ex)
        figure = explore_charts.label_shift(shares, ex.problem_type == "regression")
        st.plotly_chart(figure, key="shift-labels", config=explore_charts.toolbar("labels"))
        _csv(shares, "label-distribution")
    comp = split_shift.composition(ex)
    st.plotly_chart(
        explore_charts.composition_heatmap(comp),
        key="shift-composition",
        config=explore_charts.toolbar("composition"),
    )
    _csv(comp.round(4), "amino-acid-composition", index=True)
    if leak:
        threshold = leak.get("threshold", state.cfg().data.leakage_identity)
        st.plotly_chart(
            charts.identity_histogram(leak, threshold),
            key="shift-leakage",
            config=explore_charts.toolbar("identity-to-train"),
        )
        rows = [
            {"split": s, "row": r, "max_identity": i, "train_row": t}
            for s, e in leak["splits"].items()
            for r, i, t in zip(e["rows"], e["max_identity"], e["train_row"], strict=True)
        ]
        _csv(pd.DataFrame(rows), "identity-to-train")
    else:
        st.caption(
            _("Homology leakage: not computed (turn on the leakage report under Splits and homology).")
        )


# -- Embedding map ---------------------------------------------------------------------------------


def embedding(ex: Explorer, task: Any, report: Any) -> None:
    from ui.explore_map import embedding_view

    embedding_view(ex, task, map_jobs())
