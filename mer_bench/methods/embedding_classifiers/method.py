"""``embedding-classifiers``: Koh & Dubnov (2021)'s six classifiers on audio embeddings."""

from __future__ import annotations

from typing import Any

import numpy as np

from mer_bench.errors import TaskError
from mer_bench.methods.base import METHODS, FitContext, FoldData, Method
from mer_bench.methods.embedding_classifiers.data import (
    Standardizer,
    carve_validation,
    clip_vectors,
    frame_sequences,
)
from mer_bench.methods.embedding_classifiers.params import EmbeddingClassifierParams
from mer_bench.types import Family, TaskKind

# our parameter names -> the scikit-learn estimator's, per classifier
SKLEARN_NAMES = {
    "svm": {"svm_C": "C", "svm_gamma": "gamma"},
    "rf": {"rf_n_estimators": "n_estimators", "rf_max_depth": "max_depth"},
    "nb": {"nb_var_smoothing": "var_smoothing"},
}


@METHODS.register("embedding-classifiers")
class EmbeddingClassifiers(Method):
    """Koh & Dubnov (2021): classifiers on pre-trained audio embeddings (or MFCC statistics).

    ``classifier`` picks one of the paper's six: ``svm`` (RBF SVC), ``nb``
    (Gaussian naive Bayes), ``rf`` (random forest), ``mlp`` (``mlp_layers``
    hidden layers of 512 ReLU units), ``cnn`` (four Conv1d(64) + ReLU layers and
    one MaxPool1d over the clip vector) and ``rnn`` (LSTM over the frame
    sequence, a softmax at every step averaged over the clip, or with
    ``rnn_output="last"`` read out at the last step). The first five see one vector
    per clip (frame mean by default, see ``pooling``); the RNN sees every
    frame, padded per batch and packed by true length, never truncated. A
    clip-level feature such as ``mfcc`` is a one-frame sequence for the RNN;
    ``mfcc-matrix`` is the paper's 20 x 1500 MFCC sequence.

    The networks train through ``ctx.make_trainer`` with Adam, cross-entropy,
    batch 32 and 1000 epochs: the MLP runs all of them and keeps the last
    (the paper evaluates it after every epoch, with no stopping rule); the CNN
    and RNN stop early (patience 100) on the validation accuracy (regression:
    mean r²) or, with ``stop_on="loss"``, the validation loss, and by default
    keep the best validation epoch's weights by the same measure. Every model trains on the
    training part only: the paper's own protocol is 80 % train / 10 %
    validation / 10 % test, so the validation part stays out of training even
    for the models that never look at it (``uses_validation`` stays True).

    ``static_va`` (the paper's Emotion-in-Music r² comparison) uses the
    regression form of each model: SVR per dimension, a forest regressor, or
    the network with two linear outputs and MSE; naive Bayes has none and
    raises ``TaskError``. Class scores: probabilities (NB, RF), softmax of the
    one-vs-rest decision values (SVM) or of the logits (networks).

    Multi-label tagging: every model learns the 0/1 tag targets, the soft rater shares
    binarised at the task's ``binarise_at`` (the truth the tagging metrics score, so a
    score of 0.5 is a calibrated decision; and the same targets for all six models and
    the ``linear`` baseline). The networks put one sigmoid per tag on their outputs and
    train with binary cross-entropy; ``stop_on="score"`` watches the validation macro
    PR-AUC (the tagging primary metric). The forest is multi-output, SVM and NB one
    model per tag (see ``sklearn_models.TagModels``). Predictions are [N, T] tag
    probabilities; a tag with no positive in training scores 0.
    """

    name = "embedding-classifiers"
    version = "2"
    consumes = "sequences"  # the RNN needs frames; the others pool them here
    label_params = ("classifier",)
    supports = frozenset({Family.CLASSIFICATION, Family.REGRESSION, Family.TAGGING})
    Params = EmbeddingClassifierParams
    smoke_params = {
        "classifier": "rnn", "max_epochs": 2, "patience": 1, "mlp_hidden": 8,
        "cnn_filters": 4, "cnn_layers": 2, "rnn_hidden": 8, "rf_n_estimators": 10,
    }

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        """The chosen classifier's knobs; the classifier itself stays the user's choice."""
        return {
            "svm_C": trial.suggest_float("svm_C", 1e-2, 1e3, log=True),
            "rf_n_estimators": trial.suggest_int("rf_n_estimators", 50, 500, log=True),
            "lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
            "mlp_hidden": trial.suggest_categorical("mlp_hidden", [128, 256, 512, 1024]),
            "rnn_hidden": trial.suggest_categorical("rnn_hidden", [32, 64, 128, 256]),
        }

    @classmethod
    def task_params(cls, task: TaskKind) -> frozenset[str]:
        """Static V/A has no naive Bayes (no regression form), so never reads its smoothing."""
        fields = super().task_params(task)
        return fields - {"nb_var_smoothing"} if _regresses(task) else fields

    @classmethod
    def check_param_values(cls, params: Any, task: TaskKind) -> None:
        """The scikit-learn estimator the task would build, or the networks' Adam and loader."""
        from mer_bench.methods import param_checks
        from mer_bench.methods.embedding_classifiers.sklearn_models import make_estimator

        owner = f"method {cls.name!r}"
        p: EmbeddingClassifierParams = params
        if p.neural:
            param_checks.check_optimizer(owner, "adam", p.lr)
            param_checks.check_batch_size(owner, p.batch_size)
            return
        estimator = make_estimator(p, _regresses(task), 0)
        estimator = getattr(estimator, "estimator", estimator)  # the SVR inside MultiOutput
        param_checks.check_estimator(owner, estimator, SKLEARN_NAMES[p.classifier])

    # --- fit ------------------------------------------------------------------
    def fit(self, train: FoldData, val: FoldData, ctx: FitContext) -> EmbeddingClassifiers:
        kind = train.task.kind
        if not self.supports_task(kind):
            raise TaskError(f"embedding-classifiers does not support {kind.value}")
        if len(train) == 0:
            raise TaskError("embedding-classifiers: the training part has no tracks")
        self._kind = kind
        self._regression = _regresses(kind)
        self._tagging = kind.family is Family.TAGGING
        self._out_dim = len(kind.labels)
        p: EmbeddingClassifierParams = self.params
        if p.neural:
            self._fit_network(train, val, ctx)
        else:
            self._fit_sklearn(train)
        return self

    def _fit_sklearn(self, train: FoldData) -> None:
        from mer_bench.methods.embedding_classifiers.sklearn_models import make_estimator

        p: EmbeddingClassifierParams = self.params
        X = clip_vectors(train, p.pooling)
        self._scaler = Standardizer.fit(X, p.standardize)
        y = train.y
        estimator = make_estimator(p, self._regression, self.seed)
        if self._tagging:
            from mer_bench.methods.embedding_classifiers.sklearn_models import TagModels

            self._constant = None
            self._model = TagModels(estimator, self._scaler(X), train.y_binary)
            return
        if not self._regression and len(np.unique(y)) < 2:
            # one class in training (tiny folds): that class is the only possible answer
            self._constant = np.eye(self._out_dim)[int(y[0])]
            return
        self._constant = None
        self._model = estimator.fit(self._scaler(X), y)

    def _fit_network(self, train: FoldData, val: FoldData, ctx: FitContext) -> None:
        import torch

        from mer_bench.methods.embedding_classifiers.training import (
            EmbeddingNetModule,
            train_network,
        )

        p: EmbeddingClassifierParams = self.params
        early = p.classifier != "mlp" or p.mlp_early_stopping
        if early and len(val) == 0:  # no validation part to stop on: hold out 10 % of train
            keep, held = carve_validation(len(train), self.seed)
            train, val = train.subset(keep), train.subset(held)
        train_x = self._inputs(train, fit=True)
        val_x = self._inputs(val) if len(val) else []
        torch.manual_seed(self.seed)
        self._module = EmbeddingNetModule(self._build_net(train_x[0].shape[-1]),
                                          self._regression, p.lr, tagging=self._tagging)
        summary = train_network(
            self._module, (train_x, self._targets(train)), (val_x, self._targets(val)),
            make_trainer=ctx.make_trainer,
            batch_size=p.batch_size, max_epochs=p.max_epochs, patience=p.patience,
            restore_best=p.restore_best, seed=self.seed, early_stopping=early,
            monitor="val_loss" if p.stop_on == "loss" else "val_score",
        )
        ctx.log_metrics(summary)

    def _targets(self, data: FoldData) -> np.ndarray:
        """What the networks learn: class indices, values, or 0/1 tags (see the class doc)."""
        return data.y_binary if self._tagging else data.y

    def _inputs(self, data: FoldData, fit: bool = False) -> list[np.ndarray]:
        """Standardised model inputs: clip vectors (svm..cnn) or frame sequences (rnn)."""
        p: EmbeddingClassifierParams = self.params
        if p.classifier == "rnn":
            seqs = frame_sequences(data)
            if fit:
                self._scaler = Standardizer.fit(np.concatenate(seqs), p.standardize)
            return [self._scaler(s) for s in seqs]
        X = clip_vectors(data, p.pooling)
        if fit:
            self._scaler = Standardizer.fit(X, p.standardize)
        return list(self._scaler(X))

    def _build_net(self, in_dim: int) -> Any:
        from mer_bench.methods.embedding_classifiers.nets import Cnn1d, LstmNet, Mlp

        p: EmbeddingClassifierParams = self.params
        if p.classifier == "mlp":
            return Mlp(in_dim, self._out_dim, p.mlp_hidden, p.mlp_layers)
        if p.classifier == "cnn":
            return Cnn1d(in_dim, self._out_dim, p.cnn_layers, p.cnn_filters, p.cnn_kernel,
                         p.cnn_pool, p.cnn_pool_every)
        return LstmNet(in_dim, self._out_dim, p.rnn_hidden, p.rnn_layers,
                       pointwise=p.rnn_output == "pointwise", classify=not self._regression,
                       multilabel=self._tagging)

    # --- predict ----------------------------------------------------------------
    def predict(self, data: FoldData) -> np.ndarray:
        if not hasattr(self, "_kind"):
            raise TaskError("embedding-classifiers: predict() was called before fit()")
        if data.task.kind is not self._kind:
            raise TaskError(f"model was fitted for {self._kind.value}, asked for "
                            f"{data.task.kind.value}")
        if len(data) == 0:
            return np.zeros((0, self._out_dim))
        p: EmbeddingClassifierParams = self.params
        if p.neural:
            from mer_bench.methods.embedding_classifiers.training import network_outputs

            out = network_outputs(self._module, self._inputs(data)).astype(np.float64)
            if self._regression:
                return out
            if getattr(self, "_tagging", False):  # models saved before tagging: False
                return 1.0 / (1.0 + np.exp(-out))
            out = np.exp(out - out.max(axis=1, keepdims=True))
            return out / out.sum(axis=1, keepdims=True)
        if self._constant is not None:
            return np.tile(self._constant, (len(data), 1))
        X = self._scaler(clip_vectors(data, p.pooling))
        if self._regression:
            return np.asarray(self._model.predict(X), dtype=np.float64)
        if getattr(self, "_tagging", False):
            return self._model.scores(X)
        from mer_bench.methods.embedding_classifiers.sklearn_models import class_scores

        return class_scores(self._model, X, self._out_dim)


def _regresses(task: TaskKind) -> bool:
    """Regression tasks (static V/A) use each model's regression form."""
    return task.family is Family.REGRESSION
