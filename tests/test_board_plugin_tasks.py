"""A store's runs of a task declared by a plug-in this process cannot import still
make a table: the runs tag their task's family and primary metric."""

from __future__ import annotations

from mer_bench.leaderboard.build import build_tables
from mer_bench.tracking.base import FoldRecord


def _records(method: str, values: list[float]) -> list[FoldRecord]:
    tags = {"task": "elsewhere_moods", "task_family": "tagging", "primary_metric": "pr_auc_macro",
            "dataset": "elsewhere", "method": method, "features": "mfcc", "protocol": "kfold:3",
            "seed": "0", "variant": "", "weights": "none"}
    return [
        FoldRecord(f"{method}{i}", f"p-{method}", {**tags, "fold": f"fold{i}"},
                   {"pr_auc_macro": v, "roc_auc_macro": 0.5 + v / 2, "pr_auc_calm": v})
        for i, v in enumerate(values)
    ]


def test_an_undeclared_task_is_ranked_by_its_tagged_primary_metric():
    records = _records("chance", [0.2, 0.25, 0.3]) + _records("linear", [0.6, 0.7, 0.65])
    tables = build_tables(records)
    (table,) = tables
    assert (table.task, table.primary_metric) == ("elsewhere_moods", "pr_auc_macro")
    assert [r.key.method for r in table.rows] == ["linear", "chance"]
    assert table.metrics[:2] == ("pr_auc_macro", "roc_auc_macro")


def test_runs_without_the_tags_are_still_skipped():
    records = [FoldRecord("r", "p", {"task": "elsewhere_moods", "dataset": "d"}, {"x": 1.0})]
    assert build_tables(records) == []
