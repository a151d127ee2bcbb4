"""``python -m bench.browser [--quick]``: what watching a run costs it, measured as the user watches.

A real browser (Debian's Chromium driven by Playwright) opens the dashboard, starts a run through
the UI and keeps the page open until the run ends; the same ``config.json`` then runs through the
CLI (``python -m venus_core train --config``). Both runs' phases are timed from their own
``events.jsonl``, so the comparison is the one a user would make: the run's own clock.

Workloads:
  demo   Home -> "Train the demo" (freeze, 3 epochs, Demo_AMP, embedded ESM2-8M): mostly the
         frozen backbone's one pass (the embedding cache), then three cheap head-only epochs.
  lora   The Train page opened with a link that sets ``plm-lora``, 1 epoch, on a fixed subset of
         Demo_AMP (``--quick``: smaller), then Start: backbone training, validation and test.

Ways of watching (each in a fresh Streamlit server with a fresh save directory):
  train    the Train page open in one tab for the whole run;
  results  Start on the Train page, then the Results page open on the live run;
  tabs2    two tabs on the Train page;
  closed   Start, then the tab leaves the dashboard: what the server alone costs (reference).

Prints one table (phase seconds, UI / CLI ratio) and writes every number to
``bench/results/browser.json``. Timings are not tests: the exit status is 1 only when a run failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.ui_driver import (
    CHROMIUM,
    ROOT,
    Server,
    browser_cpu_seconds,
    goto_nav,
    launch,
    open_page,
    server_env,
)

DEFAULT_OUT = ROOT / "bench" / "results" / "browser.json"
FINAL = ("completed", "aborted", "failed")
PHASES = ("loading", "caching", "train", "validate", "test", "total")


@dataclass(frozen=True)
class Plan:
    name: str
    repeats: int  # (UI, CLI) pairs per workload and way of watching, order alternating
    lora_rows: tuple[int, int, int]  # train / validation / test rows of the plm-lora subset
    ways: tuple[str, ...]


PLANS = {
    "full": Plan("full", 2, (2000, 250, 250), ("train", "results", "tabs2")),
    "quick": Plan("quick", 1, (600, 100, 100), ("train", "results", "tabs2")),
}


# -- run folders -> phase times ------------------------------------------------------------------


def read_events(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def phase_times(events: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds per phase, from the run's own event clock (the same events for UI and CLI runs)."""
    out = dict.fromkeys(PHASES, 0.0)
    t0 = events[0]["time"]
    marks: list[tuple[str, float]] = []  # (phase, start time)
    end = t0
    for e in events:
        if e["type"] == "phase" and (not marks or marks[-1][0] != e["phase"]):
            marks.append((e["phase"], e["time"]))
        elif e["type"] == "run_start":
            marks.append(("_run_start", e["time"]))
        elif e["type"] in ("epoch", "test"):
            marks.append(("_done", e["time"]))
        elif e["type"] == "status" and e.get("status") in FINAL:
            end = e["time"]
            marks.append(("_done", e["time"]))
    marks.append(("_done", end))
    for (name, start), (_, stop) in zip(marks, marks[1:], strict=False):
        if name in out:
            out[name] += stop - start
    out["total"] = end - t0
    return out


def status_of(run_dir: Path) -> str | None:
    try:
        events = read_events(run_dir)
    except (OSError, json.JSONDecodeError):
        return None
    finals = [e["status"] for e in events if e["type"] == "status" and e.get("status") in FINAL]
    return finals[-1] if finals else None


def only_run(save_dir: Path) -> Path | None:
    runs = [p for p in save_dir.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))]
    return runs[0] if len(runs) == 1 else None


# -- the two ways of running ---------------------------------------------------------------------


def run_cli(config: Path, work: Path) -> dict[str, Any]:
    save_dir = work / "cli"
    save_dir.mkdir(parents=True)
    cmd = [sys.executable, "-m", "venus_core", "train", "--config", str(config)]
    cmd += ["--output_dir", str(save_dir), "--run_name", "cli"]
    t0 = time.time()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, cwd=ROOT, env=server_env(save_dir), capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    run_dir = save_dir / "cli"
    if proc.returncode != 0:
        raise RuntimeError(f"CLI run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return {
        "run_dir": str(run_dir),
        "wall": time.time() - t0,
        "cpu_s": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        "phases": phase_times(read_events(run_dir)),
    }


