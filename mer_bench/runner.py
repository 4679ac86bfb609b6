"""Expands bench plans into runs and executes them, one MLflow run each.

A run is identified by the hash of its resolved config (method and its
parameters, dataset and version, task, features and their parameters,
protocol, seed). A run whose hash already has a FINISHED run is skipped, and
unfinished leftovers of an interrupted run are deleted before it is redone,
so an interrupted bench resumes without duplicates.
"""

from __future__ import annotations

import dataclasses
import json
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from mer_bench.config import BenchPlan, RunSpec
from mer_bench.data import DATASETS, DatasetAdapter, ValidationReport
from mer_bench.data.base import MISSING_AUDIO, TRACK_LEVEL_CODES
from mer_bench.data.labels import kmeans_midpoint_va
from mer_bench.data.splits import (
    KFOLD_SPLIT_VERSION,
    REPEATED_SPLIT_VERSION,
    Protocol,
    transfer_split,
)
from mer_bench.errors import ConfigError, DatasetError, MerBenchError, TaskError
from mer_bench.features import FEATURES, FeatureExtractor
from mer_bench.features.cache import FeatureCache
from mer_bench.methods import METHODS, FitContext, FoldData, Method
from mer_bench.metrics import score
from mer_bench.metrics.scoring import Text2MusicTruth
from mer_bench.provenance import provenance_tags
from mer_bench.tracking import lease
from mer_bench.tracking.base import (
    FINISHED,
    FOLD,
    KILLED,
    RUN,
    RUNNING,
    DatasetRecord,
    RunInfo,
    Tracker,
)
from mer_bench.training import TrainerSettings, make_trainer
from mer_bench.types import EmotionBridge, Split, Task, TaskKind, Track, dataset_label, stable_hash

NO_FEATURES = "none"
Reporter = Callable[[str], None]


FOLD_SEED_VERSION = "1"  # in every config hash: runs made with one seed for all splits differ


@dataclass(frozen=True)
class RunnerSettings:
    """How runs execute; none of this changes the numbers, so none of it is hashed."""

    trainer: TrainerSettings = TrainerSettings()
    smoke: bool = False
    n_jobs: int | None = None
    work_dir: Path | None = None
    plots: bool = True
    progress: bool = True


@dataclass(frozen=True)
class ResolvedRun:
    spec: RunSpec
    config: dict[str, Any]
    config_hash: str
    method_cls: type[Method]
    params: Any
    adapter_cls: type[DatasetAdapter]
    task: TaskKind
    extractor: FeatureExtractor | None
    variant: str
    music_cls: type[DatasetAdapter] | None = None  # the music side of text2music_retrieval

    @property
    def dataset_label(self) -> str:
        return dataset_label(self.config["dataset"], self.config.get("music_dataset"))

    @property
    def name(self) -> str:
        parts = [
            self.config["method"],
            self.dataset_label,
            self.task.value,
            self.config["features"],
            self.spec.protocol,
            f"seed{self.spec.seed}",
        ]
        return "/".join(parts)


@dataclass(frozen=True)
class Prepared:
    """A run's data, ready for folds: shared by bench runs and sweep trials."""

    adapter: DatasetAdapter
    task: Task
    splits: list[Split]
    tracks: dict[str, Track]
    features: dict[str, np.ndarray] | None
    dropped: set[str]
    cache_stats: tuple[int, int]
    # text2music_retrieval: the vocabularies' bridge and the adapter that decodes the music
    bridge: EmotionBridge | None = None
    audio_adapter: DatasetAdapter | None = None


@dataclass
class RunOutcome:
    """What happened to one spec in a bench (for the summary and exit code)."""

    name: str
    status: str  # finished | skipped (already finished) | held (another worker) | failed
    run_id: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0


