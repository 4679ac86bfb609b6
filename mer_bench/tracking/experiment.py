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
from collections.abc import Iterable, Mapping, Sequence

from mer_bench.types import Family, TaskKind

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
    """Each family's primary metric once (family order), then any other primary metric a
    declared task names: the columns a researcher ranks by."""
    metrics = [family.default_primary_metric for family in Family]
    return list(dict.fromkeys(metrics + [kind.primary_metric for kind in TaskKind.all()]))


def view_metrics(present: Iterable[str]) -> list[str]:
    """The metric columns for a store holding ``present`` metric keys: each primary
    metric its bench runs report, then each validation objective its sweeps report; all
    primary metrics when it holds none yet."""
    present = set(present)
    tests = [m for m in primary_metrics() if m in present]
    sweeps = [f"val_{m}" for m in primary_metrics() if f"val_{m}" in present]
    return tests + sweeps or primary_metrics()


def runs_view(metrics: Sequence[str] | None = None) -> dict[str, object]:
    """The shared view: newest runs first, the metric columns (default: every task's
    primary metric) and the tags naming a row."""
    columns = [f"metrics.`{name}`" for name in (metrics or primary_metrics())]
    columns += [f"tags.`{name}`" for name in ROW_TAGS]
    columns.append("attributes.`Dataset`")
    return {"orderByKey": "attributes.start_time", "orderByAsc": False,
            "selectedColumns": columns}


def experiment_tags(present: Mapping[str, str]) -> dict[str, str]:
    """The tags to set on an experiment that carries ``present``: its kind always; the
    note and the view only when missing (a description edited in the UI stays; the
    view, naming every primary metric, is narrowed by ``make mlflow-ui`` to those the
    store holds, and a later opening must not widen it again)."""
    wanted = {KIND_TAG: KIND}
    wanted.update({key: value for key, value in ((NOTE_TAG, NOTE), (VIEW_TAG, view_tag()))
                   if not present.get(key)})
    return {key: value for key, value in wanted.items() if present.get(key) != value}


def view_tag(metrics: Sequence[str] | None = None) -> str:
    """The value of ``VIEW_TAG``."""
    return json.dumps(runs_view(metrics), sort_keys=True)


def runs_url(server: str, experiment_id: str) -> str:
    """The UI page of the experiment's runs table in the model-training workflow, with
    the primary-metric columns of ``runs_view`` (``server`` e.g. http://127.0.0.1:5000)."""
    query = urllib.parse.urlencode({"workflowType": "machine_learning",
                                    "viewStateShareKey": VIEW_KEY})
    return f"{server.rstrip('/')}/#/experiments/{experiment_id}/runs?{query}"
