"""``make test-gpu``'s script on a machine without a GPU: it skips loudly and exits 0,
fails with --require-gpu, and turns any failed step into a non-zero exit."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module
    spec.loader.exec_module(module)
    return module


def test_no_gpu_skips_with_a_reason_and_exit_0(gpu_check, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu_check.main([]) == 0
    out = capsys.readouterr().out
    assert "gpu-check: SKIPPED" in out and "sees no CUDA device" in out
    assert gpu_check.main(["--require-gpu"]) == 1
    assert "FAILED (--require-gpu)" in capsys.readouterr().out


def test_a_failed_step_exits_non_zero_and_names_it(gpu_check, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("Expected all tensors to be on the same device")

    monkeypatch.setattr(gpu_check, "no_gpu_reason", lambda: None)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "Fake GPU")
    monkeypatch.setattr(gpu_check, "gpu_tier", lambda: "1 passed")
    monkeypatch.setattr(gpu_check, "time_row", broken)
    assert gpu_check.main(["--skip", "ray"]) == 1
    out = capsys.readouterr().out
    assert "pytest -m gpu: ok" in out and "same device" in out
    assert "1/3 step(s) passed; FAILED: he2022 4Q fold on CUDA, sun-sssl 4Q fold on CUDA" in out


def test_the_timed_rows_are_4q_rows_of_their_papers(gpu_check):
    for paper, text in gpu_check.ROWS:
        row = gpu_check.find_row(paper, text)
        assert row.run["dataset"] == "4q"
    with pytest.raises(gpu_check.CheckFailed, match="no runnable row"):
        gpu_check.find_row("he2022", "no such row")