def resolve(spec: RunSpec, smoke: bool = False) -> ResolvedRun:
    """Validate names, fill in defaults and compute the config hash."""
    method_cls = METHODS.get(spec.method)
    adapter_cls = DATASETS.get(spec.dataset)
    task = TaskKind.parse(spec.task)
    params = method_cls.make_params(spec.method_params, smoke=smoke)
    protocol = Protocol.parse(spec.protocol)
    extractor = None
    # text+audio methods may read clip features too (text2music's music_input=features)
    wants_features = method_cls.consumes in ("features", "sequences") or (
        method_cls.consumes == "text+audio" and spec.features != NO_FEATURES
    )
    if wants_features:
        extractor = FEATURES.get(spec.features)(**dict(spec.feature_params))
    config = {
        "method": method_cls.name,
        "method_version": method_cls.version,
        "method_params": dataclasses.asdict(params),
        "dataset": adapter_cls.name,
        "dataset_version": adapter_cls.version,
        "dataset_params": dict(spec.dataset_params),
        "task": task.value,
        "features": extractor.name if extractor else NO_FEATURES,
        "feature_version": extractor.version if extractor else "",
        "feature_params": extractor.params_dict() if extractor else {},
        "feature_weights": extractor.weights if extractor else "none",
        "protocol": protocol.text.strip().lower(),
        "seed": spec.seed,
        "allow_missing_audio": spec.allow_missing_audio,
        "skip_invalid": spec.skip_invalid,
    }
    if protocol.kind == "kfold":
        config["split_version"] = KFOLD_SPLIT_VERSION
    elif protocol.kind == "repeated":
        config["split_version"] = REPEATED_SPLIT_VERSION
    # each split trains from its own initialisation, derived from (seed, split name)
    config["fold_seeds"] = FOLD_SEED_VERSION
    if spec.split_seed is not None:
        config["split_seed"] = int(spec.split_seed)
    if not method_cls(params, spec.seed).selects_on_validation():
        config["validation"] = "merged-into-train"
    if spec.label_rule != "fixed":  # only non-default rules enter the hash
        config["label_rule"] = spec.label_rule
    if protocol.kind == "transfer":
        if not protocol.target:
            raise ConfigError(
                "transfer needs a target: transfer:DATASET (or a plan with "
                "`protocol: transfer` and two or more datasets)"
            )
        target_cls = DATASETS.get(protocol.target)
        if target_cls.name == adapter_cls.name:
            raise ConfigError(f"transfer from {adapter_cls.name} to itself: use kfold:K")
        config["protocol"] = f"transfer:{target_cls.name}"
        config["test_dataset_version"] = target_cls.version
    music_cls = None
    if task is TaskKind.TEXT2MUSIC_RETRIEVAL:
        if not spec.music_dataset:
            raise ConfigError(
                f"{task.value} matches a text dataset with music: add `music: [NAME]` to the "
                "plan (e.g. music: [synth])"
            )
        music_cls = DATASETS.get(spec.music_dataset)
        music_protocol = Protocol.parse(spec.music_protocol or spec.protocol)
        config.update(
            music_dataset=music_cls.name,
            music_dataset_version=music_cls.version,
            music_dataset_params=dict(spec.music_params),
            music_protocol=music_protocol.text.strip().lower(),
        )
    variant = _variant(method_cls, params, extractor, smoke)
    # a method that reads audio gets its front end's arrays through the feature cache; the
    # front end follows from the method params, already hashed, so the config is unchanged
    frontend = method_cls.frontend(params)
    return ResolvedRun(
        spec,
        config,
        stable_hash(config),
        method_cls,
        params,
        adapter_cls,
        task,
        frontend or extractor,
        variant,
        music_cls,
    )


def _variant(
    method_cls: type[Method], params: Any, extractor: FeatureExtractor | None, smoke: bool
) -> str:
    """Short text naming every non-default parameter: distinguishes leaderboard rows."""
    parts = ["smoke"] if smoke else []
    defaults = dataclasses.asdict(method_cls.Params())
    parts += [
        f"{k}={v}"
        for k, v in dataclasses.asdict(params).items()
        if defaults.get(k) != v or k in method_cls.label_params
    ]
    if extractor is not None:
        fdefaults = dataclasses.asdict(type(extractor).Params())
        parts += [
            f"{extractor.name}.{k}={v}"
            for k, v in extractor.params_dict().items()
            if fdefaults.get(k) != v
        ]
    return ",".join(parts)


def expand(plan: BenchPlan, smoke: bool = False) -> tuple[list[ResolvedRun], list[str]]:
    """All compatible runs of a plan, plus a note for each combination left out."""
    runs: dict[str, ResolvedRun] = {}
    notes: list[str] = []
    for spec in plan.specs():
        run = resolve(spec, smoke)
        label = f"{run.config['method']} on {run.dataset_label}/{run.task.value}"
        target = transfer_target(run)
        music = run.music_cls
        if run.task not in run.adapter_cls.task_kinds:
            notes.append(f"{label}: dataset {run.config['dataset']} has no {run.task.value} labels")
        elif music is not None and (music.modality != "audio" or not music.emotion_vocabulary):
            notes.append(f"{label}: {music.name} is not a music dataset with mood tags")
        elif target is not None and run.task not in DATASETS.get(target).task_kinds:
            notes.append(f"{label}: transfer target {target} has no {run.task.value} labels")
        elif run.task not in run.method_cls.supports:
            notes.append(f"{label}: method does not support {run.task.value}")
        elif run.config_hash not in runs:
            runs[run.config_hash] = run
    return list(runs.values()), sorted(set(notes))


