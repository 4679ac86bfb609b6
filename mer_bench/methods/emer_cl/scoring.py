"""EMER-CL retrieval scores (paper Eq. 8-9), vectorised over queries and candidates.

After training, a linear CCA is fitted on the training phi's of both
modalities (as the authors do); canonical dimension d has training
correlation rho_d and a least-squares regression line g_d from one modality's
canonical coordinate to the other's. The CCA-space score of query q and
candidate j is

    Gamma(q, j) = - sum_{d: rho_d >= P} rho_d * |g_d(u_q,d) - v_j,d|

with the line taken in the direction of the query (music -> emotion for M2E,
emotion -> music for E2M), and the composite score is
``lambda * Gamma + (1 - lambda) * (-KL)``.

Nothing here loops over queries in Python: the weighted L1 term is a
``cityblock`` distance on rescaled coordinates (rho_d >= 0, so
``rho |a - b| = |rho a - rho b|``), computed by a parallel numba kernel for
large matrices and by chunked numpy broadcasting for small ones; the KL term
is two matrix products.

Memory: a [Q, Q] float64 score matrix is the one thing that must exist (800 MB
at Q = 10,000), so every term is computed a block of rows at a time straight
into it (``row_blocks``): no second full-size matrix, no float32 copy of the
KL product and no ``(1 - lambda) * other`` temporary. Each element goes
through exactly the arithmetic of a whole-matrix computation (products row by
row, then the same element-wise steps), so the scores are bit-for-bit those of
the unblocked code; which kernel and precision a term uses is still decided
by the whole matrix's size, not the block's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mer_bench.errors import TaskError
from mer_bench.methods.emer_cl.score_blocks import (
    BLOCK_ELEMENTS,
    NUMBA_MIN_TERMS,
    Cosine,
    Mean,
    NegKL,
    NegL1,
    Term,
    Transposed,
    assemble,
)

__all__ = ["BLOCK_ELEMENTS", "NUMBA_MIN_TERMS", "Embeddings", "LinearCCA", "cosine_matrix",
           "gamma_matrix", "neg_kl_matrix", "neg_kl_pairs", "neg_kl_query", "neg_l1_matrix",
           "retrieval_scores"]



def _inv_sqrt(s: np.ndarray, floor: float = 1e-12) -> np.ndarray:
    w, q = np.linalg.eigh(0.5 * (s + s.T))
    return (q / np.sqrt(np.maximum(w, floor))) @ q.T


@dataclass(frozen=True)
class LinearCCA:
    """Linear CCA of two views plus per-dimension regression lines both ways.

    ``a``/``b`` project centred music/emotion vectors to canonical coordinates
    (columns sorted by decreasing correlation); ``rho`` is the Pearson
    correlation of each canonical pair measured on the fitting data;
    ``slope_me``/``icpt_me`` regress emotion coordinates on music ones
    (g^{m->e}), ``slope_em``/``icpt_em`` the reverse (g^{e->m}).
    """

    mean_m: np.ndarray
    mean_e: np.ndarray
    a: np.ndarray
    b: np.ndarray
    rho: np.ndarray
    slope_me: np.ndarray
    icpt_me: np.ndarray
    slope_em: np.ndarray
    icpt_em: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, ridge: float = 1e-4,
            n_components: int | None = None, shrinkage: float = 0.0) -> LinearCCA:
        """Closed-form regularised CCA (float64): whiten, SVD of the cross-covariance.

        ``shrinkage`` shrinks both covariances towards their scaled identity
        (and the cross-covariance by the same factor), as the training loss does.
        """
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        n = len(x)
        if n < 2 or len(y) != n:
            raise TaskError(f"linear CCA needs >= 2 paired samples, got {len(x)} and {len(y)}")
        mean_m, mean_e = x.mean(axis=0), y.mean(axis=0)
        xc, yc = x - mean_m, y - mean_e
        s11 = _shrunk(xc.T @ xc / (n - 1), shrinkage) + ridge * np.eye(x.shape[1])
        s22 = _shrunk(yc.T @ yc / (n - 1), shrinkage) + ridge * np.eye(y.shape[1])
        s12 = (1.0 - shrinkage) * xc.T @ yc / (n - 1)
        w1, w2 = _inv_sqrt(s11), _inv_sqrt(s22)
        u, _, vt = np.linalg.svd(w1 @ s12 @ w2)
        k = min(x.shape[1], y.shape[1])
        if n_components is not None:
            k = min(k, int(n_components))
        a, b = w1 @ u[:, :k], w2 @ vt.T[:, :k]
        cu, cv = xc @ a, yc @ b
        rho = np.clip(_columnwise_pearson(cu, cv), 0.0, 1.0)
        slope_me, icpt_me = _columnwise_ols(cu, cv)
        slope_em, icpt_em = _columnwise_ols(cv, cu)
        order = np.argsort(-rho, kind="stable")
        return cls(mean_m, mean_e, a[:, order], b[:, order], rho[order], slope_me[order],
                   icpt_me[order], slope_em[order], icpt_em[order])

    def music(self, x: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
        a = self.a if keep is None else self.a[:, keep]
        return (np.asarray(x, dtype=np.float64) - self.mean_m) @ a

    def emotion(self, y: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
        b = self.b if keep is None else self.b[:, keep]
        return (np.asarray(y, dtype=np.float64) - self.mean_e) @ b


def _shrunk(cov: np.ndarray, shrinkage: float) -> np.ndarray:
    if shrinkage <= 0:
        return cov
    d = len(cov)
    return (1.0 - shrinkage) * cov + shrinkage * (np.trace(cov) / d) * np.eye(d)


def _columnwise_pearson(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    uc, vc = u - u.mean(axis=0), v - v.mean(axis=0)
    den = np.sqrt((uc * uc).sum(axis=0) * (vc * vc).sum(axis=0))
    num = (uc * vc).sum(axis=0)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def _columnwise_ols(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slope and intercept of ``v_d ~ u_d`` for every column d."""
    uc = u - u.mean(axis=0)
    var = (uc * uc).sum(axis=0)
    cov = (uc * (v - v.mean(axis=0))).sum(axis=0)
    slope = np.divide(cov, var, out=np.zeros_like(cov), where=var > 0)
    return slope, v.mean(axis=0) - slope * u.mean(axis=0)


