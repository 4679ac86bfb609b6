"""One scorer per task kind, turning (targets, predictions) into named metrics.

The prediction format of each kind is fixed here so that methods, the trainer
and the leaderboard agree on it; scorers register themselves in ``SCORERS``
under the ``TaskKind`` value, and ``score`` dispatches on the kind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mer_bench.errors import MerBenchError
from mer_bench.metrics import classification, regression, retrieval
from mer_bench.metrics._checks import as_labels_1d, to_float_array
from mer_bench.registry import Registry
from mer_bench.types import AROUSAL, VALENCE, EmotionBridge, TaskKind

Scorer = Callable[[Any, Any], dict[str, float]]

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
    return SCORERS.get(task.value)(y_true, y_pred)


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


@SCORERS.register(TaskKind.QUADRANT.value)
def score_quadrant(y_true: Any, y_pred: Any) -> dict[str, float]:
    """Russell quadrant classification (Q1..Q4 as classes 0..3)."""
    return _classification(TaskKind.QUADRANT, y_true, y_pred)


@SCORERS.register(TaskKind.BINARY_VALENCE.value)
def score_binary_valence(y_true: Any, y_pred: Any) -> dict[str, float]:
    """Negative (0) / positive (1) valence."""
    return _classification(TaskKind.BINARY_VALENCE, y_true, y_pred)


@SCORERS.register(TaskKind.BINARY_AROUSAL.value)
def score_binary_arousal(y_true: Any, y_pred: Any) -> dict[str, float]:
    """Low (0) / high (1) arousal."""
    return _classification(TaskKind.BINARY_AROUSAL, y_true, y_pred)


# --- valence / arousal regression -------------------------------------------

_VA_METRICS: tuple[tuple[str, Callable[[Any, Any], float]], ...] = (
    ("r2", regression.r2),
    ("rmse", regression.rmse),
    ("pearson", regression.pearson_r),
    ("ccc", regression.ccc),
)


def _va_array(x: Any, name: str) -> np.ndarray:
    arr = to_float_array(x, name)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise MerBenchError(f"{name} must be [N, 2] (valence, arousal), got {arr.shape}")
    return arr


def _va_metrics(t: np.ndarray, p: np.ndarray) -> dict[str, float]:
    if len(t) != len(p):
        raise MerBenchError(f"length mismatch: y_true has {len(t)} items, y_pred has {len(p)}")
    out: dict[str, float] = {}
    for key, fn in _VA_METRICS:
        v = fn(t[:, VALENCE], p[:, VALENCE])
        a = fn(t[:, AROUSAL], p[:, AROUSAL])
        out[f"{key}_valence"] = v
        out[f"{key}_arousal"] = a
        out[key] = (v + a) / 2
    return out


@SCORERS.register(TaskKind.STATIC_VA.value)
def score_static_va(y_true: Any, y_pred: Any) -> dict[str, float]:
    """Per-clip (valence, arousal): ``y_true`` and ``y_pred`` float ``[N, 2]``.

    Besides r2, rmse, pearson and ccc: ``sqrt_r2`` = sqrt(max(R², 0)), what
    Takashima et al. print as "R" (their code returns sqrt(r2)); averaged over
    folds like every fold metric, as their 10-fold means are.
    """
    out = _va_metrics(_va_array(y_true, "y_true"), _va_array(y_pred, "y_pred"))
    for axis in ("valence", "arousal"):
        out[f"sqrt_r2_{axis}"] = float(np.sqrt(max(out[f"r2_{axis}"], 0.0)))
    out["sqrt_r2"] = (out["sqrt_r2_valence"] + out["sqrt_r2_arousal"]) / 2
    return out


def _as_sequences(x: Any, name: str) -> Sequence[Any]:
    if x is None or isinstance(x, (str, bytes)) or not hasattr(x, "__len__"):
        raise MerBenchError(f"{name} must be a list of [T_i, 2] arrays, got {type(x).__name__}")
    return x


_SONG_METRICS: tuple[tuple[str, Callable[[Any, Any], float]], ...] = (
    ("rmse_song", regression.rmse),
    ("pearson_song", regression.song_pearson_r),
)


@SCORERS.register(TaskKind.DYNAMIC_VA.value)
def score_dynamic_va(y_true: Any, y_pred: Any) -> dict[str, float]:
    """Per-step (valence, arousal): lists of ``[T_i, 2]`` arrays, one per song.

    Frame-level metrics (r2, rmse, pearson, ccc) pool all frames of all songs.
    The song-level ones follow MediaEval's Emotion in Music evaluation: RMSE and
    Pearson's r of each song's curve against its prediction, per dimension, then
    averaged over songs (``rmse_song_valence``, ``pearson_song_arousal``...), so
    long songs do not dominate; the unsuffixed key is the mean of the two
    dimensions. A song whose r is undefined (a constant prediction or a flat
    annotation) counts as r = 0 (``regression.song_pearson_r``).
    """
    ts = _as_sequences(y_true, "y_true")
    ps = _as_sequences(y_pred, "y_pred")
    if len(ts) != len(ps):
        raise MerBenchError(f"length mismatch: y_true has {len(ts)} songs, y_pred has {len(ps)}")
    if len(ts) == 0:
        raise MerBenchError("dynamic_va scoring needs at least one song, got 0")
    t_all, p_all = [], []
    per_song: dict[str, list[float]] = {}
    for i, (t_i, p_i) in enumerate(zip(ts, ps, strict=True)):
        t = _va_array(t_i, f"y_true[{i}]")
        p = _va_array(p_i, f"y_pred[{i}]")
        if len(t) != len(p):
            raise MerBenchError(f"song {i}: y_true has {len(t)} frames, y_pred has {len(p)}")
        if len(t) == 0:
            raise MerBenchError(f"song {i} has no frames")
        for key, fn in _SONG_METRICS:
            for axis, col in (("valence", VALENCE), ("arousal", AROUSAL)):
                per_song.setdefault(f"{key}_{axis}", []).append(fn(t[:, col], p[:, col]))
        t_all.append(t)
        p_all.append(p)
    out = _va_metrics(np.concatenate(t_all), np.concatenate(p_all))
    for key, _ in _SONG_METRICS:
        v = float(np.mean(per_song[f"{key}_valence"]))
        a = float(np.mean(per_song[f"{key}_arousal"]))
        out[key], out[f"{key}_valence"], out[f"{key}_arousal"] = (v + a) / 2, v, a
    return out


# --- retrieval --------------------------------------------------------------

_KS = (1, 5, 10)


@SCORERS.register(TaskKind.M2E_E2M_RETRIEVAL.value)
def score_m2e_e2m(y_true: Any, y_pred: Any) -> dict[str, float]:
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


@SCORERS.register(TaskKind.TEXT2MUSIC_RETRIEVAL.value)
def score_text2music(y_true: Any, y_pred: Any) -> dict[str, float]:
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
