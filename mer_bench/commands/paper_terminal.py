"""``mer-bench reproduce`` in a terminal: the summary first, one compact line per row, and
each distinct reason once with the rows it covers.

A paper has dozens of rows and most of those that cannot run here fail for the
same reason (a dataset folder not given, weights not found); printing that reason
in every row buries the numbers. The Markdown table with every cell is still
written to ``leaderboard/papers/``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rich.table import Table

from mer_bench.commands.common import console, say
from mer_bench.paper_report import brief
from mer_bench.papers import RowResult, paper_text

NOTE_STATES = {"unavailable": "cannot run", "not run": "not run", "failed": "failed"}


def print_results(results: Sequence[RowResult], summary: Sequence[str]) -> None:
    """``summary`` lines, then the rows, then each reason (numbered) with its rows."""
    for line in summary:
        say(line)
    reasons: dict[str, list[RowResult]] = {}
    for r in results:
        if r.status in NOTE_STATES and r.reason:
            reasons.setdefault(brief(r.reason), []).append(r)
    number = {text: i for i, text in enumerate(reasons, 1)}
    table = _table("table", "row", "metric", "published", "ours [95% CI]", "diff", "in CI",
                   "status")
    for r in results:
        table.add_row(*row_cells(r, number.get(brief(r.reason))))
    console.print(table)
    if reasons:
        say("")
        say("why rows did not run:")
    for text, rows in reasons.items():
        say(f"  [{number[text]}] {text}")
        say(f"      {len(rows)} row(s): {_row_names(rows)}")
    to_run = [r for r in results if r.status == "to run"]
    if to_run:
        say("")
        say("to run:")
        for r in to_run:  # what each row runs, every setting that changes its numbers
            say(f"  {r.row.table} · {r.row.label}: {r.row.settings()}")
            say(f"      {seeds_folded(r.reason.removeprefix('to run: '))}")


def seeds_folded(runs: str) -> str:
    """``a/seed0 (est); a/seed1 (est)`` -> ``a/seed0-1 (est)``: a row's rounds on one line."""
    groups: dict[tuple[str, str], list[int]] = {}
    for label in runs.split("; "):
        match = re.fullmatch(r"(.*?/seed)(\d+)(.*)", label)
        if match is None:
            groups.setdefault((label, ""), [])
            continue
        groups.setdefault((match.group(1), match.group(3)), []).append(int(match.group(2)))
    parts = []
    for (head, tail), seeds in groups.items():
        if not seeds:
            parts.append(head)
        elif seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 1:
            parts.append(f"{head}{seeds[0]}-{seeds[-1]}{tail}")
        else:
            parts.append(f"{head}{','.join(map(str, seeds))}{tail}")
    return "; ".join(parts)


def row_cells(r: RowResult, reason: int | None) -> list[str]:
    """One row: table, label, metric, published (the paper's precision), ours, diff, in CI,
    and a status that names its reason by number."""
    published = "" if r.row.published is None else paper_text(r.row.published)
    if r.row.published_std is not None:
        published += f" ± {paper_text(r.row.published_std)}"
    cells = [r.row.table, r.row.label, r.row.metric, published]
    if r.status != "ok" or r.mean is None:
        status = NOTE_STATES.get(r.status, r.status)
        return [*cells, "—", "", "", f"{status} [{reason}]" if reason else status]
    ours = f"{r.mean:.3f} [{r.low:.3f}, {r.high:.3f}]"
    diff = "" if r.difference is None else f"{r.difference:+.3f}"
    inside = {True: "yes", False: "no", None: ""}[r.inside]
    return [*cells, ours, diff, inside, f"n={r.n}"]


def _table(*columns: str) -> Table:
    """A borderless table whose cells stay on one line (cut with an ellipsis)."""
    table = Table(*columns, box=None, pad_edge=False, header_style="bold")
    for column in table.columns:
        column.no_wrap, column.overflow = True, "ellipsis"
    return table


def _row_names(rows: Sequence[RowResult], shown: int = 4) -> str:
    """A few of the rows a reason covers, by table and label."""
    names = [f"{r.row.table} · {r.row.label}" for r in rows[:shown]]
    more = f", and {len(rows) - shown} more" if len(rows) > shown else ""
    return "; ".join(names) + more


def print_listing(papers: Sequence[Any]) -> None:
    """``reproduce --list``: one line per row (what it is, its published value, whether it
    has a run); ``--verbose`` gives every row's needs and settings."""
    for paper in papers:
        rounds = f", {paper.rounds} rounds per row" if paper.rounds > 1 else ""
        say(f"{paper.name}: {paper.title}{rounds}")
        table = _table("table", "row", "metric", "published", "run")
        for t in paper.tables:
            for row in t.rows:
                published = "" if row.published is None else paper_text(row.published)
                method = (row.run or {}).get("method", "")
                table.add_row(t.id, row.label, row.metric, published,
                              f"{method} on {row.run.get('dataset', '')}" if row.run else "—")
        console.print(table)
    say("(--verbose: what each row needs, its settings and notes)")
