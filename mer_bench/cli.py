"""The ``mer-bench`` command line."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mer_bench.errors import MerBenchError

app = typer.Typer(
    help="mer-bench: reproducible Music Emotion Recognition benchmarks tracked in MLflow.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Inspect and validate datasets.", no_args_is_help=True)
features_app = typer.Typer(help="Extract features into the cache.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(features_app, name="features")
weights_app = typer.Typer(help="Pretrained weight files: status and download.",
                          no_args_is_help=True)
app.add_typer(weights_app, name="weights")

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


console = Console()
err = Console(stderr=True)

REPO = Path(__file__).resolve().parents[1]

TrackingUri = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="MLflow tracking URI (default $MLFLOW_TRACKING_URI or "
        "sqlite:///mlruns.db); 'memory' keeps runs in memory only.",
    ),
]
Smoke = Annotated[bool, typer.Option("--smoke", help="Tiny method parameters (pipeline checks).")]
Roots = Annotated[list[str] | None, typer.Option(
    "--root", help="Dataset folder as NAME=PATH (repeatable); a bare PATH where one dataset "
    "is named.")]
AllowMissing = Annotated[
    bool,
    typer.Option(
        "--allow-missing-audio", help="Run on the tracks that have audio; log the missing ids."
    ),
]
SkipInvalid = Annotated[
    bool,
    typer.Option(
        "--skip-invalid",
        help="Leave out every track with a track-level error listed by `data check` (missing, "
        "unreadable, truncated or short audio, bad label, unusable id or path); errors about "
        "a whole file still stop the run, warnings never drop a track.",
    ),
]
Overrides = Annotated[
    list[str] | None,
    typer.Option(
        "--set", help="Override a plan value, e.g. seeds=3, methods.linear.C=0.5 (repeatable)."
    ),
]
LeaderboardDir = Annotated[Path, typer.Option("--out", help="Leaderboard output folder.")]
WeightsPaths = Annotated[list[Path] | None, typer.Option(
    "--weights", help="Pretrained weights: a file, or a folder of files under their official "
    "names (repeatable); default $TORCH_HOME/hub/checkpoints.")]
RandomInit = Annotated[bool, typer.Option(
    "--random-init", help="Untrained seeded weights for extractors that have weights "
    "(smoke tests only; runs are tagged weights=random).")]


def _say(message: str, markup: bool = False) -> None:
    """Print a status line; markup only where the caller wrote it (data may hold "[...]")."""
    console.print(message, highlight=False, markup=markup)


def _write_leaderboard(tracker: object, out: Path) -> dict[str, Path]:
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


# --- list ---------------------------------------------------------------------
@app.command("list")
def list_plugins(
    what: Annotated[str, typer.Argument(help="datasets, features, methods or tasks")] = "all",
) -> None:
    """List registered datasets, features, methods and tasks with what each supports."""
    from mer_bench.data import DATASETS
    from mer_bench.features import FEATURES
    from mer_bench.methods import METHODS
    from mer_bench.types import TaskKind

    choices = {"datasets", "features", "methods", "tasks", "all"}
    if what not in choices:
        raise MerBenchError(f"cannot list {what!r}; choose from {sorted(choices)}")
    if what in ("datasets", "all"):
        table = Table("dataset", "version", "tasks", "license", title="datasets")
        for name, cls in DATASETS.items():
            table.add_row(
                name, cls.version, ", ".join(sorted(k.value for k in cls.task_kinds)), cls.license
            )
        console.print(table)
    if what in ("features", "all"):
        table = Table("feature", "version", "sample rate", "dim", "hop (s)", title="features")
        for name, cls in FEATURES.items():
            ex = cls()
            table.add_row(
                name,
                cls.version,
                str(cls.sample_rate),
                str(ex.dim),
                "clip" if ex.hop_s is None else f"{ex.hop_s:.3f}",
            )
        console.print(table)
    if what in ("methods", "all"):
        table = Table("method", "consumes", "tasks", title="methods")
        for name, cls in METHODS.items():
            table.add_row(name, cls.consumes, ", ".join(sorted(k.value for k in cls.supports)))
        console.print(table)
    if what in ("tasks", "all"):
        table = Table("task", "kind", "primary metric", title="tasks")
        for kind in TaskKind:
            label = (
                f"{kind.n_classes} classes"
                if kind.is_classification
                else ("retrieval" if "retrieval" in kind.value else "regression")
            )
            table.add_row(kind.value, label, kind.primary_metric)
        console.print(table)


# --- run / bench ----------------------------------------------------------------
def _plan_folders() -> list[Path]:
    """Where plan names are looked up: ./experiments/bench, then the installed package's."""
    folders = [Path.cwd() / "experiments" / "bench", REPO / "experiments" / "bench"]
    return list(dict.fromkeys(p.resolve() for p in folders))


