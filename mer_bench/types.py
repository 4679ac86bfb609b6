"""Frozen data types shared by every part of mer-bench.

Canonical label conventions (see DESIGN.md):

* valence and arousal live on [-1, 1]; column 0 is valence, column 1 arousal,
  both for ``Track.static_va`` and for every row of ``Track.dynamic_va``;
* quadrants follow Russell: Q1 A+V+, Q2 A+V-, Q3 A-V-, Q4 A-V+, numbered 1..4
  on tracks and 0..3 as class indices.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from mer_bench.errors import TaskError

VALENCE, AROUSAL = 0, 1


class TaskKind(StrEnum):
    """What is predicted; a dataset adapter lists the kinds it can serve."""

    QUADRANT = "quadrant"
    BINARY_VALENCE = "binary_valence"
    BINARY_AROUSAL = "binary_arousal"
    STATIC_VA = "static_va"
    DYNAMIC_VA = "dynamic_va"
    M2E_E2M_RETRIEVAL = "m2e_e2m_retrieval"
    TEXT2MUSIC_RETRIEVAL = "text2music_retrieval"

    @property
    def is_classification(self) -> bool:
        return self in _CLASS_NAMES

    @property
    def class_names(self) -> tuple[str, ...]:
        return _CLASS_NAMES.get(self, ())

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def primary_metric(self) -> str:
        return _PRIMARY_METRIC[self]

    @classmethod
    def parse(cls, value: str | TaskKind) -> TaskKind:
        if isinstance(value, TaskKind):
            return value
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise TaskError(
                f"unknown task {value!r}; available: {', '.join(k.value for k in cls)}"
            ) from None


_CLASS_NAMES: dict[TaskKind, tuple[str, ...]] = {
    TaskKind.QUADRANT: ("Q1", "Q2", "Q3", "Q4"),
    TaskKind.BINARY_VALENCE: ("negative", "positive"),
    TaskKind.BINARY_AROUSAL: ("low", "high"),
}

# The metric that ranks a leaderboard table (higher is better for all of them).
_PRIMARY_METRIC: dict[TaskKind, str] = {
    TaskKind.QUADRANT: "macro_f1",
    TaskKind.BINARY_VALENCE: "macro_f1",
    TaskKind.BINARY_AROUSAL: "macro_f1",
    TaskKind.STATIC_VA: "r2",
    TaskKind.DYNAMIC_VA: "r2",
    TaskKind.M2E_E2M_RETRIEVAL: "mrr",
    TaskKind.TEXT2MUSIC_RETRIEVAL: "mrr",
}


# what a dataset with static and dynamic V/A annotations serves (DEAM, PMEmo, EiM, synth):
# classes derive from the static V/A (see ``Task``), retrieval pairs music with its curve
VA_ANNOTATED_TASKS = frozenset(
    {
        TaskKind.STATIC_VA,
        TaskKind.DYNAMIC_VA,
        TaskKind.M2E_E2M_RETRIEVAL,
        TaskKind.QUADRANT,
        TaskKind.BINARY_VALENCE,
        TaskKind.BINARY_AROUSAL,
    }
)


def quadrant_of(valence: float, arousal: float) -> int:
    """Russell quadrant 1..4 of a (valence, arousal) point; ties count as positive."""
    if arousal >= 0:
        return 1 if valence >= 0 else 2
    return 3 if valence < 0 else 4


@dataclass(frozen=True, eq=False)
class Track:
    """One annotated music clip.

    ``dynamic_va`` is an array [T, 2] sampled at ``dynamic_rate_hz`` starting at
    ``dynamic_start_s`` seconds into the audio. ``meta`` carries free-form
    strings such as ``artist``, ``genre`` or ``official_split``.
    """

    id: str
    audio_path: Path | None
    duration_s: float | None = None
    sample_rate: int | None = None
    static_va: tuple[float, float] | None = None
    dynamic_va: np.ndarray | None = None
    dynamic_rate_hz: float = 2.0
    dynamic_start_s: float = 0.0
    quadrant: int | None = None
    tags: tuple[str, ...] = ()
    meta: Mapping[str, str] = field(default_factory=dict)

    @property
    def artist(self) -> str | None:
        return self.meta.get("artist") or None

    @property
    def text(self) -> str | None:
        """The passage of a text item (text datasets carry no audio; see ``EmotionBridge``)."""
        return self.meta.get("text") or None

    def effective_quadrant(self) -> int | None:
        """The annotated quadrant, else the one implied by the static V/A."""
        if self.quadrant is not None:
            return self.quadrant
        if self.static_va is not None:
            return quadrant_of(*self.static_va)
        return None


@dataclass(frozen=True)
class Task:
    """A prediction task on one dataset, with the rules that turn tracks into targets.

    Binary labels threshold the canonical static V/A at ``valence_threshold`` /
    ``arousal_threshold`` (0 = the scale's midpoint); where a dataset has
    annotated quadrants but no V/A (4Q), binary labels derive from the quadrant:
    positive valence = Q1, Q4; high arousal = Q1, Q2.
    """

    dataset: str
    kind: TaskKind
    valence_threshold: float = 0.0
    arousal_threshold: float = 0.0

    @property
    def primary_metric(self) -> str:
        return self.kind.primary_metric

    def has_label(self, track: Track) -> bool:
        try:
            return self.target(track) is not None
        except TaskError:
            return False

    def target(self, track: Track) -> Any:
        """The target of one track for this task, or None when it has no such label."""
        kind = self.kind
        if kind is TaskKind.QUADRANT:
            q = track.quadrant
            if q is None and track.static_va is not None:
                q = quadrant_of(
                    track.static_va[VALENCE] - self.valence_threshold,
                    track.static_va[AROUSAL] - self.arousal_threshold,
                )
            return None if q is None else q - 1
        if kind in (TaskKind.BINARY_VALENCE, TaskKind.BINARY_AROUSAL):
            axis = VALENCE if kind is TaskKind.BINARY_VALENCE else AROUSAL
            if track.static_va is not None:
                threshold = self.valence_threshold if axis == VALENCE else self.arousal_threshold
                return int(track.static_va[axis] >= threshold)
            if track.quadrant is not None:
                positive = (1, 4) if axis == VALENCE else (1, 2)
                return int(track.quadrant in positive)
            return None
        if kind is TaskKind.STATIC_VA:
            return None if track.static_va is None else np.asarray(track.static_va, dtype=float)
        if kind in (TaskKind.DYNAMIC_VA, TaskKind.M2E_E2M_RETRIEVAL):
            if track.dynamic_va is None or len(track.dynamic_va) == 0:
                return None
            return np.asarray(track.dynamic_va, dtype=float)
        if kind is TaskKind.TEXT2MUSIC_RETRIEVAL:
            # a text item's emotion, or a clip's mood tags, in its dataset's vocabulary
            return tuple(track.tags) or None
        raise TaskError(f"task {kind.value} has no per-track target on music datasets")


@dataclass(frozen=True)
class EmotionBridge:
    """Where a text emotion vocabulary meets a music mood vocabulary (text-to-music retrieval).

    ``mappings`` names each way of relating the two (Won et al. 2021, Table 2:
    ``va``, ``w2v``, ``manual``) and gives, per text emotion, the music moods
    that count as relevant. ``word_va`` places every word of both vocabularies
    on the canonical valence/arousal scale. ``primary`` is the mapping the
    unsuffixed metrics use.
    """

    text_vocab: tuple[str, ...]
    music_vocab: tuple[str, ...]
    mappings: Mapping[str, Mapping[str, tuple[str, ...]]]
    word_va: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    primary: str = "manual"

    def relevant(self, mapping: str, emotion: str) -> tuple[str, ...]:
        """Music moods relevant to a text emotion under one mapping."""
        try:
            return tuple(self.mappings[mapping][emotion])
        except KeyError:
            raise TaskError(
                f"mapping {mapping!r} does not cover text emotion {emotion!r}; "
                f"mappings: {sorted(self.mappings)}"
            ) from None


@dataclass(frozen=True)
class NoParams:
    """The ``Params`` of a plug-in (method or feature extractor) without hyper-parameters.

    One class for both families, so ``make_params``, config hashing and sweeps
    treat "no parameters" the same way everywhere.
    """


def dataset_label(dataset: str, music_dataset: str | None = None) -> str:
    """How runs and tables name their data: ``alm+audioset-mood`` for a text/music pair."""
    return f"{dataset}+{music_dataset}" if music_dataset else dataset


def stable_hash(payload: Any, length: int = 16) -> str:
    """Hex digest of a JSON-serialisable payload, independent of dict order."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


@dataclass(frozen=True)
class Split:
    """One fold of a protocol: disjoint train / val / test id lists."""

    name: str
    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]

    @property
    def hash(self) -> str:
        return stable_hash(
            {"train": sorted(self.train), "val": sorted(self.val), "test": sorted(self.test)}
        )
