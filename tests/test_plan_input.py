"""Plans, overrides and tracking URIs: refused or composed safely before anything runs.

Each test feeds the input a careless or hostile user could give (overrides in
either order, a store that forgets its runs, a plan file that is not text or
expands to gigabytes) and checks for one clear ``MerBenchError`` up front.
"""

from __future__ import annotations

import resource
import socket
import time
from pathlib import Path

import pytest
from fakes.cli import invoke

from mer_bench.config import MAX_SEED, MAX_SEEDS, BenchPlan, apply_overrides, load_plan
from mer_bench.errors import ConfigError, TrackingError
from mer_bench.plan_yaml import MAX_PLAN_BYTES, MAX_VALUE_CHARS

REPO = Path(__file__).resolve().parents[1]
QUICK = REPO / "experiments" / "bench" / "quick.yaml"




# --- 1. overrides compose the same in any order ---------------------------------------
ORDERED = ["methods.linear.C=0.001", "methods=[linear]", "tasks=[quadrant]",
           "features=[mfcc]", "seeds=1"]


def test_overrides_give_the_same_plan_in_any_order():
    forward = load_plan(QUICK, ORDERED)
    backward = load_plan(QUICK, ORDERED[::-1])
    assert isinstance(forward, BenchPlan) and forward == backward
    assert [(m.name, dict(m.params)) for m in forward.methods] == [("linear", {"C": 0.001})]


def test_run_style_qualified_overrides_compose_in_any_order():
    raw = {"methods": [{"name": "linear", "params": {}}]}
    a = apply_overrides(raw, ["methods.linear.params.C=0.5", "methods=[linear, chance]"])
    b = apply_overrides(raw, ["methods=[linear, chance]", "methods.linear.C=0.5"])
    assert a == b and a["methods"][0] == {"name": "linear", "params": {"C": 0.5}}


def test_an_override_that_another_would_drop_is_refused():
    with pytest.raises(ConfigError, match=r"methods=\[svm\]") as info:
        load_plan(QUICK, ["methods.linear.C=0.001", "methods=[svm]"])
    assert "\n" not in str(info.value) and "linear" in str(info.value)


@pytest.mark.parametrize("pair", [("seeds=1", "seeds=2"),
                                  ("methods.linear.C=0.1", "methods.linear.params.C=0.2")])
def test_two_different_values_for_one_key_conflict(pair):
    for items in (list(pair), list(pair[::-1])):
        with pytest.raises(ConfigError, match="conflict"):
            load_plan(QUICK, items)


def test_the_same_value_twice_is_not_a_conflict():
    plan = load_plan(QUICK, ["seeds=3", "seeds=3"])
    assert plan.seeds == (0, 1, 2)


# --- 2. run names show the non-default parameters ---------------------------------------
def _resolved(**params):
    from mer_bench.config import RunSpec
    from mer_bench.runs import resolve

    return resolve(RunSpec("linear", "synth", "quadrant", "mfcc", method_params=params))


def test_run_names_show_the_variant_with_short_floats():
    assert _resolved().name == "linear/synth/quadrant/mfcc/kfold:5/seed0"
    run = _resolved(C=0.11372)
    assert run.name == "linear[C=0.114]/synth/quadrant/mfcc/kfold:5/seed0"
    assert run.variant == "C=0.11372"  # the leaderboard's label keeps every digit
    assert _resolved(C=0.001).name.startswith("linear[C=0.001]/")


def test_the_name_is_not_part_of_the_config_hash(monkeypatch):
    from mer_bench.runs.resolving import ResolvedRun

    run = _resolved(C=0.5)
    monkeypatch.setattr(ResolvedRun, "name", property(lambda self: "something else"))
    assert _resolved(C=0.5).config_hash == run.config_hash
    assert "linear[" not in repr(run.config)


# --- 3. tracking URIs that lose runs, missing folders, unreachable servers -------------------
@pytest.mark.parametrize("uri", ["sqlite://", "sqlite:///", "sqlite:///:memory:",
                                 "sqlite+pysqlite:///:memory:"])