def available_plans() -> list[str]:
    """Names of the bench plans a bare name can refer to."""
    return sorted({p.stem for folder in _plan_folders() for p in folder.glob("*.yaml")})


def _plan_path(plan: str) -> Path:
    """A plan name or YAML path; an unknown name lists the plans there are."""
    from mer_bench.suggest import unknown

    if Path(plan).is_file():
        return Path(plan)
    if not plan.endswith((".yaml", ".yml")):
        for folder in _plan_folders():
            if (folder / f"{plan}.yaml").is_file():
                return folder / f"{plan}.yaml"
        raise MerBenchError(
            unknown("bench plan", plan, available_plans())
            + "; or give a plan file's path (a .yaml)"
        )
    raise MerBenchError(f"bench plan file {plan} not found")


def _check_tasks(tasks: list[str] | tuple[str, ...]) -> None:
    """Refuse an unknown task name up front, with the nearest known one."""
    from mer_bench.errors import TaskError
    from mer_bench.suggest import unknown
    from mer_bench.types import TaskKind

    names = [k.value for k in TaskKind]
    for task in tasks:
        if str(task).strip().lower() not in names:
            raise TaskError(unknown("task", str(task), names))


def _check_method_params(entries) -> None:
    """Refuse a method parameter of the wrong type before anything runs (one-line error)."""
    from mer_bench.config import check_param_types
    from mer_bench.methods import METHODS

    for name, params in entries:
        if name in METHODS.names():
            check_param_types(f"method {name!r}", METHODS.get(name).Params, params)


def _execute(
    plan_obj, tracking_uri: str | None, smoke: bool, out: Path | None, jobs: int | None
) -> None:
    from mer_bench.runner import Runner, RunnerSettings, expand
    from mer_bench.tracking import make_tracker

    start = time.perf_counter()
    _check_tasks(plan_obj.tasks)
    _check_method_params((m.name, dict(m.params)) for m in plan_obj.methods)
    runs, notes = expand(plan_obj, smoke=smoke)
    for note in notes:
        _say(f"[dim]left out: {escape(note)}[/dim]", markup=True)
    if not runs:
        raise MerBenchError("the plan has no compatible (method, dataset, task, features) run")
    tracker = make_tracker(tracking_uri)
    _say(f"{len(runs)} run(s) of plan {plan_obj.name!r}; tracking in {tracker.describe()}")
    from mer_bench.training import TrainerSettings

    settings = RunnerSettings(
        smoke=smoke, n_jobs=jobs, trainer=TrainerSettings(**dict(plan_obj.trainer))
    )
    runner = Runner(tracker, settings, report=_say)
    _check_datasets(runner, runs)
    try:
        outcomes = runner.run_all(runs)
    except KeyboardInterrupt:
        err.print("interrupted: finished runs are saved; run the same command again to resume")
        raise typer.Exit(130) from None
    counts = {
        s: sum(o.status == s for o in outcomes) for s in ("finished", "skipped", "held", "failed")
    }
    held = f", {counts['held']} held by other workers" if counts["held"] else ""
    _say(
        f"done in {time.perf_counter() - start:.1f} s: {counts['finished']} finished, "
        f"{counts['skipped']} already done{held}, {counts['failed']} failed"
    )
    if out is not None:
        paths = _write_leaderboard(tracker, out)
        _say(f"leaderboard: {paths['markdown']}")
    if counts["failed"]:
        for o in outcomes:
            if o.status == "failed":
                err.print(f"[red]failed[/red] {o.name}: {o.error}", highlight=False)
        raise typer.Exit(1)


