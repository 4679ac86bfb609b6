"""Lightning callbacks shared by every neural method."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import lightning as L
import torch


class MetricsToTracker(L.Callback):
    """Forwards epoch-level logged values (losses, validation scores) to the run's tracker."""

    def __init__(self, log: Callable[[Mapping[str, float], int | None], None]) -> None:
        self._log = log

    # Once per epoch, at its very end: Lightning validates before ``on_train_epoch_end``,
    # so the epoch's training and validation values are both there (sending at
    # validation end too would log every value twice at the same step).
    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._send(trainer)

    def _send(self, trainer: L.Trainer) -> None:
        values = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
        if values:
            self._log(values, trainer.current_epoch)


class RestoreBest(L.Callback):
    """Keeps the weights of the best validation epoch and loads them when fitting ends.

    Lightning's ``EarlyStopping`` (like Keras' default) leaves the weights of
    the last epoch run, ``patience`` epochs past the best one. Ties keep the
    earlier epoch.
    """

    def __init__(self, monitor: str, mode: str = "max") -> None:
        self.monitor, self.sign = monitor, (1.0 if mode == "max" else -1.0)
        self.best: float | None = None
        self.state: dict[str, torch.Tensor] | None = None

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        value = trainer.callback_metrics.get(self.monitor)
        if trainer.sanity_checking or value is None:
            return
        score = self.sign * float(value)
        if self.best is None or score > self.best:
            self.best = score
            self.state = {k: v.detach().clone() for k, v in module.state_dict().items()}

    def on_fit_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if self.state is not None:
            module.load_state_dict(self.state)
