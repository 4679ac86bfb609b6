"""The floors and the first rung of every table: ``chance`` (the majority class),
``random-stratified`` (random guesses at the training frequencies) and ``linear``."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from mer_bench.errors import TaskError
from mer_bench.methods.base import METHODS, FitContext, FoldData, Method
from mer_bench.types import Family, TaskKind

VALUE_FAMILIES = frozenset({Family.REGRESSION, Family.SEQUENCE_REGRESSION})


def tag_prior(train: FoldData) -> np.ndarray:
    """Each tag's training frequency (soft targets count their shares)."""
    y = train.y
    return y.mean(axis=0) if len(y) else np.zeros(len(train.task.kind.tag_names))


@METHODS.register("chance")
class Chance(Method):
    """What a model that ignores the audio scores: the majority-class floor.

    Classes: the training majority class (on balanced 4Q: macro F1 0.10, accuracy
    0.25; see ``random-stratified`` for the floor of random guessing). Tags: each
    tag's training frequency as its score for every track (ROC-AUC 0.5 per tag,
    PR-AUC the tag's test frequency; no tag reaches the 0.5 decision threshold
    unless most training tracks carry it, as MediaEval's "random" baseline decides
    nothing). Values (V/A): the training mean (per frame for sequences). Retrieval:
    random similarities from the seed. Features are ignored, but the runner still
    extracts them so that chance and the real methods run on the same tracks.
    """

    name = "chance"
    consumes = "features"
    supports = frozenset(Family)

    def fit(self, train: FoldData, val: FoldData, ctx: FitContext) -> Chance:
        kind = train.task.kind
        if kind.is_classification:
            counts = np.bincount(train.y, minlength=kind.n_classes)
            self._scores = np.eye(kind.n_classes)[int(np.argmax(counts))]
        elif kind.family is Family.TAGGING:
            self._scores = tag_prior(train)
        elif kind.family is Family.REGRESSION:
            self._mean = train.y.mean(axis=0)
        elif kind.family is Family.SEQUENCE_REGRESSION:
            self._mean = np.concatenate(train.targets).mean(axis=0)
        return self

    def predict(self, data: FoldData) -> Any:
        family = data.task.kind.family
        if family in (Family.CLASSIFICATION, Family.TAGGING):
            return np.tile(self._scores, (len(data), 1))
        if family is Family.REGRESSION:
            return np.tile(self._mean, (len(data), 1))
        if family is Family.SEQUENCE_REGRESSION:
            return [np.tile(self._mean, (len(t), 1)) for t in data.targets]
        if family is Family.MUSIC_EMOTION_RETRIEVAL:
            return np.random.default_rng(self.seed).random((len(data), len(data)))
        if family is Family.TEXT_MUSIC_RETRIEVAL:
            return np.random.default_rng(self.seed).random((len(data.texts), len(data)))
        raise TaskError(f"chance does not support {data.task.kind.value}")


@METHODS.register("popular")
class Popular(Method):
    """MediaEval's "popular" baseline for tagging: the training set's most frequent tag,
    decided (score 1) for every track, every other tag 0.

    Constant scores give ROC-AUC 0.5 and PR-AUC = the tag's test frequency per tag,
    as ``chance`` does; the decisions differ (precision/recall/F of one tag). On
    MTG-Jamendo split-0 the organisers report ROC-AUC-macro 0.5000, PR-AUC-macro
    0.0319 and recall-macro 1/56 for it.
    """

    name = "popular"
    consumes = "features"
    supports = frozenset({Family.TAGGING})

    def fit(self, train: FoldData, val: FoldData, ctx: FitContext) -> Popular:
        prior = tag_prior(train)
        self._scores = np.zeros(len(prior))
        self._scores[int(np.argmax(prior))] = 1.0
        return self

    def predict(self, data: FoldData) -> np.ndarray:
        return np.tile(self._scores, (len(data), 1))


