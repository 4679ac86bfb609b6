"""A tracker that keeps runs in memory: for tests and dry runs."""

from __future__ import annotations

import itertools
import shutil
import tempfile
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mer_bench.errors import TrackingError
from mer_bench.tracking.base import (
    FINISHED,
    FOLD,
    RUN,
    RUNNING,
    DatasetRecord,
    FoldRecord,
    RunInfo,
)


@dataclass
class _Run:
    run_id: str
    name: str
    tags: dict[str, str]
    params: dict[str, Any]
    parent_id: str | None
    status: str = RUNNING
    deleted: bool = False
    metrics: dict[str, list[tuple[int | None, float]]] = field(default_factory=dict)
    artifacts: dict[str, Path] = field(default_factory=dict)
    datasets: list[DatasetRecord] = field(default_factory=list)

    def latest(self) -> dict[str, float]:
        return {k: v[-1][1] for k, v in self.metrics.items()}


class InMemoryTracker:
    def __init__(self) -> None:
        self.runs: dict[str, _Run] = {}
        self._ids = itertools.count()
        self._artifacts: Path | None = None  # created on first use, removed with the tracker

    def find_runs(self, config_hash: str) -> list[RunInfo]:
        return [
            RunInfo(r.run_id, r.status, dict(r.tags))
            for r in self.runs.values()
            if not r.deleted
            and r.tags.get("kind") == RUN
            and r.tags.get("config_hash") == config_hash
        ]

    def find_tagged(self, tags: Mapping[str, str]) -> list[RunInfo]:
        return [
            RunInfo(r.run_id, r.status, dict(r.tags))
            for r in self.runs.values()
            if not r.deleted and all(r.tags.get(k) == v for k, v in tags.items())
        ]

    def start_run(
        self,
        name: str,
        tags: Mapping[str, str],
        params: Mapping[str, Any] | None = None,
        parent_id: str | None = None,
    ) -> str:
        run_id = f"mem{next(self._ids)}"
        self.runs[run_id] = _Run(run_id, name, dict(tags), dict(params or {}), parent_id)
        return run_id

    def log_metrics(
        self, run_id: str, metrics: Mapping[str, float], step: int | None = None
    ) -> None:
        self._live(run_id)
        for key, value in metrics.items():
            self.runs[run_id].metrics.setdefault(key, []).append((step, float(value)))

    def set_tags(self, run_id: str, tags: Mapping[str, str], with_folds: bool = False) -> None:
        self._live(run_id)
        for run in self.runs.values():
            if run.run_id == run_id or (with_folds and run.parent_id == run_id):
                run.tags.update({k: str(v) for k, v in tags.items()})

    def delete_tags(self, run_id: str, keys: Iterable[str]) -> None:
        tags = self._live(run_id).tags
        for key in keys:
            tags.pop(key, None)

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        self._live(run_id).params.update(params)

    def log_dataset(self, run_id: str, dataset: DatasetRecord) -> None:
        self.runs[run_id].datasets.append(dataset)

    def log_artifact(self, run_id: str, path: Path, artifact_path: str | None = None) -> None:
        if self._artifacts is None:
            self._artifacts = Path(tempfile.mkdtemp(prefix="mer-bench-artifacts-"))
            weakref.finalize(self, shutil.rmtree, self._artifacts, True)
        dest = self._artifacts / run_id / (artifact_path or "") / Path(path).name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest)
        self.runs[run_id].artifacts[str(Path(artifact_path or "") / Path(path).name)] = dest

    def end_run(self, run_id: str, status: str = FINISHED) -> None:
        self._live(run_id).status = status

    def delete_run(self, run_id: str) -> None:
        for run in self.runs.values():
            if run.run_id == run_id or run.parent_id == run_id:
                run.deleted = True

    def is_deleted(self, run_id: str) -> bool:
        run = self.runs.get(run_id)
        return run is None or run.deleted

    def _live(self, run_id: str) -> _Run:
        """The run, refusing a deleted one as MLflow does (a worker that lost its run)."""
        run = self.runs[run_id]
        if run.deleted:
            raise TrackingError(f"run {run_id} is deleted; it cannot be changed")
        return run

    def fold_records(self) -> list[FoldRecord]:
        finished = {
            r.run_id
            for r in self.runs.values()
            if r.tags.get("kind") == RUN and r.status == FINISHED and not r.deleted
        }
        return [
            FoldRecord(r.run_id, r.parent_id or "", dict(r.tags), r.latest())
            for r in self.runs.values()
            if r.tags.get("kind") == FOLD and r.parent_id in finished and not r.deleted
        ]

    def describe(self) -> str:
        return "in-memory tracker"
