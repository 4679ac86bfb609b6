"""Tagging tables: ranked by macro PR-AUC; per-tag values folded away and in the CSV."""

from __future__ import annotations

import csv
import io
import re

import pytest

from mer_bench.data.synthetic import SYNTH_MOODS
from mer_bench.leaderboard.build import build_tables
from mer_bench.leaderboard.render import render_csv, render_html, render_markdown
from mer_bench.tracking.base import FoldRecord

TAGS = SYNTH_MOODS.tag_names  # bright, dark, energetic, calm


def _records(method: str, level: float, task: str = "synth_moods") -> list[FoldRecord]:
    """Three folds; every per-tag PR-AUC is ``level`` + a per-tag offset."""
    tags = {"task": task, "dataset": "synth-small", "method": method, "features": "mfcc",
            "protocol": "kfold:3", "variant": "", "weights": "none", "seed": "0"}
    out = []
    for fold in range(3):
        metrics = {"pr_auc_macro": level + 0.01 * fold, "roc_auc_macro": level + 0.1,
                   "f1_macro": level - 0.1, "tags_scored": 4.0}
        if task == "synth_moods":
            for i, tag in enumerate(TAGS):
                metrics[f"pr_auc_{tag}"] = level + 0.01 * i + 0.001 * fold
                metrics[f"roc_auc_{tag}"] = 0.9 - 0.01 * i
        else:
            metrics = {"macro_f1": level + 0.01 * fold, "accuracy": level}
        out.append(FoldRecord(f"{method}{fold}", f"p-{method}", {**tags, "fold": f"fold{fold}",
                                                                 "fold_split_hash": f"h{fold}"},
                              metrics))
    return out


@pytest.fixture(scope="module")
def table():
    (table,) = build_tables(_records("chance", 0.3) + _records("mlp", 0.8)
                            + _records("rf", 0.6))
    return table


def test_tagging_table_ranks_by_macro_pr_auc(table):
    assert table.primary_metric == "pr_auc_macro"
    assert [r.method for r in table.rows] == ["mlp", "rf", "chance"]
    assert table.metrics[0] == "pr_auc_macro" and "pr_auc_bright" not in table.metrics
    assert table.detail_metrics == tuple(f"{m}_{t}" for t in TAGS for m in ("pr_auc", "roc_auc"))
    mlp = table.rows[0]
    assert mlp.stat("pr_auc_dark").mean == pytest.approx(0.811) and mlp.stat("pr_auc_dark").n == 3
    assert mlp.stat("pr_auc_dark").ci_low <= 0.811 <= mlp.stat("pr_auc_dark").ci_high


def test_markdown_folds_the_per_tag_values(table):
    text = render_markdown([table])
    main = text.split("<details>")[0]
    assert "pr_auc_bright" not in main  # the main table shows the summary only
    blocks = re.findall(r"<details><summary>(.*?)</summary>(.*?)</details>", text, re.S)
    by_summary = {s: body for s, body in blocks}
    assert set(by_summary) >= {"Per-tag pr_auc (4 tags)", "Per-tag roc_auc (4 tags)"}
    pr = by_summary["Per-tag pr_auc (4 tags)"]
    assert "| # | method | features | variant | weights | pr_auc_bright ↑ |" in pr
    mlp_line = next(line for line in pr.splitlines() if "| mlp |" in line)
    assert "0.811 [" in mlp_line and "roc_auc" not in pr


def test_html_folds_the_per_tag_values(table):
    page = render_html([table])
    section = page.split('<section id="')[1]
    main, folded = section.split("<details>", 1)
    assert "pr_auc_calm" not in main
    assert "<summary>Per-tag pr_auc (4 tags)</summary>" in folded
    assert "<summary>Per-tag roc_auc (4 tags)</summary>" in folded
    assert "pr_auc_calm ↑</th>" in folded and "0.811 [" in folded


def test_csv_carries_the_per_tag_values(table):
    lines = list(csv.DictReader(io.StringIO(render_csv([table]))))
    mlp = {line["metric"]: line for line in lines if line["method"] == "mlp"}
    assert {f"pr_auc_{t}" for t in TAGS} | {f"roc_auc_{t}" for t in TAGS} <= set(mlp)
    assert float(mlp["pr_auc_dark"]["mean"]) == pytest.approx(0.811)
    assert mlp["pr_auc_dark"]["primary"] == "false" and mlp["pr_auc_macro"]["primary"] == "true"


def test_classification_tables_have_no_details():
    (table,) = build_tables(_records("mlp", 0.8, task="quadrant"))
    assert table.detail_metrics == () and not table.rows[0].details
    assert "Per-tag" not in render_markdown([table]) and "Per-tag" not in render_html([table])
