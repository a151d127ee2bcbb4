"""Results: run history, any run's curves and test results, comparison, downloads, prediction."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from ui import charts, run_view, state
from ui.widgets import (
    STATUS_ICONS,
    bound,
    fmt_duration,
    fmt_value,
    metric_title,
    model_label,
    page_setup,
    run_problem_type,
    show_error,
)
from venus_core import rundir
from venus_core.config import RunConfig
from venus_core.errors import VenusError
from venus_core.export import safe_csv
from venus_core.jobs import summarize

page_setup("Results")
st.title("Results")

bound("output_dir", st.text_input, "Save Directory", key="w.output_dir@results")
save_dir = state.cfg().output.output_dir
runs = rundir.list_runs(save_dir)
registry = state.registry()


def when(t: float | None) -> str:
    return datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M") if t else "—"


def live_status(r: dict) -> str:
    job = registry.get(r["run_dir"])
    if job is not None and job.is_alive():
        return "running"
    return r["status"]


if not runs:
    st.info(
        f"No run in `{save_dir}` yet. Train one on the Train page, "
        "or point Save Directory to a folder of runs."
    )
    st.stop()

# -- Run History -------------------------------------------------------------------------------------
st.subheader("Run History")
history = pd.DataFrame(
    {
        "Status": [run_view.STATUS_TEXT.get(live_status(r), live_status(r)) for r in runs],
        "Run": [r["name"] for r in runs],
        "Dataset": [Path(str(r["dataset"])).name if r.get("dataset") else "—" for r in runs],
        "Model": [model_label(r["model"]) if r.get("model") else "—" for r in runs],
        "Method": [r.get("method") or "—" for r in runs],
        "Best validation": [
            f"{metric_title(r['monitor'], r.get('problem_type'))} {fmt_value(r['best_value'])}"
            if r.get("monitor") and r.get("best_epoch")
            else "—"
            for r in runs
        ],
        "Best epoch": [r.get("best_epoch") for r in runs],
        "Started": [when(r.get("started")) for r in runs],
        "Duration": [
            fmt_duration(r["finished"] - r["started"]) if r.get("finished") and r.get("started") else "—"
            for r in runs
        ],
    }
)
st.dataframe(history, hide_index=True, width="stretch")

by_dir = {r["run_dir"]: r for r in runs}
dirs = list(by_dir)
mine = st.session_state.get(state.RUN_KEY)
if st.session_state.get("open_run") not in dirs:
    st.session_state["open_run"] = next((d for d in dirs if mine and Path(d) == Path(mine)), dirs[0])
opened = st.selectbox(
    "Open Run",
    dirs,
    key="open_run",
    format_func=lambda d: f"{by_dir[d]['name']} · {run_view.STATUS_TEXT.get(live_status(by_dir[d]), '')}",
    help="Any run of the save directory: its curves, test results, downloads and predictions.",
)
row = by_dir[opened]
run_dir = Path(opened)


def load_summary() -> tuple[dict, bool]:
    job = registry.get(run_dir)
    if job is not None and job.is_alive():
        return summarize(job.events_since(0), now=time.time()), True
    s = summarize(rundir.read_events(run_dir))
    if row["status"] == "unfinished" and s["status"] in ("running", "pending"):
        s["status"] = "unfinished"
    return s, False


def label_names() -> list[str] | None:
    """Class names of a classification run (from label_codec.json), if the dataset had them."""
    try:
        names = json.loads((run_dir / rundir.LABEL_CODEC).read_text(encoding="utf-8")).get("label_names")
    except (OSError, ValueError, AttributeError):
        return None
    return [str(n) for n in names] if isinstance(names, list) and names else None


def with_class_names(frame: pd.DataFrame) -> pd.DataFrame:
    """Add the predicted class's name next to a single-label prediction."""
    names = label_names()
    if not names or "prediction" not in frame.columns or not prob_cols(frame):
        return frame
    try:
        index = pd.to_numeric(frame["prediction"]).astype(int)
    except (ValueError, TypeError):
        return frame  # multi-label predictions are lists of classes
    out = frame.copy()
    position = list(out.columns).index("prediction") + 1
    out.insert(position, "predicted_class", [names[i] if 0 <= i < len(names) else "" for i in index])
    return out


def prob_cols(frame: pd.DataFrame) -> list[str]:
    return charts.prob_columns(frame)


