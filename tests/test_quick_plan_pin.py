"""The quick plan's leaderboard, pinned (``make bench``'s default plan).

``fakes/quick_leaderboard.csv`` was written by ``mer-bench bench quick`` before
the runner was split into resolving / preparing / running; any later change
that moves a number, a config hash, a rank or a row fails here.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from typer.testing import CliRunner

from mer_bench.cli import app

PINNED = Path(__file__).parent / "fakes" / "quick_leaderboard.csv"
# what legitimately differs between checkouts: the commit and the package version
VOLATILE = {"git_sha", "mer_bench_version"}
NUMERIC = {"mean", "ci_low", "ci_high"}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        rows = [{k: v for k, v in row.items() if k not in VOLATILE} for row in csv.DictReader(fh)]
    for row in rows:  # a checkout with local edits flags its rows; that is not a result
        flags = [f for f in row["flags"].split("; ") if f and f != "uncommitted code"]
        row["flags"] = "; ".join(flags)
    return rows


def test_quick_plan_leaderboard_is_unchanged(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "leaderboard"
    result = CliRunner().invoke(app, ["bench", "quick", "--tracking-uri", "memory",
                                      "--out", str(out), "--no-plots"])  # numbers only
    assert result.exit_code == 0, result.output
    got, want = _rows(out / "leaderboard.csv"), _rows(PINNED)
    assert len(got) == len(want) == 28
    for g, w in zip(got, want, strict=True):
        g = {k: g.get(k) for k in w}  # columns added since (e.g. data_fingerprint) are new
        assert {k: v for k, v in g.items() if k not in NUMERIC} == {
            k: v for k, v in w.items() if k not in NUMERIC
        }
        # BLAS may order a sum differently on another machine: equal to 1e-9, not bit for bit
        for key in NUMERIC:
            assert math.isclose(float(g[key]), float(w[key]), rel_tol=1e-9), (key, g, w)
