"""Session state <-> RunConfig, the settings kept on disk, and the process-wide job registry.

``st.session_state[keys.CFG]`` holds the RunConfig being edited: the draft of the next run, one per
browser session. Widgets have explicit keys ``w.<field>``; a widget's state is initialised from the
config when the widget first appears on a page, and every change is written back to the config
(see ``ui.widgets``). A programmatic change of the config (``update``) forgets the widgets of the
fields it changed, so they show the new value on the next run.

Every change of the draft goes through ``set_cfg``, which keeps it in two places:
- the page's query string (``ui.url_state``): the settings that differ from the defaults, so a
  reload restores them and the link can be shared;
- the save directory (``<save dir>/_dashboard/draft.json``), so a new tab or a page opened without
  the link starts from this user's latest settings, not from the defaults.
A new session takes the link when it has settings, else the draft on disk, else the newest run's
config, else the defaults.

The dashboard's own preferences (the language) are kept the same two ways: in the link (``?lang=zh``,
not a setting of the run) and in ``<save dir>/_dashboard/preferences.json``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import streamlit as st

from ui import keys, url_state
from venus_core import rundir
from venus_core.config import RunConfig
from venus_core.errors import VenusError
from venus_core.i18n import N_
from venus_core.jobs import Job, JobRegistry, preload_run_modules

SAVE_DIR_ENV = "VENUS_SAVE_DIR"  # default Save Directory (tests point it to a temporary folder)
DASHBOARD_DIR = "_dashboard"  # inside the default save directory: the dashboard's own files
DRAFT_FILE = "draft.json"
PREFERENCES_FILE = "preferences.json"
# Never restored from a file or a link: running a hub repository's code is switched on by hand.
NOT_RESTORED = {"trust_remote_code": False}


@st.cache_resource
def registry() -> JobRegistry:
    """One job registry per server process: shared by every tab, survives page changes. Its
    creation starts importing what a run needs, in the background, so Start begins at once."""
    preload_run_modules()
    return JobRegistry()


def initial_config() -> RunConfig:
    """The defaults: the embedded ESM2-8M model on Demo_AMP, so Start works offline at once."""
    cfg = RunConfig()
    save_dir = os.environ.get(SAVE_DIR_ENV)
    if save_dir:
        cfg = cfg.with_values(output_dir=save_dir)
    return cfg


def draft_path() -> Path:
    """Where the draft is kept: the default save directory (found before any setting is read)."""
    return Path(initial_config().output.output_dir).expanduser() / DASHBOARD_DIR / DRAFT_FILE


def stored_draft() -> RunConfig | None:
    """The draft a new session starts from: the one on disk, else the newest run's config."""
    try:
        return RunConfig.load(draft_path()).with_values(**NOT_RESTORED)
    except VenusError:
        pass
    job = registry().latest()
    if job is not None:
        return job.config.with_values(run_name=None, **NOT_RESTORED)
    save_dir = initial_config().output.output_dir
    latest = rundir.latest_run_config(save_dir)
    if latest is None:
        return None
    # Its settings, in the save directory it was found in (a copied run may name another one).
    return latest.with_values(run_name=None, output_dir=save_dir, **NOT_RESTORED)


def _save_draft(cfg: RunConfig) -> None:
    # A read-only save directory: the draft lives in the link and the session only.
    with contextlib.suppress(OSError):
        rundir.write_text(draft_path(), cfg.with_values(**NOT_RESTORED).to_json())


def preferences_path() -> Path:
    return draft_path().with_name(PREFERENCES_FILE)


def read_preference(name: str) -> Any:
    """One of the dashboard's preferences saved on this machine (None when there is none)."""
    try:
        saved = json.loads(preferences_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return saved.get(name) if isinstance(saved, dict) else None


def save_preference(name: str, value: Any) -> None:
    """Remember a preference for the next tab or session (not at all in a read-only save directory)."""
    try:
        saved = json.loads(preferences_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        saved = {}
    if not isinstance(saved, dict):
        saved = {}
    saved[name] = value
    with contextlib.suppress(OSError):
        rundir.write_text(preferences_path(), json.dumps(saved, indent=2, sort_keys=True))


def _setting_params() -> dict[str, list[str]]:
    """The link's query parameters that are settings of the run (not the dashboard's own)."""
    return {k: st.query_params.get_all(k) for k in st.query_params if k != keys.LANG_PARAM}


def cfg() -> RunConfig:
    """The draft being edited; a new session (a new tab, a reload) starts as the module says."""
    if keys.CFG not in st.session_state:
        params = _setting_params()
        if params:
            start, warnings = url_state.decode(params, initial_config())
        else:
            start, warnings = stored_draft() or initial_config(), []
        st.session_state[keys.CFG] = start
        st.session_state[keys.URL_WARNINGS] = warnings
    return st.session_state[keys.CFG]


def set_cfg(new: RunConfig) -> None:
    old = st.session_state.get(keys.CFG)
    st.session_state[keys.CFG] = new
    if new != old:
        _save_draft(new)
    sync_url()


def sync_url() -> None:
    """Write the settings that differ from the defaults into the query string (when it differs)."""
    want = url_state.encode(cfg(), initial_config())
    lang = st.session_state.get(keys.LANG)
    if lang and lang != "en":
        want[keys.LANG_PARAM] = [lang]
    have = {k: st.query_params.get_all(k) for k in st.query_params}
    if want != have:
        st.query_params.from_dict(want)


def pop_url_warnings() -> list[str]:
    return st.session_state.pop(keys.URL_WARNINGS, None) or []


def update(**values: Any) -> RunConfig:
    """Change config fields from code (buttons, presets); their widgets re-read the config."""
    new = cfg().with_values(**values)
    set_cfg(new)
    for name in values:
        st.session_state.pop(keys.field_key(name), None)
    return new


def replace_config(new: RunConfig) -> None:
    """Swap the whole config (e.g. "Train the demo") and forget every bound widget."""
    set_cfg(new)
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(keys.FIELD_PREFIX)]:
        del st.session_state[key]


def session_id() -> str:
    if keys.SESSION_ID not in st.session_state:
        st.session_state[keys.SESSION_ID] = uuid.uuid4().hex[:12]
    return st.session_state[keys.SESSION_ID]


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
        raise ValueError(N_("upload name {name} escapes the upload folder").format(name=repr(name)))
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
    mine = st.session_state.get(keys.RUN)
    if mine:
        job = reg.get(mine)
        if job is not None:
            return job
    return reg.latest()


def remember_run(job: Job) -> None:
    st.session_state[keys.RUN] = str(job.run_dir) if job.run_dir else None


def config_json(cfg: RunConfig) -> str:
    """A config as stable JSON (a cache key)."""
    return json.dumps(cfg.to_dict(), sort_keys=True)
