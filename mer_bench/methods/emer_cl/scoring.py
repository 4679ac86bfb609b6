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
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from mer_bench.errors import TaskError

# Above this many (query, candidate, dimension) terms the numba kernel is used.
NUMBA_MIN_TERMS = 20_000_000
_CHUNK_TERMS = 4_000_000


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


# --- the weighted L1 kernel ---------------------------------------------------


@lru_cache(maxsize=1)
def _numba_kernel() -> Any:
    from numba import njit, prange

    @njit(parallel=True, cache=True)
    def neg_l1(x: np.ndarray, yt: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
        n_q, k = x.shape
        n_c = yt.shape[1]
        for i in prange(n_q):
            row = out[i]
            for j in range(n_c):
                row[j] = 0.0
            for d in range(k):
                xi = x[i, d]
                yd = yt[d]
                for j in range(n_c):
                    row[j] -= abs(xi - yd[j])

    return neg_l1


def neg_l1_matrix(x: np.ndarray, y: np.ndarray, use_numba: bool | None = None) -> np.ndarray:
    """``S[i, j] = -sum_d |x[i, d] - y[j, d]|`` as float64 [Q, C]."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    n_q, n_c, k = len(x), len(y), x.shape[1]
    out = np.empty((n_q, n_c), dtype=np.float64)
    if k == 0:
        out.fill(0.0)
        return out
    if use_numba is None:
        use_numba = n_q * n_c * k >= NUMBA_MIN_TERMS
    if use_numba:
        _numba_kernel()(x, np.ascontiguousarray(y.T), out)
        return out
    step = max(1, _CHUNK_TERMS // max(1, n_c * k))
    for start in range(0, n_q, step):
        block = x[start:start + step, None, :] - y[None, :, :]
        out[start:start + step] = -np.abs(block).sum(axis=2)
    return out


def gamma_matrix(cca: LinearCCA, phi_m: np.ndarray, phi_e: np.ndarray, P: float,
                 direction: str = "m2e") -> np.ndarray:
    """Gamma between the music items (rows) and emotion items (columns) for M2E,
    or between emotion items (rows) and music items (columns) for E2M.

    Only canonical dimensions with ``rho_d >= P`` (and ``rho_d > 0``, whose
    terms vanish anyway) enter. With no such dimension Gamma is all zeros.
    """
    keep = (cca.rho >= P) & (cca.rho > 0)
    u = cca.music(phi_m, keep)
    v = cca.emotion(phi_e, keep)
    rho = cca.rho[keep]
    if direction == "m2e":
        return neg_l1_matrix(rho * (cca.slope_me[keep] * u + cca.icpt_me[keep]), rho * v)
    if direction == "e2m":
        return neg_l1_matrix(rho * (cca.slope_em[keep] * v + cca.icpt_em[keep]), rho * u)
    raise TaskError(f"unknown direction {direction!r}; use m2e or e2m")


def neg_kl_matrix(mu_p: np.ndarray, logvar_p: np.ndarray, mu_q: np.ndarray,
                  logvar_q: np.ndarray) -> np.ndarray:
    """``-KL(N_p[i] || N_q[j])`` [P, Q] for diagonal Gaussians (var = exp(logvar)).

    The cross term is one [P, 2D] x [2D, Q] product: in float64, except above
    ``NUMBA_MIN_TERMS`` (query, candidate, dimension) terms, where it runs in
    float32 (twice as fast; rounding ~1e-7 of each KL, far below the gaps
    that decide a ranking) and the result is float64 again.
    """
    mp, lp = np.asarray(mu_p, np.float64), np.asarray(logvar_p, np.float64)
    mq, lq = np.asarray(mu_q, np.float64), np.asarray(logvar_q, np.float64)
    inv_q = np.exp(-lq)
    left = np.concatenate([np.exp(lp) + mp * mp, mp], axis=1)
    right = np.concatenate([inv_q, -2.0 * mq * inv_q], axis=1)
    if len(mp) * len(mq) * mp.shape[1] >= NUMBA_MIN_TERMS:
        out = (left.astype(np.float32) @ right.T.astype(np.float32)).astype(np.float64)
    else:
        out = left @ right.T
    out += (lq + mq * mq * inv_q).sum(axis=1)[None, :]
    out -= (lp.sum(axis=1) + mp.shape[1])[:, None]
    out *= -0.5
    return out


def neg_kl_query(mu_m: np.ndarray, logvar_m: np.ndarray, mu_e: np.ndarray,
                 logvar_e: np.ndarray, form: str, direction: str) -> np.ndarray:
    """``-psi(query, candidate)`` of one direction: [music, emotion] for M2E, [emotion, music]
    for E2M. ``anchor-first`` (Eq. 8 with the query as psi's first argument) gives
    ``-KL(m_q || e_j)`` and ``-KL(e_q || m_j)``; the other forms transpose one matrix.
    """
    if form == "anchor-first":
        if direction == "m2e":
            return neg_kl_matrix(mu_m, logvar_m, mu_e, logvar_e)
        return neg_kl_matrix(mu_e, logvar_e, mu_m, logvar_m)
    out = neg_kl_pairs(mu_m, logvar_m, mu_e, logvar_e, form)
    return out if direction == "m2e" else np.ascontiguousarray(out.T)


def neg_kl_pairs(mu_m: np.ndarray, logvar_m: np.ndarray, mu_e: np.ndarray,
                 logvar_e: np.ndarray, form: str = "music||emotion") -> np.ndarray:
    """``-psi(music_i, emotion_j)`` [N_m, N_e] with a one-matrix KL form."""
    if form == "music||emotion":
        return neg_kl_matrix(mu_m, logvar_m, mu_e, logvar_e)
    if form == "emotion||music":
        return neg_kl_matrix(mu_e, logvar_e, mu_m, logvar_m).T
    if form == "symmetric":
        out = neg_kl_matrix(mu_m, logvar_m, mu_e, logvar_e)
        out += neg_kl_matrix(mu_e, logvar_e, mu_m, logvar_m).T
        out *= 0.5
        return out
    raise TaskError(f"unknown KL form {form!r}")


def cosine_matrix(a: np.ndarray, b: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    an = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), eps)
    bn = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), eps)
    return an @ bn.T


@dataclass(frozen=True)
class Embeddings:
    """The trained heads' outputs for N paired items (float64 numpy)."""

    phi_m: np.ndarray
    mu_m: np.ndarray
    logvar_m: np.ndarray
    phi_e: np.ndarray
    mu_e: np.ndarray
    logvar_e: np.ndarray


def retrieval_scores(emb: Embeddings, cca: LinearCCA | None, loss: str, lam: float, P: float,
                     direction: str, kl_form: str = "anchor-first") -> np.ndarray:
    """Similarity matrix of one direction: [music, emotion] for M2E, [emotion, music] for E2M.

    ``composite``: ``lam * Gamma + (1 - lam) * (-KL)``; ``cca``: Gamma;
    ``kl``: -KL; ``cos``: cosine of the point embeddings (mu);
    ``composite-cos``: ``lam * Gamma + (1 - lam) * cos``.
    """
    if direction not in ("m2e", "e2m"):
        raise TaskError(f"unknown direction {direction!r}; use m2e or e2m")
    flip = direction == "e2m"
    if loss == "kl":
        return neg_kl_query(emb.mu_m, emb.logvar_m, emb.mu_e, emb.logvar_e, kl_form, direction)
    if loss == "cos":
        out = cosine_matrix(emb.mu_m, emb.mu_e)
        return out.T.copy() if flip else out
    if cca is None:
        raise TaskError(f"loss {loss!r} needs the fitted linear CCA")
    gamma = gamma_matrix(cca, emb.phi_m, emb.phi_e, P, direction)
    if loss == "cca":
        return gamma
    if loss == "composite":
        other = neg_kl_query(emb.mu_m, emb.logvar_m, emb.mu_e, emb.logvar_e, kl_form, direction)
    elif loss == "composite-cos":
        other = cosine_matrix(emb.mu_m, emb.mu_e)
        if flip:
            other = other.T
    else:
        raise TaskError(f"unknown loss {loss!r}")
    gamma *= lam
    gamma += (1.0 - lam) * other
    return gamma
