"""Lightning callbacks shared by every neural method."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import lightning as L


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
