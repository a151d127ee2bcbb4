"""Widgets bound to RunConfig fields, and how numbers, models, datasets and the library's messages
are written on the pages (in the session's language: ``ui.i18n``)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from ui import i18n, keys, state
from ui.i18n import _, tr
from venus_core import datasets, models, vocab
from venus_core.config import FIELD_INFO, field_help, field_label
from venus_core.errors import VenusError
from venus_core.report import Issue

STATUS_ICONS = {
    "running": ":material/progress_activity:",
    "completed": ":material/check_circle:",
    "aborted": ":material/cancel:",
    "failed": ":material/error:",
    "unfinished": ":material/pause_circle:",
    "pending": ":material/schedule:",
}


def bound(
    name: str,
    widget: Callable[..., Any],
    label: str | None = None,
    *,
    to_widget: Callable[[Any], Any] | None = None,
    from_widget: Callable[[Any], Any] | None = None,
    key: str | None = None,
    help: str | None = None,
    **kwargs: Any,
) -> Any:
    """Render ``widget`` for config field ``name`` and write its value back to the config.

    The widget keeps its own state under ``key`` (default ``w.<name>``), initialised from the
    config the first time it is shown. An invalid value is shown as an error under the widget and
    the config keeps its previous value. The label (the field's own, unless given) and the help
    text are shown in the session's language; a given ``label`` is translated by the caller.
    """
    key = key or keys.field_key(name)
    if "format_func" in kwargs:
        kwargs["format_func"] = i18n.now(kwargs["format_func"])
    current = state.cfg().get(name)
    shown = to_widget(current) if to_widget else current
    shown = list(shown) if isinstance(shown, tuple) else shown
    if key not in st.session_state:
        st.session_state[key] = shown
    kwargs = _with_default(widget, kwargs, shown)
    value = widget(label or _(field_label(name)), key=key, help=help or _(field_help(name)), **kwargs)
    new = from_widget(value) if from_widget else value
    if _norm(new) != _norm(current):
        try:
            state.set_cfg(state.cfg().with_values(**{name: new}))
        except VenusError as e:
            show_error(e)
    return value


# The argument through which each kind of widget takes its default (``value`` for the others).
_DEFAULT_ARG = {st.selectbox: "index", st.radio: "index", st.multiselect: "default"}


def _with_default(widget: Callable[..., Any], kwargs: dict[str, Any], shown: Any) -> dict[str, Any]:
    """``kwargs`` with the widget's default set to the value in use.

    The browser drops the state of a widget whose element it removed, and a widget it mounts again
    starts from the default in the element, while the server may still hold the widget's state and
    so send no value: Streamlit's own default then comes back ("" for a text box, the minimum for a
    number) and is written into the config on the next rerun. Seen in CI as an empty Save
    Directory and Output Model Name after a live run and page changes (its refresh reruns the app
    from inside a fragment). With the config's value as the default, a remount shows the truth.
    (Streamlit logs a warning for a default beside a value set through Session State; the two are
    equal here by construction, so .streamlit/config.toml turns it off.)
    """
    if shown is None:
        return kwargs
    arg = _DEFAULT_ARG.get(widget, "value")
    if arg == "index":
        options = list(kwargs["options"])
        return {**kwargs, "index": options.index(shown) if shown in options else 0}
    return {**kwargs, arg: shown}


def _norm(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


# -- formatting -----------------------------------------------------------------------------------


def fmt_value(v: Any, digits: int = 4) -> str:
    """A metric value for display; undefined (None/NaN) is 'n/a'."""
    if v is None:
        return _("n/a")
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return _("n/a")
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return f"{v:.3e}"
        return f"{v:.{digits}f}"
    return str(v)


def fmt_duration(seconds: float | None) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    if h:
        return _("{h} h {m:02d} min").format(h=h, m=m)
    if m:
        return _("{m} min {s:02d} s").format(m=m, s=s)
    return _("{s} s").format(s=s)


def fmt_gb(gb: float | None) -> str:
    """A memory size given in GB, in MB below 1 GB."""
    if gb is None:
        return _("n/a")
    return f"{gb:.2f} GB" if gb >= 1 else f"{gb * 1000:.0f} MB"


def fmt_params(n: Any) -> str:
    if n is None:
        return _("n/a")
    return f"{models.format_params(int(n))} ({int(n):,})"


def metric_title(name: str, problem_type: str | None = None) -> str:
    """The metric's name on screen: ``Accuracy (per label)`` when ``problem_type`` is multi-label."""
    return _(vocab.metric_title(name, problem_type))


