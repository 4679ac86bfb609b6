"""The one place Lightning Trainers are built, so every neural method runs the same way.

``accelerator="auto"`` picks a GPU when there is one and the CPU otherwise;
tests force the CPU and ``fast_dev_run``. Methods receive ``make_trainer``
through their ``FitContext`` and pass only what is theirs (epochs, callbacks).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class TrainerSettings:
    """Run-wide Trainer settings (not part of a run's config hash)."""

    accelerator: str = "auto"
    devices: int | str = "auto"
    precision: str | None = None
    strategy: str = "auto"  # e.g. "ddp" on a multi-GPU machine
    num_nodes: int = 1
    fast_dev_run: bool = False
    progress_bar: bool = False
    max_epochs_cap: int | None = None  # smoke runs: no method trains longer than this


def make_trainer(
    settings: TrainerSettings,
    out_dir: Path,
    log_metrics: Callable[[Mapping[str, float], int | None], None] | None = None,
    progress_label: str | None = None,
    **overrides: Any,
) -> Any:
    """A ``lightning.Trainer`` with the run's settings plus the method's ``overrides``.

    ``progress_label`` (e.g. the run and fold k/K) turns on mer-bench's epoch
    progress lines unless Lightning's own bar is asked for.
    """
    import logging

    import lightning as L

    from mer_bench.noise import silence_third_party

    silence_third_party()
    # methods define validation_step for when the protocol gives a validation part; when it
    # was merged into training there is none, by design: Lightning's notice would repeat
    # once per fold
    warnings.filterwarnings("ignore", message=r".*`validation_step` but have no `val_dataloader`")

    # "GPU available: False ..." once per fold drowns the bench log: keep warnings only
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.pytorch.accelerators.cuda"):
        logging.getLogger(name).setLevel(logging.WARNING)

    from mer_bench.training.callbacks import EpochProgress, MetricsToTracker

    callbacks = list(overrides.pop("callbacks", []))
    if log_metrics is not None:
        callbacks.append(MetricsToTracker(log_metrics))
    if progress_label and not settings.progress_bar:
        callbacks.append(EpochProgress(progress_label))
    max_epochs = overrides.pop("max_epochs", None)
    if settings.max_epochs_cap is not None:
        max_epochs = min(max_epochs or settings.max_epochs_cap, settings.max_epochs_cap)
    kwargs: dict[str, Any] = {
        "accelerator": settings.accelerator,
        "devices": settings.devices,
        "strategy": settings.strategy,
        "num_nodes": settings.num_nodes,
        "fast_dev_run": settings.fast_dev_run,
        "enable_progress_bar": settings.progress_bar,
        "enable_model_summary": False,
        "enable_checkpointing": False,
        "logger": False,
        "deterministic": "warn",
        "default_root_dir": str(out_dir),
        "callbacks": callbacks,
        "max_epochs": max_epochs,
    }
    if settings.precision:
        kwargs["precision"] = settings.precision
    kwargs.update(overrides)
    return L.Trainer(**kwargs)
