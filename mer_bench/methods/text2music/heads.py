"""The MLP that ends every branch (text, music, tag), and the multi-head classifier's trunk."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn


def projection(in_dim: int, out_dim: int, hidden: int = 128, dropout: float = 0.5) -> nn.Sequential:
    """Linear -> BatchNorm -> ReLU -> dropout -> Linear (the authors' projection, 128 -> 64)."""
    from torch import nn

    return nn.Sequential(
        nn.Linear(in_dim, hidden),
        nn.BatchNorm1d(hidden),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, out_dim),
    )


def trunk(in_dim: int, hidden: int, n_hidden: int, dropout: float) -> nn.Sequential:
    """``n_hidden`` shared Linear-BatchNorm-ReLU-dropout layers (multi-head classification)."""
    from torch import nn

    layers: list[nn.Module] = []
    width = in_dim
    for _ in range(n_hidden):
        layers += [nn.Linear(width, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(dropout)]
        width = hidden
    return nn.Sequential(*layers)
