"""Model inputs (texts, clips) and the training batches each strategy draws from them.

``plain`` strategies (classification, regression) see ``batch_size`` texts and
``batch_size`` clips per step, each side walking through its own reshuffled
order. ``triplet`` strategies draw ``batch_size // 2`` items per triplet group
per step, as the authors' loader: ``tag_text`` picks a text emotion uniformly
and a text of it, ``tag_music`` a music tag uniformly and a clip carrying it,
``pair`` a text emotion uniformly (among those with a paired clip), a text of
it and a clip carrying one of its paired tags. An epoch has as many draws as
the larger side has items. Everything random comes from one seeded NumPy
generator consumed in order, so a seed fixes every batch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import IterableDataset

from mer_bench.errors import TaskError
from mer_bench.methods.text2music.frontend import eval_chunks, random_crop

GROUPS = ("tag_text", "tag_music", "pair")


@dataclass
class TextInputs:
    """Texts as token ids + mask (fine-tuned encoder) or as fixed sentence vectors."""

    ids: torch.Tensor | None = None
    mask: torch.Tensor | None = None
    vectors: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.vectors if self.vectors is not None else self.ids)

    def take(self, idx: np.ndarray) -> dict[str, torch.Tensor]:
        index = torch.as_tensor(np.asarray(idx), dtype=torch.long)
        if self.vectors is not None:
            return {"vec": self.vectors[index]}
        mask = self.mask[index]
        length = max(1, int(mask.sum(dim=1).max()))  # drop columns that are padding everywhere
        return {"ids": self.ids[index, :length], "mask": mask[:, :length]}


@dataclass
class MusicInputs:
    """Clips as whole log-mels (cropped per use) or as fixed feature vectors."""

    mels: list[np.ndarray] | None = None
    crop: int = 0
    n_chunks: int = 16
    vectors: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.vectors) if self.vectors is not None else len(self.mels or [])

    @property
    def per_item(self) -> int:
        """Rows one clip contributes at evaluation (chunks, or 1 vector)."""
        return 1 if self.vectors is not None else self.n_chunks

    def train_take(self, idx: np.ndarray, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        if self.vectors is not None:
            return {"x": self.vectors[torch.as_tensor(np.asarray(idx), dtype=torch.long)]}
        crops = [random_crop(self.mels[int(i)], self.crop, rng) for i in idx]
        return {"x": torch.from_numpy(np.stack(crops))}

    def eval_take(self, idx: np.ndarray) -> dict[str, torch.Tensor]:
        """``per_item`` consecutive rows per clip of ``idx``."""
        if self.vectors is not None:
            return {"x": self.vectors[torch.as_tensor(np.asarray(idx), dtype=torch.long)]}
        chunks = [eval_chunks(self.mels[int(i)], self.crop, self.n_chunks) for i in idx]
        return {"x": torch.from_numpy(np.concatenate(chunks))}


class _Cycle:
    """Indices 0..n-1 in a fresh random order each pass, handed out ``k`` at a time."""

    def __init__(self, n: int, rng: np.random.Generator) -> None:
        self.n, self.rng = n, rng
        self.queue = np.empty(0, dtype=np.int64)

    def take(self, k: int) -> np.ndarray:
        while len(self.queue) < k:
            self.queue = np.concatenate([self.queue, self.rng.permutation(self.n)])
        out, self.queue = self.queue[:k], self.queue[k:]
        return out


class TrainBatches(IterableDataset):
    """One epoch of training batches per iteration (see the module docstring)."""

    def __init__(
        self,
        sampling: str,
        groups: tuple[str, ...],
        texts: TextInputs,
        music: MusicInputs,
        text_labels: np.ndarray,
        music_hot: np.ndarray,
        pair_positive: np.ndarray,
        batch_size: int,
        seed: int,
    ) -> None:
        super().__init__()
        if len(texts) == 0 or len(music) == 0:
            raise TaskError("text2music needs training texts and training clips; one side is empty")
        self.sampling, self.groups = sampling, groups
        self.texts, self.music = texts, music
        self.text_labels = np.asarray(text_labels, dtype=np.int64)
        self.music_hot = np.asarray(music_hot, dtype=np.float32)
        self.rng = np.random.default_rng(int(seed))
        n_items = max(len(texts), len(music))
        if sampling == "plain":
            self.size = max(2, int(batch_size))
            self._text_cycle = _Cycle(len(texts), self.rng)
            self._music_cycle = _Cycle(len(music), self.rng)
        else:
            self.size = max(2, int(batch_size) // 2)
            self._index(pair_positive)
        self.steps = max(1, math.ceil(n_items / self.size))

    def _index(self, pair_positive: np.ndarray) -> None:
        labels, hot = self.text_labels, self.music_hot
        self.texts_of = {int(e): np.flatnonzero(labels == e) for e in np.unique(labels)}
        self.clips_of = {int(t): np.flatnonzero(hot[:, t] > 0) for t in np.flatnonzero(hot.any(0))}
        self.pos = np.asarray(pair_positive, dtype=np.float32)
        self.paired_clips = {e: np.flatnonzero(hot @ self.pos[e] > 0) for e in self.texts_of}
        self.paired_clips = {e: c for e, c in self.paired_clips.items() if len(c)}
        if "pair" in self.groups and not self.paired_clips:
            raise TaskError(
                "text2music: no training clip carries a mood paired with any training text's "
                "emotion (see pair_mapping); the text -> music triplets cannot be formed"
            )

    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for _ in range(self.steps):
            yield self._plain() if self.sampling == "plain" else self._triplets()

    def _plain(self) -> dict[str, Any]:
        t = self._text_cycle.take(self.size)
        m = self._music_cycle.take(self.size)
        return {
            "text": self.texts.take(t),
            "text_label": torch.from_numpy(self.text_labels[t]),
            "music": self.music.train_take(m, self.rng),
            "music_hot": torch.from_numpy(self.music_hot[m]),
        }

    def _pick(self, pools: dict[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Keys drawn uniformly, then one member of each drawn key's pool."""
        keys = np.array(sorted(pools), dtype=np.int64)
        drawn = keys[self.rng.integers(0, len(keys), self.size)]
        members = np.array([pools[int(k)][self.rng.integers(0, len(pools[int(k)]))] for k in drawn])
        return drawn, members

    def _triplets(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "tag_text" in self.groups:
            tags, texts = self._pick(self.texts_of)
            out["tag_text"] = {"tag": torch.from_numpy(tags), "text": self.texts.take(texts)}
        if "tag_music" in self.groups:
            tags, clips = self._pick(self.clips_of)
            out["tag_music"] = {
                "tag": torch.from_numpy(tags),
                "music": self.music.train_take(clips, self.rng),
                "hot": torch.from_numpy(self.music_hot[clips]),
            }
        if "pair" in self.groups:
            emotions, clips = self._pick(self.paired_clips)
            texts = np.array([self.rng.choice(self.texts_of[int(e)]) for e in emotions])
            out["pair"] = {
                "text": self.texts.take(texts),
                "music": self.music.train_take(clips, self.rng),
                "pos": torch.from_numpy(self.pos[emotions]),
                "hot": torch.from_numpy(self.music_hot[clips]),
            }
        return out
