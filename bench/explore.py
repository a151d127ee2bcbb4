"""Timing the Explore views (Dataset page): the engine alone and the page in Chromium.

```
.venv/bin/python -m bench.explore                       # 19k demo + 100k synthetic, engine and browser
.venv/bin/python -m bench.explore --sets syn100k --parts engine
.venv/bin/python -m bench.explore --no-map             # skip the embedding map (slow on CPU)
.venv/bin/python -m bench.explore --quick              # syn5k only, a 500-point map: about 3 minutes
```

Data sets: ``demo`` is Demo_SubcellularLocalization (19,074 proteins, 13 classes); ``synN`` (e.g.
``syn100k``, ``syn5k``) is a synthetic set written by ``synthetic()``: N proteins with UniProt's
amino-acid frequencies, log-normal lengths (median 300, 20 to 3,000 residues), 10 classes, an id
column, split 80/10/10. The leakage report is switched off (``leakage_report=false``) so that
Preview times the reading and checking, not the alignment (timed by the homology benchmarks).

Engine rows time the ``venus_core`` calls the page makes; browser rows time from the click (or
Enter) until the app is idle again and the view shows its content, on a fresh server per data set;
``server peak MB`` is the server process's peak resident memory (``VmHWM``) at the end. Results go
to ``bench/results/explore.json``; screenshots to ``$VENUS_SCREENSHOTS`` (default ``/tmp/screens``),
``explore-<set>-<view>.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.ui_driver import Server, launch, open_page, wait_idle

RESULTS = Path(__file__).resolve().parent / "results"
SHOTS = Path(os.environ.get("VENUS_SCREENSHOTS", "/tmp/screens"))
AA = np.array(list("ACDEFGHIKLMNPQRSTVWY"))
# UniProtKB/Swiss-Prot amino-acid frequencies (%), in the order of AA
FREQ = np.array([8.25, 1.37, 5.45, 6.75, 3.86, 7.07, 2.27, 5.96, 5.84, 9.66])
FREQ = np.concatenate([FREQ, [2.42, 4.06, 4.70, 3.93, 5.53, 6.56, 5.34, 6.87, 1.08, 2.92]])


def synthetic(folder: Path, n: int, seed: int = 0) -> Path:
    """``n`` random proteins in train/validation/test.csv (columns id, aa_seq, label)."""
    if (folder / "test.csv").exists():
        return folder
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lengths = np.clip(rng.lognormal(np.log(300), 0.6, n).astype(int), 20, 3000)
    text = "".join(AA[rng.choice(20, int(lengths.sum()), p=FREQ / FREQ.sum())].tolist())
    ends = np.cumsum(lengths)
    seqs = [text[e - k : e] for e, k in zip(ends, lengths, strict=True)]
    df = pd.DataFrame(
        {"id": [f"SYN{i:06d}" for i in range(n)], "aa_seq": seqs, "label": rng.integers(0, 10, n)}
    )
    a, b = int(n * 0.8), int(n * 0.9)
    for name, part in (("train", df[:a]), ("validation", df[a:b]), ("test", df[b:])):
        part.to_csv(folder / f"{name}.csv", index=False)
    return folder


def dataset_settings(name: str, work: Path) -> dict[str, Any]:
    if name == "demo":
        return {"dataset": "Demo_SubcellularLocalization", "leakage_report": "false"}
    n = int(float(name[3:].replace("k", "e3")))
    folder = synthetic(work / name, n)
    return {"dataset": str(folder), "problem_type": "single_label_classification", "leakage_report": "false"}


def timed(fn, *args, **kw) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def engine(name: str, settings: dict[str, Any], save_dir: Path, map_points: int | None) -> list[dict]:
    from venus_core import embedding_map, explore, split_shift
    from venus_core.config import RunConfig

    values = {k: v for k, v in settings.items() if k != "leakage_report"}
    cfg = RunConfig().with_values(**values, leakage_report=False, output_dir=str(save_dir))
    rows = []

    def row(view: str, seconds: float, note: str = "") -> None:
        rows.append({"set": name, "part": "engine", "view": view, "seconds": round(seconds, 3), "note": note})

    (task, report), s = timed(explore.check, cfg)
    row("check + load (Preview)", s, f"{sum(len(d) for d in task.splits.values()):,} proteins")
    columns = {k: e["columns"] for k, e in report.stats["splits"].items()}
    ex, s = timed(lambda: explore.Explorer(task, explore.read_ids(task, columns, "aa_seq")))
    row("browse: build tables (+ ids)", s)
    for label, q in (
        ("browse: first page", explore.Query("train")),
        ("browse: search subsequence", explore.Query("train", search="KKLL")),
        ("browse: search motif (regex)", explore.Query("train", search="N[^P][ST][^P]")),
        ("browse: search PROSITE", explore.Query("train", search="C-x(2,4)-C-x(3)-[LIVMFYWC]")),
        (
            "browse: label + length filter, sort",
            explore.Query("train", labels=(1,), length_range=(100, 400), sort="length"),
        ),
    ):
        m, s = timed(ex.matches, q)
        _, s2 = timed(ex.page, m, 1)
        row(label, s + s2, f"{len(m):,} rows")
    comp, s = timed(split_shift.composition, ex)
    row("shift: composition", s)
    _, s = timed(lambda: (split_shift.summary(ex), split_shift.length_bins(ex), split_shift.label_shares(ex)))
    row("shift: summary + lengths + labels", s)
    if map_points:
        req = embedding_map.MapRequest(points=map_points)
        res, s = timed(embedding_map.compute, task, cfg, req)
        row(f"map: {map_points:,} points, sampled ({res.cache})", s, f"{res.n_embedded:,} embedded")
        res, s = timed(embedding_map.compute, task, cfg, req)
        row(f"map: {map_points:,} points again ({res.cache})", s)
    return rows


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def shot(page, name: str, view: str) -> None:
    """The open Explore tab (the page scrolls inside the app, so a full-page shot is the viewport)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"explore-{name}-{view}.png"
    panel = page.locator("[role=tabpanel]:visible").last
    if panel.count():
        panel.screenshot(path=str(path))
    else:
        page.screenshot(path=str(path))


