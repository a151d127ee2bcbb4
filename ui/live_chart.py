"""A run chart as a static SVG, for pages that follow a live run.

The trainer shares the machine with the browser, and on a 2-core machine every millisecond the
browser spends drawing is taken from a training step (both of torch's threads wait for the one the
browser displaced). Measured in Chromium (``bench.browser``): the first Plotly chart of a live page
cost ~1.7 s of CPU (its 4.7 MB script is parsed on first use) and each refresh of the two Plotly
charts ~0.26 s. An image of an SVG needs no script, and redrawing it is a few milliseconds. So a
live run is drawn here, from the same curves (``charts.RunChart``) the interactive Plotly charts
show once the run has ended. The page gets it as an ``<img>`` (``as_image``): ``st.html`` strips
inline SVG.
"""

from __future__ import annotations

import base64
import html
import math

from ui.charts import RunChart, Series, loss_chart, metrics_chart
from ui.i18n import _

WIDTH, HEIGHT = 480, 300  # the viewBox; the image scales to its column's width (~460 px wide here)
LEFT, RIGHT, BOTTOM = 54, 14, 40  # plot margins: tick labels, axis titles (the legend sets the top)
LEGEND_ROW = 18
RIGHT_AXIS = 54  # right margin when a secondary axis is drawn
GRID, AXIS_TEXT, FAINT_OPACITY = "#e6e9ef", "#5b6470", 0.35


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round values (1, 2, 2.5 or 5 x 10^k apart) covering [lo, hi]; a flat range
    is widened around its value."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi - lo < 1e-12 * max(1.0, abs(hi)):
        lo, hi = lo - 0.5 if lo == 0 else lo * 0.9, hi + 0.5 if hi == 0 else hi * 1.1
        lo, hi = min(lo, hi), max(lo, hi)
    raw = (hi - lo) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    k = 0
    while start + k * step <= hi + step * 1e-9 or len(ticks) < 2:
        ticks.append(round(start + k * step, 12))
        k += 1
    if ticks[-1] < hi - step * 1e-9:
        ticks.append(round(start + k * step, 12))
    return ticks


def tick_text(v: float) -> str:
    return f"{v:.4g}"


def _bounds(lines: list[Series], attr: str) -> tuple[float, float] | None:
    values = [v for line in lines for v in getattr(line, attr) if v is not None and math.isfinite(v)]
    return (min(values), max(values)) if values else None


class _Scale:
    """Data -> pixel along one axis, over the span of its ticks."""

    def __init__(self, ticks: list[float], start_px: float, end_px: float) -> None:
        self.ticks, self.lo, self.hi = ticks, ticks[0], ticks[-1]
        self.start_px, self.end_px = start_px, end_px

    def __call__(self, v: float) -> float:
        span = self.hi - self.lo or 1.0
        return self.start_px + (v - self.lo) / span * (self.end_px - self.start_px)


def _path(line: Series, x: _Scale, y: _Scale) -> str:
    """One ``M..L..`` path; a missing value starts a new segment (a gap, as Plotly draws it)."""
    parts, pen_down = [], False
    for xv, yv in zip(line.x, line.y, strict=False):
        if xv is None or yv is None:
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{x(xv):.1f},{y(yv):.1f}")
        pen_down = True
    return "".join(parts)


def _series_svg(line: Series, x: _Scale, y: _Scale) -> str:
    d = _path(line, x, y)
    if not d:
        return ""
    width, opacity = (1, FAINT_OPACITY) if line.style == "faint" else (2, 1)
    out = [
        f'<path d="{d}" fill="none" stroke="{line.color}" stroke-width="{width}" '
        f'stroke-opacity="{opacity}" stroke-linejoin="round"/>'
    ]
    if line.style != "faint":
        for xv, yv in zip(line.x, line.y, strict=False):
            if xv is not None and yv is not None:
                out.append(f'<circle cx="{x(xv):.1f}" cy="{y(yv):.1f}" r="3.5" fill="{line.color}"/>')
    return "".join(out)


def _text(x: float, y: float, text: str, anchor: str = "middle", extra: str = "") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{AXIS_TEXT}" '
        f'font-size="12" {extra}>{html.escape(text)}</text>'
    )


