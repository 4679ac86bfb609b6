"""Leaderboard build time from 1k, 10k and 100k fold records in an MLflow sqlite store.

Each store is written by ``leaderboard_store.populate`` (bulk SQL, not timed);
the build is the ``mer-bench leaderboard`` command itself (``cli.leaderboard``,
in-process: read the fold records, build the tables, write Markdown, CSV and
HTML). Rows compare each build with linear growth from the smallest size
(ratio <= 1: no worse than linear) and, up to ``SEARCH_MAX``, the fold-record
read with MLflow's run-by-run search that every build used before.
"""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.common import Row
from benchmarks.leaderboard_store import populate

SECTION = "leaderboard"
SEARCH_MAX = 10_000  # the search path takes minutes beyond this
GOAL = "no worse than linear; 100k < 60 s"


def _build(uri: str, out: Path) -> float:
    """Seconds of ``mer-bench leaderboard --tracking-uri uri --out out`` (in-process)."""
    from mer_bench.cli import leaderboard

    start = time.perf_counter()
    leaderboard(tracking_uri=uri, out=out)
    return time.perf_counter() - start


def _reads(uri: str) -> tuple[float, float]:
    """Seconds of the SQL read and of the MLflow search read of the same fold records."""
    from mer_bench.tracking.mlflow_tracker import MLflowTracker

    tracker = MLflowTracker(uri)
    start = time.perf_counter()
    fast = tracker.fold_records()
    sql_s = time.perf_counter() - start
    start = time.perf_counter()
    slow = tracker._searched_fold_records()
    search_s = time.perf_counter() - start
    if len(fast) != len(slow):
        raise RuntimeError(f"SQL read {len(fast)} records, search {len(slow)}")
    return sql_s, search_s


def _k(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def run(sizes: tuple[int, ...], tmp: Path) -> list[Row]:
    rows: list[Row] = []
    base: tuple[int, float] | None = None
    for n in sizes:
        folder = tmp / f"lb{n}"
        folder.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        uri = populate(folder / "mlruns.db", n)
        populate_s = time.perf_counter() - start
        if base is None:  # imports and matplotlib's font cache outside the clock
            _build(uri, folder / "warm-up")
        build_s = _build(uri, folder / "leaderboard")
        base = base or (n, build_s)
        linear = base[1] * n / base[0]
        extra = {"records": n, "build_s": build_s, "populate_s": populate_s}
        rows.append(Row(SECTION, f"build from {_k(n)} fold records", build_s, "s",
                        linear if n != base[0] else None,
                        f"linear from {_k(base[0])}" if n != base[0] else "", GOAL, extra))
        if n <= SEARCH_MAX:
            sql_s, search_s = _reads(uri)
            rows.append(Row(SECTION, f"read {_k(n)} fold records: SQL vs MLflow search",
                            sql_s, "s", search_s, "MlflowClient.search_runs (before)",
                            extra={"records": n}))
    return rows
