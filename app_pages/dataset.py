"""Dataset: predefined / custom hub dataset / uploaded files; task settings; Preview Dataset."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from ui import charts, explore, i18n, keys, leakage, state
from ui.i18n import N_, _, tr
from ui.widgets import bound, file_uploader, fmt_value, issue_text, metric_title, show_error
from venus_core import columns, datasets, vocab
from venus_core import explore as explore_data
from venus_core.errors import VenusError
from venus_core.report import Report

st.title(_("Dataset"))
st.caption(
    _(
        "Choose the proteins to learn from. Every dataset has an amino-acid sequence column and a label "
        "column, split into train, validation and test."
    )
)

# The modes' values are their English names (kept in the session); shown with ``_``.
PREDEFINED, CUSTOM, UPLOAD = N_("Use Pre-defined Dataset"), N_("Use Custom Dataset"), N_("Upload Local Files")
SPLIT_FIELDS = ("train_file", "valid_file", "test_file")
TASK_RESET = dict(
    problem_type=None,
    num_labels=None,
    metrics=(),
    monitor=None,
    monitor_strategy=None,
    normalize=None,
    multi_label_format="indices",
    sequence_column_name="aa_seq",
    label_column_name="label",
)
entries = {e.name: e for e in datasets.catalogue_entries()}
LABEL_FORMATS = {"indices": N_('Class indices, e.g. "0,3"'), "multi_hot": N_('Multi-hot, e.g. "1,0,0,1"')}


def current_mode() -> str:
    d = state.cfg().data
    if d.train_file:
        return UPLOAD
    if st.session_state.get(keys.DATASET_MODE_CHOICE) == UPLOAD and not d.dataset:
        return UPLOAD  # chosen, no file uploaded yet
    if d.dataset is None or d.dataset in entries:
        return PREDEFINED if d.dataset else CUSTOM
    return CUSTOM


def on_mode_change() -> None:
    mode = st.session_state[keys.DATASET_MODE]
    st.session_state[keys.DATASET_MODE_CHOICE] = mode
    d = state.cfg().data
    if mode == PREDEFINED:
        name = d.dataset if d.dataset in entries else next(iter(entries))
        state.update(dataset=name, train_file=None, valid_file=None, test_file=None, **TASK_RESET)
    elif mode == CUSTOM:
        keep = d.dataset if d.dataset not in entries else None
        state.update(
            dataset=keep,
            train_file=None,
            valid_file=None,
            test_file=None,
            problem_type=d.problem_type or "single_label_classification",
        )
    else:
        state.update(dataset=None, problem_type=d.problem_type or "single_label_classification")


def on_dataset_pick() -> None:
    state.update(dataset=st.session_state[keys.PREDEFINED], **TASK_RESET)


def on_problem_type_change() -> None:
    """A new problem type: keep only the metrics valid for it (its defaults when none remain)."""
    problem_type = st.session_state[keys.field_key("problem_type")]
    kept = tuple(m for m in state.cfg().data.metrics if problem_type in vocab.METRICS[m].problem_types)
    values: dict = {"problem_type": problem_type, "metrics": kept or vocab.DEFAULT_METRICS[problem_type]}
    if problem_type == "regression":
        values["num_labels"] = 1
    elif (state.cfg().data.num_labels or 0) < 2:
        values["num_labels"] = None
    if problem_type != "multi_label_classification":
        values["multi_label_format"] = "indices"  # multi-hot means something only for multi-label
    state.update(**values)


def data_sample() -> pd.DataFrame | None:
    """The first rows of the training file, when the data is a file or a local folder (for the
    column choices); None for a hub dataset, which is only read at Preview and Start."""
    d = state.cfg().data
    path = d.train_file or d.dataset
    if not path:
        return None
    p = Path(path).expanduser()
    if p.is_dir():
        p = next((f for f in sorted(p.iterdir()) if columns.split_of(f) == "train"), p)
    return columns.file_columns(p) if p.is_file() else None


def column_mapping(sample: pd.DataFrame | None) -> None:
    """Sequence and label columns: a choice among the file's own columns, with a good guess."""
    cfg = state.cfg()
    if sample is None:
        with st.expander(
            _("Column mapping"),
            expanded=cfg.data.sequence_column_name != "aa_seq" or cfg.data.label_column_name != "label",
        ):
            st.caption(_("Only needed when the dataset names its columns differently."))
            m1, m2 = st.columns(2)
            with m1:
                bound("sequence_column_name", st.text_input)
            with m2:
                bound("label_column_name", st.text_input)
        return
    found = [str(c) for c in sample.columns]
    guess_seq = columns.guess_sequence_column(sample)
    guess_label = columns.guess_label_column(sample, cfg.data.sequence_column_name)
    fixes = {}
    if cfg.data.sequence_column_name not in found and guess_seq:
        fixes["sequence_column_name"] = guess_seq
    if cfg.data.label_column_name not in found and guess_label:
        fixes["label_column_name"] = guess_label
    if fixes:
        state.update(**fixes)
    m1, m2 = st.columns(2)
    for col, name in ((m1, "sequence_column_name"), (m2, "label_column_name")):
        with col:
            bound(
                name,
                st.selectbox,
                key=keys.field_key(name) + "@choice",  # not the text box's key: another widget type
                options=found,
                index=None,
                placeholder=_("choose the column"),
                to_widget=lambda v: v if v in found else None,
                from_widget=lambda v, n=name: v if v is not None else state.cfg().get(n),
            )
    st.caption(_("The file's columns: {columns}.").format(columns=", ".join(found)))


