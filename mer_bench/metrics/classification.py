"""Classification metrics on int class indices, implemented with numpy only.

They mirror scikit-learn's definitions (checked against it in the tests) so
published numbers stay comparable, without importing scikit-learn at run time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mer_bench.errors import MerBenchError
from mer_bench.metrics._checks import as_labels_1d, same_length


def _labels(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t = as_labels_1d(y_true, "y_true")
    p = as_labels_1d(y_pred, "y_pred")
    same_length(t, p, "y_true", "y_pred")
    return t, p


def _n_classes(t: np.ndarray, p: np.ndarray, n_classes: int | None) -> int:
    seen = int(max(t.max(), p.max())) + 1
    if n_classes is None:
        return seen
    if n_classes < 1:
        raise MerBenchError(f"n_classes must be >= 1, got {n_classes}")
    if seen > n_classes:
        raise MerBenchError(f"class index {seen - 1} is out of range for n_classes={n_classes}")
    return int(n_classes)


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of exact matches."""
    t, p = _labels(y_true, y_pred)
    return float(np.mean(t == p))


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int) -> np.ndarray:
    """Counts ``[n_classes, n_classes]``: row = true class, column = predicted class.

    Same orientation as scikit-learn, so the diagonal holds correct predictions.
    """
    t, p = _labels(y_true, y_pred)
    n = _n_classes(t, p, n_classes)
    return np.bincount(t * n + p, minlength=n * n).reshape(n, n)


def _f1_from_confusion(cm: np.ndarray) -> np.ndarray:
    # F1 = 2TP / (2TP + FP + FN); a class with no true and no predicted samples
    # has a zero denominator and gets 0 (scikit-learn's zero_division=0).
    tp = np.diag(cm).astype(float)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    denom = 2 * tp + fp + fn
    return np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)


def per_class_f1(y_true: Any, y_pred: Any, n_classes: int | None = None) -> np.ndarray:
    """F1 of each class ``0..n_classes-1`` (default: up to the largest index seen).

    Classes never seen in either array get 0, as with ``zero_division=0``.
    """
    t, p = _labels(y_true, y_pred)
    return _f1_from_confusion(confusion_matrix(t, p, _n_classes(t, p, n_classes)))


def macro_f1(y_true: Any, y_pred: Any, n_classes: int | None = None) -> float:
    """Unweighted mean of per-class F1, so rare emotions weigh as much as common ones.

    With ``n_classes`` every class ``0..n_classes-1`` is averaged, an absent class
    contributing F1 = 0 (``f1_score(average="macro", labels=range(n_classes),
    zero_division=0)``). Without it only classes present in ``y_true`` or
    ``y_pred`` are averaged (scikit-learn's default label set).
    """
    t, p = _labels(y_true, y_pred)
    f1 = per_class_f1(t, p, n_classes)
    if n_classes is None:
        present = np.zeros(len(f1), dtype=bool)
        present[t] = True
        present[p] = True
        f1 = f1[present]
    return float(np.mean(f1))


def _precision_recall(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # precision = TP / predicted, recall = TP / true; 0 where nothing was predicted or
    # nothing is true (scikit-learn's zero_division=0)
    tp = np.diag(cm).astype(float)
    predicted = cm.sum(axis=0).astype(float)
    true = cm.sum(axis=1).astype(float)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, true, out=np.zeros_like(tp), where=true > 0)
    return precision, recall


def per_class_precision(y_true: Any, y_pred: Any, n_classes: int | None = None) -> np.ndarray:
    """Precision of each class (TP / predicted as that class); 0 when never predicted."""
    t, p = _labels(y_true, y_pred)
    return _precision_recall(confusion_matrix(t, p, _n_classes(t, p, n_classes)))[0]


def per_class_recall(y_true: Any, y_pred: Any, n_classes: int | None = None) -> np.ndarray:
    """Recall of each class (TP / true members); 0 for a class absent from ``y_true``."""
    t, p = _labels(y_true, y_pred)
    return _precision_recall(confusion_matrix(t, p, _n_classes(t, p, n_classes)))[1]


def _support_weighted(values: np.ndarray, t: np.ndarray) -> float:
    support = np.bincount(t, minlength=len(values)).astype(float)
    return float(np.sum(values * support) / support.sum())


def weighted_f1(y_true: Any, y_pred: Any, n_classes: int | None = None) -> float:
    """Per-class F1 averaged with weights = true class sizes (``average="weighted"``).

    This is the "weighted avg" row of scikit-learn's classification report, which
    some papers (Koh & Dubnov 2021) report as their F1; it differs from macro F1
    whenever classes are unbalanced in the test set.
    """
    t, p = _labels(y_true, y_pred)
    return _support_weighted(per_class_f1(t, p, n_classes), t)


def weighted_precision(y_true: Any, y_pred: Any, n_classes: int | None = None) -> float:
    """Per-class precision averaged with weights = true class sizes."""
    t, p = _labels(y_true, y_pred)
    return _support_weighted(per_class_precision(t, p, n_classes), t)


def weighted_recall(y_true: Any, y_pred: Any, n_classes: int | None = None) -> float:
    """Per-class recall averaged with weights = true class sizes (equals accuracy)."""
    t, p = _labels(y_true, y_pred)
    return _support_weighted(per_class_recall(t, p, n_classes), t)
