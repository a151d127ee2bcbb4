"""One run of the dashboard-overhead measurement, in a fresh process.

``python -m bench.dashboard MODE CONFIG.json RESULT.json [--threads N]``, started by
``bench.run``. MODE ``direct``: ``train(cfg)`` in the main thread, as the headless CLI does.
MODE ``registry``: the run through ``venus_core.jobs.JobRegistry`` (the trainer in the job's
thread) while a reader thread, every second, takes all events and rebuilds the run's summary
(``venus_core.jobs.summarize``); the main thread only waits, like the Streamlit server's. MODE
``figures``: ``registry`` plus the Train page's two Plotly figures, serialised as Streamlit does,
as often as the page's charts fragment redraws them (``ui.run_view.CHARTS_EVERY_S``).

A fresh process per run matters: once a thread has run parallel torch (OpenMP) work, its worker
pool stays alive, and a second thread's parallel work is then slowed by libgomp's throttled
spin-waiting (more OpenMP threads than cores). A long-lived benchmark process would charge that to
the registry; the dashboard's server process has no such thread.
"""

from __future__ import annotations

import argparse
import json
import resource
import threading
import time
from pathlib import Path
from typing import Any

import torch

from bench.run import _cpu_seconds, _cpu_share, _loadavg, summarize_events


def run_direct(cfg) -> dict[str, Any]:
    from venus_core.train import train

    events: list[dict[str, Any]] = []
    c0, t0 = _cpu_seconds(), time.perf_counter()
    result = train(cfg, emit=events.append)
    wall = time.perf_counter() - t0
    out = summarize_events(events)
    out.update(wall_seconds=wall, cpu_share=_cpu_share(_cpu_seconds() - c0, wall), status=result.status)
    if result.status != "completed":
        out["error"] = result.message
    return out


def run_registry(cfg, figures: bool) -> dict[str, Any]:
    from venus_core.jobs import JobRegistry

    try:
        from venus_core.jobs import summarize
    except ImportError:  # an older venus_core: the reader only copies the events
        summarize = None
    charts, charts_every, last_figures = None, 0.0, 0.0
    if figures:
        try:
            from ui import charts  # the dashboard's figures (needs streamlit + plotly)
            from ui.run_view import CHARTS_EVERY_S as charts_every
        except Exception:  # noqa: BLE001 - any import problem just leaves the figures out
            charts = None

    reader = {"polls": 0, "cpu_seconds": 0.0, "wall_seconds": 0.0, "errors": 0}
    done = threading.Event()

    def poll(job) -> None:
        nonlocal last_figures
        while not done.is_set():
            c0, w0 = time.thread_time(), time.perf_counter()
            try:
                events = job.events_since(0)
                view = summarize(events, now=time.time()) if summarize else events
                due = time.time() - last_figures >= charts_every
                if charts is not None and summarize is not None and due:
                    last_figures = time.time()
                    charts.loss_figure(view).to_json()
                    charts.metrics_figure(view).to_json()
            except Exception:  # noqa: BLE001 - a reader failure must not stop the measurement
                reader["errors"] += 1
            reader["cpu_seconds"] += time.thread_time() - c0
            reader["wall_seconds"] += time.perf_counter() - w0
            reader["polls"] += 1
            done.wait(1.0)

    registry = JobRegistry()
    c0, t0 = _cpu_seconds(), time.perf_counter()
    job = registry.start(cfg)
    thread = threading.Thread(target=poll, args=(job,), daemon=True)
    thread.start()
    job.join()
    wall = time.perf_counter() - t0
    cpu = _cpu_seconds() - c0
    done.set()
    thread.join()
    out = summarize_events(job.events_since(0))
    status = getattr(job.result, "status", None) or out.get("status")
    out.update(
        wall_seconds=wall,
        cpu_share=_cpu_share(cpu, wall),
        status=status,
        reader={**reader, "summarize": summarize is not None, "figures": charts is not None},
    )
    if status != "completed":
        out["error"] = getattr(job.result, "message", None) or out.get("message")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard")
    parser.add_argument("mode", choices=("direct", "registry", "figures"))
    parser.add_argument("config")
    parser.add_argument("result")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from venus_core.config import RunConfig

    cfg = RunConfig.load(args.config)
    import venus_core.train  # noqa: F401 - imported before the clock starts, in every mode

    out = run_direct(cfg) if args.mode == "direct" else run_registry(cfg, figures=args.mode == "figures")
    out.update(
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        loadavg=_loadavg(),
        torch_threads=torch.get_num_threads(),
    )
    Path(args.result).write_text(json.dumps(out, indent=2, default=str), encoding="utf-8")
    return 0 if out.get("status") == "completed" else 1


if __name__ == "__main__":
    raise SystemExit(main())
