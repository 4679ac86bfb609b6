"""Registered methods: ``sssl`` (Sun et al.) and its inherited-label baseline ``segment-vote``.

Sun, Zhang, Zhou & Li, "Semi-Supervised Self-Learning Enhanced Music Emotion
Recognition" (arXiv:2410.21897). Both methods cut clips into segments that
inherit the clip's label (``segments.py``) and train a segment classifier
(``networks.py``) through the shared Lightning trainer; they differ in how the
segment labels are trusted and how a song is decided:

* ``sssl``: warm-up epochs of cross-entropy, then a GMM split of clean and
  noisy segments every epoch and the semi-supervised step (mixup, L_MIX,
  R-Drop; ``lit.py``); song decision by an SVM on 7·K statistics of the
  segment probabilities (``songlevel.py``). ``rdrop=False`` is the paper's
  "Proposed*" ablation.
* ``segment-vote``: plain cross-entropy on the inherited labels and a
  majority vote of the segments -- the approach the paper argues against.

Defaults are the paper's where it states them (segments, log-mel, VGG16,
GMM, SVM); where it does not, they are taken from the methods it builds on
and say so below. Clips shorter than one segment give no training segment
(counted in ``sssl_short_train_clips``); at prediction such a clip is looped
to one segment so it still gets a prediction (``sssl_short_test_clips``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mer_bench.errors import ConfigError, TaskError
from mer_bench.methods.base import METHODS, FitContext, FoldData, Method
from mer_bench.methods.sssl.frontend import SegmentLogmel
from mer_bench.methods.sssl.segments import SegmentSpec, SegmentTable, build_segments
from mer_bench.types import Family, TaskKind

log = logging.getLogger(__name__)

CLASS_TASKS = frozenset({Family.CLASSIFICATION})
OPTIMIZERS = ("sgd", "adam")


@dataclass(frozen=True)
class SegmentParams:
    """What both segment methods share.

    segment_s / hop_s: the paper's integer durations 1-5 s (Table 2) with
    overlap d - 1 s, i.e. a 1 s hop; 3 s, the middle of that sweep, is the
    default. clip_s: only the first 30 s of a clip are segmented, as the
    paper's segment counts imply (segments.py); None segments whole clips.
    sample_rate / n_fft / hop_length / n_mels: librosa log-mel with a Hann
    window of 1024, hop 512, 128 bands (the paper), at librosa's default
    22050 Hz (the paper names no rate). network: ``vgg16`` (the
    paper) or ``small`` (a CPU-sized VGG-style net of base ``width``);
    ``vgg_weights`` optionally points at torchvision's ImageNet VGG16 file
    (the paper does not say whether it was pre-trained; default: random
    initialisation). Optimisation is not given in the paper: SGD with
    momentum 0.9, weight decay 5e-4 and batch 64 (DivideMix's, also VGG's
    own recipe) at VGG's learning rate 0.01, for 100 epochs.
    label_noise: a controlled-experiment knob, default 0 -- the fraction of
    training-segment labels replaced by another class (seeded), to measure
    how a method copes with known label noise.
    """

    segment_s: int = 3
    hop_s: float = 1.0
    clip_s: float | None = 30.0
    sample_rate: int = 22050
    n_fft: int = 1024
    hop_length: int = 512
    n_mels: int = 128
    network: str = "vgg16"
    width: int = 16
    dropout: float = 0.5
    vgg_weights: str = ""
    epochs: int = 100
    batch_size: int = 64
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    label_noise: float = 0.0


@dataclass(frozen=True)
class SSSLParams(SegmentParams):
    """SSSL's own settings on top of ``SegmentParams``.

    The paper does not state them all; unstated values follow DivideMix (Li
    et al. 2020, CIFAR-10): warm-up 10 epochs, clean threshold tau 0.5,
    sharpening temperature T 0.5, mixup Beta(a, a) with a = 4. lambda (the
    R-Drop weight) is not published for this paper and R-Drop's own values
    range from 0.1 to 5 by task (<= 1 for classification): 1.0.
    theta: threshold of the "fraction above" statistic (Eq. 10), 0.5.
    SVM: scikit-learn ``SVC`` (RBF, C = 1) on the raw 7·K features, which
    already lie in [0, 1]; it is fitted on the training clips' features.
    """

    warmup_epochs: int = 10
    tau: float = 0.5
    temperature: float = 0.5
    mixup_alpha: float = 4.0
    rdrop: bool = True
    rdrop_weight: float = 1.0
    theta: float = 0.5
    svm_C: float = 1.0
    svm_kernel: str = "rbf"


SMOKE = {
    "network": "small", "width": 4, "n_mels": 32, "segment_s": 1, "sample_rate": 16000,
    "epochs": 1, "batch_size": 16,
}


class _SegmentMethod(Method):
    """Segments, the segment network and its training; subclasses decide songs.

    Neither method selects anything on validation data (a fixed number of epochs,
    the last one kept), so the runner hands the protocol's validation clips back to
    training (``uses_validation = False``): Sun et al.'s 10-fold CV trains on 90 %.
    A non-empty ``val`` is only logged; an empty one is skipped.
    """

    consumes = "audio"
    trains_networks = True
    supports = CLASS_TASKS
    uses_validation: ClassVar[bool] = False
    label_params: ClassVar[tuple[str, ...]] = ("segment_s",)  # each duration its own row

    @classmethod
    def frontend(cls, params: Any) -> SegmentLogmel:
        """Clip log-mels (``frontend.py``), read from the disk feature cache in a run."""
        return SegmentLogmel(sample_rate=int(params.sample_rate), n_fft=int(params.n_fft),
                             hop_length=int(params.hop_length), n_mels=int(params.n_mels),
                             segment_s=int(params.segment_s))

    def _segments(self, data: FoldData, pad_short: bool = False) -> SegmentTable:
        clips = data.arrays_of(self.frontend(self.params))
        return build_segments(data.tracks, clips, self._spec, pad_short=pad_short)

    # --- fit -----------------------------------------------------------------
    def fit(self, train: FoldData, val: FoldData, ctx: FitContext) -> _SegmentMethod:
        import torch

        from mer_bench.methods.sssl import lit, noise
        from mer_bench.methods.sssl.networks import build_network

        p = self.params
        self._check_params()
        kind = train.task.kind
        if not self.supports_task(kind):
            raise TaskError(f"{self.name} does not support {kind.value}")
        self._ctx, self._n_classes = ctx, kind.n_classes
        self._spec = SegmentSpec(p.segment_s, p.hop_s, p.sample_rate, p.n_fft, p.hop_length,
                                 p.n_mels, p.clip_s)
        table = self._segments(train)
        if len(table) == 0:
            raise TaskError(
                f"{self.name}: no training clip is at least {p.segment_s} s long, so there is no "
                "segment to train on; use a shorter segment_s"
            )
        self._train_table = table
        labels = train.y[table.clip]
        labels, noisy = noise.corrupt_labels(labels, p.label_noise, self._n_classes, self.seed)
        ctx.log_metrics({"sssl_train_segments": float(len(table)),
                         "sssl_short_train_clips": float(len(table.short_ids)),
                         "sssl_corrupted_segments": float(noisy.sum())})

        mean, std = float(table.frames.mean()), float(table.frames.std()) or 1.0
        self._mean, self._std = mean, std
        torch.manual_seed(self.seed)
        net = build_network(p.network, self._n_classes, p.n_mels, self._spec.n_frames,
                            width=p.width, dropout=p.dropout, vgg_weights=p.vgg_weights)
        val_segments, val_labels, val_loader = None, None, None
        if len(val):
            val_table = self._segments(val)
            if len(val_table):
                val_segments = lit.Segments(val_table, mean, std)
                val_labels = val.y[val_table.clip]
                val_loader = _index_loader(len(val_table), 256, shuffle=False, seed=self.seed)
        module = lit.SegmentModule(
            net, lit.Segments(table, mean, std), labels, self._n_classes, self._settings(),
            val=val_segments, val_labels=val_labels, noisy_mask=noisy if noisy.any() else None,
        )
        extra = {} if val_loader is not None else {"limit_val_batches": 0}
        trainer = ctx.make_trainer(max_epochs=p.epochs, num_sanity_val_steps=0, **extra)
        trainer.fit(module, _index_loader(len(table), p.batch_size, shuffle=True, seed=self.seed),
                    val_loader)
        # Lightning hands the model back on the CPU; predict where it trained (GPU when used)
        self._net = module.net.to(trainer.strategy.root_device).eval()
        train_probs = self._segment_probs(table)
        self._fit_songs(train_probs, table, train.y)
        return self

    def _settings(self) -> Any:
        from mer_bench.methods.sssl.lit import TrainSettings

        p = self.params
        return TrainSettings(mode="ce", warmup_epochs=0, batch_size=p.batch_size,
                             optimizer=p.optimizer, lr=p.lr, momentum=p.momentum,
                             weight_decay=p.weight_decay, seed=self.seed)

    @classmethod
    def check_param_values(cls, params: Any, task: TaskKind) -> None:
        """The segment spec's and network's own checks, torch's optimiser, loader and dropout
        rules, and the domain rules of ``_check_params``."""
        from mer_bench.methods import param_checks
        from mer_bench.methods.sssl.networks import NETWORKS, VGG16_MIN_SIZE

        p, owner = params, f"method {cls.name!r}"
        param_checks.check_optimizer(owner, p.optimizer, p.lr, p.weight_decay, p.momentum)
        param_checks.check_batch_size(owner, p.batch_size)
        param_checks.check_dropout(owner, p.dropout)
        cls(params)._check_params()
        spec = SegmentSpec(p.segment_s, p.hop_s, p.sample_rate, p.n_fft, p.hop_length,
                           p.n_mels, p.clip_s)
        if p.network not in NETWORKS:
            raise ConfigError(f"{owner}: network={p.network!r} is not one of {list(NETWORKS)}")
        if p.network == "vgg16" and min(p.n_mels, spec.n_frames) < VGG16_MIN_SIZE:
            raise ConfigError(f"{owner}: vgg16 needs spectrograms of at least {VGG16_MIN_SIZE}"
                              f"x{VGG16_MIN_SIZE}, got n_mels={p.n_mels} x {spec.n_frames} "
                              "frames; use longer segments or network=small")
        param_checks.check_at_least(owner, {"width": p.width})

    def _check_params(self) -> None:
        p = self.params
        if p.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {OPTIMIZERS}, got {p.optimizer!r}")
        if not 0.0 <= p.label_noise < 1.0:
            raise ConfigError(f"label_noise must be in [0, 1), got {p.label_noise}")
        if p.epochs < 1 or p.batch_size < 1:
            raise ConfigError("epochs and batch_size must be >= 1")

    def _segment_probs(self, table: SegmentTable) -> np.ndarray:
        from mer_bench.methods.sssl.lit import Segments, predict_logits

        logits = predict_logits(self._net, Segments(table, self._mean, self._std))
        return logits.softmax(1).numpy().astype(np.float64)

    def _fit_songs(self, probs: np.ndarray, table: SegmentTable, y: np.ndarray) -> None:
        """Learn the song decision from the training clips (nothing to learn for a vote)."""

    def _decide(self, probs: np.ndarray, table: SegmentTable) -> np.ndarray:
        from mer_bench.methods.sssl.songlevel import majority_vote

        return majority_vote(probs, table.clip, len(table.clip_ids))

    # --- predict ---------------------------------------------------------------
    def predict(self, data: FoldData) -> np.ndarray:
        table = self._segments(data, pad_short=True)
        if table.short_ids:
            self._ctx.log_metrics({"sssl_short_test_clips": float(len(table.short_ids))})
        if len(data) == 0:
            return np.zeros((0, self._n_classes))
        return self._decide(self._segment_probs(table), table)


def _index_loader(n: int, batch_size: int, shuffle: bool, seed: int) -> Any:
    """Batches of segment indices; the module gathers the spectrograms itself."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    generator = torch.Generator().manual_seed(seed) if shuffle else None
    return DataLoader(TensorDataset(torch.arange(n)), batch_size=batch_size, shuffle=shuffle,
                      generator=generator)