@METHODS.register("random-stratified")
class RandomStratified(Method):
    """Random guesses that ignore the audio but keep the training label distribution.

    Classes: each item gets a class drawn at random with the training class
    frequencies: on balanced data with C classes, macro F1 and accuracy are about
    1/C (0.25 on 4Q), where the majority class has accuracy 1/C but macro F1
    2/(C(C+1)) (0.10 on 4Q), so a method must clear both floors. Tags: each tag is
    given (score 1) with its training frequency, independently. Values (V/A): each
    item (each frame of a sequence) gets the targets of a training item (frame)
    drawn at random, so the predictions spread like the targets do; the mean is
    ``chance``'s answer. Draws come from the fold seed: the same seed gives the
    same predictions.
    """

    name = "random-stratified"
    consumes = "features"
    supports = frozenset({Family.CLASSIFICATION, Family.TAGGING} | VALUE_FAMILIES)

    def fit(self, train: FoldData, val: FoldData, ctx: FitContext) -> RandomStratified:
        kind = train.task.kind
        if kind.is_classification:
            counts = np.bincount(train.y, minlength=kind.n_classes).astype(float)
            self._freq = counts / counts.sum()
        elif kind.family is Family.TAGGING:
            self._freq = tag_prior(train)
        elif kind.family is Family.REGRESSION:
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
        if kind.family is Family.TAGGING:
            return (rng.random((len(data), len(self._freq))) < self._freq).astype(float)
        if kind.family is Family.REGRESSION:
            return self._pool[rng.integers(len(self._pool), size=len(data))]
        if kind.family is Family.SEQUENCE_REGRESSION:
            return [self._pool[rng.integers(len(self._pool), size=len(t))] for t in data.targets]
        raise TaskError(f"random-stratified does not support {kind.value}")


@dataclass(frozen=True)
class LinearParams:
    C: float = 1.0  # inverse L2 strength of the logistic regression
    alpha: float = 1.0  # L2 strength of the ridge regression
    max_iter: int = 2000


@METHODS.register("linear")
class Linear(Method):
    """Standardised pooled features into logistic regression (classes; one-vs-rest,
    one binary model per tag, for tags) or ridge regression (values such as V/A).

    Tags train on the 0/1 targets (soft shares binarised at the task's
    ``binarise_at``); a tag absent from a training fold scores 0.
    """

    name = "linear"
    consumes = "features"
    supports = frozenset({Family.CLASSIFICATION, Family.TAGGING, Family.REGRESSION})
    Params = LinearParams

    @classmethod
    def search_space(cls, trial: Any, task: TaskKind | None = None) -> dict[str, Any]:
        # C is read by the classifiers only, alpha by the regressor only
        space = {}
        if task is None or _classifies(task):
            space["C"] = trial.suggest_float("C", 1e-3, 1e2, log=True)
        if task is None or not _classifies(task):
            space["alpha"] = trial.suggest_float("alpha", 1e-3, 1e3, log=True)
        return space

    @classmethod
    def task_params(cls, task: TaskKind) -> frozenset[str]:
        """The classifiers read C and max_iter; the ridge regressor alpha alone."""
        return frozenset({"C", "max_iter"} if _classifies(task) else {"alpha"})

    @classmethod
    def check_param_values(cls, params: Any, task: TaskKind) -> None:
        """scikit-learn's constraints of the estimator ``fit`` builds for ``task``."""
        from mer_bench.methods.param_checks import check_estimator

        names = {"C": "C", "max_iter": "max_iter"} if _classifies(task) else {"alpha": "alpha"}
        check_estimator(f"method {cls.name!r}", _linear_model(params, task, 0), names)

    def fit(self, train: FoldData, val: FoldData, ctx: FitContext) -> Linear:
        from sklearn.multiclass import OneVsRestClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        kind = train.task.kind
        model = _linear_model(self.params, kind, self.seed)
        if kind.family is Family.TAGGING:
            model, y = OneVsRestClassifier(model), train.y_binary.astype(int)
        else:
            y = train.y
        with warnings.catch_warnings():  # a tag on every / no training track: constant
            warnings.filterwarnings("ignore", message="Label .* is present in all")
            self._model = make_pipeline(StandardScaler(), model).fit(train.pooled(), y)
        self._n_classes = kind.n_classes
        return self

    def predict(self, data: FoldData) -> np.ndarray:
        X = data.pooled()
        family = data.task.kind.family
        if family is Family.REGRESSION:
            return self._model.predict(X)
        proba = self._model.predict_proba(X)
        if family is Family.TAGGING:
            return proba
        # classes absent from a training fold get score 0
        scores = np.zeros((len(X), self._n_classes))
        scores[:, self._model.classes_] = proba
        return scores


def _classifies(task: TaskKind) -> bool:
    return task.family in (Family.CLASSIFICATION, Family.TAGGING)


def _linear_model(p: LinearParams, kind: TaskKind, seed: int) -> Any:
    """The unfitted estimator ``linear`` uses for ``kind``: logistic regression or ridge."""
    from sklearn.linear_model import LogisticRegression, Ridge

    if _classifies(kind):
        return LogisticRegression(C=p.C, max_iter=p.max_iter, random_state=seed)
    return Ridge(alpha=p.alpha)
