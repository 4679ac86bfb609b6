"""The tasks several datasets share: the valence/arousal family and the two retrievals.

DEAM, PMEmo, emoMusic and the synthetic sets annotate valence and arousal, so they
serve the same seven tasks; 4Q serves the class tasks from its annotated quadrants.
A dataset with a label space of its own declares its tasks in its own module instead
(``TaskKind.declare``, see ``mer_bench/data/emotify.py``).

Canonical conventions (DESIGN.md): valence and arousal on [-1, 1], column 0 valence,
column 1 arousal; quadrants follow Russell (Q1 A+V+, Q2 A+V-, Q3 A-V-, Q4 A-V+),
numbered 1..4 on tracks and 0..3 as class indices.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mer_bench.types import AROUSAL, VALENCE, Family, Task, TaskKind, Track, quadrant_of

VA_DIMENSIONS = ("valence", "arousal")


def _quadrant(track: Track, task: Task) -> int | None:
    """Annotated quadrant, else the one of the static V/A moved by the task's thresholds."""
    q = track.quadrant
    if q is None and track.static_va is not None:
        q = quadrant_of(
            track.static_va[VALENCE] - task.valence_threshold,
            track.static_va[AROUSAL] - task.arousal_threshold,
        )
    return None if q is None else q - 1


def _binary(axis: int) -> Any:
    """Static V/A at the task's threshold; from the quadrant where only that exists (4Q):
    positive valence = Q1, Q4; high arousal = Q1, Q2."""

    def rule(track: Track, task: Task) -> int | None:
        if track.static_va is not None:
            threshold = task.valence_threshold if axis == VALENCE else task.arousal_threshold
            return int(track.static_va[axis] >= threshold)
        if track.quadrant is not None:
            positive = (1, 4) if axis == VALENCE else (1, 2)
            return int(track.quadrant in positive)
        return None

    return rule


def _static_va(track: Track, task: Task) -> np.ndarray | None:
    return None if track.static_va is None else np.asarray(track.static_va, dtype=float)


def _dynamic_va(track: Track, task: Task) -> np.ndarray | None:
    if track.dynamic_va is None or len(track.dynamic_va) == 0:
        return None
    return np.asarray(track.dynamic_va, dtype=float)


def _mood_tags(track: Track, task: Task) -> tuple[str, ...] | None:
    """A text item's emotion, or a clip's mood tags, in its dataset's vocabulary."""
    return tuple(track.tags) or None


QUADRANT = TaskKind.declare(
    "quadrant", Family.CLASSIFICATION, ("Q1", "Q2", "Q3", "Q4"), target=_quadrant,
    description="Russell quadrant of the static valence/arousal",
)
BINARY_VALENCE = TaskKind.declare(
    "binary_valence", Family.CLASSIFICATION, ("negative", "positive"), target=_binary(VALENCE),
    description="valence below / above the threshold",
)
BINARY_AROUSAL = TaskKind.declare(
    "binary_arousal", Family.CLASSIFICATION, ("low", "high"), target=_binary(AROUSAL),
    description="arousal below / above the threshold",
)
STATIC_VA = TaskKind.declare(
    "static_va", Family.REGRESSION, VA_DIMENSIONS, target=_static_va,
    description="one (valence, arousal) point per clip",
)
DYNAMIC_VA = TaskKind.declare(
    "dynamic_va", Family.SEQUENCE_REGRESSION, VA_DIMENSIONS, target=_dynamic_va,
    description="(valence, arousal) per time step",
)
M2E_E2M_RETRIEVAL = TaskKind.declare(
    "m2e_e2m_retrieval", Family.MUSIC_EMOTION_RETRIEVAL, target=_dynamic_va,
    description="music <-> emotion-curve retrieval",
)
TEXT2MUSIC_RETRIEVAL = TaskKind.declare(
    "text2music_retrieval", Family.TEXT_MUSIC_RETRIEVAL, target=_mood_tags,
    description="text emotion -> music mood retrieval",
)

# what a dataset with static and dynamic V/A annotations serves (DEAM, PMEmo, EiM, synth):
# classes derive from the static V/A (see ``_quadrant``), retrieval pairs music with its curve
VA_ANNOTATED_TASKS = frozenset(
    {STATIC_VA, DYNAMIC_VA, M2E_E2M_RETRIEVAL, QUADRANT, BINARY_VALENCE, BINARY_AROUSAL}
)
CLASS_VA_TASKS = frozenset({QUADRANT, BINARY_VALENCE, BINARY_AROUSAL})
