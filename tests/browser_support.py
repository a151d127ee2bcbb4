"""What the browser tests share: a Streamlit server per test module, Debian's chromium driven by
Playwright (no browser download), and helpers that wait the way a user waits (for the script run to
end, for charts to fill). Screenshots go to ``$VENUS_SCREENSHOTS`` (default ``/tmp/screens``).

Test modules import the fixtures (``server``, ``browser``, ``page``, ``toy_csv``) from here.
"""

from __future__ import annotations

import csv
import json
import os
import random
import time
from pathlib import Path

import pytest

from bench.ui_driver import CHROMIUM, Server, goto_nav, launch, open_page, wait_idle  # noqa: F401

SHOTS = Path(os.environ.get("VENUS_SCREENSHOTS", "/tmp/screens"))

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    save_dir = tmp_path_factory.mktemp("runs")
    try:
        srv = Server(save_dir, timeout=60)
    except RuntimeError as e:
        pytest.fail(str(e))
    try:
        yield {"url": srv.url, "save_dir": save_dir, "log": srv.log_path}
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 2000}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


@pytest.fixture(scope="module")
def toy_csv(tmp_path_factory) -> Path:
    rng = random.Random(1)
    path = tmp_path_factory.mktemp("data") / "peptides.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["aa_seq", "label"])
        for i in range(80):
            label = i % 2
            w.writerow(
                [
                    "".join(rng.choice("KKKKRW" if label else "ADEGLSTV") for _ in range(rng.randint(8, 24))),
                    label,
                ]
            )
    return path


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    wait_idle(page)
    page.wait_for_timeout(600)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def set_number(page, label: str, value) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    wait_idle(page)


def set_text(page, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")
    wait_idle(page)


def chart_points(page) -> list[int]:
    """Number of plotted points of every Plotly chart on the page."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(el => (el.data || []).reduce(
            (n, t) => n + Math.max((t.x || []).length, (t.y || []).length), 0))"""
    )


def live_chart_points(page) -> list[int]:
    """Number of plotted points of every live (SVG) run chart on the page: a live run's curves are
    drawn as static SVG (``ui.live_chart``), not Plotly."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('[data-testid=stHtml] img.venus-live-chart')).map(img =>
            Array.from(atob(img.src.split(',')[1]).matchAll(/<path d="([^"]*)"/g)).reduce(
                (n, m) => n + (m[1].match(/[ML]/g) || []).length, 0))"""
    )


def wait_charts(page, n: int, timeout: float = 30.0) -> list[int]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        points = chart_points(page)
        if len(points) >= n and all(points):
            return points
        page.wait_for_timeout(250)
    return chart_points(page)


def clock_value(page, label: str) -> str:
    """A live clock's text ("Elapsed", "Time left (ETA)"): it ticks in the browser, between refreshes."""
    box = page.locator("[data-testid=stHtml]").filter(has_text=label).first
    return box.locator(".venus-clock").inner_text()


def val_loss_epochs(page) -> list:
    """The epochs of the validation-loss curve on the page (empty when not drawn)."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.js-plotly-plot')).flatMap(el => el.data || [])
            .filter(t => t.name === 'validation loss').flatMap(t => Array.from(t.x || []))"""
    )


def overflowing(page, text: str) -> list[str]:
    """Elements showing ``text`` (or inside one) whose content is cut (ellipsis, clipping)."""
    return page.evaluate(
        """(text) => {
            const main = document.querySelector('[data-testid=stMain]');
            const shown = Array.from(main.querySelectorAll('*')).filter(
                el => el.children.length === 0 && el.textContent.trim() === text);
            const cut = [];
            for (const leaf of shown) {
                for (let el = leaf; el && el !== main; el = el.parentElement) {
                    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible') {
                        cut.push(el.outerHTML.slice(0, 120));
                    }
                }
            }
            return shown.length ? cut : ['not shown: ' + text];
        }""",
        text,
    )


def body_text(page) -> str:
    return page.locator("[data-testid=stMain]").inner_text()


def wait_text(page, text: str, timeout: float = 300.0) -> None:  # generous: CI machines may be slow
    page.get_by_text(text).first.wait_for(timeout=timeout * 1000)


def events(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]


def last_status(run_dir: Path) -> dict:
    return [e for e in events(run_dir) if e["type"] == "status"][-1]


def whole_page_runs(page) -> list[float]:
    """The times of every whole-page script run the server starts for ``page`` from now on: each
    begins with a ``new_session`` message on the app's websocket that names no fragment (a
    fragment's refresh names its own). Call it before the page opens the app."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    runs: list[float] = []

    def on_frame(payload) -> None:
        if isinstance(payload, bytes):
            msg = ForwardMsg()
            msg.ParseFromString(payload)
            if msg.WhichOneof("type") == "new_session" and not msg.metadata.run.fragment_ids:
                runs.append(time.time())

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    return runs
