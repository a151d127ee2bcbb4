"""The data doctor's report: every problem of a run's data, as actionable lines.

A ``Report`` never floods: when one problem repeats on many rows, the first
``MAX_ROWS_PER_PROBLEM`` rows are listed and one line counts the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from venus_core.errors import VenusError
from venus_core.i18n import N_, plural
from venus_core.jsonvalues import jsonable

MAX_ROWS_PER_PROBLEM = 5


@dataclass
class Issue:
    """One problem of the data or the config. ``row`` is the 1-based data row in ``file``."""

    severity: str  # "error" or "warning"
    message: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    value: Any = None
    fix: str | None = None
    kind: str = ""  # stable code ("bad_label", "leakage" ...), for grouping, tests and the UI
    count: int = 1  # how many rows this line stands for (> 1 only on an "... and N more" line)

    def format(self) -> str:
        """``ERROR <file> row <n>, column <col>: <message> (value '<v>'). Fix: <fix>``."""
        place = ", ".join(
            p
            for p in (
                f"row {self.row}" if self.row is not None else None,
                f"column {self.column}" if self.column else None,
            )
            if p
        )
        where = " ".join(p for p in (self.file, place) if p)
        text = f"{self.severity.upper()}{' ' + where if where else ''}: {self.message.rstrip('.')}"
        if self.value is not None:
            text += f" (value '{_short(self.value)}')"
        text = _end_sentence(text)
        if self.fix:
            text += " Fix: " + _end_sentence(self.fix)
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "kind": self.kind,
            "message": self.message,
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "value": None if self.value is None else _short(self.value),
            "fix": self.fix,
            "count": self.count,
        }


@dataclass
class Report:
    """Errors and warnings of one check, and the statistics for the Dataset page."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    # (severity, kind, file, column) -> [rows listed so far, the "... and N more" issue or None]
    _groups: dict[tuple, list] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, issue: Issue) -> None:
        """Record an issue; past ``MAX_ROWS_PER_PROBLEM`` rows of one problem, only count them. The
        same problem in several files (a column missing from train, validation and test) is one
        issue naming every file."""
        target = self.errors if issue.severity == "error" else self.warnings
        if issue.row is None:
            same = next(
                (
                    i
                    for i in target
                    if i.row is None
                    and i.file
                    and issue.file
                    and (i.kind, i.message, i.column, i.fix)
                    == (issue.kind, issue.message, issue.column, issue.fix)
                ),
                None,
            )
            if same is None:
                target.append(issue)
            elif issue.file not in same.file.split(", "):
                same.file = f"{same.file}, {issue.file}"
            return
        key = (issue.severity, issue.kind or issue.message, issue.file, issue.column)
        group = self._groups.setdefault(key, [0, None])
        if group[0] < MAX_ROWS_PER_PROBLEM:
            group[0] += 1
            target.append(issue)
            return
        more = group[1]
        if more is None:
            more = group[1] = Issue(
                issue.severity, "", issue.file, None, issue.column, None, issue.fix, issue.kind, 0
            )
            target.append(more)
        more.count += 1
        more.message = N_("... and {count} more rows with the same problem").format(count=more.count)

    def error(self, message: str, **kw: Any) -> None:
        self.add(Issue("error", message, **kw))

    def warning(self, message: str, **kw: Any) -> None:
        self.add(Issue("warning", message, **kw))

    @property
    def n_errors(self) -> int:
        """Problems found, counting every row (a "... and N more" line counts N)."""
        return sum(i.count for i in self.errors)

    @property
    def n_warnings(self) -> int:
        return sum(i.count for i in self.warnings)

    def summary(self) -> str:
        text = f"{_plural(self.n_errors, 'error')}, {_plural(self.n_warnings, 'warning')}"
        sizes = {k: v.get("n", 0) for k, v in self.stats.get("splits", {}).items()}
        if sizes:
            text += ". Splits: " + ", ".join(f"{k} {n}" for k, n in sizes.items())
        return text + "."

    def format(self) -> str:
        """One line per issue (errors first), then the summary line."""
        return "\n".join(
            [*(i.format() for i in self.errors), *(i.format() for i in self.warnings), self.summary()]
        )

    def format_errors(self) -> str:
        """The errors only, for a ``VenusError`` message."""
        head = f"The data has {_plural(self.n_errors, 'error')}:"
        return "\n".join([head, *(i.format() for i in self.errors)])

    def exception(self) -> VenusError:
        """A ``VenusError`` listing the errors; it carries them (``issues``) for the dashboard."""
        error = VenusError(self.format_errors())
        error.issues = list(self.errors)
        return error

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "summary": self.summary(),
            "errors": [i.to_dict() for i in self.errors],
            "warnings": [i.to_dict() for i in self.warnings],
            "stats": self.stats,
        }


def add_unexpected(report: Report, e: BaseException) -> None:
    """Record an exception that is not a user's mistake as an ERROR line (no traceback)."""
    report.error(
        N_("Unexpected problem while checking the data: {error}").format(
            error=f"{type(e).__name__}: {one_line(str(e))}"
        ),
        kind="unexpected",
        fix=N_("check the inputs named above; if they look right, please report this message"),
    )


def _end_sentence(text: str) -> str:
    return text if text.endswith((".", "?", "!", "…")) else text + "."


def truncate(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n] + "…"


def _short(value: Any, n: int = 40) -> str:
    return truncate(one_line(str(jsonable(value))), n)


def one_line(text: str, n: int = 500) -> str:
    return truncate(" ".join(text.split()), n)


def n_sequences_text(n: int) -> str:
    return plural(n, N_("{n} sequence"), N_("{n} sequences"))


def n_classes_text(n: int) -> str:
    return plural(n, N_("{n} class"), N_("{n} classes"))


def _plural(n: int, word: str) -> str:
    """``1 error``, ``2 errors``, ``2 classes``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}{'es' if word.endswith('s') else 's'}"
