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
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from mer_bench.errors import TaskError
from mer_bench.registry import Registry

VALENCE, AROUSAL = 0, 1


class Family(StrEnum):
    """How a task's targets look and are scored; methods declare the families they fit.

    * ``classification``: one class per track, target an int class index;
    * ``tagging``: any number of tags per track, target a float vector [T] in [0, 1]
      (1/0, or soft: the share of raters who gave the tag);
    * ``regression``: named dimensions per track, target a float vector [D];
    * ``sequence_regression``: the dimensions per time step, target a float array [T, D];
    * ``music_emotion_retrieval``: a clip against its own emotion curve (EMER-CL);
    * ``text_music_retrieval``: text emotions against music moods (text-to-music).
    """

    CLASSIFICATION = "classification"
    REGRESSION = "regression"
    SEQUENCE_REGRESSION = "sequence_regression"
    MUSIC_EMOTION_RETRIEVAL = "music_emotion_retrieval"
    TEXT_MUSIC_RETRIEVAL = "text_music_retrieval"
    TAGGING = "tagging"

    @property
    def default_primary_metric(self) -> str:
        """The metric that ranks a table of this family (higher is better for all)."""
        return _FAMILY_PRIMARY[self]

    @property
    def has_label_space(self) -> bool:
        """Whether a task of this family names its classes, tags or dimensions."""
        return self in _LABELLED_FAMILIES


_FAMILY_PRIMARY: dict[Family, str] = {
    Family.CLASSIFICATION: "macro_f1",
    Family.TAGGING: "pr_auc_macro",  # MediaEval's Emotion and Theme Recognition ranking
    Family.REGRESSION: "r2",
    Family.SEQUENCE_REGRESSION: "r2",
    Family.MUSIC_EMOTION_RETRIEVAL: "mrr",
    Family.TEXT_MUSIC_RETRIEVAL: "mrr",
}
_LABELLED_FAMILIES = frozenset(
    {Family.CLASSIFICATION, Family.TAGGING, Family.REGRESSION, Family.SEQUENCE_REGRESSION}
)

# reads one track's target for a task (None: the track has no such label)
TargetRule = Callable[["Track", "Task"], Any]

_TASK_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class TaskKind(str):
    """A task as data: its name, family, label space, primary metric and target rule.

    A dataset declares the tasks it serves in its own module with ``TaskKind.declare``
    (the tasks several datasets share live in ``mer_bench.tasks``). The value is the
    task's name (a ``str``), so run configs, config hashes and tags see a plain name.
    ``labels`` are the class names (classification), tag names (tagging) or dimension
    names (regression, sequence regression). ``target`` reads a track's target; without
    one the task reads ``track.labels[name]`` in its family's form (see
    ``read_label``). ``positive_share`` binarises soft tagging targets for the metrics
    that need 0/1 truth (a tag is positive when at least that share of raters gave it).
    """

    family: Family
    labels: tuple[str, ...]
    primary_metric: str
    description: str
    positive_share: float
    _rule: TargetRule | None

    def __new__(
        cls,
        name: str,
        family: Family | str,
        labels: tuple[str, ...] = (),
        *,
        target: TargetRule | None = None,
        primary_metric: str | None = None,
        description: str = "",
        positive_share: float = 0.5,
    ) -> TaskKind:
        if not isinstance(name, str) or not _TASK_NAME.match(name):
            raise TaskError(f"task name {name!r} must be lower-case letters, digits and _")
        fam = Family(family)
        labels = tuple(str(x) for x in labels)
        if fam.has_label_space and not labels:
            raise TaskError(f"task {name!r} ({fam.value}) must name its {_SPACE[fam]}")
        if len(set(labels)) != len(labels):
            raise TaskError(f"task {name!r} names a label twice: {labels}")
        if fam is Family.CLASSIFICATION and len(labels) < 2:
            raise TaskError(f"classification task {name!r} needs at least two classes")
        if not 0.0 < positive_share <= 1.0:
            raise TaskError(f"task {name!r}: positive_share {positive_share} is outside (0, 1]")
        self = super().__new__(cls, name)
        self.family = fam
        self.labels = labels
        self.primary_metric = primary_metric or fam.default_primary_metric
        self.description = description
        self.positive_share = float(positive_share)
        self._rule = target
        return self

    @classmethod
    def declare(
        cls, name: str, family: Family | str, labels: tuple[str, ...] = (), **kw: Any
    ) -> TaskKind:
        """Define a task and register it under its name (a dataset module calls this)."""
        kind = cls(name, family, labels, **kw)
        TASK_KINDS.register(name)(kind)
        return kind

    def __reduce__(self) -> tuple[Any, ...]:
        # a pickled task is its name: unpickling finds the registered definition (a
        # module-level function, so that cloudpickle (Ray) sends it by reference too)
        return (task_by_name, (str(self),))

    def __repr__(self) -> str:
        return f"TaskKind({str(self)!r}, {self.family.value})"

    def __copy__(self) -> TaskKind:
        return self

    def __deepcopy__(self, memo: Any) -> TaskKind:
        return self

    @property
    def value(self) -> str:
        return str(self)

    @property
    def is_classification(self) -> bool:
        return self.family is Family.CLASSIFICATION

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.labels if self.family is Family.CLASSIFICATION else ()

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def tag_names(self) -> tuple[str, ...]:
        return self.labels if self.family is Family.TAGGING else ()

    @property
    def dimensions(self) -> tuple[str, ...]:
        """Dimension names of a regression or sequence-regression task."""
        regression = (Family.REGRESSION, Family.SEQUENCE_REGRESSION)
        return self.labels if self.family in regression else ()

    def read_target(self, track: Track, task: Task) -> Any:
        """One track's target (None: no such label), by the declared rule or ``read_label``."""
        if self._rule is not None:
            return self._rule(track, task)
        return read_label(self, track.labels.get(str(self)))

    @classmethod
    def parse(cls, value: str | TaskKind) -> TaskKind:
        if isinstance(value, TaskKind):
            return value
        _load_declaring_modules()
        key = str(value).strip().lower()
        if key not in TASK_KINDS:
            raise TaskError(
                f"unknown task {value!r}; available: {', '.join(TASK_KINDS.names())}"
            )
        return TASK_KINDS.get(key)

    @classmethod
    def all(cls) -> list[TaskKind]:
        """Every declared task, by name."""
        _load_declaring_modules()
        return [kind for _, kind in TASK_KINDS.items()]


