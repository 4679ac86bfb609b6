"""Classification metrics vs scikit-learn and hand-worked examples."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from mer_bench.errors import MerBenchError
from mer_bench.metrics.classification import (
    accuracy,
    confusion_matrix,
    macro_f1,
    per_class_f1,
    per_class_precision,
    per_class_recall,
    weighted_f1,
    weighted_precision,
    weighted_recall,
)

SEEDS = range(6)


def _random_labels(seed: int, n_classes: int = 4, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # Skewed, so that some seeds miss a class entirely in y_true or y_pred.
    probs = rng.dirichlet(np.full(n_classes, 0.5))
    return rng.choice(n_classes, n, p=probs), rng.choice(n_classes, n, p=probs)


@pytest.mark.parametrize("seed", SEEDS)
def test_matches_sklearn_on_random_data(seed: int) -> None:
    t, p = _random_labels(seed)
    labels = list(range(4))
    assert accuracy(t, p) == pytest.approx(skm.accuracy_score(t, p))
    assert macro_f1(t, p, n_classes=4) == pytest.approx(
        skm.f1_score(t, p, average="macro", labels=labels, zero_division=0)
    )
    assert macro_f1(t, p) == pytest.approx(skm.f1_score(t, p, average="macro", zero_division=0))
    np.testing.assert_allclose(
        per_class_f1(t, p, 4), skm.f1_score(t, p, average=None, labels=labels, zero_division=0)
    )
    np.testing.assert_array_equal(
        confusion_matrix(t, p, 4), skm.confusion_matrix(t, p, labels=labels)
    )


def test_absent_class_matches_sklearn() -> None:
    t = np.array([0, 0, 1, 1])
    p = np.array([0, 1, 1, 1])  # classes 2 and 3 never appear
    expected = skm.f1_score(t, p, average="macro", labels=range(4), zero_division=0)
    assert macro_f1(t, p, n_classes=4) == pytest.approx(expected)
    assert macro_f1(t, p) == pytest.approx(skm.f1_score(t, p, average="macro", zero_division=0))


def test_hand_worked_example() -> None:
    t = [0, 0, 1, 1, 2]
    p = [0, 1, 1, 1, 0]
    # rows = true, columns = predicted
    np.testing.assert_array_equal(confusion_matrix(t, p, 3), [[1, 1, 0], [0, 2, 0], [1, 0, 0]])
    # class 0: tp=1 fp=1 fn=1 -> 2/4; class 1: tp=2 fp=1 fn=0 -> 4/5; class 2: tp=0 -> 0
    np.testing.assert_allclose(per_class_f1(t, p, 3), [0.5, 0.8, 0.0])
    assert accuracy(t, p) == pytest.approx(3 / 5)
    assert macro_f1(t, p, 3) == pytest.approx(1.3 / 3)
    # an extra class that never occurs counts as F1 = 0 when n_classes includes it
    assert macro_f1(t, p, 4) == pytest.approx(1.3 / 4)
    np.testing.assert_allclose(per_class_f1(t, p, 4), [0.5, 0.8, 0.0, 0.0])


def test_perfect_and_constant_predictions() -> None:
    t = np.array([0, 1, 2, 1])
    assert accuracy(t, t) == 1.0
    assert macro_f1(t, t, 3) == 1.0
    p = np.zeros_like(t)  # always predicts class 0
    # class 0: tp=1 fp=3 fn=0 -> 2/5; others 0
    assert macro_f1(t, p, 3) == pytest.approx(0.4 / 3)


def test_accepts_bool_and_integral_floats() -> None:
    assert accuracy(np.array([True, False]), np.array([1.0, 0.0])) == 1.0


def test_returns_python_float() -> None:
    assert type(accuracy([0, 1], [0, 0])) is float
    assert type(macro_f1([0, 1], [0, 0])) is float


@pytest.mark.parametrize(
    ("y_true", "y_pred", "match"),
    [
        ([0, 1, 2], [0, 1], "3.*2"),
        ([], [], "empty"),
        ([[0, 1]], [[0, 1]], "1-D"),
        ([0, -1], [0, 1], "negative"),
        ([0, 1.5], [0, 1], "non-integer"),
        ([0, np.nan], [0, 1], "non-integer"),
        (["a", "b"], [0, 1], "int class"),
    ],
)
def test_bad_inputs_raise(y_true: object, y_pred: object, match: str) -> None:
    with pytest.raises(MerBenchError, match=match):
        accuracy(y_true, y_pred)


def test_class_index_out_of_range_raises() -> None:
    with pytest.raises(MerBenchError, match="out of range"):
        macro_f1([0, 3], [0, 1], n_classes=3)
    with pytest.raises(MerBenchError, match="out of range"):
        confusion_matrix([0, 1], [0, 5], 2)


def test_ragged_input_raises_merbencherror() -> None:
    with pytest.raises(MerBenchError, match="y_true is not a regular numeric array"):
        accuracy([[0], [1, 2]], [0, 1])


@pytest.mark.parametrize("seed", SEEDS)
def test_weighted_and_per_class_precision_recall_match_sklearn(seed: int) -> None:
    t, p = _random_labels(seed)
    labels = list(range(4))
    prf = skm.precision_recall_fscore_support(t, p, labels=labels, zero_division=0)
    np.testing.assert_allclose(per_class_precision(t, p, 4), prf[0])
    np.testing.assert_allclose(per_class_recall(t, p, 4), prf[1])
    weighted = skm.precision_recall_fscore_support(
        t, p, labels=labels, average="weighted", zero_division=0
    )
    assert weighted_precision(t, p, 4) == pytest.approx(weighted[0])
    assert weighted_recall(t, p, 4) == pytest.approx(weighted[1])
    assert weighted_f1(t, p, 4) == pytest.approx(weighted[2])


def test_weighted_f1_hand_worked_and_differs_from_macro() -> None:
    t = [0, 0, 1, 1, 2]
    p = [0, 1, 1, 1, 0]
    # per-class F1 0.5, 0.8, 0.0 with supports 2, 2, 1 -> (1.0 + 1.6 + 0) / 5
    assert weighted_f1(t, p, 3) == pytest.approx(2.6 / 5)
    assert macro_f1(t, p, 3) == pytest.approx(1.3 / 3)
    # precision: class 0 1/2, class 1 2/3, class 2 0 (never predicted correctly)
    np.testing.assert_allclose(per_class_precision(t, p, 3), [0.5, 2 / 3, 0.0])
    np.testing.assert_allclose(per_class_recall(t, p, 3), [0.5, 1.0, 0.0])
    # weighted recall is accuracy
    assert weighted_recall(t, p, 3) == pytest.approx(accuracy(t, p))

