"""Trials of killed sweep workers are failed, so they neither hang nor hold the budget."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import optuna

from mer_bench.config import RunSpec
from mer_bench.tracking import InMemoryTracker
from mer_bench.tuning import _open_study, sweep

REPO = Path(__file__).resolve().parents[1]
RUNNING, FAIL = optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.FAIL

# a worker SIGKILLed in the middle of a trial, as `kill -9` leaves it: heartbeats on
KILLED_WORKER = textwrap.dedent("""\
    import os, signal, sys
    import optuna
    from mer_bench.sweeps.workers import claim
    storage = optuna.storages.RDBStorage(sys.argv[1], heartbeat_interval=60, grace_period=180)
    study = optuna.load_study(study_name="s", storage=storage)

    def objective(trial):
        claim(trial)
        os.kill(os.getpid(), signal.SIGKILL)

    study.optimize(objective, n_trials=1)
""")


def _spec() -> RunSpec:
    return RunSpec(method="linear", dataset="synth-small", task="static_va", features="mfcc",
                   protocol="kfold:2")


def _kill_a_worker_mid_trial(storage: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", KILLED_WORKER, storage], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == -9, done.stderr


def _states(storage: str) -> list[optuna.trial.TrialState]:
    return [t.state for t in optuna.load_study(study_name="s", storage=storage).trials]


def test_a_killed_workers_trial_is_failed_even_when_the_budget_is_met(tmp_path):
    """Optuna fails stale trials only before starting a new one: once the budget was met,
    a killed worker's trial stayed RUNNING for ever."""
    storage = f"sqlite:///{tmp_path / 's.db'}"
    sweep(_spec(), InMemoryTracker(), 2, storage=storage, study_name="s")
    _kill_a_worker_mid_trial(storage)
    assert _states(storage)[-1] is RUNNING
    said: list[str] = []
    result = sweep(_spec(), InMemoryTracker(), 2, storage=storage, study_name="s",
                   report=said.append)
    assert result.n_trials == 2 and len(_states(storage)) == 3
    assert _states(storage)[-1] is FAIL
    assert any(m.startswith("trial 2: its worker (pid") for m in said), said


def test_a_killed_workers_trial_does_not_hold_the_budget(tmp_path):
    storage = f"sqlite:///{tmp_path / 's.db'}"
    _open_study("s", storage, "maximize")
    _kill_a_worker_mid_trial(storage)
    result = sweep(_spec(), InMemoryTracker(), 2, storage=storage, study_name="s")
    states = _states(storage)
    assert result.n_trials == 2 and states.count(optuna.trial.TrialState.COMPLETE) == 2
    assert states[0] is FAIL and RUNNING not in states