_SPACE = {
    Family.CLASSIFICATION: "classes",
    Family.TAGGING: "tags",
    Family.REGRESSION: "dimensions",
    Family.SEQUENCE_REGRESSION: "dimensions",
}

TASK_KINDS: Registry[TaskKind] = Registry("task")


def task_by_name(name: str) -> TaskKind:
    """The declared task called ``name`` (how a pickled ``TaskKind`` comes back)."""
    return TaskKind.parse(name)


def _load_declaring_modules() -> None:
    """Import the modules that declare tasks (shared tasks and every dataset module)."""
    import importlib

    importlib.import_module("mer_bench.tasks")
    importlib.import_module("mer_bench.data")


def read_label(kind: TaskKind, value: Any) -> Any:
    """A generic label (``Track.labels[task]``) in its task's target form; None if absent.

    classification: a class name or index -> int index; tagging: tag names (all 1), or
    ``{tag: share}`` (soft) -> float [T]; regression: [D] numbers; sequence regression:
    [T, D] numbers. Values outside the task's label space raise ``TaskError``.
    """
    if value is None:
        return None
    fam = kind.family
    if fam is Family.CLASSIFICATION:
        index = kind.labels.index(value) if value in kind.labels else value
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise TaskError(f"{kind}: {value!r} is not one of {kind.labels}")
        if not 0 <= int(index) < len(kind.labels):
            raise TaskError(f"{kind}: class index {index} outside 0..{len(kind.labels) - 1}")
        return int(index)
    if fam is Family.TAGGING:
        shares = dict(value) if isinstance(value, Mapping) else dict.fromkeys(value, 1.0)
        unknown_tags = set(shares) - set(kind.labels)
        if unknown_tags:
            raise TaskError(f"{kind}: unknown tags {sorted(unknown_tags)}")
        vector = np.array([float(shares.get(t, 0.0)) for t in kind.labels])
        if not np.all((vector >= 0) & (vector <= 1)):
            raise TaskError(f"{kind}: tag values must lie in [0, 1]")
        return vector
    if fam in (Family.REGRESSION, Family.SEQUENCE_REGRESSION):
        array = np.asarray(value, dtype=float)
        ndim = 1 if fam is Family.REGRESSION else 2
        if array.ndim != ndim or array.shape[-1] != len(kind.labels):
            raise TaskError(f"{kind}: want {ndim}-d values over {kind.labels}, not {array.shape}")
        return None if array.size == 0 else array
    raise TaskError(f"{kind} ({fam.value}) has no per-track label")


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
    strings such as ``artist``, ``genre`` or ``official_split``. ``labels`` is the
    generic label store a dataset's own tasks read (``TaskKind.read_target``): typed
    values keyed by task name (a class name, ``{tag: share}``, numbers), see
    ``read_label``; the V/A fields above serve the shared tasks of ``mer_bench.tasks``.
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
    labels: Mapping[str, Any] = field(default_factory=dict)

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
    # a dataset's override of ``kind.positive_share`` (e.g. ``emotify(positive_share=...)``)
    positive_share: float | None = None

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
        return self.kind.read_target(track, self)

    @property
    def binarise_at(self) -> float:
        """The rater share from which a soft tag counts as positive (tagging truth)."""
        return self.kind.positive_share if self.positive_share is None else self.positive_share


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
