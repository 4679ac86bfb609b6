"""Parameter checks that defer to the libraries a method builds on.

A value scikit-learn or torch would refuse only once a run has started (after
features are extracted, inside the first fit) is refused here instead, before
anything runs, by the library's own rule and under our parameter's name, so
the error is one line that says which ``--set`` to change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mer_bench.errors import ConfigError


def check_estimator(owner: str, estimator: Any, names: Mapping[str, str]) -> None:
    """Validate a scikit-learn ``estimator`` against its own ``_parameter_constraints``.

    ``names`` maps our parameter names to the estimator's (``{"svm_C": "C"}``): each
    is checked alone so the error names the parameter the user set; the estimator's
    whole ``_validate_params`` runs last for anything we did not map.
    """
    from sklearn.utils._param_validation import (
        InvalidParameterError,
        validate_parameter_constraints,
    )

    caller = type(estimator).__name__
    constraints = getattr(type(estimator), "_parameter_constraints", {})
    values = estimator.get_params(deep=False)
    for ours, theirs in names.items():
        if theirs not in constraints:
            continue
        try:
            validate_parameter_constraints(
                {theirs: constraints[theirs]}, {theirs: values[theirs]}, caller_name=caller
            )
        except InvalidParameterError as exc:
            raise ConfigError(
                f"{owner}: {ours}={values[theirs]!r} is refused by scikit-learn ({exc}); "
                f"set {ours} to a value {caller} accepts"
            ) from None
    try:
        estimator._validate_params()
    except InvalidParameterError as exc:
        raise ConfigError(f"{owner}: scikit-learn refuses the {caller} this method would "
                          f"build: {exc}") from None


def check_library(owner: str, values: Mapping[str, Any], build: Callable[[], Any],
                  library: str = "torch") -> None:
    """Run ``build`` (a cheap constructor that checks its arguments) and name ``values``
    when it refuses them: torch's optimisers, layers and loaders raise ValueError."""
    try:
        build()
    except (ValueError, TypeError, RuntimeError) as exc:
        shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
        raise ConfigError(f"{owner}: {shown} refused by {library} ({exc}); change "
                          f"{' or '.join(values)}") from None


def check_optimizer(owner: str, kind: str, lr: float, weight_decay: float = 0.0,
                    momentum: float | None = None, prefix: str = "") -> None:
    """Build the torch optimiser (``adam`` or ``sgd``) on one dummy weight, once per value,
    so its own argument checks (rate, momentum, weight decay >= 0) name the one refused."""
    import torch

    weight = [torch.nn.Parameter(torch.zeros(1))]
    optimizer = torch.optim.SGD if kind == "sgd" else torch.optim.Adam
    checks = [(f"{prefix}lr", lr, {"lr": lr}),
              ("weight_decay", weight_decay, {"lr": 1.0, "weight_decay": weight_decay})]
    if kind == "sgd":
        checks.append(("momentum", momentum, {"lr": 1.0, "momentum": momentum or 0.0}))
    for name, value, kwargs in checks:
        check_library(owner, {name: value}, lambda kw=kwargs: optimizer(weight, **kw),
                      f"torch.optim.{optimizer.__name__}")
    if not lr > 0:  # torch accepts 0, which trains nothing
        raise ConfigError(f"{owner}: {prefix}lr must be > 0, got {lr!r}")


def check_batch_size(owner: str, value: Any, name: str = "batch_size") -> None:
    """torch's DataLoader rule: a positive integer."""
    from torch.utils.data import DataLoader

    check_library(owner, {name: value}, lambda: DataLoader(range(1), batch_size=value))


def check_dropout(owner: str, value: Any, name: str = "dropout") -> None:
    """torch's Dropout rule: a probability in [0, 1]; 1 would zero every unit, so < 1."""
    import torch

    check_library(owner, {name: value}, lambda: torch.nn.Dropout(value))
    if value >= 1:
        raise ConfigError(f"{owner}: {name} must be < 1 (1 drops every unit), got {value!r}")


def check_at_least(owner: str, values: Mapping[str, Any], low: float = 1) -> None:
    """Domain rule for sizes and counts the Params document: at least ``low``."""
    for name, value in values.items():
        if not value >= low:
            raise ConfigError(f"{owner}: {name} must be >= {low:g}, got {value!r}")