def _same_audio(a: ResolvedRun, b: ResolvedRun) -> bool:
    """Whether two runs read the same dataset(s) from the same place (so the same clips)."""

    def where(r: ResolvedRun) -> str:
        s = r.spec
        return stable_hash([s.dataset, s.dataset_root, dict(s.dataset_params), s.music_dataset,
                            s.music_root, dict(s.music_params), transfer_target(r), s.target_root])

    return where(a) == where(b)


def transfer_target(run: ResolvedRun) -> str | None:
    """The test dataset of a cross-dataset run, None for within-dataset protocols."""
    protocol = run.config["protocol"]
    return protocol.split(":", 1)[1] if protocol.startswith("transfer:") else None


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
        self.cache = FeatureCache()
        self._report = report or (lambda message: None)
        self._datasets: dict[str, tuple[DatasetAdapter, ValidationReport]] = {}
        self._work = Path(self.settings.work_dir or tempfile.mkdtemp(prefix="mer-bench-run-"))
        self.fit_tags: dict[str, str] = {}  # tags methods set while fitting (FitContext)
        self._claims: dict[str, tuple[float, str]] = {}  # our parent runs' lease precedence
        self._planned: list[ResolvedRun] = []  # run_all's runs: whose features to fill at once

    # --- bench -------------------------------------------------------------
    def run_all(self, runs: Sequence[ResolvedRun], keep_going: bool = True) -> list[RunOutcome]:
        outcomes = []
        self._planned = list(runs)
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

    # --- one run ---------------------------------------------------------------
    def prepare(self, run: ResolvedRun) -> Prepared:
        """Validate the dataset, build the splits and load (or extract) the features."""
        adapter, report = self._dataset(run.spec)
        dropped = self._usable(adapter, report, run.spec)
        task = Task(run.dataset_label, run.task)
        bridge, audio_adapter = None, adapter
        if transfer_target(run) is not None:
            splits, tracks, dropped = self._transfer(run, adapter, task, dropped)
        elif run.music_cls is not None:
            splits, tracks, dropped, bridge, audio_adapter = self._text2music(
                run, adapter, task, dropped
            )
        else:
            splits = adapter.splits(run.spec.protocol, split_seed(run), task, exclude=dropped)
            ids = sorted({i for s in splits for i in (*s.train, *s.val, *s.test)})
            tracks = {i: adapter.track(i) for i in ids}
        audio_tracks = [t for t in tracks.values() if t.text is None]
        features, cache_stats = self._features(run, audio_tracks)
        return Prepared(
            adapter, task, splits, tracks, features, dropped, cache_stats, bridge, audio_adapter
        )

    def _claim(self, run: ResolvedRun) -> tuple[str | None, RunOutcome | None]:
        """Take the run's lease, or say why not: (parent run id, None) or (None, outcome).

        A FINISHED run of the config is never recomputed; a RUNNING one held by a
        live worker (``tracking.lease``) is left to it; any other earlier attempt
        is abandoned and deleted with its folds. Two workers that claim at once
        settle it by ``lease.precedence``: the later claim withdraws as soon as it
        sees the earlier one, here or, at the latest, before it would finish
        (``_rival``), so a config never gets two FINISHED runs.
        """
        existing = self.tracker.find_runs(run.config_hash)
        finished = [r for r in existing if r.status == FINISHED]
        if finished:
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
        splits = prep.splits
        self.fit_tags = {}
        tags = self._tags(run, prep.adapter, splits, prep.dropped)
        params = {f"method.{k}": v for k, v in run.config["method_params"].items()}
        params.update({f"features.{k}": v for k, v in run.config["feature_params"].items()})
        params.update(
            {
                "protocol": run.config["protocol"],
                "seed": run.spec.seed,
                "n_tracks": len(prep.tracks),
                "n_folds": len(splits),
            }
        )
        tags.update(_track_tags(run, prep))
        self.tracker.set_tags(parent, {**tags, "kind": RUN})
        self.tracker.log_params(parent, params)
        self.tracker.log_dataset(parent, _dataset_record(run, prep))
        current = parent
        try:
            fold_metrics, rows = [], []
            for k, split in enumerate(splits):
                heartbeat.beat()
                fold_run = self.tracker.start_run(
                    f"{run.name}/{split.name}",
                    {**tags, "kind": FOLD, "fold": split.name, "fold_split_hash": split.hash},
                    params={**params, "fold": split.name},
                    parent_id=parent,
                )
                current = fold_run
                if not split.test:
                    raise TaskError(
                        f"{run.name}: fold {split.name} has no test items ({len(split.train)} "
                        "train); use fewer folds or a protocol with a larger test share"
                    )
                method, parts = self.fit_fold(run, prep, split, fold_run)
                sizes = split_sizes(parts)
                self.tracker.set_tags(fold_run, {"split_sizes": sizes})
                if k == 0:  # the run's sizes are its first fold's (protocols keep them equal)
                    self.tracker.set_tags(parent, {"split_sizes": sizes})
                test = parts["test"]
                prediction = method.predict(test)
                truth = _truth(test)
                metrics = score_fold(run.task, truth, prediction, split.name, sizes)
                self.tracker.log_metrics(fold_run, metrics)
                self.tracker.end_run(fold_run)
                current = parent
                fold_metrics.append(metrics)
                rows.extend(_prediction_rows(test, truth, prediction, split.name, k))
                self._report(_fold_line(run, k, len(splits), metrics, start))
            summary = _mean_metrics(fold_metrics)
            self.tracker.log_metrics(parent, summary)
            self._artifacts(run, parent, rows, prep.dropped, prep.task)
            seconds = time.perf_counter() - start
            self.tracker.set_tags(
                parent,
                {
                    "wall_time_s": f"{seconds:.2f}",
                    "feature_cache_hits": str(prep.cache_stats[0]),
                    "feature_cache_computed": str(prep.cache_stats[1]),
                    **self.fit_tags,
                },
            )
            rival = self._rival(run, parent)
            if rival is not None:  # a simultaneous claim that won: never two FINISHED runs
                self.tracker.delete_run(parent)
                return self._held(run, rival)
            self.tracker.end_run(parent)
        except BaseException as exc:
            status = KILLED if isinstance(exc, KeyboardInterrupt) else "FAILED"
            for run_id in {current, parent}:
                self.tracker.end_run(run_id, status)
            raise
        primary = run.task.primary_metric
        self._report(
            f"  {primary} = {summary.get(primary, float('nan')):.3f} "
            f"over {len(splits)} folds ({seconds:.1f} s)"
        )
        return RunOutcome(run.name, "finished", parent, summary, seconds=seconds)

    def _transfer(
        self, run: ResolvedRun, adapter: DatasetAdapter, task: Task, dropped: set[str]
    ) -> tuple[list[Split], dict[str, Track], set[str]]:
        """One split: this dataset's labelled tracks for training, the target's for test.
        Target ids are prefixed with its name so the two datasets' ids never collide."""
        name = transfer_target(run) or ""
        spec = dataclasses.replace(
            run.spec, dataset=name, dataset_root=run.spec.target_root, dataset_params={}
        )
        target, report = self._dataset(spec)
        target_dropped = self._usable(target, report, spec)
        train = [t for t in adapter.tracks() if t.id not in dropped and task.has_label(t)]
        test = [
            dataclasses.replace(t, id=f"{name}:{t.id}")
            for t in target.tracks()
            if t.id not in target_dropped and task.has_label(t)
        ]
        if not train or not test:
            raise DatasetError(f"transfer {adapter.name} -> {name}: no labelled tracks on one side")
        strata = [task.target(t) for t in train] if task.kind.is_classification else None
        split = transfer_split([t.id for t in train], [t.id for t in test], split_seed(run), strata)
        tracks = {t.id: t for t in (*train, *test)}
        return [split], tracks, dropped | {f"{name}:{i}" for i in target_dropped}

    def _text2music(
        self, run: ResolvedRun, adapter: DatasetAdapter, task: Task, dropped: set[str]
    ) -> tuple[list[Split], dict[str, Track], set[str], EmotionBridge, DatasetAdapter]:
        """Text splits zipped with music splits; music ids are prefixed with the dataset's name.

        Fold k pairs text split k with music split k; a protocol with one split
        (``official``) on one side is reused for every split of the other.
        """
        from mer_bench.data.emotion_vocab import build_bridge

        spec = _music_spec(run)
        name = spec.dataset
        music, report = self._dataset(spec)
        music_dropped = self._usable(music, report, spec)
        music_task = Task(music.name, run.task)
        text_splits = adapter.splits(run.spec.protocol, split_seed(run), task, exclude=dropped)
        music_splits = music.splits(
            run.config["music_protocol"], split_seed(run), music_task, exclude=music_dropped
        )
        n = max(len(text_splits), len(music_splits))
        if {len(text_splits), len(music_splits)} - {1, n}:
            raise ConfigError(
                f"{run.config['protocol']} gives {len(text_splits)} text splits and "
                f"{run.config['music_protocol']} {len(music_splits)} music splits: use equal "
                "numbers of folds, or one official split on one side"
            )

        def prefixed(ids: Sequence[str]) -> tuple[str, ...]:
            return tuple(f"{name}:{i}" for i in ids)

        splits = []
        for k in range(n):
            t = text_splits[k % len(text_splits)]
            m = music_splits[k % len(music_splits)]
            splits.append(
                Split(
                    t.name if len(text_splits) == n else m.name,
                    t.train + prefixed(m.train),
                    t.val + prefixed(m.val),
                    t.test + prefixed(m.test),
                )
            )
        text_ids = {i for s in text_splits for i in (*s.train, *s.val, *s.test)}
        music_ids = {i for s in music_splits for i in (*s.train, *s.val, *s.test)}
        tracks = {i: adapter.track(i) for i in sorted(text_ids)}
        for i in sorted(music_ids):
            tracks[f"{name}:{i}"] = dataclasses.replace(music.track(i), id=f"{name}:{i}")
        bridge = build_bridge(
            adapter.emotion_vocabulary, music.emotion_vocabulary, adapter.name, music.name
        )
        return splits, tracks, dropped | {f"{name}:{i}" for i in music_dropped}, bridge, music

    def fold_data(
        self, run: ResolvedRun, prep: Prepared, split: Split, merge_val: bool | None = None
    ) -> dict[str, FoldData]:
        """The train / val / test parts of one split, with this fold's label thresholds.

        ``merge_val`` (default: the method does not select on validation data)
        moves the validation part into training and leaves ``val`` empty, so a
        method that never reads it trains on the protocol's whole training
        share. Sweeps pass False: they score trials on the validation part.
        """
        if merge_val is None:
            merge_val = run.config.get("validation") == "merged-into-train"
        if merge_val:
            # a protocol whose validation and test parts coincide (Alm's official split)
            # must not leak test items into training
            test = set(split.test)
            extra = tuple(i for i in split.val if i not in test)
            split = dataclasses.replace(split, train=(*split.train, *extra), val=())
        task = _fold_task(
            prep.task, [prep.tracks[i] for i in split.train], run.spec.label_rule, run.spec.seed
        )

        def part(ids: Sequence[str]) -> FoldData:
            # text items (text2music_retrieval) go to ``texts``, audio clips to ``tracks``
            texts = tuple(prep.tracks[i] for i in ids if prep.tracks[i].text is not None)
            audio_ids = [i for i in ids if prep.tracks[i].text is None]
            chosen = tuple(prep.tracks[i] for i in audio_ids)
            features = None
            if prep.features is not None:
                features = tuple(prep.features[i] for i in audio_ids)
            return FoldData(
                task=task,
                tracks=chosen,
                features=features,
                targets=tuple(task.target(t) for t in chosen),
                audio=(prep.audio_adapter or prep.adapter).load_audio,
                feature_hop_s=run.extractor.hop_s if run.extractor else None,
                feature_key=run.extractor.cache_namespace if run.extractor else None,
                texts=texts,
                bridge=prep.bridge,
            )

        return {"train": part(split.train), "val": part(split.val), "test": part(split.test)}

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
        parts = self.fold_data(run, prep, split, merge_val)
        seed = fold_seed(run.spec.seed, split.name)
        _seed_everything(seed)
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
                                 progress_label=_fold_label(run, prep, split)),
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

    def check(self, run: ResolvedRun) -> None:
        """Raise what would stop ``run`` before any fitting: dataset problems, missing weights.

        Validates the dataset(s) and locates the extractor's weight files; no
        feature is extracted and nothing is logged (``reproduce --dry-run``).
        """
        self.check_datasets(run)
        if run.extractor is not None:
            _ = run.extractor.weights_identity  # resolves the weight files; raises when absent

    def check_datasets(self, run: ResolvedRun) -> None:
        """Validate the run's dataset(s) once (cached) and raise what would stop it."""
        specs = [run.spec] if run.music_cls is None else [run.spec, _music_spec(run)]
        target = transfer_target(run)
        if target is not None:  # the test dataset of transfer:TARGET, as _transfer reads it
            specs.append(dataclasses.replace(run.spec, dataset=target,
                                             dataset_root=run.spec.target_root,
                                             dataset_params={}))
        for spec in specs:
            adapter, report = self._dataset(spec)
            self._usable(adapter, report, spec)

    # --- helpers -------------------------------------------------------------
    def _dataset(self, spec: RunSpec) -> tuple[DatasetAdapter, ValidationReport]:
        key = stable_hash([spec.dataset, spec.dataset_root, dict(spec.dataset_params)])
        if key not in self._datasets:
            adapter = DATASETS.get(spec.dataset)(spec.dataset_root, **dict(spec.dataset_params))
            self._report(f"  validating dataset {adapter.name} at {adapter.root}")
            self._datasets[key] = (adapter, adapter.validate())
        return self._datasets[key]

    def _usable(self, adapter: DatasetAdapter, report: ValidationReport, spec: RunSpec) -> set[str]:
        """Ids to leave out; raises when the dataset has errors the user did not waive."""
        waive = set(TRACK_LEVEL_CODES) if spec.skip_invalid else set()
        if spec.allow_missing_audio:
            waive.add(MISSING_AUDIO)
        errors = report.errors(waive)
        if errors:
            shown = "\n  ".join(p.message for p in errors[:10])
            more = f"\n  ... and {len(errors) - 10} more" if len(errors) > 10 else ""
            hint = (
                "--allow-missing-audio runs on the tracks that have audio; "
                if any(p.code == MISSING_AUDIO for p in errors)
                else ""
            )
            track_level = all(p.code in TRACK_LEVEL_CODES for p in errors)
            skip = (
                "--skip-invalid leaves out the tracks with these errors."
                if track_level
                else "errors about a whole file stop the run even with --skip-invalid: fix them."
            )
            kinds = Counter(p.code for p in errors)
            summary = ", ".join(f"{n} {code}" for code, n in kinds.most_common())
            raise DatasetError(
                f"dataset {adapter.name} at {adapter.root} has {len(errors)} error(s) "
                f"({summary}):\n  "
                f"{shown}{more}\nRun `mer-bench data check {adapter.name} --root {adapter.root}`; "
                f"{hint}{skip}"
            )
        dropped = report.track_ids_with(waive)
        if dropped:
            self._report(f"  leaving out {len(dropped)} track(s) with waived problems")
        return dropped

    def _features(
        self, run: ResolvedRun, tracks: list[Track]
    ) -> tuple[dict[str, np.ndarray] | None, tuple[int, int]]:
        if run.extractor is None:
            return None, (0, 0)
        with _progress(self.settings.progress, f"features {run.extractor.name}") as update:
            # the other planned runs' extractors on this data are filled from the same decode
            also = [r.extractor for r in self._planned if r.extractor and _same_audio(r, run)]
            arrays, stats = self.cache.features(
                run.extractor, tracks, n_jobs=self.settings.n_jobs, progress=update, also=also
            )
        if stats.computed:
            self._report(
                f"  features {run.extractor.name}: {stats.computed} computed, "
                f"{stats.hits} from cache ({stats.seconds:.1f} s)"
            )
        return arrays, (stats.hits, stats.computed)

    def _tags(
        self, run: ResolvedRun, adapter: DatasetAdapter, splits: list[Split], dropped: set[str]
    ) -> dict[str, str]:
        tags = {
            "method": run.config["method"],
            "dataset": run.dataset_label,
            "dataset_version": adapter.version,
            "task": run.task.value,
            "features": run.config["features"],
            "protocol": run.config["protocol"],
            "test_dataset": transfer_target(run) or run.dataset_label,
            "seed": str(run.spec.seed),
            "split_seed": str(split_seed(run)),
            "validation": run.config.get("validation", "separate"),
            "variant": run.variant,
            "config_hash": run.config_hash,
            "split_hash": stable_hash([s.hash for s in splits]),
            "feature_cache_key": run.extractor.cache_namespace if run.extractor else "",
            "weights": run.extractor.weights if run.extractor else "none",
            "skipped_tracks": str(len(dropped)),
        }
        if run.music_cls is not None:
            tags["music_dataset"] = run.config["music_dataset"]
            tags["music_dataset_version"] = run.config["music_dataset_version"]
        corrections = adapter.corrections()
        if corrections:
            tags["label_corrections"] = json.dumps(corrections, sort_keys=True)
        tags.update(provenance_tags())
        return tags

    def _artifacts(
        self,
        run: ResolvedRun,
        parent: str,
        rows: list[dict[str, Any]],
        dropped: set[str],
        task: Task,
    ) -> None:
        import pandas as pd
        import yaml

        folder = self._work / run.config_hash / "artifacts"
        folder.mkdir(parents=True, exist_ok=True)
        config_path = folder / "config.yaml"
        config_path.write_text(
            yaml.safe_dump({"config_hash": run.config_hash, **run.config}, sort_keys=False)
        )
        self.tracker.log_artifact(parent, config_path)
        predictions = folder / "predictions.parquet"
        pd.DataFrame(rows).to_parquet(predictions, index=False)
        self.tracker.log_artifact(parent, predictions)
        if dropped:
            skipped = folder / "skipped_tracks.txt"
            skipped.write_text("\n".join(sorted(dropped)) + "\n")
            self.tracker.log_artifact(parent, skipped)
        if self.settings.plots:
            for path in _plots(run, rows, task, folder):
                self.tracker.log_artifact(parent, path, "plots")


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


