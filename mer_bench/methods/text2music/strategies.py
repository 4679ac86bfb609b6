"""The paper's six ways of relating texts and music, each as heads, a loss and a similarity.

Every branch ends in ``projection`` (Linear -> ``hidden`` -> BatchNorm -> ReLU
-> dropout -> Linear); its output size is what the strategy needs: the
vocabulary (classification), 2 (V/A), the word-vector size (w2v) or the
shared ``embed_dim`` space (multi-head, metric learning).

* ``classification``: a text classifier (softmax, cross-entropy over the
  text vocabulary) and a music classifier over the music vocabulary, softmax
  with cross-entropy as in the paper (``music_activation="softmax"``; a clip
  with several moods gets the uniform distribution over them as its target)
  or sigmoid with binary cross-entropy (``"sigmoid"``, multi-label). A text's
  predicted emotion ranks clips by the music classifier's likelihood of that
  same word; when that word is no music mood the query has no answer: its
  row is NaN and the scorer gives it 0, as the paper does ("text inputs with
  other emotions will not have any retrieval result").
* ``multihead``: both branches project into the shared space, then one
  shared MLP of ``multihead_layers`` Linear-BatchNorm-ReLU-dropout layers (the
  paper's "3-layered MLP"), then one linear classification head per
  vocabulary (text head trained on texts, music head on clips, activations as
  in ``classification``). ``multihead_layers=2`` is the earlier reading in
  which the third layer was the heads. Retrieval: cosine between a text's and
  a clip's music-head probabilities (the only output both modalities share).
* ``va-regression``: both regress (tanh) to the (valence, arousal) of their
  label word (``bridge.word_va``; a clip with several tags: their mean), MSE;
  retrieval by negative Euclidean distance.
* ``w2v-regression``: both regress to their label word's unit word vector
  (several tags: the mean), MSE; retrieval by cosine.
* ``metric-2branch``: triplet loss with a text anchor, a paired clip as
  positive and a similarity-weighted negative clip.
* ``metric-3branch``: weighted sum of three triplet losses, tag -> text, tag
  -> music and text -> music (default 0.3 / 0.3 / 0.4); the tag branch
  projects the word vectors.

The two classifiers and the two regressors of a strategy share no weights,
so training them in one run on the summed loss gives each the gradients it
would get alone (Adam scales every weight by its own history); only the epoch
count and the early-stopping point are shared.

torch is imported inside the methods: the method's parameters check a
strategy name against ``STRATEGIES`` without loading it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from mer_bench.errors import ConfigError, TaskError
from mer_bench.methods.text2music.heads import projection, trunk
from mer_bench.methods.text2music.labels import LabelSpace, unit_rows

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch import nn

STRATEGIES: dict[str, type[Strategy]] = {}


def register(name: str) -> Callable[[type[Strategy]], type[Strategy]]:
    def wrap(cls: type[Strategy]) -> type[Strategy]:
        cls.name = name
        STRATEGIES[name] = cls
        return cls

    return wrap


class Encoders(Protocol):
    """What a strategy's loss needs from the Lightning module."""

    heads: nn.ModuleDict
    word_vectors: torch.Tensor
    generator: torch.Generator

    def text_features(self, batch: dict[str, torch.Tensor]) -> torch.Tensor: ...

    def music_features(self, batch: dict[str, torch.Tensor]) -> torch.Tensor: ...


@dataclass(frozen=True)
class StrategySettings:
    hidden: int = 128
    embed_dim: int = 64
    dropout: float = 0.5
    margin: float = 0.2
    branch_weights: tuple[float, float, float] = (0.3, 0.3, 0.4)
    weighted_negatives: bool = True
    multihead_layers: int = 3
    music_activation: str = "softmax"  # softmax (paper) | sigmoid (multi-label BCE)


MUSIC_ACTIVATIONS = ("softmax", "sigmoid")


def music_probabilities(logits: torch.Tensor, activation: str) -> torch.Tensor:
    """Mood likelihoods of a music classifier: softmax over moods, or independent sigmoids."""
    import torch

    return torch.softmax(logits, dim=-1) if activation == "softmax" else torch.sigmoid(logits)


