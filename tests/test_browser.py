"""The dashboard in a real browser: Debian's chromium driven by Playwright (no browser download).

Starts ``streamlit run Home.py`` on a free port with the save directory in a temporary folder,
then, through the UI only: uploads a CSV, picks a local tiny ESM model, trains, watches the charts
fill, reloads the page, downloads the test metrics CSV, opens Results, and aborts a second run.
Screenshots of every page go to ``$VENUS_SCREENSHOTS`` (default ``/tmp/screens``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("VENUS_SCREENSHOTS", "/tmp/screens"))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    save_dir = tmp_path_factory.mktemp("runs")
    port = free_port()
    env = {
        **os.environ,
        "VENUS_SAVE_DIR": str(save_dir),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    log_path = save_dir.parent / "streamlit.log"
    command = [sys.executable, "-m", "streamlit", "run", "Home.py", "--server.port", str(port)]
    command += ["--server.headless", "true", "--server.fileWatcherType", "none"]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://localhost:{port}"
        try:
            wait_healthy(url, proc, log_path)
            yield {"url": url, "save_dir": save_dir, "log": log_path}
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_healthy(url: str, proc: subprocess.Popen, log_path: Path, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail("streamlit did not start: " + log_path.read_text()[-2000:])


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
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


def open_page(page, url: str) -> None:
    page.goto(url)
    page.locator("[data-testid=stMain] h1").first.wait_for()
    wait_idle(page)


def wait_idle(page, timeout: float = 30.0) -> None:
    """Until the script run is over (the status widget stops showing 'Running')."""
    page.wait_for_timeout(300)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if page.locator("[data-testid=stStatusWidget]").count() == 0:
            return
        page.wait_for_timeout(200)


def goto_nav(page, label: str) -> None:
    page.locator("[data-testid=stSidebarNav]").get_by_text(label, exact=True).click()
    page.get_by_role("heading", name=label, exact=True).first.wait_for()
    wait_idle(page)


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


def wait_charts(page, n: int, timeout: float = 30.0) -> list[int]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        points = chart_points(page)
        if len(points) >= n and all(points):
            return points
        page.wait_for_timeout(250)
    return chart_points(page)


def metric_value(page, label: str) -> str:
    metric = page.locator("[data-testid=stMetric]").filter(has_text=label).first
    return metric.locator("[data-testid=stMetricValue]").inner_text()


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


def configure(page, server, tiny_esm, toy_csv, epochs: int, run_name: str) -> None:
    """Upload the CSV, pick the local tiny model, set the training parameters: all through the UI."""
    goto_nav(page, "Dataset")
    page.get_by_text("Upload Local Files", exact=True).click()
    wait_idle(page)
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(str(toy_csv))
    page.get_by_text("Training file", exact=True).wait_for()
    wait_idle(page)
    set_number(page, "Number of Labels", 2)

    goto_nav(page, "Model and Method")
    page.get_by_text("Local folder", exact=True).click()
    wait_idle(page)
    set_text(page, "Local model folder", str(tiny_esm))

    goto_nav(page, "Train")
    set_number(page, "Number of Epochs", epochs)
    set_number(page, "Early Stopping Patience", epochs)
    set_number(page, "Batch Size", 8)
    set_number(page, "Number of Workers", 0)
    set_text(page, "Run name (optional)", run_name)


def test_every_page_renders(page, server):
    open_page(page, server["url"])
    assert "Venus Fine-tune" in body_text(page)
    shot(page, "01_home")
    for label, name in (
        ("Dataset", "02_dataset"),
        ("Model and Method", "03_model"),
        ("Train", "04_train"),
        ("Results", "05_results_empty"),
    ):
        goto_nav(page, label)
        assert page.locator("[data-testid=stException]").count() == 0
        shot(page, name)
    goto_nav(page, "Dataset")
    page.get_by_role("button", name="Preview Dataset").click()
    page.get_by_text("Train sequences").wait_for()
    wait_idle(page)
    assert len(wait_charts(page, 2)) == 2
    shot(page, "02_dataset_preview")
    goto_nav(page, "Model and Method")
    page.get_by_text("Trainable share").wait_for(timeout=60_000)
    shot(page, "03_model_statistics")


def test_train_end_to_end(page, server, tiny_esm, toy_csv):
    open_page(page, server["url"])
    configure(page, server, tiny_esm, toy_csv, epochs=20, run_name="ui-run")
    page.get_by_role("button", name="Preview Command").click()
    wait_idle(page)
    assert "python -m venus_core train" in page.locator("[data-testid=stCode]").inner_text()

    page.get_by_role("button", name="Start").click()
    page.get_by_text("Training Progress").wait_for()
    wait_text(page, "Training completed")
    wait_idle(page)
    # The charts refresh every few seconds only, but are drawn once more when the run ends: without a
    # reload they hold the last epoch as soon as the run is shown completed.
    epochs = [e["epoch"] for e in events(server["save_dir"] / "ui-run") if e["type"] == "epoch"]
    deadline = time.time() + 1
    while time.time() < deadline and max(val_loss_epochs(page) or [0]) != epochs[-1]:
        page.wait_for_timeout(100)
    assert max(val_loss_epochs(page) or [0]) == epochs[-1], (val_loss_epochs(page), epochs)
    shot(page, "06_train_done")
    assert "Best Performance" in body_text(page) and "Test Results" in body_text(page)

    # a refresh shows the same run with its full history
    page.reload()
    page.locator("[data-testid=stMain] h1").first.wait_for()
    wait_text(page, "Training completed")
    assert "ui-run" in body_text(page)
    wait_idle(page)
    points = wait_charts(page, 2)
    assert len(points) == 2 and min(points) > 0

    # Download CSV: the test metrics, as metric,value rows
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").click()
    text = Path(info.value.path()).read_text()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["metric", "value"]
    names = [r[0] for r in rows[1:]]
    assert {"loss", "accuracy", "mcc", "auroc"} <= set(names)
    for _, value in rows[1:]:
        assert value == "" or float(value) == float(value)  # numbers, or empty when undefined

    goto_nav(page, "Results")
    assert page.get_by_role("combobox", name="Open Run").input_value() == "ui-run · Completed"
    page.get_by_role("tab", name="Test Results").click()
    page.get_by_role("button", name="Download predictions CSV").wait_for()
    with page.expect_download() as info:
        page.get_by_role("button", name="Download predictions CSV").click()
    preds = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
    assert preds and {"aa_seq", "label", "prediction", "prob_0", "prob_1"} <= set(preds[0])
    shot(page, "07_results_test")
    page.get_by_role("tab", name="Run", exact=True).click()
    shot(page, "08_results_run")
    assert last_status(server["save_dir"] / "ui-run")["status"] == "completed"


def test_abort(page, server, tiny_esm, toy_csv):
    open_page(page, server["url"])
    configure(page, server, tiny_esm, toy_csv, epochs=3000, run_name="ui-abort")
    page.get_by_role("button", name="Start").click()
    page.get_by_text("Training Progress").wait_for()
    # the charts fill while the run goes on (the fragment refreshes every second)
    seen: list[int] = []
    deadline = time.time() + 120
    while time.time() < deadline and not (len(seen) >= 3 and seen[-1] > seen[0] > 0):
        points = chart_points(page)
        seen.append(sum(points) if len(points) == 2 else 0)
        page.wait_for_timeout(500)
    assert len(seen) >= 3 and seen[-1] > seen[0] > 0, seen
    assert "Training completed" not in body_text(page)
    # The progress (Elapsed) changes every second; the charts, costlier to draw, every few seconds.
    progress_changes = chart_changes = 0
    elapsed, points = metric_value(page, "Elapsed"), chart_points(page)
    deadline = time.time() + 60
    while progress_changes < 8 and time.time() < deadline:
        page.wait_for_timeout(200)
        now_elapsed, now_points = metric_value(page, "Elapsed"), chart_points(page)
        progress_changes += now_elapsed != elapsed
        elapsed = now_elapsed
        if len(now_points) == 2 and all(now_points):  # skip a chart caught while being redrawn
            chart_changes += now_points != points
            points = now_points
    assert progress_changes >= 8 and chart_changes <= 3, (progress_changes, chart_changes)
    shot(page, "09_train_running")
    page.get_by_role("button", name="Abort").click()
    page.get_by_text("Aborted", exact=True).first.wait_for(timeout=60_000)  # the Phase metric
    shot(page, "10_train_aborted")
    status = last_status(server["save_dir"] / "ui-abort")
    assert status["status"] == "aborted"
    # the app stays usable: the aborted run is in the history, with its finished epochs
    goto_nav(page, "Results")
    assert page.get_by_role("combobox", name="Open Run").input_value() == "ui-abort · Aborted"
    page.get_by_role("button", name="Resume").wait_for()
    shot(page, "11_results_history")


def test_caching_phase_is_readable(browser, server):
    """The longest phase name, shown while the demo computes its embeddings, is not cut at laptop widths."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        open_page(page, server["url"])
        page.get_by_role("button", name="Train the demo").click()
        wait_text(page, "Computing backbone embeddings (once)", timeout=120)
        for width in (1280, 1024):
            page.set_viewport_size({"width": width, "height": 900})
            page.wait_for_timeout(300)
            assert not overflowing(page, "Computing backbone embeddings (once)"), width
        page.screenshot(path=str(SHOTS / "12_train_caching.png"), full_page=True)
        page.get_by_role("button", name="Abort").click()
        page.get_by_text("Aborted", exact=True).first.wait_for(timeout=120_000)
    finally:
        context.close()


