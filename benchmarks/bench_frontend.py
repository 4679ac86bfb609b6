"""Front-end caching: a second run of a method that reads segments, cold vs warm.

``sssl`` (tiny network, one epoch: its ``smoke_params``) runs on a dataset
through the ``Runner`` twice with different learning rates, so the second is
a new config with the same front end. Cold: the feature cache is empty and
the run decodes and transforms every clip; warm: the same run with the cache
the first filled, which reads the log-mels from disk. Each pair uses a fresh
cache folder; the rounds alternate so both see the same background load.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from benchmarks.bench_features import SHARED_DATA
from benchmarks.common import Row

SECTION = "front-end cache"


def _run(dataset: str, root: str | None, lr: float, cache: Path) -> tuple[float, str]:
    """Wall seconds of one sssl run and how many clips its front end computed."""
    from mer_bench.config import RunSpec
    from mer_bench.runs import Runner, RunnerSettings, resolve
    from mer_bench.tracking import InMemoryTracker

    os.environ["MER_BENCH_CACHE"] = str(cache)
    spec = RunSpec("sssl", dataset, "quadrant", "none", protocol="kfold:2", dataset_root=root,
                   method_params={"lr": lr})
    runner = Runner(InMemoryTracker(), RunnerSettings(smoke=True, progress=False, plots=False))
    start = time.perf_counter()
    outcome = runner.run(resolve(spec, smoke=True))
    seconds = time.perf_counter() - start
    tags = runner.tracker.runs[outcome.run_id].tags
    return seconds, tags.get("feature_cache_computed", "?")


def run(tmp: Path, dataset: str | None = None, rounds: int = 2) -> list[Row]:
    """One row: the warm second run's wall time against the cold run's."""
    fourq = SHARED_DATA / "4q"
    if dataset is None:
        dataset = "4q" if fourq.is_dir() else "synth-small"
    # a generated dataset lives outside the measured cache, made before the clock starts
    root = str(fourq) if dataset == "4q" else str(tmp / "data")
    if dataset != "4q":
        from mer_bench.data import DATASETS

        DATASETS.get(dataset)(root)
    saved = os.environ.get("MER_BENCH_CACHE")
    best = {"cold": float("inf"), "warm": float("inf")}
    computed = ""
    try:
        for k in range(rounds):
            cache = tmp / f"cache{k}"
            shutil.rmtree(cache, ignore_errors=True)
            cold, _ = _run(dataset, root, 1e-3, cache)
            warm, computed = _run(dataset, root, 5e-4, cache)
            best["cold"], best["warm"] = min(best["cold"], cold), min(best["warm"], warm)
    finally:
        if saved is None:
            os.environ.pop("MER_BENCH_CACHE", None)
        else:
            os.environ["MER_BENCH_CACHE"] = saved
    return [Row(SECTION, f"sssl second run on {dataset}: warm cache vs cold", best["warm"], "s",
                best["cold"], "the same run with an empty feature cache",
                extra={"dataset": dataset, "warm_run_computed_clips": computed})]
