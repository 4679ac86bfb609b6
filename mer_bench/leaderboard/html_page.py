"""The leaderboard as one self-contained HTML page: inline CSS, SVG charts and a few
lines of inline script that sort a table by the column clicked; no network resource.

Each section's main table holds what ranks a row (the primary metric with its
CI, counts, tracks and flags) and fits a 1400 px screen without scrolling
sideways; the other metrics fold away in a second table below it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path

from mer_bench.atomic import atomic_write
from mer_bench.leaderboard.cells import (
    INTRO,
    NO_RUNS,
    TITLE,
    ShownRow,
    arrow,
    fmt_ci,
    full_parameters,
    provenance_text,
    published_text,
    secondary_metrics,
    shown_rows,
    variant_text,
)
from mer_bench.leaderboard.charts import chart_svg
from mer_bench.leaderboard.rows import (
    RANDOM_WEIGHTS_MARK,
    LeaderboardRow,
    LeaderboardTable,
    MetricStat,
)

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222}
main{max-width:1560px;margin:0 auto;padding:1rem 2rem}
nav#toc{background:#f6f8fa;border:1px solid #ddd;border-radius:6px;padding:.5rem 1.5rem}
nav#toc ul{margin:.2rem 0}
section{margin-top:2.5rem;border-top:1px solid #ddd}
table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0}
table.main{width:100%}
table.more{display:block;max-width:100%;overflow-x:auto}
th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;white-space:nowrap}
td.wrap{white-space:normal;overflow-wrap:anywhere;min-width:5rem}
table.more td.wrap{overflow-wrap:break-word;min-width:8rem}
td.flags .badge{white-space:normal}
tr.prov td{white-space:normal;overflow-wrap:anywhere}
code,pre{overflow-wrap:anywhere;white-space:pre-wrap}
th{background:#f0f3f6}
table.sortable th{cursor:pointer}
th[aria-sort=ascending]::after{content:" ▲"}
th[aria-sort=descending]::after{content:" ▼"}
td.num{font-variant-numeric:tabular-nums}
td.pub{color:#555;font-style:italic}
tr.baseline td{background:#eef2f5;color:#444}
tr.random td{background:#fff4e0}
tr.prov td{font-size:.75rem;color:#666;border-top:none;padding-top:0}
.badge{display:inline-block;border-radius:4px;padding:0 .35rem;font-size:.75rem;
margin:.1rem .3rem .1rem 0}
.badge.random{background:#f0a020;color:#000;font-weight:bold}
.badge.baseline{background:#ccd3da}
.badge.dirty{background:#e6b8b8}
details{margin:.5rem 0}
summary{cursor:pointer;color:#333}
figure{margin:.5rem 0}
figure svg{max-width:100%;height:auto}
.note{color:#555}
"""

# Sorts a table's row groups (one <tbody> each: the row and its details line) by the
# clicked column: numbers (data-v) as numbers, missing values last, text as text.
_SORT_JS = """
document.querySelectorAll('table.sortable').forEach(t => {
  const heads = [...t.tHead.rows[0].cells];
  heads.forEach((th, i) => th.addEventListener('click', () => {
    const up = th.getAttribute('aria-sort') !== 'ascending';
    heads.forEach(h => h.removeAttribute('aria-sort'));
    th.setAttribute('aria-sort', up ? 'ascending' : 'descending');
    const key = b => { const c = b.rows[0].cells[i];
      if (!('v' in c.dataset)) return c.textContent.trim();
      return c.dataset.v === '' ? null : Number(c.dataset.v); };
    const order = (a, b) => { const x = key(a), y = key(b);
      if (x === null || y === null) return (x === null) - (y === null);
      const d = typeof x === 'number' ? x - y : String(x).localeCompare(String(y));
      return up ? d : -d; };
    [...t.tBodies].sort(order).forEach(b => t.appendChild(b));
  }));
});
"""


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _badges(row: LeaderboardRow) -> str:
    out = []
    for flag in row.flags:
        cls = "baseline" if flag.startswith("baseline (") else (
            "random" if flag == RANDOM_WEIGHTS_MARK else "dirty")
        out.append(f'<span class="badge {cls}">{_esc(flag)}</span>')
    return "".join(out)


def _num(value: float | int | None) -> str:
    """The ``data-v`` sort key of a numeric cell ("" for a missing value)."""
    return "" if value is None or value != value else repr(value)


def _metric_cells(stat: MetricStat | None, published: bool) -> str:
    mean = None if stat is None else stat.mean
    out = f'<td class="num" data-v="{_num(mean)}">{_esc(fmt_ci(stat))}</td>'
    if published:
        value = stat.published.value if stat and stat.published else None
        out += f'<td class="num pub wrap" data-v="{_num(value)}">{_esc(published_text(stat))}</td>'
    return out


def _lead_cells(shown: ShownRow, table: LeaderboardTable) -> list[str]:
    """Rank, method, features, variant (and protocol when the table has several)."""
    row = shown.row
    # a variant breaks between its parameters rather than inside one
    variant = _esc(variant_text(row)).replace(",", ",<wbr>")
    cells = [
        f'<td class="num" data-v="{shown.rank}">{shown.rank_text}</td>',
        f"<td>{_esc(row.method)}</td>",
        f'<td class="wrap">{_esc(row.features)}</td>',
        f'<td class="wrap">{variant}</td>',
    ]
    if len(table.protocols) > 1:
        cells.append(f"<td>{_esc(row.protocol)}</td>")
    return cells


