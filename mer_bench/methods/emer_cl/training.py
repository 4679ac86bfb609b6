"""Fitting a Lightning module through the run's trainer factory, and batched inference."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from mer_bench.methods.base import FitContext

if TYPE_CHECKING:  # pragma: no cover
    import lightning as L
    import torch


def fit_module(ctx: FitContext, module: L.LightningModule, train: Sequence[torch.Tensor],
               val: Sequence[torch.Tensor] | None, *, epochs: int, batch_size: int,
               patience: int, seed: int, select_every: int = 0) -> Any:
    """Train ``module`` with ``ctx.make_trainer``; returns the trainer.

    Shuffled mini-batches of ``batch_size``; a last batch of a single item is
    dropped (the CCA loss needs two). Validation (one full batch) runs only
    when there are >= 2 validation items and either early stopping is on
    (``patience > 0``; off by default, as in the paper) or ``select_every``
    > 0: then the validation MRR (``val_mrr``) is checked every
    ``select_every`` epochs and the best epoch's weights are kept.
    """
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    n = len(train[0])
    generator = torch.Generator().manual_seed(int(seed))
    loader = DataLoader(TensorDataset(*train), batch_size=min(batch_size, n), shuffle=True,
                        generator=generator, drop_last=_drops_last(n, batch_size))
    callbacks: list[Any] = []
    val_loader = None
    every = 1
    has_val = val is not None and len(val[0]) >= 2
    if has_val and (patience > 0 or select_every > 0):
        val_loader = DataLoader(TensorDataset(*val), batch_size=len(val[0]))
    if val_loader is not None and patience > 0:
        from lightning.pytorch.callbacks import EarlyStopping

        callbacks.append(EarlyStopping(monitor="val_loss", mode="min", patience=patience))
    if val_loader is not None and select_every > 0:
        from mer_bench.training.callbacks import RestoreBest

        every = int(select_every)
        callbacks.append(RestoreBest("val_mrr", mode="max"))
    trainer = ctx.make_trainer(max_epochs=int(epochs), callbacks=callbacks,
                               num_sanity_val_steps=0, check_val_every_n_epoch=every)
    with warnings.catch_warnings():  # validation is optional here by design
        warnings.filterwarnings("ignore", message=".*`validation_step` but have no")
        trainer.fit(module, train_dataloaders=loader, val_dataloaders=val_loader)
    return trainer


def _drops_last(n: int, batch_size: int) -> bool:
    """A last batch of a single item is dropped (the CCA loss needs two)."""
    return n % batch_size == 1 and n > 1


def smallest_batch(n: int, batch_size: int) -> int:
    """The fewest items an epoch of ``fit_module`` trains a step on: the last partial batch
    (n mod batch_size) unless ``_drops_last`` drops it, else a full batch."""
    size = min(int(batch_size), int(n))
    rest = int(n) % size
    return rest if rest and not _drops_last(int(n), int(batch_size)) else size


def batched(fn: Callable[..., Any], tensors: Sequence[torch.Tensor], batch_size: int) -> list[Any]:
    """``fn`` applied to consecutive slices of ``tensors`` (inference without autograd)."""
    import torch

    n = len(tensors[0])
    starts = range(0, n, max(1, batch_size))
    with torch.no_grad():
        return [fn(*(t[i:i + batch_size] for t in tensors)) for i in starts]
