"""The leaderboard: built only from finished tracker runs, written as Markdown, CSV and HTML.

``write_leaderboard`` is what the CLI and ``make leaderboard`` call; the table
builder and renderers are importable on their own (the paper tables reuse
``build_tables`` and ``PublishedValue``). Importing this package stays light:
matplotlib is imported only when the HTML plots are drawn.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from mer_bench.leaderboard.build import build_tables
from mer_bench.leaderboard.render import write_csv, write_html, write_markdown
from mer_bench.leaderboard.rows import LeaderboardRow, LeaderboardTable, MetricStat, PublishedValue
from mer_bench.leaderboard.transfer import (
    build_transfer_matrices,
    render_transfer_html,
    render_transfer_markdown,
)
from mer_bench.tracking.base import Tracker

__all__ = [
    "LeaderboardRow",
    "LeaderboardTable",
    "MetricStat",
    "PublishedValue",
    "build_tables",
    "write_csv",
    "write_html",
    "write_leaderboard",
    "write_markdown",
]

README, CSV, HTML = "README.md", "leaderboard.csv", "index.html"


def _safe_source(tracker: Tracker) -> str:
    """The tracker's location for the page footer, minus any ``user:password@``."""
    return re.sub(r"//[^/@\s]*@", "//", tracker.describe())


def write_leaderboard(
    tracker: Tracker,
    out_dir: Path,
    published: Iterable[PublishedValue] = (),
    sections: Iterable[tuple[str, str]] = (),
) -> dict[str, Path]:
    """Write ``README.md``, ``leaderboard.csv`` and ``index.html`` into ``out_dir``.

    Each file is replaced atomically. With no finished runs the files still
    exist and say how to create some, so links to them never break.
    ``sections`` are extra (Markdown, HTML) pairs appended after the tables,
    e.g. the reproduced paper tables.
    Returns ``{"markdown": ..., "csv": ..., "html": ...}``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = build_tables(tracker.fold_records(), published)
    source = _safe_source(tracker)
    matrices = build_transfer_matrices(tables)
    extra = [pair for pair in sections if any(pair)]
    markdown = "\n".join([render_transfer_markdown(matrices), *(md for md, _ in extra)])
    page = "\n".join([render_transfer_html(matrices), *(h for _, h in extra)])
    return {
        "markdown": write_markdown(tables, out_dir / README, source, markdown.strip("\n")),
        "csv": write_csv(tables, out_dir / CSV),
        "html": write_html(tables, out_dir / HTML, source, page.strip("\n")),
    }
