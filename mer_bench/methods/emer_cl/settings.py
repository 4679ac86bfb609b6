"""What EMER-CL and its regression baselines share: the paper's layer sizes, the retrieval
directions, smoke sizes and the parameter checks."""

from __future__ import annotations

from typing import Any

from mer_bench.errors import ConfigError

DIRECTIONS = ("both", "m2e", "e2m")
PAPER_MLP_UNITS = (256, 512, 512, 1024, 1024)
PAPER_GRU_UNITS = (512, 512, 512, 1024, 1024)
SMOKE = {"mlp_units": (8, 8), "gru_units": (8, 8), "gru_hidden": 4, "epochs": 1,
         "batch_size": 16}


def check_choice(value: str, allowed: tuple[str, ...], what: str, method: str) -> None:
    """A clear error for a parameter outside its allowed values."""
    if value not in allowed:
        raise ConfigError(f"{method}: {what}={value!r} is not one of {list(allowed)}")


def check_positive(value: float, what: str, method: str, strict: bool = True) -> None:
    """A clear error for a size, rate or count that must be positive (or non-negative)."""
    if not (value > 0 if strict else value >= 0):
        raise ConfigError(f"{method}: {what} must be {'>' if strict else '>='} 0, got {value}")


def check_torch_training(owner: str, params: Any, unit_fields: tuple[str, ...]) -> None:
    """torch's own argument checks on what every tower trains with (Adam's rate, the
    loader's batch size, dropout), and at least one unit in every layer of ``unit_fields``."""
    from mer_bench.methods import param_checks

    param_checks.check_optimizer(owner, "adam", params.lr)
    param_checks.check_batch_size(owner, params.batch_size)
    param_checks.check_dropout(owner, params.dropout)
    for name in unit_fields:
        units = tuple(getattr(params, name))
        param_checks.check_at_least(owner, {f"{name}[{i}]": u for i, u in enumerate(units)})
