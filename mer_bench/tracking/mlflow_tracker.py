"""The default tracker: MLflow, through ``MlflowClient`` (never the global fluent state).

Default store ``sqlite:///mlruns.db`` with artifacts in ``./mlartifacts`` (MLflow
3 refuses a plain ``./mlruns`` file store); ``MLFLOW_TRACKING_URI`` or
``--tracking-uri`` point it anywhere else, e.g. a shared MLflow server.

MLflow's HTTP client retries a failed request 7 times with a doubling backoff
and waits 120 s for each answer: a server that is down was reported after about
four minutes. Unless the user set them, our client retries less, and a server's
port is tried once, briefly, before the store is opened.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Mapping, MutableMapping
from pathlib import Path
from typing import Any

from mer_bench.errors import TrackingError
from mer_bench.tracking.base import FINISHED, FOLD, RUN, DatasetRecord, FoldRecord, RunInfo
from mer_bench.tracking.metric_names import metric_key, metric_name
from mer_bench.tracking.stores import open_store

DEFAULT_URI = "sqlite:///mlruns.db"
DEFAULT_EXPERIMENT = "mer-bench"
SOURCE_TAGS = {"mlflow.source.name": "mer-bench", "mlflow.source.type": "LOCAL"}
_PAGE = 5000

HTTP_SETTINGS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": 3,
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": 1,
    "MLFLOW_HTTP_REQUEST_TIMEOUT": 30,
}
"""MLflow's HTTP settings for our client, unless set in the environment: 3 retries 1, 2
and 4 s apart ride out a restarting server; 30 s answers every request MLflow makes
for a run (its defaults, 7 retries and 120 s, took minutes to report a server down)."""
CONNECT_TIMEOUT_S = 5.0
"""Seconds to reach a tracking server's port when the tracker opens: a host that does
not answer within that is reported at once rather than after every retry."""


def resolve_tracking_uri(uri: str | None = None) -> str:
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI


def http_settings(environ: MutableMapping[str, str] = os.environ) -> None:
    """Set ``HTTP_SETTINGS`` in ``environ`` where the user has not chosen a value."""
    for name, value in HTTP_SETTINGS.items():
        environ.setdefault(name, str(value))


def check_reachable(uri: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Refuse an ``http(s)://`` server whose port does not answer, in one line.

    Skipped where a proxy carries the requests: only the proxy knows the way there.
    """
    import socket
    import urllib.parse
    import urllib.request

    url = urllib.parse.urlsplit(uri)
    if url.scheme not in ("http", "https") or not url.hostname:
        return
    proxies = urllib.request.getproxies()
    if url.scheme in proxies and not urllib.request.proxy_bypass(url.hostname):
        return
    try:
        port = url.port or (443 if url.scheme == "https" else 80)
        with socket.create_connection((url.hostname, port), timeout=timeout_s):
            pass
    except (OSError, ValueError) as exc:
        reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc) or "no answer"
        raise TrackingError(
            f"cannot reach the MLflow tracking server {uri}: {reason}; start it, or point "
            "--tracking-uri (or MLFLOW_TRACKING_URI) at a running one"
        ) from None


