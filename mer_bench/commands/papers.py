"""``mer-bench reproduce``'s listing, row selection and dry-run summary."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from mer_bench.commands.common import say


def print_tables(papers: list[Any]) -> None:
    """``reproduce --list``: every table, and what each row needs and runs."""
    for paper in papers:
        say(f"[bold]{paper.name}[/bold]: {escape(paper.title)}", markup=True)
        for table in paper.tables:
            runnable = sum(r.run is not None for r in table.rows)
            say(f"  {paper.name}:{table.id} — {table.caption} "
                f"({runnable}/{len(table.rows)} rows have a run; each needs what it lists)")
            for row in table.rows:
                line = (f"    - {row.label}: needs {row.needs()}" if row.run is not None
                        else f"    - {row.label}: cannot run here: {row.needs()}")
                if row.run is not None:
                    line += f"; runs {row.settings()}"
                if row.published is None:
                    line += f"; no published value: {row.note}"
                elif row.note:  # how the paper's setting was read
                    line += f"; note: {row.note}"
                if row.published_note:
                    line += f"; published not comparable: {row.published_note}"
                say(line)


def listed_papers(papers: list[Any], target: str | None) -> list[Any]:
    """What ``reproduce --list`` shows: every paper, or the one ``target`` names (an unknown
    name is refused, with the known ones)."""
    if target is None:
        return papers
    from mer_bench.papers import select

    select(papers, target)
    return [p for p in papers if p.name == target.split(":")[0]]


def only_rows(tables: list[Any], text: str | None) -> list[Any]:
    """The tables cut to the rows whose label contains ``text`` (e.g. to time one row)."""
    if not text:
        return tables
    kept = [dataclasses.replace(t, rows=tuple(r for r in t.rows if text in r.label))
            for t in tables]
    kept = [t for t in kept if t.rows]
    if not kept:
        raise typer.BadParameter(f"no row label contains {text!r}", param_hint="--row")
    return kept


def summary_lines(results: list[Any], costs: dict[str, Any] | None, dry_run: bool,
                  workers: int | None = None) -> list[str]:
    """The counts (and, when rows were timed, the paper's estimated total): printed first."""
    from mer_bench.reproduce import total_line

    counts = {s: sum(r.status == s for r in results)
              for s in ("ok", "to run", "unavailable", "not run", "failed")}
    if dry_run:
        lines = [f"dry run: {counts['ok']} row(s) done, {counts['to run']} to run, "
                 f"{counts['unavailable']} cannot run here; no run was logged"]
    else:
        lines = [f"{counts['ok']} row(s) with results, {counts['unavailable']} cannot run "
                 f"here, {counts['not run'] + counts['failed']} without a result"]
    if costs is not None:
        lines.append(total_line(costs, workers))
    return lines


def write_paper_outputs(results, target: str, tracker, out: Path) -> None:
    """The paper's tables beside ours as Markdown, and the leaderboard with them."""
    from mer_bench.commands.executing import write_with_papers
    from mer_bench.paper_report import render_markdown

    folder = out / "papers"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{target.replace(':', '-')}.md"
    path.write_text(f"# {target}\n\n{render_markdown(results)}\n")
    say(f"wrote {path}")
    paths = write_with_papers(tracker, out)  # index.html carries the paper tables too
    say(f"leaderboard: {paths['html']}")