def _check_datasets(runner, runs) -> None:
    """Validate every dataset of the runs once, before the first fit; one message for all."""
    from mer_bench.errors import DatasetError

    problems: dict[str, list[str]] = {}
    for run in runs:
        try:
            runner.check_datasets(run)
        except MerBenchError as exc:
            problems.setdefault(str(exc), []).append(run.name)
    if problems:
        n = sum(map(len, problems.values()))
        lines = [f"{text}\n  (stops {len(names)} run(s))" for text, names in problems.items()]
        raise DatasetError(
            f"{len(problems)} dataset problem(s) stop {n} of {len(runs)} run(s); nothing was "
            "run:\n" + "\n".join(lines))


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
) -> None:
    """Run every run of a bench plan (finished ones are skipped), then rebuild the leaderboard."""
    from mer_bench.config import load_plan
    from mer_bench.features.weights import apply_cli_options
    from mer_bench.roots import apply_roots

    plan_obj = apply_roots(load_plan(_plan_path(plan), overrides or []), roots)
    plan_obj = apply_cli_options(plan_obj, weights, random_init, _say)
    _execute(plan_obj, tracking_uri, smoke, None if no_leaderboard else out, jobs)


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
) -> None:
    """Run one method on one dataset and task, logging to MLflow."""
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

    plan_obj = BenchPlan.from_dict(apply_overrides(raw, qualified), "--set")
    if roots:  # a bare PATH is the --dataset's folder, even beside --music
        from mer_bench.roots import parse_roots

        named = parse_roots(roots, dataset)
        roots = [f"{name}={path}" for name, path in named.items()]
    plan_obj = apply_roots(plan_obj, roots)
    plan_obj = apply_cli_options(plan_obj, weights, random_init, _say)
    _execute(plan_obj, tracking_uri, smoke, None, jobs)


@app.command()
def leaderboard(
    tracking_uri: TrackingUri = None,
    out: LeaderboardDir = Path("leaderboard"),
) -> None:
    """Rebuild leaderboard/README.md, leaderboard.csv and index.html from the MLflow runs."""
    from mer_bench.tracking import make_tracker

    paths = _write_leaderboard(make_tracker(tracking_uri), out)
    for path in paths.values():
        _say(f"wrote {path}")


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
    seeds: Annotated[int, typer.Option("--seeds", help="Seeds per row (0..N-1).")] = 1,
    tracking_uri: TrackingUri = None,
    smoke: Smoke = False,
    out: LeaderboardDir = Path("leaderboard"),
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Fit nothing: check data and weights, and say which rows are done, to run, "
            "or cannot run here.",
        ),
    ] = False,
) -> None:
    """Run a paper's tables (finished runs are re-used) and print ours beside the published."""
    from mer_bench.paper_report import render_markdown
    from mer_bench.papers import load_papers, select
    from mer_bench.papers import reproduce as run_tables
    from mer_bench.tracking import make_tracker

    papers = load_papers()
    if list_tables or target is None:
        for paper in papers:
            _say(f"[bold]{paper.name}[/bold]: {escape(paper.title)}", markup=True)
            for table in paper.tables:
                runnable = sum(r.run is not None for r in table.rows)
                _say(f"  {paper.name}:{table.id} — {table.caption} "
                     f"({runnable}/{len(table.rows)} rows have a run; each needs what it lists)")
                for row in table.rows:
                    line = (f"    - {row.label}: needs {row.needs()}" if row.run is not None
                            else f"    - {row.label}: cannot run here: {row.needs()}")
                    if row.run is not None:
                        line += f"; runs {row.settings()}"
                    if row.published is None:
                        line += f"; no published value: {row.note}"
                    if row.published_note:
                        line += f"; published not comparable: {row.published_note}"
                    _say(line)
        return
    from mer_bench.roots import parse_roots

    root_map = parse_roots(roots)
    tables = select(papers, target)
    tracker = make_tracker(tracking_uri)
    try:
        results = run_tables(tables, tracker, seeds, root_map, smoke, report=_say,
                             dry_run=dry_run)
    except KeyboardInterrupt:
        err.print("interrupted: finished runs are saved; run the same command again to resume")
        raise typer.Exit(130) from None
    text = render_markdown(results, settings=dry_run)
    console.print(text, highlight=False, markup=False, soft_wrap=True)  # keep table rows whole
    if dry_run:
        counts = {s: sum(r.status == s for r in results) for s in ("ok", "to run", "unavailable")}
        _say(f"dry run: {counts['ok']} row(s) done, {counts['to run']} to run, "
             f"{counts['unavailable']} cannot run here; nothing was fitted or written")
        return
    folder = out / "papers"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{target.replace(':', '-')}.md"
    path.write_text(f"# {target}\n\n{text}\n")
    _say(f"wrote {path}")
    paths = _write_leaderboard(tracker, out)  # index.html carries the paper tables too
    _say(f"leaderboard: {paths['html']}")


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
    import yaml

    from mer_bench.config import RunSpec
    from mer_bench.tracking import make_tracker
    from mer_bench.tuning import sweep as run_sweep

    values = {}
    for item in fixed or []:
        key, sep, text = item.partition("=")
        if not sep:
            raise MerBenchError(f"--set {item!r} is not key=value")
        values[key.strip()] = yaml.safe_load(text)
    _check_tasks([task])
    _check_method_params([(method, values)])
    from mer_bench.roots import single_root

    root = single_root(roots, dataset)
    spec = RunSpec(method=method, dataset=dataset, task=task, features=features,
                   protocol=protocol, seed=seed, dataset_root=root)
    tracker = make_tracker(tracking_uri)
    try:
        result = run_sweep(spec, tracker, trials, storage=storage, study_name=study, fixed=values,
                           smoke=smoke, timeout_s=timeout, report=_say)
    except KeyboardInterrupt:
        err.print("interrupted: finished trials are saved; run the same command to resume")
        raise typer.Exit(130) from None
    _say(f"study {result.study_name} in {storage}: {result.n_trials} trials; this process "
         f"fitted {result.fits} fold model(s) and re-used {result.reuses}")
    if result.best_value is not None:
        from mer_bench.tuning import reproduce_command

        _say(f"best validation score {result.best_value:.4f} with {result.best_params}")
        _say("score these parameters on the test folds with:")
        console.print(reproduce_command(spec, result.best_params, smoke, roots or []),
                      highlight=False, markup=False, soft_wrap=True)


