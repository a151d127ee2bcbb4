"""Results: run history, any run's curves and test results, comparison, downloads, prediction."""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from ui import charts, i18n, keys, nav, run_view, state
from ui.i18n import N_, _
from ui.widgets import (
    STATUS_ICONS,
    bound,
    file_uploader,
    fmt_duration,
    fmt_value,
    metric_title,
    model_label,
    run_problem_type,
    show_error,
)
from venus_core import predict, rundir
from venus_core.config import RunConfig
from venus_core.data import read_sequences_file, read_sequences_text
from venus_core.errors import VenusError
from venus_core.export import safe_csv
from venus_core.run_summary import summarize

st.title(_("Results"))

bound("output_dir", st.text_input, _("Save Directory"), key=keys.RESULTS_SAVE_DIR)
save_dir = state.cfg().output.output_dir
runs = rundir.list_runs(save_dir)
registry = state.registry()


def when(t: float | None) -> str:
    """Month-day hour:minute: what tells runs apart in the history, in a narrow column."""
    return datetime.fromtimestamp(t).strftime("%m-%d %H:%M") if t else "—"


def live_status(r: dict) -> str:
    job = registry.get(r["run_dir"])
    if job is not None and job.is_alive():
        return "running"
    return r["status"]


def history_table() -> None:
    """Run History: one row per run folder, newest first; every column fits the page."""
    status = [live_status(r) for r in runs]
    columns = {
        N_("Status"): [run_view.status_text(x) for x in status],
        N_("Run"): [r["name"] for r in runs],
        N_("Dataset"): [Path(str(r["dataset"])).name if r.get("dataset") else "—" for r in runs],
        N_("Model"): [model_label(r["model"]) if r.get("model") else "—" for r in runs],
        N_("Method"): [r.get("method") or "—" for r in runs],
        N_("Best validation"): [
            f"{metric_title(r['monitor'], r.get('problem_type'))} {fmt_value(r['best_value'])}"
            if r.get("monitor") and r.get("best_epoch")
            else "—"
            for r in runs
        ],
        N_("Best epoch"): ["—" if r.get("best_epoch") is None else str(r["best_epoch"]) for r in runs],
        N_("Started"): [when(r.get("started")) for r in runs],
        # From the run's first event to its last: loading and the embedding cache count too.
        N_("Duration"): [
            fmt_duration(r["finished"] - r["started"]) if r.get("finished") and r.get("started") else "—"
            for r in runs
        ],
    }
    # Pixel widths that fit a laptop's main column (818 px at 1280 wide; these add up to 810): long
    # run names are cut, whole on hover, and no column hides past the right edge.
    widths = {N_("Status"): 70, N_("Run"): 145, N_("Dataset"): 90, N_("Model"): 95, N_("Method"): 65}
    widths |= {N_("Best validation"): 115, N_("Best epoch"): 80, N_("Started"): 95, N_("Duration"): 55}
    st.dataframe(
        pd.DataFrame({_(name): values for name, values in columns.items()}),
        hide_index=True,
        width="stretch",
        column_config={_(name): st.column_config.TextColumn(width=w) for name, w in widths.items()},
    )


def read_config(run_dir: Path) -> RunConfig | None:
    try:
        return RunConfig.load(run_dir / rundir.CONFIG)
    except VenusError:
        return None


def load_summary(run_dir: Path, row: dict) -> tuple[dict, bool]:
    job = registry.get(run_dir)
    if job is not None and job.is_alive():
        return job.summary(now=time.time()), True
    s = disk_summary(str(run_dir), rundir.events_stamp(run_dir))
    if row["status"] == "unfinished" and s["status"] in ("running", "pending"):
        s["status"] = "unfinished"
    s["resumable"] = row.get("resumable", False)
    return s, False


@st.cache_data(show_spinner=False, max_entries=32)
def disk_summary(run_dir: str, stamp: tuple) -> dict:
    """A finished run's summary, read once per version of its events.jsonl (``stamp``)."""
    return summarize(rundir.read_events(Path(run_dir)))


def settings_of(cfg: RunConfig, row: dict, run_dir: Path) -> None:
    facts = {
        _("Dataset"): row.get("dataset") or "—",
        _("Model"): cfg.model.plm_model,
        _("Method"): _("{method}, pooling {pooling}").format(
            method=cfg.method.training_method, pooling=cfg.method.pooling_method
        ),
        _("Task"): _("{problem_type} ({n} labels)").format(
            problem_type=cfg.data.problem_type, n=cfg.data.num_labels
        )
        if cfg.data.problem_type != "regression"
        else "regression",
        _("Batch"): _("{n} sequences").format(n=cfg.batch.batch_size)
        if cfg.batch.batch_mode == "size"
        else _("{n:,} tokens").format(n=cfg.batch.batch_token),
        _("Learning rate"): f"{cfg.train.learning_rate:g}",
        _("Epochs (patience)"): f"{cfg.train.num_epochs} ({cfg.train.patience})",
        _("Run folder"): str(run_dir),
    }
    with st.expander(_("Settings of this run"), icon=":material/settings:"):
        st.dataframe(
            pd.DataFrame({_("Setting"): list(facts), _("Value"): list(facts.values())}),
            hide_index=True,
            width="stretch",
        )
        st.caption(_("The full configuration is in `{file}`.").format(file=run_dir / rundir.CONFIG))


