"""Vocabularies, word vectors and what counts as a match between a text and a clip.

Word (tag) vectors: the paper embeds mood words with a Word2Vec model trained
on music text, which is not obtainable offline; here a word's vector is the
sentence vector of the word alone from the frozen, pretrained text encoder,
L2-normalised.

The text -> music pairing of the metric-learning strategies is, by default,
the bridge's ``w2v`` mapping (``pair_mapping="w2v"``): for Won et al.'s
datasets that is the W2V column of their Table 2, the nearest mood tags in
their music-domain Word2Vec space (the authors' ``w2v_mapper``). Any other
mapping of the ``EmotionBridge`` can be named, or ``"word"``: the music tag
nearest to each text emotion in the encoder's word space above (cosine),
which is not the paper's space and pairs differently (e.g. ISEAR joy ->
happy where Table 2 has tender).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mer_bench.errors import TaskError
from mer_bench.types import EmotionBridge, Track

WORD_MAPPING = "word"


@dataclass(frozen=True)
class LabelSpace:
    """Both vocabularies, their word vectors, V/A places and the text -> music pairing."""

    text_vocab: tuple[str, ...]
    music_vocab: tuple[str, ...]
    text_words: np.ndarray  # [Vt, D] unit vectors
    music_words: np.ndarray  # [Vm, D] unit vectors
    pair_positive: np.ndarray  # [Vt, Vm] bool: music tags that match a text emotion
    text_va: np.ndarray | None = None  # [Vt, 2] (NaN where the bridge has no V/A)
    music_va: np.ndarray | None = None  # [Vm, 2]

    @property
    def word_vectors(self) -> np.ndarray:
        """[Vt + Vm, D]: text-vocabulary words first, then music-vocabulary words."""
        return np.concatenate([self.text_words, self.music_words]).astype(np.float32)


def unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def nearest_tags(
    text_words: np.ndarray, music_words: np.ndarray, available: np.ndarray | None = None
) -> np.ndarray:
    """[Vt] index of the music word with the highest cosine to each text word.

    ``available`` ([Vm] bool) limits the choice to the tags some training clip
    carries, so every text emotion gets clips to pair with.
    """
    cos = unit_rows(text_words) @ unit_rows(music_words).T
    if available is not None and np.any(available):
        cos = np.where(np.asarray(available, dtype=bool)[None, :], cos, -np.inf)
    return np.argmax(cos, axis=1)


def pair_positives(
    bridge: EmotionBridge,
    mapping: str,
    text_words: np.ndarray,
    music_words: np.ndarray,
    available: np.ndarray | None = None,
) -> np.ndarray:
    """[Vt, Vm] bool: the music tags that pair with each text emotion under ``mapping``."""
    vt, vm = len(bridge.text_vocab), len(bridge.music_vocab)
    out = np.zeros((vt, vm), dtype=bool)
    if mapping == WORD_MAPPING:
        out[np.arange(vt), nearest_tags(text_words, music_words, available)] = True
        return out
    if mapping not in bridge.mappings:
        raise TaskError(
            f"text2music: pair_mapping={mapping!r} is neither {WORD_MAPPING!r} nor a mapping of "
            f"the bridge ({sorted(bridge.mappings)}); the shipped w2v mappings cover Won et "
            f"al.'s pairs (emotion_vocab.yaml); for others set pair_mapping to one of those or "
            f"to {WORD_MAPPING!r} (nearest tag in the text encoder's word space)"
        )
    index = {w: j for j, w in enumerate(bridge.music_vocab)}
    for i, emotion in enumerate(bridge.text_vocab):
        for mood in bridge.mappings[mapping].get(emotion, ()):
            if mood in index:
                out[i, index[mood]] = True
    return out


def word_va(bridge: EmotionBridge, words: Sequence[str]) -> np.ndarray:
    """[V, 2] (valence, arousal) of each word; NaN rows for words the bridge does not place."""
    return np.array(
        [bridge.word_va.get(w, (np.nan, np.nan)) for w in words], dtype=np.float64
    ).reshape(len(words), 2)


def text_label_ids(texts: Sequence[Track], vocab: Sequence[str]) -> np.ndarray:
    """[N] index of each text's emotion in ``vocab``; an unknown emotion names the item."""
    index = {w: i for i, w in enumerate(vocab)}
    out = np.empty(len(texts), dtype=np.int64)
    for n, text in enumerate(texts):
        emotion = text.tags[0] if text.tags else None
        if emotion not in index:
            raise TaskError(
                f"text {text.id}: emotion {emotion!r} is not in the text vocabulary "
                f"{list(vocab)}; fix the item's label or the dataset's emotion_vocabulary"
            )
        out[n] = index[emotion]
    return out


def music_multi_hot(tracks: Sequence[Track], vocab: Sequence[str]) -> np.ndarray:
    """[N, Vm] 0/1 of each clip's mood tags; tags outside ``vocab`` are ignored."""
    index = {w: i for i, w in enumerate(vocab)}
    out = np.zeros((len(tracks), len(vocab)), dtype=np.float32)
    for n, track in enumerate(tracks):
        for tag in track.tags:
            if tag in index:
                out[n, index[tag]] = 1.0
    return out


def require_tagged(tracks: Sequence[Track], hot: np.ndarray, vocab: Sequence[str]) -> None:
    """Training clips must carry at least one mood of the music vocabulary."""
    missing = [t.id for t, row in zip(tracks, hot) if not row.any()]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise TaskError(
            f"text2music: {len(missing)} training clip(s) carry no mood of the music vocabulary "
            f"{list(vocab)}: {shown}; tag them or leave them out"
        )


def relevance(
    text_labels: Sequence[str],
    music_labels: Sequence[Sequence[str]],
    bridge: EmotionBridge,
    mapping: str | None = None,
) -> np.ndarray:
    """[Q, C] bool under ``mapping`` (default: the bridge's primary one); validation only."""
    name = bridge.primary if mapping is None else mapping
    if name not in bridge.mappings:
        raise TaskError(
            f"text2music: select_mapping={name!r} is not a mapping of the bridge "
            f"({sorted(bridge.mappings)}); name one of those"
        )
    table = bridge.mappings[name]
    moods = [set(table.get(e, ())) for e in text_labels]
    return np.array(
        [[bool(m & set(tags)) for tags in music_labels] for m in moods], dtype=bool
    ).reshape(len(text_labels), len(music_labels))


def precision_at_k(sim: np.ndarray, rel: np.ndarray, k: int = 5) -> float:
    """Mean precision of the top ``k`` clips over the queries with a relevant clip (NaN if none).

    An all-NaN row (an unanswered query) has no hit.
    """
    keep = rel.any(axis=1)
    if not keep.any():
        return float("nan")
    scores, relevant = sim[keep], rel[keep]
    none = np.isnan(scores).all(axis=1)
    top = np.argsort(-np.nan_to_num(scores, nan=0.0), axis=1, kind="stable")[:, :k]
    hits = np.take_along_axis(relevant, top, axis=1) & ~none[:, None]
    return float(hits.mean())