class MLflowTracker:
    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment: str = DEFAULT_EXPERIMENT,
        artifact_root: Path | None = None,
    ) -> None:
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        os.environ.setdefault(
            "MLFLOW_DISABLE_TELEMETRY", "true"
        )  # offline machines: no phoning home
        http_settings()
        self.uri = resolve_tracking_uri(tracking_uri)
        check_reachable(self.uri)  # before importing mlflow: a wrong URI is told at once
        from mlflow.tracking import MlflowClient

        try:  # several workers may be creating a new store's schema at once
            open_store(self.uri, lambda: self._open(MlflowClient, experiment, artifact_root))
        except Exception as exc:  # mlflow raises many types for unreachable stores
            first = next(iter(str(exc).splitlines()), type(exc).__name__)
            raise TrackingError(f"cannot use MLflow tracking store {self.uri}: {first}") from exc

    def _open(self, client_cls: Any, experiment: str, artifact_root: Path | None) -> None:
        """Create the client (which migrates a new store's schema) and the experiment."""
        self.client = client_cls(tracking_uri=self.uri)
        found = self.client.get_experiment_by_name(experiment)
        if found is None:
            location = None
            if not self.uri.startswith(("http://", "https://", "databricks")):
                location = (artifact_root or Path.cwd() / "mlartifacts").resolve().as_uri()
            self.experiment_id = self.client.create_experiment(
                experiment, artifact_location=location
            )
        else:
            if found.lifecycle_stage == "deleted":
                self.client.restore_experiment(found.experiment_id)
            self.experiment_id = found.experiment_id
        self._describe_experiment({} if found is None else dict(found.tags))

    def _describe_experiment(self, tags: Mapping[str, str]) -> None:
        """Mark the experiment as model training and give it its description and runs
        view where it has none (``experiment``)."""
        from mer_bench.tracking.experiment import experiment_tags

        for key, value in experiment_tags(tags).items():
            self.client.set_experiment_tag(self.experiment_id, key, value)

    def describe(self) -> str:
        return self.uri

    def _search(self, filter_string: str) -> list[Any]:
        runs: list[Any] = []
        token = None
        while True:
            page = self.client.search_runs(
                [self.experiment_id],
                filter_string=filter_string,
                max_results=_PAGE,
                page_token=token,
            )
            runs.extend(page)
            token = page.token
            if not token:
                return runs

    def find_runs(self, config_hash: str) -> list[RunInfo]:
        found = self._search(f"tags.kind = '{RUN}' and tags.config_hash = '{config_hash}'")
        return [RunInfo(r.info.run_id, r.info.status, dict(r.data.tags)) for r in found]

    def find_tagged(self, tags: Mapping[str, str]) -> list[RunInfo]:
        if any("'" in str(v) for v in tags.values()):
            raise TrackingError(f"tag values with quotes cannot be searched: {dict(tags)}")
        found = self._search(" and ".join(f"tags.`{k}` = '{v}'" for k, v in tags.items()))
        return [RunInfo(r.info.run_id, r.info.status, dict(r.data.tags)) for r in found]

    def start_run(
        self,
        name: str,
        tags: Mapping[str, str],
        params: Mapping[str, Any] | None = None,
        parent_id: str | None = None,
    ) -> str:
        all_tags = {**SOURCE_TAGS, **{k: str(v) for k, v in tags.items()}}
        if parent_id:
            all_tags["mlflow.parentRunId"] = parent_id
        run = self.client.create_run(self.experiment_id, tags=all_tags, run_name=name)
        if params:
            self.log_params(run.info.run_id, params)
        return run.info.run_id

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        batch = [Param(k, str(v)[:6000]) for k, v in sorted(params.items())]
        for i in range(0, len(batch), 100):
            self.client.log_batch(run_id, params=batch[i : i + 100])

    def log_metrics(
        self, run_id: str, metrics: Mapping[str, float], step: int | None = None
    ) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [
            Metric(metric_key(k), float(v), now, step or 0)
            for k, v in metrics.items()
            if v is not None and not math.isnan(float(v))
        ]
        for i in range(0, len(batch), 1000):
            self.client.log_batch(run_id, metrics=batch[i : i + 1000])

    def set_tags(self, run_id: str, tags: Mapping[str, str], with_folds: bool = False) -> None:
        from mlflow.entities import RunTag

        batch = [RunTag(k, str(v)) for k, v in tags.items()]
        for rid in [run_id, *(self._children(run_id) if with_folds else [])]:
            self.client.log_batch(rid, tags=batch)

    def delete_tags(self, run_id: str, keys: Iterable[str]) -> None:
        from mlflow.exceptions import MlflowException

        present = self.client.get_run(run_id).data.tags
        for key in keys:
            if key in present:
                try:
                    self.client.delete_tag(run_id, key)
                except MlflowException:  # deleted meanwhile by another call: the same end
                    if key in self.client.get_run(run_id).data.tags:
                        raise

    def _children(self, run_id: str) -> list[str]:
        return [r.info.run_id for r in self._search(f"tags.mlflow.parentRunId = '{run_id}'")]

    def log_artifact(self, run_id: str, path: Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(run_id, str(path), artifact_path)

    def end_run(self, run_id: str, status: str = FINISHED) -> None:
        self.client.set_terminated(run_id, status)

    def log_dataset(self, run_id: str, dataset: DatasetRecord) -> None:
        """An MLflow dataset input, so the UI's Dataset column names what the run read."""
        import json

        from mlflow.entities import Dataset, DatasetInput, InputTag

        entity = Dataset(
            name=f"{dataset.name}@{dataset.version}",
            digest=dataset.digest,
            source_type="local",
            source=json.dumps({"uri": dataset.source}),
            profile=json.dumps({"num_rows": dataset.n_tracks, "num_tracks": dataset.n_tracks,
                                "dataset_tracks": dataset.n_total,
                                "version": dataset.version}),
        )
        tags = [InputTag("mlflow.data.context", "eval")]
        self.client.log_inputs(run_id, datasets=[DatasetInput(entity, tags)])

    def is_deleted(self, run_id: str) -> bool:
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_run(run_id).info.lifecycle_stage == "deleted"
        except MlflowException:  # no such run
            return True

    def delete_run(self, run_id: str) -> None:
        """Soft-delete the run and its fold runs (a parent must not leave active children).
        A run another worker deleted meanwhile is already gone: not an error."""
        from mlflow.exceptions import MlflowException

        for rid in [*self._children(run_id), run_id]:
            try:
                self.client.delete_run(rid)
            except MlflowException:
                if self.client.get_run(rid).info.lifecycle_stage != "deleted":
                    raise

    def fold_records(self) -> list[FoldRecord]:
        """Every fold of every FINISHED parent: three SQL queries on an SQLAlchemy store,
        otherwise two paged searches (see ``sql_read``)."""
        from mer_bench.tracking.sql_read import read_fold_records, sql_engine

        engine = sql_engine(self.client)
        if engine is not None:
            return read_fold_records(engine, self.experiment_id)
        return self._searched_fold_records()

    def _searched_fold_records(self) -> list[FoldRecord]:
        parents = {
            r.info.run_id
            for r in self._search(f"tags.kind = '{RUN}' and attributes.status = '{FINISHED}'")
        }
        records = []
        for r in self._search(f"tags.kind = '{FOLD}'"):
            parent = r.data.tags.get("mlflow.parentRunId", "")
            if parent in parents:
                records.append(
                    FoldRecord(r.info.run_id, parent, dict(r.data.tags),
                               {metric_name(k): v for k, v in r.data.metrics.items()})
                )
        return records
