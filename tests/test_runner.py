"""The runner end to end on synth-small with the in-memory tracker."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from mer_bench.config import BenchPlan, RunSpec
from mer_bench.data import DATASETS
from mer_bench.errors import DatasetError, TaskError
from mer_bench.methods.baselines import Linear
from mer_bench.runs import Runner, RunnerSettings, expand, fold_data, resolve
from mer_bench.tasks import BINARY_VALENCE
from mer_bench.tracking import InMemoryTracker
from mer_bench.tracking.base import FINISHED, FOLD, KILLED, RUN

PROVENANCE = (
    "config_hash",
    "git_sha",
    "git_dirty",
    "mer_bench_version",
    "dataset",
    "dataset_version",
    "split_hash",
    "feature_cache_key",
    "hardware",
    "seed",
    "wall_time_s",
    "weights",
)


def _spec(method="linear", task="quadrant", **kw) -> RunSpec:
    return RunSpec(
        method=method, dataset="synth-small", task=task, features="mfcc", protocol="kfold:4", **kw
    )


def _runner(tracker=None) -> Runner:
    return Runner(tracker or InMemoryTracker(), RunnerSettings(plots=False, progress=False))


def _parents(tracker: InMemoryTracker):
    return [r for r in tracker.runs.values() if r.tags.get("kind") == RUN and not r.deleted]


def test_a_run_logs_parent_folds_metrics_and_provenance():
    runner = _runner()
    outcome = runner.run(resolve(_spec()))
    tracker = runner.tracker
    (parent,) = _parents(tracker)
    folds = [r for r in tracker.runs.values() if r.tags.get("kind") == FOLD]
    assert outcome.status == "finished" and parent.status == FINISHED and len(folds) == 4
    assert all(f.parent_id == parent.run_id and f.status == FINISHED for f in folds)
    for key in PROVENANCE:
        assert parent.tags.get(key), f"tag {key} missing"
    assert parent.params["method.C"] == 1.0 and parent.params["n_folds"] == 4
    assert {"config.yaml", "predictions.parquet"} <= set(parent.artifacts)
    fold_f1 = [f.latest()["macro_f1"] for f in folds]
    assert parent.latest()["macro_f1"] == pytest.approx(np.mean(fold_f1))


def test_linear_beats_chance_on_both_task_kinds():
    runner = _runner()
    scores = {}
    for method in ("chance", "linear"):
        for task in ("quadrant", "static_va"):
            scores[method, task] = runner.run(resolve(_spec(method, task))).metrics
    assert scores["linear", "quadrant"]["macro_f1"] > scores["chance", "quadrant"]["macro_f1"] + 0.3
    assert scores["linear", "static_va"]["r2"] > 0.3 > scores["chance", "static_va"]["r2"]


def test_finished_runs_are_skipped_and_leftovers_replaced():
    runner = _runner()
    run = resolve(_spec())
    runner.run(run)
    assert runner.run(run).status == "skipped"
    assert len(_parents(runner.tracker)) == 1
    # an interrupted attempt (RUNNING parent) is deleted and redone
    tracker = InMemoryTracker()
    stale = tracker.start_run("stale", {"kind": RUN, "config_hash": run.config_hash})
    outcome = _runner(tracker).run(run)
    assert outcome.status == "finished" and tracker.runs[stale].deleted
    assert len(_parents(tracker)) == 1


def test_same_seed_same_metrics_other_seed_other_folds():
    a = _runner().run(resolve(_spec(seed=3))).metrics
    b = _runner().run(resolve(_spec(seed=3))).metrics
    c = _runner().run(resolve(_spec(seed=4))).metrics
    assert a == b
    assert a != c


def test_interrupt_marks_runs_killed_and_the_rerun_completes(monkeypatch):
    calls = {"n": 0}
    original = Linear.fit

    def flaky_fit(self, train, val, ctx):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, train, val, ctx)

    monkeypatch.setattr(Linear, "fit", flaky_fit)
    tracker = InMemoryTracker()
    with pytest.raises(KeyboardInterrupt):
        _runner(tracker).run(resolve(_spec()))
    statuses = sorted(r.status for r in tracker.runs.values())
    assert statuses.count(KILLED) == 2 and statuses.count(FINISHED) == 1  # parent + fold 2; fold 1
    assert tracker.fold_records() == []
    _runner(tracker).run(resolve(_spec()))
    records = tracker.fold_records()
    assert len(records) == 4 and len({r.tags["fold"] for r in records}) == 4


def test_config_hash_depends_on_what_changes_numbers():
    base = resolve(_spec()).config_hash
    assert resolve(_spec()).config_hash == base
    assert resolve(_spec(seed=1)).config_hash != base
    assert resolve(_spec(method_params={"C": 0.5})).config_hash != base
    assert resolve(_spec(method_params={"C": 0.5})).variant == "C=0.5"
    assert resolve(_spec(feature_params={"n_mfcc": 13})).config_hash != base
    assert resolve(_spec(), smoke=True).variant.startswith("smoke")


def test_expand_leaves_out_incompatible_combinations():
    plan = BenchPlan.from_dict(
        {
            "datasets": ["4q", "synth-small"],
            "tasks": ["quadrant", "static_va"],
            "features": ["mfcc"],
            "methods": ["chance", "linear"],
            "seeds": 2,
        }
    )
    runs, notes = expand(plan)
    assert len(runs) == 2 * 2 * 2 + 2 * 2  # synth-small: both tasks; 4q: quadrant only
    assert any("4q has no static_va" in n for n in notes)


@pytest.fixture()
def corrupt_copy(tmp_path) -> Path:
    source = DATASETS.get("synth-small")().root
    copy = tmp_path / "synth-small"
    shutil.copytree(source, copy)
    victim = sorted(copy.rglob("*.wav"))[5]
    victim.write_bytes(b"RIFF" + b"\x00" * 100)
    return victim


def test_a_corrupt_file_stops_the_run_naming_it_unless_skipped(corrupt_copy):
    root = next(p for p in corrupt_copy.parents if p.name == "synth-small")
    with pytest.raises(DatasetError, match=corrupt_copy.name) as raised:
        _runner().run(resolve(_spec(dataset_root=str(root))))
    # the first line alone (what a paper table shows) says what kind of problem it is
    first = str(raised.value).splitlines()[0]
    assert re.search(r"has 1 error\(s\) \(1 [a-z_]+\)", first), first
    runner = _runner()
    outcome = runner.run(resolve(_spec(dataset_root=str(root), skip_invalid=True)))
    assert outcome.status == "finished"
    (parent,) = _parents(runner.tracker)
    assert parent.tags["skipped_tracks"] == "1" and "skipped_tracks.txt" in parent.artifacts


def test_kmeans_label_rule_thresholds_from_training_fold_only():
    from mer_bench.data.labels import kmeans_midpoint
    from mer_bench.runs import fold_task
    from mer_bench.types import Task, Track

    assert kmeans_midpoint(np.array([0.1, 0.2, 0.15, 0.8, 0.9, 0.85])) == pytest.approx(
        0.5, abs=0.01
    )
    train = [
        Track(str(i), None, static_va=(v, a))
        for i, (v, a) in enumerate([(0.1, -0.9), (0.2, -0.8), (0.8, 0.4), (0.9, 0.6)])
    ]
    task = fold_task(Task("x", BINARY_VALENCE), train, "kmeans", 0)
    assert task.valence_threshold == pytest.approx(0.5) and task.arousal_threshold == pytest.approx(
        -0.175
    )
    assert fold_task(Task("x", BINARY_VALENCE), train, "fixed", 0).valence_threshold == 0
    outcome = _runner().run(resolve(_spec(task="binary_valence", label_rule="kmeans")))
    assert outcome.status == "finished"
    assert resolve(_spec(label_rule="kmeans")).config_hash != resolve(_spec()).config_hash


# --- validation share, split seed and per-split model seeds ---------------------------


class _NoValidationLinear(Linear):
    """``linear`` that declares it never reads validation data (records what fit saw)."""

    uses_validation = False
    seen: list[tuple[int, int, int]] = []

    def fit(self, train, val, ctx):
        type(self).seen.append((len(train), len(val), ctx.seed))
        return super().fit(train, val, ctx)


def test_a_method_that_never_selects_on_validation_trains_on_it(monkeypatch):
    from mer_bench.methods import METHODS

    monkeypatch.setitem(METHODS._items, "linear-noval", _NoValidationLinear)
    _NoValidationLinear.name = "linear-noval"
    _NoValidationLinear.seen = []
    runner = _runner()
    merged = resolve(_spec("linear-noval"))
    plain = resolve(_spec("linear"))
    assert merged.config["validation"] == "merged-into-train"
    assert "validation" not in plain.config
    prep = runner.prepare(plain)
    split = prep.splits[0]
    parts = fold_data(merged, prep, split)
    assert len(parts["val"]) == 0
    assert set(parts["train"].ids) == set(split.train) | set(split.val)
    assert len(fold_data(merged, prep, split, merge_val=False)["val"]) == len(split.val)
    # validation items that are also test items (validation = test) never join training
    import dataclasses

    overlapping = dataclasses.replace(split, val=(*split.val, *split.test[:2]))
    train_ids = set(fold_data(merged, prep, overlapping)["train"].ids)
    assert train_ids == set(split.train) | set(split.val)
    runner.run(merged)
    (parent,) = _parents(runner.tracker)
    n_train, n_val, n_test = (int(x) for x in parent.tags["split_sizes"].split("/"))
    assert n_val == 0 and n_train == len(split.train) + len(split.val) and n_test == len(split.test)
    assert parent.tags["validation"] == "merged-into-train"
    assert all(v == 0 for _, v, _ in _NoValidationLinear.seen)
    fold_seeds = [seed for _, _, seed in _NoValidationLinear.seen]
    assert len(set(fold_seeds)) == len(fold_seeds) == 4  # each split its own initialisation


def test_each_split_gets_its_own_model_seed_and_the_split_seed_is_separate():
    from mer_bench.runs.folds import fold_seed

    seeds = {fold_seed(0, f"fold{k}") for k in range(10)}
    assert len(seeds) == 10 and fold_seed(0, "fold0") == fold_seed(0, "fold0")
    assert fold_seed(0, "fold0") != fold_seed(1, "fold0")
    runner = _runner()
    a = runner.prepare(resolve(_spec(seed=0, split_seed=7)))
    b = runner.prepare(resolve(_spec(seed=3, split_seed=7)))
    c = runner.prepare(resolve(_spec(seed=3)))
    assert [s.hash for s in a.splits] == [s.hash for s in b.splits]
    assert [s.hash for s in b.splits] != [s.hash for s in c.splits]
    assert resolve(_spec(seed=0, split_seed=7)).config_hash != resolve(_spec(seed=0)).config_hash
    runner.run(resolve(_spec(seed=3, split_seed=7)))
    (parent,) = _parents(runner.tracker)
    assert parent.tags["split_seed"] == "7" and parent.tags["seed"] == "3"


def test_plan_split_seed_reaches_every_spec():
    plan = BenchPlan.from_dict(
        {"datasets": ["synth-small"], "tasks": ["quadrant"], "features": ["mfcc"],
         "methods": ["linear"], "seeds": 3, "split_seed": 0}
    )
    assert [s.split_seed for s in plan.specs()] == [0, 0, 0]
    with pytest.raises(Exception, match="split_seed"):
        BenchPlan.from_dict({**{"datasets": ["synth-small"], "tasks": ["quadrant"],
                                "features": ["mfcc"], "methods": ["linear"]}, "split_seed": "x"})


def test_a_fold_whose_metric_is_undefined_fails_the_run_naming_the_fold():
    runner = _runner()
    # 1 test clip: R² is undefined
    run = resolve(RunSpec(method="linear", dataset="synth-small", task="static_va",
                          features="mfcc", protocol="repeated:1:0.99"))
    with pytest.raises(TaskError, match=r"fold rep0 \(train/val/test \d+/\d+/1\): r2 is undefined"):
        runner.run(run)
    (parent,) = _parents(runner.tracker)
    assert parent.status == "FAILED"


def test_an_empty_test_part_is_a_clear_error(monkeypatch):
    import dataclasses

    runner = _runner()
    run = resolve(_spec())
    real = runner.data.identify

    def no_test(r):
        prep = real(r)
        first = prep.splits[0]
        empty = dataclasses.replace(first, train=(*first.train, *first.test), test=())
        return dataclasses.replace(prep, splits=[empty, *prep.splits[1:]])

    monkeypatch.setattr(runner.data, "identify", no_test)
    with pytest.raises(TaskError, match="fold fold0 has no test items"):
        runner.run(run)
