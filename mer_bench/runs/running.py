"""Running: executes resolved runs against a tracker, one parent run with a run per fold.

A run whose config hash already has a FINISHED run is skipped; unfinished
leftovers of an interrupted run are deleted before it is redone, so an
interrupted bench resumes without duplicates. A running run holds a lease
(``tracking.lease``) so concurrent workers never compute the same config twice.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from mer_bench.errors import MerBenchError, TaskError
from mer_bench.features.cache import FeatureCache
from mer_bench.methods import FitContext, FoldData, Method
from mer_bench.runs.folds import fold_seed, mean_metrics, score_folds, seed_everything
from mer_bench.runs.preparing import (
    DataPreparer,
    Prepared,
    dataset_record,
    fold_data,
    track_tags,
)
from mer_bench.runs.records import log_artifacts, prediction_rows, run_tags
from mer_bench.runs.resolving import ResolvedRun
from mer_bench.tracking import lease
from mer_bench.tracking.base import FAILED, FINISHED, FOLD, KILLED, RUN, RUNNING, RunInfo, Tracker
from mer_bench.training import TrainerSettings, make_trainer
from mer_bench.types import Split

Reporter = Callable[[str], None]


@dataclass(frozen=True)
class RunnerSettings:
    """How runs execute; none of this changes the numbers, so none of it is hashed."""

    trainer: TrainerSettings = TrainerSettings()
    smoke: bool = False
    n_jobs: int | None = None
    work_dir: Path | None = None
    plots: bool = True
    progress: bool = True


@dataclass
class RunOutcome:
    """What happened to one spec in a bench (for the summary and exit code)."""

    name: str
    status: str  # finished | skipped (already finished) | held (another worker) | failed
    run_id: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0


class Runner:
    """Executes resolved runs against a tracker, sharing datasets and the feature cache."""

    def __init__(
        self,
        tracker: Tracker,
        settings: RunnerSettings | None = None,
        report: Reporter | None = None,
    ) -> None:
        self.tracker = tracker
        self.settings = settings or RunnerSettings()
        self._report = report or (lambda message: None)
        self.data = DataPreparer(
            FeatureCache(), self._report, self.settings.n_jobs, self.settings.progress
        )
        self._work = Path(self.settings.work_dir or tempfile.mkdtemp(prefix="mer-bench-run-"))
        self.fit_tags: dict[str, str] = {}  # tags methods set while fitting (FitContext)
        self._claims: dict[str, tuple[float, str]] = {}  # our parent runs' lease precedence

    @property
    def cache(self) -> FeatureCache:
        return self.data.cache

    # --- bench -------------------------------------------------------------
    def run_all(self, runs: Sequence[ResolvedRun], keep_going: bool = True) -> list[RunOutcome]:
        outcomes = []
        self.data.planned = list(runs)
        for i, run in enumerate(runs, 1):
            self._report(f"[{i}/{len(runs)}] {run.name}")
            try:
                outcomes.append(self.run(run))
            except MerBenchError as exc:
                outcomes.append(RunOutcome(run.name, "failed", error=str(exc)))
                self._report(f"  failed: {exc}")
                if not keep_going:
                    raise
        return outcomes

    def prepare(self, run: ResolvedRun) -> Prepared:
        """The run's dataset, splits and features (``DataPreparer.prepare``)."""
        return self.data.prepare(run)

    def check(self, run: ResolvedRun) -> None:
        """Raise what would stop ``run`` before any fitting: dataset problems, missing weights.

        Validates the dataset(s) and locates the extractor's weight files; no
        feature is extracted and nothing is logged (``reproduce --dry-run``).
        """
        self.data.check_datasets(run)
        if run.extractor is not None:
            _ = run.extractor.weights_identity  # resolves the weight files; raises when absent

    # --- claiming a run ----------------------------------------------------------
    def _claim(self, run: ResolvedRun) -> tuple[str | None, RunOutcome | None]:
        """Take the run's lease, or say why not: (parent run id, None) or (None, outcome).

        A FINISHED run of the config is never recomputed (it learns this spec's
        key, so a paper row written differently finds it); a RUNNING one held by
        a live worker (``tracking.lease``) is left to it; any other earlier
        attempt is abandoned and deleted with its folds. Two workers that claim
        at once settle it by ``lease.precedence``: the later claim withdraws as
        soon as it sees the earlier one, here or, at the latest, before it would
        finish (``_rival``), so a config never gets two FINISHED runs.
        """
        existing = self.tracker.find_runs(run.config_hash)
        finished = [r for r in existing if r.status == FINISHED]
        if finished:
            self.link_spec(finished[0], run.spec_key)
            self._report(f"  already finished (run {finished[0].run_id}), skipped")
            return None, RunOutcome(run.name, "skipped", finished[0].run_id)
        held = [r for r in existing if r.status == RUNNING and not lease.is_abandoned(r.tags)]
        if held:
            return None, self._held(run, held[0])
        for leftover in existing:  # an interrupted or abandoned earlier attempt
            self.tracker.delete_run(leftover.run_id)
        tags = {"kind": RUN, "config_hash": run.config_hash, **lease.lease_tags()}
        parent = self.tracker.start_run(run.name, tags)
        self._claims[parent] = lease.precedence(parent, tags)
        rival = self._rival(run, parent)
        if rival is not None:  # another worker claimed it first
            self.tracker.delete_run(parent)
            return None, self._held(run, rival)
        return parent, None

    def link_spec(self, finished: RunInfo, key: str) -> None:
        """Add ``key`` to a finished run's ``spec_keys`` (and its folds'), once."""
        keys = [k for k in finished.tags.get("spec_keys", "").split(",") if k]
        if key not in keys:
            value = ",".join(sorted({*keys, key}))
            self.tracker.set_tags(finished.run_id, {"spec_keys": value}, with_folds=True)

    def _rival(self, run: ResolvedRun, parent: str) -> RunInfo | None:
        """Another run of the config that wins over our claim ``parent``: a FINISHED one,
        or a live RUNNING one that claimed earlier."""
        mine = self._claims[parent]
        for other in self.tracker.find_runs(run.config_hash):
            if other.run_id == parent:
                continue
            if other.status == FINISHED:
                return other
            if (other.status == RUNNING and not lease.is_abandoned(other.tags)
                    and lease.precedence(other.run_id, other.tags) < mine):
                return other
        return None

    def _held(self, run: ResolvedRun, other: RunInfo) -> RunOutcome:
        who = lease.holder(other.tags)
        self._report(f"  held by worker {who} (run {other.run_id}), skipped")
        return RunOutcome(run.name, "held", other.run_id, error=f"held by {who}")

    # --- one run ---------------------------------------------------------------
    def run(self, run: ResolvedRun) -> RunOutcome:
        start = time.perf_counter()
        parent, outcome = self._claim(run)
        if outcome is not None:
            return outcome
        assert parent is not None
        with lease.Heartbeat(lambda t: self.tracker.set_tags(parent, t)) as heartbeat:
            return self._run_claimed(run, parent, heartbeat, start)

    def _run_claimed(
        self, run: ResolvedRun, parent: str, heartbeat: lease.Heartbeat, start: float
    ) -> RunOutcome:
        try:
            prep = self.prepare(run)
        except BaseException:
            self.tracker.delete_run(parent)  # nothing was computed: leave no trace
            raise
        self.fit_tags = {}
        tags = {**run_tags(run, prep.adapter, prep.splits, prep.dropped), **track_tags(run, prep)}
        params = _run_params(run, prep)
        self.tracker.set_tags(parent, {**tags, "kind": RUN})
        self.tracker.log_params(parent, params)
        self.tracker.log_dataset(parent, dataset_record(run, prep))
        current = [parent]  # the run a failure must close: the fold's while one is open

        def fit(split: Split) -> tuple[Method, dict[str, FoldData]]:
            heartbeat.beat()
            current[0] = self.tracker.start_run(
                f"{run.name}/{split.name}",
                {**tags, "kind": FOLD, "fold": split.name, "fold_split_hash": split.hash},
                params={**params, "fold": split.name},
                parent_id=parent,
            )
            if not split.test:
                raise TaskError(
                    f"{run.name}: fold {split.name} has no test items ({len(split.train)} "
                    "train); use fewer folds or a protocol with a larger test share"
                )
            return self.fit_fold(run, prep, split, current[0])

        try:
            fold_metrics, rows = [], []
            for fold in score_folds(run, prep, fit, "test"):
                self.tracker.set_tags(current[0], {"split_sizes": fold.sizes})
                if fold.index == 0:  # the run's sizes are its first fold's (protocols keep them)
                    self.tracker.set_tags(parent, {"split_sizes": fold.sizes})
                self.tracker.log_metrics(current[0], fold.metrics)
                self.tracker.end_run(current[0])
                current[0] = parent
                fold_metrics.append(fold.metrics)
                rows.extend(prediction_rows(fold.parts["test"], fold.truth, fold.prediction,
                                            fold.split.name, fold.index))
                self._report(_fold_line(run, fold.index, len(prep.splits), fold.metrics, start))
            summary = mean_metrics(fold_metrics)
            self.tracker.log_metrics(parent, summary)
            log_artifacts(self.tracker, run, parent, rows, prep.dropped, prep.task,
                          self._work / run.config_hash / "artifacts", self.settings.plots)
            seconds = time.perf_counter() - start
            self.tracker.set_tags(parent, {
                "wall_time_s": f"{seconds:.2f}",
                "feature_cache_hits": str(prep.cache_stats[0]),
                "feature_cache_computed": str(prep.cache_stats[1]),
                **self.fit_tags,
            })
            rival = self._rival(run, parent)
            if rival is not None:  # a simultaneous claim that won: never two FINISHED runs
                self.tracker.delete_run(parent)
                return self._held(run, rival)
            self.tracker.end_run(parent)
        except BaseException as exc:
            status = KILLED if isinstance(exc, KeyboardInterrupt) else FAILED
            for run_id in {current[0], parent}:
                self.tracker.end_run(run_id, status)
            raise
        primary = run.task.primary_metric
        self._report(
            f"  {primary} = {summary.get(primary, float('nan')):.3f} "
            f"over {len(prep.splits)} folds ({seconds:.1f} s)"
        )
        return RunOutcome(run.name, "finished", parent, summary, seconds=seconds)

    # --- one fold ----------------------------------------------------------------
    def fold_data(
        self, run: ResolvedRun, prep: Prepared, split: Split, merge_val: bool | None = None
    ) -> dict[str, FoldData]:
        """The split's train / val / test parts (``preparing.fold_data``)."""
        return fold_data(run, prep, split, merge_val)

    def fit_fold(
        self,
        run: ResolvedRun,
        prep: Prepared,
        split: Split,
        run_id: str | None,
        merge_val: bool | None = None,
    ) -> tuple[Method, dict[str, FoldData]]:
        """Fit the run's method on one split; returns it with the split's train/val/test data.

        The method's seed is derived from the run's seed and the split's name,
        so repeated splits start from different initialisations (as papers that
        re-initialise every run do) while the same run stays reproducible.
        """
        parts = fold_data(run, prep, split, merge_val)
        seed = fold_seed(run.spec.seed, split.name)
        seed_everything(seed)
        out_dir = self._work / run.config_hash / split.name
        out_dir.mkdir(parents=True, exist_ok=True)

        def log(metrics: Any, step: int | None = None) -> None:
            if run_id is not None:
                self.tracker.log_metrics(run_id, metrics, step=step)

        ctx = FitContext(
            seed=seed,
            out_dir=out_dir,
            tracker=self.tracker,
            run_id=run_id,
            make_trainer=partial(make_trainer, self.settings.trainer, out_dir, log,
                                 progress_label=prep.fold_label(run, split)),
        )
        method = run.method_cls(run.params, seed)
        method.fit(parts["train"], parts["val"], ctx)
        if ctx.extra_tags:  # what the method chose at fit time, e.g. the text encoder used
            tags = dict(ctx.extra_tags)
            named = [f"{k}={tags[k]}" for k in run.method_cls.label_tags if k in tags]
            if named:
                tags["variant"] = ",".join([*filter(None, [run.variant]), *named])
            self.fit_tags.update(tags)
            if run_id is not None:
                self.tracker.set_tags(run_id, tags)
        return method, parts


def _run_params(run: ResolvedRun, prep: Prepared) -> dict[str, Any]:
    """The run's MLflow params: method and feature parameters, protocol and sizes."""
    params: dict[str, Any] = {f"method.{k}": v for k, v in run.config["method_params"].items()}
    params.update({f"features.{k}": v for k, v in run.config["feature_params"].items()})
    params.update({
        "protocol": run.config["protocol"],
        "seed": run.spec.seed,
        "n_tracks": len(prep.tracks),
        "n_folds": len(prep.splits),
    })
    return params


def _fold_line(
    run: ResolvedRun, k: int, n: int, metrics: Mapping[str, float], start: float
) -> str:
    """``  fold k/K: metric = v (t s; ETA s)`` after each fold of a run."""
    primary = run.task.primary_metric
    elapsed = time.perf_counter() - start
    eta = elapsed / (k + 1) * (n - k - 1)
    value = metrics.get(primary, float("nan"))
    tail = f"; ETA {eta:.0f} s" if k + 1 < n else ""
    return f"  fold {k + 1}/{n}: {primary} = {value:.3f} ({elapsed:.1f} s{tail})"
