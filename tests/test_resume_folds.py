"""An interrupted run keeps its finished folds: the rerun fits only the folds it lacks,
and its numbers are those of an uninterrupted run."""

from __future__ import annotations

import pytest

from mer_bench.config import RunSpec
from mer_bench.methods.baselines import Linear
from mer_bench.runs import Runner, RunnerSettings, resolve
from mer_bench.runs.resume import RESULT_TAG, RESUMED_TAG, FoldResults
from mer_bench.tracking import InMemoryTracker
from mer_bench.tracking.base import FINISHED, FOLD, RUN

SPEC = RunSpec(method="linear", dataset="synth-small", task="quadrant", features="mfcc",
               protocol="kfold:4", seed=7)


def _run(tracker, **settings):
    return Runner(tracker, RunnerSettings(plots=False, progress=False, **settings)).run(
        resolve(SPEC))


def _live(tracker, kind):
    return [r for r in tracker.runs.values() if r.tags.get("kind") == kind and not r.deleted]


def _fail_on_the_third_fit(monkeypatch) -> dict[str, int]:
    """Linear's third fit raises, as an interrupted run would; the fits are counted."""
    fits = {"n": 0}
    original = Linear.fit

    def fit(self, train, val, ctx):
        fits["n"] += 1
        if fits["n"] == 3:
            raise RuntimeError("a node went away")
        return original(self, train, val, ctx)

    monkeypatch.setattr(Linear, "fit", fit)
    return fits


def test_a_rerun_keeps_the_folds_an_interrupted_attempt_finished(monkeypatch):
    reference = _run(InMemoryTracker()).metrics
    fits = _fail_on_the_third_fit(monkeypatch)
    tracker = InMemoryTracker()
    with pytest.raises(RuntimeError):
        _run(tracker)
    assert fits["n"] == 3
    outcome = _run(tracker)
    assert outcome.status == "finished" and fits["n"] == 5  # folds 3 and 4 only
    assert outcome.metrics == pytest.approx(reference, rel=1e-12)
    (parent,) = _live(tracker, RUN)
    folds = [f for f in _live(tracker, FOLD) if f.parent_id == parent.run_id]
    assert len(folds) == 4 and all(f.status == FINISHED for f in folds)
    assert sum(RESUMED_TAG in f.tags for f in folds) == 2
    assert all(f.tags.get(RESULT_TAG) for f in folds)


def test_a_damaged_stored_fold_is_fitted_again(monkeypatch, tmp_path):
    spec = SPEC.__class__(**{**SPEC.__dict__, "seed": 8})
    reference = Runner(InMemoryTracker(), RunnerSettings(plots=False, progress=False)).run(
        resolve(spec)).metrics
    fits = _fail_on_the_third_fit(monkeypatch)
    tracker = InMemoryTracker()
    runner = Runner(tracker, RunnerSettings(plots=False, progress=False))
    runner.results = FoldResults(tmp_path)  # this test's results only (the cache is shared)
    with pytest.raises(RuntimeError):
        runner.run(resolve(spec))
    stored = list(runner.results.root.rglob("*.pkl"))
    assert len(stored) == 2  # the two folds finished before the interruption
    for path in stored:
        path.write_bytes(b"not a fold")
    with pytest.warns(UserWarning, match="SHA-256 differs"):
        again = runner.run(resolve(spec))
    assert fits["n"] == 3 + 4 and again.metrics == pytest.approx(reference, rel=1e-12)


def test_a_finished_run_leaves_no_fold_results_behind(tmp_path):
    runner = Runner(InMemoryTracker(), RunnerSettings(plots=False, progress=False))
    runner.results = FoldResults(tmp_path)
    outcome = runner.run(resolve(SPEC.__class__(**{**SPEC.__dict__, "seed": 9})))
    assert outcome.status == "finished"
    assert not list(runner.results.root.rglob("*.pkl"))
