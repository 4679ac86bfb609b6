"""Registered methods ``ae-bilstm`` (He & Ferguson's two-stage model) and ``cnn-bilstm`` (baseline).

He, N., & Ferguson, S. (2022). Music emotion recognition based on
segment-level two-stage learning. International Journal of Multimedia
Information Retrieval 11, 383-394. https://doi.org/10.1007/s13735-022-00230-z

Defaults are the paper's values. Where the paper leaves a detail open, the
choice is documented here and exposed as a parameter:

* ``segment_s`` = 5 s: the paper reports 1, 3, 5 and 10 s (Table 5) with no
  single default; 5 s is the duration of its AllMusic (4Q) arousal figure.
* ``sample_rate`` = 22050: the paper's rate for AllMusic (4Q); its PMEmo rows
  use 44100 (the paper files set it per row). Every clip is resampled to it, so
  a mel band covers the same frequencies for every clip; a file's native rate
  is never used. ``stft_rule`` = ``table1``: n_fft and hop as printed in
  Table 1 (``overlap`` keeps the earlier n_fft >= 2 * hop reading; frontend.py).
* ``normalize`` = ``peak``: each 30 s clip is scaled to a peak of 1 before its
  log-mels. The paper normalises AllMusic "into the same range" as PMEmo's
  [-1, 1] and PMEmo not at all; peak scaling is the one reading that puts every
  clip in that range whatever its level, and ``log10(S + 1)`` depends on the
  level, so it matters. The PMEmo rows set ``normalize: none`` (frontend.py).
* ``l2_first_conv`` = 1e-3 on the OUTPUT of the first conv (the paper: "the L2
  regularizer applies a penalty to the output of the first CNN layer", i.e. a
  Keras activity regulariser, ``l2 * sum(a^2) / batch``); ``l2_on="kernel"``
  penalises that layer's weights instead (the earlier reading). The
  autoencoder's early stopping watches the reconstruction Huber loss alone
  (the paper "monitors reconstruction Huber loss"), not Huber + L2.
* the baseline (``cnn-bilstm``) has no L2 term by default
  (``l2_first_conv`` = 0): the paper states none for it.
* ``ae_max_epochs`` / ``max_epochs`` = 200: the method is specified by early
  stopping with patience 10; 200 is only a ceiling for it.
* each stage ends with the weights of its best validation epoch
  (``restore_best``; False keeps the last epoch run, Keras' ``EarlyStopping``
  default, i.e. ``patience`` epochs past the best). The autoencoder's early
  stopping watches the masked-input reconstruction Huber loss of the
  validation clips, stage 2 their accuracy (ties keep the earlier epoch).
* the segment embedding is the flattened encoder output (classifier.py).
* stage 1 trains on the training clips only (never on test audio).

Cost at the paper's settings on a CPU: one autoencoder epoch over ~1,000
segments takes minutes, and the 13,824-wide embeddings make each stage-2
epoch about a minute (58 M BiLSTM weights); the benchmark plans in
``experiments/bench/ae-bilstm-*.yaml`` state the reduced budgets they use.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from mer_bench.errors import ConfigError
from mer_bench.methods.ae_bilstm.architecture import L2_TARGETS, check_filters
from mer_bench.methods.ae_bilstm.frontend import N_FRAMES, N_MELS, Frontend, SegmentLogmels
from mer_bench.methods.ae_bilstm.masking import FILLS
from mer_bench.methods.base import METHODS, FitContext, FoldData, Method
from mer_bench.types import Family, TaskKind

if TYPE_CHECKING:  # pragma: no cover
    import torch

# the paper classifies binary valence and arousal; the model takes any number of classes
CLASS_FAMILIES = frozenset({Family.CLASSIFICATION})
PREDICT_BATCH = 16  # clips per forward pass at prediction time


def _paper_filters() -> list[int]:
    return [128, 64, 32, 32]


@dataclass(frozen=True)
class CnnBiLSTMParams:
    """The end-to-end baseline's settings (Table 2 encoder + stage-2 head and optimiser)."""

    clip_s: float = 30.0  # every clip is brought to 30 s (repeat-padded)
    segment_s: float = 5.0  # contiguous segments of 1, 3, 5 or 10 s (Table 5)
    sample_rate: int = 22050  # fixed analysis rate: 22050 AllMusic/4Q, 44100 PMEmo (Table 1)
    stft_rule: str = "table1"  # Table 1's n_fft/hop ("overlap": n_fft >= 2 * hop)
    normalize: str = "peak"  # clip level: "peak" (AllMusic, Sec. 4.2) or "none" (PMEmo)
    filters: list[int] = field(default_factory=_paper_filters)  # Table 2 conv widths
    l2_first_conv: float = 0.0  # the baseline: no L2 term (the paper states none)
    l2_on: str = "output"  # "output" of the first conv (activity) or its "kernel"
    lstm_units: int = 512  # per direction
    dropout: float = 0.5
    lr: float = 1e-5  # Adam
    batch_size: int = 10  # clips
    max_epochs: int = 200  # ceiling; early stopping decides
    patience: int = 10  # early stopping on validation accuracy
    restore_best: bool = True  # end with the best validation epoch's weights (both stages)

    def __post_init__(self) -> None:
        object.__setattr__(self, "filters", list(check_filters(self.filters)))
        self.frontend()  # validates clip_s, segment_s, sample_rate, stft_rule, normalize
        if self.l2_on not in L2_TARGETS:
            raise ConfigError(f"l2_on must be one of {L2_TARGETS}, got {self.l2_on!r}")
        if self.l2_first_conv < 0:
            raise ConfigError(f"l2_first_conv must be >= 0, got {self.l2_first_conv}")
        for name in ("lstm_units", "batch_size", "max_epochs", "patience"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")

    def frontend(self) -> Frontend:
        return Frontend(float(self.clip_s), float(self.segment_s), self.sample_rate,
                        self.stft_rule, self.normalize)


@dataclass(frozen=True)
class AEBiLSTMParams(CnnBiLSTMParams):
    """Two-stage settings: the baseline's plus the masked autoencoder's (stage 1)."""

    l2_first_conv: float = 1e-3  # the paper's L2 on the first conv's output (activity)
    masking: bool = True  # False = the paper's "autoencoder without masking" ablation
    mask_freq: int = 30  # F: frequency-mask width drawn from [0, F) mel bands
    mask_time: int = 32  # T: time-mask width drawn from [0, T) frames
    mask_fill: str = "mean"  # "mean" of the spectrogram (paper) or "zero"
    huber_delta: float = 1.0
    output_relu: bool = True  # ReLU on the reconstruction conv as on every conv of Table 2
    ae_lr: float = 1e-3  # Adam
    ae_batch_size: int = 64  # segments
    ae_max_epochs: int = 200  # ceiling; early stopping decides
    ae_patience: int = 10  # early stopping on validation reconstruction loss

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mask_fill not in FILLS:
            raise ConfigError(f"mask_fill must be one of {FILLS}, got {self.mask_fill!r}")
        if not 0 < self.mask_freq <= N_MELS or not 0 < self.mask_time <= N_FRAMES:
            raise ConfigError(f"mask_freq must be in 1..{N_MELS} and mask_time in "
                              f"1..{N_FRAMES}, got {self.mask_freq}, {self.mask_time}")
        for name in ("ae_batch_size", "ae_max_epochs", "ae_patience"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")


_SMOKE = {
    "clip_s": 2.0, "segment_s": 1.0, "filters": [2, 2, 2, 2], "lstm_units": 4,
    "batch_size": 4, "max_epochs": 1, "lr": 1e-3,
}


class _SegmentMethod(Method):
    """What both methods share: log-mel segments in, class probabilities out."""

    consumes = "audio"
    trains_networks = True
    supports = CLASS_FAMILIES
    label_params: ClassVar[tuple[str, ...]] = ("segment_s",)  # each duration its own row

    @classmethod
    def check_param_values(cls, params: Any, task: TaskKind) -> None:
        """torch's rules for each stage's Adam and loader and the BiLSTM's dropout (the
        Params check sizes, choices and ranges when they are made)."""
        from mer_bench.methods import param_checks

        owner = f"method {cls.name!r}"
        param_checks.check_optimizer(owner, "adam", params.lr)
        param_checks.check_batch_size(owner, params.batch_size)
        param_checks.check_dropout(owner, params.dropout)
        if isinstance(params, AEBiLSTMParams):  # stage 1, the masked autoencoder
            param_checks.check_optimizer(owner, "adam", params.ae_lr, prefix="ae_")
            param_checks.check_batch_size(owner, params.ae_batch_size, "ae_batch_size")

    @classmethod
    def frontend(cls, params: Any) -> SegmentLogmels:
        """216 x 128 log-mel segments per clip, read from the disk feature cache in a run."""
        return SegmentLogmels(params.frontend())

    def _spectrograms(self, data: FoldData) -> np.ndarray:
        """[n_clips, n_segments, 216, 128] log-mels of the fold's clips."""
        extractor = self.frontend(self.params)
        return extractor.unflatten(data.arrays_of(extractor))

    def _loader(self, x: torch.Tensor, y: torch.Tensor | None, batch: int, shuffle: bool
                ) -> Any:
        import torch
        from torch.utils.data import DataLoader, TensorDataset

        tensors = (x,) if y is None else (x, y)
        generator = torch.Generator().manual_seed(self.seed) if shuffle else None
        return DataLoader(TensorDataset(*tensors), batch_size=batch, shuffle=shuffle,
                          generator=generator)

    def _stopping(self, monitor: str, mode: str, patience: int) -> list[Any]:
        """Early stopping on ``monitor``, plus best-epoch weights when ``restore_best``."""
        from lightning.pytorch.callbacks import EarlyStopping

        from mer_bench.training.callbacks import RestoreBest

        callbacks: list[Any] = [EarlyStopping(monitor=monitor, mode=mode, patience=patience)]
        if self.params.restore_best:
            callbacks.append(RestoreBest(monitor, mode))
        return callbacks

    @staticmethod
    def _labels(data: FoldData) -> torch.Tensor:
        import torch

        return torch.as_tensor(data.y, dtype=torch.long)

    def _fit_classifier(self, model: Any, x_train: torch.Tensor, x_val: torch.Tensor | None,
                        train: FoldData, val: FoldData, ctx: FitContext) -> None:
        """Stage 2 (or the whole baseline): cross-entropy with early stopping on val accuracy."""
        p = self.params
        has_val = x_val is not None and len(val) > 0
        trainer = ctx.make_trainer(
            max_epochs=p.max_epochs,
            callbacks=self._stopping("val_acc", "max", p.patience) if has_val else [],
        )
        with warnings.catch_warnings():  # the frozen encoder is in eval mode on purpose
            warnings.filterwarnings("ignore", message=r".*module\(s\) in eval mode")
            trainer.fit(
                model,
                self._loader(x_train, self._labels(train), p.batch_size, shuffle=True),
                self._loader(x_val, self._labels(val), p.batch_size, shuffle=False)
                if has_val else None,
            )

    def _class_scores(
        self, data: FoldData, forward: Callable[[torch.Tensor], torch.Tensor]
    ) -> np.ndarray:
        """Softmax class scores of every clip, ``forward`` applied batch by batch."""
        import torch

        self._model.eval()
        x = torch.from_numpy(self._spectrograms(data))
        with torch.no_grad():
            logits = torch.cat(
                [forward(x[i : i + PREDICT_BATCH]) for i in range(0, len(x), PREDICT_BATCH)]
            )
        return torch.softmax(logits, dim=-1).double().numpy()


@METHODS.register("ae-bilstm")
class AEBiLSTM(_SegmentMethod):
    """He & Ferguson (2022): masked conv autoencoder on log-mel segments, then a BiLSTM.

    Stage 1 trains the Table 2 autoencoder to reconstruct each training
    segment from a masked copy (one frequency span < 30 bands, one time span
    < 32 frames, filled with the segment's mean); stage 2 freezes its encoder,
    embeds every segment of a clip and classifies the sequence with a BiLSTM.
    Each stage is one ``Trainer.fit``. See the package docstring for choices.
    """

    name = "ae-bilstm"
    version = "2"
    Params = AEBiLSTMParams
    smoke_params: ClassVar[dict[str, Any]] = {**_SMOKE, "ae_max_epochs": 1, "ae_batch_size": 8}

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "segment_s": trial.suggest_categorical("segment_s", [1.0, 3.0, 5.0, 10.0]),
            "lr": trial.suggest_float("lr", 1e-5, 1e-3, log=True),
            "dropout": trial.suggest_float("dropout", 0.2, 0.6),
            "mask_freq": trial.suggest_int("mask_freq", 8, 48),
            "mask_time": trial.suggest_int("mask_time", 8, 64),
            "mask_fill": trial.suggest_categorical("mask_fill", list(FILLS)),
        }

    def fit(self, train: FoldData, val: FoldData, ctx: FitContext) -> AEBiLSTM:
        import torch

        from mer_bench.methods.ae_bilstm.autoencoder import MaskedAutoencoder
        from mer_bench.methods.ae_bilstm.classifier import FrozenEncoderClassifier

        p = self.params
        torch.manual_seed(self.seed)
        x_train = torch.from_numpy(self._spectrograms(train))
        x_val = torch.from_numpy(self._spectrograms(val)) if len(val) else None

        # stage 1: masked autoencoder on single segments (unsupervised, training clips only)
        ae = MaskedAutoencoder(p.filters, p.l2_first_conv, p.huber_delta, p.ae_lr, p.masking,
                               p.mask_freq, p.mask_time, p.mask_fill, p.output_relu, self.seed,
                               p.l2_on)
        segments = x_train.reshape(-1, 1, N_FRAMES, N_MELS)
        val_segments = None if x_val is None else x_val.reshape(-1, 1, N_FRAMES, N_MELS)
        trainer = ctx.make_trainer(
            max_epochs=p.ae_max_epochs,
            callbacks=self._stopping("ae_val_huber", "min", p.ae_patience)
            if val_segments is not None else [],
        )
        trainer.fit(
            ae,
            self._loader(segments, None, p.ae_batch_size, shuffle=True),
            None if val_segments is None
            else self._loader(val_segments, None, p.ae_batch_size, shuffle=False),
        )

        # stage 2: frozen encoder -> segment embeddings -> BiLSTM
        encoder = ae.encoder
        model = FrozenEncoderClassifier(encoder, encoder.embedding_dim(N_FRAMES, N_MELS),
                                        train.task.kind.n_classes, p.lstm_units, p.dropout, p.lr)
        e_train = model.embed(x_train)
        e_val = None if x_val is None else model.embed(x_val)
        self._fit_classifier(model, e_train, e_val, train, val, ctx)
        self._model = model
        return self

    def predict(self, data: FoldData) -> np.ndarray:
        return self._class_scores(data, lambda x: self._model(self._model.embed(x)))


@METHODS.register("cnn-bilstm")
class CnnBiLSTM(_SegmentMethod):
    """He & Ferguson's end-to-end baseline: the same CNN encoder and BiLSTM trained jointly.

    No autoencoder and no masking: log-mel segments go through the Table 2
    encoder, the flattened outputs of a clip's segments through the BiLSTM
    head, and everything is trained with cross-entropy (stage-2 optimiser,
    batch size and early stopping).
    """

    name = "cnn-bilstm"
    version = "2"
    Params = CnnBiLSTMParams
    smoke_params: ClassVar[dict[str, Any]] = dict(_SMOKE)

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "segment_s": trial.suggest_categorical("segment_s", [1.0, 3.0, 5.0, 10.0]),
            "lr": trial.suggest_float("lr", 1e-5, 1e-3, log=True),
            "dropout": trial.suggest_float("dropout", 0.2, 0.6),
        }

    def fit(self, train: FoldData, val: FoldData, ctx: FitContext) -> CnnBiLSTM:
        import torch

        from mer_bench.methods.ae_bilstm.classifier import EndToEndClassifier

        p = self.params
        torch.manual_seed(self.seed)
        x_train = torch.from_numpy(self._spectrograms(train))
        x_val = torch.from_numpy(self._spectrograms(val)) if len(val) else None
        model = EndToEndClassifier(p.filters, N_FRAMES, N_MELS, train.task.kind.n_classes,
                                   p.lstm_units, p.dropout, p.lr, p.l2_first_conv, p.l2_on)
        self._fit_classifier(model, x_train, x_val, train, val, ctx)
        self._model = model
        return self

    def predict(self, data: FoldData) -> np.ndarray:
        return self._class_scores(data, self._model)
