"""Method parameters are checked before anything runs: by the estimator's own constraints,
and against the fields the chosen task reads (a value a task ignores is refused)."""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

import pytest

from mer_bench import cli
from mer_bench.errors import ConfigError, MerBenchError
from mer_bench.methods import METHODS
from mer_bench.tasks import DYNAMIC_VA, STATIC_VA
from mer_bench.types import TaskKind


def _tasks(name: str) -> list[TaskKind]:
    return METHODS.get(name).supported_tasks()


# ---------------------------------------------------------------------------
# the contract, for every registered method
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", METHODS.names())
def test_defaults_and_smoke_params_validate_for_every_supported_task(name):
    cls = METHODS.get(name)
    for task in _tasks(name):  # the library checks themselves: validate_params trusts these
        cls.check_param_values(cls.make_params(), task)
        cls.check_param_values(cls.make_params(smoke=True), task)
        cls.validate_params(cls.make_params(smoke=True), task)


@pytest.mark.parametrize("name", METHODS.names())
def test_task_params_are_fields_of_the_params(name):
    cls = METHODS.get(name)
    fields = {f.name for f in dataclasses.fields(cls.Params)}
    for task in _tasks(name):
        assert cls.task_params(task) <= fields


@pytest.mark.parametrize("name", METHODS.names())
def test_search_spaces_draw_only_what_the_task_reads_and_validate(name):
    import optuna

    cls = METHODS.get(name)
    for task in _tasks(name):
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        for _ in range(3):
            drawn = cls.task_search_space(study.ask(), task)
            assert set(drawn) <= cls.task_params(task), (task.value, sorted(drawn))
            cls.validate_params(cls.make_params(drawn), task)


# (method, task, overrides, text the one-line message must contain): values each method's
# Params accept but its estimator, its libraries or the task refuse
BAD = [
    ("linear", "quadrant", {"C": -1}, "C=-1 is refused by scikit-learn"),
    ("linear", "quadrant", {"C": 0}, "C=0 is refused by scikit-learn"),
    ("linear", "binary_valence", {"max_iter": -5}, "max_iter=-5 is refused by scikit-learn"),
    ("linear", "static_va", {"alpha": -1}, "alpha=-1 is refused by scikit-learn"),
    ("linear", "static_va", {"C": 5}, "C=5 is ignored by static_va"),
    ("linear", "static_va", {"max_iter": 50}, "max_iter=50 is ignored by static_va"),
    ("linear", "quadrant", {"alpha": 3.0}, "alpha=3.0 is ignored by quadrant"),
    ("embedding-classifiers", "static_va", {"nb_var_smoothing": 1e-3},
     "nb_var_smoothing=0.001 is ignored by static_va"),
    ("embedding-classifiers", "static_va", {"classifier": "nb"}, "no static_va regression"),
    ("sssl", "quadrant", {"lr": -1.0}, "lr=-1.0 refused by torch.optim.SGD"),
    ("sssl", "quadrant", {"momentum": -0.5}, "momentum=-0.5 refused by torch.optim.SGD"),
    ("sssl", "quadrant", {"batch_size": 0}, "batch_size=0 refused by torch"),
    ("sssl", "quadrant", {"dropout": 1.5}, "dropout=1.5 refused by torch"),
    ("sssl", "binary_arousal", {"svm_C": -1.0}, "svm_C=-1.0 is refused by scikit-learn"),
    ("sssl", "quadrant", {"svm_kernel": "gauss"}, "svm_kernel='gauss' is refused"),
    ("sssl", "quadrant", {"theta": 2.0}, "theta in [0, 1]"),
    ("sssl", "quadrant", {"tau": 1.0}, "0 < tau < 1"),
    ("segment-vote", "quadrant", {"weight_decay": -1.0}, "weight_decay=-1.0 refused by torch"),
    ("segment-vote", "quadrant", {"optimizer": "adam", "lr": -1.0},
     "lr=-1.0 refused by torch.optim.Adam"),
    ("segment-vote", "quadrant", {"network": "resnet"}, "network='resnet'"),
    ("segment-vote", "quadrant", {"segment_s": 1, "n_mels": 16}, "vgg16 needs spectrograms"),
    ("segment-vote", "quadrant", {"label_noise": 1.0}, "label_noise must be in [0, 1)"),
    ("emer-cl", "m2e_e2m_retrieval", {"lr": -1.0}, "lr=-1.0 refused by torch.optim.Adam"),
    ("emer-cl", "m2e_e2m_retrieval", {"batch_size": 0}, "batch_size=0 refused by torch"),
    ("emer-cl", "m2e_e2m_retrieval", {"mlp_units": (8, 0)}, "mlp_units[1] must be >= 1"),
    ("emer-cl", "m2e_e2m_retrieval", {"lam": 2.0}, "lam must be in [0, 1]"),
    ("emer-cl", "m2e_e2m_retrieval", {"loss": "hinge"}, "loss='hinge' is not one of"),
    ("emer-cl-svr", "static_va", {"C_grid": (1.0, -1.0)}, "C_grid=-1.0 is refused by scikit"),
    ("emer-cl-svr", "static_va", {"gamma_grid": ("fast",)}, "gamma_grid='fast' is refused"),
    ("emer-cl-svr", "static_va", {"epsilon": -0.1}, "epsilon=-0.1 is refused by scikit-learn"),
    ("emer-cl-svr", "static_va", {"cv_folds": 1}, "cv_folds=1 refused by scikit-learn's KFold"),
    ("emer-cl-svr", "static_va", {"P": 0.9}, "P=0.9 is ignored by static_va"),
    ("emer-cl-svr", "static_va", {"direction": "m2e"}, "direction='m2e' is ignored by"),
    ("emer-cl-svr", "static_va", {"lam": 2.0}, "emer-cl-svr': lam must be in [0, 1]"),
    ("emer-reg-mlp", "m2e_e2m_retrieval", {"dropout": -0.1}, "dropout=-0.1 refused by torch"),
    ("emer-reg-mlp", "m2e_e2m_retrieval", {"units": (0,)}, "units[0] must be >= 1"),
    ("emer-reg-bigru", "m2e_e2m_retrieval", {"lr": -1.0}, "lr=-1.0 refused by torch"),
    ("emer-reg-bigru", "m2e_e2m_retrieval", {"m2e_units": (8, -1)}, "m2e_units[1] must be"),
    ("ae-bilstm", "binary_valence", {"lr": -1.0}, "lr=-1.0 refused by torch.optim.Adam"),
    ("ae-bilstm", "binary_arousal", {"ae_lr": 0.0}, "ae_lr must be > 0"),
    ("cnn-bilstm", "binary_valence", {"lr": 0.0}, "lr must be > 0"),
    ("dynamic-ridge", "dynamic_va", {"alpha": -1}, "alpha=-1 is refused by scikit-learn"),
    ("dynamic-bilstm", "dynamic_va", {"lr": -1.0}, "lr=-1.0 refused by torch.optim.Adam"),
    ("dynamic-bilstm", "dynamic_va", {"batch_size": 0}, "batch_size=0 refused by torch"),
    ("dynamic-bilstm", "dynamic_va", {"dropout": 1.0}, "dropout must be < 1"),
    ("dynamic-bilstm", "dynamic_va", {"hidden_size": 0}, "hidden_size must be >= 1"),
]
# text2music's Params refuse every value its torch checks would (lr, weight_decay,
# dropout, batch_size) when they are made: what is left for validate_params is the same
# refusal by the library, checked on Params built around that first check
LIBRARY_ONLY = [
    ("text2music", "text2music_retrieval", {"lr": -1.0}, "lr=-1.0 refused by torch.optim.Adam"),
    ("text2music", "text2music_retrieval", {"weight_decay": -1.0},
     "weight_decay=-1.0 refused by torch.optim.Adam"),
]


