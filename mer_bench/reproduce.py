"""Reproducing a paper: run every row's missing runs, then compare them with the paper.

This is the stage that runs things, so it resolves rows into runs
(``mer_bench.runs``); ``papers.summarise`` afterwards reads the tracker alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mer_bench.errors import MerBenchError
from mer_bench.papers import PaperTable, RowResult, first_line, summarise
from mer_bench.runs import Runner, RunnerSettings, resolve
from mer_bench.tracking.base import FINISHED, Tracker


def reproduce(
    tables: list[PaperTable],
    tracker: Tracker,
    seeds: int = 1,
    roots: Mapping[str, str] | None = None,
    smoke: bool = False,
    report: Callable[[str], None] | None = None,
    dry_run: bool = False,
) -> list[RowResult]:
    """Run every row's missing runs (seeds 0..seeds-1), then summarise them against the paper.

    ``dry_run`` fits nothing: it checks each missing run's data and weights
    and marks the row "to run" (with the run's name) or "cannot run here".
    """
    say = report or (lambda message: None)
    runner = Runner(tracker, RunnerSettings(smoke=smoke), report=say)
    failed: dict[int, str] = {}
    planned: dict[int, list[str]] = {}
    for table in tables:
        for row in table.rows:
            if row.run is None:
                continue
            try:
                for seed in range(seeds):
                    run = resolve(row.spec(seed, roots), smoke)
                    if not dry_run:
                        say(f"{table.paper}:{table.id} {row.label} (seed {seed})")
                        runner.run(run)
                    elif done := [r for r in tracker.find_runs(run.config_hash)
                                  if r.status == FINISHED]:
                        runner.link_spec(done[0], run.spec_key)  # a run written differently
                    else:
                        runner.check(run)
                        label = f"{run.name} [{run.variant}]" if run.variant else run.name
                        planned.setdefault(id(row), []).append(label)
            except MerBenchError as exc:
                failed[id(row)] = first_line(exc)
    results = []
    for r in summarise(tables, tracker, seeds, smoke):
        if r.status != "ok" and id(r.row) in failed:
            r = RowResult(r.row, "unavailable", reason=failed[id(r.row)])
        elif r.status != "ok" and id(r.row) in planned:
            r = RowResult(r.row, "to run", reason="to run: " + "; ".join(planned[id(r.row)]))
        results.append(r)
    return results
