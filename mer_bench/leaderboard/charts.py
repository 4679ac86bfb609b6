"""The leaderboard's charts: one bar chart per table (mean and 95 % CI of each row),
as inline SVG, so the HTML page stays one self-contained file.

matplotlib is imported only when a chart is drawn.
"""

from __future__ import annotations

import html
import io
import math
import re
from collections.abc import Sequence
from typing import Any

from mer_bench.leaderboard.cells import row_label, shown_rows
from mer_bench.leaderboard.rows import FLOORS, LeaderboardRow, LeaderboardTable, MetricStat
from mer_bench.metrics.scoring import higher_is_better

_COLORS = {"real": "#4c72b0", "baseline": "#9a9a9a", "random": "#dd8452"}


LABEL_CHARS = 38  # a plot label wraps (at commas) beyond this many characters


def _chart_label(row: LeaderboardRow) -> str:
    text = row_label(row) + (" (random weights)" if row.random_weights else "")
    text += f" ({row.floor})" if row.floor else ""
    return _wrap(text).replace("$", r"\$")  # matplotlib would read $...$ as math


def _wrap(text: str, width: int = LABEL_CHARS) -> str:
    """Break a long label into lines at commas or spaces, never inside a word if avoidable."""
    import textwrap

    spaced = text.replace(",", ", ")
    lines = textwrap.wrap(spaced, width, break_long_words=True, break_on_hyphens=False)
    return "\n".join(line.replace(", ", ",") for line in lines) or text


def _fit_layout(fig: Any, ax: Any, n_lines: int) -> None:
    """Margins measured from the drawn labels, so none is clipped (tight_layout may give up).

    The SVG's text is drawn by the browser's font, which may be wider than
    matplotlib's metrics: the label margin keeps 20 % to spare.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    dpi = fig.dpi
    label_w = max((t.get_window_extent(renderer).width for t in ax.get_yticklabels()),
                  default=0.0) / dpi * 1.2 + 0.25
    width = max(7.5, label_w + 4.0)
    height = 1.3 + 0.22 * n_lines + 0.12 * len(ax.get_yticks())
    fig.set_size_inches(width, height)
    fig.subplots_adjust(left=label_w / width, right=1 - 0.3 / width,
                        bottom=0.75 / height, top=1 - 0.45 / height)


def _row_color(row: LeaderboardRow) -> str:
    if row.is_baseline:
        return _COLORS["baseline"]
    return _COLORS["random"] if row.random_weights else _COLORS["real"]


def svg_of(fig: Any) -> str:
    """A matplotlib figure as inline-ready SVG: no XML prolog, DOCTYPE (it names a URL)
    or metadata block."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    return re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)


def _plotted(
    rows: Sequence[LeaderboardRow], metric: str
) -> list[tuple[LeaderboardRow, MetricStat]]:
    """Rows that have a value for ``metric``, with that value's statistics."""
    out = []
    for row in rows:
        stat = row.stat(metric)
        if stat is not None and not math.isnan(stat.mean):
            out.append((row, stat))
    return out


_FLOOR_STYLES = ("--", ":")  # one line style per floor, in the order of ``rows.FLOORS``


def _floor_lines(ax: Any, table: LeaderboardTable, metric: str) -> int:
    """A vertical line at each floor the table has (majority class, stratified random),
    labelled with what it predicts; returns how many were drawn."""
    drawn = 0
    for i, name in enumerate(FLOORS):
        row = table.floors.get(name)
        stat = row.stat(metric) if row else None
        if row is None or stat is None or math.isnan(stat.mean):
            continue
        ax.axvline(stat.mean, color="#555", linestyle=_FLOOR_STYLES[i % 2], linewidth=1,
                   label=f"{row.floor} baseline")
        drawn += 1
    return drawn


CHART_ROWS = 60  # bars per chart: the best rows (and the floors); the table lists every row


def _charted(table: LeaderboardTable, plotted: list[tuple[LeaderboardRow, MetricStat]]
             ) -> list[tuple[LeaderboardRow, MetricStat]]:
    """The best ``CHART_ROWS`` plotted rows plus the floor rows wherever they rank.

    A sweep can put thousands of rows in one table; a chart of them all is
    unreadable and matplotlib takes a minute to lay it out.
    """
    if len(plotted) <= CHART_ROWS:
        return plotted
    return [(r, s) for i, (r, s) in enumerate(plotted) if i < CHART_ROWS or r.is_baseline]


def chart_svg(table: LeaderboardTable) -> str:
    """Horizontal bars of the primary metric with CI whiskers; each floor as a line."""
    metric = table.primary_metric
    every = _plotted([shown.row for shown in shown_rows(table)], metric)
    if not every:
        return f'<p class="note">No {html.escape(metric)} values to plot.</p>'
    plotted = _charted(table, every)
    note = "" if len(plotted) == len(every) else (
        f'<figcaption class="note">The best {CHART_ROWS} of {len(every)} rows'
        f"{' and the baselines' if plotted[CHART_ROWS:] else ''}"
        "; the table lists all.</figcaption>")
    import matplotlib
    from matplotlib.figure import Figure  # pyplot-free: no GUI backend, no global state

    rows = [row for row, _ in plotted]
    means = [s.mean for _, s in plotted]
    low = [max(0.0, s.mean - s.ci_low) for _, s in plotted]
    high = [max(0.0, s.ci_high - s.mean) for _, s in plotted]
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": table.anchor}):
        fig = Figure(figsize=(7.5, 1.2 + 0.35 * len(rows)))
        labels = [_chart_label(r) for r in rows]
        ax = fig.add_subplot()
        y = list(range(len(rows)))
        bars = ax.barh(
            y,
            means,
            xerr=[low, high],
            color=[_row_color(r) for r in rows],
            capsize=3,
            error_kw={"elinewidth": 1},
        )
        for bar, row in zip(bars, rows, strict=True):
            if row.random_weights:
                bar.set_hatch("//")
        ax.set_yticks(y, labels, fontsize=8)
        ax.invert_yaxis()
        ax.axvline(0.0, color="#444", linewidth=0.6)
        if _floor_lines(ax, table, metric):
            ax.legend(loc="best", fontsize=8, frameon=False)
        direction = "higher" if higher_is_better(metric) else "lower"
        ax.set_xlabel(f"{metric} ({direction} is better), mean and 95 % CI", fontsize=9)
        ax.set_title(table.title, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        _fit_layout(fig, ax, sum(label.count("\n") + 1 for label in labels))
        return svg_of(fig) + note