def read_config() -> RunConfig | None:
    try:
        return RunConfig.load(run_dir / rundir.CONFIG)
    except VenusError:
        return None


tab_run, tab_test, tab_compare, tab_predict = st.tabs(["Run", "Test Results", "Compare Runs", "Predict"])

# -- the opened run ------------------------------------------------------------------------------------
with tab_run:
    s, live = load_summary()

    # A run still training redraws its charts as often as the Train page's charts do.
    @st.fragment(run_every=run_view.CHARTS_EVERY_S if live else None)
    def run_panel() -> None:
        s, now_live = load_summary()
        run_view.status_banner(s)
        if now_live:
            st.info("This run is training now; the Train page follows it live.", icon=STATUS_ICONS["running"])
        cfg = read_config()
        if cfg is not None:
            facts = {
                "Dataset": row.get("dataset") or "—",
                "Model": cfg.model.plm_model,
                "Method": f"{cfg.method.training_method}, pooling {cfg.method.pooling_method}",
                "Task": f"{cfg.data.problem_type} ({cfg.data.num_labels} labels)"
                if cfg.data.problem_type != "regression"
                else "regression",
                "Batch": f"{cfg.batch.batch_size} sequences"
                if cfg.batch.batch_mode == "size"
                else f"{cfg.batch.batch_token:,} tokens",
                "Learning rate": f"{cfg.train.learning_rate:g}",
                "Epochs (patience)": f"{cfg.train.num_epochs} ({cfg.train.patience})",
                "Run folder": str(run_dir),
            }
            with st.expander("Settings of this run", icon=":material/settings:"):
                st.dataframe(
                    pd.DataFrame({"Setting": list(facts), "Value": list(facts.values())}),
                    hide_index=True,
                    width="stretch",
                )
                st.caption(f"The full configuration is in `{run_dir / rundir.CONFIG}`.")
        run_view.best(s)
        run_view.curves(s, key="results")
        run_view.logs(s)
        if now_live != live:
            st.rerun()

    run_panel()

    if row["status"] in ("unfinished", "aborted") and not live:
        st.markdown("**Resume**")
        st.caption(
            "Continue this run from its last finished epoch (checkpoints/last), "
            "with the same settings and seed."
        )
        if st.button("Resume", icon=":material/resume:", key="resume"):
            cfg = read_config()
            if cfg is None:
                st.error(f"{run_dir} has no readable config.json; it cannot be resumed.")
            else:
                try:
                    job = registry.start(cfg, run_dir=run_dir, resume=True)
                except VenusError as e:
                    show_error(e)
                else:
                    st.session_state[state.RUN_KEY] = str(job.run_dir)
                    st.switch_page("pages/3_Train.py")

# -- test results and plots ---------------------------------------------------------------------------
with tab_test:
    run_view.test_results(s, run_name=row["name"], key="results")
    pred_path = run_dir / rundir.TEST_PREDICTIONS
    if pred_path.exists():
        try:
            preds = pd.read_csv(pred_path)
        except (OSError, ValueError, pd.errors.ParserError) as e:
            st.error(f"Could not read {pred_path}: {e}")
            preds = None
        if preds is not None:
            st.download_button(
                "Download predictions CSV",
                data=safe_csv(preds),
                file_name=f"{row['name']}_test_predictions.csv",
                mime="text/csv",
                icon=":material/download:",
                on_click="ignore",
                key="dl-test-preds",
                help="One row per test sequence: sequence, true label, prediction and class probabilities.",
            )
            cfg = read_config()
            problem_type = cfg.data.problem_type if cfg else None
            if problem_type == "single_label_classification":
                c1, c2 = st.columns(2)
                with c1:
                    fig = charts.confusion_figure(preds, label_names())
                    if fig is not None:
                        st.plotly_chart(fig, width="stretch", key="confusion")
                with c2:
                    fig = charts.roc_figure(preds)
                    if fig is not None:
                        st.plotly_chart(fig, width="stretch", key="roc")
                    else:
                        st.caption("No ROC curve: the test set has a single class.")
            elif problem_type == "regression":
                fig = charts.regression_figure(preds)
                if fig is not None:
                    st.plotly_chart(fig, width="stretch", key="scatter")
            else:
                st.caption(
                    "Multi-label runs: each label's probability is a prob_<k> column of the predictions CSV."
                )
            with st.expander(f"Test predictions ({len(preds):,} sequences)"):
                st.dataframe(preds, hide_index=True, width="stretch")
    elif s["status"] == "completed":
        st.caption("This run wrote no test predictions (no test split).")

