"""``python -m ui [streamlit options]``: the dashboard as ``make run`` serves it.

The same as ``streamlit run Home.py`` (which also works), except that what a run needs (torch, the
trainer, the Hugging Face modelling code: ~4 s of imports on a 2-core machine) starts loading as the
server starts rather than when the first page is opened. Measured in Chromium (``bench.browser``):
a Start pressed in the first seconds after opening the page waited 2-3 s for those imports before
the run's first event, and then shared the interpreter with them through its loading phase.
"""

from __future__ import annotations

import sys
from pathlib import Path

HOME = Path(__file__).resolve().parent.parent / "Home.py"


def main(argv: list[str] | None = None) -> None:
    from venus_core.jobs import preload_run_modules

    preload_run_modules()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(HOME), *(sys.argv[1:] if argv is None else argv)]
    cli.main()


if __name__ == "__main__":
    main()
