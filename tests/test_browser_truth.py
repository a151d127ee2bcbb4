"""Every page tells the truth about the run it shows, in a real browser (issue 12, item 3).

Each test walks one finding of the issue as a user would, and fails on the dashboard as it was:
a new tab reset the settings and misnamed the live run; the sidebar was one change behind; Start
launched runs on broken data; a failed prediction left the previous table; an early abort promised
a checkpoint; the run history cut the embedding phase from durations; column names were typed.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

from browser_support import (
    BROWSER_MARKS,
    body_text,
    events,
    goto_nav,
    last_status,
    open_page,
    set_number,
    set_text,
    shot,
    wait_idle,
    wait_text,
)
from playwright.sync_api import expect

pytestmark = BROWSER_MARKS


def sidebar_text(page) -> str:
    return page.locator("[data-testid=stSidebarUserContent]").inner_text()


def choose(page, label: str, option: str) -> None:
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option).first.click()
    wait_idle(page)


def upload(page, *paths: Path) -> None:
    goto_nav(page, "Dataset")
    page.get_by_text("Upload Local Files", exact=True).click()
    wait_idle(page)
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files([str(p) for p in paths])
    page.get_by_text("Training file", exact=True).wait_for()
    wait_idle(page)


def use_local_model(page, folder: Path) -> None:
    goto_nav(page, "Model and Method")
    page.get_by_text("Local folder", exact=True).click()
    wait_idle(page)
    set_text(page, "Local model folder", str(folder))


def runs_in(save_dir: Path) -> list[str]:
    return sorted(p.name for p in save_dir.iterdir() if (p / "config.json").exists())


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_sidebar_follows_every_change(page, server, toy_csv):
    open_page(page, server["url"])
    goto_nav(page, "Model and Method")
    choose(page, "Training Method", "plm-lora — low-rank adapters (LoRA)")
    assert "plm-lora" in sidebar_text(page)  # the page's own change, not the one before it
    upload(page, toy_csv)
    assert "peptides.csv" in sidebar_text(page)
    # Removing the file from the box: the dataset is no longer that file.
    page.locator("[data-testid=stFileChipDeleteBtn]").first.click()
    wait_idle(page)
    assert "peptides.csv" not in sidebar_text(page)
    assert "Dataset: not set" in sidebar_text(page)
    shot(page, "20_sidebar_after_removing_the_upload")


def test_new_tab_starts_from_the_latest_settings_and_names_the_live_run(
    browser, page, server, tiny_esm, toy_csv
):
    open_page(page, server["url"])
    upload(page, toy_csv)
    set_number(page, "Number of Labels", 2)
    use_local_model(page, tiny_esm)
    choose(page, "Training Method", "plm-lora — low-rank adapters (LoRA)")
    goto_nav(page, "Train")
    set_number(page, "Number of Epochs", 3000)
    set_number(page, "Early Stopping Patience", 3000)  # still running when Abort is pressed
    set_number(page, "Number of Workers", 0)
    set_text(page, "Run name (optional)", "truth-live")
    page.get_by_role("button", name="Start").click()
    page.get_by_text("Training Progress").wait_for()

    # A new tab, opened without the link: this user's settings, and the live run named as it is.
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    other = context.new_page()
    try:
        open_page(other, server["url"] + "/Train")
        info = other.locator("[data-testid=stAlertContentInfo]").filter(has_text="Training now").first
        expect(info).to_contain_text("truth-live")
        expect(info).to_contain_text("plm-lora")
        assert "method plm-lora" in body_text(other).replace("*", "")  # the draft, restored
        # The other tab changes the next run's method: the live run is still described as it is.
        goto_nav(other, "Model and Method")
        choose(other, "Training Method", "freeze — frozen model, train the pooling head only (fastest)")
        goto_nav(other, "Train")
        info = other.locator("[data-testid=stAlertContentInfo]").filter(has_text="Training now").first
        expect(info).to_contain_text("plm-lora")
        assert "Next run: dataset peptides.csv" in body_text(other).replace("*", "")
        assert "method freeze" in body_text(other).replace("*", "")
        shot(other, "21_second_tab_names_the_live_run")
    finally:
        context.close()
    page.get_by_role("button", name="Abort").click()
    wait_text(page, "Aborted")
    assert last_status(server["save_dir"] / "truth-live")["status"] == "aborted"


def test_start_refuses_a_dataset_with_errors(page, server, tmp_path):
    bad = write_csv(tmp_path / "broken.csv", ["aa_seq", "label"], [["MKT1V", "0"], ["MKWVL", "x"]] * 10)
    open_page(page, server["url"])
    before = runs_in(server["save_dir"])
    upload(page, bad)
    goto_nav(page, "Train")
    page.get_by_role("button", name="Start").click()
    wait_idle(page)
    alert = page.locator("[data-testid=stAlertContentError]").filter(has_text="The run cannot start").first
    expect(alert).to_contain_text("is not an amino-acid letter")  # the data doctor's own message
    assert runs_in(server["save_dir"]) == before  # no failed run folder left behind
    shot(page, "22_start_refused")
    # Another dataset: the refusal was about the old one, so it goes.
    goto_nav(page, "Dataset")
    page.get_by_text("Use Pre-defined Dataset", exact=True).click()
    wait_idle(page)
    goto_nav(page, "Train")
    assert "The run cannot start" not in body_text(page)


def test_columns_are_chosen_from_the_file_and_problems_said_once(page, server, tmp_path):
    rng_rows = [
        [f"p{i}", "".join("KRW"[j % 3] if i % 2 else "ADE"[j % 3] for j in range(12)), i % 2]
        for i in range(40)
    ]
    train = write_csv(tmp_path / "my_train.csv", ["name", "sequence", "y"], rng_rows)
    open_page(page, server["url"])
    upload(page, train)
    expect(page.get_by_role("combobox", name="Sequence column")).to_have_value("sequence")
    expect(page.get_by_role("combobox", name="Label column")).to_have_value("y")
    page.get_by_role("button", name="Preview Dataset").click()
    page.get_by_text("Train sequences", exact=True).wait_for()
    wait_idle(page)
    errors = (
        page.locator("[data-testid=stMetric]")
        .filter(has_text="Errors")
        .locator("[data-testid=stMetricValue]")
    )
    expect(errors).to_have_text("0")
    # A folder whose validation and test files lack the label column: one problem, said once, in
    # the page's words.
    folder = tmp_path / "folder"
    folder.mkdir()
    write_csv(folder / "train.csv", ["sequence", "y"], [r[1:] for r in rng_rows])
    for split in ("validation", "test"):
        write_csv(folder / f"{split}.csv", ["sequence", "target"], [r[1:] for r in rng_rows[:10]])
    page.get_by_text("Use Custom Dataset", exact=True).click()
    wait_idle(page)
    set_text(page, "Custom Dataset Path", str(folder))
    expect(page.get_by_role("combobox", name="Label column")).to_have_value("y")
    page.get_by_role("button", name="Preview Dataset").click()
    page.get_by_text("problem(s) to fix before training").wait_for()
    wait_idle(page)
    text = body_text(page)
    assert text.count("no label column 'y'") == 1, text
    assert "validation.csv" in text and "test.csv" in text
    assert "Label column" in text and "label_column_name" not in text
    shot(page, "23_columns_and_one_problem_once")


def test_early_abort_says_nothing_was_kept(page, server):
    open_page(page, server["url"])
    page.get_by_role("button", name="Train the demo").click()
    wait_text(page, "Computing backbone embeddings (once)", timeout=120)
    # The embedding phase has its own progress bar with a time left, like training.
    progress = page.get_by_text("Computing the frozen backbone's embeddings once").first
    deadline = time.time() + 60
    while time.time() < deadline and " left" not in progress.inner_text():
        page.wait_for_timeout(300)
    assert " left" in progress.inner_text(), progress.inner_text()
    shot(page, "24_caching_progress_and_eta")
    page.get_by_role("button", name="Abort").click()
    wait_text(page, "Aborted before the first epoch finished", timeout=120)
    assert "checkpoints/last are kept" not in body_text(page)
    run = max((server["save_dir"] / d for d in runs_in(server["save_dir"])), key=lambda p: p.stat().st_mtime)
    assert last_status(run)["epochs_done"] == 0
    goto_nav(page, "Results")
    choose(page, "Open Run", f"{run.name} · Aborted")
    assert page.get_by_role("button", name="Resume").count() == 0
    assert "no checkpoint to resume from" in body_text(page)
    shot(page, "25_results_no_resume")


def test_run_history_counts_the_whole_run(page, server):
    """Duration from the run's first event (the embedding phase included), a dash for a missing
    best epoch, and every column on screen."""
    runs = [server["save_dir"] / d for d in runs_in(server["save_dir"])]
    assert runs, "needs the runs of the earlier tests"
    # Streamlit saves a table through the browser's file picker where it has one: take the plain
    # download instead, which Playwright can catch.
    page.add_init_script("delete window.showSaveFilePicker")
    page.set_viewport_size({"width": 1280, "height": 1000})  # a laptop
    open_page(page, server["url"] + "/Results")
    grid = page.locator("[data-testid=stDataFrame]").first
    grid.wait_for()
    with page.expect_download() as info:
        grid.hover()
        page.locator("[data-testid=stElementToolbar] button[aria-label='Download as CSV']").first.click()
    with open(info.value.path(), encoding="utf-8-sig") as f:
        table = list(csv.DictReader(f))
    by_name = {row["Run"]: row for row in table}
    for run in runs:
        ev = events(run)
        row = by_name[run.name]
        assert row["Best epoch"] in ("—", *(str(e["epoch"]) for e in ev if e["type"] == "best"))
        whole = ev[-1]["time"] - ev[0]["time"]
        shown = _seconds(row["Duration"])
        assert abs(shown - whole) <= 60 if "min" in row["Duration"] else abs(shown - whole) <= 1.5, row
    # Every column fits: the grid does not scroll sideways.
    assert page.evaluate(
        """() => { const s = document.querySelector('[data-testid=stDataFrame] .dvn-scroller');
                   return s ? s.scrollWidth <= s.clientWidth + 1 : true; }"""
    )
    shot(page, "26_run_history")


def _seconds(text: str) -> float:
    parts = text.replace("h", " h").split()
    total, number = 0.0, 0.0
    for p in parts:
        if p.isdigit():
            number = float(p)
        elif p == "h":
            total += number * 3600
        elif p == "min":
            total += number * 60
        elif p == "s":
            total += number
    return total


def test_a_failed_prediction_leaves_no_old_table(page, server, tiny_esm, toy_csv):
    open_page(page, server["url"])
    upload(page, toy_csv)
    set_number(page, "Number of Labels", 2)
    use_local_model(page, tiny_esm)
    choose(page, "Training Method", "freeze — frozen model, train the pooling head only (fastest)")
    goto_nav(page, "Train")
    set_number(page, "Number of Epochs", 2)
    set_number(page, "Number of Workers", 0)
    set_text(page, "Run name (optional)", "truth-predict")
    page.get_by_role("button", name="Start").click()
    wait_text(page, "Training completed")
    goto_nav(page, "Results")
    choose(page, "Open Run", "truth-predict · Completed")
    page.get_by_role("tab", name="Predict").click()
    box = page.get_by_label("Sequences", exact=True)
    box.fill(">a\nMKKKRWKKR\n>b\nADEGLSTVA")
    page.get_by_role("button", name="Predict", exact=True).click()
    wait_idle(page)
    expect(page.get_by_role("button", name="Download predictions CSV")).to_be_visible()
    box.fill(">a\nMKKKRWKKR\n>b\nADE1GLSTVA")  # a digit is not a residue
    page.get_by_role("button", name="Predict", exact=True).click()
    wait_idle(page)
    expect(page.locator("[data-testid=stAlertContentError]").first).to_contain_text(
        "not an amino-acid letter"
    )
    assert page.get_by_role("button", name="Download predictions CSV").count() == 0
    shot(page, "27_failed_prediction_no_old_table")
