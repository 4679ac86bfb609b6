"""Stage 2: a BiLSTM over a clip's sequence of segment embeddings, and the end-to-end baseline.

A segment's embedding is its encoder output flattened (C4 x 27 x 16 values;
13,824 with the paper's widths), as a Keras ``TimeDistributed(Flatten)``
would give. The head is a bidirectional LSTM (512 units per direction) whose
last forward and backward states are concatenated, dropout 0.5, and a dense
softmax layer; the loss is categorical cross-entropy (Adam 1e-5, batch 10 in
the paper).

``FrozenEncoderClassifier`` (two-stage) holds the stage-1 encoder with every
weight frozen and trains only the head; since a frozen encoder without
dropout or batch norm is a fixed function, the embeddings are computed once
(``embed``) and the head trains on them, which gives the same model as
re-encoding every epoch. ``EndToEndClassifier`` (the paper's CNN+BiLSTM
baseline) trains the same encoder and head jointly from spectrogram segments.
"""

from __future__ import annotations

from collections.abc import Sequence

import lightning as L
import torch
from torch import nn

from mer_bench.methods.ae_bilstm.autoencoder import Encoder, l2_term

EMBED_BATCH = 64  # segments per encoder call when embedding


class BiLSTMHead(nn.Module):
    """[B, S, D] segment embeddings -> [B, n_classes] logits."""

    def __init__(self, input_dim: int, n_classes: int, units: int = 512, dropout: float = 0.5
                 ) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_dim, units, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(2 * units, n_classes)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        _, (h_n, _) = self.lstm(seq)  # h_n: [2, B, units], forward then backward
        last = torch.cat([h_n[0], h_n[1]], dim=-1)
        return self.out(self.dropout(last))


def encode_segments(encoder: Encoder, segments: torch.Tensor) -> torch.Tensor:
    """[B, S, T, F] log-mels -> [B, S, D] flattened encoder outputs (differentiable)."""
    b, s = segments.shape[:2]
    z = encoder(segments.reshape(b * s, 1, *segments.shape[2:]))
    return z.reshape(b, s, -1)


class _ClassifierBase(L.LightningModule):
    """Cross-entropy training and validation accuracy shared by both classifiers."""

    def __init__(self, lr: float) -> None:
        super().__init__()
        self.lr = lr

    def training_step(self, batch: Sequence[torch.Tensor], _: int) -> torch.Tensor:
        x, y = batch
        loss = nn.functional.cross_entropy(self(x), y) + self.extra_loss()
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=len(y))
        return loss

    def validation_step(self, batch: Sequence[torch.Tensor], _: int) -> None:
        x, y = batch
        logits = self(x)
        self.log("val_loss", nn.functional.cross_entropy(logits, y), on_step=False,
                 on_epoch=True, batch_size=len(y))
        self.log("val_acc", (logits.argmax(-1) == y).float().mean(), on_step=False,
                 on_epoch=True, batch_size=len(y))

    def extra_loss(self) -> torch.Tensor | float:
        return 0.0

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam([p for p in self.parameters() if p.requires_grad], lr=self.lr)


class FrozenEncoderClassifier(_ClassifierBase):
    """Two-stage: the stage-1 encoder, frozen, then a trainable BiLSTM head on its embeddings."""

    def __init__(self, encoder: Encoder, embedding_dim: int, n_classes: int, units: int = 512,
                 dropout: float = 0.5, lr: float = 1e-5) -> None:
        super().__init__(lr)
        self.encoder = encoder
        self.encoder.requires_grad_(False)
        self.encoder.eval()
        self.head = BiLSTMHead(embedding_dim, n_classes, units, dropout)

    def train(self, mode: bool = True) -> FrozenEncoderClassifier:
        super().train(mode)
        self.encoder.eval()  # frozen: never in training mode
        return self

    @torch.no_grad()
    def embed(self, segments: torch.Tensor) -> torch.Tensor:
        """[N, S, T, F] log-mels -> [N, S, D] embeddings from the frozen encoder."""
        self.encoder.eval()
        chunks = []
        per_call = max(1, EMBED_BATCH // max(1, segments.shape[1]))
        for i in range(0, len(segments), per_call):
            chunks.append(encode_segments(self.encoder, segments[i:i + per_call]))
        return torch.cat(chunks)

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.head(embeddings)


class EndToEndClassifier(_ClassifierBase):
    """CNN+BiLSTM baseline: the same encoder and head trained jointly, no autoencoder."""

    def __init__(self, filters: Sequence[int], n_time: int, n_freq: int, n_classes: int,
                 units: int = 512, dropout: float = 0.5, lr: float = 1e-5,
                 l2_first_conv: float = 0.0, l2_on: str = "output") -> None:
        super().__init__(lr)
        self.encoder = Encoder(filters)
        self.head = BiLSTMHead(self.encoder.embedding_dim(n_time, n_freq), n_classes, units,
                               dropout)
        self.l2_first_conv, self.l2_on = l2_first_conv, l2_on
        self._activity: torch.Tensor | float = 0.0

    def forward(self, segments: torch.Tensor) -> torch.Tensor:
        b, s = segments.shape[:2]
        z, activity = self.encoder.forward_with_activity(
            segments.reshape(b * s, 1, *segments.shape[2:]))
        self._activity = activity * s  # per clip of the batch, as Keras' TimeDistributed
        return self.head(z.reshape(b, s, -1))

    def extra_loss(self) -> torch.Tensor | float:
        """Optional L2 on the first conv (none in the paper's baseline), of the last forward."""
        return l2_term(self.encoder, self._activity, self.l2_first_conv, self.l2_on)
