"""A sweep as MLflow shows it: one parent run per study carrying provenance, its trials
as children, pruned trials FINISHED (tagged, not failed), the objective named."""

from __future__ import annotations

import optuna
import pytest

from mer_bench.config import RunSpec
from mer_bench.sweeps.parent import STARTED, SWEEP, open_parent, parent_tags
from mer_bench.tracking import InMemoryTracker
from mer_bench.tuning import sweep
from tests.fakes.cli import invoke


class _OddPruner(optuna.pruners.BasePruner):
    """Prunes every odd-numbered trial after its first fold: a pruner that surely prunes."""

    def prune(self, study, trial) -> bool:
        return trial.number % 2 == 1


@pytest.fixture()
def odd_pruner(monkeypatch):
    monkeypatch.setattr(optuna.pruners, "MedianPruner", lambda **kwargs: _OddPruner())


def _spec() -> RunSpec:
    return RunSpec(method="linear", dataset="synth-small", task="quadrant", features="mfcc",
                   protocol="kfold:2")


def test_pruned_trials_are_finished_children_of_a_parent_with_provenance(tmp_path, odd_pruner):
    tracker = InMemoryTracker()
    storage = f"sqlite:///{tmp_path / 's.db'}"
    result = sweep(_spec(), tracker, 4, storage=storage, study_name="pr")
    assert result.pruned == [1, 3]
    parents = [r for r in tracker.runs.values() if r.tags.get("kind") == SWEEP]
    assert len(parents) == 1
    parent = parents[0]
    for tag in ("git_sha", "git_dirty", "mer_bench_version", "hardware", "python"):
        assert parent.tags.get(tag), tag
    assert parent.tags["study"] == "pr" and parent.tags["objective"] == "val_macro_f1"
    assert parent.status == "FINISHED" and parent.tags["pruned_trials"] == "2"
    study = optuna.load_study(study_name="pr", storage=storage)
    assert parent.latest()["val_macro_f1"] == pytest.approx(study.best_value)
    trials = {int(r.tags["trial"]): r for r in tracker.runs.values()
              if r.tags.get("kind") == "trial"}
    assert sorted(trials) == [0, 1, 2, 3]
    for number, run in trials.items():
        assert run.parent_id == parent.run_id
        assert run.status == "FINISHED"  # a pruned trial is no failure
        assert run.tags.get("pruned") == ("true" if number % 2 else None)
        assert "val_macro_f1" in run.latest()  # a pruned trial: its mean so far
    assert trials[1].tags["folds_scored"] == "1"
    assert study.metric_names == ["val_macro_f1"]  # optuna-dashboard's axis name


def test_the_sweep_command_lists_its_pruned_trials(tmp_path, odd_pruner, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out = invoke("sweep", "-m", "linear", "-d", "synth-small", "-t", "quadrant",
                       "-p", "kfold:2", "--trials", "3", "--storage",
                       f"sqlite:///{tmp_path / 's.db'}", "--tracking-uri", "memory")
    assert code == 0, out
    assert "1 trial(s) pruned" in out and "not failures): 1" in out


def test_a_resumed_sweep_keeps_its_one_parent(tmp_path):
    tracker = InMemoryTracker()
    storage = f"sqlite:///{tmp_path / 's.db'}"
    sweep(_spec(), tracker, 1, storage=storage, study_name="r")
    sweep(_spec(), tracker, 2, storage=storage, study_name="r")
    parents = [r for r in tracker.runs.values() if r.tags.get("kind") == SWEEP]
    assert len(parents) == 1 and parents[0].tags["trial_budget"] == "2"
    trials = [r for r in tracker.runs.values() if r.tags.get("kind") == "trial"]
    assert len(trials) == 2 and {r.parent_id for r in trials} == {parents[0].run_id}


def test_two_workers_creating_a_studys_parent_at_once_keep_the_earlier_one():
    """Both look, find none and create one; each then sees both and keeps the earlier, so
    the later worker deletes its own and logs its trials under the first."""
    tags = parent_tags("race", "k1", {"method": "linear"}, 4, "val_macro_f1", "maximize")

    class Racing(InMemoryTracker):
        """A second worker creates its parent between our search and our create."""

        def start_run(self, name, tags, params=None, parent_id=None):
            if tags.get("kind") == SWEEP and not self.runs:
                self.rival = super().start_run(name, {**tags, STARTED: "1.0"})
            return super().start_run(name, tags, params, parent_id)

    tracker = Racing()
    parent = open_parent(tracker, "race", tags)
    assert parent == tracker.rival
    alive = [r for r in tracker.runs.values() if not r.deleted]
    assert [r.run_id for r in alive] == [tracker.rival]


@pytest.mark.slow  # two CLI processes on one MLflow store
def test_two_worker_processes_log_under_one_parent(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    cmd = [sys.executable, "-m", "mer_bench.cli", "sweep", "-m", "linear", "-d", "synth-small",
           "-t", "quadrant", "-p", "kfold:2", "--trials", "6", "--storage",
           f"sqlite:///{tmp_path / 's.db'}", "--study", "shared", "--tracking-uri", uri]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    workers = [subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("mer-bench").experiment_id])
    parents = [r for r in runs if r.data.tags.get("kind") == SWEEP]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    trials = [r for r in runs if r.data.tags.get("kind") == "trial"]
    assert len(trials) >= 6
    assert {r.data.tags["mlflow.parentRunId"] for r in trials} == {parents[0].info.run_id}