def _fold_label(run: ResolvedRun, prep: Prepared, split: Split) -> str:
    """``  method/dataset/task fold k/K``: what a progress line is about."""
    names = [s.name for s in prep.splits]
    k = names.index(split.name) + 1 if split.name in names else 0
    where = f"fold {k}/{len(names)}" if k else split.name
    return f"  {run.config['method']}/{run.dataset_label}/{run.task.value} {where}"


def _dataset_total(run: ResolvedRun, prep: Prepared) -> int | None:
    """Tracks of the whole dataset (its published size where the adapter knows it);
    None where the run mixes datasets (transfer, text2music) and no share applies."""
    if transfer_target(run) is not None or run.music_cls is not None:
        return None
    published = getattr(prep.adapter, "published_tracks", None)
    return int(published) if published else len(prep.adapter.tracks())


def _track_tags(run: ResolvedRun, prep: Prepared) -> dict[str, str]:
    """How many tracks the run used, of how many: a subset never passes for the whole."""
    total = _dataset_total(run, prep)
    return {"tracks_used": str(len(prep.tracks)),
            "tracks_total": "" if total is None else str(total)}


def _dataset_record(run: ResolvedRun, prep: Prepared) -> DatasetRecord:
    total = _dataset_total(run, prep)
    return DatasetRecord(
        name=run.dataset_label,
        version=prep.adapter.version,
        n_tracks=len(prep.tracks),
        n_total=len(prep.tracks) if total is None else total,
        digest=stable_hash(sorted(prep.tracks), 12),
        source=str(prep.adapter.root),
    )


