"""Executor settings and the Ray wall-time estimate (no Ray started here: make test-ray)."""

from __future__ import annotations

import pytest

from mer_bench.config import BenchPlan
from mer_bench.errors import ConfigError
from mer_bench.reproduce import RAY_FOLD_OVERHEAD_S, on_workers, total_line
from mer_bench.runs.costs import CostEstimate
from mer_bench.runs.executors import ExecutorSettings, InProcessExecutor, make_executor

PLAN = {"name": "p", "datasets": ["synth-small"], "tasks": ["quadrant"], "features": ["mfcc"],
        "methods": ["chance"]}


def test_a_plans_executor_block_is_checked_when_the_plan_loads():
    plan = BenchPlan.from_dict({**PLAN, "executor": {"name": "ray", "max_retries": 3}})
    settings = ExecutorSettings.from_dict(plan.executor)
    assert (settings.name, settings.max_retries, settings.address) == ("ray", 3, None)
    for bad, message in (({"name": "dask"}, "one of"), ({"retries": 1}, "unknown executor"),
                         ({"name": "ray", "max_retries": -1}, "max_retries"),
                         ({"name": "ray", "resources": {"sssl": {"gpu": 1}}}, "resources")):
        with pytest.raises(ConfigError, match=message):
            BenchPlan.from_dict({**PLAN, "executor": bad})


def test_the_default_executor_is_the_in_process_loop():
    assert isinstance(make_executor(None), InProcessExecutor)


def _cost(folds: int, fold_s: float) -> CostEstimate:
    return CostEstimate(seconds=10 + folds * fold_s, extract_seconds=10, uncached_clips=0,
                        fold_seconds=fold_s, folds=folds, measured="s/epoch", rate=1.0,
                        epochs=(1,), device="2 CPU cores")


def test_workers_divide_a_runs_folds_into_rounds():
    cost = _cost(10, 60.0)
    assert on_workers(cost, None) == cost.seconds == 610
    assert on_workers(cost, 4) == pytest.approx(10 + 3 * 60 + 3 * RAY_FOLD_OVERHEAD_S)
    assert "on 4 Ray workers" in total_line({"a": cost}, workers=4)
    assert "one after another" in total_line({"a": cost})