def task_settings(sample: pd.DataFrame | None) -> None:
    """Problem Type, Number of Labels, Metrics and column mapping for custom and uploaded data."""
    c1, c2 = st.columns(2)
    with c1:
        bound(
            "problem_type",
            st.selectbox,
            options=list(vocab.PROBLEM_TYPES),
            on_change=on_problem_type_change,
            to_widget=lambda v: v or "single_label_classification",
        )
    problem_type = state.cfg().data.problem_type or "single_label_classification"
    with c2:
        if problem_type == "regression":
            st.number_input(
                _("Number of Labels"),
                value=1,
                disabled=True,
                key="num_labels_regression",
                help=_("Regression predicts one value."),
            )
        else:
            bound(
                "num_labels",
                st.number_input,
                min_value=2,
                step=1,
                value=None,
                placeholder=_("inferred from the labels"),
            )
    if problem_type == "multi_label_classification":
        bound(
            "multi_label_format",
            st.radio,
            options=list(vocab.MULTI_LABEL_FORMATS),
            format_func=lambda f: _(LABEL_FORMATS[f]),
            horizontal=True,
        )
    valid = [m for m, spec in vocab.METRICS.items() if problem_type in spec.problem_types]
    bound(
        "metrics",
        st.multiselect,
        options=valid,
        format_func=lambda m: metric_title(m, problem_type),
        to_widget=lambda v: [m for m in (v or vocab.DEFAULT_METRICS[problem_type]) if m in valid],
        placeholder=_("the problem type's default metrics"),
    )
    column_mapping(sample)


