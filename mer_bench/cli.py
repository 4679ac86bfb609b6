"""The ``mer-bench`` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from mer_bench.commands.common import (
    Address,
    AllowMissing,
    Executor,
    FailFast,
    LeaderboardDir,
    NoPlots,
    Overrides,
    RandomInit,
    Roots,
    SkipInvalid,
    Smoke,
    TrackingUri,
    Wait,
    WeightsPaths,
    console,
    err,
    say,
)
from mer_bench.commands.data import data_app
from mer_bench.commands.executing import (
    check_method_params,
    check_tasks,
    execute,
    executor_settings,
    write_with_papers,
)
from mer_bench.commands.features import features_app
from mer_bench.commands.listing import list_plugins
from mer_bench.commands.paper_terminal import print_listing, print_results
from mer_bench.commands.papers import (
    listed_papers,
    only_rows,
    print_tables,
    summary_lines,
    write_paper_outputs,
)
from mer_bench.commands.plans import plan_path
from mer_bench.commands.weights import weights_app
from mer_bench.errors import MerBenchError

app = typer.Typer(
    help="mer-bench: reproducible Music Emotion Recognition benchmarks tracked in MLflow.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(data_app, name="data")
app.add_typer(features_app, name="features")
app.add_typer(weights_app, name="weights")
app.command("list")(list_plugins)

def _version(value: bool) -> None:
    """Print the package version and stop (eager option)."""
    if value:
        from mer_bench import __version__

        print(f"mer-bench {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """mer-bench: reproducible Music Emotion Recognition benchmarks tracked in MLflow."""


@app.command()
def bench(
    plan: Annotated[
        str, typer.Argument(help="Plan name in experiments/bench/ or a YAML path.")
    ] = "quick",
    overrides: Overrides = None,
    roots: Roots = None,
    tracking_uri: TrackingUri = None,
    smoke: Smoke = False,
    out: LeaderboardDir = Path("leaderboard"),
    no_leaderboard: Annotated[bool, typer.Option(
        "--no-leaderboard", help="Do not rebuild the leaderboard after the runs.")] = False,
    jobs: Annotated[int | None, typer.Option("--jobs", help="Feature worker processes.")] = None,
    weights: WeightsPaths = None,
    random_init: RandomInit = False,
    fail_fast: FailFast = False,
    wait: Wait = False,
    no_plots: NoPlots = False,
    executor: Executor = None,
    address: Address = None,
) -> None:
    """Run every run of a bench plan (finished ones are skipped), then rebuild the leaderboard."""
    from mer_bench.config import load_plan
    from mer_bench.features.weights import apply_cli_options
    from mer_bench.roots import apply_roots

    plan_obj = apply_roots(load_plan(plan_path(plan), overrides or []), roots)
    plan_obj = apply_cli_options(plan_obj, weights, random_init, say)
    execute(plan_obj, tracking_uri, smoke, None if no_leaderboard else out, jobs, fail_fast,
            wait, plots=not no_plots, executor=executor_settings(plan_obj, executor, address))


@app.command()
def run(
    method: Annotated[str, typer.Option("--method", "-m", help="Method name.")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Dataset name.")],
    task: Annotated[str, typer.Option("--task", "-t", help="Task kind.")],
    features: Annotated[str, typer.Option("--features", "-f", help="Feature extractor.")] = "mfcc",
    protocol: Annotated[str, typer.Option(
        "--protocol", "-p", help="official, kfold:K, repeated:R:0.8, artist-disjoint or "
        "transfer:DATASET.")] = "kfold:5",
    seeds: Annotated[int, typer.Option("--seeds", help="Number of seeds (0..N-1).")] = 1,
    roots: Roots = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="Method parameter (C=0.5) or plan value (features.mfcc.n_mfcc=40)."
        ),
    ] = None,
    tracking_uri: TrackingUri = None,
    smoke: Smoke = False,
    allow_missing_audio: AllowMissing = False,
    skip_invalid: SkipInvalid = False,
    jobs: Annotated[int | None, typer.Option("--jobs", help="Feature worker processes.")] = None,
    weights: WeightsPaths = None,
    random_init: RandomInit = False,
    music: Annotated[
        str | None,
        typer.Option("--music", help="text2music_retrieval: the music dataset for the texts."),
    ] = None,
    music_root: Annotated[
        str | None, typer.Option("--music-root", help="Folder of the --music dataset.")
    ] = None,
    out: LeaderboardDir = Path("leaderboard"),
    no_leaderboard: Annotated[bool, typer.Option(
        "--no-leaderboard", help="Do not rebuild the leaderboard after the runs.")] = False,
) -> None:
    """Run one method on one dataset and task, logging to MLflow; then rebuild the
    leaderboard (as ``bench`` does)."""
    from mer_bench.config import PLAN_KEYS, BenchPlan, apply_overrides
    from mer_bench.features.weights import apply_cli_options

    raw = {
        "name": "run",
        "datasets": [{"name": dataset}],
        "tasks": [task],
        "features": [features],
        "methods": [{"name": method, "params": {}}],
        "protocol": protocol,
        "seeds": seeds,
        "allow_missing_audio": allow_missing_audio,
        "skip_invalid": skip_invalid,
    }
    if music:
        raw["music"] = [{"name": music, "root": music_root}]
    qualified = []
    for item in overrides or []:
        key = item.partition("=")[0].strip()
        first = key.split(".")[0]
        qualified.append(item if first in PLAN_KEYS else f"methods.{method}.params.{item}")
    from mer_bench.roots import apply_roots

    plan_obj = BenchPlan.from_dict(apply_overrides(raw, qualified), "run")  # --seeds or --set
    if roots:  # a bare PATH is the --dataset's folder, even beside --music
        from mer_bench.roots import parse_roots

        named = parse_roots(roots, dataset)
        roots = [f"{name}={path}" for name, path in named.items()]
    plan_obj = apply_roots(plan_obj, roots)
    plan_obj = apply_cli_options(plan_obj, weights, random_init, say)
    execute(plan_obj, tracking_uri, smoke, None if no_leaderboard else out, jobs)


@app.command()
def leaderboard(
    tracking_uri: TrackingUri = None,
    out: LeaderboardDir = Path("leaderboard"),
) -> None:
    """Rebuild leaderboard/README.md, leaderboard.csv and index.html from the MLflow runs."""
    from mer_bench.tracking import make_tracker

    paths = write_with_papers(make_tracker(tracking_uri), out)
    for path in paths.values():
        say(f"wrote {path}")


@app.command()
def reproduce(
    target: Annotated[
        str | None, typer.Argument(help="PAPER or PAPER:TABLE from experiments/papers/.")
    ] = None,
    list_tables: Annotated[
        bool, typer.Option("--list", help="List every paper table and what it needs.")
    ] = False,
    roots: Annotated[
        list[str] | None, typer.Option("--root", help="Dataset folder as NAME=PATH (repeatable).")
    ] = None,
    seeds: Annotated[int | None, typer.Option(
        "--seeds", help="Seeds per row (0..N-1); default: the paper's rounds (its file's "
        "'rounds', else 1).")] = None,
    tracking_uri: TrackingUri = None,
    smoke: Smoke = False,
    out: LeaderboardDir = Path("leaderboard"),
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Fit nothing: check data and weights, and say which rows are done, to run, "
            "or cannot run here; time each row to run here and estimate its wall time.",
        ),
    ] = False,
    no_estimate: Annotated[
        bool,
        typer.Option(
            "--no-estimate",
            help="With --dry-run: skip the timing probes (each fits one fold briefly).",
        ),
    ] = False,
    estimate_budget: Annotated[
        float,
        typer.Option(
            "--estimate-budget",
            help="With --dry-run: minutes of timing probes at most; later rows are listed "
            "without an estimate (0: no limit).",
        ),
    ] = 15.0,
    row_text: Annotated[
        str | None,
        typer.Option("--row", help="Only the rows whose label contains this text."),
    ] = None,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="With --list: every row's needs, settings and notes.")] = False,
    executor: Executor = None,
    address: Address = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", help="With --dry-run --executor ray: estimate the wall time on N Ray "
        "workers like this machine.")] = None,
) -> None:
    """Run a paper's tables (finished runs are re-used) and print ours beside the published."""
    from mer_bench.papers import load_papers, select
    from mer_bench.reproduce import reproduce as run_tables
    from mer_bench.tracking import make_tracker

    if workers and (executor or "local") == "local":
        raise MerBenchError("--workers estimates folds spread by Ray: add --executor ray")
    papers = load_papers()
    if list_tables or target is None:
        (print_tables if verbose else print_listing)(listed_papers(papers, target))
        return
    from mer_bench.roots import parse_roots

    root_map = parse_roots(roots)
    tables = only_rows(select(papers, target), row_text)
    tracker = make_tracker(tracking_uri)
    costs: dict[str, Any] | None = {} if dry_run and not no_estimate else None
    try:
        results = run_tables(tables, tracker, seeds, root_map, smoke, report=say,
                             dry_run=dry_run, costs=costs,
                             estimate_budget_s=60 * estimate_budget if estimate_budget else None,
                             executor=executor_settings(None, executor, address))
    except KeyboardInterrupt:
        err.print("interrupted: finished runs are saved; run the same command again to resume")
        raise typer.Exit(130) from None
    print_results(results, summary_lines(results, costs, dry_run, workers))
    if not dry_run:
        write_paper_outputs(results, target, tracker, out)


