"""Executing a plan from the command line: checks before anything runs, the runs, the
summary with each failure and held run by name, the leaderboard and the exit status."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from mer_bench.commands.common import err, say
from mer_bench.errors import MerBenchError


def write_with_papers(tracker: object, out: Path) -> dict[str, Path]:
    """The leaderboard with the papers' numbers: beside matching rows, and as paper tables."""
    from mer_bench.leaderboard import write_leaderboard
    from mer_bench.paper_report import render_html_section, render_markdown_section
    from mer_bench.papers import load_papers, published_values, summarise

    published, sections = [], []
    try:
        papers = load_papers()
        published = published_values(papers)
        results = summarise([t for p in papers for t in p.tables], tracker)
        sections = [(render_markdown_section(results), render_html_section(results))]
    except MerBenchError as exc:
        err.print(f"[yellow]paper tables skipped:[/yellow] {exc}", highlight=False)
    return write_leaderboard(tracker, out, published=published, sections=sections)


def check_tasks(tasks: list[str] | tuple[str, ...]) -> None:
    """Refuse an unknown task name up front, with the nearest known one."""
    from mer_bench.errors import TaskError
    from mer_bench.suggest import unknown
    from mer_bench.types import TaskKind

    names = [k.value for k in TaskKind.all()]
    for task in tasks:
        if str(task).strip().lower() not in names:
            raise TaskError(unknown("task", str(task), names))


def check_method_params(entries, tasks, smoke: bool = False) -> None:
    """Refuse, before anything runs, a method parameter of the wrong type, one the
    estimator would refuse, or one a task of the plan ignores (one-line error).

    Every (method, task) pair the method supports is checked with the parameters the
    run would use (smoke ones included); unsupported pairs are left out by the plan.
    """
    from mer_bench.config import check_param_types
    from mer_bench.methods import METHODS
    from mer_bench.types import TaskKind

    kinds = [TaskKind.parse(str(t)) for t in tasks]
    for name, values in entries:
        if name not in METHODS.names():
            continue
        cls = METHODS.get(name)
        check_param_types(f"method {name!r}", cls.Params, values)
        params = cls.make_params(values, smoke=smoke)
        for kind in kinds:
            if cls.supports_task(kind):
                cls.validate_params(params, kind)


HELD_EXIT = 3  # the bench's own runs are done, but other workers still hold some
# how often --wait looks at runs other workers hold (seconds)
WAIT_POLL_S = float(os.environ.get("MER_BENCH_WAIT_POLL_S", "30"))


def execute(
    plan_obj,
    tracking_uri: str | None,
    smoke: bool,
    out: Path | None,
    jobs: int | None,
    fail_fast: bool = False,
    wait: bool = False,
    plots: bool = True,
    executor: Any = None,
) -> None:
    """Run a plan's runs, rebuild the leaderboard, and exit non-zero when runs failed
    (1) or are still held by other workers (3, unless ``wait``)."""
    from mer_bench.runs import Runner, RunnerSettings, expand
    from mer_bench.tracking import make_tracker

    start = time.perf_counter()
    check_tasks(plan_obj.tasks)
    check_method_params([(m.name, dict(m.params)) for m in plan_obj.methods],
                         plan_obj.tasks, smoke)
    runs, notes = expand(plan_obj, smoke=smoke)
    for note in notes:
        say(f"[dim]left out: {escape(note)}[/dim]", markup=True)
    if not runs:
        raise MerBenchError("the plan has no compatible (method, dataset, task, features) run")
    tracker = make_tracker(tracking_uri)
    say(f"{len(runs)} run(s) of plan {plan_obj.name!r}; tracking in {tracker.describe()}")
    from mer_bench.training import TrainerSettings

    settings = RunnerSettings(
        smoke=smoke, n_jobs=jobs, trainer=TrainerSettings(**dict(plan_obj.trainer)), plots=plots,
        executor=executor or executor_settings(plan_obj, None, None),
    )
    runner = Runner(tracker, settings, report=say)
    check_datasets(runner, runs)
    if settings.executor.name != "local":
        _ = runner.executor  # started (or joined) now: an unreachable cluster stops here
        say(f"folds run on {settings.executor.name}"
            + (f" at {settings.executor.address}" if settings.executor.address else ""))
    try:
        outcomes = runner.run_all(runs, keep_going=not fail_fast)
        if wait:
            outcomes = runner.wait_for_held(runs, outcomes, poll_s=WAIT_POLL_S)
    except KeyboardInterrupt:
        err.print("interrupted: finished runs are saved; run the same command again to resume")
        raise typer.Exit(130) from None
    except Exception:
        if out is not None:  # --fail-fast: what finished still reaches the leaderboard
            write_with_papers(tracker, out)
        raise
    finally:
        runner.close()
    report_outcomes(outcomes, tracker, out, start)


