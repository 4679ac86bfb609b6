"""`mer-bench list plans` and `list papers`: what exists, and what can run here."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mer_bench.cli import app
from mer_bench.papers import load_papers


def _listed(*args: str) -> str:
    result = CliRunner().invoke(app, ["list", *args], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return result.output


def test_plans_are_listed_with_what_they_hold() -> None:
    text = _listed("plans")
    quick = next(line for line in text.splitlines() if line.startswith("│ quick "))
    assert "synth" in quick and "chance, linear" in quick and "quadrant, static_va" in quick
    koh = next(line for line in text.splitlines() if line.startswith("│ koh2021-4q "))
    assert "embedding-classifiers x6" in koh


def test_papers_are_listed_with_rows_and_what_can_run_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MER_BENCH_DATA", str(tmp_path))  # no dataset folder anywhere
    for name in ("4Q", "DEAM", "PMEMO", "EMOMUSIC", "ISEAR", "ALM", "AUDIOSET_MOOD"):
        monkeypatch.delenv(f"MER_BENCH_{name}_ROOT", raising=False)
    text = _listed("papers")
    for paper in load_papers():
        rows = [r for t in paper.tables for r in t.rows]
        runnable = sum(r.run is not None for r in rows)
        line = next(line for line in text.splitlines() if line.startswith(f"│ {paper.name} "))
        cells = [c.strip() for c in line.strip("│").split("│")]
        assert cells[3:5] == [str(len(rows)), str(runnable)], line
        synthetic = sum(r.run is not None and r.spec().dataset.startswith("synth") for r in rows)
        assert cells[5] == str(synthetic), line  # only generated data is found here
