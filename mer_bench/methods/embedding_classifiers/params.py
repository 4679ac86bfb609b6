"""Hyper-parameters of Koh & Dubnov's classifiers, with the paper's values as defaults.

Koh & Dubnov (2021, arXiv:2104.06517, "Comparison and analysis of deep audio
embeddings for music emotion recognition") state: MLP "with two of a single
hidden layer with 512 nodes" (``mlp_layers``: 2 such layers, or 1) of ReLU units
and a softmax output, Adam, categorical cross-entropy, batch 32, fitted for
1000 epochs and "evaluated at the end of each training epoch" (no early
stopping: ``mlp_early_stopping`` = False, the last epoch is kept); a 1-D CNN of
"four 1D convolution layers and a 1D max-pooling operation layer" of 64 filters
with ReLU (one max-pool after the last conv: ``cnn_pool_every`` = False),
softmax output, 1000 epochs with early stopping after 100 epochs without
"improvement to the score" (``stop_on``: validation accuracy, or loss); an LSTM
RNN "with a point-wise softmax" (``rnn_output``) and the CNN's stopping rule;
SVM (RBF), Gaussian naive Bayes and random forest from scikit-learn. Everything the paper
leaves unsaid is a parameter whose default is documented on its field below.
"""

from __future__ import annotations

from dataclasses import dataclass

from mer_bench.errors import ConfigError

SKLEARN_CLASSIFIERS = ("svm", "nb", "rf")
NEURAL_CLASSIFIERS = ("mlp", "cnn", "rnn")
CLASSIFIERS = SKLEARN_CLASSIFIERS + NEURAL_CLASSIFIERS
POOLINGS = ("mean", "meanstd")
STOP_ON = ("loss", "score")
RNN_OUTPUTS = ("last", "pointwise")


@dataclass(frozen=True)
class EmbeddingClassifierParams:
    """Defaults are the paper's values where it gives them; see the field comments."""

    # Which of the paper's six classifiers. Default rf: the paper's Table 3
    # (its best 4Q result, L3-Net + RF, accuracy 0.72).
    classifier: str = "rf"
    # Clip vector for svm/nb/rf/mlp/cnn from frame embeddings. "mean" keeps the
    # embedding width the paper names (L3-Net 512-d, VGGish 128-d, and its CNN
    # runs "over the embedding vector"); "meanstd" is FoldData.pooled() ([2D]).
    # Clip-level features (mfcc: MFCCs and deltas, mean and std) pass unchanged.
    pooling: str = "mean"
    # z-score every input dimension with training statistics (not stated in the
    # paper; needed by the RBF kernel and the networks, harmless for NB/RF).
    standardize: bool = True

    # --- scikit-learn (library defaults; the paper names only the models) ---
    svm_C: float = 1.0
    svm_gamma: str | float = "scale"
    nb_var_smoothing: float = 1e-9
    rf_n_estimators: int = 100
    rf_max_depth: int | None = None

    # --- neural training (paper: Adam, batch 32, 1000 epochs) ---
    batch_size: int = 32
    max_epochs: int = 1000
    # epochs without a lower validation loss before stopping: the paper's 100 for
    # the CNN and ("the same stopping criterion") the RNN
    patience: int = 100
    # what the CNN/RNN stopping rule (and restore_best) watches: "no improvement to the
    # score". "score" (default) = validation accuracy (regression: mean r²), the word as
    # scikit-learn uses it ("validation score is not improving"); "loss" = the validation
    # loss (Keras' EarlyStopping default; the earlier reading)
    stop_on: str = "score"
    # the MLP trains all max_epochs with no early stopping (the paper); True applies
    # the CNN's rule to it as well (the earlier reading)
    mlp_early_stopping: bool = False
    lr: float = 1e-3  # Adam's default rate (Keras and PyTorch); the paper gives none
    # keep the weights of the epoch with the lowest validation loss rather than
    # the last epoch's (100 epochs later); the paper does not say
    restore_best: bool = True

    # --- architectures ---
    mlp_hidden: int = 512  # paper
    # "two of a single hidden layer with 512 nodes": 2 (default) = two such layers, the
    # count the sentence gives; 1 = one hidden layer (the earlier reading of "single")
    mlp_layers: int = 2
    cnn_layers: int = 4  # paper
    cnn_filters: int = 64  # paper
    cnn_kernel: int = 3  # not stated; odd, with "same" padding so no layer shrinks to nothing
    cnn_pool: int = 2  # pool size, not stated: MaxPool1d(2)
    # one max-pool after the four convs (the paper); True pools after every conv
    cnn_pool_every: bool = False
    # LSTM hidden size: not stated. 128 = VGGish's width; on L3-Net's 512-d
    # frames the LSTM then has ~330k weights, the size of the 512-unit MLP (~260k).
    rnn_hidden: int = 128
    rnn_layers: int = 1
    # the LSTM's "point-wise softmax": "pointwise" (default) = a softmax at every time
    # step, trained with every step's cross-entropy against the clip's label, predicting
    # the mean of the steps' probabilities (the sentence before cites Weninger et al.'s
    # LSTM mapping "an observation sequence to an output feature sequence"); "last" =
    # one softmax on the last valid step's state (the earlier reading)
    rnn_output: str = "pointwise"

    def __post_init__(self) -> None:
        if self.classifier not in CLASSIFIERS:
            raise ConfigError(
                f"embedding-classifiers: classifier {self.classifier!r} is unknown; "
                f"choose one of {', '.join(CLASSIFIERS)}"
            )
        if self.pooling not in POOLINGS:
            raise ConfigError(
                f"embedding-classifiers: pooling {self.pooling!r} is unknown; "
                f"choose one of {', '.join(POOLINGS)}"
            )
        for name, value, allowed in (("stop_on", self.stop_on, STOP_ON),
                                     ("rnn_output", self.rnn_output, RNN_OUTPUTS)):
            if value not in allowed:
                raise ConfigError(f"embedding-classifiers: {name} {value!r} is unknown; "
                                  f"choose one of {', '.join(allowed)}")
        positive = {
            "batch_size": self.batch_size, "max_epochs": self.max_epochs,
            "rf_n_estimators": self.rf_n_estimators, "mlp_hidden": self.mlp_hidden,
            "mlp_layers": self.mlp_layers,
            "cnn_layers": self.cnn_layers, "cnn_filters": self.cnn_filters,
            "cnn_kernel": self.cnn_kernel, "cnn_pool": self.cnn_pool,
            "rnn_hidden": self.rnn_hidden, "rnn_layers": self.rnn_layers,
        }
        bad = [k for k, v in positive.items() if not isinstance(v, int) or v < 1]
        if self.patience < 0 or self.lr <= 0 or self.svm_C <= 0 or self.nb_var_smoothing < 0:
            bad.append("patience/lr/svm_C/nb_var_smoothing")
        if isinstance(self.svm_gamma, str) and self.svm_gamma not in ("scale", "auto"):
            bad.append("svm_gamma (a positive number, 'scale' or 'auto')")
        elif not isinstance(self.svm_gamma, str) and not self.svm_gamma > 0:
            bad.append("svm_gamma (a positive number, 'scale' or 'auto')")
        if self.rf_max_depth is not None and self.rf_max_depth < 1:
            bad.append("rf_max_depth")
        if self.cnn_kernel % 2 == 0:
            bad.append("cnn_kernel (must be odd for 'same' padding)")
        if bad:
            raise ConfigError(f"embedding-classifiers: bad value for {', '.join(bad)}")

    @property
    def neural(self) -> bool:
        return self.classifier in NEURAL_CLASSIFIERS