def run_tab(run_dir: Path, row: dict, cfg: RunConfig | None) -> dict:
    s, live = load_summary(run_dir, row)
    if cfg is not None:
        settings_of(cfg, row, run_dir)

    # A run still training redraws as often as the Train page (figures only when changed).
    @st.fragment(run_every=run_view.REFRESH_EVERY_S if live else None)
    def run_panel() -> None:
        s, now_live = load_summary(run_dir, row)
        run_view.status_banner(s)
        if now_live:
            st.info(
                _("This run is training now; the Train page follows it live."), icon=STATUS_ICONS["running"]
            )
        run_view.best(s)
        run_view.curves(s, key="results")
        run_view.logs(s)
        if now_live != live:
            st.rerun()

    run_panel()
    if row["status"] in ("unfinished", "aborted") and not live:
        resume_section(run_dir, row, cfg)
    return s


def resume_section(run_dir: Path, row: dict, cfg: RunConfig | None) -> None:
    st.markdown(_("**Resume**"))
    if not row.get("resumable"):
        st.caption(
            _("No epoch of this run finished, so there is no checkpoint to resume from: start a new run.")
        )
        return
    st.caption(
        _(
            "Continue this run from its last finished epoch (checkpoints/last), with the same settings and "
            "seed."
        )
    )
    if st.button(_("Resume"), icon=":material/resume:", key="resume"):
        if cfg is None:
            st.error(_("{folder} has no readable config.json; it cannot be resumed.").format(folder=run_dir))
            return
        try:
            job = registry.start(cfg, run_dir=run_dir, resume=True)
        except VenusError as e:
            show_error(e)
        else:
            state.remember_run(job)
            nav.switch(nav.TRAIN)


def test_tab(run_dir: Path, row: dict, cfg: RunConfig | None, s: dict) -> None:
    run_view.test_results(s, run_name=row["name"], key="results")
    pred_path = run_dir / rundir.TEST_PREDICTIONS
    if not pred_path.exists():
        if s["status"] == "completed":
            st.caption(_("This run wrote no test predictions (no test split)."))
        return
    try:
        preds = pd.read_csv(pred_path)
    except (OSError, ValueError, pd.errors.ParserError) as e:
        st.error(_("Could not read {file}: {error}").format(file=pred_path, error=e))
        return
    st.download_button(
        _("Download predictions CSV"),
        data=safe_csv(preds),
        file_name=f"{row['name']}_test_predictions.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key="dl-test-preds",
        help=_("One row per test sequence: sequence, true label, prediction and class probabilities."),
    )
    problem_type = cfg.data.problem_type if cfg else None
    if problem_type == "single_label_classification":
        c1, c2 = st.columns(2)
        with c1:
            fig = charts.confusion_figure(preds, rundir.label_names(run_dir))
            if fig is not None:
                st.plotly_chart(fig, width="stretch", key="confusion")
        with c2:
            fig = charts.roc_figure(preds)
            if fig is not None:
                st.plotly_chart(fig, width="stretch", key="roc")
            else:
                st.caption(_("No ROC curve: the test set has a single class."))
    elif problem_type == "regression":
        fig = charts.regression_figure(preds)
        if fig is not None:
            st.plotly_chart(fig, width="stretch", key="scatter")
    else:
        st.caption(
            _("Multi-label runs: each label's probability is a prob_<k> column of the predictions CSV.")
        )
    with st.expander(_("Test predictions ({n:,} sequences)").format(n=len(preds))):
        st.dataframe(preds, hide_index=True, width="stretch")


