"""Lightning training of the networks through the run's shared trainer factory."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import EarlyStopping
from torch import nn
from torch.utils.data import DataLoader, Dataset

from mer_bench.methods.embedding_classifiers.nets import pad_batch

PREDICT_BATCH = 256


class EmbeddingNetModule(L.LightningModule):
    """Wraps a network with the paper's loss and optimiser: Adam, cross-entropy (or MSE;
    for tagging one sigmoid per tag, binary cross-entropy on the 0/1 tag targets)."""

    def __init__(self, net: nn.Module, regression: bool, lr: float,
                 tagging: bool = False) -> None:
        super().__init__()
        self.net = net
        self.regression = regression
        self.tagging = tagging
        self.lr = lr
        self.loss_fn: nn.Module = (nn.MSELoss() if regression else
                                   nn.BCEWithLogitsLoss() if tagging else nn.CrossEntropyLoss())

    @property
    def float_targets(self) -> bool:
        """Regression values and tag vectors are float; class indices are int."""
        return self.regression or self.tagging

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x, lengths)

    def transfer_batch_to_device(self, batch: Any, device: torch.device, _: int) -> Any:
        """A batch is a flat tuple of tensors: moved one by one. Lightning's generic
        walk over collections cost the MLP's 2 ms steps about 0.7 ms each."""
        return tuple(t.to(device) for t in batch)

    def _loss(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, int]:
        x, lengths, y = batch
        if getattr(self.net, "pointwise", False):  # every valid step scored against y
            steps, mask = self.net.steps(x, lengths)
            per_clip = mask.sum(dim=1)
            return self.loss_fn(steps[mask], y.repeat_interleave(per_clip, dim=0)), x.shape[0]
        return self.loss_fn(self(x, lengths), y), x.shape[0]

    def training_step(self, batch: tuple[torch.Tensor, ...], _: int) -> torch.Tensor:
        loss, n = self._loss(batch)
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=n)
        return loss

    def on_validation_epoch_start(self) -> None:
        self._val_outputs: list[tuple[torch.Tensor, torch.Tensor]] = []

    def validation_step(self, batch: tuple[torch.Tensor, ...], _: int) -> None:
        loss, n = self._loss(batch)
        self.log("val_loss", loss, on_step=False, on_epoch=True, batch_size=n)
        x, lengths, y = batch
        self._val_outputs.append((self(x, lengths).detach(), y))

    def on_validation_epoch_end(self) -> None:
        """``val_score`` over the whole validation part: accuracy, the mean r² of the
        outputs for regression, or macro PR-AUC for tagging (what ``stop_on="score"``
        watches)."""
        if not getattr(self, "_val_outputs", None):
            return
        out = torch.cat([o for o, _ in self._val_outputs])
        y = torch.cat([t for _, t in self._val_outputs])
        self._val_outputs = []
        self.log("val_score", validation_score(out, y, self.regression, self.tagging))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr)


def validation_score(out: torch.Tensor, y: torch.Tensor, regression: bool,
                     tagging: bool = False) -> torch.Tensor:
    """Accuracy of the logits, the mean over outputs of r² (1 - SSE / SST; SST 0 counts 0),
    or for tagging the tagging primary metric, macro PR-AUC over the tags with both a
    positive and a negative in the validation part (0 when none has)."""
    if tagging:
        return torch.tensor(macro_pr_auc(y.cpu().numpy(), out.float().cpu().numpy()),
                            dtype=torch.float32)
    if not regression:
        return (out.argmax(dim=1) == y).float().mean()
    sse = ((out - y) ** 2).sum(dim=0)
    sst = ((y - y.mean(dim=0)) ** 2).sum(dim=0)
    r2 = torch.where(sst > 0, 1 - sse / sst.clamp_min(1e-12), torch.zeros_like(sst))
    return r2.mean()


def macro_pr_auc(truth: np.ndarray, scores: np.ndarray) -> float:
    """Mean average precision over the tags whose 0/1 truth column is not constant."""
    from sklearn.metrics import average_precision_score

    values = [float(average_precision_score(truth[:, t], scores[:, t]))
              for t in range(truth.shape[1]) if 0 < truth[:, t].sum() < len(truth)]
    return float(np.mean(values)) if values else 0.0


class BestWeights(L.Callback):
    """Remembers the weights of the epoch with the best ``monitor`` value: the lowest
    ``val_loss`` or the highest ``val_score`` (in memory, no files). Ties keep the first."""

    def __init__(self, monitor: str = "val_loss") -> None:
        self.monitor = monitor
        self.sign = 1.0 if monitor == "val_loss" else -1.0  # minimise sign * value
        self.best_loss = float("inf")  # the best value, signed (score: its negative)
        self.best_epoch = -1
        self.state: dict[str, torch.Tensor] | None = None

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        loss = self.sign * float(trainer.callback_metrics[self.monitor])
        if loss < self.best_loss:
            self.best_loss, self.best_epoch = loss, trainer.current_epoch
            self.state = {k: v.detach().cpu().clone() for k, v in pl_module.state_dict().items()}


