"""A tiny random-init BERT-like encoder with a file-free tokenizer, for tests and smoke runs.

Nothing is read from disk: words are lower-cased, split on letters/digits
(punctuation marks are tokens of their own) and hashed (CRC-32) into a
4,096-id vocabulary, so the same text always gives the same ids. The model is
a 2-layer, 64-wide ``transformers`` BERT (about 360 k parameters) whose
weights are drawn from the seed; it means nothing, it only exercises the
pipeline exactly like a real encoder.
"""

from __future__ import annotations

import re
import zlib
from typing import Any

import torch

VOCAB_SIZE = 4096
PAD_ID, CLS_ID, SEP_ID = 0, 1, 2
_FIRST_WORD_ID = 3
HIDDEN = 64
MAX_POSITIONS = 512
_TOKEN = re.compile(r"[a-z0-9']+|[^\sa-z0-9']")


def tiny_token_ids(text: str) -> list[int]:
    """The word ids of ``text`` (without [CLS]/[SEP])."""
    words = _TOKEN.findall(text.lower())
    return [_FIRST_WORD_ID + zlib.crc32(w.encode()) % (VOCAB_SIZE - _FIRST_WORD_ID) for w in words]


def tiny_tokenize(texts: list[str], max_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded ids and attention mask [N, L]: [CLS] words [SEP], cut to ``max_tokens``."""
    keep = max(0, min(max_tokens, MAX_POSITIONS) - 2)
    rows = [[CLS_ID, *tiny_token_ids(t)[:keep], SEP_ID] for t in texts]
    length = max((len(r) for r in rows), default=2)
    ids = torch.full((len(rows), length), PAD_ID, dtype=torch.long)
    mask = torch.zeros((len(rows), length), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    return ids, mask


def tiny_model(seed: int) -> Any:
    """A seeded random 2-layer BERT (``transformers.BertModel``) without pooler."""
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=VOCAB_SIZE,
        hidden_size=HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * HIDDEN,
        max_position_embeddings=MAX_POSITIONS,
        pad_token_id=PAD_ID,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return BertModel(config, add_pooling_layer=False)
