"""What the MLflow experiment says about itself, and the URL that opens it on the runs.

MLflow 3's UI opens an experiment on its GenAI overview (traces, evaluations) unless
the URL asks for the model-training workflow (``workflowType=machine_learning``; the
sidebar's toggle, remembered per browser, otherwise). Its runs table shows no metric
column until one is chosen; a *shared view* (an experiment tag
``mlflow.sharedViewState.<key>`` read when the URL carries ``viewStateShareKey=<key>``)
chooses them. ``runs_url`` combines both, so the documented way in lands on the runs
with each task's primary metric beside them.
"""

from __future__ import annotations

import json
import urllib.parse

from mer_bench.types import TaskKind

# MLflow 3 opens an experiment on its GenAI overview unless it is marked as model training
KIND_TAG, KIND = "mlflow.experimentKind", "custom_model_development"
NOTE_TAG = "mlflow.note.content"  # the experiment's description on its page
VIEW_KEY = "mer-bench-runs"
VIEW_TAG = f"mlflow.sharedViewState.{VIEW_KEY}"
ROW_TAGS = ("dataset", "task", "method", "features", "variant")

NOTE = """\
**mer-bench**: music emotion recognition benchmark runs.

* A **bench run** (`kind=run`) is one method on one dataset, task, feature set, \
protocol and seed; its metrics are the mean over folds, and each fold is a child \
run (`kind=fold`) holding that fold's test metrics.
* A **sweep** (`kind=sweep`) is an Optuna study; its trials (`kind=trial`) are child \
runs scored on validation folds. A pruned trial is FINISHED with `pruned=true`.
* Tags: `config_hash` names the exact configuration (equal hashes, same run), \
`data_fingerprint` the data it read (the same config on changed data differs here), \
`variant` a named variation of a method (empty for its defaults).
* The leaderboard is built from the FINISHED bench runs by `mer-bench bench` and \
`mer-bench leaderboard`: `leaderboard/index.html`, `README.md` and `leaderboard.csv`.
"""


def primary_metrics() -> list[str]:
    """Each task's primary metric once, in task order: the columns a researcher ranks by."""
    return list(dict.fromkeys(kind.primary_metric for kind in TaskKind))


def runs_view() -> dict[str, object]:
    """The shared view: newest runs first, primary metrics, the tags naming a row."""
    columns = [f"metrics.`{name}`" for name in primary_metrics()]
    columns += [f"tags.`{name}`" for name in ROW_TAGS]
    columns.append("attributes.`Dataset`")
    return {"orderByKey": "attributes.start_time", "orderByAsc": False,
            "selectedColumns": columns}


def experiment_tags() -> dict[str, str]:
    """The tags every opening of the store keeps current (the note is set only when
    missing, so a description edited in the UI stays)."""
    return {KIND_TAG: KIND, VIEW_TAG: json.dumps(runs_view(), sort_keys=True)}


def runs_url(server: str, experiment_id: str) -> str:
    """The UI page of the experiment's runs table in the model-training workflow, with
    the primary-metric columns of ``runs_view`` (``server`` e.g. http://127.0.0.1:5000)."""
    query = urllib.parse.urlencode({"workflowType": "machine_learning",
                                    "viewStateShareKey": VIEW_KEY})
    return f"{server.rstrip('/')}/#/experiments/{experiment_id}/runs?{query}"
