"""One way to give dataset roots: --root NAME=PATH everywhere, plan-relative roots,
and bench validating every dataset once before the first run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from mer_bench.cli import app
from mer_bench.config import load_plan
from mer_bench.errors import ConfigError, UnknownNameError
from mer_bench.roots import apply_roots, parse_roots

PLAN = """
name: two
datasets: [{name: 4q, root: data/fourq}, {name: pmemo, root: ../elsewhere/pmemo}]
tasks: [quadrant, static_va]
features: [mfcc]
methods: [chance, linear]
protocol: kfold:3
"""


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "300", "MLFLOW_TRACKING_URI": ""}
    return subprocess.run([sys.executable, "-m", "mer_bench.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_every_data_command_takes_repeatable_root():
    group = typer.main.get_command(app)
    commands = {"bench": group.commands["bench"], "run": group.commands["run"],
                "sweep": group.commands["sweep"], "reproduce": group.commands["reproduce"],
                "features extract": group.commands["features"].commands["extract"],
                "data check": group.commands["data"].commands["check"]}
    for where, command in commands.items():
        option = next(p for p in command.params if "--root" in p.opts)
        assert option.multiple, where
        assert "NAME=PATH" in option.help, where


def test_parse_roots_named_and_bare():
    assert parse_roots(["deam=/d", "pmemo=/p"]) == {"deam": "/d", "pmemo": "/p"}
    assert parse_roots(["/data/x"], single="deam") == {"deam": "/data/x"}
    with pytest.raises(ConfigError, match="NAME=PATH"):
        parse_roots(["/data/x"])
    with pytest.raises(UnknownNameError, match="did you mean 'deam'"):
        parse_roots(["deem=/d"])


def test_plan_relative_roots_resolve_against_plan_folder(tmp_path, monkeypatch):
    folder = tmp_path / "plans"
    folder.mkdir()
    (folder / "two.yaml").write_text(PLAN)
    monkeypatch.chdir(tmp_path)  # a different directory than the plan's
    plan = load_plan("plans/two.yaml")
    roots = {e.name: e.root for e in plan.datasets}
    assert roots["4q"] == str(folder / "data" / "fourq")
    assert roots["pmemo"] == str(tmp_path / "elsewhere" / "pmemo")
    # --root overrides the plan's folder; a dataset the plan does not read is refused
    plan = apply_roots(plan, ["pmemo=/mnt/p"])
    assert {e.name: e.root for e in plan.datasets}["pmemo"] == "/mnt/p"
    with pytest.raises(ConfigError, match="reads no dataset 'deam'"):
        apply_roots(plan, ["deam=/d"])
    with pytest.raises(ConfigError, match="NAME=PATH"):
        apply_roots(plan, ["/d"])  # two datasets: a bare path is ambiguous


def test_bench_validates_every_dataset_once_before_running(tmp_path):
    (tmp_path / "two.yaml").write_text(PLAN)
    result = cli("bench", "two.yaml", "--tracking-uri", "memory", "--no-leaderboard",
                 cwd=tmp_path)
    assert result.returncode == 2
    assert "nothing was run" in result.stderr
    assert result.stderr.count("does not exist") == 2  # one line per dataset, not per run
    assert result.stderr.count("error:") == 1
    assert "[1/" not in result.stdout  # no run started
    assert str(tmp_path / "data" / "fourq") in result.stderr


def test_run_accepts_named_and_bare_root(tmp_path):
    for root in (str(tmp_path / "nope"), f"4q={tmp_path / 'nope'}"):
        result = cli("run", "-m", "chance", "-d", "4q", "-t", "quadrant", "--root", root,
                     "--tracking-uri", "memory", cwd=tmp_path)
        assert result.returncode == 2
        assert f"root folder {tmp_path / 'nope'} does not exist" in result.stderr


def test_shipped_plans_point_at_the_shared_data_from_any_directory(tmp_path, monkeypatch):
    repo = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(tmp_path)
    plan = load_plan(repo / "experiments" / "bench" / "4q-subset.yaml")
    assert plan.datasets[0].root == str((repo.parent / "shared" / "data" / "4q").resolve())
    # every shipped plan's relative root lands in the shared data folder beside the checkout
    shared = (repo.parent / "shared" / "data").resolve()
    for path in sorted((repo / "experiments" / "bench").glob("*.yaml")):
        for entry in load_plan(path).datasets:
            if entry.root is not None:
                assert Path(entry.root).parent == shared, (path.name, entry.root)


def test_single_dataset_commands_refuse_another_datasets_root():
    from mer_bench.roots import single_root

    assert single_root(["/x"], "deam") == "/x"
    assert single_root(["deam=/x"], "deam") == "/x"
    assert single_root(None, "deam") is None
    with pytest.raises(ConfigError, match="reads only dataset 'deam'"):
        single_root(["pmemo=/p"], "deam")
