"""Ranking metrics for cross-modal retrieval from a similarity matrix.

``sim[q, c]`` is the score of candidate ``c`` for query ``q`` (higher = more
similar) and ``relevance[q, c]`` says whether ``c`` is a correct answer for
``q``; by default (square ``sim`` only) query ``i`` matches candidate ``i``.

Ties are broken pessimistically: among candidates with equal scores the
irrelevant ones are ranked first. The rank of query ``q`` is therefore
``1 + #{irrelevant c : sim[q, c] >= s*}`` where ``s*`` is the best score of a
relevant candidate. With a single relevant candidate this is the number of
*other* candidates scoring at least as high, plus one. A model that outputs a
constant similarity thus gets the worst rank instead of a lucky first place.

Unanswered queries: a method that cannot rank any candidate for a query (Won
et al.'s classification strategy when the predicted text emotion is no music
mood) returns an all-NaN row. ``class_macro_retrieval_metrics`` scores such a
row 0 (reciprocal rank 0, no hit in the top k), as the paper reports "no
result"; every other function refuses NaN, since a NaN there is a bug.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mer_bench.errors import MerBenchError
from mer_bench.metrics._checks import to_array, to_float_array


def unanswered_rows(sim: Any) -> np.ndarray:
    """bool ``[Q]``: the queries whose similarity row is entirely NaN (no ranking given)."""
    s = to_float_array(sim, "similarity matrix")
    if s.ndim != 2:
        raise MerBenchError(f"similarity matrix must be 2-D [Q, C], got {s.shape}")
    return np.isnan(s).all(axis=1) if s.shape[1] else np.zeros(s.shape[0], dtype=bool)


def check_inputs(
    sim: Any, relevance: Any = None, allow_unanswered: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(sim, relevance)`` as float and bool ``[Q, C]`` arrays.

    ``allow_unanswered`` lets whole rows be NaN (see the module docstring);
    a NaN inside an otherwise scored row is always an error.
    """
    s = to_float_array(sim, "similarity matrix")
    if s.ndim != 2 or s.shape[0] == 0 or s.shape[1] == 0:
        raise MerBenchError(f"similarity matrix must be 2-D [Q, C] and non-empty, got {s.shape}")
    nan = np.isnan(s)
    if allow_unanswered:
        nan = nan & ~nan.all(axis=1, keepdims=True)
    if nan.any():
        raise MerBenchError(
            f"similarity matrix {s.shape} contains {int(nan.sum())} nan value(s)"
            + (" outside all-NaN (unanswered) rows" if allow_unanswered else "")
        )
    if relevance is None:
        if s.shape[0] != s.shape[1]:
            raise MerBenchError(
                "default relevance (query i matches candidate i) needs a square "
                f"similarity matrix, got {s.shape}; pass a relevance matrix"
            )
        return s, np.eye(s.shape[0], dtype=bool)
    r = to_array(relevance, "relevance")
    if r.shape != s.shape:
        raise MerBenchError(f"relevance shape {r.shape} does not match similarity shape {s.shape}")
    if r.dtype != bool:
        if not np.issubdtype(r.dtype, np.number) or not np.isin(r, (0, 1)).all():
            raise MerBenchError("relevance must be boolean (or 0/1)")
        r = r.astype(bool)
    empty = np.flatnonzero(~r.any(axis=1))
    if empty.size:
        shown = ", ".join(str(i) for i in empty[:10]) + (" ..." if empty.size > 10 else "")
        raise MerBenchError(
            f"{empty.size} query(ies) have no relevant candidate (rows {shown}); "
            "drop them before scoring"
        )
    return s, r