def _axes(x: _Scale, y: _Scale, y2: _Scale | None, chart: RunChart, plot_right: float) -> list[str]:
    top, bottom = y.end_px, y.start_px
    out = []
    for t in y.ticks:
        out.append(f'<line x1="{LEFT}" x2="{plot_right}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="{GRID}"/>')
        out.append(_text(LEFT - 6, y(t) + 4, tick_text(t), "end"))
    for t in x.ticks:
        out.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{bottom}" stroke="{GRID}"/>')
        out.append(_text(x(t), bottom + 16, tick_text(t)))
    mid = (top + bottom) / 2
    if y2 is not None:
        out += [_text(plot_right + 6, y2(t) + 4, tick_text(t), "start") for t in y2.ticks]
        turn = f'transform="rotate(90 {WIDTH - 8} {mid})"'
        out.append(_text(WIDTH - 8, mid, _(chart.right_title or ""), extra=turn))
    out.append(_text(14, mid, _(chart.y_title), extra=f'transform="rotate(-90 14 {mid})"'))
    out.append(_text((LEFT + plot_right) / 2, HEIGHT - 6, _("Epoch")))
    return out


def _text_width(text: str) -> float:
    """Rough width at font size 12: CJK characters are about twice as wide as Latin ones."""
    return sum(12.0 if ord(c) >= 0x2E80 else 7.0 for c in text)


def _legend(lines: list[Series]) -> tuple[list[str], float]:
    """Swatches and names in rows above the plot, like the Plotly charts' legend; returns the
    elements and the height they take."""
    out, x, row = [], float(LEFT), 0
    for line in lines:
        width = _text_width(line.name) + 34
        if x + width > WIDTH - RIGHT and x > LEFT:
            x, row = float(LEFT), row + 1
        y = 14 + row * LEGEND_ROW
        opacity = FAINT_OPACITY if line.style == "faint" else 1
        out.append(
            f'<line x1="{x:.1f}" x2="{x + 18:.1f}" y1="{y}" y2="{y}" stroke="{line.color}" '
            f'stroke-width="2" stroke-opacity="{opacity}"/>'
        )
        out.append(_text(x + 22, y + 4, line.name, "start"))
        x += width
    return out, (row + 1) * LEGEND_ROW + 16


def svg(chart: RunChart) -> str:
    """The chart as one ``<svg>`` element (no script), scaled to its container's width."""
    left_lines = [line for line in chart.series if not line.right]
    right_lines = [line for line in chart.series if line.right]
    plot_right = WIDTH - (RIGHT_AXIS if right_lines else RIGHT)
    xb = _bounds(chart.series, "x") or (0.0, 1.0)
    x = _Scale(nice_ticks(0.0, max(xb[1], 1.0)), LEFT, plot_right)
    legend, top = _legend(chart.series)
    bottom = HEIGHT - BOTTOM
    y = _Scale(nice_ticks(*(_bounds(left_lines, "y") or (0.0, 1.0))), bottom, top)
    y2 = _Scale(nice_ticks(*(_bounds(right_lines, "y") or (0.0, 1.0))), bottom, top) if right_lines else None
    body = _axes(x, y, y2, chart, plot_right)
    if chart.best_epoch is not None:
        bx = x(chart.best_epoch)
        body.append(
            f'<line x1="{bx:.1f}" x2="{bx:.1f}" y1="{top}" y2="{bottom}" stroke="#888" '
            'stroke-dasharray="3,3"/>'
        )
        # beside the line, inside the plot: left of it the y axis' top tick label would collide
        right_side = bx < plot_right - 40
        body.append(
            _text(bx + 4 if right_side else bx - 4, top + 12, _("best"), "start" if right_side else "end")
        )
    body += [_series_svg(line, x, y2 or y if line.right else y) for line in chart.series]
    body += legend
    label = html.escape(_(chart.y_title), quote=True)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'role="img" aria-label="{label}" font-family="sans-serif">' + "".join(body) + "</svg>"
    )


def as_image(chart: RunChart) -> str:
    """The chart as an ``<img>`` of its SVG (``st.html`` keeps images but strips inline SVG)."""
    data = base64.b64encode(svg(chart).encode()).decode()
    alt = html.escape(_(chart.y_title), quote=True)
    src = f"data:image/svg+xml;base64,{data}"
    return f'<img class="venus-live-chart" alt="{alt}" style="width:100%" src="{src}">'


def loss_image(s: dict) -> str:
    return as_image(loss_chart(s))


def metrics_image(s: dict) -> str:
    return as_image(metrics_chart(s))
