"""One scorer per task family, turning (targets, predictions) into named metrics.

The prediction format of each family is fixed here so that methods, the trainer
and the leaderboard agree on it; scorers register themselves in ``SCORERS``
under the ``Family`` value, and ``score`` dispatches on the task's family. A scorer
takes the task (its label space names per-class, per-tag or per-dimension keys).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mer_bench.errors import MerBenchError
from mer_bench.metrics import classification, regression, retrieval, tagging
from mer_bench.metrics._checks import as_labels_1d, to_float_array
from mer_bench.registry import Registry
from mer_bench.types import EmotionBridge, Family, TaskKind

Scorer = Callable[[TaskKind, Any, Any], dict[str, float]]

SCORERS: Registry[Scorer] = Registry("scorer")

# Metrics where a smaller value is better; every other key is higher-is-better.
_LOWER_IS_BETTER_PREFIXES = ("rmse", "mean_rank", "median_rank")


def higher_is_better(metric: str) -> bool:
    """Direction of a score key (``rmse*`` and ``*mean_rank``/``*median_rank`` are lower)."""
    name = metric.split("_", 1)[1] if metric.startswith(("m2e_", "e2m_")) else metric
    return not name.startswith(_LOWER_IS_BETTER_PREFIXES)


def score(kind: TaskKind | str, y_true: Any, y_pred: Any) -> dict[str, float]:
    """All metrics of ``kind`` for one test set, as plain Python floats."""
    task = TaskKind.parse(kind)
    return SCORERS.get(task.family.value)(task, y_true, y_pred)


# --- classification ---------------------------------------------------------


def _classification(kind: TaskKind, y_true: Any, y_pred: Any) -> dict[str, float]:
    """``y_true`` int ``[N]``, ``y_pred`` class scores ``[N, C]`` (argmax = prediction)."""
    n_classes = kind.n_classes
    t = as_labels_1d(y_true, "y_true")
    scores = to_float_array(y_pred, "y_pred")
    if scores.ndim != 2 or scores.shape[1] != n_classes:
        raise MerBenchError(
            f"{kind.value} predictions must be class scores [N, {n_classes}], got {scores.shape}"
        )
    if len(scores) != len(t):
        raise MerBenchError(f"length mismatch: y_true has {len(t)} items, y_pred has {len(scores)}")
    if not np.all(np.isfinite(scores)):
        raise MerBenchError(f"{kind.value} class scores contain nan/inf")
    if t.max() >= n_classes:
        raise MerBenchError(
            f"y_true has class index {int(t.max())}, but {kind.value} has {n_classes} classes"
        )
    p = scores.argmax(axis=1)
    f1 = classification.per_class_f1(t, p, n_classes)
    precision = classification.per_class_precision(t, p, n_classes)
    recall = classification.per_class_recall(t, p, n_classes)
    out = {
        "accuracy": classification.accuracy(t, p),
        "macro_f1": float(np.mean(f1)),
        # scikit-learn's "weighted avg" (Koh & Dubnov's F): class sizes as weights
        "weighted_f1": classification.weighted_f1(t, p, n_classes),
        "weighted_precision": classification.weighted_precision(t, p, n_classes),
    }
    for name, f, pr, rc in zip(kind.class_names, f1, precision, recall, strict=True):
        out[f"f1_{name}"] = float(f)
        out[f"precision_{name}"] = float(pr)
        out[f"recall_{name}"] = float(rc)
    return out


@SCORERS.register(Family.CLASSIFICATION.value)
def score_classification(kind: TaskKind, y_true: Any, y_pred: Any) -> dict[str, float]:
    """Single-label classes (quadrants, binary valence/arousal, a dataset's own classes)."""
    return _classification(kind, y_true, y_pred)


# --- regression over named dimensions (static and dynamic V/A are two) -------

_DIM_METRICS: tuple[tuple[str, Callable[[Any, Any], float]], ...] = (
    ("r2", regression.r2),
    ("rmse", regression.rmse),
    ("pearson", regression.pearson_r),
    ("ccc", regression.ccc),
)


def _dims_array(x: Any, name: str, dims: tuple[str, ...]) -> np.ndarray:
    arr = to_float_array(x, name)
    if arr.ndim != 2 or arr.shape[1] != len(dims):
        raise MerBenchError(f"{name} must be [N, {len(dims)}] ({', '.join(dims)}), got {arr.shape}")
    return arr


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _dim_metrics(t: np.ndarray, p: np.ndarray, dims: tuple[str, ...]) -> dict[str, float]:
    """Each metric per dimension (``r2_valence``) and their mean (``r2``)."""
    if len(t) != len(p):
        raise MerBenchError(f"length mismatch: y_true has {len(t)} items, y_pred has {len(p)}")
    out: dict[str, float] = {}
    for key, fn in _DIM_METRICS:
        values = [fn(t[:, col], p[:, col]) for col in range(len(dims))]
        out.update({f"{key}_{dim}": v for dim, v in zip(dims, values, strict=True)})
        out[key] = _mean(values)
    return out


@SCORERS.register(Family.REGRESSION.value)
def score_regression(kind: TaskKind, y_true: Any, y_pred: Any) -> dict[str, float]:
    """Per-clip values of the task's dimensions: ``y_true`` and ``y_pred`` float ``[N, D]``.

    Besides r2, rmse, pearson and ccc: ``sqrt_r2`` = sqrt(max(R², 0)), what
    Takashima et al. print as "R" for static V/A (their code returns sqrt(r2));
    averaged over folds like every fold metric, as their 10-fold means are.
    """
    dims = kind.dimensions
    t, p = _dims_array(y_true, "y_true", dims), _dims_array(y_pred, "y_pred", dims)
    out = _dim_metrics(t, p, dims)
    for dim in dims:
        out[f"sqrt_r2_{dim}"] = float(np.sqrt(max(out[f"r2_{dim}"], 0.0)))
    out["sqrt_r2"] = _mean([out[f"sqrt_r2_{dim}"] for dim in dims])
    return out


def _as_sequences(x: Any, name: str) -> Sequence[Any]:
    if x is None or isinstance(x, (str, bytes)) or not hasattr(x, "__len__"):
        raise MerBenchError(f"{name} must be a list of [T_i, D] arrays, got {type(x).__name__}")
    return x


_SONG_METRICS: tuple[tuple[str, Callable[[Any, Any], float]], ...] = (
    ("rmse_song", regression.rmse),
    ("pearson_song", regression.song_pearson_r),
)


@SCORERS.register(Family.SEQUENCE_REGRESSION.value)
def score_sequence_regression(kind: TaskKind, y_true: Any, y_pred: Any) -> dict[str, float]:
    """Per-step values (dynamic V/A): lists of ``[T_i, D]`` arrays, one per song.

    Frame-level metrics (r2, rmse, pearson, ccc) pool all frames of all songs.
    The song-level ones follow MediaEval's Emotion in Music evaluation: RMSE and
    Pearson's r of each song's curve against its prediction, per dimension, then
    averaged over songs (``rmse_song_valence``, ``pearson_song_arousal``...), so
    long songs do not dominate; the unsuffixed key is the mean over the
    dimensions. A song whose r is undefined (a constant prediction or a flat
    annotation) counts as r = 0 (``regression.song_pearson_r``).
    """
    dims = kind.dimensions
    ts = _as_sequences(y_true, "y_true")
    ps = _as_sequences(y_pred, "y_pred")
    if len(ts) != len(ps):
        raise MerBenchError(f"length mismatch: y_true has {len(ts)} songs, y_pred has {len(ps)}")
    if len(ts) == 0:
        raise MerBenchError(f"{kind.value} scoring needs at least one song, got 0")
    t_all, p_all = [], []
    per_song: dict[str, list[float]] = {}
    for i, (t_i, p_i) in enumerate(zip(ts, ps, strict=True)):
        t = _dims_array(t_i, f"y_true[{i}]", dims)
        p = _dims_array(p_i, f"y_pred[{i}]", dims)
        if len(t) != len(p):
            raise MerBenchError(f"song {i}: y_true has {len(t)} frames, y_pred has {len(p)}")
        if len(t) == 0:
            raise MerBenchError(f"song {i} has no frames")
        for key, fn in _SONG_METRICS:
            for col, dim in enumerate(dims):
                per_song.setdefault(f"{key}_{dim}", []).append(fn(t[:, col], p[:, col]))
        t_all.append(t)
        p_all.append(p)
    out = _dim_metrics(np.concatenate(t_all), np.concatenate(p_all), dims)
    for key, _ in _SONG_METRICS:
        values = [float(np.mean(per_song[f"{key}_{dim}"])) for dim in dims]
        out[key] = _mean(values)
        out.update({f"{key}_{dim}": v for dim, v in zip(dims, values, strict=True)})
    return out


# --- retrieval --------------------------------------------------------------

_KS = (1, 5, 10)


@SCORERS.register(Family.MUSIC_EMOTION_RETRIEVAL.value)
def score_m2e_e2m(kind: TaskKind, y_true: Any, y_pred: Any) -> dict[str, float]:
    """Music <-> emotion retrieval. Item ``i`` matches item ``i``; ``y_true`` is ignored.

    ``y_pred`` is either one sim ``[N, N]`` (rows music, cols emotion; ``e2m_*``
    are computed on its transpose) or, for methods whose E2M score is not the
    transpose of their M2E score (EMER-CL's regression-based score), a dict
    ``{"m2e": [music, emotion], "e2m": [emotion, music]}`` scored direction by
    direction. ``mrr`` averages both directions.
    """
    if isinstance(y_pred, dict):
        missing = {"m2e", "e2m"} - set(y_pred)
        if missing:
            raise MerBenchError(f"m2e_e2m_retrieval prediction lacks {sorted(missing)}")
        directions = {k: _square(y_pred[k], k) for k in ("m2e", "e2m")}
        if directions["m2e"].shape != directions["e2m"].shape:
            raise MerBenchError("m2e and e2m similarity matrices differ in shape")
    else:
        sim = _square(y_pred, "y_pred")
        directions = {"m2e": sim, "e2m": sim.T}
    out: dict[str, float] = {}
    for prefix, matrix in directions.items():
        for key, value in retrieval.retrieval_metrics(matrix, None, recall_ks=_KS).items():
            out[f"{prefix}_{key}"] = value
    out["mrr"] = (out["m2e_mrr"] + out["e2m_mrr"]) / 2
    return out


def _square(matrix: Any, name: str) -> Any:
    sim = to_float_array(matrix, name)
    if sim.ndim != 2 or sim.shape[0] != sim.shape[1]:
        raise MerBenchError(f"m2e_e2m_retrieval needs a square similarity matrix, got {sim.shape}")
    return sim


@dataclass(frozen=True)
class Text2MusicTruth:
    """Ground truth of one text-to-music test set: labels on both sides and their bridge."""

    text_labels: tuple[str, ...]
    music_labels: tuple[tuple[str, ...], ...]
    bridge: EmotionBridge

    def relevance(self, mapping: str) -> np.ndarray:
        """bool [texts, clips]: a clip is relevant when one of its moods is mapped to the
        text's emotion under ``mapping``."""
        relevant = {e: set(self.bridge.relevant(mapping, e)) for e in set(self.text_labels)}
        rows = [[bool(relevant[e] & set(m)) for m in self.music_labels] for e in self.text_labels]
        return np.array(rows, dtype=bool).reshape(len(self.text_labels), len(self.music_labels))


_T2M_KS = (5,)


@SCORERS.register(Family.TEXT_MUSIC_RETRIEVAL.value)
def score_text2music(kind: TaskKind, y_true: Any, y_pred: Any) -> dict[str, float]:
    """Text -> music retrieval, ``y_pred`` sim ``[texts, clips]``.

    With a ``Text2MusicTruth`` (what the runner passes): macro ``mrr`` and
    ``precision@5`` (per text emotion, then averaged over emotions) under every
    mapping of the bridge as ``{mapping}_mrr`` / ``{mapping}_precision@5``, the
    unsuffixed keys under ``bridge.primary``. Queries whose emotion has no
    relevant clip in the test set under a mapping are left out of that
    mapping's scores (``{mapping}_queries`` says how many were scored). A query
    the method could not answer (an all-NaN row) scores 0 and is counted in
    ``unanswered_queries``. With a bool relevance matrix ``[Q, C]``: the micro
    rank metrics of every query.
    """
    if y_true is None:
        raise MerBenchError("text2music_retrieval needs a relevance matrix as y_true, got None")
    if not isinstance(y_true, Text2MusicTruth):
        return retrieval.retrieval_metrics(y_pred, y_true, recall_ks=_KS, precision_ks=_KS)
    sim = to_float_array(y_pred, "y_pred")
    shape = (len(y_true.text_labels), len(y_true.music_labels))
    if sim.shape != shape:
        raise MerBenchError(
            f"text2music prediction must be [texts, clips] = {shape}, got {sim.shape}"
        )
    out: dict[str, float] = {"unanswered_queries": float(retrieval.unanswered_rows(sim).sum())}
    for mapping in sorted(y_true.bridge.mappings):
        relevance = y_true.relevance(mapping)
        keep = relevance.any(axis=1)
        out[f"{mapping}_queries"] = float(keep.sum())
        if not keep.any():
            continue
        classes = np.asarray(y_true.text_labels)[keep]
        values = retrieval.class_macro_retrieval_metrics(
            sim[keep], relevance[keep], classes, precision_ks=_T2M_KS
        )
        out.update({f"{mapping}_{k}": v for k, v in values.items()})
    primary = y_true.bridge.primary
    for key in ("mrr", *(f"precision@{k}" for k in _T2M_KS)):
        if f"{primary}_{key}" in out:
            out[key] = out[f"{primary}_{key}"]
    return out


# --- multi-label tagging ----------------------------------------------------


@SCORERS.register(Family.TAGGING.value)
def score_tagging(kind: TaskKind, y_true: Any, y_pred: Any) -> dict[str, float]:
    """Tags: ``y_true`` 0/1 ``[N, T]`` (soft targets binarised at the task's
    ``positive_share`` by the runner), ``y_pred`` tag probabilities ``[N, T]``.
    Metrics and the rule for tags absent from the scored part: ``metrics.tagging``."""
    t, p = tagging.tag_arrays(y_true, y_pred, len(kind.tag_names))
    return tagging.tagging_metrics(t, p, kind.tag_names)