def run_problem_type(s: dict[str, Any]) -> str | None:
    """The problem type of a run summary (``run_summary``), from its run_start config."""
    return ((s.get("config") or {}).get("data") or {}).get("problem_type")


def model_label(plm_model: str) -> str:
    entry = models.find_entry(plm_model)
    if entry is not None:
        if entry.source == "embedded":
            return _("{model} (embedded)").format(model=entry.name.split(" ")[0])
        return entry.name
    return Path(plm_model).name or plm_model


def dataset_label(cfg: Any) -> str:
    d = cfg.data
    if d.train_file:
        return Path(d.train_file).name
    if not d.dataset:
        return _("not set")
    entry = datasets.find_entry(d.dataset)
    return entry.name if entry is not None else d.dataset


# An option name as a word of its own (ASCII boundaries: in Chinese text it has letters around it),
# not a CLI flag (--split_method stays as it is).
_OPTION_NAME = re.compile(
    r"(?<![A-Za-z0-9_-])("
    + "|".join(sorted((n for n in FIELD_INFO if "_" in n), key=len, reverse=True))
    + r")(?![A-Za-z0-9_])"
)


def page_text(message: str) -> str:
    """A message of the library (the data doctor, config validation) as the pages say it: in the
    session's language, option names such as ``label_column_name`` replaced by the page's field
    names (**Label column**)."""
    return _field_names(tr(message))


def issue_text(issue: Issue) -> str:
    """One problem the data doctor found, as a line of a page: ``ERROR <file> row <n>, column <c>:
    <message> (value '<v>'). Fix: <fix>.`` (``Issue.format``), in the session's language."""
    place = [
        _("row {row}").format(row=issue.row) if issue.row is not None else "",
        _("column {column}").format(column=issue.column) if issue.column else "",
    ]
    where = " ".join(p for p in (issue.file or "", i18n.join([p for p in place if p])) if p)
    severity = tr(issue.severity.upper())
    message = tr(issue.message).rstrip(".。")
    if where:
        text = _("{severity} {where}: {message}").format(severity=severity, where=where, message=message)
    else:
        text = _("{severity}: {message}").format(severity=severity, message=message)
    value = issue.to_dict()["value"]
    if value is not None:
        text = _("{text} (value '{value}')").format(text=text, value=value)
    text = i18n.end_sentence(text)
    if issue.fix:
        text = _("{text} Fix: {fix}").format(text=text, fix=i18n.end_sentence(tr(issue.fix)))
    return _field_names(text)


def _field_names(text: str) -> str:
    """Option names replaced by the page's field names, in text already translated."""
    return _OPTION_NAME.sub(lambda m: f"**{_(field_label(m.group(1)))}**", text)


def error_text(e: Exception) -> str:
    """A user-fixable problem's message, in the session's language: the data doctor's errors one
    per line, config problems one per bullet."""
    issues = getattr(e, "issues", None)
    if issues:
        head = _("The data has {n} error(s):").format(n=sum(i.count for i in issues))
        return "\n".join([head, *(f"- {issue_text(i)}" for i in issues)])
    return page_text(str(e))


def show_error(e: Exception) -> None:
    """A user-fixable problem, one message, no traceback."""
    st.error(error_text(e), icon=":material/error:")


def file_uploader(label: str, types: list[str], **kwargs: Any) -> Any:
    """``st.file_uploader`` whose own texts follow the language. Streamlit draws its button
    ("Upload") and its note ("200MB per file • CSV") in English only, with no parameter for them:
    in another language a style hides them and shows the translation in their place."""
    if i18n.current() != i18n.DEFAULT:
        limit = st.get_option("server.maxUploadSize")
        note = _("{size}MB per file • {types}").format(size=limit, types=", ".join(t.upper() for t in types))
        zone = f"section[data-testid=stFileUploaderDropzone][aria-label={_css_string(label)}]"
        replaced = {
            f"{zone} button [data-testid=stMarkdownContainer] p": _("Upload"),
            f"{zone} [data-testid=stFileUploaderDropzoneInstructions] span": note,
        }
        st.html(
            "<style>"
            + "".join(
                f"{where} {{visibility: hidden; font-size: 0}}"
                f"{where}::after {{visibility: visible; font-size: 0.875rem; content: {_css_string(text)}}}"
                for where, text in replaced.items()
            )
            + "</style>"
        )
    return st.file_uploader(label, type=types, **kwargs)


def _css_string(text: str) -> str:
    """``text`` as a CSS string: letters kept, anything else (quotes, backslashes) escaped."""
    safe = " .,:;·•()（）、，："
    return '"' + "".join(c if c.isalnum() or c in safe else f"\\{ord(c):x} " for c in text) + '"'
