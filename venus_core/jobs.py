"""Background training jobs for the dashboard: one run at a time, a thread per run.

The dashboard keeps one ``JobRegistry`` per server process (``st.cache_resource``). A ``Job`` is a
daemon thread running ``train(cfg, emit, should_stop, run_dir)``, a stop flag and an append-only
list of events behind a lock. Pages never share mutable state with the trainer: they read
``summary(now)``, a view derived from the events alone (``run_summary.RunSummary``, folded
incrementally: a refresh costs what arrived since the last one), which is the same view a finished
run's ``events.jsonl`` gives. So a refresh, a second tab or a restart of the server rebuilds the
same view, and a tab that goes away stops nothing.

No Streamlit import here: the worker thread must never touch ``st.*``.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from venus_core import rundir
from venus_core.config import RunConfig
from venus_core.errors import VenusError
from venus_core.i18n import N_
from venus_core.run_summary import FINAL_STATUSES, RunSummary

Event = dict[str, Any]
TrainFn = Callable[..., Any]


class Job:
    """One training run in a background thread."""

    def __init__(
        self,
        config: RunConfig,
        run_dir: Path | None,
        train_fn: TrainFn,
        resume: bool = False,
        history: list[Event] | None = None,
    ) -> None:
        self.config = config
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.resume = resume
        self.started = time.time()
        self.result: Any = None
        self._train_fn = train_fn
        # A resumed run starts from its earlier events, so the view shows its whole history.
        self._events: list[Event] = list(history or [])
        self._own_from = len(self._events)  # events of this job's thread start here
        self._lock = threading.Lock()
        self._summary = RunSummary()
        self._summary_lock = threading.Lock()  # folding, apart from the trainer's appends
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"venus-train-{self.name}", daemon=True)

    # -- identity ---------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        if self.run_dir is not None:
            return self.run_dir.name
        return self.config.output.run_name or "run"

    # -- events (called from the trainer thread) --------------------------------------------------
    def append_event(self, event: Event) -> None:
        """The ``emit`` callback given to the trainer: never blocks, never drops an event."""
        event = dict(event)
        event.setdefault("time", time.time())
        if event.get("type") == "run_start" and event.get("run_dir") and self.run_dir is None:
            self.run_dir = Path(event["run_dir"])
        with self._lock:
            self._events.append(event)

    def events_since(self, index: int = 0) -> list[Event]:
        """A copy of the events from ``index`` on (every reader gets every event)."""
        with self._lock:
            return list(self._events[index:])

    def summary(self, now: float | None = None) -> dict[str, Any]:
        """The run's view (``run_summary``), after folding only the events new since the last call."""
        with self._summary_lock:
            with self._lock:
                new = self._events[self._summary.version :]
            self._summary.extend(new)
            return self._summary.view(now)

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)

    # -- control ----------------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the trainer to stop; it checks the flag at every step and ends with ``aborted``."""
        self._stop.set()

    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True when it has finished."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def status(self) -> str:
        """running, completed, aborted or failed (from the last status event)."""
        final = self._final_event()
        if self.is_alive():
            return "running"
        if final is not None:
            return final["status"]
        return "failed" if self._thread.ident is not None else "pending"

    @property
    def message(self) -> str:
        final = self._final_event()
        return (final or {}).get("message") or ""

    def _final_event(self) -> Event | None:
        with self._lock:
            for event in reversed(self._events[self._own_from :]):
                if event.get("type") == "status" and event.get("status") in FINAL_STATUSES:
                    return event
        return None

    # -- the thread -------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            kwargs: dict[str, Any] = {"resume": True} if self.resume else {}
            self.result = self._train_fn(
                self.config,
                emit=self.append_event,
                should_stop=self.stop_requested,
                run_dir=self.run_dir,
                **kwargs,
            )
        except VenusError as e:  # a user-fixable problem found before or during the run
            self._finish("failed", str(e))
            return
        except BaseException as e:  # noqa: BLE001 - nothing may escape the thread unexplained
            self._finish(
                "failed",
                N_("The run stopped on an unexpected error: {error}").format(
                    error=f"{type(e).__name__}: {e}"
                ),
            )
            return
        run_dir = getattr(self.result, "run_dir", None)
        if run_dir and self.run_dir is None:
            self.run_dir = Path(run_dir)
        if self._final_event() is None:
            # A trainer that returned without a final status event: derive it from its result.
            status = getattr(self.result, "status", None)
            if status not in FINAL_STATUSES:
                status = "aborted" if self.stop_requested() else "completed"
            self._finish(status, getattr(self.result, "message", "") or "")

    def _finish(self, status: str, message: str) -> None:
        event = {"type": "status", "status": status, "message": message, "time": time.time()}
        self.append_event(event)
        if self.run_dir is not None and self.run_dir.is_dir():
            # Keep events.jsonl complete, so the run reads the same after a restart.
            try:
                with open(self.run_dir / "events.jsonl", "a", encoding="utf-8") as f:
                    f.write(json.dumps(event) + "\n")
            except OSError:
                pass