def executor_settings(plan_obj, name: str | None, address: str | None):
    """The plan's ``executor:`` block with ``--executor`` / ``--address`` on top."""
    from mer_bench.runs.executors import ExecutorSettings

    raw = dict(plan_obj.executor) if plan_obj is not None else {}
    if name is not None:
        raw["name"] = name
    if address is not None:
        raw["address"] = address
    if raw.get("address") and raw.get("name", "local") == "local":
        raise MerBenchError("--address joins a Ray cluster: add --executor ray")
    return ExecutorSettings.from_dict(raw, "--executor")



def check_datasets(runner, runs) -> None:
    """Validate every dataset of the runs once, before the first fit; one message for all."""
    from mer_bench.errors import DatasetError

    problems: dict[str, list[str]] = {}
    for run in runs:
        try:
            runner.data.check_datasets(run)
        except MerBenchError as exc:
            problems.setdefault(str(exc), []).append(run.name)
    if problems:
        n = sum(map(len, problems.values()))
        lines = [f"{text}\n  (stops {len(names)} run(s))" for text, names in problems.items()]
        raise DatasetError(
            f"{len(problems)} dataset problem(s) stop {n} of {len(runs)} run(s); nothing was "
            "run:\n" + "\n".join(lines))


def report_outcomes(outcomes: list, tracker: object, out: Path | None, start: float) -> None:
    """The bench's summary, the leaderboard, each failure and held run by name, and the
    exit status: 1 when runs failed, ``HELD_EXIT`` when other workers still hold some."""
    statuses = ("finished", "skipped", "held", "lost", "failed")
    counts = {s: sum(o.status == s for o in outcomes) for s in statuses}
    extra = "".join(
        f", {counts[s]} {text}" for s, text in
        (("held", "held by other workers"), ("lost", "taken over by other workers")) if counts[s]
    )
    say(
        f"done in {time.perf_counter() - start:.1f} s: {counts['finished']} finished, "
        f"{counts['skipped']} already done{extra}, {counts['failed']} failed"
    )
    if out is not None:
        paths = write_with_papers(tracker, out)
        say(f"leaderboard: {paths['html']} (and {paths['markdown'].name}, {paths['csv'].name})")
    for o in outcomes:
        if o.status == "failed":
            err.print(f"[red]failed[/red] {escape(o.name)}: {escape(o.error)}", highlight=False)
    for o in outcomes:
        if o.status in ("held", "lost"):
            err.print(f"[yellow]{o.status}[/yellow] {escape(o.name)}: {escape(o.error)}",
                      highlight=False)
    if counts["failed"]:
        raise typer.Exit(1)
    if counts["held"]:
        err.print(f"{counts['held']} run(s) are still held by other workers, so the "
                  "leaderboard lacks them; rerun with --wait to wait for them (runs whose "
                  "worker is gone are taken over)", highlight=False)
        raise typer.Exit(HELD_EXIT)
