"""The text branch's transformer: token ids -> one vector per text, with its tokenizer.

``text_encoder.load_text_encoder`` builds it; kept apart from the encoder
resolution so that checking a ``text_encoder`` name does not import torch.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

ENCODE_BATCH = 32  # texts per forward pass when vectors are computed without gradients
FROZEN_CACHE_LISTS = 8  # text lists whose frozen vectors are kept in the process
_frozen: OrderedDict[tuple[Any, ...], torch.Tensor] = OrderedDict()


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


def frozen_vectors(
    backbone: TextBackbone, source: str, seed: int, texts: Sequence[str], max_tokens: int
) -> torch.Tensor:
    """``backbone.encode(texts)``, kept for the process: a frozen encoder gives the same vectors.

    The key is the whole text list (with the encoder, its source, the seed of a
    random encoder and the token limit), so a hit returns exactly what encoding
    that list anew would (batch composition included): folds and methods that
    share a text split encode it once.
    """
    key = (backbone.name, source, int(seed), int(max_tokens), tuple(texts))
    if key in _frozen:
        _frozen.move_to_end(key)
        return _frozen[key]
    vectors = backbone.encode(list(texts), max_tokens)
    _frozen[key] = vectors
    while len(_frozen) > FROZEN_CACHE_LISTS:
        _frozen.popitem(last=False)
    return vectors


def hf_tokenizer(tokenizer: Any) -> Callable[[list[str], int], tuple[torch.Tensor, torch.Tensor]]:
    """A ``transformers`` tokenizer as ``TextBackbone``'s tokenize function."""

    def tokenize(texts: list[str], max_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
        enc = tokenizer(
            texts, padding=True, truncation=True, max_length=max_tokens, return_tensors="pt"
        )
        return enc["input_ids"], enc["attention_mask"]

    return tokenize
