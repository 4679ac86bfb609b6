"""A table of thousands of rows (a sweep) charts its best rows and chance, not all of them."""

from __future__ import annotations

from mer_bench.leaderboard import build_tables
from mer_bench.leaderboard.charts import CHART_ROWS, chart_svg
from mer_bench.tracking.base import FoldRecord


def _records(n_rows: int) -> list[FoldRecord]:
    out = []
    for i in range(n_rows):
        method = "chance" if i == 0 else "svm"
        tags = {"task": "quadrant", "dataset": "synth", "method": method, "features": "mfcc",
                "protocol": "kfold:2", "variant": f"C={i}", "seed": "0", "weights": "real"}
        for fold in range(2):
            value = 0.1 if method == "chance" else 0.2 + i / (2 * n_rows) + 0.01 * fold
            out.append(FoldRecord(f"r{i}-{fold}", f"p{i}", {**tags, "fold": str(fold)},
                                  {"macro_f1": value}))
    return out


def test_chart_keeps_the_best_rows_and_chance() -> None:
    (table,) = build_tables(_records(CHART_ROWS + 25))
    svg = chart_svg(table)
    assert svg.count("<g id=\"patch_") > CHART_ROWS  # bars (and the axes' patch)
    assert f"The best {CHART_ROWS} of {CHART_ROWS + 25} rows and the baselines" in svg
    assert "chance · mfcc (C=0) (majority class)" in svg
    best, worst = table.rows[0].label, table.rows[CHART_ROWS].label
    assert best.replace("$", r"\$").split(" (")[0] in svg and worst not in svg


def test_small_tables_chart_every_row_without_a_note() -> None:
    (table,) = build_tables(_records(5))
    assert "The best" not in chart_svg(table)
