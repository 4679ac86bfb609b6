"""EMER-CL scores computed block by block: the very numbers of the whole-matrix code, in
a fraction of its memory.

The reference is the pre-blocking implementation, kept verbatim in
``benchmarks/reference_scoring.py``. Small ``BLOCK_ELEMENTS`` and
``NUMBA_MIN_TERMS`` make small inputs take many blocks and the numba /
float32 paths that large ones take.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from benchmarks import reference_scoring as old
from benchmarks.scoring_inputs import scoring_inputs
from mer_bench.methods.emer_cl import score_blocks
from mer_bench.methods.emer_cl.scoring import (
    Embeddings,
    LinearCCA,
    cosine_matrix,
    gamma_matrix,
    neg_kl_matrix,
    neg_kl_pairs,
    neg_l1_matrix,
    retrieval_scores,
)
from mer_bench.metrics import score

FORMS = ("anchor-first", "music||emotion", "emotion||music", "symmetric")
LOSSES = ("composite", "cca", "kl", "cos", "composite-cos")


def _inputs(n_m: int, n_e: int, d: int = 12, seed: int = 0) -> tuple[Embeddings, LinearCCA]:
    """Correlated phi's (so the fitted CCA keeps dimensions) and random Gaussians."""
    rng = np.random.default_rng(seed)
    n = max(n_m, n_e)
    z = rng.standard_normal((n, d))
    phi_m = (z + 0.6 * rng.standard_normal((n, d)))[:n_m]
    phi_e = (z @ rng.standard_normal((d, d)) + 0.6 * rng.standard_normal((n, d)))[:n_e]
    emb = Embeddings(phi_m, rng.standard_normal((n_m, d)), 0.4 * rng.standard_normal((n_m, d)),
                     phi_e, rng.standard_normal((n_e, d)), 0.4 * rng.standard_normal((n_e, d)))
    k = min(n_m, n_e)
    return emb, LinearCCA.fit(phi_m[:k], phi_e[:k])


@pytest.fixture(params=["numpy-float64", "numba-float32"])
def paths(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Tiny blocks always; with ``numba-float32`` every matrix counts as large."""
    monkeypatch.setattr(score_blocks, "BLOCK_ELEMENTS", 300)
    if request.param == "numba-float32":
        monkeypatch.setattr(score_blocks, "NUMBA_MIN_TERMS", 1)
        monkeypatch.setattr(old, "NUMBA_MIN_TERMS", 1)
    return request.param


@pytest.mark.parametrize("shape", [(37, 37), (23, 41)])
def test_retrieval_scores_identical_to_whole_matrix_code(paths: str, shape: tuple[int, int]
                                                         ) -> None:
    emb, cca = _inputs(*shape)
    assert (cca.rho >= 0.4).sum() > 0
    for loss in LOSSES:
        for form in FORMS if loss in ("kl", "composite") else FORMS[:1]:
            for direction in ("m2e", "e2m"):
                args = (emb, cca, loss, 0.3, 0.4, direction, form)
                got, want = retrieval_scores(*args), old.retrieval_scores(*args)
                assert got.dtype == np.float64 and got.flags.c_contiguous
                np.testing.assert_array_equal(got, want, err_msg=f"{loss} {form} {direction}")


def test_public_matrices_identical_to_whole_matrix_code(paths: str) -> None:
    emb, cca = _inputs(29, 33)
    m, e = (emb.mu_m, emb.logvar_m), (emb.mu_e, emb.logvar_e)
    np.testing.assert_array_equal(neg_kl_matrix(*m, *e), old.neg_kl_matrix(*m, *e))
    np.testing.assert_array_equal(cosine_matrix(emb.mu_m, emb.mu_e),
                                  old.cosine_matrix(emb.mu_m, emb.mu_e))
    np.testing.assert_array_equal(neg_l1_matrix(emb.phi_m, emb.phi_e),
                                  old.neg_l1_matrix(emb.phi_m, emb.phi_e))
    for direction in ("m2e", "e2m"):
        np.testing.assert_array_equal(gamma_matrix(cca, emb.phi_m, emb.phi_e, 0.4, direction),
                                      old.gamma_matrix(cca, emb.phi_m, emb.phi_e, 0.4, direction))
    for form in FORMS[1:]:
        np.testing.assert_array_equal(neg_kl_pairs(*m, *e, form), old.neg_kl_pairs(*m, *e, form))


def test_metrics_identical_at_production_sizes() -> None:
    """Q = 600 at D = 64: the numba kernel and the float32 KL product of real runs."""
    emb, cca = scoring_inputs(600, d=64, kept=16, seed=3)
    new = {k: retrieval_scores(emb, cca, "composite", 0.5, 0.4, k) for k in ("m2e", "e2m")}
    ref = {k: old.retrieval_scores(emb, cca, "composite", 0.5, 0.4, k) for k in ("m2e", "e2m")}
    for k in new:
        np.testing.assert_array_equal(new[k], ref[k])
    assert score("m2e_e2m_retrieval", None, new) == score("m2e_e2m_retrieval", None, ref)


def _peak_bytes(fn) -> int:  # type: ignore[no-untyped-def]
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    del out
    return peak


@pytest.mark.parametrize("loss", ["composite", "composite-cos", "kl"])
def test_peak_memory_below_two_and_a_half_score_matrices(loss: str) -> None:
    """At Q = 2000 (numba kernel, float32 KL product) a score stays within 2.5 Q^2 doubles;
    the whole-matrix code needed three to five."""
    q = 2000
    emb, cca = scoring_inputs(q, d=64, kept=16)
    retrieval_scores(*scoring_inputs(50, d=4, kept=2), "composite", 0.5, 0.4, "m2e")  # JIT
    for direction in ("m2e", "e2m"):
        peak = _peak_bytes(lambda d=direction: retrieval_scores(emb, cca, loss, 0.5, 0.4, d))
        assert peak <= 2.5 * q * q * 8, f"{loss} {direction}: {peak / (8 * q * q):.2f} Q^2"


def test_ranks_by_blocks_equal_the_whole_matrix_formula(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocked ``first_relevant_ranks`` (ties, several relevant candidates) vs the formula."""
    from mer_bench.metrics import retrieval

    rng = np.random.default_rng(5)
    sim = rng.integers(0, 6, size=(53, 47)).astype(float)  # many ties
    rel = rng.random((53, 47)) < 0.1
    rel[np.arange(47), np.arange(47)] = True
    rel[47:, 0] = True
    best = np.where(rel, sim, -np.inf).max(axis=1, keepdims=True)
    want = 1 + np.count_nonzero(~rel & (sim >= best), axis=1)
    monkeypatch.setattr(retrieval, "_RANK_BLOCK", 100)
    np.testing.assert_array_equal(retrieval.first_relevant_ranks(sim, rel), want)
