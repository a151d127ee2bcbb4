"""How a run is shown (Train and Results pages): progress, best epoch, curves, test results.

Everything is drawn from a run's summary (``venus_core.run_summary``): the live view of a job
(``Job.summary``) or a finished run's ``events.jsonl``, so a refresh, another tab or a restart shows
the same thing. Figures are built only when the run's ``chart_version`` changed (``ui.charts``).
"""

from __future__ import annotations

import html
import json
import time
from typing import Any

import streamlit as st

from ui import charts, live_chart
from ui.i18n import N_, _, tr
from ui.widgets import (
    STATUS_ICONS,
    dataset_label,
    fmt_duration,
    fmt_params,
    fmt_value,
    metric_title,
    model_label,
    page_text,
    run_problem_type,
)
from venus_core.config import RunConfig
from venus_core.export import metrics_frame, safe_csv

PHASES = {
    "loading": N_("Loading data and model"),
    "caching": N_("Computing backbone embeddings (once)"),
    "train": N_("Training"),
    "validate": N_("Validating"),
    "test": N_("Testing the best model"),
}
# How often a page showing a live run asks the server again. The trainer shares the machine (and
# the interpreter) with the server and the browser, and every refresh costs it: measured in Chromium
# (python -m bench.browser), a one-second refresh made runs up to 1.4x slower, and each Streamlit
# fragment rerun costs the browser ~0.1 s of CPU however little it redraws. So the page refreshes
# once every few seconds, everything in one fragment (progress, best epoch, curves drawn as static
# SVG), and the clocks tick in the browser in between (``clock``).
REFRESH_EVERY_S = 10.0
# Until the first training step the phases are short (loading, the embedding pass: seconds on the
# demo) and a 10 s period could skip one whole: the progress block follows them this often, in a
# fragment of its own inside the slow one (app_pages/train.py), so the rest of the page is not
# redrawn and the switch to the slow period needs no rerun of the whole page. The embedding pass's
# bar and clocks move in the browser in between (``caching_bar``), so this period only bounds how
# late the page notices the next phase. Measured in Chromium on the demo's embedding pass: at 2 s the
# Train page cost the browser 0.54-0.60 s of CPU per 10 s, at 5 s with the bar moving in the browser
# 0.33-0.44 s (the ticks and two refreshes).
STARTING_EVERY_S = 5.0


def starting(s: dict[str, Any]) -> bool:
    """Whether the live run ``s`` is still in its first, short phases (no training step yet)."""
    return not s["steps"] and s["phase"] in (None, "loading", "caching")


STATUS_TEXT = {
    "pending": N_("Starting"),
    "running": N_("Running"),
    "completed": N_("Completed"),
    "aborted": N_("Aborted"),
    "failed": N_("Failed"),
    "unfinished": N_("Unfinished"),
}


def status_text(status: str) -> str:
    """A run's status as the pages name it (``completed`` -> Completed), in the session's language."""
    return _(STATUS_TEXT[status]) if status in STATUS_TEXT else status


def config_line(cfg: RunConfig) -> str:
    """A run's settings in one line: method and pooling, model, dataset."""
    return _("{method} · pooling {pooling} · {model} · {dataset}").format(
        method=cfg.method.training_method,
        pooling=cfg.method.pooling_method,
        model=model_label(cfg.model.plm_model),
        dataset=dataset_label(cfg),
    )


def live_fraction(s: dict[str, Any]) -> float:
    return min(max(float(s.get("fraction") or 0.0), 0.0), 1.0)


def phase_text(s: dict[str, Any]) -> str:
    if s["status"] in ("completed", "aborted", "failed"):
        return status_text(s["status"])
    return _(PHASES.get(s.get("phase") or "", STATUS_TEXT["pending"]))


def phase_icon(s: dict[str, Any]) -> str:
    return STATUS_ICONS.get(s["status"], STATUS_ICONS["running"])


def status_banner(s: dict[str, Any], earlier_settings: bool = False) -> None:
    """The run's end, as its last status event says. ``earlier_settings``: the run is not what the
    page's settings describe any more, so its failure is history, not an error to fix now."""
    status, message = s["status"], page_text(s.get("message") or "")
    if status == "failed" and earlier_settings:
        st.caption(
            STATUS_ICONS["failed"]
            + " "
            + _("This run failed, with settings changed since: {message}").format(message=message)
        )
    elif status == "completed":
        st.success(
            _("Training completed. {message}").format(message=message).strip(), icon=STATUS_ICONS["completed"]
        )
    elif status == "aborted":
        st.warning(message or _("The run was aborted."), icon=STATUS_ICONS["aborted"])
    elif status == "failed":
        st.error(message or _("The run failed."), icon=STATUS_ICONS["failed"])
    elif status == "unfinished":
        kept = (
            _("Its finished epochs and last checkpoint are kept.")
            if s.get("resumable")
            else _("No epoch had finished: there is no checkpoint to resume from.")
        )
        st.warning(
            _("This run stopped without finishing (the app or the machine stopped). {kept}").format(
                kept=kept
            ),
            icon=STATUS_ICONS["unfinished"],
        )


