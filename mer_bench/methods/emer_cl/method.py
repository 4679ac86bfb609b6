"""The registered method ``emer-cl`` (its regression baselines are in ``baselines.py``).

Takashima, Li, Grzegorzek & Shirahama, "Embedding-based Music Emotion
Recognition Using Composite Loss", IEEE Access 11 (2023).

Retrieval directions: the paper's E2M score is not the transpose of its M2E
score (Gamma applies the regression line in the direction of the query; the
regression baselines use a second model). With the score-only parameter
``direction="both"`` (the default) ``predict`` returns both exactly,
``{"m2e": [music, emotion], "e2m": [emotion, music]}``, and the scorer ranks
each direction with its own matrix. ``m2e`` or ``e2m`` return one
[music, emotion] matrix (the other direction is then its transpose, an
approximation kept for comparison). ``rescore(direction=...)`` switches
without retraining.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mer_bench.errors import ConfigError
from mer_bench.methods.base import METHODS, FitContext, FoldData, Method
from mer_bench.methods.emer_cl.inputs import (
    Standardizer,
    check_task,
    emotion_sequences,
    music_sequences,
    pad,
)
from mer_bench.methods.emer_cl.scoring import (
    Embeddings,
    LinearCCA,
    retrieval_scores,
)
from mer_bench.methods.emer_cl.settings import (
    DIRECTIONS,
    PAPER_GRU_UNITS,
    PAPER_MLP_UNITS,
    SMOKE,
    check_choice,
    check_positive,
    check_torch_training,
)
from mer_bench.methods.emer_cl.training import batched, fit_module
from mer_bench.types import Family, TaskKind

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from mer_bench.methods.emer_cl.model import Tower

# the sound CCA setting (class docstring): 2 * phi's own dimension below the batch, shrinkage
SOUND_CCA = {"cca_dim": 64, "cca_shrinkage": 0.1}


class RankDeficiencyWarning(UserWarning):
    """A CCA estimated from too few samples for its dimensions (n - 1 < 2 D): some of its
    correlations are 1 whatever the data."""


@dataclass(frozen=True)
class EmerCLParams:
    """Defaults are the paper's (DEAM setting); sources in comments."""

    loss: str = "composite"  # composite | cca (lam=1) | kl (lam=0) | cos | composite-cos
    P: float = 0.4  # Sec. IV: default (P, alpha, lam) = (0.4, 1.0, 0.5); tuned DEAM 0.5, PMEmo 0.7
    alpha: float = 1.0  # ranking margin (tuned DEAM 1.0, PMEmo 2.0)
    lam: float = 0.5  # composite weight lambda (tuned DEAM 0.6, PMEmo 0.5)
    music_encoder: str = "mlp"  # MLP on DEAM, BiGRU on PMEmo
    emotion_encoder: str = "bigru"  # BiGRU on both
    embed_dim: int = 1024  # D of mu and log-variance (D^(kl)); of phi too unless cca_dim
    # D^(cca) of phi; 0 = embed_dim (the paper). Below the batch size it keeps DCCA data-driven
    cca_dim: int = 0
    cca_shrinkage: float = 0.0  # covariance shrinkage towards the scaled identity (0 = paper)
    mlp_units: tuple[int, ...] = PAPER_MLP_UNITS
    gru_hidden: int = 512  # per direction
    gru_units: tuple[int, ...] = PAPER_GRU_UNITS
    dropout: float = 0.5
    init: str = "glorot"  # Keras defaults, as the authors' TensorFlow code; "torch" for PyTorch's
    cca_ridge: float = 1e-4  # r of the DCCA covariances and of the scoring CCA
    lr: float = 1e-5  # Adam
    epochs: int = 5001  # DEAM (10001 on PMEmo)
    batch_size: int = 512  # the authors' code
    early_stopping_patience: int = 0  # 0 = off, as in the paper
    kl_form: str = "anchor-first"  # Eq. 6/8: psi(anchor or query, other); see losses.KL_FORMS
    rank_reduction: str = "sum"  # KL(G) sums r(.) over the batch (paper); "mean" divides by N
    standardize: bool = True  # z-score music frames with training statistics (our choice)
    crop_to_labels: bool = True  # music frames of the annotated span only
    direction: str = "both"  # which direction's score predict() returns (score-only)


