"""Lightning callbacks shared by every neural method."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

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


class EpochProgress(L.Callback):
    """Epoch, loss and ETA of one fold's training, so a long fit is never silent.

    On a terminal one status line is rewritten in place; otherwise (logs, CI) one
    line is printed per block of epochs (about ten lines per fit, at most one
    every ``min_interval_s`` apart from the last).
    """

    def __init__(self, label: str, stream: Any = None, min_interval_s: float = 10.0) -> None:
        self.label, self.stream, self.min_interval_s = label, stream, min_interval_s
        self._start = self._last = 0.0

    def _out(self) -> Any:
        return self.stream if self.stream is not None else sys.stderr

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.monotonic()
        self._last = -math.inf

    def line(self, trainer: L.Trainer) -> str:
        """``label · epoch e/E · loss x · ETA s`` from the trainer's state."""
        epoch = trainer.current_epoch + 1
        total = trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else None
        parts = [self.label, f"epoch {epoch}/{total}" if total else f"epoch {epoch}"]
        losses = {k: float(v) for k, v in trainer.callback_metrics.items()
                  if "loss" in k and v.numel() == 1}
        for key in sorted(losses)[:2]:
            parts.append(f"{key} {losses[key]:.4f}")
        elapsed = time.monotonic() - self._start
        if total:
            eta = elapsed / epoch * (total - epoch)
            parts.append(f"ETA {_duration(eta)}" + (" (at most)" if epoch < total else ""))
        parts.append(f"{_duration(elapsed)} so far")
        return " · ".join(parts)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        out = self._out()
        text = self.line(trainer)
        if _is_terminal(out):
            out.write("\r\x1b[2K" + text)
            out.flush()
            return
        epoch = trainer.current_epoch + 1
        total = trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else 0
        block = max(1, math.ceil(total / 10)) if total else 10
        now = time.monotonic()
        last = total and epoch >= total
        if (epoch % block == 0 or epoch == 1 or last) and (
            last or now - self._last >= self.min_interval_s or epoch == 1
        ):
            self._last = now
            print(text, file=out, flush=True)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        out = self._out()
        if _is_terminal(out):  # the fit's last state stays on screen as its summary
            out.write("\n")
            out.flush()


def _is_terminal(stream: Any) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"