class JobRegistry:
    """All jobs of this process; at most one is active at a time."""

    def __init__(self, train_fn: TrainFn | None = None) -> None:
        self.train_fn = train_fn  # None: venus_core.train.train
        self._jobs: list[Job] = []
        self._lock = threading.Lock()
        self.generation = 0  # runs started so far: a page notices a new run by a changed number

    def start(
        self,
        cfg: RunConfig,
        train_fn: TrainFn | None = None,
        run_dir: str | Path | None = None,
        resume: bool = False,
    ) -> Job:
        """Start a run in the background; refused while another run is active.

        ``resume=True`` continues the interrupted run in ``run_dir`` (its config and checkpoints).
        """
        with self._lock:
            active = self._active_locked()
            if active is not None:
                raise VenusError(
                    N_("A run is already active: {name}. Abort it or wait for it to finish.").format(
                        name=active.name
                    )
                )
            fn = train_fn or self.train_fn or _train_once_loaded
            history: list[Event] = []
            if resume:
                if run_dir is None:
                    raise VenusError("Resume needs the folder of the run to continue.")
                history = read_events_file(run_dir)
            elif run_dir is None:
                run_dir = rundir.new_run_dir(cfg)
            job = Job(cfg, Path(run_dir) if run_dir is not None else None, fn, resume=resume, history=history)
            self._jobs.append(job)
            self.generation += 1
            job.start()
            return job

    def active(self) -> Job | None:
        with self._lock:
            return self._active_locked()

    def _active_locked(self) -> Job | None:
        for job in reversed(self._jobs):
            if job.is_alive():
                return job
        return None

    def latest(self) -> Job | None:
        with self._lock:
            return self._jobs[-1] if self._jobs else None

    def jobs(self) -> list[Job]:
        with self._lock:
            return list(self._jobs)

    def get(self, run_dir: str | Path) -> Job | None:
        target = _same_path_key(run_dir)
        with self._lock:
            for job in reversed(self._jobs):
                if job.run_dir is not None and _same_path_key(job.run_dir) == target:
                    return job
        return None

    def reset(self, timeout: float = 30.0) -> None:
        """Stop every job, wait for the threads and forget them (tests)."""
        for job in self.jobs():
            job.stop()
        deadline = time.time() + timeout
        for job in self.jobs():
            job.join(max(0.0, deadline - time.time()))
        with self._lock:
            self._jobs.clear()


def _same_path_key(path: str | Path) -> str:
    try:
        return str(Path(path).resolve())
    except OSError:
        return str(path)


def _train_once_loaded(cfg: RunConfig, **kwargs: Any) -> Any:
    """``venus_core.train.train``, called in the run's thread once what a run needs is imported: a
    Start pressed while the server's preload is still under way waits for it here (the page shows
    the run as starting) rather than in the page's script, and the run's clock starts with its code
    loaded, as a CLI run's does (measured in Chromium: a demo started 5 s after the server did spent
    its loading phase sharing the interpreter with the preload's imports)."""
    for name in RUN_MODULES:
        importlib.import_module(name)
    from venus_core.train import train

    return train(cfg, **kwargs)


# What a run imports: the trainer and the Hugging Face modelling code it loads lazily (ESM, the
# embedded default). About 3 s of single-threaded Python on a 2-core machine. Imported right after
# Start, they delayed the run ~2 s (in the page's script thread) and then competed with the run's
# first phases for the interpreter lock (profiled with py-spy in the dashboard); a server imports
# them once in the background instead (``preload_run_modules``), before anyone presses Start.
RUN_MODULES = (
    "venus_core.train",
    "venus_core.doctor",
    "safetensors.torch",
    "transformers.modeling_utils",
    "transformers.models.esm.modeling_esm",
)


def preload_run_modules(modules: tuple[str, ...] = RUN_MODULES) -> threading.Thread:
    """Import ``modules`` in a daemon thread (started here, returned for tests to join)."""

    def load() -> None:
        for name in modules:
            # A module that fails here is imported again by the run, which reports the error.
            with contextlib.suppress(Exception):
                importlib.import_module(name)

    thread = threading.Thread(target=load, name="venus-preload", daemon=True)
    thread.start()
    return thread


def read_events_file(path: str | Path) -> list[Event]:
    """Events of a run from its folder or its ``events.jsonl`` (see ``rundir.read_events``)."""
    path = Path(path)
    return rundir.read_events(path if path.is_dir() or not path.name.endswith(".jsonl") else path.parent)
