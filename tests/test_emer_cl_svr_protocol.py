"""emer-cl-svr as Table 3 ran it: all 90 % of each fold, PMEmo's SVR on [0, 1], the
grid-search rule beside the rows."""

from __future__ import annotations

import numpy as np
import pytest

from mer_bench.errors import ConfigError
from mer_bench.methods import METHODS, FitContext, FoldData
from mer_bench.methods.emer_cl.method import EmerCL
from mer_bench.methods.emer_cl.svr import EmerCLSVR
from mer_bench.metrics import score
from mer_bench.papers import load_paper, papers_dir
from mer_bench.runs.resolving import resolve
from mer_bench.tasks import STATIC_VA
from mer_bench.types import Task, Track


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


def _stub_embeddings(monkeypatch) -> None:
    """No EMER-CL training: the SVR sees each clip's mean frame (fast, deterministic)."""
    monkeypatch.setattr(EmerCL, "fit", lambda self, *a, **k: self)
    monkeypatch.setattr(EmerCLSVR, "embed",
                        lambda self, data: np.stack([f.mean(axis=0) for f in data.features]))


def _static(n: int, seed: int) -> FoldData:
    rng = np.random.default_rng(seed)
    tracks, feats, targets = [], [], []
    for i in range(n):
        va = rng.uniform(-0.9, 0.9, size=2)
        frames = np.tile(np.r_[va, va[0] * va[1]], (5, 1)) + 0.05 * rng.standard_normal((5, 3))
        tracks.append(Track(id=f"c{seed}-{i}", audio_path=None, static_va=tuple(va),
                            dynamic_va=np.tile(va, (3, 1))))
        feats.append(frames)
        targets.append(va)
    return FoldData(Task("toy", STATIC_VA), tuple(tracks), tuple(feats), tuple(targets))


def _fit_predict(overrides: dict, tmp_path) -> np.ndarray:
    cls = METHODS.get("emer-cl-svr")
    params = cls.make_params({"C_grid": (1.0,), "gamma_grid": (1.0,), **overrides})
    ctx = FitContext(seed=0, out_dir=tmp_path, make_trainer=lambda **kw: None)
    return cls(params, 0).fit(_static(60, 0), None, ctx).predict(_static(30, 1))


def test_unit_scale_is_the_svr_of_the_papers_01_scale_mapped_back(monkeypatch, tmp_path):
    """On y01 = (y + 1) / 2, SVR(C, eps) is SVR(2C, 2eps) on y (w and b double), so the
    paper's epsilon 0.1 on PMEmo's [0, 1] is 0.2 on [-1, 1], not 0.1; predictions come back
    on [-1, 1], so R² is unchanged by the mapping and RMSE is twice the [0, 1] RMSE."""
    _stub_embeddings(monkeypatch)
    unit = _fit_predict({"target_scale": "unit", "C_grid": (1.0,), "epsilon": 0.1}, tmp_path)
    same = _fit_predict({"C_grid": (2.0,), "epsilon": 0.2}, tmp_path)
    plain = _fit_predict({"C_grid": (1.0,), "epsilon": 0.1}, tmp_path)
    gap = np.abs(unit - same).max()  # libsvm's stopping tolerance is absolute: close, not equal
    assert gap < 3e-3
    assert np.abs(unit - plain).max() > 10 * gap  # the scale matters for an RBF SVR
    y = _static(30, 1).y
    on_unit = score("static_va", (y + 1) / 2, (unit + 1) / 2)
    on_canonical = score("static_va", y, unit)
    assert on_canonical["rmse_valence"] == pytest.approx(2 * on_unit["rmse_valence"])
    assert on_canonical["r2_arousal"] == pytest.approx(on_unit["r2_arousal"])


def test_bad_target_scale_is_a_clear_error():
    cls = METHODS.get("emer-cl-svr")
    with pytest.raises(ConfigError, match="target_scale='percent' is not one of"):
        cls.validate_params(cls.make_params({"target_scale": "percent"}), STATIC_VA)


def test_pmemo_rows_fit_the_papers_scale_and_compare_rmse_doubled(rows):
    for (table, label), row in rows.items():
        if table != "table3":
            continue
        scale = row.run["method_params"].get("target_scale", "canonical")
        assert scale == ("unit" if row.run["dataset"] == "pmemo" else "canonical"), label
        if row.metric.startswith("rmse_"):
            assert row.published_as == "unit_scale_rmse"
            assert row.comparable == pytest.approx(2 * row.published)
            assert "twice the printed [0, 1] RMSE" in " ".join(row.note.split())
        else:
            assert not row.published_as and row.comparable == row.published


def test_the_grid_search_rule_is_stated_beside_the_table_3_rows(rows):
    from typer.testing import CliRunner

    from mer_bench.cli import app

    rule = "C and gamma per fold and axis by the mean R² of an inner 5-fold CV on the training fold"
    table3 = [r for (t, _), r in rows.items() if t == "table3"]
    assert table3 and all(rule in " ".join(r.note.split()) for r in table3)
    out = CliRunner().invoke(app, ["reproduce", "takashima2023", "--list", "--verbose"],
                             env={"COLUMNS": "400"}).output
    listed = " ".join(out.split())
    assert ("C and gamma chosen per fold and per axis by the mean R² of an inner 5-fold CV on "
            "the training fold") in listed
    assert "trained on all 90 % of each fold" in listed
    assert "select on the validation part and train on the rest of the 80 %" in listed
