"""``python -m ui [streamlit options]``: the dashboard as ``make run`` serves it.

The same as ``streamlit run Home.py`` (which also works), except that what a run needs (torch, the
trainer, the Hugging Face modelling code: ~4 s of imports on a 2-core machine) starts loading as the
server starts rather than when the first page is opened. Measured in Chromium (``bench.browser``):
a Start pressed in the first seconds after opening the page waited 2-3 s for those imports before
the run's first event, and then shared the interpreter with them through its loading phase.

It also leaves out Streamlit's pollers of its ``config.toml`` files (``quiet_config_watchers``).
"""

from __future__ import annotations

import sys
from pathlib import Path

HOME = Path(__file__).resolve().parent.parent / "Home.py"


def quiet_config_watchers() -> None:
    """No polling of Streamlit's ``config.toml`` files while the server runs.

    Streamlit polls every config file it could read (the user's and the project's) five times a
    second, whatever ``server.fileWatcherType`` says, to reload options edited while it runs. Each
    poll wakes a thread that takes the interpreter lock from the trainer: measured on an idle server
    here, 39 context switches/s and 0.65% of a core with them, 10/s and 0.35% without. Options are
    read once at start, as for any server; edit them and restart.
    """
    from streamlit.web import bootstrap

    bootstrap._install_config_watchers = lambda flag_options: None


def main(argv: list[str] | None = None) -> None:
    from venus_core.jobs import preload_run_modules

    preload_run_modules()
    quiet_config_watchers()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(HOME), *(sys.argv[1:] if argv is None else argv)]
    cli.main()


if __name__ == "__main__":
    main()
