"""Retrieval rank metrics vs hand-worked matrices and brute-force references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from mer_bench.errors import MerBenchError
from mer_bench.metrics.retrieval import (
    first_relevant_ranks,
    mean_rank,
    median_rank,
    mrr,
    precision_at_k,
    recall_at_k,
    retrieval_metrics,
)

SEEDS = range(5)

# Query i's relevant candidate is i (the diagonal).
SIM_3X3 = np.array(
    [
        [0.9, 0.1, 0.5],  # own score 0.9 is the highest           -> rank 1
        [0.8, 0.3, 0.2],  # 0.8 beats own 0.3, 0.2 does not        -> rank 2
        [0.1, 0.7, 0.6],  # 0.7 beats own 0.6                      -> rank 2
    ]
)


def test_hand_worked_3x3() -> None:
    np.testing.assert_array_equal(first_relevant_ranks(SIM_3X3), [1, 2, 2])
    assert mrr(SIM_3X3) == pytest.approx((1 + 1 / 2 + 1 / 2) / 3)
    assert mean_rank(SIM_3X3) == pytest.approx(5 / 3)
    assert median_rank(SIM_3X3) == 2.0
    assert recall_at_k(SIM_3X3, 1) == pytest.approx(1 / 3)
    assert recall_at_k(SIM_3X3, 2) == 1.0
    assert precision_at_k(SIM_3X3, 1) == pytest.approx(1 / 3)
    assert precision_at_k(SIM_3X3, 2) == pytest.approx(1 / 2)  # each query: 1 hit / 2
    # transposed (columns as queries): column 0 -> 0.9 top; column 1 -> 0.7 > 0.3 rank 2;
    # column 2 -> 0.6 is top of (0.5, 0.2, 0.6)
    np.testing.assert_array_equal(first_relevant_ranks(SIM_3X3.T), [1, 2, 1])


def test_ties_are_pessimistic() -> None:
    # constant similarity: every other candidate ties, so each query ranks last
    np.testing.assert_array_equal(first_relevant_ranks(np.ones((3, 3))), [3, 3, 3])
    assert mrr(np.ones((4, 4))) == pytest.approx(1 / 4)
    sim = np.array([[0.5, 0.5, 0.1], [0.2, 0.9, 0.9], [0.3, 0.3, 0.3]])
    np.testing.assert_array_equal(first_relevant_ranks(sim), [2, 2, 3])
    # top-1 under a tie with an irrelevant candidate is not a hit
    assert precision_at_k([[0.5, 0.5]], 1, [[True, False]]) == 0.0
    assert recall_at_k([[0.5, 0.5]], 1, [[True, False]]) == 0.0


def test_tied_relevant_candidates_do_not_push_each_other_down() -> None:
    sim = [[0.5, 0.5, 0.9, 0.1]]
    rel = [[True, True, False, False]]
    # ranking: 0.9 (irrelevant), then the two tied relevant ones -> first relevant at 2
    np.testing.assert_array_equal(first_relevant_ranks(sim, rel), [2])
    assert precision_at_k(sim, 3, rel) == pytest.approx(2 / 3)


def test_hand_worked_multi_relevant_precision() -> None:
    sim = [[0.9, 0.8, 0.7, 0.6]]
    rel = [[False, True, True, False]]
    np.testing.assert_array_equal(first_relevant_ranks(sim, rel), [2])
    assert precision_at_k(sim, 1, rel) == 0.0
    assert precision_at_k(sim, 2, rel) == pytest.approx(1 / 2)
    assert precision_at_k(sim, 3, rel) == pytest.approx(2 / 3)
    # k larger than the pool still divides by k
    assert precision_at_k(sim, 5, rel) == pytest.approx(2 / 5)
    assert recall_at_k(sim, 1, rel) == 0.0
    assert recall_at_k(sim, 2, rel) == 1.0


def _brute_force(sim: np.ndarray, rel: np.ndarray, k: int) -> tuple[list[int], list[float]]:
    """Sort each row explicitly (score desc, irrelevant first on ties) and read off."""
    ranks, precisions = [], []
    for s_row, r_row in zip(sim, rel, strict=True):
        order = sorted(range(len(s_row)), key=lambda c: (-s_row[c], bool(r_row[c])))
        flags = [bool(r_row[c]) for c in order]
        ranks.append(flags.index(True) + 1)
        precisions.append(sum(flags[:k]) / k)
    return ranks, precisions


@pytest.mark.parametrize("seed", SEEDS)
def test_matches_brute_force_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    sim = np.round(rng.uniform(size=(12, 15)), 1)  # coarse values -> many ties
    rel = rng.uniform(size=(12, 15)) < 0.2
    rel[np.arange(12), rng.integers(0, 15, 12)] = True  # every query has a relevant item
    for k in (1, 3, 5, 20):
        ranks, precisions = _brute_force(sim, rel, k)
        np.testing.assert_array_equal(first_relevant_ranks(sim, rel), ranks)
        assert precision_at_k(sim, k, rel) == pytest.approx(np.mean(precisions))
        assert recall_at_k(sim, k, rel) == pytest.approx(np.mean(np.array(ranks) <= k))
    assert mrr(sim, rel) == pytest.approx(np.mean(1 / np.array(ranks)))


@pytest.mark.parametrize("seed", SEEDS)
def test_identity_ranks_match_scipy_rankdata(seed: int) -> None:
    rng = np.random.default_rng(seed)
    sim = np.round(rng.normal(size=(20, 20)), 1)
    # method="max" on -score = number of candidates scoring >= own score, incl. itself
    expected = [int(stats.rankdata(-row, method="max")[i]) for i, row in enumerate(sim)]
    np.testing.assert_array_equal(first_relevant_ranks(sim), expected)
    assert median_rank(sim) == np.median(expected)
    assert mean_rank(sim) == pytest.approx(np.mean(expected))


@pytest.mark.parametrize("seed", SEEDS)
def test_recall_matches_sklearn_top_k_accuracy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 30
    sim = rng.normal(size=(n, n)) + 1.5 * np.eye(n)  # continuous: no ties
    for k in (1, 5, 10):
        expected = skm.top_k_accuracy_score(np.arange(n), sim, k=k, labels=np.arange(n))
        assert recall_at_k(sim, k) == pytest.approx(expected)


def test_retrieval_metrics_bundle_matches_single_functions() -> None:
    rng = np.random.default_rng(0)
    sim = rng.normal(size=(8, 10))
    rel = rng.uniform(size=(8, 10)) < 0.3
    rel[:, 0] = True
    out = retrieval_metrics(sim, rel, recall_ks=(1, 5), precision_ks=(1, 5))
    assert list(out) == [
        "mrr",
        "mean_rank",
        "median_rank",
        "precision@1",
        "precision@5",
        "recall@1",
        "recall@5",
    ]
    assert out["mrr"] == mrr(sim, rel)
    assert out["median_rank"] == median_rank(sim, rel)
    assert out["precision@5"] == precision_at_k(sim, 5, rel)
    assert out["recall@5"] == recall_at_k(sim, 5, rel)
    assert all(type(v) is float for v in out.values())


def test_infinite_scores_are_allowed() -> None:
    sim = np.array([[-np.inf, 0.0], [np.inf, 1.0]])
    np.testing.assert_array_equal(first_relevant_ranks(sim), [2, 2])


def test_relevance_accepts_0_1_ints() -> None:
    assert mrr(SIM_3X3, np.eye(3, dtype=int)) == mrr(SIM_3X3)


@pytest.mark.parametrize(
    ("sim", "rel", "match"),
    [
        ([[0.1, np.nan], [0.2, 0.3]], None, "nan"),
        (np.zeros((2, 3)), None, "square"),
        (np.zeros((2, 3)), np.ones((3, 2), dtype=bool), "does not match"),
        (np.zeros(3), None, "2-D"),
        (np.zeros((0, 0)), None, "non-empty"),
        (np.zeros((2, 2)), [[True, False], [False, False]], "no relevant"),
        (np.zeros((2, 2)), [[2, 0], [0, 1]], "boolean"),
    ],
)
def test_bad_inputs_raise(sim: object, rel: object, match: str) -> None:
    with pytest.raises(MerBenchError, match=match):
        mrr(sim, rel)


def test_bad_k_raises() -> None:
    with pytest.raises(MerBenchError, match="positive integer"):
        recall_at_k(SIM_3X3, 0)
    with pytest.raises(MerBenchError, match="positive integer"):
        precision_at_k(SIM_3X3, 1.5)


def test_ragged_similarity_raises_merbencherror() -> None:
    with pytest.raises(MerBenchError, match="similarity matrix is not a regular"):
        mrr([[0.1, 0.2], [0.3]])


# --- unanswered queries (a method that cannot rank anything for a query) --------------
def test_an_unanswered_query_scores_zero_not_a_pessimistic_rank() -> None:
    from mer_bench.metrics.retrieval import class_macro_retrieval_metrics, unanswered_rows

    sim = np.array([[0.9, 0.1, 0.5], [np.nan, np.nan, np.nan], [0.2, 0.3, 0.1]])
    rel = np.array([[True, False, False], [True, False, False], [False, False, True]])
    assert unanswered_rows(sim).tolist() == [False, True, False]
    out = class_macro_retrieval_metrics(sim, rel, ["a", "a", "b"], precision_ks=(5,))
    # a: ranks 1 and "no answer" -> (1 + 0) / 2; b: its clip is last of 3 -> 1/3
    assert out["mrr"] == pytest.approx(((1 + 0) / 2 + 1 / 3) / 2)
    # a: 1 hit / 5 and 0; b: 1 hit (rank 3 <= 5) / 5
    assert out["precision@5"] == pytest.approx(((1 / 5 + 0) / 2 + 1 / 5) / 2)
    # the same query as a constant row instead would have been ranked pessimistically: 1/3
    constant = np.where(np.isnan(sim), 0.0, sim)
    with_constant = class_macro_retrieval_metrics(constant, rel, ["a", "a", "b"])
    assert with_constant["mrr"] == pytest.approx(((1 + 1 / 3) / 2 + 1 / 3) / 2)


def test_every_query_unanswered_scores_zero_and_partial_nan_is_an_error() -> None:
    from mer_bench.metrics.retrieval import class_macro_retrieval_metrics

    sim = np.full((3, 4), np.nan)
    rel = np.eye(3, 4, dtype=bool)
    out = class_macro_retrieval_metrics(sim, rel, ["a", "b", "c"])
    assert out == {"mrr": 0.0, "precision@5": 0.0}
    sim[0, 1] = 0.5  # a NaN inside a scored row is a bug, not "no answer"
    with pytest.raises(MerBenchError, match="nan"):
        class_macro_retrieval_metrics(sim[:1], rel[:1], ["a"])
    with pytest.raises(MerBenchError, match="nan"):
        mrr(np.full((2, 2), np.nan))  # the plain metrics never accept NaN
