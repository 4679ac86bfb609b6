"""What the commands leave and say: `run` rebuilds the leaderboard, a resumed bench says
what it redid."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mer_bench.cli import app
from mer_bench.config import RunSpec
from mer_bench.runs import Runner, RunnerSettings, resolve
from mer_bench.tracking import InMemoryTracker
from mer_bench.tracking.base import FAILED, RUN

RUN_ARGS = ["run", "-m", "chance", "-d", "synth-small", "-t", "quadrant", "-p", "kfold:2",
            "--tracking-uri", "memory"]


def test_run_rebuilds_the_leaderboard_and_names_its_page(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, [*RUN_ARGS, "--out", "lb"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "lb" / "index.html").is_file()
    assert "leaderboard: lb/index.html" in result.output.replace(str(tmp_path) + "/", "")
    skipped = CliRunner().invoke(app, [*RUN_ARGS, "--out", "none", "--no-leaderboard"])
    assert skipped.exit_code == 0 and not (tmp_path / "none").exists()


def test_a_resumed_bench_says_it_redoes_an_unfinished_attempt() -> None:
    tracker, said = InMemoryTracker(), []
    run = resolve(RunSpec(method="chance", dataset="synth-small", task="quadrant",
                          features="mfcc", protocol="kfold:2"))
    old = tracker.start_run(run.name, {"kind": RUN, "config_hash": run.config_hash})
    tracker.end_run(old, FAILED)
    runner = Runner(tracker, RunnerSettings(plots=False, progress=False), report=said.append)
    assert runner.run(run).status == "finished"
    assert any(f"earlier attempt (run {old}, failed)" in line and "redoing" in line
               for line in said)
