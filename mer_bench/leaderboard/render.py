"""Render leaderboard tables as Markdown and long-format CSV (the HTML page is
``html_page``'s, re-exported here).

Every output carries the same flags (baselines, random weights) so a
sanity run can never pass for a result, whichever file someone opens. Each
writer replaces its file atomically (temp file + rename), so a reader never
sees half a leaderboard.
"""

from __future__ import annotations

import csv
import html
import io
import math
from collections.abc import Sequence
from pathlib import Path

from mer_bench.atomic import atomic_write
from mer_bench.leaderboard.build import PROVENANCE_TAGS
from mer_bench.leaderboard.cells import (
    INTRO,
    NO_RUNS,
    TITLE,
    ShownRow,
    arrow,
    fmt,
    fmt_ci,
    full_parameters,
    provenance_text,
    published_text,
    row_label,
    secondary_metrics,
    shown_rows,
    variant_text,
)
from mer_bench.leaderboard.escape import csv_text, md_text
from mer_bench.leaderboard.html_page import render_html, write_html
from mer_bench.leaderboard.rows import LeaderboardRow, LeaderboardTable, MetricStat
from mer_bench.metrics.scoring import higher_is_better

__all__ = ["fmt", "fmt_ci", "render_csv", "render_html", "render_markdown", "write_csv",
           "write_html", "write_markdown"]

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


def _md_lead(shown: ShownRow, table: LeaderboardTable) -> list[str]:
    """Rank, method, features, variant (and protocol when the table has several)."""
    row = shown.row
    cells = [shown.rank_text, _md_method(row), md_text(row.features), md_text(variant_text(row))]
    return cells + ([md_text(row.protocol)] if len(table.protocols) > 1 else [])


def _md_lead_head(table: LeaderboardTable) -> list[str]:
    return ["#", "method", "features", "variant"] + (
        ["protocol"] if len(table.protocols) > 1 else [])


def _md_metric(row: LeaderboardRow, metric: str, table: LeaderboardTable) -> list[str]:
    cells = [_md_cell(fmt_ci(row.stat(metric)))]
    if metric in table.published_metrics:
        cells.append(md_text(published_text(row.stat(metric))))
    return cells


def _md_metric_head(metric: str, table: LeaderboardTable) -> list[str]:
    head = [f"{metric} {arrow(metric)}"]
    return head + ([f"{metric} published"] if metric in table.published_metrics else [])


def _md_grid(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(md_text(h) for h in head) + " |",
            "|" + "|".join("---" for _ in head) + "|",
            *("| " + " | ".join(cells) + " |" for cells in rows)]


INLINE_METRICS = 1  # up to this many other metrics share the main table (no folded one)


def _md_split(table: LeaderboardTable) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(metrics of the main table, metrics of the folded one): one other metric (a
    quadrant table's accuracy) reads best beside the primary; more get their own table."""
    others = secondary_metrics(table)
    if len(others) <= INLINE_METRICS:
        return (table.primary_metric, *others), ()
    return (table.primary_metric,), others


def _md_main(table: LeaderboardTable) -> list[str]:
    """Rank, row, the primary metric, counts, tracks and flags: what ranks a row."""
    metrics, _ = _md_split(table)
    head = _md_lead_head(table)
    for metric in metrics:
        head += _md_metric_head(metric, table)
    head += ["n (folds × seeds)", "tracks", "flags"]
    rows = []
    for shown in shown_rows(table):
        row = shown.row
        cells = _md_lead(shown, table)
        for metric in metrics:
            cells += _md_metric(row, metric, table)
        rows.append(cells + [f"{row.n_folds} × {row.n_seeds}", md_text(row.tracks_text),
                             md_text(", ".join(row.flags))])
    return _md_grid(head, rows)


def _md_more(table: LeaderboardTable) -> list[str]:
    """The other metrics and each row's weights, folded under the main table."""
    _, metrics = _md_split(table)
    if not metrics:
        return []
    return _md_folded(table, metrics, f"Other metrics: {', '.join(metrics)}")


def _md_details(table: LeaderboardTable) -> list[str]:
    """Per-label values (a tagging table's per-tag PR-AUC, ROC-AUC), one folded table
    per measure with a column per label; the CSV holds them too."""
    lines: list[str] = []
    for measure, metrics in table.detail_groups():
        lines += _md_folded(table, metrics, f"Per-tag {measure} ({len(metrics)} tags)")
    return lines


def _md_folded(table: LeaderboardTable, metrics: Sequence[str], summary: str) -> list[str]:
    """Each row's weights and ``metrics``, a table folded away under ``summary``."""
    head = _md_lead_head(table) + ["weights"]
    for metric in metrics:
        head += _md_metric_head(metric, table)
    rows = []
    for shown in shown_rows(table):
        row = shown.row
        cells = _md_lead(shown, table) + [md_text(row.weights)]
        for metric in metrics:
            cells += _md_metric(row, metric, table)
        rows.append(cells)
    summary = html.escape(summary, quote=False)
    return ["", f"<details><summary>{summary}</summary>", "", *_md_grid(head, rows), "",
            "</details>"]


def _md_table(table: LeaderboardTable) -> list[str]:
    protocol = f" · protocol {table.protocols[0]}" if len(table.protocols) == 1 else ""
    lines = [
        f'<a id="{table.anchor}"></a>',
        "",
        f"## {md_text(table.title)}",
        "",
        f"Primary metric: **{table.primary_metric}** {arrow(table.primary_metric)}"
        f"{md_text(protocol)}",
        "",
        *_md_main(table),
        *_md_more(table),
        *_md_details(table),
    ]
    if table.baseline is None:
        lines += ["", "_No baseline run for this table._"]
    if table.other_data_note:
        lines += ["", f"_{_md_cell(table.other_data_note)}_"]
    lines += ["", "Provenance:", ""]
    for rank, row, _ in shown_rows(table):
        text = provenance_text(row) + full_parameters(row)
        lines.append(f"{rank}. {md_text(row_label(row))}: {md_text(text)}")
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
            for metric in (*table.metrics, *table.detail_metrics):
                stat = row.stat(metric)
                if stat is not None:
                    line = _csv_line(table, rank, row, metric, stat)
                    writer.writerow({k: csv_text(v) for k, v in line.items()})
    return buf.getvalue()


def write_csv(tables: Sequence[LeaderboardTable], path: Path) -> Path:
    """Long format: one line per (row, metric), per-label details (a tagging table's
    ``pr_auc_<tag>``) after a row's summary metrics; with no runs, just the header."""
    return atomic_write(path, render_csv(tables))


