"""How a run is shown (Train and Results pages): progress, best epoch, curves, test results.

Everything is drawn from a run's summary (``venus_core.run_summary``): the live view of a job
(``Job.summary``) or a finished run's ``events.jsonl``, so a refresh, another tab or a restart shows
the same thing. Figures are built only when the run's ``chart_version`` changed (``ui.charts``).
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from ui import charts
from ui.widgets import (
    STATUS_ICONS,
    dataset_label,
    fmt_duration,
    fmt_params,
    fmt_value,
    metric_title,
    model_label,
    run_problem_type,
)
from venus_core.config import RunConfig
from venus_core.export import metrics_frame, safe_csv

PHASES = {
    "loading": "Loading data and model",
    "caching": "Computing backbone embeddings (once)",
    "train": "Training",
    "validate": "Validating",
    "test": "Testing the best model",
}
# How often a page showing a live run asks the server again. The trainer shares the machine (and
# the interpreter) with the server and the browser, and every refresh costs it: measured in Chromium
# (python -m bench.browser), a one-second refresh made runs up to 1.4x slower. So the page refreshes
# every few seconds, the clocks tick in the browser in between (``clock``), and the charts, the
# costliest to draw, refresh least often.
PROGRESS_EVERY_S = 5.0
CHARTS_EVERY_S = 15.0

STATUS_TEXT = {
    "pending": "Starting",
    "running": "Running",
    "completed": "Completed",
    "aborted": "Aborted",
    "failed": "Failed",
    "unfinished": "Unfinished",
}


def config_line(cfg: RunConfig) -> str:
    """A run's settings in one line: method and pooling, model, dataset."""
    return (
        f"{cfg.method.training_method} · pooling {cfg.method.pooling_method} · "
        f"{model_label(cfg.model.plm_model)} · {dataset_label(cfg)}"
    )


def live_fraction(s: dict[str, Any]) -> float:
    return min(max(float(s.get("fraction") or 0.0), 0.0), 1.0)


def phase_text(s: dict[str, Any]) -> str:
    if s["status"] in ("completed", "aborted", "failed"):
        return STATUS_TEXT[s["status"]]
    return PHASES.get(s.get("phase") or "", "Starting")


def phase_icon(s: dict[str, Any]) -> str:
    return STATUS_ICONS.get(s["status"], STATUS_ICONS["running"])


def status_banner(s: dict[str, Any], earlier_settings: bool = False) -> None:
    """The run's end, as its last status event says. ``earlier_settings``: the run is not what the
    page's settings describe any more, so its failure is history, not an error to fix now."""
    status, message = s["status"], s.get("message") or ""
    if status == "failed" and earlier_settings:
        st.caption(f"{STATUS_ICONS['failed']} This run failed, with settings changed since: {message}")
    elif status == "completed":
        st.success(f"Training completed. {message}".strip(), icon=STATUS_ICONS["completed"])
    elif status == "aborted":
        st.warning(message or "The run was aborted.", icon=STATUS_ICONS["aborted"])
    elif status == "failed":
        st.error(message or "The run failed.", icon=STATUS_ICONS["failed"])
    elif status == "unfinished":
        kept = (
            "Its finished epochs and last checkpoint are kept."
            if s.get("resumable")
            else "No epoch had finished: there is no checkpoint to resume from."
        )
        st.warning(
            f"This run stopped without finishing (the app or the machine stopped). {kept}",
            icon=STATUS_ICONS["unfinished"],
        )


