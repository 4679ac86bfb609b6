"""Tasks as data: declared label spaces, the generic label store, tagging scores."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from mer_bench.errors import MerBenchError, TaskError
from mer_bench.methods import METHODS, FoldData
from mer_bench.metrics import score
from mer_bench.tasks import QUADRANT, STATIC_VA
from mer_bench.types import Family, Task, TaskKind, Track, read_label

MOOD = TaskKind("mood3", Family.CLASSIFICATION, ("calm", "tense", "sad"))
TAGS = TaskKind("tags3", Family.TAGGING, ("a", "b", "c"), positive_share=0.5)
DIMS = TaskKind("dims3", Family.REGRESSION, ("x", "y", "z"))


def test_the_shared_tasks_keep_their_names_classes_and_metrics():
    assert QUADRANT == "quadrant" and QUADRANT.class_names == ("Q1", "Q2", "Q3", "Q4")
    assert QUADRANT.primary_metric == "macro_f1" and STATIC_VA.primary_metric == "r2"
    assert STATIC_VA.dimensions == ("valence", "arousal")
    assert TaskKind.parse(" Quadrant ") is QUADRANT
    assert pickle.loads(pickle.dumps(QUADRANT)) is QUADRANT  # a pickled task is its name


@pytest.mark.parametrize(
    "args, message",
    [
        (("Bad Name", Family.CLASSIFICATION, ("a", "b")), "lower-case"),
        (("one", Family.CLASSIFICATION, ("a",)), "at least two classes"),
        (("dup", Family.TAGGING, ("a", "a")), "twice"),
        (("empty", Family.REGRESSION, ()), "must name its dimensions"),
    ],
)
def test_a_malformed_task_is_refused(args, message):
    with pytest.raises(TaskError, match=message):
        TaskKind(*args)


def test_an_unknown_task_names_the_declared_ones():
    with pytest.raises(TaskError, match="unknown task 'quadrants'.*quadrant"):
        TaskKind.parse("quadrants")


def test_generic_labels_read_in_their_family_form():
    assert read_label(MOOD, "sad") == 2 and read_label(MOOD, 1) == 1
    assert read_label(MOOD, None) is None
    assert list(read_label(TAGS, ["a", "c"])) == [1.0, 0.0, 1.0]
    assert list(read_label(TAGS, {"b": 0.25})) == [0.0, 0.25, 0.0]
    assert list(read_label(DIMS, [1, 2, 3])) == [1.0, 2.0, 3.0]
    for kind, value in ((MOOD, "angry"), (MOOD, 3), (TAGS, ["d"]), (TAGS, {"a": 1.5}),
                        (DIMS, [1, 2])):
        with pytest.raises(TaskError):
            read_label(kind, value)


def test_a_track_without_the_label_is_left_out():
    task = Task("toy", MOOD)
    assert task.has_label(Track("x", None, labels={"mood3": "calm"}))
    assert not task.has_label(Track("y", None))
    assert not task.has_label(Track("z", None, labels={"mood3": "furious"}))


def test_soft_tags_binarise_at_the_task_share_or_the_dataset_override():
    tracks = tuple(Track(str(i), None) for i in range(2))
    targets = (np.array([0.6, 0.4, 0.0]), np.array([0.2, 0.5, 1.0]))
    data = FoldData(Task("toy", TAGS), tracks, targets=targets)
    assert data.y_binary.tolist() == [[1, 0, 0], [0, 1, 1]]
    lower = FoldData(Task("toy", TAGS, positive_share=0.3), tracks, targets=targets)
    assert lower.y_binary.tolist() == [[1, 1, 0], [0, 1, 1]]


def test_tagging_scores_as_mediaevals_evaluate_does():
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(0)
    truth = (rng.random((40, 3)) < 0.3).astype(int)
    pred = np.clip(truth * 0.3 + rng.random((40, 3)) * 0.7, 0, 1)
    out = score(TAGS, truth, pred)
    assert out["roc_auc_macro"] == pytest.approx(roc_auc_score(truth, pred, average="macro"))
    assert out["pr_auc_macro"] == pytest.approx(
        average_precision_score(truth, pred, average="macro"))
    assert out["roc_auc_micro"] == pytest.approx(roc_auc_score(truth, pred, average="micro"))
    assert out["tags_scored"] == 3 and "pr_auc_b" in out


def test_a_tag_absent_from_the_test_part_leaves_the_macro_means():
    truth = np.array([[1, 0, 0], [0, 0, 1], [1, 0, 1], [0, 0, 0]])
    pred = np.array([[0.9, 0.1, 0.2], [0.1, 0.2, 0.8], [0.7, 0.3, 0.6], [0.2, 0.1, 0.1]])
    out = score(TAGS, truth, pred)
    assert out["tags_scored"] == 2 and "roc_auc_b" not in out
    assert out["roc_auc_macro"] == 1.0
    with pytest.raises(MerBenchError, match="0/1"):
        score(TAGS, truth * 0.5, pred)


def test_popular_decides_the_most_frequent_training_tag_for_every_track():
    tracks = tuple(Track(str(i), None) for i in range(4))
    targets = tuple(np.array(t, dtype=float) for t in ([1, 1, 0], [0, 1, 0], [0, 1, 1], [0, 0, 0]))
    data = FoldData(Task("toy", TAGS), tracks, targets=targets)
    popular = METHODS.get("popular")(seed=0).fit(data, data, None)
    assert popular.predict(data).tolist() == [[0, 1, 0]] * 4
    chance = METHODS.get("chance")(seed=0).fit(data, data, None)
    np.testing.assert_allclose(chance.predict(data)[0], [0.25, 0.75, 0.25])
    out = score(TAGS, np.stack(targets), popular.predict(data))
    assert out["roc_auc_macro"] == 0.5 and out["recall_macro"] == pytest.approx(1 / 3)
