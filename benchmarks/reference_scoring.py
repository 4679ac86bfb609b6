"""The EMER-CL scoring code as it was before scoring went block by block (reference only).

Kept verbatim (minus ``LinearCCA`` and ``Embeddings``, which did not change)
so that tests can check the blocked code gives the very same numbers, and so
that the performance suite can show what the rewrite bought. Not used by the
package.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from mer_bench.errors import TaskError
from mer_bench.methods.emer_cl.scoring import Embeddings, LinearCCA

NUMBA_MIN_TERMS = 20_000_000
_CHUNK_TERMS = 4_000_000


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
