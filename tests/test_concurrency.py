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
from mer_bench.runs import Runner, RunnerSettings, resolve
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


def test_a_claim_that_a_rival_finished_meanwhile_withdraws_before_finishing():
    """A rival whose claim became visible only while we computed, and that finished first:
    we must not add a second FINISHED run of the config."""

    class LateRivalTracker(InMemoryTracker):
        rival: str | None = None

        def start_run(self, name, tags, params=None, parent_id=None):
            if tags.get("kind") == "fold" and self.rival is None:
                run_tags = {k: v for k, v in self.runs[parent_id].tags.items()}
                self.rival = super().start_run(name, {**run_tags, **lease.lease_tags()})
                self.end_run(self.rival, FINISHED)
            return super().start_run(name, tags, params, parent_id)

    tracker = LateRivalTracker()
    outcome = _runner(tracker).run(resolve(_spec()))
    assert outcome.status == "held" and outcome.run_id == tracker.rival
    kept = [r for r in tracker.runs.values() if r.tags.get("kind") == RUN and not r.deleted]
    assert [r.run_id for r in kept] == [tracker.rival]


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


def _workers(cmd: list[str], n: int, cwd: Path) -> tuple[list[str], float]:
    """Run ``n`` copies of a CLI command at once; their outputs and the wall time."""
    env = {**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": "1", "MER_BENCH_WAIT_POLL_S": "0.5"}
    start = time.perf_counter()
    workers = [subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for _ in range(n)]
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    return outputs, time.perf_counter() - start


def _four_bench_workers(tmp_path: Path, uri: str) -> float:
    """Four `mer-bench bench` processes on one plan and store: every run done exactly once."""
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    cmd = [sys.executable, "-m", "mer_bench.cli", "bench", str(plan), "--tracking-uri", uri,
           "--no-leaderboard", "--wait"]  # a worker done first waits for the others' runs
    outputs, seconds = _workers(cmd, 4, tmp_path)
    from mer_bench.tracking import make_tracker

    tracker = make_tracker(uri)
    runs = tracker._search(f"tags.kind = '{RUN}'")
    finished = Counter(r.data.tags["config_hash"] for r in runs if r.info.status == FINISHED)
    assert len(finished) == 4 and set(finished.values()) == {1}, finished
    assert not [r for r in runs if r.info.status == RUNNING]
    computed = sum(int(re.search(r"done in [\d.]+ s: (\d+) finished", o).group(1))
                   for o in outputs)
    assert computed == 4  # every run computed exactly once over the four workers
    return seconds


def _two_sweep_workers(tmp_path: Path, storage: str, uri: str) -> float:
    """Two `mer-bench sweep` processes on one study: the trial budget holds."""
    import optuna

    cmd = [sys.executable, "-m", "mer_bench.cli", "sweep", "-m", "linear", "-d", "synth-small",
           "-t", "quadrant", "-p", "kfold:2", "--trials", "4", "--storage", storage,
           "--study", "shared", "--tracking-uri", uri]
    _, seconds = _workers(cmd, 2, tmp_path)
    study = optuna.load_study(study_name="shared", storage=storage)
    done = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    finished = [t for t in study.trials if t.state in done]
    assert len(finished) == 4  # the budget holds exactly (MaxTrialsCallback)
    assert optuna.trial.TrialState.RUNNING not in [t.state for t in study.trials]
    return seconds


@pytest.mark.slow  # ~16 s; CI runs the same check on PostgreSQL (make test-postgres)
def test_four_bench_workers_split_one_plan_with_no_duplicates(tmp_path):
    # a store that does not exist yet: the workers also race to create its schema
    seconds = _four_bench_workers(tmp_path, f"sqlite:///{tmp_path / 'new.db'}")
    print(f"\nsqlite: 4 bench workers, 4 runs: {seconds:.1f} s")


SLOW_WORKER = textwrap.dedent("""\
    import sys, time
    sys.path.insert(0, {tests!r})
    from test_concurrency import register_slow, slow_spec
    from mer_bench.runs import Runner, RunnerSettings, resolve
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


def _killed_worker_is_taken_over(tmp_path: Path, uri: str) -> float:
    """A worker SIGKILLed while it fits: its run is held while it lives, redone after."""
    from mer_bench.tracking import make_tracker

    script = SLOW_WORKER.format(tests=str(Path(__file__).parent), uri=uri)
    env = {**os.environ, "MER_BENCH_TEST_SLEEP": "120", "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
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
    return time.perf_counter() - start


@pytest.mark.slow  # a real SIGKILLed process; CI runs the same on PostgreSQL (make test-postgres)
def test_a_killed_workers_run_is_taken_over(tmp_path, sqlite_uri):
    _killed_worker_is_taken_over(tmp_path, sqlite_uri)


# --- the same on PostgreSQL (a tier of its own: `make test-postgres`) -----------------


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return found[0].parent if found else None


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    """A throw-away PostgreSQL server on 127.0.0.1 (Debian's package, run as the `postgres`
    system user when we are root, since the server refuses to run as root)."""
    import shutil
    import socket
    import tempfile

    pytest.importorskip("psycopg2", reason="psycopg2 is not installed (pip install "
                        "psycopg2-binary)")
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries (Debian package 'postgresql'; "
                    ".ci/run installs it)")
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="mer-bench-pg-"))
    os.chmod(root, 0o755)
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres", "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = root / "data"

    def run(*cmd: str) -> None:
        subprocess.run([*as_user, *cmd], check=True, capture_output=True, text=True)

    run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"), "-o",
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "start")
    try:
        for db in ("mlflow", "optuna"):
            run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U",
                "postgres", db)
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.postgres
def test_postgres_four_bench_workers(tmp_path, postgres):
    seconds = _four_bench_workers(tmp_path, f"{postgres}/mlflow")
    print(f"\npostgres: 4 bench workers, 4 runs: {seconds:.1f} s")


@pytest.mark.postgres
def test_postgres_two_sweep_workers_hold_the_budget(tmp_path, postgres):
    seconds = _two_sweep_workers(tmp_path, f"{postgres}/optuna", f"{postgres}/mlflow")
    print(f"\npostgres: 2 sweep workers, 4 trials: {seconds:.1f} s")


@pytest.mark.postgres
def test_postgres_killed_worker_is_taken_over(tmp_path, postgres):
    seconds = _killed_worker_is_taken_over(tmp_path, f"{postgres}/mlflow")
    print(f"\npostgres: killed worker taken over: {seconds:.1f} s")
