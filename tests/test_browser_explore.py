"""The Explore views in a real browser: each view renders, Browse filters and shows a whole
sequence, Split shift's charts have data, the Embedding map computes (the embedded ESM2-8M on
peptides, a few seconds) and hovers name the protein. Screenshots of each view go to
``$VENUS_SCREENSHOTS`` (default ``/tmp/screens``), ``explore_*.png``."""

from __future__ import annotations

import random
import time
import urllib.parse

import pandas as pd
import pytest
from browser_support import BROWSER_MARKS, SHOTS, body_text, chart_points, open_page, wait_idle

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def named_peptides(tmp_path_factory):
    """120 peptides with an id column: class 1 rich in K, class 0 without; 80/20/20 files."""
    rng = random.Random(7)
    folder = tmp_path_factory.mktemp("named")
    for split, n in (("train", 80), ("validation", 20), ("test", 20)):
        rows = []
        for i in range(n):
            label = i % 2
            seq = "".join(rng.choice("KKKKRW" if label else "ADEGLSTV") for _ in range(rng.randint(8, 30)))
            rows.append({"entry": f"{split[:2].upper()}{i:03d}", "aa_seq": seq, "label": label})
        pd.DataFrame(rows).to_csv(folder / f"{split}.csv", index=False)
    return folder


def panel_shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    wait_idle(page)
    page.wait_for_timeout(500)
    page.locator("[role=tabpanel]:visible").last.screenshot(path=str(SHOTS / f"{name}.png"))


def count_line(page) -> str:
    return page.get_by_text("sequences match").first.inner_text()


def preview(page, server, folder) -> None:
    link = urllib.parse.urlencode({"dataset": str(folder), "problem_type": "single_label_classification"})
    open_page(page, f"{server['url']}/Dataset?{link}")
    page.get_by_role("button", name="Preview Dataset").click()
    page.get_by_role("heading", name="Explore").wait_for()
    wait_idle(page)


def test_browse_search_filter_and_row(page, server, named_peptides):
    preview(page, server, named_peptides)
    assert "80 of 80 train sequences match" in count_line(page)
    search = page.get_by_role("textbox", name="Search")
    search.fill("KKK")
    search.press("Enter")
    wait_idle(page)
    line = count_line(page)
    n = int(line.split(" of ")[0].replace(",", ""))
    assert 0 < n < 80 and "(id or subsequence)" in line
    search.fill("TR005")  # the file's entry column
    search.press("Enter")
    wait_idle(page)
    assert count_line(page).startswith("1 of 80")
    search.fill("")
    search.press("Enter")
    wait_idle(page)
    labels = page.get_by_role("combobox", name="Labels")
    labels.click()
    wait_idle(page)
    option = page.get_by_role("option", name="1", exact=True)
    if not option.is_visible():  # the search box's last Enter may rerun the section and close the menu
        labels.press("ArrowDown")
    option.click()
    wait_idle(page)
    page.keyboard.press("Escape")
    assert count_line(page).startswith("40 of 80")
    # Select the first row: its whole sequence and label are shown.
    page.locator("[data-testid=stDataFrame]").last.click(position={"x": 18, "y": 55})
    wait_idle(page)
    code = page.locator("[data-testid=stCode]").first
    code.wait_for()
    assert "residues · label 1" in body_text(page)
    assert set(code.inner_text().strip()) <= set("KRW")
    panel_shot(page, "explore_browse")


def test_split_shift_charts_have_data(page, server, named_peptides):
    preview(page, server, named_peptides)
    page.get_by_role("tab", name="Split shift").click()
    wait_idle(page)
    deadline = time.time() + 30
    while time.time() < deadline and len([p for p in chart_points(page) if p]) < 5:
        page.wait_for_timeout(250)
    # the preview's two charts and the view's three (the leakage report is on by default: four)
    assert len([p for p in chart_points(page) if p]) >= 5, chart_points(page)
    assert "Distances to train" in body_text(page)  # the summary table itself is a canvas
    panel_shot(page, "explore_split_shift")


def test_embedding_map_renders_with_hover_data(page, server, named_peptides):
    preview(page, server, named_peptides)
    page.get_by_role("tab", name="Embedding map").click()
    wait_idle(page)
    # the plan line: all 120 proteins (the tab's content can arrive after the app says idle)
    page.get_by_text("every protein (120", exact=False).first.wait_for()
    page.get_by_role("button", name="Compute map").click()
    deadline = time.time() + 180
    traces = []
    while time.time() < deadline:
        traces = page.evaluate(
            """() => Array.from(document.querySelectorAll('.js-plotly-plot')).flatMap(el => el.data || [])
                .filter(t => t.type === 'scattergl').map(t => ({name: t.name, n: t.x.length,
                    first: (t.customdata || [])[0]}))"""
        )
        if traces:
            break
        page.wait_for_timeout(500)
    assert sum(t["n"] for t in traces) == 120, traces
    assert {t["name"] for t in traces} == {"0", "1"}  # coloured by label
    assert traces[0]["first"][1] in ("train", "validation", "test")  # hover: id, split, length, label
    wait_idle(page)
    assert "a freeze run with mean pooling" in body_text(page)
    panel_shot(page, "explore_embedding_map")
