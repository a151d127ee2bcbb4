"""Every ``st.session_state`` key of the dashboard, in one place.

Widgets bound to a RunConfig field use ``field_key(name)`` (``w.<field>``); the keys below are the
session's other state and the widgets that are not config fields.
"""

from __future__ import annotations

FIELD_PREFIX = "w."


def field_key(name: str) -> str:
    """The widget key of the RunConfig field ``name`` (see ``ui.widgets.bound``)."""
    return FIELD_PREFIX + name


# -- session state -------------------------------------------------------------------------------
CFG = "cfg"  # the RunConfig being edited (the draft of the next run)
URL_WARNINGS = "url_warnings"  # query parameters ignored when the session started
RUN = "run_dir"  # the run this session started or opened last
SESSION_ID = "session_id"  # names this session's upload folder
START_PROBLEMS = "start_problems"  # (config, problems) of the last refused Start
DATASET_PREVIEW = "dataset_preview"  # (data config, doctor report) of the last Preview Dataset
UPLOADED = "uploaded_ids"  # uploader file id -> path of the saved copy
DATASET_MODE_CHOICE = "dataset_mode_choice"  # "Upload Local Files" chosen before any file came
STATS_ASKED = "stats_asked"  # Model Statistics asked for a hub model (its config is read then)
SHOW_COMMAND = "show_command"  # Preview Command toggled on
PREDICTIONS = "predictions"  # (run dir, input signature, table) of the last Predict
LANG = "lang"  # this session's language ("en", "zh"): see ui.i18n
LANG_PARAM = "lang"  # the query parameter that keeps it in the link

# -- widgets that are not config fields ----------------------------------------------------------
DATASET_MODE = "w.dataset_mode"
PREDEFINED = "w.predefined"
UPLOADER = "uploader"
MODEL_SOURCE = "w.model_source"
PLM_SELECT = "w.plm_select"
PLM_LOCAL = "w.plm_local"
OPEN_RUN = "open_run"
COMPARE_RUNS = "compare_runs"
COMPARE_KEY = "compare_key"
PREDICT_TEXT = "predict_text"
PREDICT_UPLOAD = "predict_upload"
RESULTS_SAVE_DIR = "w.output_dir@results"

# -- Explore (Dataset page, after Preview Dataset) -------------------------------------------------
EXPLORE_DATA = "explore_data"  # (data config, Explorer, TaskData) of the last Preview Dataset
EXPLORE_QUERY = "explore_query"  # the Browse query of the last run (a new query starts at page 1)
EXPLORE_TAB = "x.explore_tab"
EXPLORE_SPLIT = "x.explore_split"
EXPLORE_SEARCH = "x.explore_search"
EXPLORE_LABELS = "x.explore_labels"
EXPLORE_VALUES = "x.explore_values"
EXPLORE_LENGTH = "x.explore_length"
EXPLORE_SORT = "x.explore_sort"
EXPLORE_DESCENDING = "x.explore_descending"
EXPLORE_PAGE = "x.explore_page"
EXPLORE_TABLE = "x.explore_table"  # + the page's signature: each page starts with no row selected
MAP_POINTS = "x.map_points"
MAP_PROJECTION = "x.map_projection"
MAP_WHOLE = "x.map_whole"
MAP_COLOUR = "x.map_colour"
MAP_START = "x.map_start"
MAP_STOP = "x.map_stop"
EXPLORE_PREFIX = "x."  # every Explore widget: forgotten when new data is previewed

LANG_SWITCH = "lang_switch"