def _music_spec(run: ResolvedRun) -> RunSpec:
    """The music side of a text2music run as a spec of its own (its dataset, root, params)."""
    return dataclasses.replace(
        run.spec,
        dataset=run.config["music_dataset"],
        dataset_root=run.spec.music_root,
        dataset_params=dict(run.spec.music_params),
    )


def _fold_task(task: Task, train: list[Track], rule: str, seed: int) -> Task:
    """The task with this fold's binary thresholds (from training labels only).

    ``kmeans``: k-means (k = 2) on the training fold's (valence, arousal) points and
    the midpoint of the two centres, one coordinate per dimension (He & Ferguson).
    """
    if rule == "fixed" or task.kind not in (
        TaskKind.BINARY_VALENCE,
        TaskKind.BINARY_AROUSAL,
        TaskKind.QUADRANT,
    ):
        return task
    va = np.array([t.static_va for t in train if t.static_va is not None], dtype=float)
    if len(va) == 0:
        return task  # labels come from annotated quadrants (4Q): nothing to threshold
    valence, arousal = kmeans_midpoint_va(va, seed)
    return dataclasses.replace(task, valence_threshold=valence, arousal_threshold=arousal)


def _truth(data: FoldData) -> Any:
    kind = data.task.kind
    if kind.is_classification or kind is TaskKind.STATIC_VA:
        return data.y
    if kind is TaskKind.M2E_E2M_RETRIEVAL:
        return None
    if kind is TaskKind.TEXT2MUSIC_RETRIEVAL:
        if data.bridge is None:
            raise TaskError("text2music_retrieval data carries no vocabulary bridge")
        return Text2MusicTruth(tuple(data.text_labels), tuple(data.music_labels), data.bridge)
    if kind is TaskKind.DYNAMIC_VA:
        return list(data.targets)
    raise TaskError(f"no ground truth rule for {kind.value}")


