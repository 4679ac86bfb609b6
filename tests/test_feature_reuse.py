"""Runs of one bench that share an extractor and clips reuse the arrays already read."""

from __future__ import annotations

import numpy as np
import pytest

import mer_bench.runs.preparing as preparing
from mer_bench.config import RunSpec
from mer_bench.runs import Runner, RunnerSettings, resolve
from mer_bench.tracking import InMemoryTracker


def _run(method: str, features: str = "mfcc"):
    return resolve(RunSpec(method=method, dataset="synth-small", task="quadrant",
                           features=features, protocol="kfold:2"))


def test_a_second_run_reads_no_entry_and_cannot_change_the_shared_arrays(monkeypatch):
    runner = Runner(InMemoryTracker(), RunnerSettings(plots=False, progress=False))
    first = runner.prepare(_run("chance"))
    reads = []
    monkeypatch.setattr(runner.cache, "features", lambda *a, **k: reads.append(a))
    second = runner.prepare(_run("linear"))
    assert not reads and second.cache_stats == (len(second.tracks), 0)
    shared = next(iter(second.features.values()))
    assert shared is next(iter(first.features.values()))
    with pytest.raises(ValueError):
        shared[0] = np.nan


def test_only_the_newest_set_is_kept_past_the_memory_bound(monkeypatch):
    monkeypatch.setattr(preparing, "KEEP_FEATURES_BYTES", 0)
    runner = Runner(InMemoryTracker(), RunnerSettings(plots=False, progress=False))
    runner.prepare(_run("chance", "mfcc"))
    runner.prepare(_run("chance", "logmel"))
    assert [k[0].split("/")[0] for k in runner.data._loaded] == ["logmel"]
