"""The text branch's transformer: token ids -> one vector per text, with its tokenizer.

``text_encoder.load_text_encoder`` builds it; kept apart from the encoder
resolution so that checking a ``text_encoder`` name does not import torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

ENCODE_BATCH = 32  # texts per forward pass when vectors are computed without gradients


class TextBackbone(nn.Module):
    """A transformer that turns token ids into one vector per text, with its tokenizer."""

    def __init__(
        self,
        model: nn.Module,
        tokenize: Callable[[list[str], int], tuple[torch.Tensor, torch.Tensor]],
        pooling: str,
        dim: int,
        name: str,
    ) -> None:
        super().__init__()
        self.model = model
        self._tokenize = tokenize
        self.pooling, self.dim, self.name = pooling, int(dim), name

    def tokenize(self, texts: list[str], max_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded token ids and attention mask [N, L] (L <= ``max_tokens``)."""
        return self._tokenize(list(texts), int(max_tokens))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
        if self.pooling == "cls":
            return hidden[:, 0]
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)

    @torch.no_grad()
    def encode(self, texts: list[str], max_tokens: int) -> torch.Tensor:
        """[N, dim] float32 vectors in eval mode, without gradients (frozen use, word vectors)."""
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        out = []
        for start in range(0, len(texts), ENCODE_BATCH):
            ids, mask = self.tokenize(texts[start : start + ENCODE_BATCH], max_tokens)
            out.append(self(ids.to(device), mask.to(device)).float().cpu())
        self.train(was_training)
        return torch.cat(out) if out else torch.zeros((0, self.dim))


def hf_tokenizer(tokenizer: Any) -> Callable[[list[str], int], tuple[torch.Tensor, torch.Tensor]]:
    """A ``transformers`` tokenizer as ``TextBackbone``'s tokenize function."""

    def tokenize(texts: list[str], max_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
        enc = tokenizer(
            texts, padding=True, truncation=True, max_length=max_tokens, return_tensors="pt"
        )
        return enc["input_ids"], enc["attention_mask"]

    return tokenize