# --- data -------------------------------------------------------------------------
@data_app.command("check")
def data_check(
    dataset: Annotated[str, typer.Argument(help="Dataset name.")],
    roots: Roots = None,
    allow_missing_audio: AllowMissing = False,
    deep: Annotated[
        bool, typer.Option("--deep", help="Decode every audio file completely.")
    ] = False,
) -> None:
    """Validate a dataset folder: counts, splits, label ranges and every problem found."""
    from mer_bench.data import DATASETS
    from mer_bench.data.base import MISSING_AUDIO, TRACK_LEVEL_CODES
    from mer_bench.roots import single_root

    adapter = DATASETS.get(dataset)(single_root(roots, dataset))
    report = adapter.validate(deep=deep)
    waived = {MISSING_AUDIO: "--allow-missing-audio"} if allow_missing_audio else {}
    # soft_wrap: each finding stays on one line, whole (paths can be copied, lines grepped)
    console.print(report.render(waived=waived), highlight=False, markup=False, soft_wrap=True)
    errors = report.errors(waived)
    if errors:
        err.print(f"[red]{len(errors)} error(s)[/red] in {adapter.name}", highlight=False)
        if any(p.code == MISSING_AUDIO for p in errors):
            err.print("(--allow-missing-audio accepts missing audio files)")
        skippable = [p for p in errors if p.code in TRACK_LEVEL_CODES]
        if skippable and len(skippable) == len(errors):
            ids = report.track_ids_with(p.code for p in skippable)
            err.print(
                f"(every error concerns single tracks or rows: `run --skip-invalid` leaves out "
                f"these {len(ids)} track(s) and runs on the rest)",
                highlight=False,
                markup=False,
            )
        elif skippable:
            err.print(
                "(--skip-invalid would leave out the tracks with track-level errors, but "
                f"{len(errors) - len(skippable)} error(s) concern whole files and must be fixed)",
                highlight=False,
                markup=False,
            )
        raise typer.Exit(1)
    waived_n = len(report.errors()) - len(errors)
    if waived_n:
        console.print(f"{adapter.name}: no other errors; {waived_n} track(s) without audio are "
                      "left out (--allow-missing-audio)", highlight=False, markup=False,
                      soft_wrap=True)
        return
    _say(f"[green]{adapter.name}: no errors[/green]", markup=True)


@data_app.command("info")
def data_info(dataset: Annotated[str, typer.Argument(help="Dataset name.")]) -> None:
    """Citation, license, homepage, download instructions and expected layout."""
    from mer_bench.data import DATASETS

    cls = DATASETS.get(dataset)
    console.print(f"[bold]{cls.name}[/bold] (version {cls.version})", highlight=False)
    for label, text in (
        ("homepage", cls.homepage),
        ("license", cls.license),
        ("citation", cls.citation),
        ("how to obtain", cls.download_info),
    ):
        console.print(f"[bold]{label}:[/bold] {text}", highlight=False, markup=True)
    console.print(f"[bold]tasks:[/bold] {', '.join(sorted(k.value for k in cls.task_kinds))}")
    console.print(
        f"[bold]root:[/bold] --root PATH, or ${cls.root_env_var()}, or $MER_BENCH_DATA/" + cls.name
    )