def progress(
    s: dict[str, Any],
    name: str | None = None,
    config: RunConfig | None = None,
    earlier_settings: bool = False,
) -> None:
    """Training Progress: phase, bar, elapsed, whole-run ETA, current loss and gradient step."""
    st.subheader("Training Progress")
    if name is not None:
        which = "Run" if s["status"] == "running" else "Last run"
        st.markdown(f"{which} `{name}`" + (f" — {config_line(config)}" if config is not None else ""))
    status_banner(s, earlier_settings)
    # The phase is a line of its own: its names are too long for a metric column ("Computing backbone
    # embeddings (once)" was cut to "Compu…"); a line of text wraps instead of being cut.
    st.markdown(f"{phase_icon(s)} Phase: **{phase_text(s)}**")
    fraction = live_fraction(s)
    epoch, n_epochs = s.get("epoch"), s.get("num_epochs")
    where = f"Epoch {epoch} of {n_epochs} · " if epoch and n_epochs else ""
    caching = s.get("phase") == "caching" and s["status"] == "running"
    if caching and s.get("phase_progress") is not None:
        # The frozen backbone's one pass has no optimizer steps: it reports its own progress.
        done = s["phase_progress"]
        left = s.get("phase_eta")
        st.progress(
            min(max(done, 0.0), 1.0),
            text=f"Computing the frozen backbone's embeddings once · {done * 100:.0f}%"
            + (f" · {fmt_duration(left)} left" if left is not None else ""),
        )
    else:
        st.progress(fraction, text=f"{where}{fraction * 100:.1f}% of all training steps")
    c = st.columns(4)
    clock(c[0], c[1], s, caching)
    c[2].metric(
        "Current loss", fmt_value(s.get("loss")), help="Mean training loss of the current epoch so far."
    )
    total = s.get("total_steps")
    step = s.get("step")
    c[3].metric(
        f"Gradient step (of {total:,})" if total else "Gradient step",
        "—" if step is None else f"{step:,}",
        help="Optimizer steps done, of those planned for the whole run (early stopping may end it sooner).",
    )
    facts = []
    if s.get("n_train") is not None:
        facts.append(
            f"{s['n_train']:,} train / {s.get('n_valid') or 0:,} validation / "
            f"{s.get('n_test') or 0:,} test sequences"
        )
    if s.get("device"):
        precision = f" in {s['precision']}" if s.get("precision") else ""
        facts.append(f"device `{s['device']}`{precision}")
    stats = s.get("model_stats") or {}
    if stats.get("trainable_params") is not None and stats.get("total_params"):
        facts.append(
            f"{fmt_params(stats['trainable_params'])} trainable of "
            f"{fmt_params(stats['total_params'])} parameters "
            f"({stats.get('trainable_percent', 0):.2f}%)"
        )
    if s.get("run_dir"):
        facts.append(f"run folder `{s['run_dir']}`")
    if facts:
        st.caption(" · ".join(facts))


_CLOCK_SCRIPT = """<script>
(() => {
  const fmt = (s) => {
    s = Math.max(0, Math.round(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    if (h) return `${h} h ${String(m).padStart(2, "0")} min`;
    if (m) return `${m} min ${String(r).padStart(2, "0")} s`;
    return `${r} s`;
  };
  const tick = () => {
    const now = Date.now() / 1000;
    document.querySelectorAll("[data-venus-since]").forEach((el) => {
      el.textContent = fmt(now - Number(el.dataset.venusSince));
    });
    document.querySelectorAll("[data-venus-until]").forEach((el) => {
      el.textContent = fmt(Number(el.dataset.venusUntil) - now);
    });
  };
  clearInterval(window.venusClock);
  window.venusClock = setInterval(tick, 1000);
  tick();
})();
</script>"""


def _clock_value(label: str, text: str, attribute: str = "") -> str:
    """A metric's look (label over a large value) for a value the browser may update itself."""
    return (
        f'<div style="font-size:0.875rem;line-height:1.6;margin-bottom:0.25rem">{label}</div>'
        f'<div class="venus-clock" style="font-size:2.25rem;line-height:1.2" {attribute}>{text}</div>'
    )


