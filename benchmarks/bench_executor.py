"""Folds on Ray against the in-process loop: a 5-fold plan on this machine's cores.

Both run the same plan on features already cached (so both time fitting, scoring
and logging only) into an in-memory tracker. Ray is started, and the plan run once
on it, before the clock runs: Ray's start (about 6 s here) and each worker's first
imports (torch, Lightning, the suite: several seconds per worker process) are paid
once per bench session, not per fold. Rows: the Ray bench's wall time against the
in-process one (``threads: driver``, the default, whose numbers equal the
in-process loop's, and ``threads: task``), and the engine's overhead per fold: the
worker slots' time not spent in a fold's fit, predict and score, over the folds.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from benchmarks.common import Row

SECTION = "executor"
PLAN = {
    "name": "perf-executor", "datasets": ["synth"], "tasks": ["quadrant"], "features": ["mfcc"],
    "methods": [{"name": "embedding-classifiers",
                 "params": {"classifier": "mlp", "max_epochs": 200, "patience": 200,
                            "mlp_hidden": 64}}],
    "protocol": "kfold:5", "seeds": [0],
}


def _bench(tmp: Path, executor, plan: dict, warm: bool = False
           ) -> tuple[float, list[float], float]:
    """Wall time of the plan's runs, each fold's worker time under Ray, and the CPUs a
    fold holds (so how many folds run at once)."""
    from mer_bench.config import BenchPlan
    from mer_bench.runs import Runner, RunnerSettings, expand
    from mer_bench.runs.ray_executor import RayExecutor
    from mer_bench.tracking import InMemoryTracker

    runs, _ = expand(BenchPlan.from_dict(plan))
    runner = Runner(InMemoryTracker(), RunnerSettings(progress=False, plots=False,
                                                      work_dir=tmp, executor=executor,
                                                      keep_fold_results=False))
    for run in runs:  # features into the cache before the clock runs
        runner.prepare(run)
    if warm:  # the workers' first imports, once per session
        Runner(InMemoryTracker(), runner.settings).run_all(runs)
    start = time.perf_counter()
    outcomes = runner.run_all(runs)
    seconds = time.perf_counter() - start
    on_ray = isinstance(runner.executor, RayExecutor)
    worker = runner.executor.fold_seconds if on_ray else []
    cpus = runner.executor.options(runs[0])["num_cpus"] if on_ray else 1.0
    runner.close()
    assert all(o.status == "finished" for o in outcomes), outcomes
    return seconds, list(worker), float(cpus)


def run(tmp: Path, plan: dict | None = None) -> list[Row]:
    import ray

    from mer_bench.runs.executors import ExecutorSettings

    plan = plan or PLAN
    local_s, _, _ = _bench(tmp / "local", ExecutorSettings(), plan)
    cores = os.cpu_count() or 1
    rows = []
    ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
    try:
        for threads in ("driver", "task"):
            ray_s, worker, cpus = _bench(tmp / threads, ExecutorSettings("ray", threads=threads),
                                         plan, warm=True)
            slots = max(1, int(cores // cpus))  # folds that run at once
            overhead = (slots * ray_s - sum(worker)) / max(len(worker), 1)
            rows.append(Row(SECTION, f"5 folds on Ray, threads: {threads}", ray_s, "s",
                            reference=local_s, reference_name="in process",
                            goal="< 1 (faster than in process)",
                            extra={"speed_up": round(local_s / ray_s, 2), "cores": cores,
                                   "folds_at_once": slots}))
            rows.append(Row(SECTION, f"Ray overhead per fold, threads: {threads}", overhead,
                            "s", reference=local_s / len(worker),
                            reference_name="a fold in process",
                            extra={"folds": len(worker), "worker_s": round(sum(worker), 2)}))
    finally:
        ray.shutdown()
    return rows