class _Examples(Dataset):
    """(input, target) pairs; inputs are clip vectors [D] or frame sequences [T, D].

    Clip vectors are kept stacked [N, D] and a batch is gathered in one indexing
    (``__getitems__``, which the DataLoader calls with a batch's indices): the same
    rows in the same order as stacking them one by one, without a Python loop over
    the batch (for the MLP's 2 ms steps that loop was a third of each step).
    """

    def __init__(self, inputs: Sequence[np.ndarray], targets: np.ndarray) -> None:
        self.inputs = [torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)) for a in inputs]
        self.targets = torch.from_numpy(targets)
        vectors = len(self.inputs) > 0 and all(a.ndim == 1 for a in self.inputs)
        self.stacked = torch.stack(self.inputs) if vectors else None

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.inputs[i], self.targets[i]

    def __getitems__(self, indices: list[int]) -> Any:
        if self.stacked is None:
            return [self[i] for i in indices]
        index = torch.as_tensor(indices, dtype=torch.int64)
        x = self.stacked[index]
        return (x, torch.ones(len(indices), dtype=torch.int64), self.targets[index])


def _collate(items: Any) -> tuple[torch.Tensor, ...]:
    if isinstance(items, tuple):  # a batch gathered at once (``_Examples.__getitems__``)
        return items
    xs, ys = zip(*items, strict=True)
    if xs[0].ndim == 2:
        x, lengths = pad_batch(list(xs))
    else:
        x, lengths = torch.stack(xs), torch.full((len(xs),), 1, dtype=torch.int64)
    return x, lengths, torch.stack(ys)


def _targets(y: np.ndarray, floats: bool) -> np.ndarray:
    return y.astype(np.float32) if floats else y.astype(np.int64)


def train_network(
    module: EmbeddingNetModule,
    train: tuple[Sequence[np.ndarray], np.ndarray],
    val: tuple[Sequence[np.ndarray], np.ndarray],
    *,
    make_trainer: Callable[..., Any],
    batch_size: int,
    max_epochs: int,
    patience: int,
    restore_best: bool,
    seed: int,
    early_stopping: bool = True,
    monitor: str = "val_loss",
) -> dict[str, float]:
    """Fit with early stopping on ``monitor`` (``val_loss``, lower is better, or
    ``val_score``, higher is better), or for all ``max_epochs`` when ``early_stopping``
    is False, keeping the last epoch; returns a summary to log."""
    floats = module.float_targets
    generator = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(_Examples(train[0], _targets(train[1], floats)),
                              batch_size=batch_size, shuffle=True, generator=generator,
                              collate_fn=_collate)
    if not early_stopping:
        trainer = make_trainer(max_epochs=max_epochs, num_sanity_val_steps=0,
                               limit_val_batches=0,
                               log_every_n_steps=max(1, min(50, len(train_loader))))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*does not have many workers.*")
            warnings.filterwarnings("ignore", message=".*smaller than the logging interval.*")
            trainer.fit(module, train_loader)
        return {"epochs_trained": float(trainer.current_epoch)}
    val_loader = DataLoader(_Examples(val[0], _targets(val[1], floats)),
                            batch_size=PREDICT_BATCH, collate_fn=_collate)
    best = BestWeights(monitor)
    mode = "min" if monitor == "val_loss" else "max"
    stopper = EarlyStopping(monitor=monitor, mode=mode, patience=patience)
    trainer = make_trainer(
        max_epochs=max_epochs, callbacks=[stopper, best], num_sanity_val_steps=0,
        log_every_n_steps=max(1, min(50, len(train_loader))),
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*smaller than the logging interval.*")
        trainer.fit(module, train_loader, val_loader)
    if restore_best and best.state is not None:
        module.load_state_dict(best.state)
    best_value = ({"best_val_loss": best.best_loss} if monitor == "val_loss"
                  else {"best_val_score": -best.best_loss})
    return {"epochs_trained": float(trainer.current_epoch), **best_value,
            "best_epoch": float(best.best_epoch)}


@torch.no_grad()
def network_outputs(module: EmbeddingNetModule, inputs: Sequence[np.ndarray]) -> np.ndarray:
    """Raw outputs [N, out_dim] in the module's own device, batch by batch, in eval mode."""
    module.eval()
    device = next(module.parameters()).device
    dummy = np.zeros(len(inputs), dtype=np.int64)
    loader = DataLoader(_Examples(inputs, dummy), batch_size=PREDICT_BATCH, collate_fn=_collate)
    outs = [module(x.to(device), lengths).float().cpu() for x, lengths, _ in loader]
    return torch.cat(outs).numpy() if outs else np.zeros((0, 0), np.float32)
