"""One failing run never stops a bench; workers that lose or wait for runs say so."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mer_bench import cli
from mer_bench.commands.executing import HELD_EXIT
from mer_bench.config import RunSpec
from mer_bench.methods.baselines import Linear
from mer_bench.runs import Runner, RunnerSettings, resolve
from mer_bench.tracking import InMemoryTracker, lease
from mer_bench.tracking.base import FAILED, FINISHED, RUN, RUNNING


def _spec(method: str = "linear", seed: int = 0) -> RunSpec:
    return RunSpec(method=method, dataset="synth-small", task="quadrant", features="mfcc",
                   protocol="kfold:2", seed=seed)


def _runner(tracker: InMemoryTracker) -> Runner:
    return Runner(tracker, RunnerSettings(plots=False, progress=False))


def _boom(self, train, val, ctx):
    raise RuntimeError("boom in fit")


def test_a_failing_run_is_recorded_failed_and_the_rest_go_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Linear, "fit", _boom)
    tracker = InMemoryTracker()
    runs = [resolve(_spec("linear")), resolve(_spec("chance"))]
    outcomes = _runner(tracker).run_all(runs)
    assert [o.status for o in outcomes] == ["failed", "finished"]
    assert outcomes[0].error == "RuntimeError: boom in fit"
    (failed,) = [r for r in tracker.runs.values()
                 if r.tags.get("kind") == RUN and r.status == FAILED]
    assert failed.tags["error"] == "RuntimeError: boom in fit"
    assert "Traceback" in failed.artifacts["error.txt"].read_text()
    with pytest.raises(RuntimeError):  # --fail-fast: the first failure stops the bench
        _runner(InMemoryTracker()).run_all(runs, keep_going=False)


def test_bench_goes_on_writes_the_leaderboard_and_exits_non_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Linear, "fit", _boom)
    monkeypatch.chdir(tmp_path)
    args = ["bench", "quick", "--set", "datasets=[synth-small]", "--set", "methods=[linear,chance]",
            "--set", "tasks=[quadrant]", "--set", "features=[mfcc]", "--set", "seeds=1",
            "--set", "protocol=kfold:2", "--tracking-uri", "memory", "--out", "lb"]
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 1, result.output
    assert "failed linear" in result.output and "RuntimeError: boom in fit" in result.output
    assert "1 finished" in result.output and "1 failed" in result.output
    board = (tmp_path / "lb" / "README.md").read_text()
    assert "chance" in board
    fast = CliRunner().invoke(cli.app, [*args, "--fail-fast"])
    assert fast.exit_code != 0 and isinstance(fast.exception, RuntimeError)


def test_a_worker_whose_run_was_taken_over_notes_it_and_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tracker = InMemoryTracker()
    real_fit = Linear.fit
    taken = []

    def fit_then_lose(self, train, val, ctx):  # another worker takes the run over meanwhile
        if not taken:
            parent = tracker.runs[ctx.run_id].parent_id
            tracker.delete_run(parent)
            taken.append(parent)
        return real_fit(self, train, val, ctx)

    monkeypatch.setattr(Linear, "fit", fit_then_lose)
    outcomes = _runner(tracker).run_all([resolve(_spec(seed=0)), resolve(_spec(seed=1))])
    assert [o.status for o in outcomes] == ["lost", "finished"]
    assert "another worker took the run over" in outcomes[0].error


def _hold(tracker: InMemoryTracker, runner: Runner, spec: RunSpec, pid: int) -> str:
    """A RUNNING run of ``spec`` on the same data, leased to process ``pid`` on this host."""
    run = resolve(spec)
    prep = runner.data.identify(run)
    tags = {"kind": RUN, "config_hash": run.config_hash, "data_fingerprint": prep.fingerprint,
            **lease.lease_tags(), lease.PID: str(pid)}
    return tracker.start_run(run.name, tags)


def test_held_runs_are_named_and_waited_for_until_their_worker_is_gone() -> None:
    tracker = InMemoryTracker()
    runner = _runner(tracker)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _hold(tracker, runner, _spec(seed=1), sleeper.pid)
        runs = [resolve(_spec(seed=0)), resolve(_spec(seed=1))]
        outcomes = runner.run_all(runs)
        assert [o.status for o in outcomes] == ["finished", "held"]
        assert f":{sleeper.pid}" in outcomes[1].error
        def die() -> None:  # the other worker dies (and is reaped: a zombie still counts)
            sleeper.kill()
            sleeper.wait()

        threading.Timer(0.5, die).start()
        start = time.monotonic()
        outcomes = runner.wait_for_held(runs, outcomes, poll_s=0.2, timeout_s=30)
        assert [o.status for o in outcomes] == ["finished", "finished"]
        assert time.monotonic() - start < 30
    finally:
        sleeper.kill()
        sleeper.wait()
    finished = [r for r in tracker.runs.values()
                if r.tags.get("kind") == RUN and r.status == FINISHED and not r.deleted]
    assert len(finished) == 2
    assert not [r for r in tracker.runs.values() if r.status == RUNNING and not r.deleted]


def test_bench_exits_3_naming_runs_other_workers_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mer_bench.tracking

    monkeypatch.chdir(tmp_path)
    tracker = InMemoryTracker()  # the store another worker shares with this bench
    monkeypatch.setattr(mer_bench.tracking, "make_tracker", lambda uri=None: tracker)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        runner = Runner(tracker, RunnerSettings(plots=False, progress=False))
        _hold(tracker, runner, _spec(seed=0), sleeper.pid)
        args = ["bench", "quick", "--set", "datasets=[synth-small]", "--set", "methods=[linear]",
                "--set", "tasks=[quadrant]", "--set", "features=[mfcc]", "--set", "seeds=1",
                "--set", "protocol=kfold:2", "--tracking-uri", "memory", "--out", "lb"]
        result = CliRunner().invoke(cli.app, args)
        assert result.exit_code == HELD_EXIT, result.output
        assert f"held by worker {lease.this_host()}:{sleeper.pid}" in result.output
        assert "--wait" in result.output
    finally:
        sleeper.kill()
        sleeper.wait()
