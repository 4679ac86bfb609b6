"""Render leaderboard tables as Markdown, long-format CSV and one self-contained HTML page.

Every output carries the same flags (chance baseline, random weights) so a
sanity run can never pass for a result, whichever file someone opens. Each
writer replaces its file atomically (temp file + rename), so a reader never
sees half a leaderboard.
"""

from __future__ import annotations

import csv
import html
import io
import math
import re
from collections.abc import Sequence
from pathlib import Path

from mer_bench.atomic import atomic_write
from mer_bench.leaderboard.build import PROVENANCE_TAGS
from mer_bench.leaderboard.charts import chart_svg
from mer_bench.leaderboard.escape import csv_text, md_text
from mer_bench.leaderboard.rows import (
    BASELINE_MARK,
    RANDOM_WEIGHTS_MARK,
    LeaderboardRow,
    LeaderboardTable,
    MetricStat,
)
from mer_bench.metrics.scoring import higher_is_better

TITLE = "mer-bench leaderboard"
NO_RUNS = (
    "No finished runs yet. Create some with `make bench` (it runs the bench plans in "
    "`experiments/` and logs them to MLflow), then rebuild the leaderboard."
)
INTRO = (
    "Mean and 95 % confidence interval (percentile bootstrap) over all folds and seeds of "
    "finished runs; rows are sorted by the table's primary metric "
    "(↑ higher is better, ↓ lower is better). `chance` is the baseline. Rows marked "
    f"**{RANDOM_WEIGHTS_MARK}** use untrained feature extractors: they are sanity checks, "
    "not results."
)
CSV_COLUMNS = (
    "task",
    "dataset",
    "rank",
    "method",
    "features",
    "protocol",
    "variant",
    "weights",
    "metric",
    "primary",
    "higher_is_better",
    "mean",
    "ci_low",
    "ci_high",
    "n",
    "n_folds",
    "n_seeds",
    "tracks_used",
    "tracks_total",
    "skipped_tracks",
    "baseline",
    "random_weights",
    "flags",
    "published",
    "published_source",
    *PROVENANCE_TAGS,
)
_PROV_NAMES = {
    "git_sha": "git",
    "config_hash": "config",
    "dataset_version": "dataset",
    "mer_bench_version": "mer-bench",
    "data_fingerprint": "data",
    "labels_unchecked": "labels unchecked:",
}
# provenance parts left out when no run of the row has them
_OPTIONAL_PROV = frozenset({"labels_unchecked"})


# --- shared helpers -----------------------------------------------------------


def fmt(value: float | None) -> str:
    """Three decimals, ``n/a`` for a missing or nan value."""
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:.3f}"


def fmt_ci(stat: MetricStat | None) -> str:
    """``0.712 [0.690, 0.733]``: the mean with its 95 % interval."""
    if stat is None or math.isnan(stat.mean):
        return "n/a"
    return f"{fmt(stat.mean)} [{fmt(stat.ci_low)}, {fmt(stat.ci_high)}]"


def arrow(metric: str) -> str:
    return "↑" if higher_is_better(metric) else "↓"


def published_text(stat: MetricStat | None) -> str:
    if stat is None or stat.published is None:
        return ""
    src = f" ({stat.published.source})" if stat.published.source else ""
    return fmt(stat.published.value) + src


def provenance_text(row: LeaderboardRow) -> str:
    """One line naming the code, config, data and weights behind a row."""
    parts = []
    for tag in PROVENANCE_TAGS:
        values = row.provenance.get(tag, ())
        if not values and tag in _OPTIONAL_PROV:
            continue
        shown = [v[:12] if tag == "git_sha" else v for v in values]
        parts.append(f"{_PROV_NAMES[tag]} {', '.join(shown) or 'unknown'}")
    if row.git_dirty:
        parts[0] += " (uncommitted changes)"
    parts.append(f"weights {row.weights or 'unknown'}")
    return " · ".join(parts)


def _variant(row: LeaderboardRow) -> str:
    """The short variant (what tells the row apart); the full list is in its details."""
    return row.shown_variant or ("default" if not row.variant else "see details")