@METHODS.register("emer-cl")
class EmerCL(Method):
    """EMER-CL: music and emotion towers trained with ``lam * DCCA + (1 - lam) * KL-ranking``.

    Music: frame sequences (VGGish in the paper; any sequence feature here),
    mean-pooled into an MLP or read by a masked BiGRU. Emotion: the dynamic
    (valence, arousal) curve at 2 Hz through a BiGRU. Each tower has linear
    heads to phi (CCA space) and to mu / log-variance (a diagonal Gaussian).
    Training: Deep CCA on the phi's and a bidirectional hinge ranking loss on
    KL(music || emotion) over in-batch negatives (``losses.py``). After
    training, a linear CCA is fitted once on the training phi's, and
    retrieval uses ``lam * Gamma + (1 - lam) * (-KL)`` with Gamma over the
    canonical dimensions whose training correlation is at least ``P``
    (``scoring.py``). ``P`` (and ``direction``) are read at prediction time,
    so ``rescore(P=...)`` re-scores a fitted model without retraining.

    Variants (``loss``): ``cca`` (lam = 1, score Gamma), ``kl`` (lam = 0,
    score -KL), ``cos`` (point embeddings mu, ranking on 1 - cosine, score
    cosine), ``composite-cos`` (DCCA + Cos, score ``lam Gamma + (1-lam) cos``).

    As the paper: psi puts the anchor first (Eq. 6: KL(m || e) for a music
    anchor, KL(e || m) for an emotion anchor) and so does the score (Eq. 8:
    -KL(query || candidate)), ``kl_form="anchor-first"``; KL(G) is the sum of
    r(.) over the batch (``rank_reduction="sum"``); D^(cca) = D^(kl) = 1024
    with batches of 512.

    The CCA term at the paper's settings: n paired samples of two
    D^(cca)-dimensional views force 2 D - (n - 1) canonical correlations to 1
    whatever the data once n - 1 < 2 D (all n - 1 of them once n <= D;
    ``losses.forced_correlations``). A batch of 512 at D = 1024 (the paper)
    makes the DCCA loss a constant, and the post-hoc CCA on DEAM's 1441
    training items finds 608 correlations of 1 on noise. Such a run is
    flagged when its smallest training batch (the last partial batch
    included) or its training set is affected, with the tag
    ``cca_rank_deficient=true`` (and ``cca_n``, the smallest batch,
    ``cca_train_n``, ``cca_dim``, and the forced counts ``cca_forced_batch``
    / ``cca_forced_train``; it names the leaderboard row) and a warning; the
    fold metric ``cca_rho_max`` is the largest training correlation found.
    The **sound** setting (``SOUND_CCA``: ``cca_dim=64, cca_shrinkage=0.1``)
    gives phi its own 64 dimensions, so a batch of 128 or more and the
    training set stay clear, and shrinks both covariances by 10 % towards the
    identity (a last partial batch under 129 items is still flagged). The
    paper's setting stays the default, since a faithful reproduction needs it.

    Deliberate departures from the paper, each a parameter: music frames are
    z-scored with training statistics (``standardize``) and cropped to the
    labelled span (``crop_to_labels``); log-variances are clamped to +-30 to
    keep exp finite; the search space draws P from [0, 1] rather than
    [0, max rho], because max rho is only known after training (P above max
    rho selects no dimension: Gamma is 0 and only the KL term ranks); weights
    start from Keras' initialisers (``init="glorot"``), as in the authors'
    TensorFlow code. The DCCA is the textbook form, not the authors' variant
    (``losses.cca_loss``). Readings kept as parameters: ``kl_form``
    (``music||emotion`` / ``emotion||music`` / ``symmetric`` use one KL
    matrix for both directions) and ``rank_reduction="mean"``. Each of the
    10 repetitions starts from its own initialisation (the runner derives the
    seed from the run's seed and the split). No validation data is used
    unless ``early_stopping_patience`` > 0, so the protocol's validation part
    is trained on, as the paper trains on all 80 %.
    """

    name = "emer-cl"
    trains_networks = True
    version = "2"
    consumes = "sequences"
    supports = frozenset({Family.MUSIC_EMOTION_RETRIEVAL})
    Params = EmerCLParams
    smoke_params = {**SMOKE, "embed_dim": 4}
    score_only_params = frozenset({"P", "direction"})
    label_params = ("loss",)
    label_tags = ("cca_rank_deficient",)

    def selects_on_validation(self) -> bool:
        """Only early stopping reads validation data; it is off by default, as in the paper."""
        return self.params.early_stopping_patience > 0

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "P": trial.suggest_float("P", 0.0, 1.0),
            "alpha": trial.suggest_float("alpha", 0.1, 128.0, log=True),
            "lam": trial.suggest_float("lam", 0.0, 1.0),
        }

    @classmethod
    def check_param_values(cls, params: Any, task: TaskKind) -> None:
        """torch's rules for the towers' Adam, loader and dropout, then the domain checks
        ``fit`` runs (``_check``: choices, positive sizes, lam and dropout ranges)."""
        check_torch_training(f"method {cls.name!r}", params, ("mlp_units", "gru_units"))
        EmerCL(EmerCLParams(**{f: getattr(params, f) for f in EmerCLParams.__dataclass_fields__}
                            ))._check()

    def _check(self) -> None:
        # the option lists live beside the torch code that reads them (imported at fit time)
        from mer_bench.methods.emer_cl.encoders import ENCODERS, INITS
        from mer_bench.methods.emer_cl.losses import KL_FORMS, REDUCTIONS
        from mer_bench.methods.emer_cl.model import LOSSES

        p = self.params
        check_choice(p.loss, LOSSES, "loss", self.name)
        check_choice(p.music_encoder, ENCODERS, "music_encoder", self.name)
        check_choice(p.emotion_encoder, ENCODERS, "emotion_encoder", self.name)
        check_choice(p.kl_form, KL_FORMS, "kl_form", self.name)
        check_choice(p.rank_reduction, REDUCTIONS, "rank_reduction", self.name)
        check_positive(p.cca_dim, "cca_dim", self.name, strict=False)
        if not 0 <= p.cca_shrinkage < 1:
            raise ConfigError(f"{self.name}: cca_shrinkage must be in [0, 1), got "
                              f"{p.cca_shrinkage}")
        check_choice(p.direction, DIRECTIONS, "direction", self.name)
        check_choice(p.init, INITS, "init", self.name)
        for what in ("embed_dim", "gru_hidden", "epochs", "batch_size", "lr", "alpha"):
            check_positive(getattr(p, what), what, self.name)
        check_positive(p.cca_ridge, "cca_ridge", self.name, strict=False)
        if not 0 <= p.lam <= 1 or not 0 <= p.dropout < 1:
            raise ConfigError(f"{self.name}: lam must be in [0, 1] and dropout in [0, 1)")
        if not p.mlp_units or not p.gru_units:
            raise ConfigError(f"{self.name}: mlp_units and gru_units need at least one layer")

    def _tower(self, kind: str, in_dim: int) -> Tower:
        from mer_bench.methods.emer_cl.model import Tower

        p = self.params
        units = p.mlp_units if kind == "mlp" else p.gru_units
        return Tower(kind, in_dim, tuple(units), p.gru_hidden, p.dropout, p.embed_dim, p.init,
                     self.cca_dim)

    @property
    def cca_dim(self) -> int:
        """D^(cca): ``cca_dim``, or ``embed_dim`` when it is 0 (the paper)."""
        return int(self.params.cca_dim or self.params.embed_dim)

    def _flag_rank_deficiency(self, n_train: int, ctx: FitContext) -> None:
        """Tag and warn when a CCA is forced (see the class docstring): the smallest training
        batch (the last partial one included) or the post-hoc CCA on the training set."""
        from mer_bench.methods.emer_cl.losses import forced_correlations
        from mer_bench.methods.emer_cl.model import effective_lambda
        from mer_bench.methods.emer_cl.training import smallest_batch

        if effective_lambda(self.params.loss, self.params.lam) == 0:
            return
        n = smallest_batch(n_train, self.params.batch_size)
        dim = self.cca_dim
        in_batch, in_train = forced_correlations(n, dim), forced_correlations(n_train, dim)
        deficient = bool(in_batch or in_train)
        ctx.extra_tags.update({
            "cca_rank_deficient": str(deficient).lower(), "cca_n": str(n),
            "cca_train_n": str(n_train), "cca_dim": str(dim),
            "cca_forced_batch": str(in_batch), "cca_forced_train": str(in_train)})
        if deficient:
            warnings.warn(
                f"{self.name}: the CCA is rank-deficient: with D = {dim} canonical dimensions, "
                f"a batch of n = {n} forces {in_batch} correlations to 1 and the post-hoc CCA "
                f"on n = {n_train} training items forces {in_train} (n - 1 < 2D), whatever "
                "the data (tagged cca_rank_deficient=true). Use 2 * cca_dim below the "
                "smallest batch (e.g. cca_dim=64, cca_shrinkage=0.1) unless reproducing "
                "the paper",
                RankDeficiencyWarning,
                stacklevel=2,
            )

    def _inputs(self, data: FoldData) -> list[torch.Tensor]:
        p = self.params
        music = self._scaler(music_sequences(data, p.crop_to_labels))
        xm, lm = pad(music, pooled=p.music_encoder == "mlp")
        xe, le = pad(emotion_sequences(data), pooled=p.emotion_encoder == "mlp")
        return [xm, lm, xe, le]

    def fit(self, train: FoldData, val: FoldData, ctx: FitContext) -> EmerCL:
        import torch

        from mer_bench.methods.emer_cl.model import EmerCLModule, effective_lambda

        self._check()
        check_task(train, self.name)
        p = self.params
        self._scaler = Standardizer.fit(music_sequences(train, p.crop_to_labels), p.standardize)
        self._cache: dict[tuple[str, ...], Embeddings] = {}
        tensors = self._inputs(train)
        val_tensors = self._inputs(val) if val is not None and len(val) >= 2 else None
        self._flag_rank_deficiency(len(train), ctx)
        torch.manual_seed(self.seed)
        self._module = EmerCLModule(
            self._tower(p.music_encoder, tensors[0].shape[-1]),
            self._tower(p.emotion_encoder, tensors[2].shape[-1]),
            p.loss, p.lam, p.alpha, p.cca_ridge, p.lr, p.kl_form, p.rank_reduction,
            p.cca_shrinkage,
        )
        fit_module(ctx, self._module, tensors, val_tensors, epochs=p.epochs,
                   batch_size=p.batch_size, patience=p.early_stopping_patience, seed=self.seed)
        self._module.eval()
        self._cca = None
        if effective_lambda(p.loss, p.lam) > 0:  # Gamma enters the score
            emb = self._embed(train)
            self._cca = LinearCCA.fit(emb.phi_m, emb.phi_e, p.cca_ridge,
                                      shrinkage=p.cca_shrinkage)
            rho = self._cca.rho
            ctx.log_metrics({"cca_rho_max": float(rho.max()), "cca_rho_mean": float(rho.mean()),
                             "cca_dims_at_P": float((rho >= p.P).sum())})
        return self

    def _embed(self, data: FoldData) -> Embeddings:
        key = tuple(data.ids)
        if key not in self._cache:
            self._module.eval()
            parts = batched(
                lambda *b: tuple(t.double().numpy() for v in self._module(b) for t in v),
                self._inputs(data), self.params.batch_size,
            )
            columns = zip(*parts, strict=True)
            self._cache[key] = Embeddings(*(np.concatenate(col) for col in columns))
        return self._cache[key]

    def music_embeddings(self, data: FoldData, frames: list[np.ndarray] | None = None
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(phi, mu, sigma) [N, D] of each clip from the trained music tower (float64).

        Needs only the music: ``frames`` (per-track [T, D] sequences, e.g.
        cropped by the caller) default to ``data``'s cropped to its labels.
        sigma is the variance exp(log-variance).
        """
        module = self._module
        module.eval()
        if frames is None:
            frames = music_sequences(data, self.params.crop_to_labels)
        x, lengths = pad(self._scaler(frames), pooled=self.params.music_encoder == "mlp")
        parts = batched(
            lambda xb, lb: tuple(t.double().numpy() for t in module.music(xb, lb)),
            [x, lengths], self.params.batch_size,
        )
        phi, mu, logvar = (np.concatenate(col) for col in zip(*parts, strict=True))
        return phi, mu, np.exp(logvar)

    def _scores(self, data: FoldData, direction: str) -> np.ndarray:
        p = self.params
        return retrieval_scores(self._embed(data), self._cca, p.loss, p.lam, p.P, direction,
                                p.kl_form)

    def predict(self, data: FoldData) -> np.ndarray | dict[str, np.ndarray]:
        """Similarities of ``params.direction`` (see the module docstring)."""
        check_task(data, self.name)
        check_choice(self.params.direction, DIRECTIONS, "direction", self.name)
        if self.params.direction == "both":
            return self.predict_directions(data)
        if self.params.direction == "m2e":
            return self._scores(data, "m2e")
        return np.ascontiguousarray(self._scores(data, "e2m").T)

    def predict_directions(self, data: FoldData) -> dict[str, np.ndarray]:
        """Both paper scores: ``m2e`` [music, emotion] and ``e2m`` [emotion, music]."""
        check_task(data, self.name)
        return {"m2e": self._scores(data, "m2e"), "e2m": self._scores(data, "e2m")}
