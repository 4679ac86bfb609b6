"""The Lightning module: backbones + strategy heads, the strategy's loss, validation P@5.

The text backbone is part of the module (and of the optimiser) only when it
is fine-tuned; a frozen encoder's sentence vectors arrive precomputed. The
validation score is the precision at 5 of the validation texts against the
validation clips under the method's ``select_mapping``, computed with the same
chunk averaging as ``predict``; it drives early stopping and ``RestoreBest``
(the authors keep the checkpoint with the best validation P@5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import nn

from mer_bench.methods.text2music.batches import MusicInputs, TextInputs
from mer_bench.methods.text2music.labels import precision_at_k
from mer_bench.methods.text2music.strategies import Strategy

EVAL_TEXTS = 32  # texts per forward pass at evaluation
EVAL_ROWS = 64  # log-mel chunks (or feature vectors) per forward pass at evaluation
MONITOR = "val_p5"


@dataclass
class EvalSet:
    """Validation texts and clips with their relevance under the selection mapping."""

    texts: TextInputs
    music: MusicInputs
    relevance: np.ndarray  # [Q, C] bool


class Text2MusicModule(L.LightningModule):
    def __init__(
        self,
        strategy: Strategy,
        heads: nn.ModuleDict,
        music_backbone: nn.Module | None,
        text_backbone: nn.Module | None,
        word_vectors: torch.Tensor,
        lr: float,
        weight_decay: float,
        seed: int,
    ) -> None:
        super().__init__()
        self.strategy = strategy
        self.heads = heads
        self.music_backbone = music_backbone
        self.text_backbone = text_backbone
        self.register_buffer("word_vectors", word_vectors, persistent=False)
        self.lr, self.weight_decay = lr, weight_decay
        self.generator = torch.Generator().manual_seed(int(seed))  # negative sampling
        self.validation: EvalSet | None = None

    # --- encoders ----------------------------------------------------------
    def text_features(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if "vec" in batch:
            return batch["vec"]
        return self.text_backbone(batch["ids"], batch["mask"])

    def music_features(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        x = batch["x"]
        return x if self.music_backbone is None else self.music_backbone(x)

    @torch.no_grad()
    def embed_texts(self, texts: TextInputs) -> np.ndarray:
        """[Q, D] retrieval representation of every text (call in eval mode)."""
        out = []
        for start in range(0, len(texts), EVAL_TEXTS):
            idx = np.arange(start, min(start + EVAL_TEXTS, len(texts)))
            batch = {k: v.to(self.device) for k, v in texts.take(idx).items()}
            out.append(self.strategy.text_repr(self.heads, self.text_features(batch)).float().cpu())
        return torch.cat(out).double().numpy() if out else np.zeros((0, 0))

    @torch.no_grad()
    def embed_music(self, music: MusicInputs) -> np.ndarray:
        """[C, D] retrieval representation of every clip: the mean over its chunks."""
        per = music.per_item
        step = max(1, EVAL_ROWS // per)
        out = []
        for start in range(0, len(music), step):
            idx = np.arange(start, min(start + step, len(music)))
            batch = {k: v.to(self.device) for k, v in music.eval_take(idx).items()}
            rows = self.strategy.music_repr(self.heads, self.music_features(batch)).float()
            out.append(rows.reshape(len(idx), per, -1).mean(dim=1).cpu())
        return torch.cat(out).double().numpy() if out else np.zeros((0, 0))

    def similarity(self, texts: TextInputs, music: MusicInputs) -> np.ndarray:
        if len(texts) == 0 or len(music) == 0:
            return np.zeros((len(texts), len(music)))
        return self.strategy.similarity(self.embed_texts(texts), self.embed_music(music))

    # --- Lightning ---------------------------------------------------------
    def training_step(self, batch: dict[str, Any], _: int) -> torch.Tensor:
        parts = self.strategy.loss(self, batch)
        for key, value in parts.items():
            name = "train_loss" if key == "loss" else f"train_{key}"
            self.log(name, value, on_step=False, on_epoch=True, batch_size=1)
        return parts["loss"]

    def validation_step(self, batch: Any, _: int) -> None:
        if self.validation is None:
            return
        v = self.validation
        score = precision_at_k(self.similarity(v.texts, v.music), v.relevance, 5)
        self.log(MONITOR, float(np.nan_to_num(score)), on_step=False, on_epoch=True, batch_size=1)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)
