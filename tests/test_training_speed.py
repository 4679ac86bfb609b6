"""The training benchmark's probe: what it times, and that its plain loop really trains."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from benchmarks.bench_training_probe import Probe, loss_gap_bf16, plain_seconds, step_flops


class _Tiny(torch.nn.Module):
    """A stand-in LightningModule: ``training_step`` returning the loss, calling ``log``."""

    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Linear(8, 2)
        self.logged = 0

    def log(self, *args: Any, **kwargs: Any) -> None:  # a Trainer-less log raises in Lightning
        raise RuntimeError("no trainer")

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> torch.Tensor:
        x, y = batch
        loss = torch.nn.functional.cross_entropy(self.net(x), y)
        self.log("train_loss", loss)
        return loss


def _probe() -> Probe:
    torch.manual_seed(0)
    module = _Tiny()
    batch = (torch.randn(16, 8), torch.randint(0, 2, (16,)))
    return Probe(steps=[9.0, 0.5, 0.2, 0.3], module=module,
                 optimizer=torch.optim.SGD(module.parameters(), lr=0.1), batch=batch)


def test_suite_step_is_the_fastest_after_warmup() -> None:
    probe = _probe()
    assert probe.step_s(1) == 0.2
    assert probe.step_s(10) == 0.2  # fewer steps than the warm-up: all of them count
    assert math.isnan(Probe().step_s(1))


def test_plain_loop_trains_the_module_without_a_trainer() -> None:
    probe = _probe()
    before = probe.module.net.weight.detach().clone()
    seconds = plain_seconds(probe, steps=3, warmup=1)
    assert 0 < seconds < 1
    assert not torch.equal(before, probe.module.net.weight)  # the optimizer stepped
    with pytest.raises(RuntimeError, match="no trainer"):  # the module's own log is back
        probe.module.log("x", 1.0)


def test_step_flops_counts_forward_and_backward_matmuls() -> None:
    probe = _probe()
    # forward 2*16*8*2, backward as much again (the weight's gradient; the input needs none)
    assert step_flops(probe) == pytest.approx(2 * 2 * 16 * 8 * 2)
    assert probe.module.net.weight.grad is None


def test_bf16_loss_gap_is_small_for_a_linear_model() -> None:
    assert 0 <= loss_gap_bf16(_probe()) < 0.05
