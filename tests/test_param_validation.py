"""Method parameters are checked before anything runs: by the estimator's own constraints,
and against the fields the chosen task reads (a value a task ignores is refused)."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from mer_bench import cli
from mer_bench.errors import ConfigError
from mer_bench.methods import METHODS
from mer_bench.types import TaskKind


def _tasks(name: str) -> list[TaskKind]:
    return sorted(METHODS.get(name).supports, key=lambda k: k.value)


# ---------------------------------------------------------------------------
# the contract, for every registered method
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", METHODS.names())
def test_defaults_and_smoke_params_validate_for_every_supported_task(name):
    cls = METHODS.get(name)
    for task in _tasks(name):
        cls.validate_params(cls.make_params(), task)
        cls.validate_params(cls.make_params(smoke=True), task)


@pytest.mark.parametrize("name", METHODS.names())
def test_task_params_are_fields_of_the_params(name):
    cls = METHODS.get(name)
    fields = {f.name for f in dataclasses.fields(cls.Params)}
    for task in _tasks(name):
        assert cls.task_params(task) <= fields


# (method, task, overrides, text the one-line message must contain)
BAD = [
    ("linear", "quadrant", {"C": -1}, "C=-1"),
    ("linear", "quadrant", {"C": 0}, "C=0"),
    ("linear", "binary_valence", {"max_iter": -5}, "max_iter=-5"),
    ("linear", "static_va", {"alpha": -1}, "alpha=-1"),
    ("linear", "static_va", {"C": 5}, "C=5 is ignored by static_va"),
    ("linear", "static_va", {"max_iter": 50}, "max_iter=50 is ignored by static_va"),
    ("linear", "quadrant", {"alpha": 3.0}, "alpha=3.0 is ignored by quadrant"),
]


def _refused(name: str, task: str, overrides: dict, expected: str) -> None:
    cls = METHODS.get(name)
    with pytest.raises(ConfigError) as info:
        cls.validate_params(cls.make_params(overrides), TaskKind.parse(task))
    message = str(info.value)
    assert expected in message and "\n" not in message, message


@pytest.mark.parametrize(("name", "task", "overrides", "expected"), BAD,
                         ids=[f"{b[0]}-{b[1]}-{b[2]}" for b in BAD])
def test_bad_values_are_refused(name, task, overrides, expected):
    _refused(name, task, overrides, expected)


def test_an_ignored_parameter_at_its_default_is_accepted():
    cls = METHODS.get("linear")
    cls.validate_params(cls.make_params({"C": 1.0, "alpha": 2.0}), TaskKind.STATIC_VA)


def test_a_message_names_what_the_task_reads():
    _refused("linear", "static_va", {"C": 5}, "(it reads alpha)")
    _refused("linear", "quadrant", {"alpha": 2.0}, "(it reads C, max_iter)")


# ---------------------------------------------------------------------------
# the command line: exit code 2, one line, nothing run
# ---------------------------------------------------------------------------
@pytest.fixture()
def nothing_runs(monkeypatch):
    """Fail the test if the CLI gets as far as a tracker or a run."""
    import mer_bench.runs
    import mer_bench.tracking

    def boom(*args, **kwargs):
        raise AssertionError("the CLI went on after a refused parameter")

    monkeypatch.setattr(mer_bench.tracking, "make_tracker", boom)
    monkeypatch.setattr(mer_bench.runs, "expand", boom)


def _main(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["mer-bench", *args])
    with pytest.raises(SystemExit) as info:
        cli.main()
    return info.value.code, capsys.readouterr().err


RUN = ("run", "--method", "linear", "--dataset", "synth", "--tracking-uri", "memory", "--smoke")


@pytest.mark.usefixtures("nothing_runs")
@pytest.mark.parametrize(("task", "setting", "expected"), [
    ("quadrant", "C=-1", "C=-1 is refused by scikit-learn"),
    ("static_va", "alpha=-1", "alpha=-1 is refused by scikit-learn"),
    ("static_va", "C=5", "C=5 is ignored by static_va"),
    ("static_va", "C=0", "C=0 is ignored by static_va"),
    ("static_va", "max_iter=-5", "max_iter=-5 is ignored by static_va"),
])
def test_cli_run_refuses_before_anything_runs(monkeypatch, capsys, task, setting, expected):
    code, stderr = _main(monkeypatch, capsys, *RUN, "--task", task, "--set", setting)
    assert code == 2
    assert expected in stderr
    assert stderr.strip().count("\n") == 0 and "Traceback" not in stderr, stderr


@pytest.mark.usefixtures("nothing_runs")
def test_cli_bench_checks_every_task_of_the_plan(monkeypatch, capsys, tmp_path: Path):
    plan = tmp_path / "plan.yaml"
    plan.write_text("name: two-tasks\ndatasets: [synth]\ntasks: [quadrant, static_va]\n"
                    "features: [mfcc]\nmethods:\n  - {name: linear, params: {C: 0.5}}\n")
    code, stderr = _main(monkeypatch, capsys, "bench", str(plan), "--tracking-uri", "memory",
                         "--smoke", "--no-leaderboard")
    assert code == 2
    assert "C=0.5 is ignored by static_va" in stderr


def test_cli_sweep_refuses_a_fixed_value_the_task_ignores(monkeypatch, capsys, tmp_path):
    import mer_bench.tuning

    def boom(*args, **kwargs):
        raise AssertionError("the sweep started after a refused parameter")

    monkeypatch.setattr(mer_bench.tuning, "sweep", boom)
    code, stderr = _main(monkeypatch, capsys, "sweep", "--method", "linear", "--dataset",
                         "synth", "--task", "static_va", "--set", "C=5", "--storage",
                         f"sqlite:///{tmp_path / 's.db'}", "--tracking-uri", "memory")
    assert code == 2
    assert "C=5 is ignored by static_va" in stderr
    assert not (tmp_path / "s.db").exists()
