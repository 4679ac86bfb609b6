"""Experiment tracking: the ``Tracker`` protocol, MLflow (default) and in-memory."""

from mer_bench.tracking.base import FoldRecord, RunInfo, Tracker
from mer_bench.tracking.memory import InMemoryTracker

__all__ = ["FoldRecord", "InMemoryTracker", "RunInfo", "Tracker", "make_tracker"]


def make_tracker(uri: str | None = None, experiment: str | None = None) -> Tracker:
    """MLflow tracker at ``uri`` (default ``$MLFLOW_TRACKING_URI`` or sqlite:///mlruns.db);
    ``memory`` gives an in-memory tracker.

    Every command opens its store here, so a store that would lose the runs (an in-memory
    sqlite database) or sits in a missing folder is refused before anything runs.
    """
    from mer_bench.tracking.mlflow_tracker import (
        DEFAULT_EXPERIMENT,
        MLflowTracker,
        resolve_tracking_uri,
    )

    uri = resolve_tracking_uri(uri)
    if uri == "memory":
        return InMemoryTracker()
    check_tracking_uri(uri)
    return MLflowTracker(uri, experiment or DEFAULT_EXPERIMENT)


def check_tracking_uri(uri: str) -> None:
    """Refuse a tracking URI that would lose runs or create a mistyped folder (one line)."""
    from mer_bench.errors import ConfigError
    from mer_bench.tracking.stores import check_sqlite_folder, is_sqlite, sqlite_file

    if is_sqlite(uri) and sqlite_file(uri) is None:
        raise ConfigError(
            f"tracking URI {uri} is an in-memory sqlite database: its runs are lost when "
            "mer-bench exits; give a file (sqlite:///mlruns.db) or --tracking-uri memory "
            "for a throw-away store"
        )
    check_sqlite_folder(uri)