@app.command()
def sweep(
    method: Annotated[str, typer.Option("--method", "-m", help="Method name.")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Dataset name.")],
    task: Annotated[str, typer.Option("--task", "-t", help="Task kind.")],
    features: Annotated[str, typer.Option("--features", "-f", help="Feature extractor.")] = "mfcc",
    protocol: Annotated[str, typer.Option(
        "--protocol", "-p", help="official, kfold:K, repeated:R:0.8, artist-disjoint or "
        "transfer:DATASET.")] = "kfold:5",
    trials: Annotated[int, typer.Option("--trials", "-n", help="Trials the study holds.")] = 20,
    storage: Annotated[str, typer.Option("--storage", help="Optuna RDB URL.")] = (
        "sqlite:///sweeps.db"
    ),
    study: Annotated[str | None, typer.Option("--study", help="Study name (resumed).")] = None,
    roots: Roots = None,
    fixed: Annotated[
        list[str] | None,
        typer.Option("--set", help="Fix a method parameter instead of searching it: C=0.5."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Split and model seed.")] = 0,
    tracking_uri: TrackingUri = None,
    smoke: Smoke = False,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Seconds, then stop.")] = None,
) -> None:
    """Optuna sweep over a method's search space, scored on validation folds.

    Resumable: run the same command again (or on another machine with a shared
    --storage) and it continues until the study holds --trials trials.
    """
    from mer_bench.config import RunSpec
    from mer_bench.plan_yaml import load_yaml
    from mer_bench.tracking import make_tracker
    from mer_bench.tuning import sweep as run_sweep

    values = {}
    for item in fixed or []:
        key, sep, text = item.partition("=")
        if not sep:
            raise MerBenchError(f"--set {item!r} is not key=value")
        values[key.strip()] = load_yaml(text, f"--set {key.strip()}=...", lines=False)
    check_tasks([task])
    check_method_params([(method, values)], [task], smoke)
    from mer_bench.roots import single_root

    root = single_root(roots, dataset)
    spec = RunSpec(method=method, dataset=dataset, task=task, features=features,
                   protocol=protocol, seed=seed, dataset_root=root)
    tracker = make_tracker(tracking_uri)
    try:
        result = run_sweep(spec, tracker, trials, storage=storage, study_name=study, fixed=values,
                           smoke=smoke, timeout_s=timeout, report=say)
    except KeyboardInterrupt:
        err.print("interrupted: finished trials are saved; run the same command to resume")
        raise typer.Exit(130) from None
    say(f"study {result.study_name} in {storage}: {result.n_trials} trials; this process "
         f"fitted {result.fits} fold model(s) and re-used {result.reuses}")
    if result.pruned:
        say(f"{len(result.pruned)} trial(s) pruned (stopped early by the pruner, as planned; "
            f"not failures): {', '.join(map(str, result.pruned))}")
    if result.best_value is not None:
        from mer_bench.tuning import reproduce_command

        say(f"best validation score {result.best_value:.4f} with {result.best_params}")
        say("score these parameters on the test folds with:")
        console.print(reproduce_command(spec, result.best_params, smoke, roots or []),
                      highlight=False, markup=False, soft_wrap=True)


def main() -> None:
    """Entry point: user errors print one clear message instead of a traceback."""
    try:
        app()
    except MerBenchError as exc:
        # soft_wrap: long paths and file names stay whole, so they can be copied or grepped
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