def _refused(name: str, task: str, overrides: dict, expected: str) -> None:
    cls = METHODS.get(name)
    params = cls.make_params(overrides)  # the Params accept it: only validation refuses
    with pytest.raises(MerBenchError) as info:
        cls.validate_params(params, TaskKind.parse(task))
    message = str(info.value)
    assert expected in message and "\n" not in message, message
    assert message.startswith(f"method {name!r}") or message.startswith(name), message


@pytest.mark.parametrize(("name", "task", "overrides", "expected"), BAD,
                         ids=[f"{b[0]}-{b[1]}-{b[2]}" for b in BAD])
def test_bad_values_are_refused(name, task, overrides, expected):
    _refused(name, task, overrides, expected)


@pytest.mark.parametrize(("name", "task", "overrides", "expected"), LIBRARY_ONLY,
                         ids=[f"{b[0]}-{b[2]}" for b in LIBRARY_ONLY])
def test_values_the_params_refuse_are_refused_by_the_library_too(name, task, overrides,
                                                                 expected):
    cls = METHODS.get(name)
    with pytest.raises(ConfigError):
        cls.make_params(overrides)
    # bypass the Params' own check to see the library's
    params = cls.make_params()
    object.__setattr__(params, *next(iter(overrides.items())))
    with pytest.raises(ConfigError, match=re.escape(expected)):
        cls.validate_params(params, TaskKind.parse(task))


def test_every_method_with_parameters_has_bad_values_listed():
    listed = {b[0] for b in BAD + LIBRARY_ONLY}
    shipped = [n for n in METHODS.names()  # not the ones tests register for themselves
               if METHODS.get(n).__module__.startswith("mer_bench.")]
    with_params = {n for n in shipped if dataclasses.fields(METHODS.get(n).Params)}
    assert with_params <= listed, sorted(with_params - listed)


def test_an_unsupported_task_is_refused():
    cls = METHODS.get("linear")
    with pytest.raises(MerBenchError, match="does not support dynamic_va"):
        cls.validate_params(cls.make_params(), DYNAMIC_VA)


def test_an_ignored_parameter_at_its_default_is_accepted():
    cls = METHODS.get("linear")
    cls.validate_params(cls.make_params({"C": 1.0, "alpha": 2.0}), STATIC_VA)


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
