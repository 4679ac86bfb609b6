"""The Lightning module that trains a segment classifier, plainly or with SSSL.

``mode="ce"``: cross-entropy on the inherited labels every epoch (the
baseline, and SSSL's warm-up). ``mode="sssl"``: after ``warmup_epochs``, every
epoch starts by scoring each training segment's cross-entropy in eval mode
and splitting the segments with the GMM (``noise.py``); each batch is then
cut into its labelled part X (P(clean) > tau, inherited label, one-hot) and
unlabelled part U (label erased, pseudo-label = sharpened prediction), mixed
up as one batch and trained with L_MIX (+ lambda·L_KL from R-Drop on U).

Pseudo-labels are the eval-mode predictions made at the start of the epoch
(the same pass that scores the losses for the GMM), sharpened with T. Taking
them per batch from the training-mode network (dropout on, BatchNorm on a
U-only batch) let the pseudo-labels drift onto a few classes within a few
epochs on the synthetic data; the eval-mode ones are the predictions the
split itself trusts. BatchNorm keeps running statistics of unmixed segments
only: a no-grad pass over the unmixed batch updates them, and the mixed and
R-Drop passes leave them as they are, so evaluation normalises real inputs
by real-input statistics.

Batches are drawn from all segments and split by the mask, rather than from
two loaders of equal batch size as in DivideMix: one pass over the data per
epoch whatever the split, which keeps epochs comparable to the baseline's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mer_bench.methods.sssl import losses, noise
from mer_bench.methods.sssl.segments import SegmentTable


@dataclass(frozen=True)
class TrainSettings:
    mode: str  # "ce" | "sssl"
    warmup_epochs: int
    batch_size: int
    optimizer: str
    lr: float
    momentum: float
    weight_decay: float
    tau: float = 0.5
    temperature: float = 0.5
    mixup_alpha: float = 4.0
    rdrop: bool = True
    rdrop_weight: float = 1.0
    seed: int = 0


class Segments:
    """A segment table as torch tensors, standardised on the way out."""

    def __init__(self, table: SegmentTable, mean: float, std: float) -> None:
        self.frames = torch.from_numpy(np.ascontiguousarray(table.frames))
        self.row = torch.from_numpy(table.row)
        self.steps = torch.arange(table.n_frames)
        self.mean, self.std = float(mean), float(std)

    def __len__(self) -> int:
        return len(self.row)

    def batch(self, index: torch.Tensor, device: torch.device) -> torch.Tensor:
        rows = self.row[index.cpu()][:, None] + self.steps
        x = self.frames[rows].permute(0, 2, 1).unsqueeze(1)  # [B, 1, n_mels, n_frames]
        return ((x - self.mean) / self.std).to(device)


@torch.no_grad()
def predict_logits(net: nn.Module, segments: Segments, batch_size: int = 256) -> torch.Tensor:
    """Eval-mode logits of every segment, in order, on the CPU."""
    was_training = net.training
    net.eval()
    device = next(net.parameters()).device
    out = [net(segments.batch(torch.arange(i, min(i + batch_size, len(segments))), device)).cpu()
           for i in range(0, len(segments), batch_size)]
    net.train(was_training)
    return torch.cat(out) if out else torch.zeros(0, 0)


@contextmanager
def frozen_batchnorm_statistics(net: nn.Module) -> Iterator[None]:
    """BatchNorm layers still normalise by batch statistics but leave their running ones be."""
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, momentum in zip(norms, saved, strict=True):
            m.momentum = momentum


class SegmentModule(L.LightningModule):
    """Segment classifier training (see the module docstring)."""

    def __init__(self, net: nn.Module, train: Segments, labels: np.ndarray, n_classes: int,
                 settings: TrainSettings, val: Segments | None = None,
                 val_labels: np.ndarray | None = None,
                 noisy_mask: np.ndarray | None = None) -> None:
        super().__init__()
        self.net = net
        self.train_segments, self.val_segments = train, val
        self.labels = torch.as_tensor(labels, dtype=torch.long)
        self.val_labels = None if val_labels is None else torch.as_tensor(val_labels,
                                                                          dtype=torch.long)
        self.n_classes = n_classes
        self.settings = settings
        self.noisy_mask = noisy_mask
        self.clean = torch.ones(len(train), dtype=torch.bool)
        self.pseudo = torch.full((len(train), n_classes), 1.0 / n_classes)
        self.split_stats: dict[str, float] = {}
        self._rng = np.random.default_rng([settings.seed, 0x55])
        self._perm_gen = torch.Generator().manual_seed(settings.seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    # --- the per-epoch split -------------------------------------------------
    def _sssl_epoch(self) -> bool:
        return self.settings.mode == "sssl" and self.current_epoch >= self.settings.warmup_epochs

    def on_train_epoch_start(self) -> None:
        if not self._sssl_epoch():
            return
        logits = predict_logits(self.net, self.train_segments)
        loss = noise.per_sample_ce(logits, self.labels).numpy()
        prob = noise.clean_probability(loss, seed=self.settings.seed + self.current_epoch)
        mask = noise.split(prob, self.settings.tau)
        self.clean = torch.from_numpy(mask)
        self.pseudo = losses.sharpen(logits.softmax(1), self.settings.temperature)
        stats = {"clean_fraction": float(mask.mean())}
        if self.noisy_mask is not None and self.noisy_mask.any():
            noisy = self.noisy_mask
            stats["noisy_recall"] = float((~mask[noisy]).mean())  # corrupted segments sent to U
            if mask.any():
                stats["clean_precision"] = float((~noisy[mask]).mean())
        self.split_stats = stats

    # --- steps -----------------------------------------------------------------
    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        index = batch[0]
        x = self.train_segments.batch(index, self.device)
        y = self.labels[index.cpu()].to(self.device)
        if not self._sssl_epoch():
            loss = F.cross_entropy(self.net(x), y)
            self.log("train_ce", loss, on_epoch=True, on_step=False, batch_size=len(y))
            return loss
        return self._sssl_step(x, y, index, self.clean[index.cpu()].to(self.device))

    def _sssl_step(self, x: torch.Tensor, y: torch.Tensor, index: torch.Tensor,
                   clean: torch.Tensor) -> torch.Tensor:
        s = self.settings
        with torch.no_grad():  # the only pass that updates BatchNorm's running statistics
            self.net(x)
        pseudo = self.pseudo[index.cpu()].to(self.device)
        inputs = torch.cat([x[clean], x[~clean]])  # X, then U
        target = torch.cat([F.one_hot(y[clean], self.n_classes).float(), pseudo[~clean]])
        coefficient = losses.mixup_coefficient(self._rng, s.mixup_alpha)
        perm = torch.randperm(len(inputs), generator=self._perm_gen).to(self.device)
        mixed_x, mixed_y = losses.mixup(inputs, target, coefficient, perm)
        with frozen_batchnorm_statistics(self.net):
            loss_mix = losses.soft_cross_entropy(self.net(mixed_x), mixed_y)
            kl = torch.zeros((), device=self.device)
            x_unl = x[~clean]
            if s.rdrop and len(x_unl):
                kl = losses.symmetric_kl(self.net(x_unl), self.net(x_unl))
        n = len(inputs)
        # constant within the epoch; logged here so the epoch's own metrics carry it
        self.log_dict(self.split_stats, on_epoch=True, on_step=False, batch_size=n)
        self.log("train_l_mix", loss_mix, on_epoch=True, on_step=False, batch_size=n)
        if not s.rdrop:
            return loss_mix
        self.log("train_l_kl", kl, on_epoch=True, on_step=False, batch_size=n)
        return loss_mix + s.rdrop_weight * kl

    def validation_step(self, batch: list[torch.Tensor], batch_idx: int) -> None:
        index = batch[0]
        assert self.val_segments is not None and self.val_labels is not None
        logits = self.net(self.val_segments.batch(index, self.device))
        y = self.val_labels[index.cpu()].to(self.device)
        self.log("val_segment_ce", F.cross_entropy(logits, y), on_epoch=True, batch_size=len(y))
        self.log("val_segment_accuracy", (logits.argmax(1) == y).float().mean(), on_epoch=True,
                 batch_size=len(y))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        s = self.settings
        if s.optimizer == "adam":
            return torch.optim.Adam(self.net.parameters(), lr=s.lr, weight_decay=s.weight_decay)
        return torch.optim.SGD(self.net.parameters(), lr=s.lr, momentum=s.momentum,
                               weight_decay=s.weight_decay)
