"""Cached resample indices and vectorised resample sums leave every bootstrap number exactly
as numpy's row means of fresh draws."""

from __future__ import annotations

import numpy as np
import pytest

from mer_bench.metrics import stats


def _uncached_means(x: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    block = max(1, stats._MAX_BLOCK // x.size)
    means = np.empty(n_resamples)
    for start in range(0, n_resamples, block):
        stop = min(start + block, n_resamples)
        means[start:stop] = x[rng.integers(0, x.size, size=(stop - start, x.size))].mean(axis=1)
    return means


@pytest.mark.parametrize("n", [2, 7, 20, 999])
def test_bootstrap_means_identical_to_fresh_draws(n: int) -> None:
    x = np.random.default_rng(n).uniform(size=n)
    for seed in (0, 3):
        for _ in range(2):  # the second call is served from the cache
            np.testing.assert_array_equal(stats._bootstrap_means(x, 10_000, seed),
                                          _uncached_means(x, 10_000, seed))


def test_cached_indices_are_read_only() -> None:
    idx = stats._resample_indices(5, 100, 0)
    with pytest.raises(ValueError):
        idx[0, 0] = 1


def test_pairwise_column_sums_equal_numpy_row_sums_for_every_size() -> None:
    """The vectorised sums behind the fast path equal numpy's pairwise row sums exactly."""
    rng = np.random.default_rng(7)
    for n in range(1, stats._PAIRWISE_MAX + 1):
        x = rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3, n)
        idx = rng.integers(0, n, size=(300, n))
        np.testing.assert_array_equal(stats._pairwise_sums(x[np.ascontiguousarray(idx.T)]),
                                      x[idx].sum(axis=1), err_msg=f"n={n}")
    np.testing.assert_array_equal(stats._bootstrap_means(x, 2000, 1), _uncached_means(x, 2000, 1))
