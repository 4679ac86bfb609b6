"""Hyper-parameter sweeps with Optuna, called directly (no Hydra sweeper).

A study is stored in an RDB (default ``sqlite:///sweeps.db``; any URL Optuna
accepts, e.g. PostgreSQL, lets several machines work on one study) and is
resumed by name, so an interrupted sweep continues where it stopped and
several ``mer-bench sweep`` processes can share it. Each trial:

* draws the method's ``search_space(trial, task)`` for the task (fixed values
  override it);
* fits the method on each fold's training part and scores the fold's
  *validation* part with the task's primary metric (the test parts are never
  seen by a sweep), reporting after each fold so the pruner can stop it;
* is logged as an MLflow run tagged ``kind=trial``, a child of the study's run
  (``kind=sweep``, ``sweeps/parent.py``); a trial the pruner stops is FINISHED
  with ``pruned=true`` and the mean it reached (stopping it is the plan, not a
  failure). Optuna names the objective ``val_<primary metric>`` (its dashboard
  shows that name).

Parameters a method lists in ``score_only_params`` (EMER-CL's P) do not
change the trained model: a trial whose other parameters match an earlier
fit re-scores that model through ``Method.rescore`` instead of retraining.
Fitted models are keyed by their training parameters, the data's fingerprint
and the fold's ids, kept in memory for the life of the process and pickled
under ``$MER_BENCH_CACHE/sweeps/<hash of storage and study>/`` so a resumed sweep
re-uses them too; a pickle is loaded only when its SHA-256 matches the one the
study recorded when writing it (``sweeps/fitcache.py``).

The budget (``n_trials``) counts COMPLETE and PRUNED trials and holds exactly
under any number of workers (``sweeps/budget.py``); a trial whose worker was
killed is failed when a sweep starts or ends, so it neither hangs nor holds
the budget (``sweeps/workers.py``).

Trial parameters are recorded with every trial, so the best configuration is
reproducible with ``mer-bench run``; the sequence of proposals itself is not
(each worker seeds its sampler from the study's state and its process id, so
that parallel or resumed workers never replay each other's proposals).
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mer_bench.config import RunSpec
from mer_bench.errors import ConfigError, TaskError
from mer_bench.methods import FoldData, Method
from mer_bench.metrics.scoring import higher_is_better
from mer_bench.runs import Prepared, ResolvedRun, Runner, fold_data, resolve
from mer_bench.runs.folds import score_folds
from mer_bench.sweeps.budget import OverBudget, budget_callback, refuse_if_surplus, remaining
from mer_bench.sweeps.fitcache import FitCache, StudyLedger, cache_folder, fit_key
from mer_bench.sweeps.parent import close_parent, open_parent, parent_tags, study_key
from mer_bench.sweeps.workers import claim, fail_orphans
from mer_bench.tracking.base import FAILED, FINISHED, KILLED, Tracker
from mer_bench.types import Split, stable_hash

DEFAULT_STORAGE = "sqlite:///sweeps.db"
TRIAL = "trial"


@dataclass
class SweepResult:
    study_name: str
    n_trials: int
    best_value: float | None
    best_params: dict[str, Any]
    fits: int = 0
    reuses: int = 0
    pruned: list[int] = dataclasses.field(default_factory=list)  # trial numbers


def default_study_name(spec: RunSpec) -> str:
    return f"{spec.method}-{spec.dataset}-{spec.task}-{spec.features}-{spec.protocol}"


def sweep(
    spec: RunSpec,
    tracker: Tracker,
    n_trials: int,
    *,
    storage: str = DEFAULT_STORAGE,
    study_name: str | None = None,
    fixed: Mapping[str, Any] | None = None,
    smoke: bool = False,
    runner: Runner | None = None,
    timeout_s: float | None = None,
    report: Callable[[str], None] | None = None,
) -> SweepResult:
    """Run trials until the study holds ``n_trials`` finished (complete or pruned) trials."""
    import optuna

    say = report or (lambda message: None)
    base = resolve(spec, smoke)
    fixed = dict(fixed or {})
    name = study_name or default_study_name(spec)
    direction = "maximize" if higher_is_better(base.task.primary_metric) else "minimize"
    # a failing trial raises through the CLI, which reports it in one line; Optuna would
    # also log its traceback (even for Ctrl-C)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = _open_study(name, storage, direction, say)
    fail_orphans(study, say)  # before counting: a dead worker's trial holds no budget
    # a resumed study or a second worker must not replay the first one's proposals:
    # mix the number of trials so far and the process id into the sampler's seed
    existing = len(study.get_trials(deepcopy=False))
    sampler_seed = int(stable_hash([spec.seed, existing, os.getpid()], 8), 16)
    study.sampler = optuna.samplers.TPESampler(seed=sampler_seed)
    study.set_user_attr("method", base.config["method"])
    study.set_user_attr("trial_budget", n_trials)
    objective_name = f"val_{base.task.primary_metric}"
    _name_objective(study, objective_name)
    parent = open_parent(tracker, name, parent_tags(
        name, study_key(storage, name), _row_tags(base), n_trials, objective_name, direction))
    runner = runner or Runner(tracker, report=say)
    prep = runner.prepare(base)
    cache = FitCache(cache_folder(storage, name), StudyLedger(study))
    counts = {"fits": 0, "reuses": 0}

    def objective(trial: optuna.Trial) -> float:
        claim(trial)
        try:
            refuse_if_surplus(trial, n_trials)
        except OverBudget:
            say(f"trial {trial.number}: other workers already fill the budget of {n_trials} "
                "trials; not run")
            raise
        drawn = base.method_cls.task_search_space(trial, base.task)
        params = {**drawn, **fixed}
        trial.set_user_attr("params", params)  # what ran: fixed values override drawn ones
        run = resolve(
            dataclasses.replace(spec, method_params={**spec.method_params, **params}), smoke
        )
        try:
            return _trial(trial, run, prep, runner, tracker, cache, counts, (name, parent), say)
        except SystemExit as exc:
            # Lightning turns Ctrl-C into sys.exit(); Optuna records a KeyboardInterrupt as
            # a failed trial but would leave a SystemExit's trial RUNNING for ever
            raise KeyboardInterrupt from exc

    to_start = remaining(study, n_trials)
    if to_start > 0:
        study.optimize(
            objective,
            n_trials=to_start,
            timeout=timeout_s,
            callbacks=[budget_callback(n_trials)],
            catch=(OverBudget,),
        )
    fail_orphans(study, say)  # a worker killed while this one filled the budget
    close_parent(tracker, parent, study, n_trials, objective_name)
    return _result(study, name, n_trials, counts, say)


def _name_objective(study: Any, name: str) -> None:
    """Name the study's objective (optuna-dashboard shows it instead of "Objective 0")."""
    import optuna

    if study.metric_names != [name]:
        with warnings.catch_warnings():  # "experimental" in Optuna's terms
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([name])


