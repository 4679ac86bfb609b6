"""The tracking contract. Runs and the leaderboard only talk to a ``Tracker``.

A bench run is one *parent* run per (method, dataset, task, features,
protocol, seed) tagged ``kind=run``, with one *child* run per fold tagged
``kind=fold`` holding that fold's test metrics. The leaderboard reads fold
runs whose parent FINISHED, so an interrupted run never reaches a table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

RUN, FOLD = "run", "fold"
FINISHED, FAILED, KILLED, RUNNING = "FINISHED", "FAILED", "KILLED", "RUNNING"

# a run's data identity (``runs.fingerprint``): what its result depends on besides its
# config; the data key groups runs that should share it; data_seen (epoch seconds) is
# when a bench last found that data current; labels_unchecked names unchecked defects
FINGERPRINT_TAG, DATA_KEY_TAG = "data_fingerprint", "data_key"
DATA_SEEN_TAG, UNCHECKED_TAG = "data_seen", "labels_unchecked"



def data_seen(tags: Mapping[str, str]) -> float:
    """When a bench last found a run's data current (epoch seconds): its ``data_seen`` tag,
    else its lease start for runs recorded before that tag, else 0."""
    for key in (DATA_SEEN_TAG, "lease_started"):  # tracking.lease.STARTED
        try:
            return float(tags.get(key, ""))
        except ValueError:
            continue
    return 0.0


# tags that identify a leaderboard row (all runs carry them)
GROUP_TAGS = ("task", "dataset", "method", "features", "protocol", "variant")


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    status: str
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FoldRecord:
    """One fold's test metrics plus the tags of its run: a leaderboard data point."""

    run_id: str
    parent_run_id: str
    tags: Mapping[str, str]
    metrics: Mapping[str, float]

    def tag(self, key: str, default: str = "") -> str:
        return self.tags.get(key, default)

    @property
    def order_key(self) -> tuple[int, str, int, str, str]:
        """Canonical position (seed, then fold in natural order): statistics that resample
        fold values (bootstrap CIs) must not depend on the order a store returns runs in."""
        seed, fold = self.tag("seed"), self.tag("fold")
        seed_n = int(seed) if seed.lstrip("-").isdigit() else 0
        digits = "".join(ch for ch in fold if ch.isdigit())
        return (seed_n, seed, int(digits) if digits else 0, fold, self.run_id)


@dataclass(frozen=True)
class DatasetRecord:
    """What a run read: MLflow's Dataset column shows name, digest and the profile."""

    name: str
    version: str
    n_tracks: int  # tracks the run used
    n_total: int  # tracks the dataset has (its published size where the adapter knows it)
    digest: str  # hash of the used track ids: equal digests, equal subsets
    source: str  # the dataset's root folder


@runtime_checkable
class Tracker(Protocol):
    """What the runner, methods and leaderboard need from an experiment tracker."""

    def find_runs(self, config_hash: str) -> list[RunInfo]:
        """Parent runs (not deleted) whose ``config_hash`` tag matches."""

    def find_tagged(self, tags: Mapping[str, str]) -> list[RunInfo]:
        """Runs (not deleted) carrying every one of ``tags`` (plain values: ids, hashes)."""

    def start_run(
        self,
        name: str,
        tags: Mapping[str, str],
        params: Mapping[str, Any] | None = None,
        parent_id: str | None = None,
    ) -> str: ...

    def log_metrics(
        self, run_id: str, metrics: Mapping[str, float], step: int | None = None
    ) -> None: ...

    def set_tags(self, run_id: str, tags: Mapping[str, str], with_folds: bool = False) -> None:
        """Set tags on a run; ``with_folds`` also on its fold runs (what fold records read)."""

    def delete_tags(self, run_id: str, keys: Iterable[str]) -> None:
        """Remove tags from a run (bookkeeping a finished run no longer needs); a tag the
        run does not carry is no error."""

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None: ...

    def log_artifact(self, run_id: str, path: Path, artifact_path: str | None = None) -> None: ...

    def end_run(self, run_id: str, status: str = FINISHED) -> None: ...

    def log_dataset(self, run_id: str, dataset: DatasetRecord) -> None:
        """Record the data the run read (MLflow: its dataset input)."""

    def delete_run(self, run_id: str) -> None:
        """Delete a run and its child (fold) runs together."""

    def is_deleted(self, run_id: str) -> bool:
        """Whether the run was deleted (e.g. taken over by another worker) or is unknown."""

    def fold_records(self) -> list[FoldRecord]:
        """Every fold of every FINISHED parent run."""

    def describe(self) -> str:
        """Where runs go, for messages (e.g. the tracking URI)."""
