"""EMER-CL training losses: Deep CCA, KL between diagonal Gaussians, hinge ranking.

All functions take torch tensors and are differentiable. The CCA loss and the
KL matrix are computed in float64 whatever the input dtype, because the
covariance whitening and the expanded KL are sensitive to rounding; the
result is cast back to the input dtype.
"""

from __future__ import annotations

from typing import Any

import torch

from mer_bench.errors import TaskError

# "anchor-first" is the paper's Eq. 6: psi(anchor, other), i.e. KL(m || e) for a music
# anchor and KL(e || m) for an emotion anchor; the others use one matrix for both
KL_FORMS = ("anchor-first", "music||emotion", "emotion||music", "symmetric")
REDUCTIONS = ("sum", "mean")


class _SymInvSqrt(torch.autograd.Function):
    """``A^{-1/2}`` of a symmetric positive-definite matrix, with a backward that stays finite.

    Forward: eigen-decomposition ``A = Q diag(w) Q^T`` with eigenvalues clamped
    at ``floor`` (so a near-singular covariance cannot produce inf). Backward:
    the Daleckii-Krein formula ``dF = Q (L * (Q^T dA Q)) Q^T`` whose divided
    differences ``L_ij = (w_i^-1/2 - w_j^-1/2) / (w_i - w_j)`` are evaluated in
    the closed form ``-1 / (sqrt(w_i w_j) (sqrt(w_i) + sqrt(w_j)))``: exact,
    free of cancellation, and equal to the derivative ``-w^-3/2 / 2`` when
    eigenvalues repeat, where autograd through ``eigh`` would divide by zero.
    """

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor, floor: float) -> torch.Tensor:
        sym = 0.5 * (a + a.transpose(-1, -2))
        w, q = torch.linalg.eigh(sym)
        w = w.clamp_min(floor)
        root = w.sqrt()
        ctx.save_for_backward(root, q)
        return (q / root) @ q.transpose(-1, -2)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        root, q = ctx.saved_tensors
        divided = -1.0 / (root[:, None] * root[None, :] * (root[:, None] + root[None, :]))
        g = 0.5 * (grad + grad.transpose(-1, -2))
        inner = q.transpose(-1, -2) @ g @ q
        return q @ (divided * inner) @ q.transpose(-1, -2), None


def sym_inv_sqrt(a: torch.Tensor, floor: float = 1e-12) -> torch.Tensor:
    """``A^{-1/2}`` of a symmetric PSD matrix (eigenvalues clamped at ``floor``)."""
    return _SymInvSqrt.apply(a, floor)


def shrunk_covariance(x: torch.Tensor, ridge: float, shrinkage: float) -> torch.Tensor:
    """``(1 - s) X'X/(N-1) + s * tr/D * I + r I`` of centred ``x`` [N, D] (Ledoit-Wolf form).

    Shrinking towards the scaled identity keeps the covariance well conditioned
    when N is not much larger than D; ``s = 0`` is the plain sample covariance.
    """
    n, d = x.shape
    eye = torch.eye(d, dtype=x.dtype, device=x.device)
    cov = x.T @ x / (n - 1)
    if shrinkage > 0:
        cov = (1.0 - shrinkage) * cov + shrinkage * (torch.trace(cov) / d) * eye
    return cov + ridge * eye


def forced_correlations(n: int, dim: int) -> int:
    """How many of the ``dim`` canonical correlations of n paired samples are 1 whatever the data.

    Centred, n samples of the pooled [x, y] (2 * dim columns) span at most
    n - 1 directions, so the column spaces of x and y (dim each) share at
    least 2 * dim - (n - 1) directions: that many correlations are exactly 1
    (all n - 1 of them once n - 1 <= dim).
    """
    return max(0, min(int(n) - 1, 2 * int(dim) - (int(n) - 1)))


def cca_rank_deficient(n: int, dim: int) -> bool:
    """True when ``n`` samples force canonical correlations of two ``dim``-dimensional views
    to 1 (n - 1 < 2 * dim, ``forced_correlations``): the DCCA loss then counts them for
    related and unrelated views alike, and a post-hoc CCA finds them on noise."""
    return forced_correlations(n, dim) > 0