# -- compare -------------------------------------------------------------------------------------------
with tab_compare:
    chosen = st.multiselect(
        "Runs to compare",
        dirs,
        default=[opened],
        key="compare_runs",
        format_func=lambda d: by_dir[d]["name"],
        help="Validation curves of several runs on one chart, and their test metrics side by side.",
    )
    summaries = [(by_dir[d]["name"], summarize(rundir.read_events(d))) for d in chosen]
    kinds = {run_problem_type(rs) for _, rs in summaries}
    compared = kinds.pop() if len(kinds) == 1 else None  # titles say "per label" for multi-label runs
    keys = ["val/loss"]
    for _, rs in summaries:
        keys += [f"val/{m}" for m in rs["metric_names"] if f"val/{m}" not in keys]
    if summaries:
        key = st.selectbox(
            "Curve",
            keys,
            key="compare_key",
            format_func=lambda k: (
                f"Validation {'loss' if k == 'val/loss' else metric_title(k[4:], compared)}"
            ),
        )
        st.plotly_chart(charts.compare_figure(summaries, key), width="stretch", key="compare-fig")
        names = sorted({m for _, rs in summaries for m in (rs["test"] or {})})
        if names:
            table = pd.DataFrame(
                {"Run": [n for n, _ in summaries]}
                | {
                    metric_title(m, compared): [fmt_value((rs["test"] or {}).get(m)) for _, rs in summaries]
                    for m in names
                }
            )
            st.markdown("**Test metrics**")
            st.dataframe(table, hide_index=True, width="stretch")

# -- predict -------------------------------------------------------------------------------------------
with tab_predict:
    st.caption(
        f"Predict with the best checkpoint of **{row['name']}** "
        "(the same code as `python -m venus_core predict`)."
    )
    text = st.text_area(
        "Sequences",
        key="predict_text",
        height=140,
        placeholder=">protein_1\nMKTAYIAKQRQISFVKSHFSRQ\n>protein_2\nGLFDIVKKVVGALGSL\n\n"
        "or one sequence per line",
        help="FASTA, or one amino-acid sequence per line.",
    )
    upload = st.file_uploader(
        "…or upload a file",
        type=["csv", "tsv", "parquet", "fasta", "fa", "txt"],
        key="predict_upload",
        help="A table with the training data's sequence column, or FASTA.",
    )
    if st.button("Predict", icon=":material/online_prediction:", key="predict"):
        from venus_core import predict
        from venus_core.data import read_sequences_file

        try:
            if upload is not None:
                path = state.save_upload(upload.name, upload.getvalue())
            elif text.strip():
                lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
                if not lines[0].startswith(">"):
                    lines = [x for i, seq in enumerate(lines, 1) for x in (f">seq_{i}", seq)]
                path = state.save_upload("pasted_sequences.fasta", ("\n".join(lines) + "\n").encode())
            else:
                raise VenusError("Paste sequences or upload a file first.")
            cfg = read_config()
            column = cfg.data.sequence_column_name if cfg else "aa_seq"
            frame = read_sequences_file(path, column)
            with st.spinner(f"Predicting {len(frame):,} sequences…"):
                preds = predict.predict_frame(run_dir, frame)
            extra = [c for c in frame.columns if c not in preds.columns and c != "row"]
            table = pd.concat([frame[extra].reset_index(drop=True), preds], axis=1)
            st.session_state["predictions"] = (opened, with_class_names(table))
        except VenusError as e:
            show_error(e)
        except Exception as e:  # noqa: BLE001 - a failed prediction must not take the page down
            st.error(f"Prediction failed: {type(e).__name__}: {e}", icon=":material/error:")
    result = st.session_state.get("predictions")
    if result is not None and result[0] == opened:
        out = result[1]
        st.dataframe(out, hide_index=True, width="stretch")
        st.download_button(
            "Download predictions CSV",
            data=safe_csv(out),
            file_name=f"{row['name']}_predictions.csv",
            mime="text/csv",
            icon=":material/download:",
            on_click="ignore",
            key="dl-preds",
        )