def test_in_memory_sqlite_stores_are_refused(uri, tmp_path, monkeypatch):
    from mer_bench.tracking import make_tracker

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="--tracking-uri memory") as info:
        make_tracker(uri)
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []  # no ..lock file


@pytest.mark.parametrize("command", [
    ["bench", "quick", "--set", "seeds=1"],
    ["run", "-m", "chance", "-d", "synth", "-t", "quadrant"],
    ["sweep", "-m", "linear", "-d", "synth", "-t", "quadrant", "-n", "1"],
])
def test_bench_run_and_sweep_refuse_an_in_memory_sqlite_store(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out = invoke(*command, "--tracking-uri", "sqlite:///:memory:")
    assert code == 2 and "--tracking-uri memory" in out
    assert not (tmp_path / "mlartifacts").exists()


def test_a_sqlite_store_in_a_missing_folder_names_the_folder(tmp_path):
    from mer_bench.tracking import make_tracker

    missing = tmp_path / "no" / "such"
    with pytest.raises(ConfigError, match=str(missing)):
        make_tracker(f"sqlite:///{missing / 'mlruns.db'}")
    assert not (tmp_path / "no").exists()


def test_the_sqlite_lock_does_not_create_folders(tmp_path):
    from mer_bench.tracking.stores import sqlite_lock

    with pytest.raises(ConfigError, match="does not exist"):
        with sqlite_lock(f"sqlite:///{tmp_path / 'missing' / 'sweeps.db'}"):
            pass
    assert not (tmp_path / "missing").exists()


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_mlflow_server_fails_fast_in_one_line(monkeypatch):
    from mer_bench.tracking import make_tracker

    uri = f"http://127.0.0.1:{_closed_port()}"
    start = time.perf_counter()
    with pytest.raises(TrackingError, match=f"cannot reach the MLflow tracking server {uri}:") \
            as info:
        make_tracker(uri)
    assert time.perf_counter() - start < 15
    assert "\n" not in str(info.value)


@pytest.mark.slow
def test_a_server_that_stops_answering_is_reported_within_15_s_by_the_retries(monkeypatch):
    """Without the port check, only MLflow's retries and timeouts bound the wait."""
    from mer_bench.tracking import make_tracker, mlflow_tracker

    for var in mlflow_tracker.HTTP_SETTINGS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(mlflow_tracker, "check_reachable", lambda uri: None)
    start = time.perf_counter()
    with pytest.raises(TrackingError, match="127.0.0.1") as info:
        make_tracker(f"http://127.0.0.1:{_closed_port()}")
    assert time.perf_counter() - start < 15
    assert "\n" not in str(info.value)


def test_the_http_client_gets_short_retries_unless_the_user_chose():
    from mer_bench.tracking.mlflow_tracker import http_settings

    env = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "77"}
    http_settings(env)
    retries = int(env["MLFLOW_HTTP_REQUEST_MAX_RETRIES"])
    backoff = int(env["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"])
    # urllib3 sleeps backoff * 2**i before retry i, MLflow adds up to 1 s of jitter to each
    assert backoff * (2**retries - 1) + retries < 15
    assert env["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "77"  # the user's choice stays


# --- 4. bad plan files -------------------------------------------------------------------
def test_a_plan_that_is_not_utf8_names_the_file_and_line(tmp_path):
    plan = tmp_path / "latin.yaml"
    plan.write_bytes(QUICK.read_bytes() + b"# caf\xe9\n")
    with pytest.raises(ConfigError, match=rf"{plan}.*line 11.*UTF-8"):
        load_plan(plan)


def _billion_laughs(levels: int = 9) -> str:
    """A flow mapping whose last entry expands to 9**levels strings (anchors, no new keys)."""
    items = ["l0: &a0 lol"]
    items += [f"l{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "{" + ", ".join(items) + "}"


def test_a_billion_laughs_plan_is_refused_quickly_and_small(tmp_path):
    plan = tmp_path / "laughs.yaml"
    lines = QUICK.read_text().splitlines()
    plan.write_text("\n".join(
        f"description: {_billion_laughs()}" if line.startswith("description:") else line
        for line in lines) + "\n")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=str(plan)) as info:
        load_plan(plan)
    assert time.perf_counter() - start < 1
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB
    assert "alias" in str(info.value) and "\n" not in str(info.value)


def test_a_recursive_alias_is_refused(tmp_path):
    plan = tmp_path / "loop.yaml"
    lines = [line for line in QUICK.read_text().splitlines() if not line.startswith("descr")]
    plan.write_text("\n".join([*lines, "description: &t [*t]", ""]))
    with pytest.raises(ConfigError, match=rf"{plan}.*line 10.*alias"):
        load_plan(plan)


def test_override_values_get_the_same_bounded_loader():
    with pytest.raises(ConfigError, match="alias"):
        apply_overrides({"name": "x"}, [f"description={_billion_laughs(7)}"])


@pytest.mark.parametrize("item", [f"seeds={MAX_SEEDS + 1}", "seeds=100000000",
                                  f"seeds=[0, {MAX_SEED + 1}]", "seeds=[-1]",
                                  f"split_seed={MAX_SEED + 1}"])
def test_seed_counts_and_values_are_bounded(item):
    start = time.perf_counter()
    with pytest.raises(ConfigError, match="seed"):
        load_plan(QUICK, [item])
    assert time.perf_counter() - start < 1


def test_run_refuses_a_billion_seeds_in_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out = invoke("run", "-m", "chance", "-d", "synth", "-t", "quadrant",
                       "--seeds", "1000000000", "--tracking-uri", "memory")
    assert code == 2 and f"run: seeds is a count of at most {MAX_SEEDS}" in out


@pytest.mark.parametrize("digits", [5000, 100_000])
def test_overlong_numbers_are_config_errors(digits):
    with pytest.raises(ConfigError, match="methods.linear.C"):
        load_plan(QUICK, [f"methods.linear.C={'1' * digits}"])


def test_run_refuses_an_overlong_number_in_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out = invoke("run", "-m", "linear", "-d", "synth", "-t", "quadrant",
                       "--set", f"C={'1' * 100_000}", "--tracking-uri", "memory")
    assert code == 2 and "C=" in out and len(out) < 1000


def test_sweep_refuses_an_overlong_number_in_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out = invoke("sweep", "-m", "linear", "-d", "synth", "-t", "quadrant", "-n", "1",
                       "--set", f"C={'1' * 100_000}", "--tracking-uri", "memory")
    assert code == 2 and "--set C=" in out and len(out) < 1000
    assert not (tmp_path / "sweeps.db").exists()


def test_overlong_strings_in_a_plan_name_the_file_and_line(tmp_path):
    plan = tmp_path / "long.yaml"
    plan.write_text(QUICK.read_text() + f"split_seed: {'9' * 200}\n"
                    + f"trainer: {{precision: {'x' * (MAX_VALUE_CHARS + 1)}}}\n")
    with pytest.raises(ConfigError, match=rf"{plan}.*line 11"):
        load_plan(plan)


def test_an_overlong_plan_file_is_refused_before_it_is_parsed(tmp_path):
    plan = tmp_path / "huge.yaml"
    plan.write_text(QUICK.read_text() + "#" * MAX_PLAN_BYTES + "\n")
    with pytest.raises(ConfigError, match=rf"{plan}.*MiB"):
        load_plan(plan)


def test_a_plan_within_the_bounds_still_loads():
    plan = load_plan(QUICK, [f"seeds={MAX_SEEDS}", "description=" + "d" * MAX_VALUE_CHARS])
    assert len(plan.seeds) == MAX_SEEDS and len(plan.description) == MAX_VALUE_CHARS
