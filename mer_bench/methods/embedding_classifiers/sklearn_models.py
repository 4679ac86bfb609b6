"""The paper's scikit-learn models: SVM (RBF), Gaussian naive Bayes, random forest."""

from __future__ import annotations

from typing import Any

import numpy as np

from mer_bench.errors import TaskError
from mer_bench.methods.embedding_classifiers.params import EmbeddingClassifierParams


def make_estimator(p: EmbeddingClassifierParams, regression: bool, seed: int) -> Any:
    """An unfitted estimator; regression (static V/A) uses SVR or a forest regressor."""
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.multioutput import MultiOutputRegressor
    from sklearn.naive_bayes import GaussianNB
    from sklearn.svm import SVC, SVR

    if p.classifier == "svm":
        if regression:  # one SVR per dimension (valence, arousal)
            return MultiOutputRegressor(SVR(kernel="rbf", C=p.svm_C, gamma=p.svm_gamma))
        return SVC(kernel="rbf", C=p.svm_C, gamma=p.svm_gamma, random_state=seed)
    if p.classifier == "rf":
        cls = RandomForestRegressor if regression else RandomForestClassifier
        return cls(n_estimators=p.rf_n_estimators, max_depth=p.rf_max_depth, random_state=seed)
    if p.classifier == "nb":
        if regression:
            raise TaskError(
                "embedding-classifiers: Gaussian naive Bayes is a classifier and has no "
                "static_va regression form; use classifier svm, rf, mlp, cnn or rnn"
            )
        return GaussianNB(var_smoothing=p.nb_var_smoothing)
    raise TaskError(f"{p.classifier!r} is not a scikit-learn classifier")


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def class_scores(model: Any, X: np.ndarray, n_classes: int) -> np.ndarray:
    """[N, n_classes] scores whose argmax is the model's prediction; unseen classes get 0.

    NB and RF give probabilities. The SVM gives a softmax of its one-vs-rest
    decision values (no Platt scaling: that would need an internal
    cross-validation and can disagree with the SVM's own prediction).
    """
    from sklearn.svm import SVC

    classes = np.asarray(model.classes_)
    if isinstance(model, SVC):
        d = model.decision_function(X)
        probs = _softmax(np.stack([-d, d], axis=1) if d.ndim == 1 else d)
    else:
        probs = model.predict_proba(X)
    scores = np.zeros((len(X), n_classes))
    scores[:, classes] = probs
    return scores


class TagModels:
    """Per-tag scores from scikit-learn models on 0/1 tag targets [N, T].

    The forest is multi-output natively (one fit, ``predict_proba`` gives one array per
    tag). SVM and naive Bayes are one-vs-rest: one binary model per tag (what
    ``OneVsRestClassifier`` does, written out so that one tag alone works too). A tag
    with no positive (or no negative) in training scores 0 (or 1) on every track: no
    model can learn it. SVM scores are a sigmoid of the decision value (no Platt
    scaling, as for classes: it would cross-validate inside tiny folds), so 0.5 is
    the SVM's own decision boundary; NB and RF give probabilities.
    """

    def __init__(self, estimator: Any, X: np.ndarray, Y: np.ndarray) -> None:
        from sklearn.base import clone
        from sklearn.ensemble import RandomForestClassifier

        Y = np.asarray(Y, dtype=np.int64)
        positives = Y.sum(axis=0)
        self.constant = {t: float(positives[t] > 0) for t in range(Y.shape[1])
                         if positives[t] in (0, len(Y))}
        self.n_tags = Y.shape[1]
        self.forest = isinstance(estimator, RandomForestClassifier)
        learnable = [t for t in range(self.n_tags) if t not in self.constant]
        self.models: dict[int, Any] = {}
        if self.forest and learnable:
            target = Y[:, learnable] if len(learnable) > 1 else Y[:, learnable[0]]
            self.models = {-1: estimator.fit(X, target)}
        elif not self.forest:
            self.models = {t: clone(estimator).fit(X, Y[:, t]) for t in learnable}
        self.learnable = learnable

    def scores(self, X: np.ndarray) -> np.ndarray:
        """[N, T] scores in [0, 1]: each tag's probability of being present."""
        from sklearn.svm import SVC

        out = np.zeros((len(X), self.n_tags))
        for t, value in self.constant.items():
            out[:, t] = value
        if self.forest and self.learnable:
            forest = self.models[-1]
            probas = forest.predict_proba(X)
            probas = probas if isinstance(probas, list) else [probas]
            classes = forest.classes_ if forest.n_outputs_ > 1 else [forest.classes_]
            for col, t in enumerate(self.learnable):  # both 0 and 1 were seen: 1 is last
                out[:, t] = probas[col][:, list(classes[col]).index(1)]
            return out
        for t, model in self.models.items():
            if isinstance(model, SVC):
                out[:, t] = 1.0 / (1.0 + np.exp(-model.decision_function(X)))
            else:
                out[:, t] = model.predict_proba(X)[:, list(model.classes_).index(1)]
        return out
