"""EMER-CL: losses against independent computations, scoring by hand, the method's contract."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
import torch

from mer_bench.errors import ConfigError, TaskError
from mer_bench.methods import METHODS, FitContext, FoldData
from mer_bench.methods.emer_cl.encoders import BiGRUEncoder, MLPEncoder
from mer_bench.methods.emer_cl.inputs import music_sequences
from mer_bench.methods.emer_cl.losses import (
    cca_loss,
    hinge_ranking_loss,
    kl_matrix,
    pairwise_kl,
    sym_inv_sqrt,
)
from mer_bench.methods.emer_cl.scoring import (
    Embeddings,
    LinearCCA,
    gamma_matrix,
    neg_kl_matrix,
    neg_l1_matrix,
    retrieval_scores,
)
from mer_bench.metrics import score
from mer_bench.tasks import M2E_E2M_RETRIEVAL, STATIC_VA
from mer_bench.training import TrainerSettings, make_trainer
from mer_bench.types import Task, Track

TASK = Task("toy", M2E_E2M_RETRIEVAL)


def _canonical_correlations(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Unregularised CCA the QR way (Bjorck & Golub): singular values of Qx' Qy."""
    qx, _ = np.linalg.qr(x - x.mean(axis=0))
    qy, _ = np.linalg.qr(y - y.mean(axis=0))
    return np.linalg.svd(qx.T @ qy, compute_uv=False)


def _correlated_views(n: int, dx: int, dy: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 3))
    x = z @ rng.standard_normal((3, dx)) + 0.5 * rng.standard_normal((n, dx))
    y = z @ rng.standard_normal((3, dy)) + 0.5 * rng.standard_normal((n, dy))
    return x, y


# --- losses ---------------------------------------------------------------------


def test_cca_loss_is_minus_the_sum_of_canonical_correlations():
    x, y = _correlated_views(300, 6, 4)
    expected = _canonical_correlations(x, y)
    loss = cca_loss(torch.tensor(x), torch.tensor(y), ridge=0.0)
    assert loss.dtype == torch.float64
    assert float(loss) == pytest.approx(-expected.sum(), rel=1e-8)
    # float32 inputs are computed in float64 and cast back
    loss32 = cca_loss(torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32),
                      ridge=0.0)
    assert loss32.dtype == torch.float32
    assert float(loss32) == pytest.approx(-expected.sum(), rel=1e-5)
    # the ridge shrinks the correlations
    assert float(cca_loss(torch.tensor(x), torch.tensor(y), ridge=1.0)) > float(loss)


def test_linear_cca_rho_matches_the_independent_computation():
    x, y = _correlated_views(400, 5, 5, seed=1)
    cca = LinearCCA.fit(x, y, ridge=0.0)
    np.testing.assert_allclose(cca.rho, _canonical_correlations(x, y), atol=1e-8)
    u, v = cca.music(x), cca.emotion(y)
    np.testing.assert_allclose(u.std(axis=0, ddof=1), 1.0, atol=1e-6)  # whitened coordinates
    # the regression lines are least-squares fits of one coordinate on the other
    slope, icpt = np.polyfit(u[:, 0], v[:, 0], 1)
    assert cca.slope_me[0] == pytest.approx(slope)
    assert cca.icpt_me[0] == pytest.approx(icpt, abs=1e-9)


@pytest.mark.parametrize("case", ["repeated", "constant", "small_batch", "duplicate_rows"])
def test_cca_loss_gradients_stay_finite_on_degenerate_batches(case):
    rng = np.random.default_rng(0)
    if case == "repeated":  # identical columns: repeated (zero) covariance eigenvalues
        base = rng.standard_normal((16, 1))
        x, y = np.repeat(base, 6, axis=1), np.repeat(base + 0.1, 6, axis=1)
    elif case == "constant":
        x, y = np.ones((16, 6)), rng.standard_normal((16, 6))
    elif case == "small_batch":  # N - 1 < D, as the paper's 512 < 1024
        x, y = rng.standard_normal((3, 8)), rng.standard_normal((3, 8))
    else:
        row = rng.standard_normal((1, 6))
        x, y = np.repeat(row, 8, axis=0), np.repeat(row, 8, axis=0)
    h1 = torch.tensor(x, requires_grad=True)
    h2 = torch.tensor(y, requires_grad=True)
    loss = cca_loss(h1, h2)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(h1.grad).all() and torch.isfinite(h2.grad).all()
    if case == "small_batch":  # at most N - 1 = 2 correlations, each <= 1
        assert -2.0 - 1e-6 <= float(loss) < 0