def _prediction_rows(
    data: FoldData, truth: Any, prediction: Any, fold: str, k: int
) -> list[dict[str, Any]]:
    """One row per test track; arrays are stored as JSON text so any reader can load them.

    Text-to-music: one row per text query with its emotion and the ids of its
    ten best-ranked clips (none for a query the method could not answer).
    """
    if data.texts:
        sim = np.asarray(prediction, dtype=float)
        top = np.argsort(-sim, axis=1, kind="stable")[:, :10]
        return [
            {
                "id": text.id,
                "fold": fold,
                "fold_index": k,
                "target": json.dumps(text.tags[0]),
                # an all-NaN row: the method had no answer for this text
                "prediction": json.dumps(
                    [] if np.isnan(sim[i]).all() else [data.tracks[j].id for j in top[i]]
                ),
            }
            for i, text in enumerate(data.texts)
        ]
    rows = []
    for i, track in enumerate(data.tracks):
        target = data.targets[i]
        rows.append(
            {
                "id": track.id,
                "fold": fold,
                "fold_index": k,
                "target": json.dumps(np.asarray(target).tolist()),
                "prediction": json.dumps(_row_of(prediction, i)),
            }
        )
    return rows


def _row_of(prediction: Any, i: int) -> Any:
    """Row ``i`` of a prediction as JSON-ready lists (a dict of matrices row by row)."""
    if isinstance(prediction, dict):
        return {k: np.asarray(v[i]).tolist() for k, v in prediction.items()}
    return np.asarray(prediction[i]).tolist()


