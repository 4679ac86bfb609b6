"""A throw-away MLflow sqlite store holding N synthetic fold records, written fast.

Logging 100,000 fold runs through MLflow's API takes hours (each run is
several requests and commits), so this fixture takes a migrated empty store
(``stores.fresh_sqlite``), creates the experiment through ``MLflowTracker``
and then inserts rows straight into MLflow's tables (``runs``, ``tags``,
``latest_metrics``, ``metrics``) in a few bulk transactions. The rows look
like the runner's: one FINISHED parent run (``kind=run``) per (row, seed)
and one child (``kind=fold``) per fold, with the runner's tags and metric
keys (``@`` stored as ``_at_``). Reading them back is left to the code under
test.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from benchmarks.stores import fresh_sqlite
from mer_bench.tracking.mlflow_tracker import DEFAULT_EXPERIMENT, MLflowTracker

FOLDS, SEEDS = 5, 4  # records per leaderboard row: FOLDS * SEEDS
TASKS = {  # task -> (datasets, metric keys as MLflow stores them)
    "quadrant": (("4q", "synth"), ("macro_f1", "accuracy", "f1_Q1", "f1_Q2")),
    "static_va": (("pmemo", "deam"), ("r2", "r2_valence", "r2_arousal", "ccc", "rmse")),
    "m2e_e2m_retrieval": (("deam",), ("mrr", "m2e_mrr", "e2m_mrr", "m2e_recall_at_5")),
}
METHODS = ("svm", "ridge", "mlp", "chance")
FEATURES = ("mfcc", "logmel", "vggish")


def _row_keys() -> Iterator[tuple[str, str, str, str, str]]:
    """(task, dataset, method, features, variant) of row after row, variants numbered on."""
    variant = 0
    while True:
        for task, (datasets, _) in TASKS.items():
            for dataset in datasets:
                for method in METHODS:
                    for features in FEATURES:
                        yield task, dataset, method, features, f"alpha={variant}"
        variant += 1


def _tags(run_id: str, base: dict[str, str]) -> list[tuple[str, str, str]]:
    return [(k, v, run_id) for k, v in base.items()]


def populate(uri_path: Path, n_records: int, seed: int = 0) -> str:
    """Create ``sqlite:///uri_path`` with ``n_records`` fold runs; returns the URI."""
    uri = fresh_sqlite(uri_path)
    tracker = MLflowTracker(uri, experiment=DEFAULT_EXPERIMENT, artifact_root=uri_path.parent)
    exp = int(tracker.experiment_id)
    del tracker
    rng = np.random.default_rng(seed)
    now = int(time.time() * 1000)
    runs: list[tuple] = []
    tags: list[tuple[str, str, str]] = []
    latest: list[tuple] = []
    keys = _row_keys()
    written = 0
    while written < n_records:
        task, dataset, method, features, variant = next(keys)
        metric_keys = TASKS[task][1]
        for s in range(SEEDS):
            if written >= n_records:
                break
            common = {"task": task, "dataset": dataset, "method": method, "features": features,
                      "protocol": "kfold:5", "variant": variant, "seed": str(s),
                      "weights": "none" if method == "chance" else "real",
                      "config_hash": uuid.uuid4().hex[:16], "git_sha": "0123456789ab",
                      "git_dirty": "false", "dataset_version": "1.0",
                      "mer_bench_version": "0.1.0", "tracks_used": "240",
                      "tracks_total": "240", "mlflow.source.name": "mer-bench",
                      "mlflow.source.type": "LOCAL"}
            parent = uuid.uuid4().hex
            runs.append((parent, f"{method}-{s}", exp, now))
            tags += _tags(parent, {**common, "kind": "run", "mlflow.runName": f"{method}-{s}"})
            for f in range(min(FOLDS, n_records - written)):
                child = uuid.uuid4().hex
                runs.append((child, f"fold{f}", exp, now))
                tags += _tags(child, {**common, "kind": "fold", "fold": f"fold{f}",
                                      "fold_split_hash": f"h{s}{f}",
                                      "mlflow.parentRunId": parent,
                                      "mlflow.runName": f"fold{f}"})
                values = rng.uniform(0.1, 0.9, len(metric_keys))
                latest += [(k, float(v), now, 0, 0, child) for k, v in zip(metric_keys, values)]
                written += 1
    _insert(uri_path, runs, tags, latest)
    return uri


def _insert(path: Path, runs: list[tuple], tags: list[tuple], latest: list[tuple]) -> None:
    """One transaction per table; ``metrics`` gets the same rows as ``latest_metrics``."""
    con = sqlite3.connect(path)
    try:
        with con:
            con.executemany(
                "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name,"
                " user_id, status, start_time, end_time, source_version, lifecycle_stage,"
                " artifact_uri, experiment_id) VALUES (?, ?, 'LOCAL', 'mer-bench', '', 'bench',"
                " 'FINISHED', ?4, ?4, '', 'active', '', ?3)",
                runs)
            con.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)", tags)
            con.executemany(
                "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid)"
                " VALUES (?, ?, ?, ?, ?, ?)", latest)
            con.executemany(
                "INSERT INTO metrics (key, value, timestamp, step, is_nan, run_uuid)"
                " VALUES (?, ?, ?, ?, ?, ?)", latest)
    finally:
        con.close()