def test_cca_loss_rejects_a_batch_of_one():
    with pytest.raises(TaskError, match="at least 2"):
        cca_loss(torch.zeros(1, 3), torch.zeros(1, 3))


def test_inverse_square_root_and_its_gradient_match_finite_differences():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 4))
    spd = torch.tensor(a @ a.T + 0.5 * np.eye(4), requires_grad=True)
    root = sym_inv_sqrt(spd)
    np.testing.assert_allclose((root @ spd @ root).detach().numpy(), np.eye(4), atol=1e-10)
    assert torch.autograd.gradcheck(lambda m: sym_inv_sqrt(m @ m.T + torch.eye(4, dtype=m.dtype)),
                                    (torch.tensor(a, requires_grad=True),))
    # exactly repeated eigenvalues: autograd through eigh would divide by zero here
    eye = (2.0 * torch.eye(3, dtype=torch.float64)).requires_grad_()
    (sym_inv_sqrt(eye) * torch.arange(9.0, dtype=torch.float64).reshape(3, 3)).sum().backward()
    assert torch.isfinite(eye.grad).all()
    # d/dA tr(W A^-1/2) at A = 2I is -W_sym / (2 * 2^1.5)
    w = torch.arange(9.0, dtype=torch.float64).reshape(3, 3)
    np.testing.assert_allclose(eye.grad.numpy(), (-(w + w.T) / 2 / (2 * 2**1.5)).numpy())


def test_kl_matrix_matches_torch_distributions():
    rng = np.random.default_rng(2)
    mu_p, lv_p = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    mu_q, lv_q = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    dist = torch.distributions
    expected = np.array([[float(dist.kl_divergence(
        dist.Independent(dist.Normal(torch.tensor(mu_p[i]), torch.tensor(np.exp(lv_p[i] / 2))), 1),
        dist.Independent(dist.Normal(torch.tensor(mu_q[j]), torch.tensor(np.exp(lv_q[j] / 2))), 1),
    )) for j in range(4)] for i in range(3)])
    got = kl_matrix(*(torch.tensor(a) for a in (mu_p, lv_p, mu_q, lv_q))).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    np.testing.assert_allclose(neg_kl_matrix(mu_p, lv_p, mu_q, lv_q), -expected, rtol=1e-10)
    rev = pairwise_kl(*(torch.tensor(a) for a in (mu_q, lv_q, mu_p, lv_p)), form="emotion||music")
    np.testing.assert_allclose(rev.numpy(), expected.T, rtol=1e-10)
    # KL of a distribution with itself is 0
    self_kl = kl_matrix(*(torch.tensor(a) for a in (mu_p, lv_p, mu_p, lv_p))).numpy()
    np.testing.assert_allclose(np.diag(self_kl), 0.0, atol=1e-12)


def test_hinge_ranking_loss_hand_worked():
    # psi[i, j]: music i vs emotion j; positives on the diagonal
    dist = torch.tensor([[1.0, 3.0, 1.5],
                         [2.0, 0.5, 0.2],
                         [4.0, 4.0, 2.0]])
    # music anchors (rows), alpha = 1: row0: max(0,1+1-3)=0, max(0,1+1-1.5)=0.5
    # row1: max(0,.5+1-2)=0, max(0,.5+1-.2)=1.3; row2: max(0,2+1-4)=0 twice
    # emotion anchors (columns): col0: max(0,1+1-2)=0, max(0,1+1-4)=0
    # col1: max(0,.5+1-3)=0, max(0,.5+1-4)=0; col2: max(0,2+1-1.5)=1.5, max(0,2+1-.2)=2.8
    # KL(G) is the sum of r(.) over the batch (Eq. 6 and the text below it)
    expected = 0.5 + 1.3 + 1.5 + 2.8
    assert float(hinge_ranking_loss(dist, alpha=1.0)) == pytest.approx(expected)
    assert float(hinge_ranking_loss(dist, 1.0, reduction="mean")) == pytest.approx(expected / 3)
    # a big enough gap gives zero loss
    assert float(hinge_ranking_loss(torch.tensor([[0.0, 5.0], [5.0, 0.0]]), alpha=1.0)) == 0.0


# --- scoring ----------------------------------------------------------------------


