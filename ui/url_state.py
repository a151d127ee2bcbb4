"""The settings being edited, in the page's query string: they survive a reload and can be shared.

``encode`` turns the RunConfig fields that differ from the defaults into query parameters named
like the CLI flags (``?num_epochs=7&metrics=accuracy&metrics=mcc``); ``decode`` reads them back,
ignoring, with a warning each, anything that is not a setting, not of the setting's type, not one of
its choices, or that would make the config invalid. No streamlit here: ``ui.state`` does the I/O.

Only plain values go in the link. ``trust_remote_code`` never does: a link must not be able to
switch on running a hub repository's Python code. Secrets (the W&B API key) are not settings at all
and uploaded files are only referred to by their path on this machine, never by their contents.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from venus_core import models
from venus_core.config import FIELD_INFO, RunConfig
from venus_core.errors import VenusError
from venus_core.i18n import N_

NOT_IN_LINK = frozenset({"trust_remote_code"})
FILE_FIELDS = ("train_file", "valid_file", "test_file")
URL_FIELDS = tuple(name for name in FIELD_INFO if name not in NOT_IN_LINK)

Params = dict[str, list[str]]


def _is_tuple(name: str) -> bool:
    return str(FIELD_INFO[name].type).startswith("tuple")


def _to_url(value: Any) -> list[str]:
    """One setting's value as query-string values: None is empty, a tuple is one value per item."""
    if value is None:
        return [""]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, tuple):
        return [_to_url(v)[0] for v in value] or [""]
    if isinstance(value, float):
        return [repr(value)]
    return [str(value)]


def encode(cfg: RunConfig, defaults: RunConfig) -> Params:
    """The query parameters for ``cfg``: its settings that differ from ``defaults``."""
    out: Params = {}
    for name in URL_FIELDS:
        value = cfg.get(name)
        if value == defaults.get(name):
            continue
        if name == "dataset" and value is None and not cfg.data.train_file:
            continue  # no dataset chosen yet: nothing to keep
        out[name] = _to_url(value)
    return out


def _show(name: str, values: list[str]) -> str:
    text = ",".join(values)
    if len(text) > 60:
        text = text[:57] + "…"
    return f"{name}={text}"


def markdown_literal(text: str) -> str:
    """Text from a link as an inline code span: st.markdown shows it as is, no link, image or icon."""
    text = "".join(" " if not c.isprintable() else c for c in text)  # no line break ends the span
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _value_problem(name: str, value: Any) -> str | None:
    """Why a well-typed value is still not acceptable (a choice not in the list, a missing file)."""
    choices = FIELD_INFO[name].metadata.get("choices")
    items = value if isinstance(value, tuple) else (value,)
    if choices:
        wrong = [v for v in items if v is not None and v not in choices]
        if wrong:
            return N_("{values} is not one of {choices}.").format(
                values=", ".join(map(str, wrong)), choices=", ".join(choices)
            )
    if isinstance(value, float) and not math.isfinite(value):
        return N_("not a finite number.")
    if name == "plm_model" and models.find_entry(value) is None and not Path(value).expanduser().is_dir():
        return N_("not a model of the catalogue nor a model folder on this machine.")
    if name in FILE_FIELDS and value is not None and not Path(value).expanduser().is_file():
        return N_("the file does not exist (any more) on this machine.")
    return None


def decode(params: Params, defaults: RunConfig) -> tuple[RunConfig, list[str]]:
    """The config a link describes, and one warning per query parameter that was ignored."""
    warnings: list[str] = []
    accepted: dict[str, Any] = {}
    raw: dict[str, list[str]] = {}
    for name, values in params.items():
        values = [values] if isinstance(values, str) else list(values)
        if name not in FIELD_INFO or name in NOT_IN_LINK:
            why = (
                N_("it is never taken from a link (switch it on yourself on the Model and Method page).")
                if name in NOT_IN_LINK
                else N_("not a setting of this app.")
            )
            warnings.append(f"{_show(name, values)}: {why}")
            continue
        value = ",".join(values) if _is_tuple(name) else (values[-1] if values else "")
        try:
            value = defaults.with_values(**{name: value}).get(name)
        except VenusError as e:
            warnings.append(f"{_show(name, values)}: {e}")
            continue
        problem = _value_problem(name, value)
        if problem:
            warnings.append(f"{_show(name, values)}: {problem}")
            continue
        accepted[name] = value
        raw[name] = values

    # Values fine one by one may still make an invalid config (batch_size=0, a metric of another
    # problem type): drop every value whose removal removes a new problem, until none is left.
    known = set(defaults.problems())
    while accepted:
        new = set(defaults.with_values(**accepted).problems()) - known
        if not new:
            break
        culprits: dict[str, set[str]] = {}
        for name in accepted:
            without = {k: v for k, v in accepted.items() if k != name}
            solved = new - set(defaults.with_values(**without).problems())
            if solved:
                culprits[name] = solved
        if not culprits:
            break  # no single value is to blame: keep them, Start will list the problems
        for name, solved in culprits.items():
            warnings.append(f"{_show(name, raw[name])}: {' '.join(sorted(solved))}")
            del accepted[name]
    return defaults.with_values(**accepted), warnings