def _result(
    study: Any, name: str, n_trials: int, counts: Mapping[str, int], say: Callable[[str], None]
) -> SweepResult:
    """What the study holds now: finished trials, the best one, and this worker's fits."""
    import optuna

    done = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    n_done = len(study.get_trials(deepcopy=False, states=done))
    running = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)))
    if n_done < n_trials and running:
        say(f"study {name}: {n_done} of {n_trials} trials finished, {running} still running "
            "in other workers")
    finished = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    pruned = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.PRUNED,))
    best = study.best_trial if finished else None
    return SweepResult(
        name,
        n_done,
        None if best is None else float(best.value),
        {} if best is None else dict(best.user_attrs.get("params", best.params)),
        counts["fits"],
        counts["reuses"],
        [t.number for t in pruned],
    )


# A worker records a heartbeat every HEARTBEAT_S while a trial runs; a RUNNING trial
# whose heartbeat is older than GRACE_S belongs to a killed worker, and the next
# worker to start a trial or a sweep marks it failed (Optuna's own mechanism; on
# this host a dead worker's PID tells sooner, see sweeps/workers.py), so no trial
# of a killed sweep stays RUNNING.
HEARTBEAT_S, GRACE_S = 60, 180


def _open_study(
    name: str, storage: str, direction: str, say: Callable[[str], None] | None = None
) -> Any:
    """Create or load the study. Workers starting together on a new store race to create
    its schema: ``tracking.stores.open_store`` serialises (sqlite) or retries (servers)."""
    import optuna

    from mer_bench.tracking.stores import open_store

    def stale(study: Any, trial: Any) -> None:
        if say is not None:
            say(f"trial {trial.number}: no heartbeat from its worker for over {GRACE_S} s; "
                "marked failed")

    def create() -> Any:
        with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna's terms
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            rdb = optuna.storages.RDBStorage(
                storage, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S,
                heartbeat_stale_trial_callback=stale,
            )
        return optuna.create_study(
            study_name=name,
            storage=rdb,
            direction=direction,
            load_if_exists=True,
            pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0),
        )

    return open_store(storage, create)


