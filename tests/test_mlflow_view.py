"""What MLflow shows for mer-bench runs: a model-training experiment, the dataset input,
the source tag and each fold's parameters; read back through the client and the REST API."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from mer_bench.config import BenchPlan
from mer_bench.runs import Runner, expand
from mer_bench.tracking import make_tracker

PLAN = {"name": "view", "datasets": ["synth-small"], "tasks": ["quadrant"],
        "features": ["mfcc"], "methods": ["linear"], "protocol": "kfold:2"}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlruns.db'}"
    tracker = make_tracker(uri)
    runs, _ = expand(BenchPlan.from_dict(PLAN))
    outcomes = Runner(tracker).run_all(runs)
    assert [o.status for o in outcomes] == ["finished"]
    return uri


def _check(experiment: dict, parent: dict, folds: list[dict]) -> None:
    tags = {t["key"]: t["value"] for t in experiment.get("tags", [])}
    assert tags.get("mlflow.experimentKind") == "custom_model_development"
    note = tags.get("mlflow.note.content", "")  # the description on the experiment's page
    for word in ("kind=run", "kind=fold", "kind=sweep", "config_hash", "data_fingerprint",
                 "variant", "leaderboard"):
        assert word in note, word
    view = json.loads(tags["mlflow.sharedViewState.mer-bench-runs"])
    assert "metrics.`macro_f1`" in view["selectedColumns"]
    ptags = {t["key"]: t["value"] for t in parent["data"]["tags"]}
    assert not [k for k in ptags if k.startswith("lease_")]  # finished: no lease bookkeeping
    assert ptags["data_seen"]  # what dates its data instead of lease_started
    assert ptags["mlflow.source.name"] == "mer-bench"
    assert ptags["tracks_used"] == "48" and ptags["tracks_total"] == "48"
    inputs = parent["inputs"]["dataset_inputs"]
    assert len(inputs) == 1
    dataset = inputs[0]["dataset"]
    assert dataset["name"] == "synth-small@1" and len(dataset["digest"]) == 12
    profile = json.loads(dataset["profile"])
    assert profile["num_tracks"] == 48 and profile["version"] == "1"
    assert len(folds) == 2
    for fold in folds:
        params = {p["key"]: p["value"] for p in fold["data"]["params"]}
        assert params["method.C"] == "1.0" and params["protocol"] == "kfold:2"
        assert params["fold"] in ("fold1", "fold2", "fold0")


def _as_dict(run) -> dict:
    """A client Run in the REST API's JSON shape."""
    from google.protobuf.json_format import MessageToDict

    return MessageToDict(run.to_proto(), preserving_proto_field_name=True)


def test_client_reads_experiment_kind_dataset_source_and_fold_params(store):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=store)
    exp = client.get_experiment_by_name("mer-bench")
    runs = client.search_runs([exp.experiment_id])
    parent = next(r for r in runs if r.data.tags.get("kind") == "run")
    folds = [r for r in runs if r.data.tags.get("kind") == "fold"]
    experiment = {"tags": [{"key": k, "value": v} for k, v in exp.tags.items()]}
    _check(experiment, _as_dict(parent), [_as_dict(f) for f in folds])


def test_the_runs_url_opens_the_model_training_runs_with_the_metric_view(store):
    """The share key in the URL names the experiment's view tag (the browser test shows
    the page it opens)."""
    import urllib.parse

    from mer_bench.tracking.experiment import runs_url

    tracker = make_tracker(store)
    url = runs_url("http://127.0.0.1:5000/", tracker.experiment_id)
    route, _, query = url.partition("?")
    assert route == f"http://127.0.0.1:5000/#/experiments/{tracker.experiment_id}/runs"
    params = dict(urllib.parse.parse_qsl(query))
    assert params["workflowType"] == "machine_learning"
    tags = tracker.client.get_experiment(tracker.experiment_id).tags
    assert f"mlflow.sharedViewState.{params['viewStateShareKey']}" in tags


def test_the_ui_view_shows_the_metrics_the_store_holds(store):
    """A store of quadrant runs shows macro_f1, not the empty r2 and mrr columns."""
    from mer_bench.tracking.experiment import VIEW_TAG
    from mer_bench.tracking.ui import page_url

    page_url(store, "127.0.0.1", 5000)
    tracker = make_tracker(store)
    view = json.loads(tracker.client.get_experiment(tracker.experiment_id).tags[VIEW_TAG])
    metrics = [c for c in view["selectedColumns"] if c.startswith("metrics.")]
    assert metrics == ["metrics.`macro_f1`"]


def test_a_description_written_in_the_ui_stays(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    tracker = make_tracker(uri)
    tracker.client.set_experiment_tag(tracker.experiment_id, "mlflow.note.content", "mine")
    again = make_tracker(uri)
    assert again.client.get_experiment(again.experiment_id).tags["mlflow.note.content"] == "mine"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _call(base: str, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_rest_api_of_a_real_server(store, tmp_path):
    port = _free_port()
    mlflow = Path(sys.executable).with_name("mlflow")
    server = subprocess.Popen(
        [str(mlflow), "server", "--backend-store-uri", store, "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "server.log").open("w"))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(base + "/health", timeout=2)
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
                assert time.monotonic() < deadline, "mlflow server did not start"
                time.sleep(0.5)
        by_name = "/api/2.0/mlflow/experiments/get-by-name?experiment_name=mer-bench"
        experiment = _call(base, by_name)["experiment"]
        runs = _call(base, "/api/2.0/mlflow/runs/search",
                     {"experiment_ids": [experiment["experiment_id"]]})["runs"]

        def kind(run: dict) -> str:
            return {t["key"]: t["value"] for t in run["data"]["tags"]}.get("kind", "")

        parent = next(r for r in runs if kind(r) == "run")
        folds = [r for r in runs if kind(r) == "fold"]
        _check(experiment, parent, folds)
    finally:
        server.terminate()
        server.wait(timeout=30)
