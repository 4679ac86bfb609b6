"""Reproduced paper tables rendered for people: Markdown, and an HTML section with a plot.

``mer-bench reproduce`` prints the Markdown; the leaderboard (README.md and
index.html) carries one section per paper built from whatever the tracker
holds, so a reproduction shows up in the report as soon as its runs finish.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from itertools import groupby

from mer_bench.leaderboard.charts import svg_of
from mer_bench.leaderboard.escape import md_text
from mer_bench.papers import CONVERSIONS, RowResult, decimals, paper_text

STATE = {"unavailable": "cannot run here: ", "failed": "failed: "}


def brief(reason: str, limit: int = 200) -> str:
    """A reason short enough for a table cell: its first sentence when the whole is long."""
    if len(reason) <= limit:
        return reason
    end = reason.find(". ")
    return reason[: end + 1] if 0 < end < len(reason) - 1 else reason


def _cells(r: RowResult) -> list[str]:
    """published, ours [95% CI], diff, in CI, note."""
    published = r.row.published
    pub = "" if published is None else paper_text(published)
    if r.row.published_std is not None:
        pub += f" ± {paper_text(r.row.published_std)}"
    if r.row.published_as and r.row.comparable is not None:
        pub += (f" ({CONVERSIONS[r.row.published_as].says}: "
                f"{paper_text(r.row.comparable, like=published)})")
    apart = f"published not comparable: {brief(r.row.published_note)}"
    if r.status != "ok":
        reason = STATE.get(r.status, "") + brief(r.reason)
        return [pub, "—", "", "", "; ".join(filter(None, [reason, r.row.published_note and apart]))]
    places = max(3, decimals(r.row.published))  # ours at least as precise as the paper's
    diff = "" if r.difference is None else f"{r.difference:+.{places}f}"
    inside = {True: "yes", False: "no", None: ""}[r.inside]
    note = "; ".join(filter(None, [r.row.note, r.row.published_note and apart, brief(r.reason)]))
    ours = f"{r.mean:.{places}f} [{r.low:.{places}f}, {r.high:.{places}f}] (n={r.n})"
    return [pub, ours, diff, inside, note]


HEAD = ["table", "row", "metric", "published", "ours [95% CI]", "diff", "in CI", "note"]
_NUMBERS = {3, 4, 5, 6}  # columns the report computes (no text from runs or errors)


def render_markdown(results: Sequence[RowResult], settings: bool = False) -> str:
    """Markdown side-by-side table: published, ours [95 % CI], difference, inside CI;
    ``settings`` adds the column of what each row runs (``reproduce --dry-run``)."""
    head = [*HEAD, "settings"] if settings else HEAD
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        cells = [r.row.table, r.row.label, r.row.metric, *_cells(r)]
        if settings:
            cells.append(r.row.settings())
        shown = [c if i in _NUMBERS else md_text(c) for i, c in enumerate(cells)]
        lines.append("| " + " | ".join(shown) + " |")
    return "\n".join(lines)


def render_markdown_section(results: Sequence[RowResult]) -> str:
    """The leaderboard's "Paper tables" section: one table per paper that has a result."""
    parts = ["## Paper tables", "", _SECTION_NOTE, ""]
    for paper, rows in _by_paper(results):
        parts += [f"### {md_text(paper)}", "", _tally(rows), "", render_markdown(rows), ""]
    return "\n".join(parts) if len(parts) > 4 else ""


def render_html_section(results: Sequence[RowResult]) -> str:
    """The same section for index.html, with an ours-vs-published plot per paper."""
    papers = list(_by_paper(results))
    if not papers:
        return ""
    esc = html.escape
    note = esc(_SECTION_NOTE).replace("`mer-bench reproduce PAPER`",
                                      "<code>mer-bench reproduce PAPER</code>")
    parts = ['<h2 id="papers" class="task">Paper tables</h2>', f'<p class="note">{note}</p>']
    for paper, rows in papers:
        body = []
        for r in rows:
            cells = [r.row.table, r.row.label, r.row.metric, *_cells(r)]
            cls = "" if r.status == "ok" else ' class="baseline"'
            body.append(f"<tr{cls}>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
        head = "".join(f"<th>{esc(h)}</th>" for h in HEAD)
        parts.append(
            f'<section id="paper-{esc(paper)}"><h3>{esc(paper)}</h3>'
            f'<p class="note">{esc(_tally(rows))}</p>{ours_vs_published_svg(rows)}'
            f"<table><thead><tr>{head}</tr></thead><tbody>\n" + "\n".join(body)
            + "\n</tbody></table></section>"
        )
    return "\n".join(parts)


_SECTION_NOTE = (
    "Published numbers beside ours (mean [95 % CI] over folds and seeds) for every paper row "
    "with a finished run; run the rest with `mer-bench reproduce PAPER`."
)


def _by_paper(results: Sequence[RowResult]) -> list[tuple[str, list[RowResult]]]:
    """Papers with at least one finished row, each with all its rows (none is dropped)."""
    out = []
    for paper, group in groupby(results, key=lambda r: r.row.paper):
        rows = list(group)
        if any(r.status == "ok" for r in rows):
            out.append((paper, rows))
    return out


def _tally(rows: Sequence[RowResult]) -> str:
    ok = [r for r in rows if r.status == "ok"]
    compared = [r for r in ok if r.inside is not None]
    inside = sum(bool(r.inside) for r in compared)
    return (
        f"{len(ok)} of {len(rows)} rows have results; the published value lies inside our "
        f"95 % CI for {inside} of the {len(compared)} with a published number."
    )


def ours_vs_published_svg(rows: Sequence[RowResult]) -> str:
    """Ours (mean, CI whiskers) against the published value, with the y = x line."""
    points = [r for r in rows if r.status == "ok" and r.row.comparable is not None]
    if not points:
        return '<p class="note">No row with both a published number and a result to plot.</p>'
    import matplotlib
    from matplotlib.figure import Figure

    x = [r.row.comparable for r in points]
    y = [r.mean for r in points]
    err = [[max(0.0, r.mean - r.low) for r in points], [max(0.0, r.high - r.mean) for r in points]]
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": points[0].row.paper}):
        fig = Figure(figsize=(4.5, 4.2))
        ax = fig.add_subplot()
        lo = min(min(x), min(r.low for r in points))
        hi = max(max(x), max(r.high for r in points))
        pad = 0.05 * (hi - lo or 1.0)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="#999", linestyle="--",
                linewidth=1, label="ours = published")
        ax.errorbar(x, y, yerr=err, fmt="o", color="#4c72b0", capsize=3, markersize=4)
        for r in points:
            ax.annotate(f"{r.row.table}: {r.row.label}", (r.row.comparable, r.mean), fontsize=6,
                        xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel("published", fontsize=9)
        ax.set_ylabel("ours (mean, 95 % CI)", fontsize=9)
        ax.legend(loc="upper left", fontsize=8, frameon=False)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        return f"<figure>{svg_of(fig)}</figure>"
