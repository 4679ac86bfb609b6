"""Per-task scorers: prediction formats, exact keys, values vs references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from mer_bench.errors import MerBenchError
from mer_bench.metrics import SCORERS, higher_is_better, score
from mer_bench.metrics.retrieval import retrieval_metrics
from mer_bench.tasks import BINARY_AROUSAL, BINARY_VALENCE, M2E_E2M_RETRIEVAL, QUADRANT, STATIC_VA
from mer_bench.types import Family, TaskKind

SEEDS = range(4)
RETRIEVAL_KEYS = ["mrr", "mean_rank", "median_rank", "recall@1", "recall@5", "recall@10"]
VA_KEYS = [
    f"{m}{suffix}"
    for m in ("r2", "rmse", "pearson", "ccc")
    for suffix in ("_valence", "_arousal", "")
]


def _all_python_floats(out: dict[str, float]) -> bool:
    return all(type(v) is float for v in out.values())


def test_every_task_family_has_a_scorer() -> None:
    assert SCORERS.names() == sorted(f.value for f in Family)


def test_unknown_kind_raises() -> None:
    with pytest.raises(MerBenchError, match="unknown task"):
        score("genre", [0], [[1.0]])


@pytest.mark.parametrize(
    "kind", [QUADRANT, BINARY_VALENCE, BINARY_AROUSAL]
)
@pytest.mark.parametrize("seed", SEEDS)
def test_classification_scores(kind: TaskKind, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, c = 30, kind.n_classes
    y_true = rng.integers(0, c, n)
    y_pred = rng.normal(size=(n, c))
    y_pred[np.arange(n), y_true] += 0.8
    out = score(kind.value, y_true, y_pred)
    per_name = [f"{m}_{name}" for name in kind.class_names for m in ("f1", "precision", "recall")]
    assert list(out) == ["accuracy", "macro_f1", "weighted_f1", "weighted_precision", *per_name]
    labels = y_pred.argmax(axis=1)
    assert out["accuracy"] == pytest.approx(skm.accuracy_score(y_true, labels))
    assert out["macro_f1"] == pytest.approx(
        skm.f1_score(y_true, labels, average="macro", labels=range(c), zero_division=0)
    )
    per_class = skm.f1_score(y_true, labels, average=None, labels=range(c), zero_division=0)
    for name, value in zip(kind.class_names, per_class, strict=True):
        assert out[f"f1_{name}"] == pytest.approx(value)
    assert out["weighted_f1"] == pytest.approx(
        skm.f1_score(y_true, labels, average="weighted", labels=range(c), zero_division=0)
    )
    report = skm.precision_recall_fscore_support(
        y_true, labels, labels=range(c), zero_division=0
    )
    for i, name in enumerate(kind.class_names):
        assert out[f"precision_{name}"] == pytest.approx(report[0][i])
        assert out[f"recall_{name}"] == pytest.approx(report[1][i])
    assert _all_python_floats(out)
    assert score(kind, y_true, y_pred) == out


def test_quadrant_hand_worked() -> None:
    y_true = [0, 1, 2, 3, 0]
    y_pred = np.eye(4)[[0, 1, 2, 2, 1]]  # one-hot scores: predicts 0, 1, 2, 2, 1
    out = score("quadrant", y_true, y_pred)
    assert out["accuracy"] == pytest.approx(3 / 5)
    # Q1: tp1 fn1 -> 2/3; Q2: tp1 fp1 -> 2/3; Q3: tp1 fp1 -> 2/3; Q4: 0
    assert out["f1_Q1"] == pytest.approx(2 / 3)
    assert out["f1_Q4"] == 0.0
    assert out["macro_f1"] == pytest.approx(0.5)


def test_classification_bad_inputs() -> None:
    with pytest.raises(MerBenchError, match=r"\[N, 4\]"):
        score("quadrant", [0, 1], np.zeros((2, 3)))
    with pytest.raises(MerBenchError, match=r"\[N, 2\]"):
        score("binary_valence", [0, 1], [0, 1])  # labels instead of class scores
    with pytest.raises(MerBenchError, match=r"3 items.*2"):
        score("binary_arousal", [0, 1, 1], np.zeros((2, 2)))
    with pytest.raises(MerBenchError, match="class index 2"):
        score("binary_arousal", [0, 2], np.zeros((2, 2)))
    with pytest.raises(MerBenchError, match="nan"):
        score("binary_arousal", [0, 1], [[np.nan, 0.0], [0.0, 1.0]])


@pytest.mark.parametrize("seed", SEEDS)
def test_static_va(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y_true = rng.uniform(-1, 1, (40, 2))
    y_pred = 0.5 * y_true + rng.normal(0, 0.3, (40, 2))
    out = score(STATIC_VA, y_true, y_pred)
    assert list(out) == [*VA_KEYS, "sqrt_r2_valence", "sqrt_r2_arousal", "sqrt_r2"]
    for col, dim in enumerate(("valence", "arousal")):
        t, p = y_true[:, col], y_pred[:, col]
        assert out[f"r2_{dim}"] == pytest.approx(skm.r2_score(t, p))
        assert out[f"rmse_{dim}"] == pytest.approx(np.sqrt(skm.mean_squared_error(t, p)))
        assert out[f"pearson_{dim}"] == pytest.approx(stats.pearsonr(t, p)[0])
    for m in ("r2", "rmse", "pearson", "ccc"):
        assert out[m] == pytest.approx((out[f"{m}_valence"] + out[f"{m}_arousal"]) / 2)
    assert _all_python_floats(out)


def test_static_va_constant_prediction() -> None:
    y_true = np.array([[0.1, 0.5], [-0.3, 0.2], [0.6, -0.4]])
    out = score("static_va", y_true, np.zeros((3, 2)))
    assert math.isnan(out["pearson"]) and math.isnan(out["pearson_valence"])
    assert out["ccc"] == 0.0


def test_static_va_bad_shapes() -> None:
    with pytest.raises(MerBenchError, match=r"\[N, 2\]"):
        score("static_va", np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(MerBenchError, match=r"3 items.*4"):
        score("static_va", np.zeros((3, 2)), np.zeros((4, 2)))


def test_dynamic_va_pools_frames_and_adds_song_rmse() -> None:
    rng = np.random.default_rng(0)
    lengths = [5, 9, 3]
    y_true = [rng.uniform(-1, 1, (t, 2)) for t in lengths]
    y_pred = [y + rng.normal(0, 0.2, y.shape) for y in y_true]
    out = score("dynamic_va", y_true, y_pred)
    assert list(out) == [*VA_KEYS, "rmse_song", "rmse_song_valence", "rmse_song_arousal",
                         "pearson_song", "pearson_song_valence", "pearson_song_arousal"]
    pooled = score("static_va", np.concatenate(y_true), np.concatenate(y_pred))
    for key in VA_KEYS:
        assert out[key] == pytest.approx(pooled[key])
    per_song = [
        np.mean([np.sqrt(skm.mean_squared_error(t[:, d], p[:, d])) for d in (0, 1)])
        for t, p in zip(y_true, y_pred, strict=True)
    ]
    assert out["rmse_song"] == pytest.approx(np.mean(per_song))
    assert _all_python_floats(out)


def test_dynamic_va_hand_worked_song_rmse() -> None:
    y_true = [np.zeros((2, 2)), np.zeros((4, 2))]
    # song 0: valence errors 1, 1 (rmse 1), arousal 0 -> 0.5
    # song 1: valence 0, arousal errors 2 everywhere (rmse 2) -> 1.0
    y_pred = [np.array([[1.0, 0.0], [-1.0, 0.0]]), np.tile([0.0, 2.0], (4, 1))]
    out = score("dynamic_va", y_true, y_pred)
    assert out["rmse_song"] == pytest.approx(0.75)
    # pooled: valence 2 of 6 frames off by 1 -> sqrt(2/6); arousal 4 of 6 off by 2 -> sqrt(16/6)
    assert out["rmse_valence"] == pytest.approx(np.sqrt(2 / 6))
    assert out["rmse_arousal"] == pytest.approx(np.sqrt(16 / 6))


def test_dynamic_va_bad_inputs_name_the_song() -> None:
    good = [np.zeros((3, 2)), np.zeros((4, 2))]
    with pytest.raises(MerBenchError, match="song 1: y_true has 4 frames, y_pred has 5"):
        score("dynamic_va", good, [np.zeros((3, 2)), np.zeros((5, 2))])
    with pytest.raises(MerBenchError, match="2 songs, y_pred has 1"):
        score("dynamic_va", good, good[:1])
    with pytest.raises(MerBenchError, match=r"y_pred\[0\]"):
        score("dynamic_va", good, [np.zeros(3), np.zeros((4, 2))])
    with pytest.raises(MerBenchError, match="at least one song"):
        score("dynamic_va", [], [])
    with pytest.raises(MerBenchError, match="list"):
        score("dynamic_va", None, good)


def test_m2e_e2m_hand_worked() -> None:
    sim = np.array([[0.9, 0.1, 0.5], [0.8, 0.3, 0.2], [0.1, 0.7, 0.6]])
    out = score("m2e_e2m_retrieval", None, sim)
    assert list(out) == [
        *(f"m2e_{k}" for k in RETRIEVAL_KEYS),
        *(f"e2m_{k}" for k in RETRIEVAL_KEYS),
        "mrr",
    ]
    # rows (music queries): ranks 1, 2, 2; columns (emotion queries): ranks 1, 2, 1
    assert out["m2e_mrr"] == pytest.approx(2 / 3)
    assert out["m2e_median_rank"] == 2.0
    assert out["m2e_recall@1"] == pytest.approx(1 / 3)
    assert out["e2m_mrr"] == pytest.approx(5 / 6)
    assert out["e2m_mean_rank"] == pytest.approx(4 / 3)
    assert out["e2m_recall@1"] == pytest.approx(2 / 3)
    assert out["m2e_recall@5"] == out["e2m_recall@10"] == 1.0
    assert out["mrr"] == pytest.approx((2 / 3 + 5 / 6) / 2)
    assert _all_python_floats(out)


@pytest.mark.parametrize("seed", SEEDS)
def test_m2e_e2m_random(seed: int) -> None:
    sim = np.random.default_rng(seed).normal(size=(25, 25))
    out = score(M2E_E2M_RETRIEVAL, np.arange(25), sim)  # y_true ignored
    m2e, e2m = retrieval_metrics(sim), retrieval_metrics(sim.T)
    for key in RETRIEVAL_KEYS:
        assert out[f"m2e_{key}"] == m2e[key]
        assert out[f"e2m_{key}"] == e2m[key]


def test_m2e_e2m_bad_inputs() -> None:
    with pytest.raises(MerBenchError, match="square"):
        score("m2e_e2m_retrieval", None, np.zeros((3, 4)))
    with pytest.raises(MerBenchError, match="nan"):
        score("m2e_e2m_retrieval", None, [[np.nan, 0.0], [0.0, 1.0]])


def test_text2music() -> None:
    rng = np.random.default_rng(0)
    sim = rng.normal(size=(6, 12))
    rel = rng.uniform(size=(6, 12)) < 0.25
    rel[:, 3] = True
    out = score("text2music_retrieval", rel, sim)
    assert list(out) == [
        "mrr",
        "mean_rank",
        "median_rank",
        "precision@1",
        "precision@5",
        "precision@10",
        "recall@1",
        "recall@5",
        "recall@10",
    ]
    assert out == retrieval_metrics(sim, rel, recall_ks=(1, 5, 10), precision_ks=(1, 5, 10))
    assert _all_python_floats(out)


def test_text2music_hand_worked() -> None:
    sim = [[0.9, 0.8, 0.7], [0.1, 0.2, 0.3]]
    rel = [[False, True, True], [True, False, False]]
    out = score("text2music_retrieval", rel, sim)
    # query 0: first relevant at rank 2; query 1: its only relevant item is last (rank 3)
    assert out["mrr"] == pytest.approx((1 / 2 + 1 / 3) / 2)
    assert out["mean_rank"] == pytest.approx(2.5)
    assert out["precision@1"] == 0.0
    assert out["precision@5"] == pytest.approx((2 / 5 + 1 / 5) / 2)
    assert out["recall@1"] == 0.0 and out["recall@5"] == 1.0


def test_text2music_needs_relevance() -> None:
    with pytest.raises(MerBenchError, match="relevance"):
        score("text2music_retrieval", None, np.zeros((2, 2)))
    with pytest.raises(MerBenchError, match="does not match"):
        score("text2music_retrieval", np.ones((2, 3), dtype=bool), np.zeros((2, 2)))


def test_higher_is_better() -> None:
    assert higher_is_better("macro_f1") and higher_is_better("mrr")
    assert higher_is_better("m2e_recall@5") and higher_is_better("ccc_valence")
    assert not higher_is_better("rmse") and not higher_is_better("rmse_song")
    assert not higher_is_better("e2m_mean_rank") and not higher_is_better("median_rank")
    for kind in TaskKind.all():
        assert higher_is_better(kind.primary_metric)


def test_m2e_e2m_accepts_one_matrix_per_direction():
    import numpy as np

    from mer_bench.errors import MerBenchError
    from mer_bench.metrics import score

    m2e = np.eye(3)  # perfect music -> emotion
    e2m = np.array([[0.0, 1, 0], [1, 0, 0], [0, 0, 1]])  # emotions 0 and 1 swapped
    out = score("m2e_e2m_retrieval", None, {"m2e": m2e, "e2m": e2m})
    assert out["m2e_mrr"] == 1.0
    assert out["e2m_mrr"] == pytest.approx((1 / 3 + 1 / 3 + 1) / 3)  # ties rank pessimistically
    assert out["mrr"] == pytest.approx((1.0 + out["e2m_mrr"]) / 2)
    assert score("m2e_e2m_retrieval", None, m2e)["e2m_mrr"] == 1.0  # transpose of one matrix
    with pytest.raises(MerBenchError, match="lacks"):
        score("m2e_e2m_retrieval", None, {"m2e": m2e})


def test_text2music_macro_over_emotions_under_every_mapping() -> None:
    from mer_bench.metrics.scoring import Text2MusicTruth
    from mer_bench.types import EmotionBridge

    bridge = EmotionBridge(
        text_vocab=("a", "b"),
        music_vocab=("x", "y", "z"),
        mappings={"m": {"a": ("x",), "b": ("y", "z")}, "n": {"a": (), "b": ("x",)}},
        primary="m",
    )
    truth = Text2MusicTruth(("a", "a", "b"), (("x",), ("y",), ("x",), ("z",)), bridge)
    sim = [[0.9, 0.8, 0.1, 0.0], [0.1, 0.9, 0.8, 0.7], [0.5, 0.1, 0.9, 0.2]]
    out = score("text2music_retrieval", truth, sim)
    # mapping m: reciprocal ranks 1, 1/2 (emotion a) and 1/3 (emotion b): macro, not micro
    assert out["m_mrr"] == pytest.approx(((1 + 1 / 2) / 2 + 1 / 3) / 2)
    assert out["m_precision@5"] == pytest.approx(2 / 5)
    assert out["m_queries"] == 3
    # mapping n: emotion a has no relevant clip, so only the b query is scored
    assert out["n_queries"] == 1 and out["n_mrr"] == 1.0
    assert out["mrr"] == out["m_mrr"] and out["precision@5"] == out["m_precision@5"]
    with pytest.raises(MerBenchError, match="texts, clips"):
        score("text2music_retrieval", truth, np.zeros((3, 3)))


def test_static_va_sqrt_r2_is_the_root_of_a_non_negative_r2() -> None:
    """Takashima et al.'s printed "R" is sqrt(R²) per fold (negative R² counts as 0)."""
    truth = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    pred = truth.copy()
    pred[:, 0] += np.array([0.5, -0.5, 0.5, -0.5])  # valence: SSE 1, SST 5 -> R² 0.8
    pred[:, 1] = 10.0  # arousal: R² far below 0
    m = score(STATIC_VA, truth, pred)
    assert m["r2_valence"] == pytest.approx(0.8)
    assert m["sqrt_r2_valence"] == pytest.approx(0.8 ** 0.5)
    assert m["sqrt_r2_arousal"] == 0.0
    assert m["sqrt_r2"] == pytest.approx(0.8 ** 0.5 / 2)


def test_text2music_flags_and_zeroes_unanswered_queries() -> None:
    from mer_bench.metrics.scoring import Text2MusicTruth
    from mer_bench.types import EmotionBridge

    bridge = EmotionBridge(("a", "b"), ("x", "y"), {"m": {"a": ("x",), "b": ("y",)}}, primary="m")
    truth = Text2MusicTruth(("a", "b", "b"), (("x",), ("y",)), bridge)
    nan = float("nan")
    sim = [[0.9, 0.1], [nan, nan], [0.2, 0.8]]
    out = score("text2music_retrieval", truth, sim)
    assert out["unanswered_queries"] == 1.0
    # a: rank 1; b: no answer (0) and rank 1 -> macro (1 + 0.5) / 2
    assert out["mrr"] == pytest.approx((1 + (0 + 1) / 2) / 2)
    assert out["precision@5"] == pytest.approx((1 / 5 + (0 + 1 / 5) / 2) / 2)
    none = score("text2music_retrieval", truth, np.full((3, 2), np.nan))
    assert none["mrr"] == 0.0 and none["precision@5"] == 0.0  # ISEAR classification in Table 3
    assert none["unanswered_queries"] == 3.0
