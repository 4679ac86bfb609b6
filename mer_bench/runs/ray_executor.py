"""Folds as Ray tasks: one machine's cores, or a Ray cluster of many machines.

Each fold of a run is a Ray task asking for the resources its method declares
(``Method.fit_resources``; one GPU for methods that train networks where the
cluster has GPUs; a plan's ``executor.resources`` overrides either). The run and
its prepared data (tracks, splits, the cached features) go to the object store
once per run; a worker fits and scores the fold exactly as the in-process loop
does (``fitting.fit_fold``, ``folds.score_fold``) and sends back its metrics, its
prediction, its training curves and tags. The runner logs them, so only the
driver writes to the tracking store, and a fold whose worker dies is re-run by
Ray (``max_retries``) without a second fold run in MLflow.

Without an address Ray starts on this machine; ``address`` joins a cluster
(``auto``: the one ``ray start`` set up here). Workers of other machines must
reach the datasets' and the feature cache's paths (a shared filesystem).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ray

from mer_bench.errors import MerBenchError, TaskError
from mer_bench.runs.executors import ExecutorSettings, FoldJob
from mer_bench.runs.fitting import fit_fold
from mer_bench.runs.folds import FoldResult, score_fold
from mer_bench.runs.preparing import Prepared, fold_data, split_sizes, truth
from mer_bench.runs.resolving import ResolvedRun
from mer_bench.training import TrainerSettings
from mer_bench.types import Split


@dataclass
class _Recorder:
    """What a fit sends to its tracker, kept to be logged by the driver."""

    curves: list[tuple[dict[str, float], int | None]] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int | None = None
                    ) -> None:
        self.curves.append((dict(metrics), step))

    def set_tags(self, run_id: str, tags: Mapping[str, str], with_folds: bool = False) -> None:
        self.tags.update(tags)


@dataclass
class RemoteFold:
    """A fold fitted and scored on a worker."""

    metrics: dict[str, float]
    prediction: Any
    sizes: str
    curves: list[tuple[dict[str, float], int | None]]
    tags: dict[str, str]
    seconds: float
    node: str  # the Ray node that fitted it (a fold run's ``worker_node`` tag)
    threads: int


def fit_and_score(run: ResolvedRun, prep: Prepared, split: Split, trainer: TrainerSettings,
                  work_dir: str, threads: int) -> RemoteFold:
    """One fold, start to score, as the in-process loop computes it.

    ``threads`` is the driver's torch thread count: a network's sums split over the same
    number of threads give the same numbers, so a fold's result does not depend on
    where it ran (``threads: task``: as many threads as CPUs the task holds).
    """
    import socket
    import time

    import torch

    torch.set_num_threads(threads)
    start = time.perf_counter()
    recorder = _Recorder()
    fitted = fit_fold(run, prep, split, trainer=trainer, work_dir=Path(work_dir),
                      log=lambda metrics, step: recorder.log_metrics("", metrics, step),
                      tracker=recorder, run_id="fold")
    test = fitted.parts["test"]
    sizes = split_sizes(fitted.parts)
    prediction = fitted.method.predict(test)
    metrics = score_fold(run.task, truth(test), prediction, split.name, sizes)
    node = f"{socket.gethostname()}/{ray.get_runtime_context().get_node_id()[:8]}"
    return RemoteFold(metrics, prediction, sizes, recorder.curves,
                      {**recorder.tags, **fitted.tags}, time.perf_counter() - start, node,
                      torch.get_num_threads())


_remote_fold = ray.remote(fit_and_score)


class RayExecutor:
    """Fans a run's folds out as Ray tasks and yields them back in fold order."""

    def __init__(self, settings: ExecutorSettings) -> None:
        self.settings = settings
        self._started = not ray.is_initialized()
        if self._started:
            try:
                ray.init(address=settings.address, include_dashboard=False,
                         log_to_driver=False, configure_logging=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:  # before any run
                where = f"the Ray cluster at {settings.address}" if settings.address else "Ray"
                raise MerBenchError(f"cannot start or join {where}: {exc}") from None
        self.fold_seconds: list[float] = []  # worker time per fold (the overhead is the rest)

    def options(self, run: ResolvedRun) -> dict[str, Any]:
        """The resources and retries of one fold task of ``run``.

        A fold holds as many CPUs as it runs threads: with ``threads: driver`` the
        driver's torch thread count (so Ray never packs more threads than cores on a
        node; OpenMP's spinning threads slow down many times when oversubscribed),
        with ``threads: task`` what the method declares.
        """
        import torch

        method = run.method_cls
        wanted = dict(method.fit_resources)
        if self.settings.threads == "driver":  # at most a whole node, or it never starts
            largest = max((n["Resources"].get("CPU", 0.0) for n in ray.nodes() if n["Alive"]),
                          default=1.0)
            wanted["num_cpus"] = min(largest, max(float(wanted.get("num_cpus", 1)),
                                                  torch.get_num_threads()))
        if method.trains_networks:
            gpus = self.settings.gpus_per_fold
            if gpus is None:
                gpus = 1.0 if ray.cluster_resources().get("GPU", 0) > 0 else 0.0
            wanted.setdefault("num_gpus", gpus)
        wanted.update(self.settings.resources.get(method.name, {}))
        return {**wanted, "max_retries": self.settings.max_retries, "retry_exceptions": False}

    def folds(self, job: FoldJob) -> Iterator[tuple[str | None, FoldResult]]:
        run, prep = job.run, job.prep
        import torch

        run_ref, prep_ref = ray.put(run), ray.put(prep)
        opts = self.options(run)
        threads = (torch.get_num_threads() if self.settings.threads == "driver"
                   else max(1, int(opts.get("num_cpus", 1))))
        task = _remote_fold.options(**opts)
        submitted = []
        index = {split.name: k for k, split in enumerate(prep.splits)}
        for split in job.splits:
            if not split.test:
                raise TaskError(
                    f"{run.name}: fold {split.name} has no test items ({len(split.train)} "
                    "train); use fewer folds or a protocol with a larger test share"
                )
            run_id = job.open_fold(split)
            ref = task.remote(run_ref, prep_ref, split, job.trainer, str(job.work_dir), threads)
            submitted.append((split, run_id, ref))
        pending = {id(ref) for _, _, ref in submitted}
        try:
            for split, run_id, ref in submitted:
                k = index[split.name]
                remote: RemoteFold = ray.get(ref)
                pending.discard(id(ref))
                self.fold_seconds.append(remote.seconds)
                for metrics, step in remote.curves:
                    job.log(run_id, metrics, step)
                job.record_tags(run_id, remote.tags)
                job.tag(run_id, {"worker_node": remote.node})
                parts = fold_data(run, prep, split)  # the driver's copy, for the predictions
                yield run_id, FoldResult(k, split, parts, truth(parts["test"]),
                                         remote.prediction, remote.metrics, remote.sizes)
        finally:  # a failed or interrupted run leaves nothing running
            for _, _, ref in submitted:
                if id(ref) in pending:
                    ray.cancel(ref, force=True)

    def close(self) -> None:
        if self._started and ray.is_initialized():
            ray.shutdown()
