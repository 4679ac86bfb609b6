"""Metric learning pieces: the cosine triplet loss and similarity-weighted negative sampling.

Triplet loss: ``mean(relu(margin - cos(a, p) + cos(a, n)))`` over the valid
triplets. Negatives come from the other positives of the same batch: for
anchor ``i``, candidate ``j`` is allowed when they share no label (their
multi-hot label vectors have a zero dot product, which rules out the anchor's
own positive) and is drawn with probability proportional to
``(cos(a_i, p_j) + 1) / 2``, so harder (more similar) negatives come up more
often. An anchor without any allowed candidate has no triplet and is left out
of the mean.

This weighting is the authors' (their ``triplet_sampling``), not the
distance-weighted sampling of Wu et al. (2017) that the paper cites, which
draws negatives with the inverse density of pairwise distances on the unit
hypersphere, clipped; the numbers of the paper come from this one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_MIN_WEIGHT = 1e-6  # an allowed candidate at cosine -1 keeps a tiny chance


def triplet_loss(
    anchor: torch.Tensor,
    positive: torch.Tensor,
    negative: torch.Tensor,
    margin: float,
    valid: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cosine triplet loss averaged over the rows where ``valid`` (all rows when None)."""
    pos = F.cosine_similarity(anchor, positive, dim=-1, eps=1e-8)
    neg = F.cosine_similarity(anchor, negative, dim=-1, eps=1e-8)
    losses = torch.relu(margin - pos + neg)
    if valid is None:
        return losses.mean()
    weight = valid.to(losses.dtype)
    return (losses * weight).sum() / weight.sum().clamp_min(1.0)


def allowed_negatives(anchor_labels: torch.Tensor, candidate_labels: torch.Tensor) -> torch.Tensor:
    """[A, C] bool: candidate ``j`` may be a negative of anchor ``i`` (no shared label)."""
    shared = anchor_labels.float() @ candidate_labels.float().T
    return shared == 0


def negative_weights(
    anchor: torch.Tensor, candidates: torch.Tensor, allowed: torch.Tensor, weighted: bool = True
) -> torch.Tensor:
    """[A, C] sampling weights: ``(cos + 1) / 2`` (or 1 when not ``weighted``) where allowed."""
    if weighted:
        cos = F.normalize(anchor, dim=-1, eps=1e-8) @ F.normalize(candidates, dim=-1, eps=1e-8).T
        weights = ((cos + 1.0) / 2.0).clamp_min(_MIN_WEIGHT)
    else:
        weights = torch.ones(allowed.shape, dtype=anchor.dtype, device=anchor.device)
    return weights * allowed.to(weights.dtype)


def sample_negatives(
    anchor: torch.Tensor,
    candidates: torch.Tensor,
    allowed: torch.Tensor,
    generator: torch.Generator,
    weighted: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One negative index per anchor, and whether the anchor had any allowed candidate.

    Sampling runs on the CPU with ``generator`` (deterministic for a seed);
    no gradient flows through the choice.
    """
    weights = negative_weights(anchor.detach(), candidates.detach(), allowed, weighted)
    weights = weights.double().cpu()
    valid = weights.sum(dim=1) > 0
    safe = torch.where(valid[:, None], weights, torch.ones_like(weights))
    index = torch.multinomial(safe, 1, generator=generator).squeeze(1)
    index = torch.where(valid, index, torch.zeros_like(index))
    return index.to(anchor.device), valid.to(anchor.device)
