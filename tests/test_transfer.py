"""Cross-dataset transfer: train on one dataset, test on another, shown as a matrix."""

from __future__ import annotations

import pytest

from mer_bench.config import BenchPlan, RunSpec
from mer_bench.data import DATASETS
from mer_bench.data.synthetic import SynthSmallDataset
from mer_bench.errors import ConfigError
from mer_bench.leaderboard import write_leaderboard
from mer_bench.leaderboard.build import build_tables
from mer_bench.leaderboard.transfer import build_transfer_matrices
from mer_bench.runs import Runner, RunnerSettings, expand, resolve
from mer_bench.tracking import InMemoryTracker


class _OtherSynth(SynthSmallDataset):
    """synth-small drawn with another seed: a second 'dataset' with the same label rules."""

    name = "test-synth-b"
    default_seed = 7


@pytest.fixture()
def two_datasets():
    DATASETS._items["test-synth-b"] = _OtherSynth  # registered for this test only
    yield
    del DATASETS._items["test-synth-b"]


def test_transfer_plan_expands_to_ordered_pairs(two_datasets):
    plan = BenchPlan.from_dict(
        {
            "datasets": ["synth-small", "test-synth-b"],
            "tasks": ["quadrant"],
            "features": ["mfcc"],
            "methods": ["linear"],
            "protocol": "transfer",
        }
    )
    runs, _ = expand(plan)
    pairs = sorted((r.config["dataset"], r.config["protocol"]) for r in runs)
    assert pairs == [
        ("synth-small", "transfer:test-synth-b"),
        ("test-synth-b", "transfer:synth-small"),
    ]
    with pytest.raises(ConfigError, match="to itself"):
        resolve(RunSpec("linear", "synth-small", "quadrant", "mfcc", "transfer:synth-small"))


def test_transfer_run_tests_on_the_other_dataset_and_fills_the_matrix(two_datasets, tmp_path):
    tracker = InMemoryTracker()
    runner = Runner(tracker, RunnerSettings(plots=False, progress=False))
    plan = BenchPlan.from_dict(
        {
            "datasets": ["synth-small", "test-synth-b"],
            "tasks": ["quadrant"],
            "features": ["mfcc"],
            "methods": ["linear"],
            "protocol": "transfer",
        }
    )
    runs, _ = expand(plan)
    for run in runs:
        assert runner.run(run).status == "finished"
    within = resolve(RunSpec("linear", "synth-small", "quadrant", "mfcc", "kfold:3"))
    runner.run(within)
    folds = [
        r
        for r in tracker.runs.values()
        if r.tags.get("kind") == "fold" and r.tags["protocol"] == "transfer:test-synth-b"
    ]
    (fold,) = folds
    assert fold.tags["dataset"] == "synth-small" and fold.tags["test_dataset"] == "test-synth-b"
    (prep_rows,) = [r for r in tracker.runs.values() if r.run_id == fold.parent_id]
    assert prep_rows.params["n_tracks"] == 2 * 48  # all of one dataset, then all of the other
    assert fold.latest()["macro_f1"] > 0.4  # the same generator: the rules transfer

    (matrix,) = build_transfer_matrices(build_tables(tracker.fold_records()))
    assert matrix.datasets == ("synth-small", "test-synth-b")
    assert matrix.cell("synth-small", "test-synth-b") is not None
    assert matrix.cell("test-synth-b", "synth-small") is not None
    assert matrix.cell("synth-small", "synth-small")[1] == "kfold:3"  # the diagonal
    assert matrix.cell("test-synth-b", "test-synth-b") is None
    paths = write_leaderboard(tracker, tmp_path)
    assert "## Cross-dataset transfer" in paths["markdown"].read_text()
    html = paths["html"].read_text()
    assert 'id="transfer"' in html and html.count("<svg") >= 2