# --- features ------------------------------------------------------------------------
@features_app.command("extract")
def features_extract(
    name: Annotated[str, typer.Argument(help="Feature extractor.")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Dataset name.")],
    roots: Roots = None,
    jobs: Annotated[int | None, typer.Option(
        "--jobs", help="Feature worker processes (default: one per core).")] = None,
    weights: WeightsPaths = None,
    random_init: RandomInit = False,
) -> None:
    """Fill the feature cache for every track of a dataset that has audio."""
    from pathlib import Path as _Path

    from mer_bench.data import DATASETS
    from mer_bench.features import FEATURES
    from mer_bench.features import weights as weight_files
    from mer_bench.features.cache import FeatureCache
    from mer_bench.runner import _progress

    weight_files.use_paths(weights or [])
    if random_init and not weight_files.accepts_random_init(name):
        raise MerBenchError(f"--random-init: feature {name!r} has no pretrained weights")
    extractor = FEATURES.get(name)(**({"random_init": True} if random_init else {}))
    from mer_bench.roots import single_root

    adapter = DATASETS.get(dataset)(single_root(roots, dataset))
    tracks = [t for t in adapter.tracks() if t.audio_path and _Path(t.audio_path).is_file()]
    if random_init:
        _say(f"{name}: untrained seeded weights (cache entries tagged weights=random)")
    try:
        with _progress(True, f"{name} on {adapter.name}") as update:
            arrays, stats = FeatureCache().features(
                extractor, tracks, n_jobs=jobs, progress=update
            )
    except KeyboardInterrupt:
        err.print("interrupted: the features already computed are kept in the cache; run the "
                  "same command again to compute the rest", highlight=False)
        raise typer.Exit(130) from None
    shapes = {a.shape for a in arrays.values()}
    _say(
        f"{len(arrays)} tracks: {stats.hits} from cache, {stats.computed} computed "
        f"in {stats.seconds:.1f} s; shapes {sorted(shapes)[:3]}"
    )


# --- weights -------------------------------------------------------------------------
@weights_app.command("status")
def weights_status(
    name: Annotated[str | None, typer.Argument(help="Feature extractor (default: all).")] = None,
) -> None:
    """Every pretrained weight file: expected SHA-256, target path, and whether it is there."""
    from mer_bench.features import weights as weight_files

    print(f"weights folder: {weight_files.hub_dir()} ($TORCH_HOME/hub/checkpoints)")
    if weight_files.explicit_paths():
        print(f"--weights / ${weight_files.WEIGHTS_ENV}: "
              + ", ".join(map(str, weight_files.explicit_paths())))
    shown = None
    for row in weight_files.status(name, hash_files=True):
        if row.slot != shown:
            shown = row.slot
            found = weight_files.locate(row.slot)
            state = f"ready: {found.path}" if found else "MISSING"
            when = row.slot.needed_when
            needed = "always needed" if when == "always" else f"needed when {when}"
            either = "; any one of these files" if len(row.slot.candidates) > 1 else ""
            print(f"\n{row.slot.extractor} {row.slot.label} ({needed}{either}): {state}")
        size = f"{row.file.size:,} bytes" if row.file.size else "size not published"
        mark = {None: "missing", True: "present", False: "CHECKSUM MISMATCH"}[row.ok]
        print(f"  [{mark}] {row.file.name}  expected sha256 {row.file.expected}  {size}")
        print(f"      -> {row.target}")
        if row.present:
            print(f"      sha256 of this file: {row.sha256}")
        print(f"      from {row.file.url}")


@weights_app.command("fetch")
def weights_fetch(
    name: Annotated[str | None, typer.Argument(
        help="Feature extractor or file name (default: every extractor).")] = None,
) -> None:
    """Download missing weights from their official locations (needs internet access)."""
    from mer_bench.features import weights as weight_files

    weight_files.fetch(name, report=lambda m: console.print(m, soft_wrap=True, markup=False,
                                                            highlight=False))


def main() -> None:
    """Entry point: user errors print one clear message instead of a traceback."""
    try:
        app()
    except MerBenchError as exc:
        # soft_wrap: long paths and file names stay whole, so they can be copied or grepped
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
