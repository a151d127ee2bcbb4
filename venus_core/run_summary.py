"""The view of a run, derived from its events only: ``RunSummary`` folds them in one at a time.

Pages never share mutable state with the trainer; everything they show (status, phase, progress,
ETA, curves, best epoch, test metrics, log) is derived from the run's events, the live list of a
job or a finished run's ``events.jsonl``, so a refresh, a second tab or a restart rebuilds the
same view. Folding is incremental: a live page asks for the view every second, and each time only
the events that arrived since are folded (``jobs.Job.summary``), so a refresh costs what is new,
not the run's length. ``chart_version`` changes only when something a chart draws changed, so
figures are rebuilt only then.
"""

from __future__ import annotations

from typing import Any

Event = dict[str, Any]
FINAL_STATUSES = ("completed", "aborted", "failed")
_RUN_START_KEYS = (
    "run_dir",
    "config",
    "model_stats",
    "n_train",
    "n_valid",
    "n_test",
    "device",
    "precision",
    "world_size",
    "num_epochs",
    "steps_per_epoch",
    "total_steps",
)


def _initial() -> dict[str, Any]:
    return {
        "status": "pending",
        "message": "",
        "run_dir": None,
        "config": None,
        "model_stats": None,
        "n_train": None,
        "n_valid": None,
        "n_test": None,
        "device": None,
        "precision": None,
        "world_size": None,
        "num_epochs": None,
        "steps_per_epoch": None,
        "total_steps": None,
        "phase": None,
        "phase_epoch": None,
        "phase_progress": None,
        "phase_started": None,  # when the current phase began (its first event)
        "phase_eta": None,  # seconds left in a phase that reports done/total (the embedding cache)
        "fraction": 0.0,
        "elapsed": 0.0,
        "eta": None,
        "loss": None,
        "lr": None,
        "step": None,
        "epoch": None,
        "steps": [],
        "epochs": [],
        "metric_names": [],
        "best": None,
        "test": None,
        "logs": [],
        "started": None,
        "finished": None,
        "resumed_from_epoch": None,
    }