def progress(
    s: dict[str, Any],
    name: str | None = None,
    config: RunConfig | None = None,
    earlier_settings: bool = False,
) -> None:
    """Training Progress: phase, bar, elapsed, whole-run ETA, current loss and gradient step."""
    st.subheader(_("Training Progress"))
    if name is not None:
        which = _("Run `{name}`") if s["status"] == "running" else _("Last run `{name}`")
        st.markdown(which.format(name=name) + (f" — {config_line(config)}" if config is not None else ""))
    status_banner(s, earlier_settings)
    # The phase is a line of its own: its names are too long for a metric column ("Computing backbone
    # embeddings (once)" was cut to "Compu…"); a line of text wraps instead of being cut.
    st.markdown(f"{phase_icon(s)} " + _("Phase: **{phase}**").format(phase=phase_text(s)))
    fraction = live_fraction(s)
    epoch, n_epochs = s.get("epoch"), s.get("num_epochs")
    where = _("Epoch {epoch} of {n} · ").format(epoch=epoch, n=n_epochs) if epoch and n_epochs else ""
    caching = s.get("phase") == "caching" and s["status"] == "running"
    if caching:
        # The frozen backbone's one pass has no optimizer steps: it reports its own progress (0%
        # before its first report, not "0.0% of all training steps").
        caching_bar(min(max(s.get("phase_progress") or 0.0, 0.0), 1.0), s.get("phase_eta"))
    else:
        st.progress(
            fraction, text=where + _("{percent:.1f}% of all training steps").format(percent=fraction * 100)
        )
    c = st.columns(4)
    clock(c[0], c[1], s, caching)
    c[2].metric(
        _("Current loss"), fmt_value(s.get("loss")), help=_("Mean training loss of the current epoch so far.")
    )
    total = s.get("total_steps")
    step = s.get("step")
    c[3].metric(
        _("Gradient step (of {total:,})").format(total=total) if total else _("Gradient step"),
        "—" if step is None else f"{step:,}",
        help=_(
            "Optimizer steps done, of those planned for the whole run (early stopping may end it sooner)."
        ),
    )
    facts = []
    if s.get("n_train") is not None:
        facts.append(
            _("{train:,} train / {valid:,} validation / {test:,} test sequences").format(
                train=s["n_train"], valid=s.get("n_valid") or 0, test=s.get("n_test") or 0
            )
        )
    if s.get("device"):
        if s.get("precision"):
            facts.append(
                _("device `{device}` in {precision}").format(device=s["device"], precision=tr(s["precision"]))
            )
        else:
            facts.append(_("device `{device}`").format(device=s["device"]))
    stats = s.get("model_stats") or {}
    if stats.get("trainable_params") is not None and stats.get("total_params"):
        facts.append(
            _("{trainable} trainable of {total} parameters ({percent:.2f}%)").format(
                trainable=fmt_params(stats["trainable_params"]),
                total=fmt_params(stats["total_params"]),
                percent=stats.get("trainable_percent", 0),
            )
        )
    if s.get("run_dir"):
        facts.append(_("run folder `{folder}`").format(folder=s["run_dir"]))
    if facts:
        st.caption(" · ".join(facts))


