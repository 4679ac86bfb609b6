"""EMER-CL encoders: an MLP on the frame mean, and a masked bidirectional GRU.

Both end in the paper's fully connected stack: softplus after every layer,
dropout between layers (not after the GRU and not after the last layer).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from mer_bench.errors import ConfigError

ENCODERS = ("mlp", "bigru")
INITS = ("glorot", "torch")


def init_weights(module: nn.Module, scheme: str) -> nn.Module:
    """``glorot``: Keras' defaults, as in the authors' TensorFlow code (Glorot-uniform
    kernels, orthogonal recurrent kernels per gate, zero biases); ``torch``: PyTorch's.

    Why it matters: with PyTorch's default Linear init the five softplus layers
    shrink the embeddings' spread below the CCA ridge, so training starts
    from near-zero correlations and barely moves them.
    """
    if scheme == "torch":
        return module
    if scheme != "glorot":
        raise ConfigError(f"unknown init {scheme!r}; use one of {INITS}")
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.GRU):
            for name, p in m.named_parameters():
                if name.startswith("weight_ih"):
                    for gate in p.data.chunk(3, 0):
                        nn.init.xavier_uniform_(gate)
                elif name.startswith("weight_hh"):
                    for gate in p.data.chunk(3, 0):
                        nn.init.orthogonal_(gate)
                else:
                    nn.init.zeros_(p)
    return module


DROPOUT_RULES = ("between", "wide")
WIDE_UNITS = 256  # Appendix C: dropout only on FC layers of 256 or 512 units


def fc_stack(in_dim: int, units: Sequence[int], dropout: float,
             rule: str = "between") -> nn.Sequential:
    """Linear + softplus layers. ``between``: dropout between layers (none after the last),
    EMER-CL's encoders; ``wide``: dropout after each layer of 256 units or more, the
    regression baselines of Appendix C."""
    if rule not in DROPOUT_RULES:
        raise ConfigError(f"unknown dropout rule {rule!r}; use one of {DROPOUT_RULES}")
    layers: list[nn.Module] = []
    previous = in_dim
    for k, width in enumerate(units):
        if rule == "between" and k > 0 and dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [nn.Linear(previous, int(width)), nn.Softplus()]
        if rule == "wide" and dropout > 0 and int(width) >= WIDE_UNITS:
            layers.append(nn.Dropout(dropout))
        previous = int(width)
    return nn.Sequential(*layers)


class MLPEncoder(nn.Module):
    """Mean of the valid frames, then the FC stack (paper: 256, 512, 512, 1024, 1024)."""

    def __init__(self, in_dim: int, units: Sequence[int], dropout: float,
                 rule: str = "between") -> None:
        super().__init__()
        self.fc = fc_stack(in_dim, units, dropout, rule)
        self.out_dim = int(units[-1]) if units else in_dim

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``x`` [B, T, D] zero-padded after ``lengths`` [B] frames (or [B, D] already pooled)."""
        if x.ndim == 3:
            mask = (torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None])
            summed = (x * mask[..., None].to(x.dtype)).sum(dim=1)
            x = summed / lengths.clamp_min(1)[:, None].to(x.dtype)
        return self.fc(x)


class BiGRUEncoder(nn.Module):
    """One bidirectional GRU layer, then the FC stack (paper: 512, 512, 512, 1024, 1024).

    The clip vector concatenates the forward state after each sequence's own
    last valid frame and the backward state at its first frame (the GRU runs
    on packed sequences, so padding never enters either direction).
    """

    def __init__(self, in_dim: int, hidden: int, units: Sequence[int], dropout: float,
                 rule: str = "between") -> None:
        super().__init__()
        self.gru = nn.GRU(in_dim, hidden, batch_first=True, bidirectional=True)
        self.fc = fc_stack(2 * hidden, units, dropout, rule)
        self.out_dim = int(units[-1]) if units else 2 * hidden

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if x.ndim == 2:  # one frame per item
            x = x[:, None, :]
        packed = nn.utils.rnn.pack_padded_sequence(
            x, lengths.clamp_min(1).cpu(), batch_first=True, enforce_sorted=False
        )
        _, h = self.gru(packed)  # [2, B, H]: forward final, backward final (= first frame)
        return self.fc(torch.cat([h[0], h[1]], dim=1))


def make_encoder(kind: str, in_dim: int, units: Sequence[int], hidden: int,
                 dropout: float, rule: str = "between") -> nn.Module:
    if kind == "mlp":
        return MLPEncoder(in_dim, units, dropout, rule)
    if kind == "bigru":
        return BiGRUEncoder(in_dim, hidden, units, dropout, rule)
    raise ConfigError(f"unknown encoder {kind!r}; use one of {ENCODERS}")
