"""The floors and the first rung of every table: ``chance`` (the majority class),
``random-stratified`` (random guesses at the training frequencies) and ``linear``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mer_bench.errors import TaskError
from mer_bench.methods.base import METHODS, FitContext, FoldData, Method
from mer_bench.types import TaskKind

CLASS_TASKS = frozenset({TaskKind.QUADRANT, TaskKind.BINARY_VALENCE, TaskKind.BINARY_AROUSAL})


@METHODS.register("chance")
class Chance(Method):
    """What a model that ignores the audio scores: the majority-class floor.

    Classes: the training majority class (on balanced 4Q: macro F1 0.10, accuracy
    0.25; see ``random-stratified`` for the floor of random guessing). V/A: the
    training mean (per frame for dynamic V/A). Retrieval: random similarities from
    the seed. Features are ignored, but the runner still extracts them so that
    chance and the real methods run on the same tracks.
    """

    name = "chance"
    consumes = "features"
    supports = frozenset(
        CLASS_TASKS
        | {
            TaskKind.STATIC_VA,
            TaskKind.DYNAMIC_VA,
            TaskKind.M2E_E2M_RETRIEVAL,
            TaskKind.TEXT2MUSIC_RETRIEVAL,
        }
    )

    def fit(self, train: FoldData, val: FoldData, ctx: FitContext) -> Chance:
        kind = train.task.kind
        if kind.is_classification:
            counts = np.bincount(train.y, minlength=kind.n_classes)
            self._scores = np.eye(kind.n_classes)[int(np.argmax(counts))]
        elif kind is TaskKind.STATIC_VA:
            self._mean = train.y.mean(axis=0)
        elif kind is TaskKind.DYNAMIC_VA:
            self._mean = np.concatenate(train.targets).mean(axis=0)
        return self

    def predict(self, data: FoldData) -> Any:
        kind = data.task.kind
        if kind.is_classification:
            return np.tile(self._scores, (len(data), 1))
        if kind is TaskKind.STATIC_VA:
            return np.tile(self._mean, (len(data), 1))
        if kind is TaskKind.DYNAMIC_VA:
            return [np.tile(self._mean, (len(t), 1)) for t in data.targets]
        if kind is TaskKind.M2E_E2M_RETRIEVAL:
            return np.random.default_rng(self.seed).random((len(data), len(data)))
        if kind is TaskKind.TEXT2MUSIC_RETRIEVAL:
            return np.random.default_rng(self.seed).random((len(data.texts), len(data)))
        raise TaskError(f"chance does not support {kind.value}")


@METHODS.register("random-stratified")
class RandomStratified(Method):
    """Random guesses that ignore the audio but keep the training label distribution.

    Classes: each item gets a class drawn at random with the training class
    frequencies: on balanced data with C classes, macro F1 and accuracy are about
    1/C (0.25 on 4Q), where the majority class has accuracy 1/C but macro F1
    2/(C(C+1)) (0.10 on 4Q), so a method must clear both floors. V/A: each item
    (each frame for dynamic V/A) gets the targets of a training item (frame) drawn at
    random, so the predictions spread like the targets do; the mean is ``chance``'s
    answer. Draws come from the fold seed: the same seed gives the same predictions.
    """

    name = "random-stratified"
    consumes = "features"
    supports = frozenset(CLASS_TASKS | {TaskKind.STATIC_VA, TaskKind.DYNAMIC_VA})

    def fit(self, train: FoldData, val: FoldData, ctx: FitContext) -> RandomStratified:
        kind = train.task.kind
        if kind.is_classification:
            counts = np.bincount(train.y, minlength=kind.n_classes).astype(float)
            self._freq = counts / counts.sum()
        elif kind is TaskKind.STATIC_VA:
            self._pool = train.y
        else:
            self._pool = np.concatenate(train.targets)
        return self

    def predict(self, data: FoldData) -> Any:
        # a fresh generator per call: predicting never changes the fitted method
        rng = np.random.default_rng(self.seed)
        kind = data.task.kind
        if kind.is_classification:
            drawn = rng.choice(kind.n_classes, size=len(data), p=self._freq)
            return np.eye(kind.n_classes)[drawn]
        if kind is TaskKind.STATIC_VA:
            return self._pool[rng.integers(len(self._pool), size=len(data))]
        if kind is TaskKind.DYNAMIC_VA:
            return [self._pool[rng.integers(len(self._pool), size=len(t))] for t in data.targets]
        raise TaskError(f"random-stratified does not support {kind.value}")


@dataclass(frozen=True)
class LinearParams:
    C: float = 1.0  # inverse L2 strength of the logistic regression
    alpha: float = 1.0  # L2 strength of the ridge regression
    max_iter: int = 2000


@METHODS.register("linear")
class Linear(Method):
    """Standardised pooled features into logistic regression (classes) or ridge (V/A)."""

    name = "linear"
    consumes = "features"
    supports = frozenset(CLASS_TASKS | {TaskKind.STATIC_VA})
    Params = LinearParams

    @classmethod
    def search_space(cls, trial: Any, task: TaskKind | None = None) -> dict[str, Any]:
        # C is read by the classifier only, alpha by the regressor only
        space = {}
        if task is None or task.is_classification:
            space["C"] = trial.suggest_float("C", 1e-3, 1e2, log=True)
        if task is None or not task.is_classification:
            space["alpha"] = trial.suggest_float("alpha", 1e-3, 1e3, log=True)
        return space

    @classmethod
    def task_params(cls, task: TaskKind) -> frozenset[str]:
        """The classifier reads C and max_iter; the ridge regressor alpha alone."""
        return frozenset({"C", "max_iter"} if task.is_classification else {"alpha"})

    @classmethod
    def check_param_values(cls, params: Any, task: TaskKind) -> None:
        """scikit-learn's constraints of the estimator ``fit`` builds for ``task``."""
        from mer_bench.methods.param_checks import check_estimator

        names = {"C": "C", "max_iter": "max_iter"} if task.is_classification else {
            "alpha": "alpha"}
        check_estimator(f"method {cls.name!r}", _linear_model(params, task, 0), names)

    def fit(self, train: FoldData, val: FoldData, ctx: FitContext) -> Linear:
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        kind = train.task.kind
        model = _linear_model(self.params, kind, self.seed)
        self._model = make_pipeline(StandardScaler(), model).fit(train.pooled(), train.y)
        self._n_classes = kind.n_classes
        return self

    def predict(self, data: FoldData) -> np.ndarray:
        X = data.pooled()
        if not data.task.kind.is_classification:
            return self._model.predict(X)
        proba = self._model.predict_proba(X)
        # classes absent from a training fold get score 0
        scores = np.zeros((len(X), self._n_classes))
        scores[:, self._model.classes_] = proba
        return scores


def _linear_model(p: LinearParams, kind: TaskKind, seed: int) -> Any:
    """The unfitted estimator ``linear`` uses for ``kind``: logistic regression or ridge."""
    from sklearn.linear_model import LogisticRegression, Ridge

    if kind.is_classification:
        return LogisticRegression(C=p.C, max_iter=p.max_iter, random_state=seed)
    return Ridge(alpha=p.alpha)
