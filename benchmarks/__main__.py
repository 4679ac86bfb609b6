"""``python -m benchmarks [--smoke] [--out FILE]``: the performance suite (``make perf``).

Runs every section, prints one table and writes ``benchmarks/results.json``
(the machine description, every row with its reference and ratio, the wall
time) and ``benchmarks/results.md`` (the table, as the README shows it).
``--smoke`` runs tiny sizes, only to prove the suite still works.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import (
    bench_executor,
    bench_features,
    bench_frontend,
    bench_leaderboard,
    bench_runner,
    bench_scoring,
    bench_training,
)
from benchmarks.common import Row
from benchmarks.machine import describe
from benchmarks.table import render_markdown, render_text

HERE = Path(__file__).resolve().parent
SMOKE_RUNNER_PLAN = ("datasets=[synth-small]", "seeds=[0]", "tasks=[quadrant]",
                     "features=[mfcc]")


def sections(smoke: bool, tmp: Path) -> dict[str, Callable[[], list[Row]]]:
    """The suite's sections at full or smoke size, in the order they run."""
    if smoke:
        return {
            "scoring": lambda: bench_scoring.run((200,), d=32, kept=8, rounds=1),
            "leaderboard": lambda: bench_leaderboard.run((100, 200), tmp / "lb"),
            "features": lambda: bench_features.run(2, tmp / "feat", 1, synthetic_s=1.0,
                                                   extractors=("mfcc", "logmel")),
            "frontend": lambda: bench_frontend.run(tmp / "front", "synth-small", 1),
            "runner": lambda: bench_runner.run(tmp / "runner", SMOKE_RUNNER_PLAN, warm=False),
            "training": lambda: bench_training.run(tmp / "train", ("embedding-classifiers mlp",),
                                                   smoke=True),
        }
    return {
        "scoring": lambda: bench_scoring.run((1000, 10_000, 20_000)),
        "leaderboard": lambda: bench_leaderboard.run((1000, 10_000, 100_000), tmp / "lb"),
        "features": lambda: bench_features.run(8, tmp / "feat"),
        "frontend": lambda: bench_frontend.run(tmp / "front"),
        "runner": lambda: bench_runner.run(tmp / "runner"),
        "training": lambda: bench_training.run(tmp / "train"),
        "executor": lambda: bench_executor.run(tmp / "executor"),
    }


def run_suite(smoke: bool, out: Path | None, only: tuple[str, ...] = ()) -> dict[str, Any]:
    """Run the sections (all, or ``only``) under a throw-away ``$MER_BENCH_CACHE``."""
    start = time.perf_counter()
    machine = describe()
    rows: list[Row] = []
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="mer-bench-perf-") as tmp_name:
        tmp = Path(tmp_name)
        old_cache = os.environ.get("MER_BENCH_CACHE")
        os.environ["MER_BENCH_CACHE"] = str(tmp / "cache")
        try:
            for name, section in sections(smoke, tmp).items():
                if only and name not in only:
                    continue
                t0 = time.perf_counter()
                rows += section()
                seconds[name] = round(time.perf_counter() - t0, 1)
                print(f"[perf] {name}: {seconds[name]} s", file=sys.stderr, flush=True)
        finally:
            if old_cache is None:
                os.environ.pop("MER_BENCH_CACHE", None)
            else:
                os.environ["MER_BENCH_CACHE"] = old_cache
    wall = time.perf_counter() - start
    result = {"machine": machine, "smoke": smoke, "wall_s": round(wall, 1),
              "section_s": seconds, "rows": [r.as_dict() for r in rows]}
    if out is not None:
        out.write_text(json.dumps(result, indent=2, default=str) + "\n")
        out.with_suffix(".md").write_text(render_markdown(result))
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (seconds)")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    parser.add_argument("--only", nargs="*", default=(), help="run only these sections")
    args = parser.parse_args(argv)
    result = run_suite(args.smoke, args.out, tuple(args.only))
    print(render_text(result))


if __name__ == "__main__":
    main()
