"""Session state <-> RunConfig, and the process-wide job registry.

``st.session_state["cfg"]`` holds the RunConfig being edited (one per browser session). Widgets
have explicit keys ``w.<field>``; a widget's state is initialised from the config when the widget
first appears on a page, and every change is written back to the config (see ``ui.widgets``). A
programmatic change of the config (``update``) forgets the widgets of the fields it changed, so they
show the new value on the next run.

The config's settings that differ from the defaults are also kept in the page's query string
(``ui.url_state``): a browser reload starts a new session, which reads them back, and the link can
be shared. Every change of the config goes through ``set_cfg``, which rewrites the query string.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any

import streamlit as st

from ui import url_state
from venus_core.config import RunConfig
from venus_core.jobs import Job, JobRegistry

CFG_KEY = "cfg"
URL_WARNINGS_KEY = "url_warnings"  # query parameters ignored when the session started
RUN_KEY = "run_dir"  # the run this session started or opened last
SAVE_DIR_ENV = "VENUS_SAVE_DIR"  # default Save Directory (tests point it to a temporary folder)


@st.cache_resource
def registry() -> JobRegistry:
    """One job registry per server process: shared by every tab, survives page changes."""
    return JobRegistry()


def initial_config() -> RunConfig:
    """The defaults: the embedded ESM2-8M model on Demo_AMP, so Start works offline at once."""
    cfg = RunConfig()
    save_dir = os.environ.get(SAVE_DIR_ENV)
    if save_dir:
        cfg = cfg.with_values(output_dir=save_dir)
    return cfg


def cfg() -> RunConfig:
    """The config being edited; a new session (a new tab, a reload) starts from the page's link."""
    if CFG_KEY not in st.session_state:
        params = {k: st.query_params.get_all(k) for k in st.query_params}
        start, warnings = url_state.decode(params, initial_config())
        st.session_state[CFG_KEY] = start
        st.session_state[URL_WARNINGS_KEY] = warnings
    return st.session_state[CFG_KEY]


def set_cfg(new: RunConfig) -> None:
    st.session_state[CFG_KEY] = new
    sync_url()


def sync_url() -> None:
    """Write the settings that differ from the defaults into the query string (when it differs)."""
    want = url_state.encode(cfg(), initial_config())
    have = {k: st.query_params.get_all(k) for k in st.query_params}
    if want != have:
        st.query_params.from_dict(want)


def pop_url_warnings() -> list[str]:
    return st.session_state.pop(URL_WARNINGS_KEY, None) or []


def widget_key(name: str) -> str:
    return f"w.{name}"


def update(**values: Any) -> RunConfig:
    """Change config fields from code (buttons, presets); their widgets re-read the config."""
    new = cfg().with_values(**values)
    set_cfg(new)
    for name in values:
        st.session_state.pop(widget_key(name), None)
    return new


def replace_config(new: RunConfig) -> None:
    """Swap the whole config (e.g. "Train the demo") and forget every bound widget."""
    set_cfg(new)
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith("w.")]:
        del st.session_state[key]


def session_id() -> str:
    if "session_id" not in st.session_state:
        st.session_state["session_id"] = uuid.uuid4().hex[:12]
    return st.session_state["session_id"]


def upload_dir() -> Path:
    """This session's upload folder: ``<save dir>/_uploads/<session id>/``."""
    return Path(cfg().output.output_dir).expanduser() / "_uploads" / session_id()


def safe_file_name(name: str) -> str:
    """A plain file name from an uploaded file's name: no folders, no odd characters."""
    base = Path(name.replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip(".")
    return base or "upload"


def save_upload(name: str, data: bytes) -> Path:
    """Write an uploaded file into this session's upload folder (never outside it)."""
    folder = upload_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = (folder / safe_file_name(name)).resolve()
    if path.parent != folder.resolve():  # belt and braces: safe_file_name already strips folders
        raise ValueError(f"upload name {name!r} escapes the upload folder")
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def current_job() -> Job | None:
    """The run to show: the active one, else the one this session started, else the latest."""
    reg = registry()
    active = reg.active()
    if active is not None:
        return active
    mine = st.session_state.get(RUN_KEY)
    if mine:
        job = reg.get(mine)
        if job is not None:
            return job
    return reg.latest()
