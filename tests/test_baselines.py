"""The two floors: ``chance`` (the training majority class) and ``random-stratified``
(random guesses at the training class frequencies or from the training targets)."""

from __future__ import annotations

import numpy as np
import pytest

from mer_bench.methods import METHODS, FoldData
from mer_bench.metrics.scoring import score
from mer_bench.tasks import DYNAMIC_VA, QUADRANT, STATIC_VA
from mer_bench.types import Task, TaskKind


def _fold(kind: TaskKind, targets) -> FoldData:
    return FoldData(Task("toy", kind), tuple(range(len(targets))), targets=tuple(targets))


def _balanced(n_per_class: int = 50) -> FoldData:
    return _fold(QUADRANT, [c for c in range(4) for _ in range(n_per_class)])


def _fitted(name: str, train: FoldData, seed: int = 0):
    return METHODS.get(name)(seed=seed).fit(train, train, None)


def test_random_stratified_scores_one_in_four_on_balanced_quadrants():
    """Hand-worked: guesses independent of the truth at frequencies q_k = 1/4 give, per
    class, expected precision P(true=k) = 1/4 and recall q_k = 1/4, so F1 = 1/4 and
    macro F1 = 1/4; accuracy = sum_k (1/4)(1/4) = 1/4. Majority class: F1 2/5 for one
    class and 0 for three, macro F1 1/10, accuracy 1/4."""
    data = _balanced()
    f1s, accs = [], []
    for seed in range(200):
        m = score(QUADRANT, data.y, _fitted("random-stratified", data, seed).predict(data))
        f1s.append(m["macro_f1"])
        accs.append(m["accuracy"])
    assert np.mean(f1s) == pytest.approx(0.25, abs=0.01)
    assert np.mean(accs) == pytest.approx(0.25, abs=0.01)
    majority = score(QUADRANT, data.y, _fitted("chance", data).predict(data))
    assert majority["macro_f1"] == pytest.approx(0.1) and majority["accuracy"] == 0.25


def test_random_stratified_follows_the_training_frequencies():
    train = _fold(QUADRANT, [0] * 700 + [1] * 300)
    pred = _fitted("random-stratified", train).predict(_fold(QUADRANT, [0] * 4000))
    share = np.bincount(pred.argmax(axis=1), minlength=4) / len(pred)
    assert share == pytest.approx([0.7, 0.3, 0.0, 0.0], abs=0.03)


@pytest.mark.parametrize("kind", [QUADRANT, STATIC_VA])
def test_random_stratified_same_seed_same_predictions(kind):
    rng = np.random.default_rng(0)
    targets = ([int(c) for c in rng.integers(4, size=80)] if kind.is_classification
               else list(rng.uniform(-1, 1, size=(80, 2))))
    data = _fold(kind, targets)
    first = _fitted("random-stratified", data, seed=7).predict(data)
    again = _fitted("random-stratified", data, seed=7)
    np.testing.assert_array_equal(first, again.predict(data))
    np.testing.assert_array_equal(first, again.predict(data))  # predicting changes nothing
    assert not np.array_equal(first, _fitted("random-stratified", data, seed=8).predict(data))


def test_random_stratified_va_draws_training_targets():
    """V/A: each prediction is a training item's targets, so they spread like the targets
    (chance predicts their mean)."""
    train = _fold(STATIC_VA, [np.array([0.5, -0.5]), np.array([-0.5, 0.5])] * 20)
    pred = _fitted("random-stratified", train).predict(train)
    assert {tuple(p) for p in pred} == {(0.5, -0.5), (-0.5, 0.5)}
    dyn = _fold(DYNAMIC_VA, [np.full((3, 2), 0.2), np.full((5, 2), -0.4)])
    curves = _fitted("random-stratified", dyn).predict(dyn)
    assert [c.shape for c in curves] == [(3, 2), (5, 2)]
    assert set(np.concatenate(curves).ravel()) <= {0.2, -0.4}