def run_ui(workload: str, way: str, link: str, work: Path, playwright) -> dict[str, Any]:
    """Start the workload through the UI, watch it the given way until it ends, time its phases."""
    save_dir = work / "ui"
    save_dir.mkdir(parents=True)
    server = Server(save_dir)
    browser = launch(playwright)
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1600})
        page = context.new_page()
        page.set_default_timeout(60_000)
        if workload == "demo":
            open_page(page, server.url)
            clicked = time.time()
            page.get_by_role("button", name="Train the demo").click()
        else:
            open_page(page, f"{server.url}/Train?{link}")
            clicked = time.time()
            page.get_by_role("button", name="Start").click()
        page.get_by_text("Training Progress").first.wait_for(timeout=120_000)
        if way == "results":
            goto_nav(page, "Results")
        elif way == "tabs2":
            second = context.new_page()
            open_page(second, f"{server.url}/Train")
        elif way == "closed":
            page.goto("about:blank")  # the run goes on in the server with no page watching
        cpu0, browser0, t0 = server.cpu_seconds(), browser_cpu_seconds(), time.time()
        run_dir = None
        while True:
            run_dir = run_dir or only_run(save_dir)
            if run_dir is not None and status_of(run_dir) in FINAL:
                break
            if server.proc.poll() is not None:
                raise RuntimeError("the streamlit server exited during the run")
            time.sleep(0.5)
        watched_s = time.time() - t0
        server_cpu = server.cpu_seconds() - cpu0
        browser_cpu = browser_cpu_seconds() - browser0
        status = status_of(run_dir)
        if status != "completed":
            raise RuntimeError(f"the UI run ended {status}: {run_dir}")
        # With no run active, the page open: what the server spends on an idle dashboard (after the
        # page's last refresh of the finished run).
        page.wait_for_timeout(8000)
        cpu1 = server.cpu_seconds()
        page.wait_for_timeout(15_000)
        idle_cpu = (server.cpu_seconds() - cpu1) / 15.0
        context.close()
    finally:
        browser.close()
        server.stop()
    return {
        "run_dir": str(run_dir),
        "config": str(run_dir / "config.json"),
        "server_cpu_s": server_cpu,
        "browser_cpu_s": browser_cpu,
        "watched_s": watched_s,
        "idle_cpu_share": idle_cpu,
        "phases": phase_times(read_events(run_dir)),
        # the click to the run's first event: what the user waits for before the run's own clock starts
        "start_delay_s": read_events(run_dir)[0]["time"] - clicked,
    }


# -- the plm-lora subset -------------------------------------------------------------------------


def lora_dataset(work: Path, rows: tuple[int, int, int]) -> Path:
    """A fixed, seeded subset of Demo_AMP in its own folder (train/validation/test CSVs)."""
    import pandas as pd

    from venus_core import datasets

    entry = datasets.find_entry("Demo_AMP")
    source = Path(entry.dataset)
    folder = work / "amp_subset"
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in zip(("train", "validation", "test"), rows, strict=True):
        df = pd.read_csv(next(source.glob(f"{split}.*")))
        df.sample(n=min(n, len(df)), random_state=0).to_csv(folder / f"{split}.csv", index=False)
    return folder


def lora_link(dataset: Path) -> str:
    return urllib.parse.urlencode(
        {
            "dataset": str(dataset),
            "problem_type": "single_label_classification",
            "num_labels": 2,
            "training_method": "plm-lora",
            "num_epochs": 1,
            "batch_size": 16,
            "num_workers": 0,
        }
    )


# -- driver ---------------------------------------------------------------------------------------


def measure(plan: Plan, workloads: list[str], ways: list[str], keep: bool) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="venus-browser-bench-"))
    link = lora_link(lora_dataset(work, plan.lora_rows)) if "lora" in workloads else ""
    rows: list[dict[str, Any]] = []
    try:
        with sync_playwright() as pw:
            for workload in workloads:
                for way in ways:
                    for rep in range(plan.repeats):
                        pair = work / f"{workload}-{way}-{rep}"
                        ui_first = rep % 2 == 0
                        config = None
                        if not ui_first:
                            config = rows_config(rows, workload)
                        if config is None:
                            ui_first = True
                        results: dict[str, Any] = {}
                        order = ("ui", "cli") if ui_first else ("cli", "ui")
                        for side in order:
                            if side == "ui":
                                results["ui"] = run_ui(workload, way, link, pair, pw)
                                config = Path(results["ui"]["config"])
                            else:
                                results["cli"] = run_cli(config, pair)
                        row = {"workload": workload, "way": way, "repeat": rep, "order": order, **results}
                        rows.append(row)
                        print(format_row(row), flush=True)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    return {"plan": plan.name, "machine": machine(), "rows": rows, "summary": summarize(rows)}


