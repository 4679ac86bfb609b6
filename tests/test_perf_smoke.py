"""``make perf`` at tiny sizes, so that the performance suite cannot rot unnoticed.

Every section runs (EMER-CL scoring at Q = 200, leaderboard builds from 100
and 200 fold records, two extractors on two 1 s synthetic clips, a one-run
plan, one method's fit) and must produce rows with a value, a named
reference where one is promised, the machine description and both output
files. The numbers themselves are not checked: at these sizes they are noise.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmarks.__main__ import run_suite

SECTIONS = {"emer-cl scoring", "leaderboard", "features", "front-end cache", "runner",
            "training"}


@pytest.mark.slow  # ~15 s: the whole perf harness at smoke size (make test-all)
def test_smoke_suite_writes_one_table_with_every_section(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    result = run_suite(smoke=True, out=out)
    saved = json.loads(out.read_text())
    assert saved["smoke"] is True and saved["rows"] == json.loads(json.dumps(result["rows"]))
    machine = saved["machine"]
    for key in ("cpu_count", "cpu_model", "ram_gb", "python", "torch", "date", "git_sha"):
        assert machine[key] not in (None, ""), key
    assert {r["section"] for r in saved["rows"]} == SECTIONS
    for row in saved["rows"]:
        assert math.isfinite(row["value"]) and row["value"] >= 0, row
        if row["reference"] is not None:
            assert row["reference_name"] and math.isfinite(row["ratio"]), row
    assert "| section |" in out.with_suffix(".md").read_text()
