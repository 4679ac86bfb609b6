"""Reproducing a paper: run every row's missing runs, then compare them with the paper.

This is the stage that runs things, so it resolves rows into runs
(``mer_bench.runs``); ``papers.summarise`` afterwards reads the tracker alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from mer_bench.errors import MerBenchError
from mer_bench.papers import PaperTable, RowResult, first_line, summarise, with_rounds
from mer_bench.runs import Runner, RunnerSettings, resolve
from mer_bench.runs.costs import CostEstimate, estimate
from mer_bench.runs.executors import ExecutorSettings
from mer_bench.runs.resolving import ResolvedRun
from mer_bench.tracking.base import FINISHED, Tracker
from mer_bench.types import stable_hash


def reproduce(
    tables: list[PaperTable],
    tracker: Tracker,
    seeds: int | None = None,
    roots: Mapping[str, str] | None = None,
    smoke: bool = False,
    report: Callable[[str], None] | None = None,
    dry_run: bool = False,
    costs: dict[str, CostEstimate | None] | None = None,
    estimate_budget_s: float | None = None,
    executor: ExecutorSettings | None = None,
) -> list[RowResult]:
    """Run every row's missing runs, then summarise them against the paper.

    Each row runs seeds 0..N-1, N being its paper's ``rounds`` (the paper's own
    repetitions; 1 unless its file says otherwise) or ``seeds`` when given; the
    summary takes exactly those seeds.

    ``dry_run`` fits nothing that is kept: it checks each missing run's data and
    weights and marks the row "to run" (with the run's name) or "cannot run
    here". With ``costs`` (a dict to fill) it also times each run to run on
    this machine (``runs.costs.estimate``: a short probe of its first fold,
    logged nowhere), writes the estimate beside the row and records it by
    config hash, so the caller can add up the paper's total. Runs that differ
    only in seed or task cost the same and are timed once. Once the probes
    have taken ``estimate_budget_s`` seconds, later runs are not timed (their
    entry is None): a whole paper of GPU-sized rows would otherwise keep a CPU
    machine busy for hours before printing anything.
    """
    say = report or (lambda message: None)
    tables = with_rounds(tables, seeds)
    runner = Runner(tracker, RunnerSettings(smoke=smoke, executor=executor or ExecutorSettings()),
                    report=say)
    failed: dict[int, str] = {}
    planned: dict[int, list[str]] = {}
    probed: dict[str, CostEstimate] = {}
    probing = _Budget(estimate_budget_s)
    try:
        for table in tables:
            for row in table.rows:
                if row.run is None:
                    continue
                try:
                    for seed in range(row.rounds):
                        run = resolve(row.spec(seed, roots), smoke)
                        if not dry_run:
                            say(f"{table.paper}:{table.id} {row.label} (seed {seed})")
                            runner.run(run)
                        elif done := [r for r in tracker.find_runs(run.config_hash)
                                      if r.status == FINISHED]:
                            runner.link_spec(done[0], run.spec_key)  # a run written differently
                        else:
                            runner.check(run)
                            label = run.name  # the name carries the variant
                            if costs is not None:
                                cost = _estimate(run, runner, probed, probing, say)
                                costs[run.config_hash] = cost
                                label += f" {cost.describe()}" if cost else f" ({UNTIMED})"
                            planned.setdefault(id(row), []).append(label)
                except MerBenchError as exc:
                    failed[id(row)] = first_line(exc)
    finally:
        runner.close()  # a Ray session it started
    results = []
    for r in summarise(tables, tracker, smoke=smoke, rounds=True):
        if r.status != "ok" and id(r.row) in failed:
            r = RowResult(r.row, "unavailable", reason=failed[id(r.row)])
        elif r.status != "ok" and id(r.row) in planned:
            r = RowResult(r.row, "to run", reason="to run: " + "; ".join(planned[id(r.row)]))
        results.append(r)
    return results


UNTIMED = "not timed: the estimate budget was spent; raise --estimate-budget or pick --row"


class _Budget:
    """Seconds left for timing probes (None: no limit)."""

    def __init__(self, seconds: float | None) -> None:
        self.left = seconds

    def spent(self) -> bool:
        return self.left is not None and self.left <= 0

    def charge(self, seconds: float) -> None:
        if self.left is not None:
            self.left -= seconds


def _estimate(
    run: ResolvedRun, runner: Runner, probed: dict[str, CostEstimate], budget: _Budget,
    say: Callable[[str], None],
) -> CostEstimate | None:
    """``run``'s cost estimate, timed once per configuration apart from seed and task;
    None once the budget is spent and the configuration was not timed before."""
    config = {k: v for k, v in run.config.items() if k not in ("seed", "task")}
    key = stable_hash([config, run.spec.dataset_root, run.spec.target_root, run.spec.music_root])
    if key not in probed:
        if budget.spent():
            return None
        start = time.perf_counter()
        probed[key] = estimate(run, runner, report=say)
        budget.charge(time.perf_counter() - start)
        say(f"  {probed[key].describe()}")
    return probed[key]


def on_workers(cost: CostEstimate, workers: int | None) -> float:
    """A run's estimate when its folds run ``workers`` at a time (``--executor ray``):
    ceil(folds / workers) rounds of a fold instead of ``folds``, plus the engine's
    overhead per round (``RAY_FOLD_OVERHEAD_S``, measured by ``make test-ray``)."""
    if not workers or workers < 2 or cost.fold_seconds is None:
        return cost.seconds
    rounds = -(-cost.folds // workers)
    return cost.seconds - (cost.folds - rounds) * cost.fold_seconds + rounds * RAY_FOLD_OVERHEAD_S


# what a Ray fold task adds to a fold fitted in process on this machine (seconds; the
# object-store transfer and the worker's start, see docs/operations.md)
RAY_FOLD_OVERHEAD_S = 0.5


def total_line(all_costs: Mapping[str, CostEstimate | None], workers: int | None = None) -> str:
    """The paper's total: every timed run to run, one after another, on this machine
    (and how many runs the budget left untimed); with ``workers``, each run's folds
    ``workers`` at a time on workers like this machine."""
    from mer_bench.runs.costs import duration

    costs = {k: c for k, c in all_costs.items() if c is not None}
    untimed = len(all_costs) - len(costs)
    missing = f"; {untimed} more run(s) not timed (estimate budget spent)" if untimed else ""
    if not costs:
        return f"estimated total: nothing timed{missing}" if untimed else (
            "estimated total: nothing to run")
    # one process runs them all: its one-time costs (imports...) are paid once
    once = max(c.once_seconds for c in costs.values())
    seconds = once + sum(on_workers(c, workers) - c.once_seconds for c in costs.values())
    devices = ", ".join(sorted({c.device for c in costs.values()}))
    upper = sum(c.upper_bound for c in costs.values())
    lower = sum(c.lower_bound for c in costs.values())
    hedges = [f"{upper} with early stopping, which may end sooner"] if upper else []
    if lower:
        hedges.append(f"{lower} timed in part, so longer")
    hedge = f"; of these runs {' and '.join(hedges)}" if hedges else ""
    where = (f"on {workers} Ray workers like this one ({devices}), each run's folds "
             f"{workers} at a time" if workers and workers > 1
             else f"here ({devices}), one after another")
    return f"estimated total: ≈ {duration(seconds)} for {len(costs)} run(s) {where}{hedge}{missing}"
