"""The Lightning modules: the two-tower EMER-CL network and the regression baseline."""

from __future__ import annotations

from collections.abc import Sequence

import lightning as L
import torch
from torch import nn

from mer_bench.methods.emer_cl.encoders import init_weights, make_encoder
from mer_bench.methods.emer_cl.losses import (
    anchored_kl,
    cca_loss,
    cosine_distance_matrix,
    hinge_ranking_loss,
)

LOSSES = ("composite", "cca", "kl", "cos", "composite-cos")
LOGVAR_LIMIT = 30.0  # exp(+-30) keeps variances finite in float32 and float64


def effective_lambda(loss: str, lam: float) -> float:
    """lambda of the composite: 1 for ``cca``, 0 for ``kl``/``cos``, else the parameter."""
    return {"cca": 1.0, "kl": 0.0, "cos": 0.0}.get(loss, float(lam))


class Tower(nn.Module):
    """One modality: encoder, then linear heads to phi (CCA space), mu and log-variance.

    phi has ``cca_dim`` outputs (default ``embed_dim``, the paper's D^(cca) = D^(kl)).
    """

    def __init__(self, kind: str, in_dim: int, units: Sequence[int], hidden: int,
                 dropout: float, embed_dim: int, init: str = "glorot",
                 cca_dim: int | None = None) -> None:
        super().__init__()
        self.encoder = make_encoder(kind, in_dim, units, hidden, dropout)
        width = self.encoder.out_dim
        self.phi = nn.Linear(width, int(cca_dim or embed_dim))
        self.mu = nn.Linear(width, embed_dim)
        self.logvar = nn.Linear(width, embed_dim)
        init_weights(self, init)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.encoder(x, lengths)
        logvar = self.logvar(h).clamp(-LOGVAR_LIMIT, LOGVAR_LIMIT)
        return self.phi(h), self.mu(h), logvar


class EmerCLModule(L.LightningModule):
    """Music and emotion towers trained with ``lam * CCA + (1 - lam) * ranking``."""

    def __init__(self, music: Tower, emotion: Tower, loss: str, lam: float, alpha: float,
                 ridge: float, lr: float, kl_form: str, rank_reduction: str = "sum",
                 cca_shrinkage: float = 0.0) -> None:
        super().__init__()
        self.music, self.emotion = music, emotion
        self.loss_name, self.alpha, self.ridge, self.lr = loss, alpha, ridge, lr
        self.lam = effective_lambda(loss, lam)
        self.kl_form = kl_form
        self.rank_reduction = rank_reduction
        self.cca_shrinkage = cca_shrinkage

    def forward(self, batch: Sequence[torch.Tensor]) -> tuple[tuple[torch.Tensor, ...], ...]:
        xm, lm, xe, le = batch
        return self.music(xm, lm), self.emotion(xe, le)

    def losses(self, batch: Sequence[torch.Tensor]) -> dict[str, torch.Tensor]:
        (phi_m, mu_m, lv_m), (phi_e, mu_e, lv_e) = self(batch)
        out: dict[str, torch.Tensor] = {}
        total = phi_m.new_zeros(())
        if self.lam > 0:
            out["cca"] = cca_loss(phi_m, phi_e, self.ridge, shrinkage=self.cca_shrinkage)
            total = total + self.lam * out["cca"]
        if self.lam < 1:
            if self.loss_name in ("cos", "composite-cos"):
                dist = cosine_distance_matrix(mu_m, mu_e)
                dist_e2m = dist.T  # cosine is symmetric
            else:
                dist, dist_e2m = anchored_kl(mu_m, lv_m, mu_e, lv_e, self.kl_form)
            out["rank"] = hinge_ranking_loss(dist, self.alpha, dist_e2m, self.rank_reduction)
            total = total + (1 - self.lam) * out["rank"]
        out["loss"] = total
        return out

    def training_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> torch.Tensor:
        parts = self.losses(batch)
        size = len(batch[0])
        for key, value in parts.items():
            self.log(f"train_{key}", value, on_step=False, on_epoch=True, batch_size=size)
        return parts["loss"]

    def validation_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> None:
        parts = self.losses(batch)
        self.log("val_loss", parts["loss"], on_step=False, on_epoch=True, batch_size=len(batch[0]))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr)


class RegressionModule(L.LightningModule):
    """Encoder + linear output trained with the mean absolute error (Section IV-E baselines)."""

    def __init__(self, kind: str, in_dim: int, out_dim: int, units: Sequence[int], hidden: int,
                 dropout: float, lr: float, init: str = "glorot",
                 dropout_rule: str = "between") -> None:
        super().__init__()
        self.encoder = make_encoder(kind, in_dim, units, hidden, dropout, dropout_rule)
        self.head = nn.Linear(self.encoder.out_dim, out_dim)
        self.lr = lr
        init_weights(self, init)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x, lengths))

    def _loss(self, batch: Sequence[torch.Tensor]) -> torch.Tensor:
        x, lengths, y = batch
        return (self(x, lengths) - y).abs().mean()

    def training_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self._loss(batch)
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=len(batch[0]))
        return loss

    def validation_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> None:
        """Loss and the retrieval MRR of the validation part (one batch holds all of it)."""
        x, lengths, y = batch
        pred = self(x, lengths)
        self.log("val_loss", (pred - y).abs().mean(), on_step=False, on_epoch=True,
                 batch_size=len(x))
        self.log("val_mrr", l1_retrieval_mrr(pred, y), on_step=False, on_epoch=True,
                 batch_size=len(x))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr)


def l1_retrieval_mrr(pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """MRR of ranking every ``truth`` row by its L1 distance to each prediction (row i
    matches row i; ties count against the query, as the leaderboard's ranks do)."""
    dist = torch.cdist(pred.double(), truth.double(), p=1)
    rank = (dist <= dist.diagonal()[:, None]).sum(dim=1).double()
    return (1.0 / rank).mean()
