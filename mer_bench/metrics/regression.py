"""Regression metrics for one valence or arousal dimension (1-D arrays).

Degenerate inputs (a constant target or prediction) are common on small test
folds; they give a documented nan or a formula value rather than a warning or
an exception, so one fold cannot abort a whole benchmark run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mer_bench.metrics._checks import paired_float_1d


def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error, in the units of the target."""
    t, p = paired_float_1d(y_true, y_pred, "y_true", "y_pred")
    return float(np.sqrt(np.mean((t - p) ** 2)))


def r2(y_true: Any, y_pred: Any) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot``.

    nan when ``y_true`` is constant (SS_tot = 0): the score is undefined there,
    and scikit-learn's substitute of 0 or 1 would look like a real result.
    """
    t, p = paired_float_1d(y_true, y_pred, "y_true", "y_pred")
    ss_tot = float(np.sum((t - t.mean()) ** 2))
    if ss_tot == 0.0:
        return float("nan")
    return float(1.0 - np.sum((t - p) ** 2) / ss_tot)


def pearson_r(y_true: Any, y_pred: Any) -> float:
    """Pearson correlation; nan (silently) when either input is constant."""
    t, p = paired_float_1d(y_true, y_pred, "y_true", "y_pred")
    dt = t - t.mean()
    dp = p - p.mean()
    denom = float(np.sqrt(np.sum(dt * dt) * np.sum(dp * dp)))
    if denom == 0.0:
        return float("nan")
    return float(np.clip(np.sum(dt * dp) / denom, -1.0, 1.0))


def ccc(y_true: Any, y_pred: Any) -> float:
    """Lin's concordance correlation ``2 cov / (var_t + var_p + (mean_t - mean_p)^2)``.

    Uses population (ddof=0) moments, the usual choice in emotion-recognition
    challenges. Unlike Pearson it penalises bias and scale, and it stays defined
    for a constant prediction (0 when the truth varies). Only when both inputs
    are the same constant is the denominator 0, and the result is nan.
    """
    t, p = paired_float_1d(y_true, y_pred, "y_true", "y_pred")
    mt, mp = t.mean(), p.mean()
    cov = np.mean((t - mt) * (p - mp))
    denom = float(np.var(t) + np.var(p) + (mt - mp) ** 2)
    if denom == 0.0:
        return float("nan")
    return float(2.0 * cov / denom)


def song_pearson_r(y_true: Any, y_pred: Any) -> float:
    """Pearson's r of one song's curve against its prediction, 0 where r is undefined.

    A constant prediction (or a flat annotation) has no co-variation with the
    other curve, so it scores 0, not nan: a per-song average over songs then
    counts such a song as uncorrelated instead of silently dropping it, and a
    method that predicts one value per song (``chance``) gets r = 0, not nan.
    Constancy is tested on the values themselves: a tiled mean whose float mean
    is not exactly itself would otherwise give a rounding-noise r of ~1e-17.
    """
    t, p = paired_float_1d(y_true, y_pred, "y_true", "y_pred")
    if np.ptp(t) == 0.0 or np.ptp(p) == 0.0:
        return 0.0
    r = pearson_r(t, p)
    return 0.0 if np.isnan(r) else r