def _lead_heads(table: LeaderboardTable) -> list[str]:
    return ["#", "method", "features", "variant"] + (
        ["protocol"] if len(table.protocols) > 1 else [])


def _row_classes(row: LeaderboardRow) -> str:
    pairs = (("baseline", row.is_baseline), ("random", row.random_weights))
    return " ".join(c for c, on in pairs if on)


def _main_row(shown: ShownRow, table: LeaderboardTable) -> str:
    """One row group of the main table: the row and its provenance line."""
    primary, row = table.primary_metric, shown.row
    used = row.tracks.split("/")[0] if row.tracks else ""
    cells = _lead_cells(shown, table) + [
        _metric_cells(row.stat(primary), primary in table.published_metrics),
        f'<td class="num" data-v="{row.n_folds * row.n_seeds}">'
        f"{row.n_folds} × {row.n_seeds}</td>",
        f'<td class="num" data-v="{_esc(used if used.isdigit() else "")}">'
        f"{_esc(row.tracks_text)}</td>",
        f'<td class="flags wrap">{_badges(row)}</td>',
    ]
    width = len(cells) + (primary in table.published_metrics)
    classes = _row_classes(row)
    prov = (f'<tr class="prov {classes}"><td colspan="{width}">'
            f"{_esc(provenance_text(row) + full_parameters(row))}</td></tr>")
    return f'<tbody><tr class="{classes}">' + "".join(cells) + f"</tr>\n{prov}</tbody>"


def _main_table(table: LeaderboardTable) -> str:
    primary = table.primary_metric
    heads = _lead_heads(table) + [f"{primary} {arrow(primary)}"]
    if primary in table.published_metrics:
        heads.append(f"{primary} published")
    heads += ["n (folds × seeds)", "tracks", "flags"]
    head = "<tr>" + "".join(f"<th>{_esc(h)}</th>" for h in heads) + "</tr>"
    body = "\n".join(_main_row(shown, table) for shown in shown_rows(table))
    return f'<table class="main sortable"><thead>{head}</thead>\n{body}\n</table>'


def _more_table(table: LeaderboardTable) -> str:
    """The other metrics (and each row's weights), folded under the main table."""
    metrics = secondary_metrics(table)
    if not metrics:
        return ""
    return _folded_table(table, metrics, f"Other metrics ({len(metrics)}): {', '.join(metrics)}")


def _detail_tables(table: LeaderboardTable) -> str:
    """Per-label values (a tagging table's per-tag PR-AUC, ROC-AUC), one folded table
    per measure with a column per label."""
    return "".join(_folded_table(table, metrics, f"Per-tag {measure} ({len(metrics)} tags)")
                   for measure, metrics in table.detail_groups())


def _folded_table(table: LeaderboardTable, metrics: Sequence[str], summary: str) -> str:
    """Each row's weights and ``metrics`` in a sortable table folded away under ``summary``."""
    heads = _lead_heads(table) + ["weights"]
    for metric in metrics:
        heads.append(f"{metric} {arrow(metric)}")
        if metric in table.published_metrics:
            heads.append(f"{metric} published")
    head = "<tr>" + "".join(f"<th>{_esc(h)}</th>" for h in heads) + "</tr>"
    rows = []
    for shown in shown_rows(table):
        row = shown.row
        cells = _lead_cells(shown, table) + [f"<td>{_esc(row.weights)}</td>"]
        cells += [_metric_cells(row.stat(m), m in table.published_metrics) for m in metrics]
        rows.append(f'<tbody><tr class="{_row_classes(row)}">{"".join(cells)}</tr></tbody>')
    return (f"<details><summary>{_esc(summary)}</summary>"
            f'<table class="more sortable"><thead>{head}</thead>\n' + "\n".join(rows)
            + "\n</table></details>")


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
    missing = "" if table.baseline else '<p class="note">No baseline run for this table.</p>'
    if table.other_data_note:
        missing += f'<p class="note">{_esc(table.other_data_note)}</p>'
    protocol = f" · protocol {_esc(table.protocols[0])}" if len(table.protocols) == 1 else ""
    return (
        f'<section id="{_esc(table.anchor)}"><h2>{_esc(table.title)}</h2>'
        f'<p class="note">Primary metric: <b>{_esc(table.primary_metric)}</b> '
        f"{arrow(table.primary_metric)} · mean [95 % CI] over folds and seeds{protocol}"
        " · click a column header to sort</p>"
        f"<figure>{chart_svg(table)}</figure>"
        f"{_main_table(table)}{_more_table(table)}{_detail_tables(table)}{missing}</section>"
    )


def _md_to_html(text: str) -> str:
    """The few inline Markdown marks the intro uses: **bold** and `code`."""
    out = _esc(text)
    out = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", out)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", out)


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


def render_html(
    tables: Sequence[LeaderboardTable], source: str = "", appendix: str = ""
) -> str:
    script = f"<script>{_SORT_JS}</script>" if tables else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{TITLE}</title><style>{_CSS}</style></head>\n<body><main>"
        f"<h1>{TITLE}</h1>\n{_html_body(tables, source, appendix)}\n</main>{script}"
        "</body></html>\n"
    )


def write_html(
    tables: Sequence[LeaderboardTable], path: Path, source: str = "", appendix: str = ""
) -> Path:
    """One self-contained page: inline CSS, SVG plots and script, no network resource."""
    return atomic_write(path, render_html(tables, source, appendix))
