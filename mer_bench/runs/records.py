"""What a run leaves in the tracker besides metrics: tags, predictions, config, plots."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mer_bench.data import DatasetAdapter
from mer_bench.errors import MerBenchError
from mer_bench.methods import FoldData
from mer_bench.provenance import provenance_tags
from mer_bench.runs.fingerprint import data_key
from mer_bench.runs.resolving import ResolvedRun
from mer_bench.tasks import STATIC_VA
from mer_bench.tracking.base import (
    DATA_KEY_TAG,
    DATA_SEEN_TAG,
    FINGERPRINT_TAG,
    UNCHECKED_TAG,
    Tracker,
)
from mer_bench.types import Split, Task, stable_hash

if TYPE_CHECKING:
    from mer_bench.runs.preparing import Prepared


def run_tags(
    run: ResolvedRun, adapter: DatasetAdapter, splits: list[Split], dropped: set[str]
) -> dict[str, str]:
    """The tags the leaderboard, paper tables and MLflow views read off a run (and its folds)."""
    tags = {
        "method": run.config["method"],
        "dataset": run.dataset_label,
        "dataset_version": adapter.version,
        "task": run.task.value,
        # what the leaderboard needs of a task whose declaring module it cannot import
        "task_family": run.task.family.value,
        "primary_metric": run.task.primary_metric,
        "features": run.config["features"],
        "protocol": run.config["protocol"],
        "test_dataset": run.transfer_target or run.dataset_label,
        "seed": str(run.spec.seed),
        "split_seed": str(run.split_seed),
        "validation": run.config.get("validation", "separate"),
        "variant": run.variant,
        "config_hash": run.config_hash,
        "spec_keys": run.spec_key,
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


def log_artifacts(
    tracker: Tracker,
    run: ResolvedRun,
    parent: str,
    rows: list[dict[str, Any]],
    dropped: set[str],
    task: Task,
    folder: Path,
    plots: bool = True,
) -> None:
    """The resolved config, every test prediction, the skipped tracks and the plots."""
    import pandas as pd
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / "config.yaml"
    config_path.write_text(
        yaml.safe_dump({"config_hash": run.config_hash, **run.config}, sort_keys=False)
    )
    tracker.log_artifact(parent, config_path)
    predictions = folder / "predictions.parquet"
    pd.DataFrame(rows).to_parquet(predictions, index=False)
    tracker.log_artifact(parent, predictions)
    if dropped:
        skipped = folder / "skipped_tracks.txt"
        skipped.write_text("\n".join(sorted(dropped)) + "\n")
        tracker.log_artifact(parent, skipped)
    if plots:
        for path in _plots(run, rows, task, folder):
            tracker.log_artifact(parent, path, "plots")


def prediction_rows(
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
    if task.kind is STATIC_VA:
        y_true = np.array([json.loads(r["target"]) for r in rows])
        y_pred = np.array([json.loads(r["prediction"]) for r in rows])
        return [plots.va_scatter_png(y_true, y_pred, title, folder / "va_scatter.png")]
    return []


def tag_failure(tracker: Tracker, run_id: str, exc: BaseException, folder: Path) -> None:
    """The one-line reason as a tag and the traceback as an artifact (best effort)."""
    import traceback

    try:
        tracker.set_tags(run_id, {"error": failure_reason(exc)[:5000]})
        path = folder / run_id / "error.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(traceback.format_exception(exc)))
        tracker.log_artifact(run_id, path)
    except Exception:  # the store is what failed: the console still has the reason
        pass


def failure_reason(exc: BaseException) -> str:
    """One line for the console and the run's ``error`` tag: the type and first line."""
    text = str(exc).strip()
    first = text.splitlines()[0].rstrip(":") if text else ""
    if isinstance(exc, MerBenchError):
        return first or type(exc).__name__
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def data_tags(run: ResolvedRun, prep: Prepared) -> dict[str, str]:
    """The run's data identity as tags (parent and folds): fingerprint, data key, when the
    data was seen, and what its labels could not be checked for."""
    tags = {FINGERPRINT_TAG: prep.fingerprint, DATA_KEY_TAG: data_key(run.config),
            DATA_SEEN_TAG: f"{time.time():.3f}"}
    if prep.labels_unchecked:
        tags[UNCHECKED_TAG] = prep.labels_unchecked
    return tags


def run_params(run: ResolvedRun, prep: Prepared) -> dict[str, Any]:
    """The run's MLflow params: method and feature parameters, protocol and sizes."""
    params: dict[str, Any] = {f"method.{k}": v for k, v in run.config["method_params"].items()}
    params.update({f"features.{k}": v for k, v in run.config["feature_params"].items()})
    params.update({
        "protocol": run.config["protocol"],
        "seed": run.spec.seed,
        "n_tracks": len(prep.tracks),
        "n_folds": len(prep.splits),
    })
    return params