# --- Markdown -----------------------------------------------------------------


def _md_cell(text: object) -> str:
    """Text the renderer computed itself (numbers, counts): one table cell."""
    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ")


def _md_method(row: LeaderboardRow) -> str:
    if row.random_weights:
        return f"{md_text(row.method)} ⚠"
    if row.is_baseline:
        return f"*{md_text(row.method)}*"
    return md_text(row.method)


def _md_header(table: LeaderboardTable) -> list[str]:
    head = ["#", "method", "features", "protocol", "variant", "weights"]
    for metric in table.metrics:
        head.append(f"{metric} {arrow(metric)}")
        if metric in table.published_metrics:
            head.append(f"{metric} published")
    return head + ["n (folds × seeds)", "tracks", "flags"]


def _md_row(rank: int, row: LeaderboardRow, table: LeaderboardTable) -> list[str]:
    """The row's cells as Markdown: tag-derived text escaped, numbers as computed."""
    texts = (row.features, row.protocol, _variant(row), row.weights)
    cells = [str(rank), _md_method(row), *map(md_text, texts)]
    for metric in table.metrics:
        cells.append(_md_cell(fmt_ci(row.stat(metric))))
        if metric in table.published_metrics:
            cells.append(md_text(published_text(row.stat(metric))))
    cells += [
        f"{row.n_folds} × {row.n_seeds}",
        md_text(row.tracks_text),
        md_text(", ".join(row.flags)),
    ]
    return cells


def _md_table(table: LeaderboardTable) -> list[str]:
    head = _md_header(table)
    lines = [
        f'<a id="{table.anchor}"></a>',
        "",
        f"## {md_text(table.title)}",
        "",
        f"Primary metric: **{table.primary_metric}** {arrow(table.primary_metric)}",
        "",
        "| " + " | ".join(md_text(h) for h in head) + " |",
        "|" + "|".join("---" for _ in head) + "|",
    ]
    for rank, row in enumerate(table.rows, 1):
        lines.append("| " + " | ".join(_md_row(rank, table=table, row=row)) + " |")
    if table.baseline is None:
        lines += ["", "_No chance baseline run for this table._"]
    if table.other_data_note:
        lines += ["", f"_{_md_cell(table.other_data_note)}_"]
    lines += ["", "Provenance:", ""]
    for rank, row in enumerate(table.rows, 1):
        full = f"; parameters: {row.variant}" if row.variant != row.shown_variant else ""
        lines.append(f"{rank}. {md_text(row.label)}: {md_text(provenance_text(row) + full)}")
    return lines + [""]


def render_markdown(
    tables: Sequence[LeaderboardTable], source: str = "", appendix: str = ""
) -> str:
    lines = [f"# {TITLE}", ""]
    if not tables:
        return "\n".join(lines + [NO_RUNS, ""])
    lines += [INTRO, ""]
    if source:
        lines += [f"Source: `{source}`", ""]
    lines += ["## Contents", ""]
    lines += [f"- [{md_text(t.title)}](#{t.anchor})" for t in tables]
    lines.append("")
    for table in tables:
        lines += _md_table(table)
    if appendix:
        lines += [appendix]
    return "\n".join(lines)


def write_markdown(
    tables: Sequence[LeaderboardTable], path: Path, source: str = "", appendix: str = ""
) -> Path:
    """The leaderboard as GitHub-flavoured Markdown (``README.md``)."""
    return atomic_write(path, render_markdown(tables, source, appendix))


# --- CSV ------------------------------------------------------------------------


def _num(value: float | None) -> str:
    """Full precision for machines; empty for missing."""
    if value is None or math.isnan(value):
        return ""
    return repr(float(value))