def compare_tab(opened: str, by_dir: dict) -> None:
    chosen = st.multiselect(
        _("Runs to compare"),
        list(by_dir),
        default=[opened],
        key=keys.COMPARE_RUNS,
        format_func=lambda d: by_dir[d]["name"],
        help=_("Validation curves of several runs on one chart, and their test metrics side by side."),
    )
    summaries = [(by_dir[d]["name"], disk_summary(d, rundir.events_stamp(Path(d)))) for d in chosen]
    if not summaries:
        return
    kinds = {run_problem_type(rs) for _name, rs in summaries}
    compared = kinds.pop() if len(kinds) == 1 else None  # titles say "per label" for multi-label runs
    names = ["val/loss"]
    for _name, rs in summaries:
        names += [f"val/{m}" for m in rs["metric_names"] if f"val/{m}" not in names]
    key = st.selectbox(
        _("Curve"),
        names,
        key=keys.COMPARE_KEY,
        format_func=i18n.now(
            lambda k: (
                _("Validation loss")
                if k == "val/loss"
                else _("Validation {metric}").format(metric=metric_title(k[4:], compared))
            )
        ),
    )
    st.plotly_chart(charts.compare_figure(summaries, key), width="stretch", key="compare-fig")
    metrics = sorted({m for _name, rs in summaries for m in (rs["test"] or {})})
    if metrics:
        table = pd.DataFrame(
            {_("Run"): [n for n, _rs in summaries]}
            | {
                metric_title(m, compared): [fmt_value((rs["test"] or {}).get(m)) for _name, rs in summaries]
                for m in metrics
            }
        )
        st.markdown(_("**Test metrics**"))
        st.dataframe(table, hide_index=True, width="stretch")


def predict_tab(run_dir: Path, row: dict) -> None:
    st.caption(
        _(
            "Predict with the best checkpoint of **{run}** (the same code as `python -m venus_core predict`)."
        ).format(run=row["name"])
    )
    text = st.text_area(
        _("Sequences"),
        key=keys.PREDICT_TEXT,
        height=140,
        placeholder=">protein_1\nMKTAYIAKQRQISFVKSHFSRQ\n>protein_2\nGLFDIVKKVVGALGSL\n\n"
        + _("or one sequence per line"),
        help=_("FASTA, or one amino-acid sequence per line."),
    )
    upload = file_uploader(
        _("…or upload a file"),
        ["csv", "tsv", "parquet", "fasta", "fa", "txt"],
        key=keys.PREDICT_UPLOAD,
        help=_("A table with the training data's sequence column, or FASTA."),
    )
    # What the table below was predicted from: it is shown only while the input is the same.
    source = upload.file_id if upload is not None else hashlib.sha1(text.encode()).hexdigest()
    signature = (str(run_dir), source)
    if st.button(_("Predict"), icon=":material/online_prediction:", key="predict"):
        st.session_state.pop(keys.PREDICTIONS, None)  # a failed attempt leaves no earlier table behind
        try:
            if upload is not None:
                path = state.save_upload(upload.name, upload.getvalue())
                frame = read_sequences_file(path, predict.sequence_column(run_dir))
            else:
                frame = read_sequences_text(text)
            with st.spinner(_("Predicting {n:,} sequences…").format(n=len(frame))):
                table = predict.predictions_table(run_dir, frame)
            st.session_state[keys.PREDICTIONS] = (signature, table)
        except VenusError as e:
            show_error(e)
        except Exception as e:  # noqa: BLE001 - a failed prediction must not take the page down
            st.error(
                _("Prediction failed: {error}").format(error=f"{type(e).__name__}: {e}"),
                icon=":material/error:",
            )
    result = st.session_state.get(keys.PREDICTIONS)
    if result is not None and result[0] == signature:
        out = result[1]
        st.dataframe(out, hide_index=True, width="stretch")
        st.download_button(
            _("Download predictions CSV"),
            data=safe_csv(out),
            file_name=f"{row['name']}_predictions.csv",
            mime="text/csv",
            icon=":material/download:",
            on_click="ignore",
            key="dl-preds",
        )


if not runs:
    st.info(
        _(
            "No run in `{folder}` yet. Train one on the Train page, or point Save Directory to a folder of "
            "runs."
        ).format(folder=save_dir)
    )
else:
    st.subheader(_("Run History"))
    history_table()
    by_dir = {r["run_dir"]: r for r in runs}
    dirs = list(by_dir)
    mine = st.session_state.get(keys.RUN)
    if st.session_state.get(keys.OPEN_RUN) not in dirs:
        st.session_state[keys.OPEN_RUN] = next((d for d in dirs if mine and Path(d) == Path(mine)), dirs[0])
    opened = st.selectbox(
        _("Open Run"),
        dirs,
        key=keys.OPEN_RUN,
        format_func=i18n.now(
            lambda d: f"{by_dir[d]['name']} · {run_view.status_text(live_status(by_dir[d]))}"
        ),
        help=_("Any run of the save directory: its curves, test results, downloads and predictions."),
    )
    row, run_dir = by_dir[opened], Path(opened)
    cfg = read_config(run_dir)
    tab_run, tab_test, tab_compare, tab_predict = st.tabs(
        [_("Run"), _("Test Results"), _("Compare Runs"), _("Predict")]
    )
    with tab_run:
        summary = run_tab(run_dir, row, cfg)
    with tab_test:
        test_tab(run_dir, row, cfg, summary)
    with tab_compare:
        compare_tab(opened, by_dir)
    with tab_predict:
        predict_tab(run_dir, row)
