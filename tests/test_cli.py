"""The `mer-bench` command as a user runs it: subprocesses, a real MLflow sqlite store."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PLAN = """
name: tiny
datasets: [synth-small]
tasks: [quadrant, static_va]
features: [mfcc]
methods: [chance, linear]
protocol: kfold:3
seeds: [0]
"""


def mer_bench(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "MLFLOW_TRACKING_URI": ""}
    return subprocess.run(
        [sys.executable, "-m", "mer_bench.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def benched(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    work = tmp_path_factory.mktemp("bench")
    (work / "tiny.yaml").write_text(PLAN)
    first = mer_bench("bench", "tiny.yaml", cwd=work)
    return work, first


def _mlflow_runs(work: Path) -> list:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{work / 'mlruns.db'}")
    exp = client.get_experiment_by_name("mer-bench")
    return client.search_runs([exp.experiment_id], max_results=1000)


def test_bench_writes_mlflow_runs_and_a_leaderboard(benched):
    work, first = benched
    assert first.returncode == 0, first.stderr + first.stdout
    assert "4 finished, 0 already done, 0 failed" in first.stdout
    runs = _mlflow_runs(work)
    parents = [r for r in runs if r.data.tags.get("kind") == "run"]
    assert len(parents) == 4 and len(runs) == 4 + 4 * 3
    for run in parents:
        assert run.info.status == "FINISHED"
        assert {"git_sha", "config_hash", "split_hash", "hardware", "dataset_version"} <= set(
            run.data.tags
        )
        assert run.data.params["protocol"] == "kfold:3"
    assert (work / "mlartifacts").is_dir()
    readme = (work / "leaderboard" / "README.md").read_text()
    assert "quadrant" in readme and "static_va" in readme and "chance" in readme
    assert (work / "leaderboard" / "index.html").is_file()
    assert (work / "leaderboard" / "leaderboard.csv").is_file()


def test_second_bench_recomputes_nothing(benched):
    work, _ = benched
    before = len(_mlflow_runs(work))
    again = mer_bench("bench", "tiny.yaml", cwd=work)
    assert again.returncode == 0, again.stderr
    assert "0 finished, 4 already done" in again.stdout
    assert "computed" not in again.stdout  # no feature extraction at all
    assert len(_mlflow_runs(work)) == before


def test_data_check_lists_a_corrupt_file_and_fails(tmp_path):
    from mer_bench.data import DATASETS

    copy = tmp_path / "synth-small"
    shutil.copytree(DATASETS.get("synth-small")().root, copy)
    victim = sorted(copy.rglob("*.wav"))[2]
    victim.write_bytes(b"not audio at all" * 50)
    result = mer_bench("data", "check", "synth-small", "--root", str(copy), cwd=tmp_path)
    assert result.returncode == 1
    assert victim.name in result.stdout and "unreadable_audio" in result.stdout


def test_user_errors_are_one_clear_line(tmp_path):
    result = mer_bench(
        "run",
        "-m",
        "nosuch",
        "-d",
        "synth-small",
        "-t",
        "quadrant",
        "--tracking-uri",
        "memory",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "unknown method 'nosuch'; available:" in result.stderr
    assert "Traceback" not in result.stderr
    missing = mer_bench("data", "check", "4q", "--root", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_list_and_help(tmp_path):
    listing = mer_bench("list", cwd=tmp_path)
    assert listing.returncode == 0
    for name in ("synth", "mfcc", "logmel", "chance", "linear", "quadrant"):
        assert name in listing.stdout
    for command in ("bench", "run", "leaderboard", "data check", "data info", "list"):
        result = mer_bench(*command.split(), "--help", cwd=tmp_path)
        assert result.returncode == 0 and "Usage" in result.stdout


def test_status_lines_print_brackets_in_data_literally(capsys):
    """Row labels such as "SVR on [phi]" must not be read as Rich markup and vanish."""
    from mer_bench.commands.common import say as _say

    _say("DEAM, SVR on [phi], valence R²")
    _say("[bold]x[/bold]", markup=True)
    out = capsys.readouterr().out
    assert "SVR on [phi], valence" in out and "[bold]" not in out
