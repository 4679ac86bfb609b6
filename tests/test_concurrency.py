"""Several workers on one tracking store: leases, takeover of abandoned runs, no duplicates."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from mer_bench.config import RunSpec
from mer_bench.runner import Runner, RunnerSettings, resolve
from mer_bench.tracking import InMemoryTracker, lease
from mer_bench.tracking.base import FINISHED, RUN, RUNNING

REPO = Path(__file__).resolve().parents[1]


def _spec(method: str = "linear", seed: int = 0) -> RunSpec:
    return RunSpec(method=method, dataset="synth-small", task="quadrant", features="mfcc",
                   protocol="kfold:2", seed=seed)


def _runner(tracker=None) -> Runner:
    return Runner(tracker or InMemoryTracker(), RunnerSettings(plots=False, progress=False))


@pytest.fixture(scope="module")
def sqlite_uri(tmp_path_factory) -> str:
    """One migrated sqlite store for the module (creating one costs seconds)."""
    from mer_bench.tracking import make_tracker

    uri = f"sqlite:///{tmp_path_factory.mktemp('store') / 'mlruns.db'}"
    make_tracker(uri)
    return uri


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


# --- the lease rules -------------------------------------------------------------


def test_a_lease_is_abandoned_only_when_its_worker_is_gone_or_silent():
    now = time.time()
    fresh = {lease.HOST: lease.this_host(), lease.PID: str(os.getpid()),
             lease.HEARTBEAT: f"{now:.3f}"}
    assert not lease.is_abandoned(fresh, now)
    assert lease.is_abandoned({}, now)  # no lease: nobody to wait for
    assert lease.is_abandoned({**fresh, lease.HEARTBEAT: f"{now - 301:.3f}"}, now)
    elsewhere = {**fresh, lease.HOST: "another-machine", lease.PID: "1"}
    assert not lease.is_abandoned(elsewhere, now)  # its PID means nothing here
    assert lease.is_abandoned({**elsewhere, lease.HEARTBEAT: f"{now - 301:.3f}"}, now)
    gone = _sleeper()
    gone.kill()
    gone.wait()
    assert lease.is_abandoned({**fresh, lease.PID: str(gone.pid)}, now)


def test_a_run_held_by_a_live_worker_is_skipped_and_taken_over_once_it_dies():
    runner = _runner()
    tracker = runner.tracker
    run = resolve(_spec())
    other = _sleeper()
    try:
        held = tracker.start_run(run.name, {"kind": RUN, "config_hash": run.config_hash,
                                            **lease.lease_tags(), lease.PID: str(other.pid)})
        outcome = runner.run(run)
        assert outcome.status == "held" and str(other.pid) in outcome.error
        assert tracker.runs[held].status == RUNNING and not tracker.runs[held].deleted
    finally:
        other.kill()
        other.wait()
    outcome = runner.run(run)
    assert outcome.status == "finished"
    assert tracker.runs[held].deleted
    live = [r for r in tracker.runs.values()
            if r.tags.get("kind") == RUN and not r.deleted]
    assert [r.status for r in live] == [FINISHED]


def test_of_two_simultaneous_claims_the_later_withdraws():
    """A worker that claims a config at the same moment as another sees the other's earlier
    claim right after its own, deletes its own and moves on."""

    class RacingTracker(InMemoryTracker):
        rival: str | None = None

        def start_run(self, name, tags, params=None, parent_id=None):
            if tags.get("kind") == RUN and self.rival is None:
                early = {**tags, **lease.lease_tags(time.time() - 1)}
                self.rival = super().start_run(name, early)  # the other worker, a bit earlier
            return super().start_run(name, tags, params, parent_id)

    tracker = RacingTracker()
    outcome = _runner(tracker).run(resolve(_spec()))
    assert outcome.status == "held" and outcome.run_id == tracker.rival
    mine = [r for r in tracker.runs.values() if r.run_id != tracker.rival]
    assert all(r.deleted for r in mine)


def test_a_running_run_renews_its_heartbeat():
    beats: list[dict[str, str]] = []
    with lease.Heartbeat(beats.append, interval_s=0.05):
        time.sleep(0.3)
    assert len(beats) >= 3
    assert float(beats[-1][lease.HEARTBEAT]) > float(beats[0][lease.HEARTBEAT])


def test_deleting_a_parent_deletes_its_folds(sqlite_uri):
    from mer_bench.tracking import make_tracker

    tracker = make_tracker(sqlite_uri)
    parent = tracker.start_run("p", {"kind": RUN, "config_hash": "x"})
    child = tracker.start_run("f", {"kind": "fold"}, parent_id=parent)
    tracker.delete_run(parent)
    for rid in (parent, child):
        assert tracker.client.get_run(rid).info.lifecycle_stage == "deleted"
    tracker.delete_run(parent)  # a run another worker deleted already: not an error


# --- real processes on one sqlite store ------------------------------------------

PLAN = textwrap.dedent("""\
    name: workers
    datasets: [synth-small]
    tasks: [quadrant]
    features: [mfcc]
    methods: [chance, linear]
    protocol: kfold:2
    seeds: 2