def test_settings_survive_a_reload(page, server):
    open_page(page, server["url"])
    goto_nav(page, "Train")
    set_number(page, "Number of Epochs", 7)
    page.get_by_text("Scheduler Type").wait_for()
    page.get_by_role("combobox", name="Scheduler Type").click()
    page.get_by_role("option", name="cosine").click()
    wait_idle(page)
    page.wait_for_function("() => location.search.includes('scheduler=cosine')")
    assert "num_epochs=7" in page.url
    page.reload()
    page.locator("[data-testid=stMain] h1").first.wait_for()
    wait_idle(page)
    assert page.get_by_label("Number of Epochs", exact=True).input_value() == "7"
    assert page.get_by_role("combobox", name="Scheduler Type").input_value() == "cosine"
    # another page keeps the link, and a reload there keeps the settings too
    goto_nav(page, "Model and Method")
    page.wait_for_function("() => location.search.includes('num_epochs=7')")
    page.reload()
    page.locator("[data-testid=stMain] h1").first.wait_for()
    wait_idle(page)
    goto_nav(page, "Train")
    assert page.get_by_label("Number of Epochs", exact=True).input_value() == "7"
    assert "in the link were ignored" not in body_text(page)
    shot(page, "13_train_after_reload")
    # a link with stale values: a warning, the defaults, and the page works
    bad = {
        "num_epochs": "many",
        "scheduler": "sometimes",
        "run_name": "[click](http://example.invalid/x.png)",  # shown as text, never as a link
        "device": ":material/home: ![img](http://example.invalid/y.png)",
        "patience": "4",
    }
    open_page(page, server["url"] + "/Train?" + urllib.parse.urlencode(bad))
    box = page.locator("[data-testid=stAlertContentWarning]").first
    warning = box.inner_text()
    assert "Some settings in the link were ignored" in warning
    for name in ("num_epochs", "scheduler", "run_name"):
        assert f"{name}={bad[name]}" in warning, warning
    assert "![img](http://example.invalid/y.png)" in warning  # shown as text: no link, image or icon
    assert box.locator("a, img, [data-testid=stIconMaterial]").count() == 0, box.inner_html()
    assert page.get_by_label("Number of Epochs", exact=True).input_value() == "100"
    assert page.get_by_label("Early Stopping Patience", exact=True).input_value() == "4"
    assert page.locator("[data-testid=stException]").count() == 0
    shot(page, "14_train_bad_link")
