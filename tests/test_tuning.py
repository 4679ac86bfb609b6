"""Sweeps: resumable Optuna studies, score-only re-use, parallel workers on one study."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import optuna
import pytest

from mer_bench.config import RunSpec
from mer_bench.methods.base import METHODS, Method
from mer_bench.tasks import STATIC_VA
from mer_bench.tracking import InMemoryTracker
from mer_bench.tuning import sweep


@dataclass(frozen=True)
class _ShiftParams:
    alpha: float = 1.0
    shift: float = 0.0  # score-only: changes predictions, not the fit


class _CountingMethod(Method):
    """Ridge on pooled features whose predictions are offset by a score-only ``shift``."""

    name = "test-counting"
    supports = frozenset({STATIC_VA})
    Params = _ShiftParams
    score_only_params = frozenset({"shift"})
    fits: ClassVar[int] = 0

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {"alpha": trial.suggest_float("alpha", 0.1, 10, log=True),
                "shift": trial.suggest_float("shift", -0.5, 0.5)}

    def fit(self, train, val, ctx):
        from sklearn.linear_model import Ridge

        type(self).fits += 1
        self._model = Ridge(alpha=self.params.alpha).fit(train.pooled(), train.y)
        return self

    def predict(self, data):
        return self._model.predict(data.pooled()) + self.params.shift


@pytest.fixture()
def counting_method():
    METHODS._items["test-counting"] = _CountingMethod  # registered for this test only
    _CountingMethod.fits = 0
    yield _CountingMethod
    del METHODS._items["test-counting"]


def _spec(method="linear", task="quadrant"):
    return RunSpec(method=method, dataset="synth-small", task=task, features="mfcc",
                   protocol="kfold:3")


def test_sweep_resumes_to_the_requested_number_of_trials(tmp_path):
    storage = f"sqlite:///{tmp_path / 's.db'}"
    first = sweep(_spec(), InMemoryTracker(), 2, storage=storage, study_name="s")
    assert first.n_trials == 2 and first.best_value is not None
    again = sweep(_spec(), InMemoryTracker(), 4, storage=storage, study_name="s")
    study = optuna.load_study(study_name="s", storage=storage)
    assert again.n_trials == 4 and len(study.trials) == 4
    params = [tuple(sorted(t.user_attrs["params"].items())) for t in study.trials]
    assert len(set(params)) == 4, "a resumed sweep must not replay earlier proposals"


def test_score_only_parameters_reuse_the_fitted_model(tmp_path, counting_method):
    tracker = InMemoryTracker()
    result = sweep(_spec("test-counting", "static_va"), tracker, 4,
                   storage=f"sqlite:///{tmp_path / 's.db'}", study_name="p", fixed={"alpha": 1.0})
    assert counting_method.fits == 3  # one fit per fold; 3 more trials differ only in shift
    assert result.fits == 3 and result.reuses >= 3  # a pruned trial stops early
    trials = [r for r in tracker.runs.values() if r.tags.get("kind") == "trial"]
    assert {r.tags["trial_budget"] for r in trials} == {"4"}
    finished = [r for r in trials if "reused_fits" in r.tags]
    assert sorted(r.tags["reused_fits"] for r in finished)[0] == "0"
    assert all(r.tags["reused_fits"] == "3" for r in finished[1:])
    values = [r.metrics["val_r2_fold"][0][1] for r in trials]  # first fold of every trial
    assert len(set(np.round(values, 8))) == 4, "shift must still change the scores"


@pytest.mark.slow  # two full CLI processes: `make test-all` runs it
def test_two_worker_processes_share_one_study(tmp_path):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    cmd = [sys.executable, "-m", "mer_bench.cli", "sweep", "-m", "linear", "-d", "synth-small",
           "-t", "quadrant", "-p", "kfold:3", "--trials", "6", "--storage", storage,
           "--study", "shared", "--tracking-uri", "memory"]
    env = {**os.environ, "COLUMNS": "200"}
    workers = [subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=240)[0] for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    study = optuna.load_study(study_name="shared", storage=storage)
    states = [t.state for t in study.trials]
    finished = [s for s in states if s in (optuna.trial.TrialState.COMPLETE,
                                           optuna.trial.TrialState.PRUNED)]
    assert len(finished) == 6 and optuna.trial.TrialState.RUNNING not in states
    numbers = [t.number for t in study.trials]
    assert len(numbers) == len(set(numbers))
    completed = states.count(optuna.trial.TrialState.COMPLETE)
    assert sum(len(re.findall(r"^trial \d+:", out, re.M)) for out in outputs) == completed


def test_ctrl_c_inside_lightning_fails_the_trial_instead_of_leaving_it_running(
    tmp_path, counting_method
):
    """Lightning answers Ctrl-C with sys.exit(); the trial must not stay RUNNING."""

    def interrupted_fit(self, train, val, ctx):
        raise SystemExit(1)

    counting_method.fit = interrupted_fit
    storage = f"sqlite:///{tmp_path / 's.db'}"
    with pytest.raises(KeyboardInterrupt):
        sweep(_spec("test-counting", "static_va"), InMemoryTracker(), 2, storage=storage,
              study_name="s")
    (trial,) = optuna.load_study(study_name="s", storage=storage).trials
    assert trial.state is optuna.trial.TrialState.FAIL


def test_a_killed_workers_running_trial_is_failed_by_the_next_worker(tmp_path, monkeypatch):
    import time

    from mer_bench import tuning

    monkeypatch.setattr(tuning, "HEARTBEAT_S", 1)
    monkeypatch.setattr(tuning, "GRACE_S", 1)
    storage = f"sqlite:///{tmp_path / 's.db'}"
    study = tuning._open_study("s", storage, "maximize")
    orphan = study.ask()  # a worker that died mid-trial: heartbeat recorded, then silence
    study._storage.record_heartbeat(orphan._trial_id)
    time.sleep(2.2)
    result = sweep(_spec(), InMemoryTracker(), 1, storage=storage, study_name="s")
    states = [t.state for t in optuna.load_study(study_name="s", storage=storage).trials]
    assert result.n_trials == 1
    assert states[0] is optuna.trial.TrialState.FAIL
    assert optuna.trial.TrialState.RUNNING not in states


def test_mlflow_shows_each_trials_objective_not_its_last_fold(tmp_path):
    """The trial's mean over folds is what the MLflow UI shows as val_<primary>; the folds
    have a key of their own."""
    from mer_bench.tracking import make_tracker

    tracker = make_tracker(f"sqlite:///{tmp_path / 'mlruns.db'}", "sweeps")
    storage = f"sqlite:///{tmp_path / 's.db'}"
    sweep(_spec(), tracker, 3, storage=storage, study_name="mean")
    study = optuna.load_study(study_name="mean", storage=storage)
    runs = tracker.client.search_runs([tracker.experiment_id])
    by_trial = {r.data.tags["trial"]: r for r in runs if r.data.tags.get("kind") == "trial"}
    assert len(by_trial) == 3
    parent = next(r for r in runs if r.data.tags.get("kind") == "sweep")  # the study's row
    assert parent.info.status == "FINISHED" and parent.data.tags["git_sha"]
    assert {r.data.tags["mlflow.parentRunId"] for r in by_trial.values()} == {
        parent.info.run_id}
    for t in study.trials:
        run = by_trial[str(t.number)]
        assert run.data.metrics["val_macro_f1"] == pytest.approx(t.value)
        folds = tracker.client.get_metric_history(run.info.run_id, "val_macro_f1_fold")
        assert len(folds) == 3
        assert np.mean([m.value for m in folds]) == pytest.approx(t.value)


def test_fit_cache_warns_when_a_method_cannot_be_pickled(tmp_path):
    """The sweep's disk cache used to drop unpicklable methods silently."""
    from mer_bench.sweeps.fitcache import FitCache

    class Holder:
        name = "holder"

    method = Holder()
    method.score = lambda x: x  # a closure on self: pickle refuses it
    cache = FitCache(tmp_path)
    with pytest.warns(UserWarning, match="'holder' cannot be pickled"):
        cache.put("key0", method)
    assert cache.get("key0") is method  # still re-used in this process
    assert not list(tmp_path.iterdir())  # no half-written pickle left behind
