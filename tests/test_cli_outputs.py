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


def test_no_plots_leaves_the_png_artifacts_out(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import mer_bench.tracking

    monkeypatch.chdir(tmp_path)
    stores = {flag: InMemoryTracker() for flag in ("plots", "none")}
    for flag, tracker in stores.items():
        monkeypatch.setattr(mer_bench.tracking, "make_tracker", lambda uri=None, t=tracker: t)
        args = ["bench", "quick", "--set", "datasets=[synth-small]", "--set", "methods=[chance]",
                "--set", "tasks=[quadrant]", "--set", "features=[mfcc]", "--set", "seeds=1",
                "--set", "protocol=kfold:2", "--no-leaderboard"]
        result = CliRunner().invoke(app, [*args, "--no-plots"] if flag == "none" else args)
        assert result.exit_code == 0, result.output
    pngs = {flag: [a for r in t.runs.values() for a in r.artifacts if a.endswith(".png")]
            for flag, t in stores.items()}
    assert pngs["plots"] and not pngs["none"]