def _plots(run: ResolvedRun, rows: list[dict[str, Any]], task: Task, folder: Path) -> list[Path]:
    from mer_bench import plots
    from mer_bench.metrics import confusion_matrix

    if not rows:
        return []
    title = run.name
    if task.kind.is_classification:
        y_true = np.array([json.loads(r["target"]) for r in rows], dtype=int)
        y_pred = np.array([int(np.argmax(json.loads(r["prediction"]))) for r in rows])
        matrix = confusion_matrix(y_true, y_pred, task.kind.n_classes)
        return [
            plots.confusion_matrix_png(
                matrix, task.kind.class_names, title, folder / "confusion_matrix.png"
            )
        ]
    if task.kind is TaskKind.STATIC_VA:
        y_true = np.array([json.loads(r["target"]) for r in rows])
        y_pred = np.array([json.loads(r["prediction"]) for r in rows])
        return [plots.va_scatter_png(y_true, y_pred, title, folder / "va_scatter.png")]
    return []


def _mean_metrics(fold_metrics: list[dict[str, float]]) -> dict[str, float]:
    keys = {k for m in fold_metrics for k in m}
    out = {}
    for key in sorted(keys):
        values = [m[key] for m in fold_metrics if key in m and not np.isnan(m[key])]
        if values:
            out[key] = float(np.mean(values))
    return out


