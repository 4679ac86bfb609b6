"""emer-cl-svr as Table 3 ran it: all 90 % of each fold, the grid-search rule beside the
rows."""

from __future__ import annotations

import pytest

from mer_bench.methods import METHODS
from mer_bench.papers import load_paper, papers_dir
from mer_bench.runs.resolving import resolve


@pytest.fixture(scope="module")
def rows():
    paper = load_paper(papers_dir() / "takashima2023.yaml")
    return {(t.id, r.label): r for t in paper.tables for r in t.rows}


def test_emer_cl_svr_selects_on_validation_only_with_early_stopping():
    cls = METHODS.get("emer-cl-svr")
    assert not cls(cls.make_params({}), 0).selects_on_validation()
    assert cls(cls.make_params({"early_stopping_patience": 3}), 0).selects_on_validation()


def test_table_3_trains_on_the_whole_training_share_the_baselines_do_not(rows):
    """Table 3's runs merge kfold:10's validation part into training (DEAM 1459 -> 1621 of
    1802); the regression baselines keep their best validation epoch, so they keep it apart
    and their rows say so."""
    baselines = ("emer-reg-mlp", "emer-reg-bigru")
    table3 = [r for (t, _), r in rows.items() if t == "table3"]
    assert all(not r.run["method_params"].get("early_stopping_patience") for r in table3)
    for row in (table3[0], table3[-1]):  # DEAM and PMEmo: the rest differ in embedding only
        assert resolve(row.spec()).config["validation"] == "merged-into-train", row.label
    for row in rows.values():
        if row.run["method"] in baselines:
            assert "selects on it" in row.note and "1297 of 1441" in " ".join(row.note.split())
    baseline = next(r for r in rows.values() if r.run["method"] in baselines)
    assert "validation" not in resolve(baseline.spec()).config


def test_the_grid_search_rule_is_stated_beside_the_table_3_rows(rows):
    from typer.testing import CliRunner

    from mer_bench.cli import app

    rule = "C and gamma per fold and axis by the mean R² of an inner 5-fold CV on the training fold"
    table3 = [r for (t, _), r in rows.items() if t == "table3"]
    assert table3 and all(rule in " ".join(r.note.split()) for r in table3)
    out = CliRunner().invoke(app, ["reproduce", "takashima2023", "--list"],
                             env={"COLUMNS": "400"}).output
    listed = " ".join(out.split())
    assert ("C and gamma chosen per fold and per axis by the mean R² of an inner 5-fold CV on "
            "the training fold") in listed
    assert "trained on all 90 % of each fold" in listed
    assert "select on the validation part and train on the rest of the 80 %" in listed
