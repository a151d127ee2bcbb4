"""The live run's SVG charts (ui.live_chart): the same curves as the Plotly charts, no script."""

from __future__ import annotations

import re

import pytest

from ui import charts, i18n, live_chart
from venus_core.run_summary import summarize


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """Outside a script run the language is the last run's (a Chinese AppTest before this file)."""
    monkeypatch.setattr(i18n, "_last_run_language", i18n.DEFAULT)


def _summary(with_mse: bool = False, gap: bool = False) -> dict:
    t = 1000.0
    events = [{"type": "run_start", "time": t, "config": {}}]
    for i in range(1, 31):
        events.append(
            {
                "type": "step",
                "time": t + i,
                "epoch": 1 + (i - 1) // 10,
                "step": i,
                "train/loss": 2.0 / i,
                "fraction": i / 30,
            }
        )
        if i % 10 == 0:
            epoch = i // 10
            row = {
                "type": "epoch",
                "time": t + i,
                "epoch": epoch,
                "train/loss": 1.0 / epoch,
                "val/loss": None if gap and epoch == 2 else 1.5 / epoch,
                "val/accuracy": 0.5 + epoch / 10,
            }
            if with_mse:
                row["val/mse"] = 10.0 * epoch
            events.append(row)
    events.append({"type": "best", "time": t + 20, "epoch": 2, "monitor": "accuracy", "value": 0.7})
    return summarize(events)


def _paths(svg: str) -> list[str]:
    return re.findall(r'<path d="([^"]+)"', svg)


def test_nice_ticks_cover_the_range_with_round_steps():
    ticks = live_chart.nice_ticks(0.13, 0.92)
    assert ticks[0] <= 0.13 and ticks[-1] >= 0.92
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:], strict=False)}
    assert steps == {0.2}
    assert live_chart.nice_ticks(5.0, 5.0)[0] < 5.0 < live_chart.nice_ticks(5.0, 5.0)[-1]  # a flat curve
    assert len(live_chart.nice_ticks(0.0, 1e6)) <= 7


def test_loss_svg_draws_every_curve_of_the_plotly_chart_and_no_script():
    s = _summary()
    svg = live_chart.svg(charts.loss_chart(s))
    assert svg.startswith("<svg") and "<script" not in svg
    figure = charts.loss_figure(s)
    assert len(_paths(svg)) == len(figure.data) == 3
    for trace in figure.data:
        assert trace.name in svg
    # Epoch means are drawn with a marker per epoch: 3 train + 3 validation.
    assert svg.count("<circle") == 6
    assert ">best<" in svg  # the best epoch's marker line


def test_a_missing_value_is_a_gap_not_a_zero():
    svg = live_chart.svg(charts.loss_chart(_summary(gap=True)))
    validation = _paths(svg)[-1]
    assert validation.count("M") == 2  # two segments: epoch 1, then epoch 3
    assert svg.count("<circle") == 5


def test_mse_gets_its_own_right_axis():
    s = _summary(with_mse=True)
    chart = charts.metrics_chart(s)
    assert [line.right for line in chart.series] == [False, True]
    svg = live_chart.svg(charts.metrics_chart(s))
    assert "MSE (label units²)" in svg
    # MSE (10..30) on its own scale: accuracy (0.6..0.8) is not flattened against it, both curves
    # span much of the plot's height (~250 px).
    ys = [[float(p.split(",")[1]) for p in re.split("[ML]", d) if p] for d in _paths(svg)]
    assert min(max(y) - min(y) for y in ys) > 100


def test_the_page_gets_an_image_of_the_svg():
    import base64

    s = _summary()
    image = live_chart.loss_image(s)
    assert image.startswith('<img class="venus-live-chart" alt="Loss"')
    data = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', image).group(1)
    assert base64.b64decode(data).decode() == live_chart.svg(charts.loss_chart(s))


def test_names_from_the_data_are_escaped():
    chart = charts.RunChart([charts.Series("<b>x</b>", "#000", [1.0], [1.0])], "Loss")
    svg = live_chart.svg(chart)
    assert "<b>" not in svg and "&lt;b&gt;" in svg


def test_the_live_page_draws_svg_and_the_finished_run_plotly(monkeypatch):
    calls = []
    import streamlit as st

    from ui import run_view

    monkeypatch.setattr(st, "html", lambda body, **kw: calls.append(("html", body)))
    monkeypatch.setattr(st, "plotly_chart", lambda fig, **kw: calls.append(("plotly", fig)))
    s = _summary()
    assert s["status"] == "running"
    run_view.curves(s, key="t")
    assert [kind for kind, _ in calls] == ["html", "html"]
    calls.clear()
    run_view.curves({**s, "status": "completed"}, key="t")
    assert [kind for kind, _ in calls] == ["plotly", "plotly"]