def neg_l1_matrix(x: np.ndarray, y: np.ndarray, use_numba: bool | None = None) -> np.ndarray:
    """``S[i, j] = -sum_d |x[i, d] - y[j, d]|`` as float64 [Q, C]."""
    terms = NegL1.of(x, y, use_numba)
    return assemble(terms.shape, [(terms, 1.0)])


def _gamma_terms(cca: LinearCCA, phi_m: np.ndarray, phi_e: np.ndarray, P: float,
                 direction: str) -> NegL1:
    """Gamma as a weighted L1 distance (rows: the direction's queries)."""
    keep = (cca.rho >= P) & (cca.rho > 0)
    u = cca.music(phi_m, keep)
    v = cca.emotion(phi_e, keep)
    rho = cca.rho[keep]
    if direction == "m2e":
        return NegL1.of(rho * (cca.slope_me[keep] * u + cca.icpt_me[keep]), rho * v)
    if direction == "e2m":
        return NegL1.of(rho * (cca.slope_em[keep] * v + cca.icpt_em[keep]), rho * u)
    raise TaskError(f"unknown direction {direction!r}; use m2e or e2m")


def gamma_matrix(cca: LinearCCA, phi_m: np.ndarray, phi_e: np.ndarray, P: float,
                 direction: str = "m2e") -> np.ndarray:
    """Gamma between the music items (rows) and emotion items (columns) for M2E,
    or between emotion items (rows) and music items (columns) for E2M.

    Only canonical dimensions with ``rho_d >= P`` (and ``rho_d > 0``, whose
    terms vanish anyway) enter. With no such dimension Gamma is all zeros.
    """
    terms = _gamma_terms(cca, phi_m, phi_e, P, direction)
    return assemble(terms.shape, [(terms, 1.0)])


def neg_kl_matrix(mu_p: np.ndarray, logvar_p: np.ndarray, mu_q: np.ndarray,
                  logvar_q: np.ndarray) -> np.ndarray:
    """``-KL(N_p[i] || N_q[j])`` [P, Q] for diagonal Gaussians (var = exp(logvar)).

    The cross term is a [P, 2D] x [2D, Q] product, in float32 above
    ``NUMBA_MIN_TERMS`` terms (see ``NegKL``); the result is float64.
    """
    terms = NegKL.of(mu_p, logvar_p, mu_q, logvar_q)
    return assemble(terms.shape, [(terms, 1.0)])