# The browser ticks the clocks (elements with data-venus-since / -until: seconds since or until a
# time) and advances the embedding pass's bar (data-venus-bar) every second between the page's
# refreshes. The bar goes from the share done when the page drew it to 100% at the time left then,
# linearly; it stops at 99% until the page says the pass is over. The durations' formats come in
# the session's language (``fmt_duration``'s templates).
_CLOCK_SCRIPT = """<script>
(() => {
  const formats = __FORMATS__;
  const fill = (t, v) => t.replace(
    /\\{([hms])(:02d)?\\}/g, (_, k, pad) => (pad ? String(v[k]).padStart(2, "0") : String(v[k])));
  const fmt = (x) => {
    x = Math.max(0, Math.round(x));
    const v = {h: Math.floor(x / 3600), m: Math.floor((x % 3600) / 60), s: x % 60};
    return fill(v.h ? formats.h : v.m ? formats.m : formats.s, v);
  };
  const tick = () => {
    const now = Date.now() / 1000;
    document.querySelectorAll("[data-venus-since]").forEach((el) => {
      el.textContent = fmt(now - Number(el.dataset.venusSince));
    });
    document.querySelectorAll("[data-venus-until]").forEach((el) => {
      el.textContent = fmt(Number(el.dataset.venusUntil) - now);
    });
    document.querySelectorAll("[data-venus-bar]").forEach((el) => {
      const done = Number(el.dataset.venusBar), end = el.dataset.venusEnd;
      let share = done, text = el.dataset.venusText;
      if (end !== undefined) {
        const from = Number(el.dataset.venusDrawn), left = Number(end) - now;
        const span = Math.max(Number(end) - from, 1e-3), passed = Math.min(Math.max(now - from, 0), span);
        share = Math.min(Math.max(done, 0.99), done + (1 - done) * (passed / span));
        if (left >= 0.5) text += " · " + el.dataset.venusLeft.replace("{time}", fmt(left));
      }
      const percent = String(Math.round(share * 100));
      el.querySelector(".venus-bar-fill").style.width = (share * 100).toFixed(1) + "%";
      el.setAttribute("aria-valuenow", percent);
      el.querySelector(".venus-bar-text").textContent = text.replace("{percent}", percent);
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
        f'<div style="font-size:0.875rem;line-height:1.6;margin-bottom:0.25rem">{html.escape(label)}</div>'
        f'<div class="venus-clock" style="font-size:2.25rem;line-height:1.2" {attribute}>{text}</div>'
    )


def caching_bar(done: float, left: float | None) -> None:
    """The embedding pass's progress bar: the share done and the time left, which the browser
    advances every second (``_CLOCK_SCRIPT``), so the page need not refresh to move it
    (``STARTING_EVERY_S`` says what that saved)."""
    # Drawn like Streamlit's own bar (st.progress, in the theme's colours), which the browser cannot
    # advance by itself.
    colours = (
        st.get_option("theme.primaryColor") or "#1f5fa8",
        st.get_option("theme.secondaryBackgroundColor") or "#f3f6fa",
    )
    st.html(caching_bar_html(done, left, time.time(), colours))


def caching_bar_html(done: float, left: float | None, now: float, colours: tuple[str, str]) -> str:
    """``caching_bar``'s element at time ``now``; ``colours``: the bar's and the track's."""
    head = _("Computing the frozen backbone's embeddings once · {percent:.0f}%")
    text = head.format(percent=done * 100)
    browser_head = html.escape(head.replace("{percent:.0f}", "{percent}"))
    attributes = f'data-venus-bar="{done:.4f}" data-venus-text="{browser_head}"'
    if left is not None:
        # Absolute times, like the clocks' (``clock``): the bar and "Time left" agree.
        text += " · " + _("{time} left").format(time=fmt_duration(left))
        attributes += f' data-venus-drawn="{now:.3f}" data-venus-end="{now + left:.3f}"'
        attributes += f' data-venus-left="{html.escape(_("{time} left"))}"'
    fill, track = colours
    return (
        f'<div {attributes} role="progressbar" aria-valuemin="0" aria-valuemax="100" '
        f'aria-valuenow="{round(done * 100)}">'
        f'<div class="venus-bar-text" style="margin-bottom:0.5rem">{html.escape(text)}</div>'
        f'<div style="height:0.5rem;border-radius:0.5rem;background:{track};overflow:hidden">'
        f'<div class="venus-bar-fill" style="height:100%;width:{done * 100:.1f}%;background:{fill}"></div>'
        "</div></div>"
    )


def clock_script() -> str:
    """The script that ticks the clocks and advances the bars, with the durations in the session's
    language. It carries the page's own numbers only (no user input): safe to run."""
    formats = {"h": _("{h} h {m:02d} min"), "m": _("{m} min {s:02d} s"), "s": _("{s} s")}
    return _CLOCK_SCRIPT.replace("__FORMATS__", json.dumps(formats, ensure_ascii=False).replace("</", "<\\/"))