def _csv_line(
    table: LeaderboardTable, rank: int, row: LeaderboardRow, metric: str, stat: MetricStat
) -> dict[str, str]:
    pub = stat.published
    line = {
        "task": table.task,
        "dataset": table.dataset,
        "rank": str(rank),
        "method": row.method,
        "features": row.features,
        "protocol": row.protocol,
        "variant": row.variant,
        "weights": row.weights,
        "metric": metric,
        "primary": str(metric == table.primary_metric).lower(),
        "higher_is_better": str(higher_is_better(metric)).lower(),
        "mean": _num(stat.mean),
        "ci_low": _num(stat.ci_low),
        "ci_high": _num(stat.ci_high),
        "n": str(stat.n),
        "n_folds": str(row.n_folds),
        "n_seeds": str(row.n_seeds),
        "tracks_used": row.tracks.split("/")[0] if row.tracks else "",
        "tracks_total": row.tracks.split("/")[1] if "/" in row.tracks else "",
        "skipped_tracks": str(row.skipped_tracks),
        "baseline": str(row.is_baseline).lower(),
        "random_weights": str(row.random_weights).lower(),
        "flags": "; ".join(row.flags),
        "published": _num(pub.value) if pub else "",
        "published_source": pub.source if pub else "",
    }
    for tag in PROVENANCE_TAGS:
        line[tag] = ";".join(row.provenance.get(tag, ()))
    return line