class RunSummary:
    """Everything a page shows about a run, folded from its events (``add``) and read (``view``).

    Not thread-safe by itself: ``jobs.Job`` folds under its own lock.
    """

    def __init__(self) -> None:
        self._s = _initial()
        self._last_step: Event | None = None
        self._segment_start: float | None = None  # first event after the last final status (a resume)
        self._phase_t0: float | None = None
        self._phase_reported: float | None = None  # when the phase's progress was last reported
        self.version = 0  # events folded so far
        self.chart_version = 0  # changes when the curves, the best epoch or the test results change

    def extend(self, events: list[Event]) -> RunSummary:
        for event in events:
            self.add(event)
        return self

    def add(self, ev: Event) -> None:
        s = self._s
        self.version += 1
        kind, t = ev.get("type"), ev.get("time")
        if s["started"] is None and t is not None:
            s["started"] = t
        if kind != "status" and s["status"] in FINAL_STATUSES + ("pending",):
            # The run is (again) under way: the first event of a run, or of a resume.
            s["status"], s["message"], s["finished"] = "running", "", None
            self._segment_start = t
            self._last_step = None
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, ev)

    # -- one method per event type ----------------------------------------------------------------
    def _run_start(self, ev: Event) -> None:
        s = self._s
        for key in _RUN_START_KEYS:
            if key in ev:
                s[key] = ev[key]
        resumed = ev.get("resumed_from_epoch")
        if resumed:
            # A resume goes on from its last checkpoint: what an interrupted epoch did after it
            # (steps, a half-done phase) is not part of the run any more.
            s["resumed_from_epoch"] = resumed
            s["steps"] = [r for r in s["steps"] if (r.get("epoch") or 0) <= resumed]
            s["epochs"] = [r for r in s["epochs"] if (r.get("epoch") or 0) <= resumed]
        self.chart_version += 1

    def _phase(self, ev: Event) -> None:
        s = self._s
        epoch = ev.get("epoch", s["phase_epoch"])  # progress events of a phase leave the epoch out
        if ev.get("phase") != s["phase"] or epoch != s["phase_epoch"]:
            self._phase_t0, self._phase_reported = ev.get("time"), None
            s["phase_started"] = self._phase_t0
            s["phase_eta"] = None
        s["phase"], s["phase_epoch"] = ev.get("phase"), epoch
        # Phases without optimizer steps (the embedding cache) report their own progress: the
        # share of their work done (``work``; runs before it was reported: sequences done / total).
        done, total = ev.get("done", 0), ev.get("total")
        work = ev.get("work", done / total if total else None)
        s["phase_progress"] = work
        t, t0 = ev.get("time"), self._phase_t0
        if work and t is not None and t0 is not None and t > t0:
            s["phase_eta"] = (t - t0) / work * (1.0 - work)
            self._phase_reported = t
        if epoch is not None:
            s["epoch"] = epoch

    def _log(self, ev: Event) -> None:
        entry = {
            "time": ev.get("time"),
            "level": ev.get("level", "info"),
            "message": str(ev.get("message", "")),
        }
        self._s["logs"].append(entry)

    def _step(self, ev: Event) -> None:
        s = self._s
        self._last_step = ev
        s["steps"].append(
            {
                "step": ev.get("step"),
                "epoch": ev.get("epoch"),
                "fraction": ev.get("fraction"),
                "train/loss": ev.get("train/loss"),
                "lr": ev.get("lr"),
            }
        )
        s["loss"], s["lr"], s["step"] = ev.get("train/loss"), ev.get("lr"), ev.get("step")
        if ev.get("epoch") is not None:
            s["epoch"] = ev["epoch"]
        if ev.get("fraction") is not None:
            s["fraction"] = float(ev["fraction"])
        if ev.get("elapsed") is not None:
            s["elapsed"] = float(ev["elapsed"])
        s["eta"] = ev.get("eta")
        self.chart_version += 1

    def _epoch(self, ev: Event) -> None:
        s = self._s
        row = {k: v for k, v in ev.items() if k not in ("type", "time")}
        # A resumed run may repeat an epoch: the later row replaces the earlier one.
        s["epochs"] = [r for r in s["epochs"] if r.get("epoch") != row.get("epoch")] + [row]
        for key in row:
            if key.startswith("val/") and key != "val/loss" and key[4:] not in s["metric_names"]:
                s["metric_names"].append(key[4:])
        self.chart_version += 1

    def _best(self, ev: Event) -> None:
        self._s["best"] = {"epoch": ev.get("epoch"), "monitor": ev.get("monitor"), "value": ev.get("value")}
        self.chart_version += 1

    def _test(self, ev: Event) -> None:
        self._s["test"] = {k[5:]: v for k, v in ev.items() if k.startswith("test/")}
        self.chart_version += 1

    def _status(self, ev: Event) -> None:
        s = self._s
        status = ev.get("status")
        if status in FINAL_STATUSES:
            s["status"], s["message"], s["finished"] = status, ev.get("message") or "", ev.get("time")
            self.chart_version += 1
        elif status:
            s["status"] = status

    # -- reading ----------------------------------------------------------------------------------
    def view(self, now: float | None = None) -> dict[str, Any]:
        """A snapshot (a new dict; lists copied, so it never changes under its reader).

        ``now`` (unix seconds) makes elapsed time and the ETAs tick between events while the run
        is live; without it they are the values of the last event. Metric values may be None.
        """
        s = dict(self._s)
        for key in ("steps", "epochs", "metric_names", "logs"):
            s[key] = list(s[key])
        seg = self._segment_start
        # Elapsed time is that of the last segment (a resumed run does not count the time it was down).
        if s["status"] == "completed":
            s["fraction"], s["eta"] = 1.0, 0.0
        if s["status"] in FINAL_STATUSES:
            if seg is not None and s["finished"] is not None:
                s["elapsed"] = max(s["elapsed"], float(s["finished"]) - float(seg))
            if s["status"] != "completed":
                s["eta"] = None
            s["phase_eta"] = None
        elif now is not None and seg is not None and s["status"] == "running":
            s["elapsed"] = max(0.0, now - float(seg))
            last = self._last_step
            if last is not None and s["eta"] is not None and last.get("time") is not None:
                s["eta"] = max(0.0, float(s["eta"]) - (now - float(last["time"])))
            if s["phase_eta"] is not None and self._phase_reported is not None:
                s["phase_eta"] = max(0.0, s["phase_eta"] - max(0.0, now - self._phase_reported))
        s["best_row"] = _best_row(s)
        s["version"], s["chart_version"] = self.version, self.chart_version
        return s


_HANDLERS = {
    "run_start": RunSummary._run_start,
    "phase": RunSummary._phase,
    "log": RunSummary._log,
    "step": RunSummary._step,
    "epoch": RunSummary._epoch,
    "best": RunSummary._best,
    "test": RunSummary._test,
    "status": RunSummary._status,
}


def summarize(events: list[Event], now: float | None = None) -> dict[str, Any]:
    """The view of a run from all its events at once (a finished run's ``events.jsonl``)."""
    return RunSummary().extend(events).view(now)


def _best_row(s: dict[str, Any]) -> dict[str, Any] | None:
    """The epoch row of the best epoch (all its validation metrics)."""
    best = s.get("best")
    if not best:
        return None
    return next((row for row in s["epochs"] if row.get("epoch") == best.get("epoch")), None)
