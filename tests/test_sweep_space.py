"""Sweeps search only what the task reads, and end with the run that reproduces the best."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

import optuna
import pytest
import yaml

from mer_bench.config import RunSpec
from mer_bench.methods import METHODS
from mer_bench.tasks import BINARY_AROUSAL, QUADRANT, STATIC_VA
from mer_bench.tracking import make_tracker
from mer_bench.tuning import reproduce_command, sweep
from mer_bench.types import TaskKind


def _space(task: TaskKind) -> set[str]:
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    return set(METHODS.get("linear").task_search_space(trial, task))


def test_linear_space_depends_on_task():
    assert _space(QUADRANT) == {"C"}
    assert _space(BINARY_AROUSAL) == {"C"}
    assert _space(STATIC_VA) == {"alpha"}


@pytest.mark.slow  # a whole CLI sweep; tests/test_sweep_mlflow.py runs the command in the fast tier
def test_sweep_never_draws_alpha_for_classes_and_prints_a_working_run(tmp_path):
    storage = f"sqlite:///{tmp_path / 'sweeps.db'}"
    spec = RunSpec(method="linear", dataset="synth-small", task="quadrant", features="mfcc",
                   protocol="kfold:2", seed=3)
    result = sweep(spec, make_tracker("memory"), 3, storage=storage, study_name="s")
    study = optuna.load_study(study_name="s", storage=storage)
    assert study.trials and all(set(t.params) == {"C"} for t in study.trials)

    line = reproduce_command(spec, result.best_params, roots=["synth-small=/data/s"])
    args = shlex.split(line)
    assert args[:2] == ["mer-bench", "run"] and "--smoke" not in args
    sets = [args[i + 1] for i, a in enumerate(args) if a == "--set"]
    assert "seeds=[3]" in sets
    c_value = yaml.safe_load(next(s for s in sets if s.startswith("C=")).partition("=")[2])
    assert c_value == result.best_params["C"]  # every digit, not a rounded print
    assert args[args.index("--root") + 1] == "synth-small=/data/s"

    # the printed command runs as given (without the made-up root) and scores test folds
    runnable = [a for a in args[2:] if a not in ("--root", "synth-small=/data/s")]
    env = {**os.environ, "MLFLOW_TRACKING_URI": "", "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "mer_bench.cli", "run", *runnable,
                           "--tracking-uri", "memory"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "seed3" in done.stdout and "1 finished" in done.stdout