def plot_points(page) -> list[int]:
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(el => (el.data || []).reduce(
            (n, t) => n + Math.max((t.x || []).length, (t.y || []).length, ((t.z || [])).length), 0))"""
    )


def until(page, check, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        page.wait_for_timeout(100)
    raise TimeoutError("the view did not show its content in time")


def browser(name: str, settings: dict[str, Any], save_dir: Path, map_points: int | None, map_timeout: float):
    from playwright.sync_api import sync_playwright

    rows = []
    server = Server(save_dir, timeout=90)
    try:
        with sync_playwright() as pw:
            b = launch(pw)
            page = b.new_context(viewport={"width": 1400, "height": 1800}).new_page()
            page.set_default_timeout(600_000)

            def step(view: str, action, done, timeout: float = 600.0) -> None:
                t0 = time.perf_counter()
                action()
                wait_idle(page, timeout)
                until(page, done, timeout)
                s = time.perf_counter() - t0
                rows.append({"set": name, "part": "browser", "view": view, "seconds": round(s, 2)})
                shot(
                    page,
                    name,
                    "-".join(
                        view.replace(",", "").replace(":", "").replace("(", "").replace(")", "").split()
                    ),
                )
                print(f"  {name:8s} browser  {view:40s} {s:8.2f} s", flush=True)

            link = urllib.parse.urlencode({**settings, "output_dir": str(save_dir)})
            open_page(page, f"{server.url}/Dataset?{link}")
            explore_heading = page.get_by_role("heading", name="Explore")
            step(
                "preview (read, check, first page)",
                lambda: page.get_by_role("button", name="Preview Dataset").click(),
                lambda: explore_heading.count() > 0,
            )
            body = page.locator("[data-testid=stMain]")
            search = page.get_by_role("textbox", name="Search")

            def press(text: str):
                return lambda: (search.fill(text), search.press("Enter"))

            step(
                "browse: search subsequence",
                press("KKLL"),
                lambda: "(id or subsequence)" in body.inner_text(),
            )
            step("browse: search motif", press("N[^P][ST][^P]"), lambda: "(motif)" in body.inner_text())
            step("browse: clear search", press(""), lambda: "match (" not in body.inner_text())
            page_box = page.get_by_role("spinbutton", name="Page")
            step("browse: page 3", lambda: (page_box.fill("3"), page_box.press("Enter")), lambda: True)
            grid = page.locator("[data-testid=stDataFrame]").last
            step(
                "browse: select a row",
                lambda: grid.click(position={"x": 18, "y": 55}),
                lambda: page.locator("[data-testid=stCode]").count() > 0,
            )
            step(
                "split shift",
                lambda: page.get_by_role("tab", name="Split shift").click(),
                lambda: len([p for p in plot_points(page) if p]) >= 3,
            )
            if map_points:
                step(
                    "embedding map: open",
                    lambda: page.get_by_role("tab", name="Embedding map").click(),
                    lambda: True,
                )
                points = page.get_by_role("combobox", name="Points")
                if map_points != 2000:
                    points.click()
                    page.get_by_role("option", name=f"{map_points:,}", exact=True).click()
                    wait_idle(page)
                step(
                    f"embedding map: compute {map_points:,} points",
                    lambda: page.get_by_role("button", name="Compute map").click(),
                    lambda: (
                        any(p >= min(map_points, 1) for p in plot_points(page))
                        and "Stop" not in body.inner_text()
                    ),
                    map_timeout,
                )
            rows.append(
                {
                    "set": name,
                    "part": "browser",
                    "view": "server peak MB",
                    "seconds": round(peak_mb(server.proc.pid)),
                }
            )
            b.close()
    finally:
        server.stop()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", default="demo,syn100k")
    ap.add_argument("--parts", default="engine,browser")
    ap.add_argument("--map-points", type=int, default=2000)
    ap.add_argument("--no-map", action="store_true")
    ap.add_argument("--map-timeout", type=float, default=1800)
    ap.add_argument("--work", type=Path, default=None, help="folder for the synthetic sets (kept)")
    ap.add_argument("--quick", action="store_true", help="syn5k and a 500-point map (overrides --sets)")
    args = ap.parse_args()
    if args.quick:
        args.sets, args.map_points = "syn5k", 500
    work = args.work or Path(tempfile.gettempdir()) / "venus-explore-bench"
    map_points = None if args.no_map else args.map_points
    rows: list[dict] = []
    for name in args.sets.split(","):
        settings = dataset_settings(name, work)
        if "engine" in args.parts:
            for r in engine(name, settings, Path(tempfile.mkdtemp(prefix="engine-", dir=work)), map_points):
                print(
                    f"  {r['set']:8s} engine   {r['view']:40s} {r['seconds']:8.3f} s  {r['note']}", flush=True
                )
                rows.append(r)
        if "browser" in args.parts:
            rows += browser(
                name,
                settings,
                Path(tempfile.mkdtemp(prefix="browser-", dir=work)),
                map_points,
                args.map_timeout,
            )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "explore.json").write_text(json.dumps(rows, indent=1))
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