def cca_loss(h1: torch.Tensor, h2: torch.Tensor, ridge: float = 1e-4,
             floor: float = 1e-12, shrinkage: float = 0.0) -> torch.Tensor:
    """Deep CCA loss (Andrew et al. 2013): minus the sum of canonical correlations.

    The batch views ``h1`` [N, D1] and ``h2`` [N, D2] are centred over the
    batch; ``S11 = H1'H1/(N-1) + r I``, ``S22`` likewise, ``S12 = H1'H2/(N-1)``;
    ``T = S11^-1/2 S12 S22^-1/2`` and the loss is ``-sum(svd(T))`` (the
    nuclear norm, whose ``svdvals`` gradient is stable even for repeated
    singular values). Computed in float64.

    This is the textbook DCCA. The authors' released TensorFlow code differs:
    it centres each sample over its features instead of each feature over the
    batch and takes an element-wise square root of ``C C^T``; we do not copy
    that.

    A batch with N - 1 < 2 D is allowed, because the paper trains D = 1024
    with batches of 512, but it is degenerate: 2 D - (N - 1) correlations
    (all N - 1 once N <= D) come out as 1 whatever the data
    (``forced_correlations``; EMER-CL flags such runs). ``shrinkage`` > 0 shrinks both covariances
    towards the scaled identity (``shrunk_covariance``), which keeps the
    correlations data-driven when N is close to D. Fewer than 2 samples have
    no covariance and raise ``TaskError``.
    """
    if h1.ndim != 2 or h2.ndim != 2 or h1.shape[0] != h2.shape[0]:
        raise TaskError(f"cca_loss needs two [N, D] views with the same N, got "
                        f"{tuple(h1.shape)} and {tuple(h2.shape)}")
    n = h1.shape[0]
    if n < 2:
        raise TaskError(f"cca_loss needs a batch of at least 2 samples, got {n}")
    dtype = h1.dtype
    x = h1.to(torch.float64)
    y = h2.to(torch.float64)
    x = x - x.mean(dim=0, keepdim=True)
    y = y - y.mean(dim=0, keepdim=True)
    s11 = shrunk_covariance(x, ridge, shrinkage)
    s22 = shrunk_covariance(y, ridge, shrinkage)
    s12 = (1.0 - shrinkage) * x.T @ y / (n - 1)
    t = sym_inv_sqrt(s11, floor) @ s12 @ sym_inv_sqrt(s22, floor)
    return (-torch.linalg.svdvals(t).sum()).to(dtype)


def kl_matrix(mu_p: torch.Tensor, logvar_p: torch.Tensor, mu_q: torch.Tensor,
              logvar_q: torch.Tensor) -> torch.Tensor:
    """``K[i, j] = KL(N(mu_p[i], var_p[i]) || N(mu_q[j], var_q[j]))`` for diagonal Gaussians.

    ``var = exp(logvar)`` (the paper's sigma is the variance). Closed form:
    ``0.5 * sum_d [log var_q - log var_p + (var_p + (mu_p - mu_q)^2) / var_q - 1]``,
    expanded so the [N, M] matrix costs two matrix products instead of an
    [N, M, D] tensor. Computed in float64, returned in the input dtype.
    """
    dtype = mu_p.dtype
    mp, lp = mu_p.to(torch.float64), logvar_p.to(torch.float64)
    mq, lq = mu_q.to(torch.float64), logvar_q.to(torch.float64)
    inv_q = torch.exp(-lq)  # [M, D]
    left = torch.cat([torch.exp(lp) + mp * mp, mp], dim=1)  # [N, 2D]
    right = torch.cat([inv_q, -2.0 * mq * inv_q], dim=1)  # [M, 2D]
    per_q = (lq + mq * mq * inv_q).sum(dim=1)  # [M]
    per_p = lp.sum(dim=1)  # [N]
    d = mp.shape[1]
    k = 0.5 * (left @ right.T + per_q[None, :] - per_p[:, None] - d)
    return k.to(dtype)