def _trial(
    trial: Any,
    run: ResolvedRun,
    prep: Prepared,
    runner: Runner,
    tracker: Tracker,
    cache: FitCache,
    counts: dict[str, int],
    names: tuple[str, str],  # the study's name, its parent run
    say: Callable[[str], None],
) -> float:
    import optuna

    method_cls = run.method_cls
    score_only = set(method_cls.score_only_params)
    all_params = run.config["method_params"]
    train_params = {k: v for k, v in all_params.items() if k not in score_only}
    train_key = stable_hash({"config": {**run.config, "method_params": train_params}}, 16)
    study_name, parent = names
    run_id = tracker.start_run(f"{study_name}/trial{trial.number}",
                               _trial_tags(trial, run, study_name),
                               {f"method.{k}": v for k, v in all_params.items()}, parent)
    primary = run.task.primary_metric
    values: list[float] = []
    reused = 0
    start = time.perf_counter()

    fingerprint = prep.fingerprint  # the data the folds are drawn from

    def fit(split: Split) -> tuple[Method, dict[str, FoldData]]:
        nonlocal reused
        key = fit_key(train_key, fingerprint, split)
        fitted = cache.get(key)
        if fitted is None:
            # trials are scored on the validation part, so it never joins training here
            fitted, parts = runner.fit_fold(run, prep, split, None, merge_val=False)
            cache.put(key, fitted)
            counts["fits"] += 1
        else:
            parts = fold_data(run, prep, split, merge_val=False)
            reused += 1
            counts["reuses"] += 1
        if score_only:
            fitted = fitted.rescore(**{k: all_params[k] for k in score_only if k in all_params})
        return fitted, parts

    try:
        for fold in score_folds(run, prep, fit, "val"):
            values.append(fold.metrics[primary])
            # each fold under its own key: the trial's objective alone is val_{primary}
            tracker.log_metrics(run_id, {f"val_{primary}_fold": fold.metrics[primary]},
                                step=fold.index)
            trial.report(float(np.mean(values)), fold.index)
            if trial.should_prune():  # stopped as planned: FINISHED, tagged, its mean so far
                tracker.log_metrics(run_id, {f"val_{primary}": float(np.mean(values))})
                tracker.set_tags(run_id, {"pruned": "true", "folds_scored": str(len(values))})
                tracker.end_run(run_id, FINISHED)
                raise optuna.TrialPruned()
    except optuna.TrialPruned:
        raise
    except TaskError as exc:  # a fold whose validation metric is undefined
        tracker.end_run(run_id, FAILED)
        raise ConfigError(f"trial {trial.number}: {exc}") from None
    except BaseException:
        tracker.end_run(run_id, KILLED)
        raise
    value = float(np.mean(values))
    tracker.log_metrics(run_id, {f"val_{primary}": value})
    tracker.set_tags(
        run_id, {"reused_fits": str(reused), "wall_time_s": f"{time.perf_counter() - start:.2f}"}
    )
    tracker.end_run(run_id, FINISHED)
    say(
        f"trial {trial.number}: val {primary} = {value:.4f}"
        + (f" (re-used {reused} fitted fold(s))" if reused else "")
    )
    return value


def _row_tags(run: ResolvedRun) -> dict[str, str]:
    """What the study tunes: the method on a dataset, task, feature set and protocol."""
    return {"method": run.config["method"], "dataset": run.dataset_label,
            "task": run.task.value, "features": run.config["features"],
            "protocol": run.config["protocol"]}


def _trial_tags(trial: Any, run: ResolvedRun, study_name: str) -> dict[str, str]:
    """What an MLflow trial run says about itself: its study, number and run."""
    return {
        "kind": TRIAL,
        "study": study_name,
        "trial": str(trial.number),
        **_row_tags(run),
        "config_hash": run.config_hash,
        # the study's trial budget: compare methods' sweeps at equal budgets
        "trial_budget": str(trial.study.user_attrs.get("trial_budget", "")),
    }


def reproduce_command(
    spec: RunSpec, params: Mapping[str, Any], smoke: bool = False, roots: Sequence[str] = ()
) -> str:
    """The ``mer-bench run`` line that fits ``params`` and scores them on the test folds.

    Values are written as YAML literals (floats with every digit), so the run uses
    exactly the trial's numbers; the sweep's seed goes in as the run's one seed.
    """
    import yaml

    args = ["mer-bench", "run", "-m", spec.method, "-d", spec.dataset, "-t", spec.task,
            "-f", spec.features, "-p", spec.protocol]
    for root in roots:
        args += ["--root", root]
    if spec.seed != 0:
        args += ["--set", f"seeds=[{spec.seed}]"]
    for key, value in sorted(params.items()):
        text = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
        text = text.removesuffix("...").strip()
        args += ["--set", f"{key}={text}"]
    if smoke:
        args.append("--smoke")
    return shlex.join(args)
