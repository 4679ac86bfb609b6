"""Running: executes resolved runs against a tracker, one parent run with a run per fold.

A run whose config hash already has a FINISHED run is skipped; unfinished
leftovers of an interrupted run are deleted before it is redone, so an
interrupted bench resumes without duplicates. A running run holds a lease
(``tracking.lease``) so concurrent workers never compute the same config twice.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from mer_bench.errors import TaskError
from mer_bench.features.cache import FeatureCache
from mer_bench.methods import FoldData, Method
from mer_bench.runs.executors import ExecutorSettings, FoldExecutor, FoldJob, make_executor
from mer_bench.runs.fitting import fit_fold
from mer_bench.runs.folds import fold_line, mean_metrics
from mer_bench.runs.preparing import (
    DataPreparer,
    Prepared,
    dataset_record,
    track_tags,
)
from mer_bench.runs.records import (
    data_tags,
    failure_reason,
    log_artifacts,
    prediction_rows,
    run_params,
    run_tags,
    tag_failure,
)
from mer_bench.runs.resolving import ResolvedRun
from mer_bench.runs.resume import FoldResults, Resumable, finished_folds, keep_fold, kept_folds
from mer_bench.tracking import lease
from mer_bench.tracking.base import (
    DATA_SEEN_TAG,
    FAILED,
    FINGERPRINT_TAG,
    FINISHED,
    FOLD,
    KILLED,
    RUN,
    RUNNING,
    RunInfo,
    Tracker,
    data_seen,
)
from mer_bench.training import TrainerSettings
from mer_bench.types import Split

Reporter = Callable[[str], None]


@dataclass(frozen=True)
class RunnerSettings:
    """How runs execute; none of this changes the numbers, so none of it is hashed."""

    trainer: TrainerSettings = TrainerSettings()
    smoke: bool = False
    n_jobs: int | None = None
    work_dir: Path | None = None
    executor: ExecutorSettings = ExecutorSettings()  # where folds run (in process by default)
    keep_fold_results: bool = True  # finished folds survive an interruption (runs.resume)
    plots: bool = True
    progress: bool = True


@dataclass
class RunOutcome:
    """What happened to one spec in a bench (for the summary and exit code)."""

    name: str
    # finished | skipped (already finished) | held (another worker) | failed
    # | lost (another worker took it over after this one's lease expired)
    status: str
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
        self.data = DataPreparer(FeatureCache(), self._report, self.settings.n_jobs,
                                 self.settings.progress)
        self._work = Path(self.settings.work_dir or tempfile.mkdtemp(prefix="mer-bench-run-"))
        self.fit_tags: dict[str, str] = {}  # tags methods set while fitting (FitContext)
        self._claims: dict[str, tuple[float, str]] = {}  # our parent runs' lease precedence
        self._executor: FoldExecutor | None = None
        self.results = FoldResults()  # finished folds kept for resuming (``runs.resume``)
        self._resumable: dict[str, dict[str, Resumable]] = {}
        self._fold_tags: dict[str, dict[str, str]] = {}  # what each fold's method chose

    @property
    def executor(self) -> FoldExecutor:
        """The fold executor of ``settings.executor``, started on first use."""
        if self._executor is None:
            self._executor = make_executor(self.settings.executor)
        return self._executor

    def close(self) -> None:
        """Release the executor's engine (a Ray session the runner started)."""
        if self._executor is not None:
            self._executor, _ = None, self._executor.close()

    @property
    def cache(self) -> FeatureCache:
        return self.data.cache

    # --- bench -------------------------------------------------------------
    def run_all(self, runs: Sequence[ResolvedRun], keep_going: bool = True) -> list[RunOutcome]:
        """Every run in turn. A run that fails is recorded FAILED with its reason and the
        rest go on (``keep_going=False``, the CLI's ``--fail-fast``, stops at the first);
        Ctrl-C stops the bench."""
        outcomes = []
        self.data.planned = list(runs)
        for i, run in enumerate(runs, 1):
            self._report(f"[{i}/{len(runs)}] {run.name}")
            try:
                outcomes.append(self.run(run))
            except Exception as exc:
                reason = failure_reason(exc)
                outcomes.append(RunOutcome(run.name, "failed", error=reason))
                self._report(f"  failed: {reason}")
                if not keep_going:
                    raise
        return outcomes

    def wait_for_held(
        self,
        runs: Sequence[ResolvedRun],
        outcomes: list[RunOutcome],
        poll_s: float = 30.0,
        timeout_s: float | None = None,
    ) -> list[RunOutcome]:
        """Wait until no run of ``runs`` is held by another worker: each held run is tried
        again every ``poll_s`` seconds, so it is found finished, or taken over and computed
        here once its lease expires (``tracking.lease``). Returns the updated outcomes."""
        by_name = {r.name: r for r in runs}
        outcomes = list(outcomes)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while any(o.status == "held" for o in outcomes):
            if deadline is not None and time.monotonic() > deadline:
                break
            held = [o for o in outcomes if o.status == "held"]
            self._report(f"waiting for {len(held)} run(s) held by other workers: "
                         + "; ".join(f"{o.name} ({o.error})" for o in held))
            time.sleep(poll_s)
            for i, o in enumerate(outcomes):
                if o.status != "held":
                    continue
                try:
                    outcomes[i] = self.run(by_name[o.name])
                except Exception as exc:
                    outcomes[i] = RunOutcome(o.name, "failed", error=failure_reason(exc))
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
    def _claim(self, run: ResolvedRun, prep: Prepared) -> tuple[str | None, RunOutcome | None]:
        """Take the run's lease, or say why not: (parent run id, None) or (None, outcome).

        A run's identity is its config hash and its data fingerprint: a FINISHED
        run of both is never recomputed (it learns this spec's key, so a paper row
        written differently finds it); a finished run on other data stays as it
        is (the leaderboard shows the newest data) and this one is computed. A
        RUNNING run of both held by a live worker (``tracking.lease``) is left to
        it; any other unfinished earlier attempt is abandoned and deleted with
        its folds. Two workers that claim at once settle it by
        ``lease.precedence``: the later claim withdraws as soon as it sees the
        earlier one, here or, at the latest, before it would finish (``_rival``),
        so a config never gets two FINISHED runs on the same data.
        """
        existing = self.tracker.find_runs(run.config_hash)
        same = [r for r in existing if r.tags.get(FINGERPRINT_TAG) == prep.fingerprint]
        finished = [r for r in same if r.status == FINISHED]
        if finished:
            self.link_spec(finished[0], run.spec_key)
            self._mark_current(finished[0], existing)
            self._report(f"  already finished (run {finished[0].run_id}), skipped")
            return None, RunOutcome(run.name, "skipped", finished[0].run_id)
        if any(r.status == FINISHED for r in existing):
            self._report("  the finished run of this config used other data "
                         f"(fingerprint {prep.fingerprint} now): computing it again")
        # a live run without a fingerprint (an older worker's) may be on the same data
        held = [r for r in existing if r.status == RUNNING and not lease.is_abandoned(r.tags)
                and r.tags.get(FINGERPRINT_TAG, prep.fingerprint) == prep.fingerprint]
        if held:
            return None, self._held(run, held[0])
        # the earlier attempts' finished folds are kept (``runs.resume``), then they go
        self._resumable[run.config_hash] = finished_folds(
            self.tracker, run.config_hash, prep.fingerprint)
        for leftover in existing:  # an interrupted, failed or abandoned earlier attempt
            if leftover.status != FINISHED and (
                leftover.status != RUNNING or lease.is_abandoned(leftover.tags)
            ):
                self._report(f"  an earlier attempt (run {leftover.run_id}, "
                             f"{leftover.status.lower()}) was left unfinished: deleted, redoing")
                self.tracker.delete_run(leftover.run_id)
        tags = {"kind": RUN, "config_hash": run.config_hash,
                FINGERPRINT_TAG: prep.fingerprint, **lease.lease_tags()}
        parent = self.tracker.start_run(run.name, tags)
        self._claims[parent] = lease.precedence(parent, tags)
        rival = self._rival(run, parent, prep.fingerprint)
        if rival is not None:  # another worker claimed it first
            self.tracker.delete_run(parent)
            return None, self._held(run, rival)
        return parent, None

    def _mark_current(self, finished: RunInfo, existing: Sequence[RunInfo]) -> None:
        """Date ``finished``'s data as current again when another finished run of the
        config is on data seen later (the files were put back): the leaderboard shows
        each data key's most recently seen fingerprint."""
        mine = data_seen(finished.tags)
        if any(r.status == FINISHED and data_seen(r.tags) > mine
               for r in existing if r is not finished):
            self.tracker.set_tags(finished.run_id, {DATA_SEEN_TAG: f"{time.time():.3f}"},
                                  with_folds=True)

    def link_spec(self, finished: RunInfo, key: str) -> None:
        """Add ``key`` to a finished run's ``spec_keys`` (and its folds'), once."""
        keys = [k for k in finished.tags.get("spec_keys", "").split(",") if k]
        if key not in keys:
            value = ",".join(sorted({*keys, key}))
            self.tracker.set_tags(finished.run_id, {"spec_keys": value}, with_folds=True)

    def _rival(self, run: ResolvedRun, parent: str, fingerprint: str) -> RunInfo | None:
        """Another run of the config on the same data that wins over our claim ``parent``:
        a FINISHED one, or a live RUNNING one that claimed earlier."""
        mine = self._claims[parent]
        for other in self.tracker.find_runs(run.config_hash):
            if other.run_id == parent:
                continue
            if other.status == FINISHED and other.tags.get(FINGERPRINT_TAG) == fingerprint:
                return other
            if (other.status == RUNNING and not lease.is_abandoned(other.tags)
                    and other.tags.get(FINGERPRINT_TAG, fingerprint) == fingerprint
                    and lease.precedence(other.run_id, other.tags) < mine):
                return other
        return None

    def _held(self, run: ResolvedRun, other: RunInfo) -> RunOutcome:
        who = lease.holder(other.tags)
        self._report(f"  held by worker {who} (run {other.run_id}), skipped")
        return RunOutcome(run.name, "held", other.run_id, error=f"held by {who}")

    # --- one run ---------------------------------------------------------------
    def run(self, run: ResolvedRun) -> RunOutcome:
        """Compute one run unless it is finished on the same data or held by a live worker.

        A failure once the run is claimed is recorded as a FAILED run carrying the
        reason (tag ``error``, the traceback as ``error.txt``) and raised; a run
        that another worker took over meanwhile (our lease expired) ends as ``lost``.
        """
        start = time.perf_counter()
        prep = self.data.identify(run)  # a failure here (the data) leaves no run behind
        parent, outcome = self._claim(run, prep)
        if outcome is not None:
            return outcome
        assert parent is not None
        try:
            with lease.Heartbeat(lambda t: self.tracker.set_tags(parent, t)) as heartbeat:
                prep = self._with_features(run, prep, parent)
                return self._run_claimed(run, prep, parent, heartbeat, start)
        except _NothingComputed as exc:  # its run is deleted by us: not a lost run
            raise exc.__cause__ from None
        except Exception as exc:
            try:
                lost = self.tracker.is_deleted(parent)
            except Exception:  # the store itself failed: report the original error
                lost = False
            if lost:  # taken over: not ours to record any more
                reason = ("lost: another worker took the run over while this one was "
                          "unresponsive past its lease; it is theirs now")
                self._report(f"  {reason}")
                return RunOutcome(run.name, "lost", parent, error=reason)
            tag_failure(self.tracker, parent, exc, self._work / "errors")
            raise

    def _with_features(self, run: ResolvedRun, identified: Prepared, parent: str) -> Prepared:
        """The run's data with its features; a failure here deletes the claimed run (nothing
        was computed: no trace is left) and is raised as it was."""
        try:
            return self.data.with_features(run, identified)
        except Exception as exc:
            self.tracker.delete_run(parent)
            raise _NothingComputed from exc
        except BaseException:
            self.tracker.delete_run(parent)
            raise

    def _run_claimed(
        self, run: ResolvedRun, prep: Prepared, parent: str, heartbeat: lease.Heartbeat,
        start: float,
    ) -> RunOutcome:
        self.fit_tags = {}
        tags = {**run_tags(run, prep.adapter, prep.splits, prep.dropped), **track_tags(run, prep),
                **data_tags(run, prep)}
        params = run_params(run, prep)
        self.tracker.set_tags(parent, {**tags, "kind": RUN})
        self.tracker.log_params(parent, params)
        self.tracker.log_dataset(parent, dataset_record(run, prep))
        open_folds: list[str] = []  # fold runs a failure must close (several under Ray)
        job = self._fold_job(run, prep, parent, tags, params, heartbeat, open_folds)
        kept = kept_folds(self.results, self._resumable.pop(run.config_hash, {}), job,
                          self.record_fit_tags, self.tracker.set_tags)
        if kept:
            self._report(f"  {len(kept)} fold(s) finished by an earlier attempt: kept")
        try:
            fold_metrics, rows = [], []
            for fold_run, fold in chain(kept, self.executor.folds(job)):
                fold_run = fold_run or open_folds[0]
                heartbeat.beat()
                if self.settings.keep_fold_results and fold_run not in dict(kept):
                    keep_fold(self.results, job, fold_run, fold,
                              self._fold_tags.pop(fold_run, {}), self.tracker.set_tags)
                self.tracker.set_tags(fold_run, {"split_sizes": fold.sizes})
                if fold.index == 0:  # the run's sizes are its first fold's (protocols keep them)
                    self.tracker.set_tags(parent, {"split_sizes": fold.sizes})
                self.tracker.log_metrics(fold_run, fold.metrics)
                self.tracker.end_run(fold_run)
                open_folds.remove(fold_run)
                fold_metrics.append(fold.metrics)
                rows.extend(prediction_rows(fold.parts["test"], fold.truth, fold.prediction,
                                            fold.split.name, fold.index))
                self._report(fold_line(run, fold.index, len(prep.splits), fold.metrics, start))
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
            rival = self._rival(run, parent, prep.fingerprint)
            if rival is not None:  # a simultaneous claim that won: never two FINISHED runs
                self.tracker.delete_run(parent)
                return self._held(run, rival)
            lease.finish(self.tracker, parent, heartbeat)
            self.results.discard(run.config_hash, prep.fingerprint)  # finished: not needed
        except BaseException as exc:
            status = KILLED if isinstance(exc, KeyboardInterrupt) else FAILED
            for run_id in dict.fromkeys([*open_folds, parent]):
                with contextlib.suppress(Exception):  # a run taken over is gone: see run()
                    self.tracker.end_run(run_id, status)
            raise
        primary = run.task.primary_metric
        self._report(
            f"  {primary} = {summary.get(primary, float('nan')):.3f} "
            f"over {len(prep.splits)} folds ({seconds:.1f} s)"
        )
        return RunOutcome(run.name, "finished", parent, summary, seconds=seconds)

    def _fold_job(
        self, run: ResolvedRun, prep: Prepared, parent: str, tags: Mapping[str, str],
        params: Mapping[str, Any], heartbeat: lease.Heartbeat, open_folds: list[str],
    ) -> FoldJob:
        """The run's folds for the executor, with hooks that open and write fold runs."""

        def open_fold(split: Split) -> str:
            heartbeat.beat()
            open_folds.append(self.tracker.start_run(
                f"{run.name}/{split.name}",
                {**tags, "kind": FOLD, "fold": split.name, "fold_split_hash": split.hash},
                params={**params, "fold": split.name},
                parent_id=parent,
            ))
            return open_folds[-1]

        def fit(split: Split) -> tuple[Method, dict[str, FoldData]]:
            run_id = open_fold(split)
            if not split.test:
                raise TaskError(
                    f"{run.name}: fold {split.name} has no test items ({len(split.train)} "
                    "train); use fewer folds or a protocol with a larger test share"
                )
            return self.fit_fold(run, prep, split, run_id)

        def log(run_id: str, metrics: Mapping[str, float], step: int | None) -> None:
            self.tracker.log_metrics(run_id, metrics, step=step)

        return FoldJob(run, prep, open_fold, fit, log, self.record_fit_tags,
                       self.tracker.set_tags, self.settings.trainer, self._work)

    def fit_fold(
        self,
        run: ResolvedRun,
        prep: Prepared,
        split: Split,
        run_id: str | None,
        merge_val: bool | None = None,
    ) -> tuple[Method, dict[str, FoldData]]:
        """Fit the run's method on one split (``fitting.fit_fold``), logging its training
        curves to ``run_id``; returns it with the split's train/val/test data."""

        def log(metrics: Any, step: int | None = None) -> None:
            if run_id is not None:
                self.tracker.log_metrics(run_id, metrics, step=step)

        fitted = fit_fold(run, prep, split, trainer=self.settings.trainer, work_dir=self._work,
                          log=log, tracker=self.tracker, run_id=run_id, merge_val=merge_val)
        self.record_fit_tags(run_id, fitted.tags)
        return fitted.method, fitted.parts

    def record_fit_tags(self, run_id: str | None, tags: Mapping[str, str]) -> None:
        """Tags a method chose while fitting: on its fold run, and on the run at the end."""
        if tags:
            self.fit_tags.update(tags)
            if run_id is not None:
                self._fold_tags[run_id] = dict(tags)
                self.tracker.set_tags(run_id, dict(tags))


class _NothingComputed(Exception):
    """A claimed run failed before computing anything (its ``__cause__`` says why)."""
