"""Long steps show progress (epochs with loss and ETA, folds k/K), in a terminal and in
logs, and third-party deprecation noise is silenced without hiding our own warnings."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from mer_bench.config import BenchPlan
from mer_bench.noise import silence_third_party
from mer_bench.runs import Runner, expand
from mer_bench.tracking import make_tracker
from mer_bench.training.callbacks import EpochProgress

LEAF = ("`isinstance(treespec, LeafSpec)` is deprecated, use `isinstance(treespec, TreeSpec) "
        "and treespec.is_leaf()` instead.")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _epochs(stream: io.StringIO, n: int) -> str:
    progress = EpochProgress("  ae-bilstm fold 2/5", stream=stream, min_interval_s=0.0)
    trainer = SimpleNamespace(current_epoch=0, max_epochs=n, callback_metrics={})
    progress.on_train_start(trainer, None)
    for epoch in range(n):
        trainer.current_epoch = epoch
        trainer.callback_metrics = {"train_loss": torch.tensor(1.0 / (epoch + 1)),
                                    "val_macro_f1": torch.tensor(0.5)}
        progress.on_train_epoch_end(trainer, None)
    progress.on_train_end(trainer, None)
    return stream.getvalue()


def test_log_output_gets_one_line_per_block_of_epochs():
    text = _epochs(io.StringIO(), 40)
    lines = text.splitlines()
    assert 4 <= len(lines) <= 11  # a block of epochs per line, not one per epoch
    assert lines[0].startswith("  ae-bilstm fold 2/5 · epoch 1/40 · train_loss 1.0000")
    assert "ETA" in lines[0]
    assert "epoch 40/40" in lines[-1] and "train_loss 0.0250" in lines[-1]
    assert "\r" not in text


def test_terminal_output_rewrites_one_line():
    text = _epochs(_Tty(), 5)
    assert text.count("\n") == 1 and text.endswith("\n")  # one line, kept when done
    assert text.count("\r") == 5  # rewritten at each of the 5 epochs
    assert "epoch 5/5" in text and "fold 2/5" in text


def test_third_party_noise_silenced_own_warnings_kept():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        silence_third_party()
        warnings.warn(LEAF, stacklevel=1)
        warnings.warn("mer-bench: something the user should see", UserWarning, stacklevel=1)
        warnings.warn("our own deprecation", DeprecationWarning, stacklevel=1)
    messages = [str(w.message) for w in caught]
    assert LEAF not in messages
    assert "mer-bench: something the user should see" in messages
    assert "our own deprecation" in messages


def test_runs_report_each_fold_k_of_k():
    said: list[str] = []
    plan = BenchPlan.from_dict({"name": "p", "datasets": ["synth-small"], "tasks": ["quadrant"],
                                "features": ["mfcc"], "methods": ["linear"],
                                "protocol": "kfold:3"})
    runs, _ = expand(plan)
    Runner(make_tracker("memory"), report=said.append).run_all(runs)
    folds = [line for line in said if line.strip().startswith("fold ")]
    assert [line.split(":")[0].strip() for line in folds] == ["fold 1/3", "fold 2/3", "fold 3/3"]
    assert "ETA" in folds[0] and "ETA" not in folds[-1]


def _cli_env() -> dict[str, str]:
    repo = str(Path(__file__).resolve().parents[1])
    return {**os.environ, "MLFLOW_TRACKING_URI": "", "COLUMNS": "200",
            "PYTHONPATH": repo + os.pathsep + os.environ.get("PYTHONPATH", "")}


ARGS = ["-m", "mer_bench.cli", "run", "-m", "ae-bilstm", "-d", "synth-small", "-t",
        "binary_arousal", "--smoke", "-p", "kfold:2", "--tracking-uri", "memory"]


@pytest.mark.slow
def test_neural_run_in_a_log_shows_epochs_and_no_leafspec(tmp_path):
    result = subprocess.run([sys.executable, *ARGS], cwd=tmp_path, env=_cli_env(),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "fold 1/2 · epoch 1/" in result.stderr and "ETA" in result.stderr
    assert "fold 2/2:" in result.stdout
    assert "LeafSpec" not in result.stderr + result.stdout


@pytest.mark.slow
def test_neural_run_in_tmux_shows_progress(tmp_path):
    tmux = shutil.which("tmux")
    if tmux is None:
        pytest.skip("tmux is not installed")
    session = f"merbench{os.getpid()}"
    log = tmp_path / "screen.txt"
    command = " ".join([sys.executable, *ARGS]) + f"; echo EXIT=$? > {tmp_path / 'rc'}"
    env = _cli_env()
    subprocess.run([tmux, "new-session", "-d", "-s", session, "-x", "220", "-y", "50",
                    "-c", str(tmp_path), "-e", f"PYTHONPATH={env['PYTHONPATH']}",
                    "-e", "MLFLOW_TRACKING_URI=", command + "; sleep 30"], check=True)
    seen = ""
    try:
        deadline = time.monotonic() + 600
        while not (tmp_path / "rc").exists() and time.monotonic() < deadline:
            screen = subprocess.run([tmux, "capture-pane", "-p", "-t", session],
                                    capture_output=True, text=True).stdout
            if "epoch" in screen:
                seen = screen
            time.sleep(0.3)
        final = subprocess.run([tmux, "capture-pane", "-p", "-t", session],
                               capture_output=True, text=True).stdout
        log.write_text(seen + "\n----\n" + final)
    finally:
        subprocess.run([tmux, "kill-session", "-t", session], capture_output=True)
    assert (tmp_path / "rc").read_text().strip() == "EXIT=0", final
    assert "fold 2/2:" in final and "LeafSpec" not in final
    assert "fold 1/2 · epoch 1/" in final and "ETA" in final


def test_package_metadata_installs_without_setuptools_warnings(monkeypatch):
    """``pip install -e .`` printed setuptools' license deprecation: none is left."""
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    repo = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(repo)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        apply_configuration(Distribution(), "pyproject.toml")
    assert [str(w.message) for w in caught] == []


def test_feature_progress_in_logs_prints_blocks(monkeypatch, capsys):
    """Without a terminal, long feature extraction prints about ten lines; quick work none."""
    import mer_bench.progress as progress

    clock = iter(float(t) for t in range(1000))
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock) * 3.0)
    with progress.ProgressBar(True, "features mfcc") as update:
        for done in range(1, 101):
            update(done, 100)
    lines = capsys.readouterr().err.splitlines()
    assert 9 <= len(lines) <= 11
    assert lines[-1].startswith("  features mfcc: 100/100") and "ETA" in lines[0]
    monkeypatch.setattr(progress.time, "perf_counter", lambda: 0.0)
    with progress.ProgressBar(True, "features mfcc") as update:
        update(320, 320)  # all from the cache at once
    assert capsys.readouterr().err == ""