def anchored_kl(mu_m: torch.Tensor, logvar_m: torch.Tensor, mu_e: torch.Tensor,
                logvar_e: torch.Tensor, form: str = "anchor-first"
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """The two psi matrices of the ranking loss: ``(music anchors [m, e], emotion anchors [e, m])``.

    ``anchor-first`` (the paper's Eq. 6): ``KL(m_i || e_j)`` for music anchor i
    and ``KL(e_j || m_i)`` for emotion anchor j. Every other form uses one
    matrix ``pairwise_kl`` for both (the second is its transpose).
    """
    if form == "anchor-first":
        return (kl_matrix(mu_m, logvar_m, mu_e, logvar_e),
                kl_matrix(mu_e, logvar_e, mu_m, logvar_m))
    one = pairwise_kl(mu_m, logvar_m, mu_e, logvar_e, form)
    return one, one.T


def pairwise_kl(mu_m: torch.Tensor, logvar_m: torch.Tensor, mu_e: torch.Tensor,
                logvar_e: torch.Tensor, form: str = "music||emotion") -> torch.Tensor:
    """psi[i, j] between music i and emotion j, one matrix for both directions.

    ``form`` picks ``KL(music_i || emotion_j)``, ``KL(emotion_j || music_i)`` or
    their mean (``symmetric``); ``anchor-first`` needs two matrices
    (``anchored_kl``).
    """
    if form == "music||emotion":
        return kl_matrix(mu_m, logvar_m, mu_e, logvar_e)
    if form == "emotion||music":
        return kl_matrix(mu_e, logvar_e, mu_m, logvar_m).T
    if form == "symmetric":
        return 0.5 * (kl_matrix(mu_m, logvar_m, mu_e, logvar_e)
                      + kl_matrix(mu_e, logvar_e, mu_m, logvar_m).T)
    raise TaskError(f"unknown KL form {form!r}; use one of {KL_FORMS}")


def cosine_distance_matrix(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """``1 - cos(a_i, b_j)`` for point embeddings (the paper's Cos variant)."""
    an = a / a.norm(dim=1, keepdim=True).clamp_min(eps)
    bn = b / b.norm(dim=1, keepdim=True).clamp_min(eps)
    return 1.0 - an @ bn.T


def hinge_ranking_loss(dist: torch.Tensor, alpha: float, dist_e2m: torch.Tensor | None = None,
                       reduction: str = "sum") -> torch.Tensor:
    """Bidirectional hinge ranking over in-batch negatives (paper Eq. 6-7): KL(G).

    ``dist[i, j]`` is psi with music anchor i and emotion j; ``dist_e2m[j, i]``
    is psi with emotion anchor j and music i (default ``dist.T``, one matrix
    for both). Pairs (i, i) match. For every music anchor i and negative
    emotion j != i, ``max(0, psi_m(i, i) + alpha - psi_m(i, j))``, and for
    every emotion anchor j and negative music i != j,
    ``max(0, psi_e(j, j) + alpha - psi_e(j, i))``: a negative must be farther
    than the positive by the margin ``alpha``. (Eq. 4-6 print the margin with
    the opposite sign; the text and the authors' code agree with this one.)

    ``reduction="sum"`` is the paper's KL(G), the sum of r(.) over the
    batch's positive pairs (the authors' code sums too); ``"mean"`` divides
    by the N anchors.
    """
    n = dist.shape[0]
    if dist.ndim != 2 or dist.shape[1] != n:
        raise TaskError(f"ranking loss needs a square [N, N] matrix, got {tuple(dist.shape)}")
    if reduction not in REDUCTIONS:
        raise TaskError(f"unknown reduction {reduction!r}; use one of {REDUCTIONS}")
    other = dist.T if dist_e2m is None else dist_e2m
    if other.shape != dist.shape:
        raise TaskError(f"the two psi matrices differ in shape: {tuple(dist.shape)} and "
                        f"{tuple(other.shape)}")
    off = ~torch.eye(n, dtype=torch.bool, device=dist.device)
    m2e = torch.relu(dist.diagonal()[:, None] + alpha - dist)  # row i: music anchor i
    e2m = torch.relu(other.diagonal()[:, None] + alpha - other)  # row j: emotion anchor j
    total = ((m2e + e2m) * off).sum()
    return total if reduction == "sum" else total / n