def predefined() -> None:
    names = list(entries)
    if st.session_state.get(keys.PREDEFINED) not in names:
        st.session_state[keys.PREDEFINED] = (
            state.cfg().data.dataset if state.cfg().data.dataset in names else names[0]
        )
    if state.cfg().data.dataset != st.session_state[keys.PREDEFINED]:
        state.update(dataset=st.session_state[keys.PREDEFINED], **TASK_RESET)

    def label(name: str) -> str:
        e = entries[name]
        where = _("offline demo") if e.source == "demo" else _("Hugging Face hub")
        return f"{name} · {e.problem_type} · {where}"

    name = st.selectbox(
        _("Dataset Configuration"),
        names,
        key=keys.PREDEFINED,
        format_func=i18n.now(label),
        on_change=on_dataset_pick,
        help=_("Problem type, number of labels and metrics are loaded with the dataset."),
    )
    e = entries[name]
    if e.description:
        st.markdown(tr(e.description))
    info = {
        _("Problem type"): e.problem_type,
        _("Number of labels"): str(e.num_labels),
        _("Metrics"): i18n.join([metric_title(m, e.problem_type) for m in e.metrics]),
        _("Best epoch chosen by"): _("validation {metric} ({direction})").format(
            metric=metric_title(e.monitor, e.problem_type), direction=e.monitor_strategy
        ),
        _("Source"): _("embedded, works offline")
        if e.source == "demo"
        else _("{dataset} on the Hugging Face hub").format(dataset=e.dataset),
    }
    if e.structure_source:
        info[_("Structure sequences")] = _("foldseek_seq and ss8_seq from {source}").format(
            source=e.structure_source
        )
    st.dataframe(
        pd.DataFrame({_("Setting"): list(info), _("Value"): list(info.values())}),
        hide_index=True,
        width="stretch",
    )
    if e.source == "demo" and not e.available_offline:
        st.warning(_("The demo files are not set up yet: run `make setup` once with internet access."))
    elif e.source != "demo":
        st.caption(_("Downloaded from the Hugging Face hub on first use (needs internet once)."))


def custom() -> None:
    bound(
        "dataset",
        st.text_input,
        _("Custom Dataset Path"),
        placeholder=_("user/dataset_name or /path/to/folder"),
        from_widget=lambda v: (v or "").strip() or None,
        to_widget=lambda v: v or "",
    )
    st.caption(
        _(
            "A Hugging Face dataset with train, validation and test splits, or a local folder with "
            "train/validation/test files (CSV, TSV, Parquet, JSON lines)."
        )
    )
    task_settings(data_sample())


def upload() -> None:
    files = file_uploader(
        _("Upload dataset files"),
        ["csv", "tsv", "parquet"],
        accept_multiple_files=True,
        key=keys.UPLOADER,
        help=_(
            "One file is split into train/validation/test automatically (seeded, stratified). With several "
            "files, name them train/validation/test or assign them below. Files stay on this machine, in "
            "the save directory's _uploads folder."
        ),
    )
    saved = st.session_state.setdefault(keys.UPLOADED, {})
    for f in files or []:
        if f.file_id not in saved:
            try:
                saved[f.file_id] = str(state.save_upload(f.name, f.getvalue()))
            except (OSError, ValueError) as e:
                show_error(e)
    # Files the user removed from the box are no longer the data. (After a reload the box is empty
    # but nothing was removed: the settings keep their files, listed below.)
    removed = [saved.pop(i) for i in [i for i in saved if i not in {f.file_id for f in files or []}]]
    dropped = {x: None for x in SPLIT_FIELDS if state.cfg().get(x) in removed}
    if dropped:
        state.update(**dropped)
    current = [saved[f.file_id] for f in files or [] if f.file_id in saved]
    if current and not any(state.cfg().get(x) in current for x in SPLIT_FIELDS):
        state.update(**columns.assign_splits(current))  # by the files' names, as the loader does
    known = sorted({*current, *(p for x in SPLIT_FIELDS if (p := state.cfg().get(x)))})
    if known:
        none = _("(none: split from the training file)")
        for col, name in zip(st.columns(3), SPLIT_FIELDS, strict=True):
            with col:
                options = known if name == "train_file" else [None, *known]
                bound(
                    name,
                    st.selectbox,
                    options=options,
                    format_func=lambda p: none if p is None else Path(p).name,
                    placeholder=none,  # a None value is shown as the placeholder
                    to_widget=lambda v, o=options: v if v in o else o[0],
                )
    else:
        st.caption(_("No file uploaded yet."))
    task_settings(data_sample() if known else None)


# -- Dataset Selection ------------------------------------------------------------------------------
if keys.DATASET_MODE not in st.session_state:
    st.session_state[keys.DATASET_MODE] = current_mode()
