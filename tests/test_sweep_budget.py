"""A sweep's trial budget holds exactly, however many workers share the study."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import optuna
import pytest

from mer_bench.config import RunSpec
from mer_bench.methods.base import METHODS, Method
from mer_bench.sweeps.budget import OVER_BUDGET, OverBudget, refuse_if_surplus
from mer_bench.tasks import STATIC_VA
from mer_bench.tracking import InMemoryTracker
from mer_bench.tuning import sweep

DONE = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


@dataclass(frozen=True)
class _SlowParams:
    alpha: float = 1.0


class _SlowMethod(Method):
    """Ridge that takes a while to fit, so two workers' trials overlap."""

    name = "test-slow"
    supports = frozenset({STATIC_VA})
    Params = _SlowParams
    seconds: ClassVar[float] = 0.15

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {"alpha": trial.suggest_float("alpha", 0.1, 10, log=True)}

    def fit(self, train, val, ctx):
        from sklearn.linear_model import Ridge

        time.sleep(self.seconds)
        self._model = Ridge(alpha=self.params.alpha).fit(train.pooled(), train.y)
        return self

    def predict(self, data):
        return self._model.predict(data.pooled())


@pytest.fixture()
def slow_method():
    METHODS._items["test-slow"] = _SlowMethod  # registered for this test only
    yield _SlowMethod
    del METHODS._items["test-slow"]


def _spec() -> RunSpec:
    return RunSpec(method="test-slow", dataset="synth-small", task="static_va",
                   features="mfcc", protocol="kfold:2")


def test_two_workers_on_one_storage_make_exactly_the_budget(tmp_path, slow_method):
    """Two workers with a budget of 5 made 6 trials: each started one more while the
    other's last trial was still running."""
    sweep(_spec(), InMemoryTracker(), 1, storage=f"sqlite:///{tmp_path / 'warm.db'}",
          study_name="warm")  # features extracted once, before the workers race
    storage = f"sqlite:///{tmp_path / 's.db'}"
    optuna.create_study(study_name="shared", storage=storage, direction="maximize")
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            sweep(_spec(), InMemoryTracker(), 5, storage=storage, study_name="shared")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    trials = optuna.load_study(study_name="shared", storage=storage).trials
    assert len([t for t in trials if t.state in DONE]) == 5
    assert optuna.trial.TrialState.RUNNING not in {t.state for t in trials}
    # a trial started over the budget in a race is failed before it runs anything
    assert all(OVER_BUDGET in t.user_attrs for t in trials if t.state not in DONE)


def test_a_trial_created_beyond_the_budget_is_refused():
    """What two workers racing past Optuna's stop check leave: the later trial refuses."""
    study = optuna.create_study()
    study.optimize(lambda trial: 0.0, n_trials=2)
    study.ask()  # another worker's trial, RUNNING: 3 trials before the next one

    def objective(trial: optuna.Trial) -> float:
        refuse_if_surplus(trial, budget)
        return 1.0

    budget = 4
    study.optimize(objective, n_trials=1, catch=(OverBudget,))
    assert study.trials[-1].state is optuna.trial.TrialState.COMPLETE
    budget = 4  # now 4 before the next one: it refuses, and stops its worker
    study.optimize(objective, n_trials=3, catch=(OverBudget,))
    assert len(study.trials) == 5
    assert study.trials[-1].state is optuna.trial.TrialState.FAIL
    assert study.trials[-1].user_attrs[OVER_BUDGET] == 4


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")  # the ask() below, outside optimize
def test_a_resumed_sweep_counts_running_trials_of_live_workers(tmp_path):
    """A worker's RUNNING trial is part of the budget while its worker lives."""
    from mer_bench.sweeps.workers import claim
    from mer_bench.tuning import _open_study

    storage = f"sqlite:///{tmp_path / 's.db'}"
    study = _open_study("s", storage, "maximize")
    claim(study.ask())  # this process: alive
    spec = RunSpec(method="linear", dataset="synth-small", task="static_va", features="mfcc",
                   protocol="kfold:2")
    result = sweep(spec, InMemoryTracker(), 2, storage=storage, study_name="s")
    states = [t.state for t in optuna.load_study(study_name="s", storage=storage).trials]
    assert len(states) == 2 and states[0] is optuna.trial.TrialState.RUNNING
    assert result.n_trials == 1