def clock(elapsed_col, eta_col, s: dict[str, Any], caching: bool) -> None:
    """Elapsed and time left. While the run is live they tick every second in the browser, from the
    run's start and the estimated end, so the page need not ask the server every second."""
    eta = s.get("phase_eta") if caching else s.get("eta")
    label = _("Time left (embeddings)") if caching else _("Time left (ETA)")
    running = s["status"] == "running"
    elapsed = fmt_duration(s.get("elapsed"))
    left = "—" if eta is None or not running else fmt_duration(eta)
    if not running:
        elapsed_col.metric(_("Elapsed"), elapsed)
        eta_col.metric(
            label,
            left,
            help=_(
                "Time left to compute the embeddings; the training's own ETA follows from its first steps."
            )
            if caching
            else _("The whole run's remaining time, from the pace of its optimizer steps so far."),
        )
        return
    now = time.time()
    since = f'data-venus-since="{now - float(s.get("elapsed") or 0.0):.3f}"'
    until = f'data-venus-until="{now + float(eta):.3f}"' if eta is not None else ""
    elapsed_col.html(
        _clock_value(_("Elapsed"), elapsed, since) + clock_script(), unsafe_allow_javascript=True
    )
    eta_col.html(_clock_value(label, left, until), unsafe_allow_javascript=True)


def best(s: dict[str, Any]) -> None:
    """Best Performance: the best epoch, its monitored value and all its validation metrics."""
    st.subheader(_("Best Performance"))
    b = s.get("best")
    if not b:
        st.caption(_("Shown after the first validation."))
        return
    c = st.columns([1, 1, 3])
    c[0].metric(_("Best epoch"), "—" if b.get("epoch") is None else str(b.get("epoch")))
    problem_type = run_problem_type(s)
    c[1].metric(
        _("Validation {metric}").format(metric=metric_title(b.get("monitor") or "", problem_type)),
        fmt_value(b.get("value")),
    )
    row = s.get("best_row") or {}
    values = {k[4:]: v for k, v in row.items() if k.startswith("val/")}
    if values:
        c[2].dataframe(
            {
                _("Validation metric"): [metric_title(k, problem_type) for k in values],
                _("Value"): [fmt_value(v) for v in values.values()],
            },
            hide_index=True,
            width="stretch",
        )


def curves(s: dict[str, Any], key: str) -> None:
    """Loss and validation-metric curves: a static SVG while the run trains (cheap for the browser,
    whose drawing takes CPU from the trainer: ``ui.live_chart``), interactive Plotly once it ended."""
    live = s["status"] in ("pending", "running")
    left, right = st.columns(2)
    with left:
        st.subheader(_("Training and Validation Loss"))
        if not (s["steps"] or s["epochs"]):
            st.caption(_("The curve starts with the first training steps."))
        elif live:
            st.html(charts.cached(live_chart.loss_image, s))
        else:
            st.plotly_chart(charts.cached(charts.loss_figure, s), width="stretch", key=f"{key}-loss")
    with right:
        st.subheader(_("Validation Metrics"))
        if not (s["epochs"] and s["metric_names"]):
            st.caption(_("Shown after the first validation."))
        elif live:
            st.html(charts.cached(live_chart.metrics_image, s))
        else:
            st.plotly_chart(charts.cached(charts.metrics_figure, s), width="stretch", key=f"{key}-metrics")


def test_results(s: dict[str, Any], run_name: str, key: str) -> None:
    """Test Results: the best model's metrics on the test set, with a CSV download."""
    st.subheader(_("Test Results"))
    test = s.get("test")
    if not test:
        if s["status"] == "completed":
            st.caption(_("This run has no test split, so no test metrics."))
        else:
            st.caption(_("Computed on the test set with the best model when training ends."))
        return
    frame = metrics_frame(test, run_problem_type(s))  # the CSV: English titles, as the CLI writes it
    shown = {
        _("Metric"): [_(t) for t in frame["title"].tolist()],
        _("Value"): [fmt_value(v) for v in test.values()],
    }
    c = st.columns([2, 1])
    c[0].dataframe(shown, hide_index=True, width="stretch")
    c[1].download_button(
        _("Download CSV"),
        data=safe_csv(frame),
        file_name=f"{run_name}_test_metrics.csv",
        mime="text/csv",
        key=f"{key}-dl-metrics",
        icon=":material/download:",
        on_click="ignore",
        help=_("Test metrics as metric,value rows."),
    )


def logs(s: dict[str, Any]) -> None:
    warnings = [entry for entry in s["logs"] if entry["level"] == "warning"]
    if not s["logs"]:
        return
    label = _("Run log ({messages} messages, {warnings} warnings)").format(
        messages=len(s["logs"]), warnings=len(warnings)
    )
    with st.expander(label, expanded=False):
        for entry in s["logs"]:
            if entry["level"] == "warning":
                st.warning(page_text(entry["message"]), icon=":material/warning:")
            else:
                st.caption(page_text(entry["message"]))