def _relevant_in_ranking(s: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Relevance flags reordered by the pessimistic ranking of each row."""
    # lexsort: last key is primary -> descending score, then irrelevant first on ties.
    order = np.lexsort((r, -s), axis=-1)
    return np.take_along_axis(r, order, axis=-1)


_RANK_BLOCK = 1 << 20  # (query, candidate) pairs per block: temporaries stay small at any Q


def first_relevant_ranks(sim: Any, relevance: Any = None) -> np.ndarray:
    """1-based rank of the best-ranked relevant candidate of each query, int ``[Q]``.

    Computed a block of queries at a time, so a 10,000 x 10,000 score matrix
    needs no full-size temporary besides the inputs.
    """
    s, r = check_inputs(sim, relevance)
    ranks = np.empty(s.shape[0], dtype=np.intp)
    step = max(1, _RANK_BLOCK // s.shape[1])
    for a in range(0, s.shape[0], step):
        sb, rb = s[a : a + step], r[a : a + step]
        best = np.where(rb, sb, -np.inf).max(axis=1, keepdims=True)
        ranks[a : a + step] = 1 + np.count_nonzero(~rb & (sb >= best), axis=1)
    return ranks


def _check_k(k: int) -> int:
    if int(k) != k or k < 1:
        raise MerBenchError(f"k must be a positive integer, got {k!r}")
    return int(k)


def mrr(sim: Any, relevance: Any = None) -> float:
    """Mean reciprocal rank of the first relevant candidate (1 = perfect)."""
    return float(np.mean(1.0 / first_relevant_ranks(sim, relevance)))


def mean_rank(sim: Any, relevance: Any = None) -> float:
    """Mean rank of the first relevant candidate (1 = perfect; lower is better)."""
    return float(np.mean(first_relevant_ranks(sim, relevance)))


def median_rank(sim: Any, relevance: Any = None) -> float:
    """Median rank of the first relevant candidate (robust to a few hopeless queries)."""
    return float(np.median(first_relevant_ranks(sim, relevance)))


def recall_at_k(sim: Any, k: int, relevance: Any = None) -> float:
    """Fraction of queries with at least one relevant candidate in the top ``k``."""
    k = _check_k(k)
    return float(np.mean(first_relevant_ranks(sim, relevance) <= k))


def precision_at_k(sim: Any, k: int, relevance: Any = None) -> float:
    """Mean over queries of ``(#relevant in top k) / k``.

    The divisor stays ``k`` even when fewer than ``k`` candidates exist (as in
    trec_eval), so scores are comparable across candidate-pool sizes.
    """
    k = _check_k(k)
    s, r = check_inputs(sim, relevance)
    hits = _relevant_in_ranking(s, r)[:, :k].sum(axis=1)
    return float(np.mean(hits / k))


def retrieval_metrics(
    sim: Any,
    relevance: Any = None,
    recall_ks: tuple[int, ...] = (1, 5, 10),
    precision_ks: tuple[int, ...] = (),
) -> dict[str, float]:
    """All rank metrics of one direction, computing the ranking once.

    Keys: ``mrr``, ``mean_rank``, ``median_rank``, ``precision@k`` for each of
    ``precision_ks``, then ``recall@k`` for each of ``recall_ks``.
    """
    s, r = check_inputs(sim, relevance)
    ranks = first_relevant_ranks(s, r)
    out: dict[str, float] = {
        "mrr": float(np.mean(1.0 / ranks)),
        "mean_rank": float(np.mean(ranks)),
        "median_rank": float(np.median(ranks)),
    }
    if precision_ks:
        in_order = _relevant_in_ranking(s, r)
        for k in precision_ks:
            k = _check_k(k)
            out[f"precision@{k}"] = float(np.mean(in_order[:, :k].sum(axis=1) / k))
    for k in recall_ks:
        out[f"recall@{k}"] = float(np.mean(ranks <= _check_k(k)))
    return out


def macro_over_classes(values: Any, classes: Any) -> float:
    """Mean over classes of the per-class mean of ``values`` (each class weighs the same).

    Text-to-music retrieval reports macro scores (Won et al. 2021): a query
    vocabulary with one frequent emotion would otherwise dominate the score.
    """
    v = np.asarray(values, dtype=float)
    c = np.asarray(classes)
    if v.shape != c.shape or v.ndim != 1 or v.size == 0:
        raise MerBenchError(f"values {v.shape} and classes {c.shape} must be equal, 1-D, non-empty")
    return float(np.mean([v[c == label].mean() for label in np.unique(c)]))


def class_macro_retrieval_metrics(
    sim: Any, relevance: Any, classes: Any, precision_ks: tuple[int, ...] = (5,)
) -> dict[str, float]:
    """``mrr`` and ``precision@k`` per query, averaged within each query class, then over classes.

    The authors' released evaluation averages P@5 over queries (micro); the
    macro form here is what their paper's tables call macro and it is what the
    leaderboard reports. Ties are broken pessimistically as everywhere here.
    An all-NaN row (an unanswered query) scores 0 on both, as in the paper.
    """
    s, r = check_inputs(sim, relevance, allow_unanswered=True)
    none = unanswered_rows(s)
    s = np.where(none[:, None], 0.0, s)  # placeholder scores, zeroed out below
    reciprocal = np.where(none, 0.0, 1.0 / first_relevant_ranks(s, r))
    out = {"mrr": macro_over_classes(reciprocal, classes)}
    in_order = _relevant_in_ranking(s, r)
    for k in precision_ks:
        k = _check_k(k)
        hits = np.where(none, 0, in_order[:, :k].sum(axis=1))
        out[f"precision@{k}"] = macro_over_classes(hits / k, classes)
    return out
