"""Errors that help: near-miss suggestions, plan listing, blame on --set, --version, help texts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer

from mer_bench import __version__
from mer_bench.cli import app
from mer_bench.commands.plans import available_plans
from mer_bench.errors import ConfigError, UnknownNameError
from mer_bench.methods import METHODS
from mer_bench.suggest import did_you_mean


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "300", "MLFLOW_TRACKING_URI": ""}
    return subprocess.run([sys.executable, "-m", "mer_bench.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_registry_suggests_nearest_name():
    with pytest.raises(UnknownNameError, match=r"unknown method 'lineer'; did you mean 'linear'\?"):
        METHODS.get("lineer")
    assert did_you_mean("zzzzzz", ["linear", "chance"]) == ""


def test_unknown_parameter_suggests_nearest():
    with pytest.raises(ConfigError, match=r"did you mean 'max_iter'\?"):
        METHODS.get("linear").make_params({"max_iters": 3})


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-m", "lineer", "-d", "synth-small", "-t", "quadrant"], "did you mean 'linear'?"),
        (["-m", "linear", "-d", "synth-smal", "-t", "quadrant"], "did you mean 'synth-small'?"),
        (["-m", "linear", "-d", "synth-small", "-t", "quadrnt"], "did you mean 'quadrant'?"),
        (["-m", "linear", "-d", "synth-small", "-t", "quadrant", "-f", "mfc"],
         "did you mean 'mfcc'?"),
    ],
)
def test_run_suggests(tmp_path, args, expected):
    result = cli("run", *args, "--tracking-uri", "memory", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_plan_lists_plans_once(tmp_path):
    result = cli("bench", "quik", "--tracking-uri", "memory", cwd=tmp_path)
    assert result.returncode == 2
    assert "did you mean 'quick'?" in result.stderr
    plans = available_plans()
    assert "quick" in plans and len(plans) > 2
    for name in plans:
        assert name in result.stderr
    assert result.stderr.count("experiments/bench/quik.yaml") == 0  # no repeated paths


def test_bad_set_blames_option_not_plan(tmp_path):
    result = cli("bench", "quick", "--set", "seeds=abc", "--tracking-uri", "memory",
                 cwd=tmp_path)
    assert result.returncode == 2
    assert "--set seeds=abc" in result.stderr
    assert "quick.yaml" not in result.stderr


def test_bad_plan_file_is_blamed(tmp_path):
    (tmp_path / "bad.yaml").write_text(
        "name: bad\ndatasets: [synth-small]\ntasks: [quadrant]\nfeatures: [mfcc]\n"
        "methods: [chance]\nseeds: nope\n")
    result = cli("bench", "bad.yaml", "--set", "seeds=2", "--tracking-uri", "memory",
                 cwd=tmp_path)
    assert result.returncode == 2 and "bad.yaml" in result.stderr


def test_version(tmp_path):
    result = cli("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"mer-bench {__version__}"


def _commands(group: click.Command, path: str = ""):
    yield path or "mer-bench", group
    for name, sub in getattr(group, "commands", {}).items():
        yield from _commands(sub, f"{path} {name}".strip())


def test_every_option_has_help():
    missing = [
        f"{where}: {'/'.join(p.opts)}"
        for where, command in _commands(typer.main.get_command(app))
        for p in command.params
        if isinstance(p, click.Option) and not (p.help or "").strip()
    ]
    assert missing == []


def test_feature_parameter_and_plan_entry_suggestions():
    from mer_bench.config import apply_overrides
    from mer_bench.features import FEATURES

    with pytest.raises(ConfigError, match=r"did you mean 'n_mfcc'\?"):
        FEATURES.get("mfcc")(n_mfc=40)
    with pytest.raises(ConfigError, match=r"did you mean 'linear'\?"):
        apply_overrides({"methods": ["chance", "linear"]}, ["methods.lineer.C=1"])