@METHODS.register("segment-vote")
class SegmentVote(_SegmentMethod):
    """Inherited segment labels, plain cross-entropy, majority vote per song.

    The simple segment-based baseline Sun et al. argue against: every segment
    keeps its clip's label as if it were clean.
    """

    name = "segment-vote"
    version = "2"
    Params = SegmentParams
    smoke_params = SMOKE

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "segment_s": trial.suggest_int("segment_s", 1, 5),
            "lr": trial.suggest_float("lr", 1e-4, 1e-1, log=True),
        }


@METHODS.register("sssl")
class SSSL(_SegmentMethod):
    """Semi-supervised self-learning on segments with a GMM noise split (Sun et al.).

    See the package docstring and ``SSSLParams`` for every setting and its
    source. ``rdrop=False`` drops the R-Drop term (the paper's "Proposed*").
    """

    name = "sssl"
    version = "2"
    Params = SSSLParams
    smoke_params = {**SMOKE, "warmup_epochs": 0}  # fast_dev_run's one epoch is semi-supervised

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "segment_s": trial.suggest_int("segment_s", 1, 5),
            "tau": trial.suggest_float("tau", 0.3, 0.9),
            "temperature": trial.suggest_float("temperature", 0.1, 1.0),
            "mixup_alpha": trial.suggest_float("mixup_alpha", 0.5, 8.0, log=True),
            "rdrop_weight": trial.suggest_float("rdrop_weight", 0.1, 5.0, log=True),
            "theta": trial.suggest_float("theta", 0.3, 0.8),
            "svm_C": trial.suggest_float("svm_C", 1e-2, 1e2, log=True),
        }

    @classmethod
    def cost_probe(cls, params: Any) -> Any:
        """Probe the semi-supervised epochs (GMM split, mixup, R-Drop's second pass), which
        cost more than the warm-up's cross-entropy ones: the estimate errs high by the
        warm-up's share rather than low by the main phase's."""
        import dataclasses

        return dataclasses.replace(params, warmup_epochs=0)

    @classmethod
    def check_param_values(cls, params: Any, task: TaskKind) -> None:
        """Adds the song-level SVC's scikit-learn constraints (svm_C, svm_kernel)."""
        from sklearn.svm import SVC

        from mer_bench.methods.param_checks import check_estimator

        super().check_param_values(params, task)
        check_estimator(f"method {cls.name!r}", SVC(C=params.svm_C, kernel=params.svm_kernel),
                        {"svm_C": "C", "svm_kernel": "kernel"})

    def _check_params(self) -> None:
        super()._check_params()
        p = self.params
        if not 0.0 <= p.theta <= 1.0 or p.rdrop_weight < 0:
            raise ConfigError(f"sssl needs theta in [0, 1] (a fraction of probabilities) and "
                              f"rdrop_weight >= 0, got {p.theta}, {p.rdrop_weight}")
        if not 0.0 < p.tau < 1.0 or p.temperature <= 0 or p.mixup_alpha <= 0:
            raise ConfigError("sssl needs 0 < tau < 1, temperature > 0 and mixup_alpha > 0")
        if not 0 <= p.warmup_epochs < p.epochs:
            raise ConfigError(
                f"sssl: warmup_epochs ({p.warmup_epochs}) must be in [0, epochs={p.epochs}), "
                "or no epoch would run the semi-supervised step"
            )

    def _settings(self) -> Any:
        import dataclasses

        p = self.params
        return dataclasses.replace(
            super()._settings(), mode="sssl", warmup_epochs=p.warmup_epochs, tau=p.tau,
            temperature=p.temperature, mixup_alpha=p.mixup_alpha, rdrop=p.rdrop,
            rdrop_weight=p.rdrop_weight,
        )

    def _fit_songs(self, probs: np.ndarray, table: SegmentTable, y: np.ndarray) -> None:
        from sklearn.svm import SVC

        from mer_bench.methods.sssl.songlevel import song_matrix

        has = table.segments_per_clip() > 0
        features = song_matrix(probs, table.clip, len(table.clip_ids), self.params.theta)[has]
        targets = y[has]
        self._svm = None
        self._only_class = int(targets[0])
        if len(np.unique(targets)) > 1:
            self._svm = SVC(C=self.params.svm_C, kernel=self.params.svm_kernel,
                            random_state=self.seed).fit(features, targets)

    def _decide(self, probs: np.ndarray, table: SegmentTable) -> np.ndarray:
        from mer_bench.methods.sssl.songlevel import song_matrix

        n = len(table.clip_ids)
        scores = np.zeros((n, self._n_classes))
        if self._svm is None:  # a training fold with one class
            scores[:, self._only_class] = 1.0
            return scores
        decision = self._svm.decision_function(song_matrix(probs, table.clip, n,
                                                           self.params.theta))
        classes = self._svm.classes_
        if len(classes) == 2:
            decision = np.stack([-decision, decision], axis=1)
        scores[:] = decision.min() - 1.0  # classes absent from training never win
        scores[:, classes] = decision
        return scores
