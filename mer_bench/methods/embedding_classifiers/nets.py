"""The paper's three networks as plain torch modules: MLP, 1-D CNN, LSTM RNN.

Each maps its input to ``out_dim`` raw outputs: class logits (the softmax is
in the cross-entropy loss and in ``predict``) or V/A values for regression.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class Mlp(nn.Module):
    """``layers`` hidden ReLU layers (paper: 512 units; one or two, see ``mlp_layers``)
    and a linear output layer."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int, layers: int = 1) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        for i in range(layers):
            blocks += [nn.Linear(in_dim if i == 0 else hidden, hidden), nn.ReLU()]
        self.layers = nn.Sequential(*blocks, nn.Linear(hidden, out_dim))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.layers(x)


class Cnn1d(nn.Module):
    """Conv1d -> ReLU layers, then one MaxPool1d, over the clip vector as a 1-channel signal.

    Paper: "four 1D convolution layers and a 1D max-pooling operation layer", 64
    filters each. ``pool_every`` puts a max-pool after every conv instead.
    ``same`` padding and ``ceil_mode`` pooling keep every output at least one
    sample long, so any embedding width works; the flattened maps feed one
    linear output layer.
    """

    def __init__(self, in_dim: int, out_dim: int, layers: int, filters: int, kernel: int,
                 pool: int, pool_every: bool = False) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        channels = 1
        for i in range(layers):
            blocks += [nn.Conv1d(channels, filters, kernel, padding=kernel // 2), nn.ReLU()]
            if pool_every or i == layers - 1:
                blocks.append(nn.MaxPool1d(pool, ceil_mode=True))
            channels = filters
        self.features = nn.Sequential(*blocks)
        with torch.no_grad():
            flat = self.features(torch.zeros(1, 1, in_dim)).numel()
        self.head = nn.Linear(flat, out_dim)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.features(x.unsqueeze(1)).flatten(1))


class LstmNet(nn.Module):
    """LSTM over frame sequences and a linear layer: on the last valid step's hidden state,
    or (``pointwise``) on every step.

    Padded batches are packed with their true lengths, so padding never
    reaches the recurrence and a clip's output does not depend on its batch.
    Point-wise, ``steps`` gives every valid step's outputs (the loss scores each
    step against the clip's label) and ``forward`` their mean over the clip: for
    a classifier the log of the steps' mean softmax probabilities, so a softmax
    of it is that mean; for tagging (``multilabel``) the logit of the steps' mean
    sigmoid probabilities, so a sigmoid of it is that mean.
    """

    def __init__(self, in_dim: int, out_dim: int, hidden: int, layers: int,
                 pointwise: bool = False, classify: bool = True,
                 multilabel: bool = False) -> None:
        super().__init__()
        self.lstm = nn.LSTM(in_dim, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, out_dim)
        self.pointwise = pointwise
        self.classify = classify
        self.multilabel = multilabel

    def _packed(self, x: torch.Tensor, lengths: torch.Tensor | None) -> Any:
        if lengths is None:
            lengths = torch.full((x.shape[0],), x.shape[1], dtype=torch.int64)
        return pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)

    def steps(self, x: torch.Tensor, lengths: torch.Tensor | None = None
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-step outputs [B, T, out_dim] and the mask of valid steps [B, T]."""
        out, _ = self.lstm(self._packed(x, lengths))
        out, valid = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        mask = torch.arange(x.shape[1])[None, :] < valid[:, None]
        return self.head(out), mask.to(x.device)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if not self.pointwise:
            _, (h_n, _) = self.lstm(self._packed(x, lengths))
            return self.head(h_n[-1])
        out, mask = self.steps(x, lengths)
        weights = (mask / mask.sum(dim=1, keepdim=True)).unsqueeze(-1)  # mean over valid steps
        if self.multilabel:
            mean = (out.sigmoid() * weights).sum(dim=1).clamp(1e-7, 1 - 1e-7)
            return torch.log(mean) - torch.log1p(-mean)
        if not self.classify:
            return (out * weights).sum(dim=1)
        return torch.log((out.softmax(dim=-1) * weights).sum(dim=1).clamp_min(1e-12))


def pad_batch(sequences: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-padded [B, T_max, D] and the true lengths [B] (the mask the LSTM packs by)."""
    lengths = torch.tensor([s.shape[0] for s in sequences], dtype=torch.int64)
    padded = nn.utils.rnn.pad_sequence(sequences, batch_first=True)
    return padded, lengths