def _toy_cca(rho, slope_me=None, icpt_me=None, slope_em=None, icpt_em=None) -> LinearCCA:
    k = len(rho)
    one, zero = np.ones(k), np.zeros(k)
    return LinearCCA(mean_m=np.zeros(k), mean_e=np.zeros(k), a=np.eye(k), b=np.eye(k),
                     rho=np.asarray(rho, float),
                     slope_me=one if slope_me is None else np.asarray(slope_me, float),
                     icpt_me=zero if icpt_me is None else np.asarray(icpt_me, float),
                     slope_em=one if slope_em is None else np.asarray(slope_em, float),
                     icpt_em=zero if icpt_em is None else np.asarray(icpt_em, float))


def test_gamma_hand_worked_with_threshold_and_directional_lines():
    cca = _toy_cca([0.9, 0.5, 0.1], slope_me=[2.0, 1.0, 1.0], icpt_me=[0.0, 1.0, 0.0],
                   slope_em=[0.5, 1.0, 1.0], icpt_em=[0.0, -1.0, 0.0])
    music = np.array([[1.0, 0.0, 7.0], [0.0, 2.0, -7.0]])
    emotion = np.array([[2.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    # P = 0.4 keeps dims 0 and 1; M2E line: g(u) = (2 u0, u1 + 1)
    # music0 -> (2, 1): vs emo0 (2, 1): 0; vs emo1 (1, 0): .9*1 + .5*1 = 1.4
    # music1 -> (0, 3): vs emo0: .9*2 + .5*2 = 2.8; vs emo1: .9*1 + .5*3 = 2.4
    m2e = gamma_matrix(cca, music, emotion, P=0.4, direction="m2e")
    np.testing.assert_allclose(m2e, -np.array([[0.0, 1.4], [2.8, 2.4]]))
    # E2M line: g(v) = (v0 / 2, v1 - 1); emo0 -> (1, 0), emo1 -> (.5, -1)
    # emo0 vs music0 (1, 0): 0; vs music1 (0, 2): .9 + 1.0 = 1.9
    # emo1 vs music0: .45 + .5 = .95; vs music1: .45 + 1.5 = 1.95
    e2m = gamma_matrix(cca, music, emotion, P=0.4, direction="e2m")
    np.testing.assert_allclose(e2m, -np.array([[0.0, 1.9], [0.95, 1.95]]))
    # P above every rho: no dimension, Gamma is zero
    assert not gamma_matrix(cca, music, emotion, P=0.95).any()


@pytest.mark.slow  # the numba JIT compile takes seconds
def test_numba_and_numpy_l1_kernels_agree():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((37, 5)), rng.standard_normal((41, 5))
    expected = -np.abs(x[:, None, :] - y[None, :, :]).sum(axis=2)
    np.testing.assert_allclose(neg_l1_matrix(x, y, use_numba=False), expected, rtol=1e-12)
    np.testing.assert_allclose(neg_l1_matrix(x, y, use_numba=True), expected, rtol=1e-12)


def test_composite_scores_and_rank_metrics_hand_worked():
    cca = _toy_cca([0.8])
    emb = Embeddings(phi_m=np.array([[0.0], [1.0], [3.0]]), mu_m=np.zeros((3, 1)),
                     logvar_m=np.zeros((3, 1)), phi_e=np.array([[0.2], [3.0], [1.1]]),
                     mu_e=np.array([[0.0], [1.0], [2.0]]), logvar_e=np.zeros((3, 1)))
    # Gamma[i, j] = -0.8 |m_i - e_j|; -KL[i, j] = -0.5 mu_e[j]^2 (mu_m = 0, unit variances)
    gamma = -0.8 * np.abs(emb.phi_m - emb.phi_e.T)
    neg_kl = -0.5 * np.array([[0.0, 1.0, 4.0]] * 3)
    got = retrieval_scores(emb, cca, "composite", lam=0.25, P=0.4, direction="m2e")
    np.testing.assert_allclose(got, 0.25 * gamma + 0.75 * neg_kl)
    np.testing.assert_allclose(retrieval_scores(emb, cca, "cca", 0.25, 0.4, "m2e"), gamma)
    np.testing.assert_allclose(retrieval_scores(emb, cca, "kl", 0.25, 0.4, "e2m"), neg_kl.T)
    # ranks with Gamma alone: music0 (0.0) ranks emo0 (0.2) first -> rank 1;
    # music1 (1.0): |1-.2|=.8, |1-3|=2, |1-1.1|=.1 -> its match emo1 ranks 3rd;
    # music2 (3.0): .. emo2 at |3-1.1| = 1.9 vs emo1 at 0 and emo0 at 2.8 -> rank 2
    metrics = score("m2e_e2m_retrieval", None, gamma)
    assert metrics["m2e_mean_rank"] == pytest.approx((1 + 3 + 2) / 3)
    assert metrics["m2e_mrr"] == pytest.approx((1 + 1 / 3 + 1 / 2) / 3)
    assert metrics["m2e_recall@1"] == pytest.approx(1 / 3)


@pytest.mark.slow
def test_q10000_vectorised_retrieval_under_10_seconds():
    """Composite M2E scores of 10,000 random query/candidate pairs at the paper's D = 1024.

    The KL term costs two [Q, 2D] x [2D, Q] products; Gamma costs Q^2 times the
    number of canonical dimensions with rho >= P, so the fitted CCA is given a
    fixed correlation profile (64 dimensions at or above P = 0.4) instead of
    being fitted on random data, whose spurious correlations would decide the
    cost.
    """
    from benchmarks.scoring_inputs import scoring_inputs

    q, d, kept = 10_000, 1024, 64
    emb, cca = scoring_inputs(q, d, kept)
    neg_l1_matrix(np.zeros((2, 1)), np.zeros((2, 1)), use_numba=True)  # JIT outside the clock
    start = time.perf_counter()
    sim = retrieval_scores(emb, cca, "composite", lam=0.5, P=0.4, direction="m2e")
    seconds = time.perf_counter() - start
    print(f"\nQ = {q}, D = {d}, {kept} canonical dims >= P: composite M2E in {seconds:.2f} s")
    assert sim.shape == (q, q) and np.isfinite(sim).all()
    assert seconds < 10.0


# --- the method on in-memory data --------------------------------------------------


def _fold(n: int, seed: int, hop: float | None = 0.25, frames: int = 24,
          dim: int = 6) -> FoldData:
    """Tracks whose frames are a noisy linear function of their (valence, arousal) curve."""
    rng = np.random.default_rng(seed)
    mix = np.random.default_rng(99).standard_normal((2, dim))
    tracks, features, targets = [], [], []
    for i in range(n):
        t_lab = int(rng.integers(4, 7))
        base = rng.uniform(-1, 1, size=2)
        curve = np.clip(base + 0.1 * rng.standard_normal((t_lab, 2)).cumsum(axis=0), -1, 1)
        length = int(rng.integers(frames - 4, frames + 1))
        idx = np.minimum((np.arange(length) * (hop or 0.25) * 2).astype(int), t_lab - 1)
        feats = curve[idx] @ mix + 0.3 * rng.standard_normal((length, dim))
        tracks.append(Track(id=f"s{seed}-{i}", audio_path=None, dynamic_va=curve))
        features.append(feats.astype(np.float32))
        targets.append(curve)
    return FoldData(TASK, tuple(tracks), tuple(features), tuple(targets), feature_hop_s=hop)


class _Ctx:
    """A FitContext whose trainer factory counts trainers (retraining shows up here)."""

    def __init__(self, tmp_path) -> None:
        self.trainers = 0
        self.logged: list[dict[str, float]] = []

        def factory(**kw):
            self.trainers += 1
            return make_trainer(TrainerSettings(accelerator="cpu"), tmp_path, **kw)

        self.ctx = FitContext(seed=0, out_dir=tmp_path, make_trainer=factory)
        self.ctx.log_metrics = lambda m, step=None: self.logged.append(dict(m))  # type: ignore[method-assign]


TINY = {"mlp_units": (16, 16), "gru_units": (16, 16), "gru_hidden": 8, "embed_dim": 4,
        "epochs": 12, "batch_size": 32, "lr": 3e-3, "dropout": 0.0}


@pytest.fixture(scope="module")
def toy_data():
    return _fold(64, 0), _fold(8, 1), _fold(40, 2)


def test_emer_cl_learns_rescores_without_retraining_and_serves_both_directions(toy_data, tmp_path):
    train, val, test = toy_data
    cls = METHODS.get("emer-cl")
    counter = _Ctx(tmp_path)
    method = cls(cls.make_params(TINY), seed=0).fit(train, val, counter.ctx)
    assert counter.trainers == 1
    assert "cca_rho_max" in counter.logged[-1]
    sim = method.predict(test)
    metrics = score("m2e_e2m_retrieval", None, sim)
    chance = np.mean(1 / np.arange(1, len(test) + 1))  # expected MRR of a random ranking
    assert metrics["m2e_mrr"] > 3 * chance and metrics["e2m_mrr"] > 3 * chance

    both = method.predict_directions(test)
    np.testing.assert_allclose(both["m2e"], sim["m2e"])  # the default predicts both directions
    np.testing.assert_allclose(both["e2m"], sim["e2m"])
    np.testing.assert_allclose(method.rescore(direction="m2e").predict(test), both["m2e"])
    flipped = method.rescore(direction="e2m").predict(test)
    np.testing.assert_allclose(flipped, both["e2m"].T)

    # P is read at prediction time and never retrains; the linear CCA is reused
    high = method.rescore(P=1.01, direction="m2e")
    assert high._cca is method._cca
    np.testing.assert_allclose(high.predict(test), 0.5 * _neg_kl(method, test))
    assert not np.allclose(high.predict(test), sim["m2e"])
    assert counter.trainers == 1
    assert method.params.P == 0.4  # the original is untouched
    with pytest.raises(ConfigError, match="score-only"):
        method.rescore(alpha=2.0)


def _neg_kl(method, data) -> np.ndarray:
    emb = method._embed(data)
    return neg_kl_matrix(emb.mu_m, emb.logvar_m, emb.mu_e, emb.logvar_e)


@pytest.mark.parametrize("loss", ["cca", "kl", "cos", "composite-cos"])
def test_every_loss_variant_trains_and_scores(loss, toy_data, tmp_path):
    train, val, test = toy_data
    cls = METHODS.get("emer-cl")
    params = cls.make_params({**TINY, "epochs": 2, "loss": loss, "music_encoder": "bigru"})
    method = cls(params, seed=0).fit(train, val, _Ctx(tmp_path).ctx)
    both = method.predict(test)
    for sim in both.values():
        assert sim.shape == (len(test), len(test)) and np.isfinite(sim).all()
    assert (method._cca is None) == (loss in ("kl", "cos"))


def test_regression_baselines_rank_by_absolute_error(toy_data, tmp_path):
    train, val, test = toy_data
    for name in ("emer-reg-mlp", "emer-reg-bigru"):
        cls = METHODS.get(name)
        counter = _Ctx(tmp_path)
        small = {"m2e_units": (8, 8), "e2m_units": (8,), "m2e_epochs": 2, "e2m_epochs": 2,
                 "batch_size": 32, "select_every": 1}
        method = cls(cls.make_params(small), seed=0).fit(train, val, counter.ctx)
        assert counter.trainers == 2  # the M2E and the E2M model
        both = method.predict_directions(test)
        assert both["m2e"].shape == both["e2m"].shape == (len(test), len(test))
        t = method._prepare(test)
        with torch.no_grad():
            av = method._m2e(t["xm"], t["lm"]).numpy()
        expected = -np.abs(av[:, None, :] - t["av"].numpy()[None, :, :]).sum(axis=2)
        np.testing.assert_allclose(both["m2e"], expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(method.predict(test)["m2e"], both["m2e"])


def test_bad_parameters_and_tasks_are_clear_errors(toy_data, tmp_path):
    train, val, _ = toy_data
    cls = METHODS.get("emer-cl")
    with pytest.raises(ConfigError, match="loss"):
        cls(cls.make_params({**TINY, "loss": "triplet"})).fit(train, val, _Ctx(tmp_path).ctx)
    with pytest.raises(ConfigError, match="direction"):
        cls(cls.make_params({**TINY, "direction": "sideways"})).fit(train, val, _Ctx(tmp_path).ctx)
    static = dataclasses.replace(train, task=Task("toy", STATIC_VA))
    with pytest.raises(TaskError, match="m2e_e2m_retrieval"):
        cls(cls.make_params(TINY)).fit(static, val, _Ctx(tmp_path).ctx)


def test_encoders_mask_padding():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 3)
    lengths = torch.tensor([3, 5])
    garbage = x.clone()
    garbage[0, 3:] = 1e3  # beyond the first sequence's length
    gru = BiGRUEncoder(3, 4, (6,), 0.0).eval()
    mlp = MLPEncoder(3, (6,), 0.0).eval()
    for enc in (gru, mlp):
        with torch.no_grad():
            a, b = enc(x, lengths), enc(garbage, lengths)
            alone = enc(x[:1, :3], lengths[:1])
        torch.testing.assert_close(a, b)
        torch.testing.assert_close(a[:1], alone)


def test_music_is_cropped_to_the_labelled_span():
    track = Track(id="t", audio_path=None, dynamic_va=np.zeros((4, 2)), dynamic_rate_hz=2.0,
                  dynamic_start_s=1.0)
    frames = np.arange(10, dtype=np.float32)[:, None]  # frame k at k * 0.5 s
    data = FoldData(TASK, (track,), (frames,), (track.dynamic_va,), feature_hop_s=0.5)
    # labels cover [1.0, 3.0) s -> frames at 1.0, 1.5, 2.0, 2.5 s
    np.testing.assert_array_equal(music_sequences(data, True)[0][:, 0], [2, 3, 4, 5])
    assert len(music_sequences(data, False)[0]) == 10
    late = dataclasses.replace(track, dynamic_start_s=30.0)
    with pytest.raises(TaskError, match="shorter than the annotation"):
        music_sequences(dataclasses.replace(data, tracks=(late,)), True)


# --- the paper's KL orientation, sums and the CCA term's rank -----------------------


def test_anchor_first_ranking_uses_each_anchors_own_kl_hand_worked():
    """Eq. 6: music anchors rank with psi(m, e), emotion anchors with psi(e, m)."""
    music_anchor = torch.tensor([[1.0, 3.0, 1.5],
                                 [2.0, 0.5, 0.2],
                                 [4.0, 4.0, 2.0]])  # rows: music i; m2e hinge terms 0.5 + 1.3
    emotion_anchor = torch.tensor([[1.0, 2.5, 0.0],
                                   [3.0, 0.5, 1.0],
                                   [1.0, 4.0, 2.0]])  # rows: emotion j vs music i
    # emotion anchor 0: max(0, 1+1-2.5)=0, max(0, 1+1-0)=2; anchor 1: 0, max(0, .5+1-1)=.5;
    # anchor 2: max(0, 2+1-1)=2, 0  ->  4.5
    got = hinge_ranking_loss(music_anchor, 1.0, emotion_anchor)
    assert float(got) == pytest.approx(1.8 + 4.5)


def _gaussians(n: int, d: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.normal(0, 0.7, (n, d))


def _torch_kl(mu_p, lv_p, mu_q, lv_q) -> np.ndarray:
    """KL(p_i || q_j) by torch.distributions, one pair at a time."""
    from torch.distributions import Normal, kl_divergence

    out = np.zeros((len(mu_p), len(mu_q)))
    for i in range(len(mu_p)):
        for j in range(len(mu_q)):
            p = Normal(torch.tensor(mu_p[i]), torch.tensor(np.exp(lv_p[i] / 2)))
            q = Normal(torch.tensor(mu_q[j]), torch.tensor(np.exp(lv_q[j] / 2)))
            out[i, j] = float(kl_divergence(p, q).sum())
    return out


def test_anchor_first_kl_and_scores_follow_the_query():
    from mer_bench.methods.emer_cl.losses import anchored_kl

    mu_m, lv_m = _gaussians(4, 3, 0)
    mu_e, lv_e = _gaussians(4, 3, 1)
    m_first = _torch_kl(mu_m, lv_m, mu_e, lv_e)  # KL(m_i || e_j)
    e_first = _torch_kl(mu_e, lv_e, mu_m, lv_m)  # KL(e_j || m_i)
    assert not np.allclose(m_first, e_first.T)  # unequal variances: the forms differ
    d_m, d_e = anchored_kl(*(torch.tensor(a) for a in (mu_m, lv_m, mu_e, lv_e)))
    np.testing.assert_allclose(d_m.numpy(), m_first, rtol=1e-9)
    np.testing.assert_allclose(d_e.numpy(), e_first, rtol=1e-9)
    emb = Embeddings(np.zeros((4, 1)), mu_m, lv_m, np.zeros((4, 1)), mu_e, lv_e)
    np.testing.assert_allclose(retrieval_scores(emb, None, "kl", 0, 0, "m2e"), -m_first,
                               rtol=1e-9)
    np.testing.assert_allclose(retrieval_scores(emb, None, "kl", 0, 0, "e2m"), -e_first,
                               rtol=1e-9)
    # the one-matrix reading ranks E2M by the transpose of KL(m || e)
    np.testing.assert_allclose(
        retrieval_scores(emb, None, "kl", 0, 0, "e2m", kl_form="music||emotion"), -m_first.T,
        rtol=1e-9)


def _shared_signal(n: int, d: int, related: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 2))
    x = z @ rng.standard_normal((2, d)) + 0.5 * rng.standard_normal((n, d))
    z_y = z if related else rng.standard_normal((n, 2))
    y = z_y @ rng.standard_normal((2, d)) + 0.5 * rng.standard_normal((n, d))
    return torch.tensor(x), torch.tensor(y)


def test_cca_loss_is_constant_when_rank_deficient_and_informative_at_the_sound_setting():
    from mer_bench.methods.emer_cl.losses import cca_rank_deficient

    n = 128
    # degenerate: n <= D, about n - 1 correlations of 1 for related and unrelated views alike
    related = float(cca_loss(*_shared_signal(n, 256, True)))
    unrelated = float(cca_loss(*_shared_signal(n, 256, False)))
    assert cca_rank_deficient(n, 256) and not cca_rank_deficient(n, 16)
    assert related == pytest.approx(-(n - 1), rel=0.02)
    assert unrelated == pytest.approx(-(n - 1), rel=0.02)
    # sound: D well below n, shrinkage 0.1: the shared signal shows (2 strong correlations)
    related = float(cca_loss(*_shared_signal(n, 16, True), shrinkage=0.1))
    unrelated = float(cca_loss(*_shared_signal(n, 16, False), shrinkage=0.1))
    assert related < unrelated - 1.0


def test_shrunk_cca_matches_an_independent_computation():
    x, y = (t.numpy() for t in _shared_signal(60, 5, True))
    s = 0.3
    xc, yc = x - x.mean(0), y - y.mean(0)

    def shrink(c):
        return (1 - s) * c + s * np.trace(c) / len(c) * np.eye(len(c))

    s11, s22 = shrink(xc.T @ xc / 59), shrink(yc.T @ yc / 59)
    s12 = (1 - s) * xc.T @ yc / 59
    # canonical correlations: square roots of the eigenvalues of S11^-1 S12 S22^-1 S21
    eig = np.linalg.eigvals(np.linalg.solve(s11, s12) @ np.linalg.solve(s22, s12.T))
    expected = np.sort(np.sqrt(np.clip(eig.real, 0, None)))[::-1]
    loss = cca_loss(torch.tensor(x), torch.tensor(y), ridge=0.0, shrinkage=s)
    assert float(loss) == pytest.approx(-expected.sum(), rel=1e-8)


def test_a_rank_deficient_cca_is_tagged_and_warned_the_sound_setting_is_not(toy_data, tmp_path):
    from mer_bench.methods.emer_cl.method import SOUND_CCA, RankDeficiencyWarning

    train, val, _ = toy_data
    cls = METHODS.get("emer-cl")
    ctx = _Ctx(tmp_path).ctx
    with pytest.warns(RankDeficiencyWarning, match="n = 32"):
        cls(cls.make_params({**TINY, "epochs": 1, "embed_dim": 32}), 0).fit(train, val, ctx)
    assert ctx.extra_tags == {"cca_rank_deficient": "true", "cca_n": "32", "cca_train_n": "64",
                              "cca_dim": "32", "cca_forced_batch": "31",
                              "cca_forced_train": "1"}
    ctx = _Ctx(tmp_path).ctx
    sound = {**TINY, "epochs": 1, "embed_dim": 32, **SOUND_CCA, "cca_dim": 8}
    method = cls(cls.make_params(sound), 0).fit(train, val, ctx)
    assert ctx.extra_tags["cca_rank_deficient"] == "false"
    assert method._module.music.phi.out_features == 8 and method._module.music.mu.out_features == 32
    assert "cca_rank_deficient" in cls.label_tags  # the leaderboard row names it
    ctx = _Ctx(tmp_path).ctx
    cls(cls.make_params({**TINY, "epochs": 1, "loss": "kl", "embed_dim": 32}), 0).fit(
        train, val, ctx)
    assert "cca_rank_deficient" not in ctx.extra_tags  # no CCA term, nothing to flag


def test_emer_cl_reads_validation_only_when_early_stopping():
    cls = METHODS.get("emer-cl")
    assert not cls(cls.make_params({}), 0).selects_on_validation()
    assert cls(cls.make_params({"early_stopping_patience": 5}), 0).selects_on_validation()


def test_regression_baselines_carry_table_5_per_direction():
    """Appendix C / Table 5 (DEAM): per-direction layers and epochs; a BiGRU list starts with
    the GRU layer; dropout 0.5 only on FC layers of 256 or 512 units."""
    from torch import nn

    mlp = METHODS.get("emer-reg-mlp")
    bigru = METHODS.get("emer-reg-bigru")
    p = mlp.Params()
    assert (p.m2e_units, p.m2e_epochs, p.e2m_units, p.e2m_epochs) == (
        (128, 64, 16, 128, 512), 8300, (32,), 19200)
    q = bigru.Params()
    assert (q.m2e_units, q.m2e_epochs, q.e2m_units, q.e2m_epochs) == (
        (512, 64, 32, 16, 32), 2000, (128, 128, 32, 128, 128), 9200)
    assert p.select_every == q.select_every == 100
    model = mlp(p, 0)._model(128, 2, "m2e")
    fc = list(model.encoder.fc)
    widths = [m.out_features for m in fc if isinstance(m, nn.Linear)]
    assert widths == [128, 64, 16, 128, 512]
    # the only dropout follows the 512-unit layer (the last of the stack)
    assert [type(m).__name__ for m in fc[-3:]] == ["Linear", "Softplus", "Dropout"]
    assert sum(isinstance(m, nn.Dropout) for m in fc) == 1
    gru_model = bigru(q, 0)._model(2, 128, "e2m")
    assert gru_model.encoder.gru.hidden_size == 128
    assert [m.out_features for m in gru_model.encoder.fc if isinstance(m, nn.Linear)] == [
        128, 32, 128, 128]
    assert not any(isinstance(m, nn.Dropout) for m in gru_model.encoder.fc)
    assert mlp(p, 0).selects_on_validation()
    assert not mlp(mlp.make_params({"select_every": 0}), 0).selects_on_validation()


def test_l1_retrieval_mrr_hand_worked():
    from mer_bench.methods.emer_cl.model import l1_retrieval_mrr

    pred = torch.tensor([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]])
    truth = torch.tensor([[0.1, 0.0], [3.0, 3.0], [0.9, 1.0]])
    # query 0: L1 to truths 0.1, 6, 1.9 -> its match first (rank 1)
    # query 1: 1.9, 4, 0.1 -> match (4) is last: rank 3; query 2: 9.9, 4, 8.1 -> rank 2
    assert float(l1_retrieval_mrr(pred, truth)) == pytest.approx((1 + 1 / 3 + 1 / 2) / 3)


def test_regression_baseline_keeps_the_best_validation_epoch(toy_data, tmp_path):
    from mer_bench.methods.emer_cl.model import l1_retrieval_mrr

    train, val, _ = toy_data
    seen: list[dict[str, float]] = []
    epochs: list[int] = []

    def factory(**kw):
        epochs.append(kw["max_epochs"])
        return make_trainer(TrainerSettings(accelerator="cpu"), tmp_path,
                            lambda m, step=None: seen.append(dict(m)), **kw)

    cls = METHODS.get("emer-reg-mlp")
    params = cls.make_params({"m2e_units": (16,), "e2m_units": (8,), "m2e_epochs": 6,
                              "e2m_epochs": 3, "batch_size": 16, "select_every": 1,
                              "lr": 3e-2, "dropout": 0.0})
    method = cls(params, 0).fit(train, val, FitContext(0, tmp_path, factory))
    assert epochs == [6, 3]  # each direction trains for its own epochs
    m2e_mrr = [m["val_mrr"] for m in seen[:6] if "val_mrr" in m]
    assert len(m2e_mrr) == 6
    v = method._prepare(val)
    with torch.no_grad():
        final = float(l1_retrieval_mrr(method._m2e(v["xm"], v["lm"]), v["av"]))
    assert final == pytest.approx(max(m2e_mrr), abs=1e-6)


def test_music_embeddings_are_the_music_towers_heads(toy_data, tmp_path):
    """The public per-clip embeddings (what emer-cl-svr reads) equal the paired embedding's
    music half, with sigma the variance exp(log-variance)."""
    train, val, test = toy_data
    cls = METHODS.get("emer-cl")
    method = cls(cls.make_params({**TINY, "epochs": 1}), 0).fit(train, val, _Ctx(tmp_path).ctx)
    phi, mu, sigma = method.music_embeddings(test)
    emb = method._embed(test)
    np.testing.assert_allclose(phi, emb.phi_m, rtol=1e-6)
    np.testing.assert_allclose(mu, emb.mu_m, rtol=1e-6)
    np.testing.assert_allclose(sigma, np.exp(emb.logvar_m), rtol=1e-6)
