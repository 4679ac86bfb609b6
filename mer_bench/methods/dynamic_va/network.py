"""The BiLSTM of ``dynamic-bilstm``: padded step sequences in, a (V, A) per step out.

Sequences of different lengths are padded to the batch's longest and packed
(``pack_padded_sequence``), so the backward direction starts at each track's
own last step, not in the padding; the loss is the MSE over real steps only.
"""

from __future__ import annotations

from collections.abc import Sequence

import lightning as L
import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence


class BiLSTMRegressor(nn.Module):
    """[B, T, D] padded steps and their lengths -> [B, T, n_outputs] (valence, arousal)."""

    def __init__(self, input_dim: int, hidden_size: int, num_layers: int, dropout: float,
                 n_outputs: int = 2) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_dim, hidden_size, num_layers=num_layers, batch_first=True,
                            bidirectional=True, dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(2 * hidden_size, n_outputs)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        hidden, _ = self.lstm(packed)
        hidden, _ = pad_packed_sequence(hidden, batch_first=True, total_length=x.shape[1])
        return self.out(self.dropout(hidden))


def collate(items: Sequence[tuple[torch.Tensor, torch.Tensor]]
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad a batch of (steps [T, D], curve [T, 2]): inputs, targets, lengths, mask [B, T]."""
    xs, ys = zip(*items, strict=True)
    lengths = torch.tensor([len(x) for x in xs])
    mask = torch.arange(int(lengths.max()))[None, :] < lengths[:, None]
    return pad_sequence(xs, batch_first=True), pad_sequence(ys, batch_first=True), lengths, mask


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the real (unpadded) steps and both dimensions."""
    return ((pred - target) ** 2)[mask].mean()


class SequenceRegression(L.LightningModule):
    """MSE training of a ``BiLSTMRegressor`` with Adam; logs train_loss and val_loss."""

    def __init__(self, net: BiLSTMRegressor, lr: float) -> None:
        super().__init__()
        self.net, self.lr = net, lr

    def _loss(self, batch: Sequence[torch.Tensor]) -> torch.Tensor:
        x, y, lengths, mask = batch
        return masked_mse(self.net(x, lengths), y, mask)

    def training_step(self, batch: Sequence[torch.Tensor], _: int) -> torch.Tensor:
        loss = self._loss(batch)
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=len(batch[0]))
        return loss

    def validation_step(self, batch: Sequence[torch.Tensor], _: int) -> None:
        self.log("val_loss", self._loss(batch), on_step=False, on_epoch=True,
                 batch_size=len(batch[0]))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr)


@torch.no_grad()
def predict_curves(net: BiLSTMRegressor, seqs: Sequence[np.ndarray], batch_size: int
                   ) -> list[np.ndarray]:
    """[T_i, 2] float64 per sequence, in order, in batches of ``batch_size``, on the
    network's device (a GPU when it is kept there), returned on the CPU."""
    net.eval()
    device = next(net.parameters()).device
    out: list[np.ndarray] = []
    for i in range(0, len(seqs), batch_size):
        chunk = [torch.from_numpy(s) for s in seqs[i:i + batch_size]]
        lengths = torch.tensor([len(s) for s in chunk])
        pred = net(pad_sequence(chunk, batch_first=True).to(device), lengths).cpu()
        out.extend(pred[j, :n].double().numpy() for j, n in enumerate(lengths.tolist()))
    return out
