"""Executors: where a run's folds are fitted. In this process (the default), or fanned
out as Ray tasks over one machine or a cluster (``runs.ray_executor``).

Whatever the executor, the runner owns the tracker: it opens each fold's run,
logs what the fold sends back (training curves, fit tags, metrics) and closes it,
so MLflow sees the same parent run, fold runs, tags and artifacts either way, and a
fold a worker lost is retried by the engine without leaving a second fold run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mer_bench.errors import ConfigError
from mer_bench.registry import Registry
from mer_bench.runs.folds import FitFold, FoldResult, score_folds
from mer_bench.runs.preparing import Prepared
from mer_bench.runs.resolving import ResolvedRun
from mer_bench.training import TrainerSettings
from mer_bench.types import Split

EXECUTOR_KEYS = frozenset(
    {"name", "address", "max_retries", "resources", "gpus_per_fold", "threads"}
)
THREADS = ("driver", "task")


@dataclass(frozen=True)
class ExecutorSettings:
    """How folds are spread (a plan's ``executor:`` block, or ``--executor``/``--address``).

    ``resources`` overrides what a method asks of a Ray worker, per method name
    (``{sssl: {num_cpus: 2, num_gpus: 1}}``); ``gpus_per_fold`` what methods that
    train networks ask for (default: one GPU where the cluster has GPUs, else none).
    ``threads``: ``driver`` (default) fits each fold with this process's torch thread
    count, so a network's sums, and its numbers, are those of the in-process loop;
    ``task`` gives each fold as many threads as CPUs it holds (no oversubscription
    when folds share a machine; a network's last digits may differ).
    """

    name: str = "local"
    address: str | None = None
    max_retries: int = 2
    resources: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    gpus_per_fold: float | None = None
    threads: str = "driver"

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], source: str = "plan") -> ExecutorSettings:
        unknown = sorted(set(raw) - EXECUTOR_KEYS)
        if unknown:
            raise ConfigError(f"{source}: unknown executor key(s) {unknown}; "
                              f"known: {sorted(EXECUTOR_KEYS)}")
        name = str(raw.get("name", "local"))
        if name not in EXECUTORS:
            raise ConfigError(
                f"{source}: executor must be one of {EXECUTORS.names()}, not {name!r}"
            )
        retries = raw.get("max_retries", 2)
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise ConfigError(f"{source}: executor max_retries must be an integer >= 0")
        resources = raw.get("resources") or {}
        if not isinstance(resources, Mapping) or not all(
            isinstance(v, Mapping) and set(v) <= {"num_cpus", "num_gpus"}
            for v in resources.values()
        ):
            raise ConfigError(f"{source}: executor resources map a method to "
                              "{num_cpus: N, num_gpus: G}")
        gpus = raw.get("gpus_per_fold")
        address = raw.get("address")
        threads = str(raw.get("threads", "driver"))
        if threads not in THREADS:
            raise ConfigError(f"{source}: executor threads must be one of {THREADS}")
        return cls(name, None if address is None else str(address), retries,
                   {str(k): dict(v) for k, v in resources.items()},
                   None if gpus is None else float(gpus), threads)


@dataclass
class FoldJob:
    """One run's folds to execute: the run, its data, and the runner's hooks.

    ``open_fold(split)`` starts the fold's tracked run and returns its id;
    ``fit_here(split)`` fits it in this process (opening the run itself);
    ``log(run_id, metrics, step)``, ``record_tags(run_id, tags)`` (what the method
    chose) and ``tag(run_id, tags)`` (where it ran) write what a remote fold sends back.
    """

    run: ResolvedRun
    prep: Prepared
    open_fold: Callable[[Split], str]
    fit_here: FitFold
    log: Callable[[str, Mapping[str, float], int | None], None]
    record_tags: Callable[[str, Mapping[str, str]], None]
    tag: Callable[[str, Mapping[str, str]], None]
    trainer: TrainerSettings
    work_dir: Path
    splits: list[Split] = field(default_factory=list)  # the folds to fit (default: all)

    def __post_init__(self) -> None:
        if not self.splits:
            self.splits = list(self.prep.splits)


class FoldExecutor(Protocol):
    """Fits and scores a run's folds; yields them in fold order."""

    def folds(self, job: FoldJob) -> Iterator[tuple[str | None, FoldResult]]:
        """``(fold run id or None when ``fit_here`` opened it, scored fold)`` per split."""
        ...

    def close(self) -> None:
        """Release the engine (a Ray session this executor started)."""


EXECUTORS: Registry[Callable[[ExecutorSettings], FoldExecutor]] = Registry("executor")


@EXECUTORS.register("local")
class InProcessExecutor:
    """Folds one after another in this process: the default, unchanged behaviour."""

    def __init__(self, settings: ExecutorSettings | None = None) -> None:
        self.settings = settings or ExecutorSettings()

    def folds(self, job: FoldJob) -> Iterator[tuple[str | None, FoldResult]]:
        for fold in score_folds(job.run, job.prep, job.fit_here, "test", job.splits):
            yield None, fold

    def close(self) -> None:
        return None


@EXECUTORS.register("ray")
def _ray(settings: ExecutorSettings) -> FoldExecutor:
    from mer_bench.runs.ray_executor import RayExecutor

    return RayExecutor(settings)


def make_executor(settings: ExecutorSettings | None) -> FoldExecutor:
    settings = settings or ExecutorSettings()
    return EXECUTORS.get(settings.name)(settings)