def score_fold(
    kind: TaskKind, truth: Any, prediction: Any, fold: str, sizes: str
) -> dict[str, float]:
    """The fold's metrics; a fold whose primary metric is undefined (NaN) is an error that
    names it, because a FINISHED run must carry a number (e.g. R² of one test clip)."""
    metrics = score(kind, truth, prediction)
    primary = kind.primary_metric
    value = metrics.get(primary, float("nan"))
    if value != value:  # NaN
        raise TaskError(
            f"fold {fold} (train/val/test {sizes}): {primary} is undefined on its test part "
            "(too few or identical test items); use a protocol with a larger test share"
        )
    return metrics


def split_seed(run: ResolvedRun) -> int:
    """The seed that draws the run's splits: ``split_seed`` when given, else the run's seed."""
    return run.spec.seed if run.spec.split_seed is None else int(run.spec.split_seed)


def fold_seed(seed: int, split_name: str) -> int:
    """The model seed of one split: a stable 31-bit function of (run seed, split name)."""
    return int(stable_hash([int(seed), str(split_name)])[:8], 16) & 0x7FFFFFFF


def split_sizes(parts: Mapping[str, FoldData]) -> str:
    """``train/val/test`` item counts of one fold (texts count for text2music)."""
    return "/".join(str(len(parts[k]) + len(parts[k].texts)) for k in ("train", "val", "test"))


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


QUIET_S = 2.0  # work that ends sooner than this prints no progress lines


class _progress:
    """A rich progress bar as a context manager yielding an ``update(done, total)`` callback.

    Without a terminal (logs, CI) it prints one line per tenth of the work instead.
    """

    def __init__(self, enabled: bool, label: str) -> None:
        self.tty = sys.stderr.isatty()
        self.enabled, self.label = enabled and self.tty, label
        self.lines = enabled and not self.tty

    def _line_updates(self) -> Callable[[int, int], None]:
        start, shown = time.perf_counter(), [-1]

        def update(done: int, total: int) -> None:
            if total <= 0:
                return
            block = done * 10 // total
            elapsed = time.perf_counter() - start
            quick = elapsed < QUIET_S and shown[0] < 0  # cache hits stay silent
            if block == shown[0] or done == 0 or quick:
                return
            shown[0] = block
            eta = elapsed / max(done, 1) * (total - done)
            tail = f", ETA {eta:.0f} s" if done < total else ""
            print(f"  {self.label}: {done}/{total} ({elapsed:.0f} s{tail})", file=sys.stderr,
                  flush=True)

        return update

    def __enter__(self) -> Callable[[int, int], None]:
        if self.lines:
            return self._line_updates()
        if not self.enabled:
            return lambda done, total: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self._bar = Progress(
            "{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task(self.label, total=None)

        def update(done: int, total: int) -> None:
            self._bar.update(self._task, completed=done, total=total)

        return update

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._bar.stop()
