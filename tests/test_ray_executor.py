"""``--executor ray`` against the in-process loop, on real local Ray clusters (make test-ray).

A bench whose folds run as Ray tasks must log the same runs and give the same
leaderboard, byte for byte, as the in-process loop; and when a Ray node dies in
the middle of a plan, its folds are re-run elsewhere, each fold finishing once.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'mer-bench[ray]')")

from mer_bench.config import BenchPlan  # noqa: E402
from mer_bench.leaderboard import write_leaderboard  # noqa: E402
from mer_bench.runs import Runner, RunnerSettings, expand  # noqa: E402
from mer_bench.runs.executors import ExecutorSettings  # noqa: E402
from mer_bench.tracking import InMemoryTracker  # noqa: E402
from mer_bench.tracking.base import FINISHED, FOLD  # noqa: E402

pytestmark = [pytest.mark.ray, pytest.mark.timeout(600)]

# two runs of five folds; the MLP's folds take long enough to be killed mid-fit
PLAN = {
    "name": "ray-check",
    "datasets": ["synth"],
    "tasks": ["quadrant"],
    "features": ["mfcc"],
    "methods": [
        "linear",
        {"name": "embedding-classifiers",
         "params": {"classifier": "mlp", "max_epochs": 60, "patience": 60, "mlp_hidden": 64}},
    ],
    "protocol": "kfold:5",
    "seeds": [0],
}


def _bench(tmp: Path, executor: ExecutorSettings, report=None) -> tuple[InMemoryTracker, str]:
    """Run the plan with ``executor``; the tracker and the leaderboard CSV's text."""
    runs, _ = expand(BenchPlan.from_dict(PLAN))
    tracker = InMemoryTracker()
    settings = RunnerSettings(progress=False, plots=False, work_dir=tmp / "work",
                              executor=executor)
    runner = Runner(tracker, settings, report=report)
    try:
        outcomes = runner.run_all(runs)
    finally:
        runner.close()
    assert [o.status for o in outcomes] == ["finished"] * len(runs), outcomes
    paths = write_leaderboard(tracker, tmp / "board")
    return tracker, Path(paths["csv"]).read_text()


def _folds(tracker: InMemoryTracker) -> list:
    """Every fold run the tracker holds (deleted ones included: a duplicate would show)."""
    return [r for r in tracker.runs.values() if r.tags.get("kind") == FOLD]


@pytest.fixture(scope="module")
def in_process(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("local")
    _bench(tmp, ExecutorSettings())  # the features cached: both timings below fit only
    start = time.perf_counter()
    tracker, csv = _bench(tmp, ExecutorSettings())
    return tracker, csv, time.perf_counter() - start


def test_ray_folds_give_the_in_process_leaderboard_byte_for_byte(in_process, tmp_path):
    """And measure: the speed-up of Ray over the in-process loop on these cores, and the
    engine's overhead per fold (slot time not spent fitting, scoring or predicting)."""
    from mer_bench.runs.ray_executor import RayExecutor

    _, expected, local_s = in_process
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        start = time.perf_counter()
        executor_box: list[RayExecutor] = []
        original = RayExecutor.__init__

        def keep(self, settings):  # the executor's per-fold worker times
            original(self, settings)
            executor_box.append(self)

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(RayExecutor, "__init__", keep)
            tracker, got = _bench(tmp_path, ExecutorSettings("ray"))
        ray_s = time.perf_counter() - start
    finally:
        ray.shutdown()
    assert got == expected
    folds = _folds(tracker)
    assert len(folds) == 10 and all(f.status == FINISHED for f in folds)
    assert all(f.tags.get("worker_node") for f in folds)
    worker_s = sum(executor_box[0].fold_seconds)
    overhead = (2 * ray_s - worker_s) / len(folds)
    print(f"\n10 folds on 2 cores: in process {local_s:.1f} s, Ray {ray_s:.1f} s "
          f"(speed-up {local_s / ray_s:.2f}x); Ray overhead {overhead:.2f} s per fold")
    # one fold at a time here (each holds the driver's 2 threads), and the workers' first
    # imports are in this timing: make perf's executor section measures warm workers
    assert ray_s < 2.0 * local_s, "Ray's overhead outweighs the folds' own work"


def test_a_node_killed_mid_plan_loses_no_fold_and_duplicates_none(in_process, tmp_path):
    from ray.cluster_utils import Cluster

    _, expected, _ = in_process
    # two nodes of two CPUs: a fold holds as many CPUs as the driver's torch threads
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2})
    second = cluster.add_node(num_cpus=2)
    cluster.wait_for_nodes()
    killed = threading.Event()

    def kill_second_node_during_the_mlp_run(line: str) -> None:
        if line.startswith("[2/2]") and not killed.is_set():
            def kill() -> None:
                time.sleep(3.0)  # the MLP's folds are being fitted on both nodes
                cluster.remove_node(second, allow_graceful=False)
                killed.set()
            threading.Thread(target=kill, daemon=True).start()

    try:
        settings = ExecutorSettings("ray", address=cluster.address, max_retries=3)
        tracker, got = _bench(tmp_path, settings, report=kill_second_node_during_the_mlp_run)
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()
    assert killed.is_set(), "the second node was not killed during the plan"
    folds = _folds(tracker)
    per_run: dict[str, list[str]] = {}
    for fold in folds:
        per_run.setdefault(fold.parent_id, []).append(fold.tags["fold"])
    assert sorted(len(v) for v in per_run.values()) == [5, 5]  # every fold once, none twice
    assert all(sorted(v) == sorted(set(v)) for v in per_run.values())
    assert all(f.status == FINISHED for f in folds)
    nodes = {f.tags["worker_node"] for f in folds if f.tags["method"] == "linear"}
    assert len(nodes) == 2, f"the first run's folds did not spread over both nodes: {nodes}"
    assert got == expected
