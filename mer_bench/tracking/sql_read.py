"""Fold records straight from an MLflow SQL store: three queries instead of a run-by-run read.

``MlflowClient.search_runs`` builds an ORM object per run, tag and metric and
loads them in pages; at 100,000 fold runs that takes minutes, and every
leaderboard build pays it. When the tracking store is MLflow's SQLAlchemy
store (sqlite, PostgreSQL, MySQL, ...) the same data comes from three plain
SELECTs on MLflow's own tables (``runs``, ``tags``, ``latest_metrics``), built
with SQLAlchemy Core from MLflow's table definitions so that quoting and
dialects stay MLflow's business.

It returns exactly what the search path returns: active fold runs
(``tags.kind = 'fold'``) of the experiment whose parent is an active FINISHED
``kind=run`` run, each with all its tags and its latest metric values (NaN
where MLflow flags one), in MLflow's default order (newest first, then run
id). Any other store (a REST server, Databricks) gets ``None`` and the caller
falls back to the search.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from mer_bench.tracking.base import FINISHED, FOLD, RUN, FoldRecord
from mer_bench.tracking.metric_names import metric_name

PARENT_TAG = "mlflow.parentRunId"


def sql_engine(client: Any) -> Any | None:
    """The SQLAlchemy engine behind an ``MlflowClient``, or None for other stores."""
    store = getattr(getattr(client, "_tracking_client", None), "store", None)
    if store is None or type(store).__name__ != "SqlAlchemyStore":
        return None
    return getattr(store, "engine", None)


def _raw_rows(result: Any) -> list[tuple[Any, ...]]:
    """All rows as the database driver's tuples: millions of tag rows would otherwise each
    become a SQLAlchemy ``Row`` (strings, floats and 0/1 need no conversion here)."""
    cursor = getattr(result, "cursor", None)
    if cursor is None:  # pragma: no cover - every DBAPI result has one
        return [tuple(r) for r in result]
    try:
        return cursor.fetchall()
    finally:
        result.close()


def read_fold_records(engine: Any, experiment_id: str) -> list[FoldRecord]:
    """Every fold of every FINISHED parent run of the experiment (see the module docstring)."""
    import sqlalchemy as sa
    from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlRun, SqlTag

    runs, tags, metrics = SqlRun.__table__, SqlTag.__table__, SqlLatestMetric.__table__
    kind = tags.alias("kind")
    parent = tags.alias("parent")
    parent_kind = tags.alias("parent_kind")
    parent_run = runs.alias("parent_run")
    folds = (
        sa.select(runs.c.run_uuid)
        .join(kind, sa.and_(kind.c.run_uuid == runs.c.run_uuid, kind.c.key == "kind",
                            kind.c.value == FOLD))
        .join(parent, sa.and_(parent.c.run_uuid == runs.c.run_uuid,
                              parent.c.key == PARENT_TAG))
        .join(parent_run, parent_run.c.run_uuid == parent.c.value)
        .join(parent_kind, sa.and_(parent_kind.c.run_uuid == parent_run.c.run_uuid,
                                   parent_kind.c.key == "kind", parent_kind.c.value == RUN))
        .where(runs.c.experiment_id == int(experiment_id),
               runs.c.lifecycle_stage == "active",
               parent_run.c.experiment_id == int(experiment_id),
               parent_run.c.lifecycle_stage == "active",
               parent_run.c.status == FINISHED)
    )
    fold_ids = folds.subquery("folds")
    with engine.connect() as con:
        order = con.execute(folds.add_columns(runs.c.start_time)
                            .order_by(runs.c.start_time.desc(), runs.c.run_uuid)).all()
        run_tags: dict[str, dict[str, str]] = defaultdict(dict)
        for run_id, key, value in _raw_rows(con.execute(
            sa.select(tags.c.run_uuid, tags.c.key, tags.c.value)
            .join(fold_ids, fold_ids.c.run_uuid == tags.c.run_uuid)
        )):
            run_tags[run_id][key] = value
        run_metrics: dict[str, dict[str, float]] = defaultdict(dict)
        for run_id, key, value, is_nan in _raw_rows(con.execute(
            sa.select(metrics.c.run_uuid, metrics.c.key, metrics.c.value, metrics.c.is_nan)
            .join(fold_ids, fold_ids.c.run_uuid == metrics.c.run_uuid)
        )):
            run_metrics[run_id][metric_name(key)] = float("nan") if is_nan else float(value)
    return [
        FoldRecord(run_id, run_tags[run_id][PARENT_TAG], run_tags[run_id], run_metrics[run_id])
        for run_id, _ in order
    ]
