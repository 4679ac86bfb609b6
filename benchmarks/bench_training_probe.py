"""Timing one method's training step two ways: through its ``fit``, and in a plain loop.

The suite side runs the method's own ``fit`` with the shared ``make_trainer``
and a callback that times every training step (from the previous step's end,
or the epoch's start, to this step's end: data loading, collation and every
Lightning hook are inside) and stops the fit once enough steps are timed.
Earlier Trainer stages (an auto-encoder before the timed classifier) run one
step each. The callback keeps the module, the optimizer Lightning built and
one batch; the plain side then times ``loss.backward(); opt.step()`` of the
module's own ``training_step`` (its loss) on that batch in a bare loop.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class _Enough(Exception):
    """Raised from the timing callback once the timed steps are done."""


@dataclass
class Probe:
    """What the suite's fit showed: step times, and the module, optimizer and a batch."""

    steps: list[float] = field(default_factory=list)
    module: Any = None
    optimizer: Any = None
    batch: Any = None
    precision: str = "32-true"

    def step_s(self, warmup: int) -> float:
        """Fastest step after ``warmup`` steps (all steps when there are no more): on a
        shared machine the least disturbed step is the one that says what the code costs."""
        timed = self.steps[warmup:] or self.steps
        return min(timed) if timed else float("nan")


def _timer(probe: Probe, total: int) -> Any:
    from lightning.pytorch.callbacks import Callback

    class StepTimer(Callback):  # type: ignore[misc]
        def __init__(self) -> None:
            self.last = 0.0

        def on_train_epoch_start(self, trainer: Any, module: Any) -> None:
            self.last = time.perf_counter()

        def on_train_batch_start(self, trainer: Any, module: Any, batch: Any, i: int) -> None:
            if probe.batch is None:
                probe.batch = batch

        def on_train_batch_end(self, trainer: Any, module: Any, *args: Any) -> None:
            now = time.perf_counter()
            probe.steps.append(now - self.last)
            self.last = now
            probe.module, probe.optimizer = module, trainer.optimizers[0]
            if len(probe.steps) >= total:
                raise _Enough

    return StepTimer()


def suite_probe(cls: Any, params: Any, train: Any, val: Any, stage: int, total: int,
                precision: str | None = None) -> Probe:
    """Fit ``cls(params)`` through the shared Trainer until ``total`` steps of ``stage`` ran."""
    from mer_bench.methods import FitContext
    from mer_bench.runs.folds import seed_everything
    from mer_bench.training import TrainerSettings, make_trainer

    probe = Probe(precision=precision or "32-true")
    settings = TrainerSettings(accelerator="cpu", precision=precision)
    out = Path(tempfile.mkdtemp(prefix="mer-bench-train-"))
    built = [0]

    def build(**overrides: Any) -> Any:
        index, built[0] = built[0], built[0] + 1
        if index < stage:  # an earlier stage: one step, then on to the timed one
            overrides.update(max_epochs=1, limit_train_batches=1, limit_val_batches=1)
        elif index == stage:
            overrides["callbacks"] = [*overrides.get("callbacks", []), _timer(probe, total)]
        return make_trainer(settings, out, **overrides)

    seed_everything(0)
    ctx = FitContext(seed=0, out_dir=out, make_trainer=build)
    with contextlib.suppress(_Enough):
        cls(params, seed=0).fit(train, val, ctx)
    return probe


def _loss(out: Any) -> Any:
    return out["loss"] if isinstance(out, dict) else out


@contextlib.contextmanager
def _no_logging(module: Any) -> Any:
    """``self.log`` needs a running Trainer; the plain loop has none."""
    module.log = module.log_dict = lambda *a, **k: None
    try:
        yield
    finally:
        del module.log, module.log_dict


def plain_step(module: Any, optimizer: Any, batch: Any, bf16: bool = False,
               step_fn: Any = None) -> Any:
    """One bare optimisation step of ``module``'s training loss on ``batch``."""
    import torch

    step = step_fn or module.training_step
    optimizer.zero_grad(set_to_none=True)
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    with ctx:
        loss = _loss(step(batch, 0))
    loss.backward()
    optimizer.step()
    return loss


def plain_seconds(probe: Probe, steps: int, warmup: int, bf16: bool = False,
                  compiled: bool = False) -> float:
    """Seconds of the fastest plain step (after ``warmup`` untimed steps)."""
    import torch

    module = probe.module
    module.train()
    step_fn = None
    if compiled:
        step_fn = torch.compile(module.training_step)
    times = []
    with _no_logging(module):
        for i in range(warmup + steps):
            start = time.perf_counter()
            plain_step(module, probe.optimizer, probe.batch, bf16, step_fn)
            if i >= warmup:
                times.append(time.perf_counter() - start)
    return min(times)


def step_flops(probe: Probe) -> float:
    """FLOPs of one forward + backward of the training loss (matmuls and convolutions)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    module = probe.module
    with _no_logging(module), counter:
        _loss(module.training_step(probe.batch, 0)).backward()
    module.zero_grad(set_to_none=True)
    return float(counter.get_total_flops())


def loss_gap_bf16(probe: Probe) -> float:
    """|loss(bf16 autocast) - loss(fp32)| / |loss(fp32)| at the same weights and batch.

    Dropout is switched off (eval mode) so the two passes see the same network.
    """
    import torch

    module = probe.module
    module.eval()
    with _no_logging(module), torch.no_grad():
        torch.manual_seed(0)
        full = float(_loss(module.training_step(probe.batch, 0)))
        torch.manual_seed(0)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            half = float(_loss(module.training_step(probe.batch, 0)))
    module.train()
    return abs(half - full) / max(abs(full), 1e-12)


def matmul_peak_flops(n: int = 2048, repeat: int = 5) -> float:
    """FLOP/s of the best of ``repeat`` fp32 ``n`` x ``n`` matrix multiplies here."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2.0 * n**3 / best