""")


def test_four_bench_workers_split_one_plan_with_no_duplicates(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    uri = f"sqlite:///{tmp_path / 'new.db'}"  # does not exist yet: the schema race too
    cmd = [sys.executable, "-m", "mer_bench.cli", "bench", str(plan), "--tracking-uri", uri,
           "--no-leaderboard"]
    env = {**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    workers = [subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for _ in range(4)]
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    print(f"\n4 workers, 4 runs: {time.perf_counter() - start:.1f} s")
    assert all(w.returncode == 0 for w in workers), outputs
    from mer_bench.tracking import make_tracker

    tracker = make_tracker(uri)
    runs = tracker._search(f"tags.kind = '{RUN}'")
    finished = Counter(r.data.tags["config_hash"] for r in runs if r.info.status == FINISHED)
    assert len(finished) == 4 and set(finished.values()) == {1}, finished
    assert not [r for r in runs if r.info.status == RUNNING]
    computed = sum(int(re.search(r"done in [\d.]+ s: (\d+) finished", o).group(1))
                   for o in outputs)
    assert computed == 4  # every run computed exactly once over the four workers


SLOW_WORKER = textwrap.dedent("""\
    import sys, time
    sys.path.insert(0, {tests!r})
    from test_concurrency import register_slow, slow_spec
    from mer_bench.runner import Runner, RunnerSettings, resolve
    from mer_bench.tracking import make_tracker
    register_slow()
    Runner(make_tracker({uri!r}), RunnerSettings(plots=False, progress=False)).run(
        resolve(slow_spec()))
""")


def register_slow() -> None:
    """``test-slow``: ``linear`` whose fit sleeps $MER_BENCH_TEST_SLEEP seconds (not hashed)."""
    from mer_bench.methods import METHODS
    from mer_bench.methods.baselines import Linear

    class Slow(Linear):
        name = "test-slow"

        def fit(self, train, val, ctx):
            time.sleep(float(os.environ.get("MER_BENCH_TEST_SLEEP", "0")))
            return super().fit(train, val, ctx)

    if "test-slow" not in METHODS:
        METHODS._items["test-slow"] = Slow


def slow_spec() -> RunSpec:
    return _spec("test-slow")


def test_a_killed_workers_run_is_taken_over(tmp_path, sqlite_uri):
    from mer_bench.tracking import make_tracker

    uri = sqlite_uri
    script = SLOW_WORKER.format(tests=str(Path(__file__).parent), uri=uri)
    env = {**os.environ, "MER_BENCH_TEST_SLEEP": "120", "OMP_NUM_THREADS": "1"}
    worker = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    register_slow()
    tracker = make_tracker(uri)
    run = resolve(slow_spec())
    deadline = time.time() + 120
    while time.time() < deadline and worker.poll() is None:
        infos = tracker.find_runs(run.config_hash)
        if infos and infos[0].status == RUNNING:  # claimed (it now fits for minutes)
            break
        time.sleep(0.3)
    assert worker.poll() is None, worker.stderr.read()
    runner = _runner(tracker)
    assert runner.run(run).status == "held"  # alive: its run is left alone
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    outcome = runner.run(run)  # its PID is gone: the run is abandoned and redone here
    assert outcome.status == "finished"
    runs = tracker._search(f"tags.kind = '{RUN}' and tags.config_hash = '{run.config_hash}'")
    assert [r.info.status for r in runs] == [FINISHED]
