"""Confidence intervals and paired significance tests for benchmark scores.

Leaderboards compare methods over a handful of folds or seeds, so every mean
comes with an interval and every "A beats B" claim with a paired p-value.
All functions drop nan values (a nan fold is reported elsewhere) and are
deterministic for a given ``seed``.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Any

import numpy as np

from mer_bench.errors import MerBenchError
from mer_bench.metrics._checks import to_float_array

NAN = float("nan")
# Resampled index blocks are capped at this many elements to bound memory.
_MAX_BLOCK = 1 << 22


def _finite_values(values: Any) -> np.ndarray:
    arr = to_float_array(values, "values").ravel()
    return arr[~np.isnan(arr)]


def _paired(a: Any, b: Any) -> np.ndarray:
    """Differences ``a - b`` of the pairs where neither value is nan."""
    x = to_float_array(a, "a").ravel()
    y = to_float_array(b, "b").ravel()
    if x.shape != y.shape:
        raise MerBenchError(f"paired test needs equal lengths, got {x.size} and {y.size}")
    keep = ~(np.isnan(x) | np.isnan(y))
    return x[keep] - y[keep]


def _check_confidence(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise MerBenchError(f"confidence must be in (0, 1), got {confidence}")
    return float(confidence)


def _check_resamples(n_resamples: int) -> int:
    if int(n_resamples) != n_resamples or n_resamples < 1:
        raise MerBenchError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    return int(n_resamples)


@lru_cache(maxsize=16)
def _resample_indices(n: int, n_resamples: int, seed: int) -> np.ndarray:
    """The single block of resample indices for samples of size ``n`` (read-only, cached).

    A leaderboard bootstraps thousands of rows of the same size with the same
    seed; drawing their indices once halves its build time.
    """
    idx = np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))
    idx.flags.writeable = False
    return idx


@lru_cache(maxsize=16)
def _resample_indices_t(n: int, n_resamples: int, seed: int) -> np.ndarray:
    """``_resample_indices`` transposed, C-contiguous: ``x[idx_t]`` is [n, n_resamples]."""
    idx = np.ascontiguousarray(_resample_indices(n, n_resamples, seed).T)
    idx.flags.writeable = False
    return idx


_PAIRWISE_MAX = 128  # numpy's pairwise block: longer rows are summed recursively


def _pairwise_sums(g: np.ndarray) -> np.ndarray:
    """Column sums of ``g`` [n, R] added in the order numpy's pairwise sum adds each row of
    ``g.T`` (eight running sums, then ``((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7))``, then the
    tail; fewer than eight values one by one), so ``_pairwise_sums(x[idx.T])`` equals
    ``x[idx].sum(axis=1)`` bit for bit, with n vector additions instead of R short
    reductions. Only for n <= ``_PAIRWISE_MAX``; checked against numpy on first use.
    """
    n = g.shape[0]
    res = np.zeros(g.shape[1])
    if n < 8:
        for row in g:
            res += row
        return res
    acc = [g[j].copy() for j in range(8)]
    i = 8
    while i < n - n % 8:
        for j in range(8):
            acc[j] += g[i + j]
        i += 8
    res += ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
    for row in g[i:]:
        res += row
    return res


@lru_cache(maxsize=1)
def _pairwise_matches_numpy() -> bool:
    """Whether ``_pairwise_sums`` reproduces this numpy's row sums exactly (else unused)."""
    rng = np.random.default_rng(12345)
    for n in (1, 3, 7, 8, 9, 15, 16, 20, 37, 64, 100, 128):
        x = rng.standard_normal(n) * 10.0 ** rng.uniform(-4, 4, n)
        idx = rng.integers(0, n, size=(256, n))
        if not np.array_equal(_pairwise_sums(x[np.ascontiguousarray(idx.T)]),
                              x[idx].sum(axis=1)):
            return False
    return True


def _bootstrap_means(x: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """Means of ``n_resamples`` resamples-with-replacement of ``x``, in memory-bounded blocks."""
    n = x.size
    block = max(1, _MAX_BLOCK // n)
    if block >= n_resamples:  # one block: the same draws as below, from the cache
        if n <= _PAIRWISE_MAX and _pairwise_matches_numpy():
            return _pairwise_sums(x[_resample_indices_t(n, n_resamples, seed)]) / n
        return x[_resample_indices(n, n_resamples, seed)].mean(axis=1)
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    for start in range(0, n_resamples, block):
        stop = min(start + block, n_resamples)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = x[idx].mean(axis=1)
    return means


def bootstrap_ci(
    values: Any, confidence: float = 0.95, n_resamples: int = 10000, seed: int = 0
) -> tuple[float, float, float]:
    """``(mean, low, high)``: percentile bootstrap interval of the mean.

    Makes no normality assumption, which suits bounded scores such as F1 or
    recall. One value gives ``(v, v, v)``; no (non-nan) value gives all nan.
    """
    confidence = _check_confidence(confidence)
    n_resamples = _check_resamples(n_resamples)
    x = _finite_values(values)
    if x.size == 0:
        return NAN, NAN, NAN
    mean = float(x.mean())
    if x.size == 1 or np.all(x == x[0]):
        return mean, mean, mean
    means = _bootstrap_means(x, n_resamples, seed)
    alpha = 1.0 - confidence
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return mean, float(low), float(high)


def t_ci(values: Any, confidence: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: Student-t interval of the mean.

    The classic choice for a few seeds or folds; unlike the bootstrap it widens
    properly when n is tiny. One value has no spread estimate: ``(v, nan, nan)``.
    No (non-nan) value gives all nan.
    """
    from scipy import stats

    confidence = _check_confidence(confidence)
    x = _finite_values(values)
    if x.size == 0:
        return NAN, NAN, NAN
    mean = float(x.mean())
    if x.size == 1:
        return mean, NAN, NAN
    sem = float(x.std(ddof=1)) / np.sqrt(x.size)
    half = float(stats.t.ppf(0.5 + confidence / 2, df=x.size - 1)) * sem
    return mean, mean - half, mean + half


def paired_bootstrap_pvalue(a: Any, b: Any, n_resamples: int = 10000, seed: int = 0) -> float:
    """Two-sided p-value for ``mean(a - b) != 0`` over paired values.

    The differences are centred (imposing the null of zero mean difference) and
    resampled; p = (1 + #{|resampled mean| >= |observed mean|}) / (1 + n_resamples),
    which is never 0. Pairs with a nan are dropped; all-zero differences give
    1.0, fewer than two pairs otherwise give nan.
    """
    n_resamples = _check_resamples(n_resamples)
    d = _paired(a, b)
    if d.size and np.all(d == 0):
        return 1.0
    if d.size < 2:
        return NAN
    observed = abs(float(d.mean()))
    means = _bootstrap_means(d - d.mean(), n_resamples, seed)
    extreme = int(np.count_nonzero(np.abs(means) >= observed))
    return (1 + extreme) / (1 + n_resamples)


def wilcoxon_pvalue(a: Any, b: Any) -> float:
    """Two-sided Wilcoxon signed-rank p-value for paired values (scipy).

    Rank-based, so one outlier fold cannot dominate. Pairs with a nan are
    dropped; all-zero differences give 1.0, no pair at all gives nan.
    """
    from scipy import stats

    d = _paired(a, b)
    if d.size == 0:
        return NAN
    if np.all(d == 0):
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small-sample / ties notices, not errors
        result = stats.wilcoxon(d)
    return float(result.pvalue)
