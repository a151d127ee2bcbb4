"""The data doctor: every problem of a run's data, as actionable lines, plus preview statistics.

``check(cfg)`` is the front door (the ``check`` CLI command and the Dataset page call it). It runs
``data.prepare``, which loads the splits and records the errors found while cleaning and parsing
them (missing columns, unparsable labels, bad residues ...: the checks that need the parser live
beside it, so training and checking share one code path), then ``inspect`` below adds the
warnings that look at the data as a whole (duplicates, leakage, imbalance ...) and the statistics
the Dataset page shows.

A ``Report`` never floods: when one problem repeats on many rows, the first
``MAX_ROWS_PER_PROBLEM`` rows are listed and one line counts the rest.
"""

from __future__ import annotations

from collections.abc import Callable

from venus_core import data
from venus_core.config import RunConfig
from venus_core.homology import Monitor
from venus_core.report import Report, add_unexpected


def check(
    cfg: RunConfig,
    *,
    progress: Callable[[int, int, str], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> Report:
    """Check a run's data (and its task settings). Never raises for a user's mistake.

    Also computes the leakage report (unless ``leakage_report`` is off) and a homology split:
    ``progress(done, total, stage)`` follows them, ``stop()`` returning True ends them.
    """
    try:
        return data.prepare(cfg, monitor=Monitor(progress, stop))[1]
    except Exception as e:  # a bug of ours: still show it as an ERROR line, not a traceback
        report = Report()
        add_unexpected(report, e)
        return report