def music_class_loss(logits: torch.Tensor, hot: torch.Tensor, activation: str) -> torch.Tensor:
    """Cross-entropy against the clip's moods (uniform over several) or binary cross-entropy."""
    import torch.nn.functional as F

    if activation == "softmax":
        target = hot / hot.sum(dim=1, keepdim=True).clamp_min(1.0)
        return F.cross_entropy(logits, target)
    return F.binary_cross_entropy_with_logits(logits, hot)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return unit_rows(a) @ unit_rows(b).T


class Strategy(ABC):
    """Heads, training loss and retrieval score of one way of relating the modalities."""

    name: ClassVar[str]
    sampling: ClassVar[str] = "plain"  # "plain" or "triplet" (see batches.py)
    groups: ClassVar[tuple[str, ...]] = ()
    uses_word_vectors: ClassVar[bool] = False  # mood-word vectors shape the model

    def __init__(self, space: LabelSpace, settings: StrategySettings) -> None:
        self.space, self.s = space, settings

    @property
    def n_text(self) -> int:
        return len(self.space.text_vocab)

    @property
    def n_music(self) -> int:
        return len(self.space.music_vocab)

    @abstractmethod
    def build_heads(self, text_dim: int, music_dim: int) -> nn.ModuleDict:
        """The trainable layers after the two backbones."""

    @abstractmethod
    def text_repr(self, heads: nn.ModuleDict, h: torch.Tensor) -> torch.Tensor:
        """What a text is retrieved by (evaluation)."""

    @abstractmethod
    def music_repr(self, heads: nn.ModuleDict, h: torch.Tensor) -> torch.Tensor:
        """What a clip chunk is retrieved by (averaged over a clip's chunks)."""

    @abstractmethod
    def loss(self, m: Encoders, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Named loss terms; ``"loss"`` is the one optimised."""

    @abstractmethod
    def similarity(self, text: np.ndarray, music: np.ndarray) -> np.ndarray:
        """[Q, C] scores, higher = more relevant; an all-NaN row: no answer for that query."""

    def unanswerable(self) -> tuple[str, ...]:
        """Text emotions for which the strategy can return no ranking (none by default)."""
        return ()

    def _proj(self, in_dim: int, out_dim: int) -> nn.Sequential:
        return projection(in_dim, out_dim, self.s.hidden, self.s.dropout)


@register("classification")
class Classification(Strategy):
    def build_heads(self, text_dim: int, music_dim: int) -> nn.ModuleDict:
        from torch import nn

        return nn.ModuleDict(
            {
                "text": self._proj(text_dim, self.n_text),
                "music": self._proj(music_dim, self.n_music),
            }
        )

    def text_repr(self, heads: nn.ModuleDict, h: torch.Tensor) -> torch.Tensor:
        import torch

        return torch.softmax(heads["text"](h), dim=-1)

    def music_repr(self, heads: nn.ModuleDict, h: torch.Tensor) -> torch.Tensor:
        return music_probabilities(heads["music"](h), self.s.music_activation)

    def loss(self, m: Encoders, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        import torch.nn.functional as F

        text = F.cross_entropy(m.heads["text"](m.text_features(batch["text"])), batch["text_label"])
        logits = m.heads["music"](m.music_features(batch["music"]))
        music = music_class_loss(logits, batch["music_hot"], self.s.music_activation)
        return {"loss": text + music, "text_loss": text, "music_loss": music}

    def unanswerable(self) -> tuple[str, ...]:
        """Text emotions that are no music mood: a text predicted as one gets no answer."""
        return tuple(w for w in self.space.text_vocab if w not in set(self.space.music_vocab))

    def similarity(self, text: np.ndarray, music: np.ndarray) -> np.ndarray:
        column = {w: j for j, w in enumerate(self.space.music_vocab)}
        out = np.full((len(text), len(music)), np.nan, dtype=np.float64)
        for i, k in enumerate(np.argmax(text, axis=1) if len(music) else []):
            j = column.get(self.space.text_vocab[int(k)])
            if j is not None:  # otherwise the row stays NaN: nothing to retrieve by
                out[i] = music[:, j]
        return out


@register("multihead")
class MultiHead(Strategy):
    def build_heads(self, text_dim: int, music_dim: int) -> nn.ModuleDict:
        from torch import nn

        s = self.s
        if s.multihead_layers < 1:
            raise ConfigError(f"multihead_layers must be >= 1, got {s.multihead_layers}")
        return nn.ModuleDict(
            {
                "text": self._proj(text_dim, s.embed_dim),
                "music": self._proj(music_dim, s.embed_dim),
                "trunk": trunk(s.embed_dim, s.hidden, s.multihead_layers, s.dropout),
                "text_cls": nn.Linear(s.hidden, self.n_text),
                "music_cls": nn.Linear(s.hidden, self.n_music),
            }
        )

    def _music_head(self, heads: nn.ModuleDict, z: torch.Tensor) -> torch.Tensor:
        return music_probabilities(heads["music_cls"](heads["trunk"](z)), self.s.music_activation)

    def text_repr(self, heads: nn.ModuleDict, h: torch.Tensor) -> torch.Tensor:
        return self._music_head(heads, heads["text"](h))

    def music_repr(self, heads: nn.ModuleDict, h: torch.Tensor) -> torch.Tensor:
        return self._music_head(heads, heads["music"](h))

    def loss(self, m: Encoders, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        import torch.nn.functional as F

        h = m.heads
        text_logits = h["text_cls"](h["trunk"](h["text"](m.text_features(batch["text"]))))
        music_logits = h["music_cls"](h["trunk"](h["music"](m.music_features(batch["music"]))))
        text = F.cross_entropy(text_logits, batch["text_label"])
        music = music_class_loss(music_logits, batch["music_hot"], self.s.music_activation)
        return {"loss": text + music, "text_loss": text, "music_loss": music}

    def similarity(self, text: np.ndarray, music: np.ndarray) -> np.ndarray:
        return cosine(text, music)


class _Regression(Strategy):
    """Text and music regressors onto per-word targets (a clip: mean over its tags)."""

    def __init__(self, space: LabelSpace, settings: StrategySettings) -> None:
        import torch

        super().__init__(space, settings)
        text_t, music_t = self.targets()
        self._text_targets = torch.as_tensor(text_t, dtype=torch.float32)
        self._music_targets = torch.as_tensor(music_t, dtype=torch.float32)

    @abstractmethod
    def targets(self) -> tuple[np.ndarray, np.ndarray]:
        """[Vt, D] and [Vm, D] targets of each vocabulary word."""

    def out(self, y: torch.Tensor) -> torch.Tensor:
        return y

    def build_heads(self, text_dim: int, music_dim: int) -> nn.ModuleDict:
        from torch import nn

        dim = self._text_targets.shape[1]
        return nn.ModuleDict(
            {"text": self._proj(text_dim, dim), "music": self._proj(music_dim, dim)}
        )

    def text_repr(self, heads: nn.ModuleDict, h: torch.Tensor) -> torch.Tensor:
        return self.out(heads["text"](h))

    def music_repr(self, heads: nn.ModuleDict, h: torch.Tensor) -> torch.Tensor:
        return self.out(heads["music"](h))

    def loss(self, m: Encoders, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        import torch
        import torch.nn.functional as F

        text_pred = self.text_repr(m.heads, m.text_features(batch["text"]))
        music_pred = self.music_repr(m.heads, m.music_features(batch["music"]))
        text_y = self._text_targets.to(text_pred.device)[batch["text_label"]]
        hot = batch["music_hot"]
        table = torch.nan_to_num(self._music_targets.to(hot.device))  # unused words are NaN
        music_y = (hot @ table) / hot.sum(dim=1, keepdim=True).clamp_min(1.0)
        text = F.mse_loss(text_pred, text_y)
        music = F.mse_loss(music_pred, music_y)
        return {"loss": text + music, "text_loss": text, "music_loss": music}


@register("va-regression")
class VARegression(_Regression):
    def targets(self) -> tuple[np.ndarray, np.ndarray]:
        if self.space.text_va is None or self.space.music_va is None:
            raise TaskError("va-regression needs the bridge's word_va")
        return self.space.text_va, self.space.music_va

    def out(self, y: torch.Tensor) -> torch.Tensor:
        import torch

        return torch.tanh(y)  # the canonical V/A scale is [-1, 1]

    def similarity(self, text: np.ndarray, music: np.ndarray) -> np.ndarray:
        diff = text[:, None, :].astype(np.float64) - music[None, :, :].astype(np.float64)
        return -np.sqrt((diff**2).sum(axis=-1))


@register("w2v-regression")
class W2VRegression(_Regression):
    uses_word_vectors = True

    def targets(self) -> tuple[np.ndarray, np.ndarray]:
        return self.space.text_words, self.space.music_words

    def similarity(self, text: np.ndarray, music: np.ndarray) -> np.ndarray:
        return cosine(text, music)


class _Metric(Strategy):
    sampling = "triplet"

    def build_heads(self, text_dim: int, music_dim: int) -> nn.ModuleDict:
        from torch import nn

        e = self.s.embed_dim
        heads = {"text": self._proj(text_dim, e), "music": self._proj(music_dim, e)}
        if "tag_text" in self.groups or "tag_music" in self.groups:
            heads["tag"] = self._proj(self.space.text_words.shape[1], e)
        return nn.ModuleDict(heads)

    def text_repr(self, heads: nn.ModuleDict, h: torch.Tensor) -> torch.Tensor:
        return heads["text"](h)

    def music_repr(self, heads: nn.ModuleDict, h: torch.Tensor) -> torch.Tensor:
        return heads["music"](h)

    def similarity(self, text: np.ndarray, music: np.ndarray) -> np.ndarray:
        return cosine(text, music)

    def _triplet(
        self, m: Encoders, anchor: torch.Tensor, positive: torch.Tensor, allowed: torch.Tensor
    ) -> torch.Tensor:
        from mer_bench.methods.text2music.losses import sample_negatives, triplet_loss

        index, valid = sample_negatives(
            anchor, positive, allowed, m.generator, self.s.weighted_negatives
        )
        return triplet_loss(anchor, positive, positive[index], self.s.margin, valid)

    def pair_loss(self, m: Encoders, group: dict[str, Any]) -> torch.Tensor:
        from mer_bench.methods.text2music.losses import allowed_negatives

        anchor = m.heads["text"](m.text_features(group["text"]))
        positive = m.heads["music"](m.music_features(group["music"]))
        return self._triplet(m, anchor, positive, allowed_negatives(group["pos"], group["hot"]))

    def tag_text_loss(self, m: Encoders, group: dict[str, Any]) -> torch.Tensor:
        import torch.nn.functional as F

        from mer_bench.methods.text2music.losses import allowed_negatives

        tags = group["tag"]
        anchor = m.heads["tag"](m.word_vectors[tags])
        positive = m.heads["text"](m.text_features(group["text"]))
        one_hot = F.one_hot(tags, self.n_text)
        return self._triplet(m, anchor, positive, allowed_negatives(one_hot, one_hot))

    def tag_music_loss(self, m: Encoders, group: dict[str, Any]) -> torch.Tensor:
        import torch.nn.functional as F

        from mer_bench.methods.text2music.losses import allowed_negatives

        tags = group["tag"]
        anchor = m.heads["tag"](m.word_vectors[self.n_text + tags])
        positive = m.heads["music"](m.music_features(group["music"]))
        allowed = allowed_negatives(F.one_hot(tags, self.n_music), group["hot"])
        return self._triplet(m, anchor, positive, allowed)


@register("metric-2branch")
class Metric2Branch(_Metric):
    groups = ("pair",)

    def loss(self, m: Encoders, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        return {"loss": self.pair_loss(m, batch["pair"])}


@register("metric-3branch")
class Metric3Branch(_Metric):
    groups = ("tag_text", "tag_music", "pair")
    uses_word_vectors = True

    def loss(self, m: Encoders, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        w_text, w_music, w_pair = self.s.branch_weights
        tag_text = self.tag_text_loss(m, batch["tag_text"])
        tag_music = self.tag_music_loss(m, batch["tag_music"])
        pair = self.pair_loss(m, batch["pair"])
        total = w_text * tag_text + w_music * tag_music + w_pair * pair
        return {
            "loss": total,
            "tag_text_loss": tag_text,
            "tag_music_loss": tag_music,
            "pair_loss": pair,
        }
