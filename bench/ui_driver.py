"""Driving the dashboard in a real browser, for the browser benchmark and the browser tests.

``Server`` serves the dashboard as ``make run`` does (``python -m ui``, i.e. ``streamlit run
Home.py``) in its own process with its own save directory; ``launch`` starts Debian's Chromium
through Playwright (no browser download); ``wait_idle`` waits until the app says its script run is
over.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    # This machine's network is closed: Chromium's own background connections only fail.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # A tab in the background keeps refreshing like a visible one (a user's second tab).
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
# The app's own state, on its root element (what Streamlit's own browser tests wait on): connected,
# past its first script run, and not running one now.
IDLE = (
    "[data-testid=stApp][data-test-connection-state=CONNECTED]"
    ":not([data-test-script-state=initial])"
    ":not([data-test-script-state=running])"
    ":not([data-test-script-state=rerunRequested])"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(save_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "VENUS_SAVE_DIR": str(save_dir),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }


class Server:
    """The dashboard as ``make run`` serves it (``python -m ui``), in its own process, with its own
    save directory; its log is ``streamlit.log`` beside the save directory."""

    def __init__(self, save_dir: Path, timeout: float = 90.0) -> None:
        self.save_dir = Path(save_dir)
        self.port = free_port()
        self.url = f"http://localhost:{self.port}"
        self.log_path = self.save_dir.parent / "streamlit.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        cmd = [sys.executable, "-m", "ui", "--server.port", str(self.port)]
        cmd += ["--server.headless", "true", "--server.fileWatcherType", "none"]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=server_env(self.save_dir), stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.time() + timeout
        while time.time() < deadline and self.proc.poll() is None:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("streamlit did not start: " + self.log_path.read_text()[-2000:])

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (every thread)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


def browser_cpu_seconds() -> float:
    """User + system CPU time so far of every Chromium process on the machine (the benchmark's
    browser is the only one while it runs): what the page costs in the browser, which shares the
    cores with the trainer."""
    total = 0
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and "chrom" in (proc / "comm").read_text().lower():
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
        except OSError:
            continue  # ended meanwhile
    return total / os.sysconf("SC_CLK_TCK")


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def wait_idle(page, timeout: float = 30.0) -> None:
    """Until the app's script run is over. A short pause first lets a click's rerun begin (the
    state flips to running only when the server has the click)."""
    page.wait_for_timeout(250)
    page.locator(IDLE).wait_for(timeout=timeout * 1000)


def open_page(page, url: str, timeout: float = 90.0) -> None:
    page.goto(url)
    page.locator("[data-testid=stMain] h1").first.wait_for(timeout=timeout * 1000)
    wait_idle(page, timeout)


def goto_nav(page, label: str) -> None:
    page.locator("[data-testid=stSidebarNav]").get_by_text(label, exact=True).click()
    page.get_by_role("heading", name=label, exact=True).first.wait_for()
    wait_idle(page)