def render_csv(tables: Sequence[LeaderboardTable]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for table in tables:
        for rank, row in enumerate(table.rows, 1):
            for metric in table.metrics:
                stat = row.stat(metric)
                if stat is not None:
                    line = _csv_line(table, rank, row, metric, stat)
                    writer.writerow({k: csv_text(v) for k, v in line.items()})
    return buf.getvalue()


def write_csv(tables: Sequence[LeaderboardTable], path: Path) -> Path:
    """Long format: one line per (row, metric); with no runs, just the header."""
    return atomic_write(path, render_csv(tables))


# --- HTML -----------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222}
main{max-width:1200px;margin:0 auto;padding:1rem 2rem}
nav#toc{background:#f6f8fa;border:1px solid #ddd;border-radius:6px;padding:.5rem 1.5rem}
nav#toc ul{margin:.2rem 0}
section{margin-top:2.5rem;border-top:1px solid #ddd}
table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0;display:block;max-width:100%;
overflow-x:auto}
th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;white-space:nowrap}
tr.prov td{white-space:normal;overflow-wrap:anywhere}
code,pre{overflow-wrap:anywhere;white-space:pre-wrap}
th{background:#f0f3f6}
td.num{font-variant-numeric:tabular-nums}
td.pub{color:#555;font-style:italic}
tr.baseline td{background:#eef2f5;color:#444}
tr.random td{background:#fff4e0}
tr.prov td{font-size:.75rem;color:#666;border-top:none;padding-top:0}
.badge{display:inline-block;border-radius:4px;padding:0 .35rem;font-size:.75rem;margin-left:.3rem}
.badge.random{background:#f0a020;color:#000;font-weight:bold}
.badge.baseline{background:#ccd3da}
.badge.dirty{background:#e6b8b8}
figure{margin:.5rem 0}
figure svg{max-width:100%;height:auto}
.note{color:#555}
"""


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _badges(row: LeaderboardRow) -> str:
    out = []
    for flag in row.flags:
        cls = {BASELINE_MARK: "baseline", RANDOM_WEIGHTS_MARK: "random"}.get(flag, "dirty")
        out.append(f'<span class="badge {cls}">{_esc(flag)}</span>')
    return "".join(out)


def _html_header(table: LeaderboardTable) -> str:
    cells = ["#", "method", "features", "protocol", "variant", "weights"]
    for metric in table.metrics:
        cells.append(f"{metric} {arrow(metric)}")
        if metric in table.published_metrics:
            cells.append(f"{metric} published")
    cells += ["n (folds × seeds)", "tracks"]
    return "<tr>" + "".join(f"<th>{_esc(c)}</th>" for c in cells) + "</tr>"


def _html_row(rank: int, row: LeaderboardRow, table: LeaderboardTable) -> str:
    classes = " ".join(
        c for c, on in (("baseline", row.is_baseline), ("random", row.random_weights)) if on
    )
    cells = [
        f"<td>{rank}</td>",
        f"<td>{_esc(row.method)}{_badges(row)}</td>",
        f"<td>{_esc(row.features)}</td>",
        f"<td>{_esc(row.protocol)}</td>",
        f"<td>{_esc(_variant(row))}</td>",
        f"<td>{_esc(row.weights)}</td>",
    ]
    for metric in table.metrics:
        cells.append(f'<td class="num">{_esc(fmt_ci(row.stat(metric)))}</td>')
        if metric in table.published_metrics:
            cells.append(f'<td class="num pub">{_esc(published_text(row.stat(metric)))}</td>')
    cells.append(f'<td class="num">{row.n_folds} × {row.n_seeds}</td>')
    cells.append(f'<td class="num">{_esc(row.tracks_text)}</td>')
    width = len(cells)
    full = f"; parameters: {row.variant}" if row.variant != row.shown_variant else ""
    prov = (
        f'<tr class="prov {classes}"><td colspan="{width}">'
        f"{_esc(provenance_text(row) + full)}</td></tr>"
    )
    return f'<tr class="{classes}">' + "".join(cells) + "</tr>\n" + prov


def _html_toc(tables: Sequence[LeaderboardTable]) -> str:
    by_task: dict[str, list[LeaderboardTable]] = {}
    for table in tables:
        by_task.setdefault(table.task, []).append(table)
    items = []
    for task, group in by_task.items():
        links = "".join(
            f'<li><a href="#{t.anchor}">{_esc(t.dataset_text)}</a></li>' for t in group
        )
        items.append(f'<li><a href="#task-{_esc(task)}">{_esc(task)}</a><ul>{links}</ul></li>')
    return '<nav id="toc"><h2>Contents</h2><ul>' + "".join(items) + "</ul></nav>"


def _html_table(table: LeaderboardTable) -> str:
    rows = "\n".join(_html_row(rank, row, table) for rank, row in enumerate(table.rows, 1))
    missing = "" if table.baseline else '<p class="note">No chance baseline run for this table.</p>'
    if table.other_data_note:
        missing += f'<p class="note">{_esc(table.other_data_note)}</p>'
    return (
        f'<section id="{_esc(table.anchor)}"><h2>{_esc(table.title)}</h2>'
        f'<p class="note">Primary metric: <b>{_esc(table.primary_metric)}</b> '
        f"{arrow(table.primary_metric)} · mean [95 % CI] over folds and seeds</p>"
        f"<figure>{chart_svg(table)}</figure>"
        f"<table><thead>{_html_header(table)}</thead><tbody>\n{rows}\n</tbody></table>"
        f"{missing}</section>"
    )


def _html_body(tables: Sequence[LeaderboardTable], source: str, appendix: str = "") -> str:
    if not tables:
        return f"<p>{_esc(NO_RUNS).replace('`make bench`', '<code>make bench</code>')}</p>"
    parts = [f'<p class="note">{_md_to_html(INTRO)}</p>']
    if source:
        parts.append(f'<p class="note">Source: <code>{_esc(source)}</code></p>')
    parts.append(_html_toc(tables))
    seen: set[str] = set()
    for table in tables:
        if table.task not in seen:  # an anchor (not an empty heading) for the contents
            seen.add(table.task)
            parts.append(f'<a id="task-{_esc(table.task)}"></a>')
        parts.append(_html_table(table))
    if appendix:
        parts.append(appendix)
    return "\n".join(parts)


def _md_to_html(text: str) -> str:
    """The few inline Markdown marks the intro uses: **bold** and `code`."""
    out = _esc(text)
    out = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", out)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", out)


def render_html(
    tables: Sequence[LeaderboardTable], source: str = "", appendix: str = ""
) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{TITLE}</title><style>{_CSS}</style></head>\n<body><main>"
        f"<h1>{TITLE}</h1>\n{_html_body(tables, source, appendix)}\n</main></body></html>\n"
    )


def write_html(
    tables: Sequence[LeaderboardTable], path: Path, source: str = "", appendix: str = ""
) -> Path:
    """One self-contained page: inline CSS and SVG plots, no network resource at all."""
    return atomic_write(path, render_html(tables, source, appendix))


# --- plots ------------------------------------------------------------------------