mode = st.radio(
    _("Dataset Selection"),
    [PREDEFINED, CUSTOM, UPLOAD],
    key=keys.DATASET_MODE,
    format_func=i18n.now(_),
    horizontal=True,
    on_change=on_mode_change,
    help=_(
        "A dataset from the catalogue, a Hugging Face dataset (user/name) or a local folder, or files you "
        "upload."
    ),
)
with st.container(border=True):
    {PREDEFINED: predefined, CUSTOM: custom, UPLOAD: upload}[mode]()


leakage.split_settings()


# -- Preview Dataset -------------------------------------------------------------------------------
def show_report(report: Report) -> None:
    stats = report.stats or {}
    splits = stats.get("splits", {})
    if splits:
        cols = st.columns(len(splits) + 2)
        for col, (split, entry) in zip(cols, splits.items(), strict=False):
            col.metric(
                _("{split} sequences").format(split=leakage.split_title(split)), f"{entry.get('n', 0):,}"
            )
        cols[-2].metric(_("Errors"), report.n_errors)
        cols[-1].metric(_("Warnings"), report.n_warnings)
        facts = []
        if stats.get("problem_type"):
            facts.append(_("problem type **{problem_type}**").format(problem_type=stats["problem_type"]))
        if stats.get("num_labels") is not None:
            facts.append(_("**{n}** labels").format(n=stats["num_labels"]))
        derived = stats.get("derived") or {}
        if derived:
            facts.append(_("split: {how}").format(how="; ".join(sorted({tr(v) for v in derived.values()}))))
        if facts:
            st.markdown(" · ".join(facts))
    if report.errors:
        st.error(
            _("**{n} problem(s) to fix before training**").format(n=report.n_errors), icon=":material/error:"
        )
        for issue in report.errors:
            st.markdown(f"- {issue_text(issue)}")
    if report.warnings:
        with st.expander(_("{n} warning(s)").format(n=report.n_warnings), expanded=not report.errors):
            for issue in report.warnings:
                st.markdown(f"- {issue_text(issue)}")
    if splits:
        show_distributions(stats, splits, report)
    elif not report.errors:
        st.info(_("The dataset has no rows to preview."))


def show_distributions(stats: dict, splits: dict, report: Report) -> None:
    c1, c2 = st.columns(2)
    with c1:
        st.plotly_chart(charts.length_histogram(stats), width="stretch", key="len-hist")
    with c2:
        st.plotly_chart(charts.label_figure(stats), width="stretch", key="label-dist")
    leakage.render(report)
    st.markdown(_("**Sample rows**"))
    tabs = st.tabs([leakage.split_title(s) for s in splits])
    for tab, entry in zip(tabs, splits.values(), strict=True):
        with tab:
            rows = entry.get("sample_rows") or []
            if rows:
                st.dataframe(
                    pd.DataFrame(rows).rename(
                        columns={"row": _("Row"), "aa_seq": _("Sequence"), "label": _("Label")}
                    ),
                    hide_index=True,
                    width="stretch",
                )
            lengths = [entry.get(k) for k in ("length_min", "length_median", "length_max")]
            if None not in lengths:
                st.caption(
                    _("Length (residues): min {min}, median {median}, max {max}").format(
                        min=lengths[0], median=fmt_value(float(lengths[1]), 0), max=lengths[2]
                    )
                )


st.divider()
if st.button(_("Preview Dataset"), icon=":material/preview:", key="preview_dataset"):
    with st.spinner(_("Reading and checking the dataset…")):
        try:
            bar = leakage.ProgressBar()
            task, report = explore_data.check(state.cfg(), progress=bar)  # doctor.check + the data
            bar.clear()
        except VenusError as e:
            report = None
            show_error(e)
    if report is not None:
        st.session_state[keys.DATASET_PREVIEW] = (state.cfg().data, report)
        explore.keep(state.cfg(), task, report)

preview = st.session_state.get(keys.DATASET_PREVIEW)
if preview is not None and leakage.same_data(preview[0], state.cfg().data):
    show_report(preview[1])
    explore.render(preview[1])
else:
    st.caption(
        _(
            "Press Preview Dataset to see split sizes, sample rows, length and label distributions, and any "
            "problem in the data."
        )
    )