def rows_config(rows: list[dict[str, Any]], workload: str) -> Path | None:
    """A config of an earlier UI run of this workload (identical for every way of watching)."""
    for row in rows:
        if row["workload"] == workload and Path(row["ui"]["config"]).exists():
            return Path(row["ui"]["config"])
    return None


def machine() -> dict[str, Any]:
    import platform

    import torch

    return {
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "processor": platform.processor() or platform.machine(),
        "loadavg_before": os.getloadavg(),
    }


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per workload and way: the UI / CLI ratio of every phase that lasted at least 1 s, as the
    fastest UI time over the fastest CLI time. Other work on the machine only ever adds time, so the
    fastest of the repeats is the closest to each side's own cost (the median is kept beside it)."""
    out: dict[str, Any] = {}
    for key in sorted({(r["workload"], r["way"]) for r in rows}):
        pick = [r for r in rows if (r["workload"], r["way"]) == key]
        ratios: dict[str, float] = {}
        medians: dict[str, float] = {}
        for phase in PHASES:
            timed = [r for r in pick if r["cli"]["phases"][phase] >= 1.0]
            if timed:
                ui = min(r["ui"]["phases"][phase] for r in timed)
                ratios[phase] = ui / min(r["cli"]["phases"][phase] for r in timed)
                each = sorted(r["ui"]["phases"][phase] / r["cli"]["phases"][phase] for r in timed)
                medians[phase] = each[len(each) // 2]
        out["/".join(key)] = {
            "ratio": ratios,
            "median_pair_ratio": medians,
            "idle_cpu_share": max(r["ui"]["idle_cpu_share"] for r in pick),
            "server_cpu_share": max(r["ui"]["server_cpu_s"] / r["ui"]["watched_s"] for r in pick),
            "browser_cpu_share": max(r["ui"].get("browser_cpu_s", 0.0) / r["ui"]["watched_s"] for r in pick),
            "start_delay_s": max(r["ui"].get("start_delay_s", float("nan")) for r in pick),
        }
    return out


def format_row(row: dict[str, Any]) -> str:
    ui, cli = row["ui"]["phases"], row["cli"]["phases"]
    cells = []
    for phase in PHASES:
        if cli[phase] or ui[phase]:
            ratio = f"{ui[phase] / cli[phase]:.2f}x" if cli[phase] >= 1.0 else "-"
            cells.append(f"{phase} {ui[phase]:.1f}/{cli[phase]:.1f} s ({ratio})")
    return f"{row['workload']:5} {row['way']:8} #{row['repeat']}: " + ", ".join(cells)


def format_table(res: dict[str, Any]) -> str:
    lines = [
        "workload  watching  "
        + "  ".join(f"{p:>9}" for p in PHASES)
        + "  start s  browser CPU  server CPU idle",
    ]
    for key, s in res["summary"].items():
        workload, way = key.split("/")
        cells = [f"{s['ratio'][p]:8.2f}x" if p in s["ratio"] else f"{'-':>9}" for p in PHASES]
        shares = f"  {s['start_delay_s']:7.2f}  {s['browser_cpu_share'] * 100:10.1f}%"
        shares += f"  {s['idle_cpu_share'] * 100:14.1f}%"
        lines.append(f"{workload:8}  {way:8}  " + "  ".join(cells) + shares)
    lines.append("(UI / CLI time of each phase, fastest of the repeats each; '-': phase under 1 s;")
    lines.append(
        " start s: seconds from the click on Start to the run's first event, the most of the repeats;"
    )
    lines.append(
        " browser CPU: Chromium's CPU time while the run was watched / that time, the most of the repeats)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="one repeat, a smaller plm-lora subset")
    parser.add_argument("--workloads", default="demo,lora")
    parser.add_argument("--ways", default=None, help="comma-separated: train,results,tabs2,closed")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--keep", action="store_true", help="keep the run folders (printed)")
    ns = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"error: {CHROMIUM} is missing (apt install chromium)", file=sys.stderr)
        return 1
    plan = PLANS["quick" if ns.quick else "full"]
    if ns.repeats:
        plan = Plan(plan.name, ns.repeats, plan.lora_rows, plan.ways)
    ways = ns.ways.split(",") if ns.ways else list(plan.ways)
    random.seed(0)
    try:
        res = measure(plan, ns.workloads.split(","), ways, ns.keep)
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    ns.out.parent.mkdir(parents=True, exist_ok=True)
    ns.out.write_text(json.dumps(res, indent=2))
    print(format_table(res))
    print(f"wrote {ns.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