def _kl_terms(mu_m: np.ndarray, logvar_m: np.ndarray, mu_e: np.ndarray,
              logvar_e: np.ndarray, form: str, direction: str) -> Term:
    """The ``-psi(query, candidate)`` term of one direction and KL form (see ``neg_kl_query``)."""
    def me() -> NegKL:
        return NegKL.of(mu_m, logvar_m, mu_e, logvar_e)

    def em() -> NegKL:
        return NegKL.of(mu_e, logvar_e, mu_m, logvar_m)

    m2e = direction == "m2e"
    if form == "anchor-first":
        return me() if m2e else em()
    if form == "music||emotion":
        return me() if m2e else Transposed(me())
    if form == "emotion||music":
        return Transposed(em()) if m2e else em()
    if form == "symmetric":
        return Mean(me(), Transposed(em())) if m2e else Mean(Transposed(me()), em())
    raise TaskError(f"unknown KL form {form!r}")


def neg_kl_query(mu_m: np.ndarray, logvar_m: np.ndarray, mu_e: np.ndarray,
                 logvar_e: np.ndarray, form: str, direction: str) -> np.ndarray:
    """``-psi(query, candidate)`` of one direction: [music, emotion] for M2E, [emotion, music]
    for E2M. ``anchor-first`` (Eq. 8 with the query as psi's first argument) gives
    ``-KL(m_q || e_j)`` and ``-KL(e_q || m_j)``; the other forms transpose one matrix.
    """
    terms = _kl_terms(mu_m, logvar_m, mu_e, logvar_e, form, direction)
    return assemble(terms.shape, [(terms, 1.0)])


def neg_kl_pairs(mu_m: np.ndarray, logvar_m: np.ndarray, mu_e: np.ndarray,
                 logvar_e: np.ndarray, form: str = "music||emotion") -> np.ndarray:
    """``-psi(music_i, emotion_j)`` [N_m, N_e] with a one-matrix KL form."""
    if form == "anchor-first":
        raise TaskError(f"unknown KL form {form!r}")
    return neg_kl_query(mu_m, logvar_m, mu_e, logvar_e, form, "m2e")


def cosine_matrix(a: np.ndarray, b: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    terms = Cosine.of(a, b, eps)
    return assemble(terms.shape, [(terms, 1.0)])


@dataclass(frozen=True)
class Embeddings:
    """The trained heads' outputs for N paired items (float64 numpy)."""

    phi_m: np.ndarray
    mu_m: np.ndarray
    logvar_m: np.ndarray
    phi_e: np.ndarray
    mu_e: np.ndarray
    logvar_e: np.ndarray


_LOSSES = ("composite", "cca", "kl", "cos", "composite-cos")


def retrieval_scores(emb: Embeddings, cca: LinearCCA | None, loss: str, lam: float, P: float,
                     direction: str, kl_form: str = "anchor-first") -> np.ndarray:
    """Similarity matrix of one direction: [music, emotion] for M2E, [emotion, music] for E2M.

    ``composite``: ``lam * Gamma + (1 - lam) * (-KL)``; ``cca``: Gamma;
    ``kl``: -KL; ``cos``: cosine of the point embeddings (mu);
    ``composite-cos``: ``lam * Gamma + (1 - lam) * cos``.

    Peak memory is the result plus a few row blocks (``BLOCK_ELEMENTS``) and the
    O(N D) factors: the terms are summed block by block into the result.
    """
    if direction not in ("m2e", "e2m"):
        raise TaskError(f"unknown direction {direction!r}; use m2e or e2m")
    flip = direction == "e2m"
    if loss == "kl":
        return neg_kl_query(emb.mu_m, emb.logvar_m, emb.mu_e, emb.logvar_e, kl_form, direction)
    if loss == "cos":
        cos = Cosine.of(emb.mu_m, emb.mu_e)
        terms = Transposed(cos) if flip else cos
        return assemble(terms.shape, [(terms, 1.0)])
    if cca is None:
        raise TaskError(f"loss {loss!r} needs the fitted linear CCA")
    if loss not in _LOSSES:
        raise TaskError(f"unknown loss {loss!r}")
    gamma = _gamma_terms(cca, emb.phi_m, emb.phi_e, P, direction)
    if loss == "cca":
        return assemble(gamma.shape, [(gamma, 1.0)])
    other: Term
    if loss == "composite":
        other = _kl_terms(emb.mu_m, emb.logvar_m, emb.mu_e, emb.logvar_e, kl_form, direction)
    else:
        cos = Cosine.of(emb.mu_m, emb.mu_e)
        other = Transposed(cos) if flip else cos
    return assemble(gamma.shape, [(gamma, lam), (other, 1.0 - lam)], weighted=True)
