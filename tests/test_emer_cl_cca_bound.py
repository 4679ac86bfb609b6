"""EMER-CL's CCA degeneracy: n paired samples of two D-dimensional views force
2D - (n - 1) canonical correlations to 1 once n - 1 < 2D (not only when n <= D)."""

from __future__ import annotations

import numpy as np
import pytest

from mer_bench.methods import METHODS, FitContext, FoldData
from mer_bench.methods.emer_cl.losses import cca_rank_deficient, forced_correlations
from mer_bench.methods.emer_cl.method import SOUND_CCA, RankDeficiencyWarning
from mer_bench.methods.emer_cl.scoring import LinearCCA
from mer_bench.methods.emer_cl.training import smallest_batch
from mer_bench.tasks import M2E_E2M_RETRIEVAL
from mer_bench.training import TrainerSettings, make_trainer
from mer_bench.types import Task, Track

TINY = {"mlp_units": (8, 8), "gru_units": (8, 8), "gru_hidden": 4, "epochs": 1, "lr": 3e-3,
        "dropout": 0.0}


@pytest.mark.parametrize(("n", "dim", "forced"), [
    (1441, 1024, 608),  # DEAM's training set at the paper's D: 608 noise dims at rho = 1
    (512, 300, 89),     # a full batch is not enough for D = 300
    (48, 64, 47),       # PMEmo's last batch (560 = 512 + 48) at the sound cca_dim
    (128, 256, 127),    # n <= D: all n - 1
    (512, 64, 0),       # the sound setting on a full batch
    (1441, 64, 0),
    (129, 64, 0),       # n - 1 = 2D exactly: nothing forced
])
def test_forced_correlations_on_hand_made_sizes(n, dim, forced):
    assert forced_correlations(n, dim) == forced
    assert cca_rank_deficient(n, dim) is (forced > 0)


def test_the_bound_matches_what_a_cca_finds_on_independent_noise():
    """n = 200, D = 150: n > D, yet 2 * 150 - 199 = 101 correlations reach 1 on pure noise."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((200, 150)), rng.standard_normal((200, 150))
    rho = LinearCCA.fit(x, y, ridge=1e-10).rho
    assert (rho >= 0.999).sum() == forced_correlations(200, 150) == 101
    assert (rho[101:] < 0.999).all()


@pytest.mark.parametrize(("n", "batch", "smallest"), [
    (560, 512, 48), (1441, 512, 417), (513, 512, 512), (100, 512, 100), (1024, 512, 512),
])
def test_smallest_batch_includes_the_last_partial_one(n, batch, smallest):
    assert smallest_batch(n, batch) == smallest


def test_pmemo_sound_setting_is_flagged_by_its_last_batch():
    n = smallest_batch(560, 512)
    assert cca_rank_deficient(n, SOUND_CCA["cca_dim"])
    assert not cca_rank_deficient(512, SOUND_CCA["cca_dim"])


def _pairs(n: int) -> FoldData:
    rng = np.random.default_rng(n)
    tracks, feats, curves = [], [], []
    for i in range(n):
        curve = rng.uniform(-1, 1, size=(4, 2))
        tracks.append(Track(id=f"t{i}", audio_path=None, dynamic_va=curve))
        feats.append(rng.standard_normal((6, 3)).astype(np.float32))
        curves.append(curve)
    task = Task("toy", M2E_E2M_RETRIEVAL)
    return FoldData(task, tuple(tracks), tuple(feats), tuple(curves))


def _ctx(tmp_path, logged: dict) -> FitContext:
    ctx = FitContext(seed=0, out_dir=tmp_path, make_trainer=lambda **kw: make_trainer(
        TrainerSettings(accelerator="cpu"), tmp_path, **kw))
    ctx.log_metrics = lambda m, step=None: logged.update(m)  # type: ignore[method-assign]
    return ctx


def test_a_tiny_run_is_tagged_by_its_last_batch_and_reports_its_largest_rho(tmp_path):
    """64 items in batches of 48 and 16, cca_dim 8: the full batch is sound (47 >= 16), the
    last one is not (15 < 16): the old n <= D check let it through."""
    cls = METHODS.get("emer-cl")
    logged: dict[str, float] = {}
    ctx = _ctx(tmp_path, logged)
    params = cls.make_params({**TINY, "embed_dim": 8, "batch_size": 48})
    with pytest.warns(RankDeficiencyWarning, match="n = 16 forces 1"):
        cls(params, 0).fit(_pairs(64), None, ctx)
    assert ctx.extra_tags == {"cca_rank_deficient": "true", "cca_n": "16", "cca_train_n": "64",
                              "cca_dim": "8", "cca_forced_batch": "1", "cca_forced_train": "0"}
    assert 0 < logged["cca_rho_max"] <= 1


def test_the_training_set_cca_is_flagged_and_its_forced_rho_reported(tmp_path):
    """40 items, one batch, cca_dim 24 > 40 / 2: 2 * 24 - 39 = 9 correlations forced in the
    post-hoc CCA, so its largest correlation is 1 whatever the towers learned (towers wide
    enough that each phi has full rank 24, as the paper's 1024-unit towers)."""
    cls = METHODS.get("emer-cl")
    logged: dict[str, float] = {}
    ctx = _ctx(tmp_path, logged)
    wide = {"mlp_units": (32, 32), "gru_units": (32, 32)}
    params = cls.make_params({**TINY, **wide, "embed_dim": 24, "batch_size": 64,
                              "cca_ridge": 1e-10})
    with pytest.warns(RankDeficiencyWarning):
        cls(params, 0).fit(_pairs(40), None, ctx)
    assert ctx.extra_tags["cca_rank_deficient"] == "true"
    assert ctx.extra_tags["cca_forced_train"] == "9"
    assert logged["cca_rho_max"] == pytest.approx(1.0, abs=1e-3)
    assert logged["cca_dims_at_P"] >= 9


def test_emer_cl_svr_rows_are_named_by_the_cca_flag():
    assert "cca_rank_deficient" in METHODS.get("emer-cl-svr").label_tags
