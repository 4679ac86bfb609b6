"""Runner overhead: the quick plan with ``chance`` only, against MLflow's own logging cost.

The plan runs twice on throw-away stores under a throw-away ``$MER_BENCH_CACHE``:
the first run generates the synthetic dataset and fills the feature cache,
the second (timed) run therefore spends its time on the runner itself (plan
expansion, splits, the trivial method, scoring) and on tracking. The
reference replays every run of that store (same tags, params and metrics,
parent and fold runs) through a plain ``MlflowClient`` loop into another
fresh store: the floor any MLflow-backed runner pays.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from benchmarks.common import Row
from benchmarks.stores import fresh_sqlite

SECTION = "runner"
PLAN = "quick"


def _bench(uri: str, overrides: tuple[str, ...]) -> float:
    """Seconds of ``mer-bench bench quick --set methods=[chance] --no-leaderboard``, in-process."""
    from typer.testing import CliRunner

    from mer_bench.cli import app
    from mer_bench.tracking.mlflow_tracker import MLflowTracker

    MLflowTracker(uri)  # the store and experiment are created outside the clock
    sets = [a for o in ("methods=[chance]", *overrides) for a in ("--set", o)]
    start = time.perf_counter()
    result = CliRunner().invoke(app, ["bench", PLAN, *sets, "--tracking-uri", uri,
                                      "--no-leaderboard"])
    seconds = time.perf_counter() - start
    if result.exit_code != 0:
        raise RuntimeError(f"bench {PLAN} failed: {result.output[-2000:]}") from result.exception
    return seconds


def _recorded(uri: str) -> list[Any]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("mer-bench")
    return client.search_runs([exp.experiment_id], max_results=50_000)


def _replay(runs: list[Any], uri: str) -> float:
    """Seconds for a plain MlflowClient to log the same runs, params and metrics."""
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    exp = client.create_experiment("replay")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    start = time.perf_counter()
    new_id: dict[str, str] = {}
    now = int(time.time() * 1000)
    for run in parents + children:
        tags = dict(run.data.tags)
        if "mlflow.parentRunId" in tags:
            tags["mlflow.parentRunId"] = new_id[tags["mlflow.parentRunId"]]
        rid = client.create_run(exp, tags=tags).info.run_id
        new_id[run.info.run_id] = rid
        client.log_batch(rid, params=[Param(k, v) for k, v in run.data.params.items()],
                         metrics=[Metric(k, v, now, 0) for k, v in run.data.metrics.items()])
        client.log_batch(rid, tags=[RunTag("kind", tags.get("kind", ""))])
        client.set_terminated(rid, "FINISHED")
    return time.perf_counter() - start


def run(tmp: Path, overrides: tuple[str, ...] = (), warm: bool = True) -> list[Row]:
    """Rows: runner ms per run and per fold, each against the plain MLflow replay.
    ``overrides`` (``--set`` values) shrink the plan and ``warm=False`` skips the untimed
    first run, for the smoke test (whose timed run then includes feature extraction)."""
    old_cache = os.environ.get("MER_BENCH_CACHE")
    os.environ["MER_BENCH_CACHE"] = str(tmp / "cache")
    try:
        if warm:  # dataset and feature cache, not timed
            _bench(fresh_sqlite(tmp / "warm.db"), overrides)
        uri = fresh_sqlite(tmp / "runner.db")
        seconds = _bench(uri, overrides)
    finally:
        if old_cache is None:
            os.environ.pop("MER_BENCH_CACHE", None)
        else:
            os.environ["MER_BENCH_CACHE"] = old_cache
    runs = _recorded(uri)
    replay = _replay(runs, fresh_sqlite(tmp / "replay.db"))
    n_parent = sum("mlflow.parentRunId" not in r.data.tags for r in runs)
    n_fold = len(runs) - n_parent
    extra = {"parent_runs": n_parent, "fold_runs": n_fold,
             "params": sum(len(r.data.params) for r in runs),
             "metrics": sum(len(r.data.metrics) for r in runs),
             "tags": sum(len(r.data.tags) for r in runs),
             "runner_s": seconds, "mlflow_replay_s": replay}
    ref = "plain MlflowClient, same runs/params/metrics"
    return [
        Row(SECTION, "quick plan, chance: per run", 1000 * seconds / n_parent, "ms/run",
            1000 * replay / n_parent, ref, extra=extra),
        Row(SECTION, "quick plan, chance: per fold", 1000 * seconds / n_fold, "ms/fold",
            1000 * replay / n_fold, ref, extra=extra),
    ]
