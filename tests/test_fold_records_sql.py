"""Fold records read by SQL from MLflow's tables equal those of the run-by-run search.

The leaderboard of a large store used to pay one ORM object per run, tag and
metric; ``tracking/sql_read.py`` reads the same three tables directly. This
store holds what the search must leave out (a failed parent, a deleted fold, a
fold of a deleted parent, a run of another experiment, an orphan fold) and a
NaN metric, so that both readers are compared on every rule.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from mer_bench.leaderboard import write_leaderboard
from mer_bench.tracking.base import FAILED, FINISHED, FOLD, RUN
from mer_bench.tracking.mlflow_tracker import MLflowTracker
from mer_bench.tracking.sql_read import sql_engine


def _run(t: MLflowTracker, name: str, status: str, folds: int, seed: int = 0) -> str:
    tags = {"task": "quadrant", "dataset": "synth", "method": name, "features": "mfcc",
            "protocol": "kfold:3", "variant": "", "seed": str(seed), "weights": "real"}
    parent = t.start_run(name, {**tags, "kind": RUN})
    for f in range(folds):
        child = t.start_run(f"fold{f}", {**tags, "kind": FOLD, "fold": f"fold{f}"},
                            parent_id=parent)
        t.log_metrics(child, {"macro_f1": 0.1 * (f + 1) + seed, "recall@5": 0.5})
        t.end_run(child)
    t.end_run(parent, status)
    return parent


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> MLflowTracker:
    root = tmp_path_factory.mktemp("sqlstore")
    t = MLflowTracker(f"sqlite:///{root / 'mlruns.db'}", artifact_root=root)
    _run(t, "svm", FINISHED, 3)
    _run(t, "svm", FINISHED, 3, seed=1)
    _run(t, "broken", FAILED, 2)
    gone = _run(t, "gone", FINISHED, 2)
    t.client.delete_run(gone)  # a deleted parent: its (active) folds are not shown
    kept = _run(t, "mlp", FINISHED, 3)
    children = t._search(f"tags.mlflow.parentRunId = '{kept}'")
    t.client.delete_run(children[0].info.run_id)  # one deleted fold
    t.client.log_metric(children[1].info.run_id, "ccc", math.nan)
    orphan = t.start_run("orphan", {"kind": FOLD, "task": "quadrant"})
    t.end_run(orphan)
    other = MLflowTracker(t.uri, experiment="elsewhere", artifact_root=root)
    _run(other, "foreign", FINISHED, 2)
    return t


def _norm(records: list) -> list:  # type: ignore[type-arg]
    return [(r.run_id, r.parent_run_id, dict(r.tags),
             {k: "nan" if math.isnan(v) else v for k, v in r.metrics.items()}) for r in records]


def test_sql_read_equals_search(store: MLflowTracker) -> None:
    assert sql_engine(store.client) is not None
    by_sql, by_search = store.fold_records(), store._searched_fold_records()
    assert len(by_sql) == 3 + 3 + 2
    assert _norm(by_sql) == _norm(by_search)
    assert any("ccc" in r.metrics and math.isnan(r.metrics["ccc"]) for r in by_sql)


def test_leaderboard_identical_through_either_reader(store: MLflowTracker, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    fast = write_leaderboard(store, tmp_path / "sql")
    monkeypatch.setattr(store, "fold_records", store._searched_fold_records)
    slow = write_leaderboard(store, tmp_path / "search")
    for kind in ("markdown", "csv", "html"):
        assert fast[kind].read_bytes() == slow[kind].read_bytes(), kind


def test_other_stores_fall_back_to_search() -> None:
    class Client:
        _tracking_client = type("T", (), {"store": object()})()

    assert sql_engine(Client()) is None
    assert sql_engine(object()) is None