def clock(elapsed_col, eta_col, s: dict[str, Any], caching: bool) -> None:
    """Elapsed and time left. While the run is live they tick every second in the browser, from the
    run's start and the estimated end, so the page need not ask the server every second."""
    eta = s.get("phase_eta") if caching else s.get("eta")
    label = "Time left (embeddings)" if caching else "Time left (ETA)"
    running = s["status"] == "running"
    elapsed = fmt_duration(s.get("elapsed"))
    left = "—" if eta is None or not running else fmt_duration(eta)
    if not running:
        elapsed_col.metric("Elapsed", elapsed)
        eta_col.metric(label, left)
        return
    now = time.time()
    since = f'data-venus-since="{now - float(s.get("elapsed") or 0.0):.3f}"'
    until = f'data-venus-until="{now + float(eta):.3f}"' if eta is not None else ""
    # The script carries the page's own numbers only (no user input): safe to run.
    elapsed_col.html(_clock_value("Elapsed", elapsed, since) + _CLOCK_SCRIPT, unsafe_allow_javascript=True)
    eta_col.html(_clock_value(label, left, until), unsafe_allow_javascript=True)


def best(s: dict[str, Any]) -> None:
    """Best Performance: the best epoch, its monitored value and all its validation metrics."""
    st.subheader("Best Performance")
    b = s.get("best")
    if not b:
        st.caption("Shown after the first validation.")
        return
    c = st.columns([1, 1, 3])
    c[0].metric("Best epoch", "—" if b.get("epoch") is None else str(b.get("epoch")))
    problem_type = run_problem_type(s)
    c[1].metric(f"Validation {metric_title(b.get('monitor') or '', problem_type)}", fmt_value(b.get("value")))
    row = s.get("best_row") or {}
    values = {k[4:]: v for k, v in row.items() if k.startswith("val/")}
    if values:
        c[2].dataframe(
            {
                "Validation metric": [metric_title(k, problem_type) for k in values],
                "Value": [fmt_value(v) for v in values.values()],
            },
            hide_index=True,
            width="stretch",
        )


def curves(s: dict[str, Any], key: str) -> None:
    left, right = st.columns(2)
    with left:
        st.subheader("Training and Validation Loss")
        if s["steps"] or s["epochs"]:
            st.plotly_chart(charts.cached(charts.loss_figure, s), width="stretch", key=f"{key}-loss")
        else:
            st.caption("The curve starts with the first training steps.")
    with right:
        st.subheader("Validation Metrics")
        if s["epochs"] and s["metric_names"]:
            st.plotly_chart(charts.cached(charts.metrics_figure, s), width="stretch", key=f"{key}-metrics")
        else:
            st.caption("Shown after the first validation.")


def test_results(s: dict[str, Any], run_name: str, key: str) -> None:
    """Test Results: the best model's metrics on the test set, with a CSV download."""
    st.subheader("Test Results")
    test = s.get("test")
    if not test:
        if s["status"] == "completed":
            st.caption("This run has no test split, so no test metrics.")
        else:
            st.caption("Computed on the test set with the best model when training ends.")
        return
    frame = metrics_frame(test, run_problem_type(s))
    shown = {
        "Metric": frame["title"].tolist(),
        "Value": [fmt_value(v) for v in test.values()],
    }
    c = st.columns([2, 1])
    c[0].dataframe(shown, hide_index=True, width="stretch")
    c[1].download_button(
        "Download CSV",
        data=safe_csv(frame),
        file_name=f"{run_name}_test_metrics.csv",
        mime="text/csv",
        key=f"{key}-dl-metrics",
        icon=":material/download:",
        on_click="ignore",
        help="Test metrics as metric,value rows.",
    )


def logs(s: dict[str, Any]) -> None:
    warnings = [entry for entry in s["logs"] if entry["level"] == "warning"]
    if not s["logs"]:
        return
    label = f"Run log ({len(s['logs'])} messages, {len(warnings)} warnings)"
    with st.expander(label, expanded=False):
        for entry in s["logs"]:
            if entry["level"] == "warning":
                st.warning(entry["message"], icon=":material/warning:")
            else:
                st.caption(entry["message"])
