"""Dynamic V/A: MediaEval's per-song metrics, per-step pooling and the two learned methods."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import pearsonr

from mer_bench.config import load_plan
from mer_bench.data import DATASETS
from mer_bench.errors import TaskError
from mer_bench.features import FEATURES
from mer_bench.leaderboard.build import shown_metrics
from mer_bench.methods import METHODS, FitContext, FoldData
from mer_bench.methods.dynamic_va.steps import pool_steps
from mer_bench.metrics import score
from mer_bench.metrics.regression import song_pearson_r
from mer_bench.metrics.scoring import higher_is_better
from mer_bench.runs import expand
from mer_bench.tasks import DYNAMIC_VA
from mer_bench.training import TrainerSettings, make_trainer
from mer_bench.types import Task, Track

pytestmark = pytest.mark.usefixtures("one_torch_thread")

REPO = Path(__file__).resolve().parents[1]
DYNAMIC = Task("synth-small", DYNAMIC_VA)


# --- metrics ---------------------------------------------------------------


def test_song_metrics_hand_worked_per_dimension():
    # song 0: valence rises 1,2,3 and is predicted falling (r = -1), errors 2,0,2;
    #         arousal predicted exactly (r = 1, rmse 0)
    # song 1: valence 0,1 predicted 0,2 (r = 1, rmse sqrt(1/2)); arousal off by 1 (r = 1)
    y_true = [np.array([[1.0, 0.0], [2.0, 1.0], [3.0, 5.0]]), np.array([[0.0, 0.0], [1.0, 1.0]])]
    y_pred = [np.array([[3.0, 0.0], [2.0, 1.0], [1.0, 5.0]]), np.array([[0.0, 1.0], [2.0, 2.0]])]
    out = score("dynamic_va", y_true, y_pred)
    assert out["pearson_song_valence"] == pytest.approx((-1 + 1) / 2)
    assert out["pearson_song_arousal"] == pytest.approx(1.0)
    assert out["pearson_song"] == pytest.approx(0.5)
    assert out["rmse_song_valence"] == pytest.approx((np.sqrt(8 / 3) + np.sqrt(1 / 2)) / 2)
    assert out["rmse_song_arousal"] == pytest.approx((0 + 1) / 2)
    assert out["rmse_song"] == pytest.approx(
        (out["rmse_song_valence"] + out["rmse_song_arousal"]) / 2)


def test_song_pearson_matches_scipy_song_by_song():
    rng = np.random.default_rng(1)
    y_true = [rng.normal(size=(n, 2)) for n in (7, 12, 30)]
    y_pred = [t + rng.normal(0, 0.8, t.shape) for t in y_true]
    out = score("dynamic_va", y_true, y_pred)
    for axis, col in (("valence", 0), ("arousal", 1)):
        expected = np.mean([pearsonr(t[:, col], p[:, col])[0]
                            for t, p in zip(y_true, y_pred, strict=True)])
        assert out[f"pearson_song_{axis}"] == pytest.approx(expected)


def test_constant_prediction_has_song_r_zero_not_nan():
    t = np.array([0.1, 0.5, -0.2, 0.3])
    assert song_pearson_r(t, np.full(4, 0.2)) == 0.0
    assert song_pearson_r(np.zeros(4), t) == 0.0  # a flat annotation, too
    # a tiled 0.1 whose float mean is not 0.1: exactly 0, not rounding noise
    assert song_pearson_r([0.3, -0.5, 0.9], np.full(3, 0.1)) == 0.0
    y_true = [np.stack([t, -t], axis=1), np.stack([t[::-1], t], axis=1)]
    out = score("dynamic_va", y_true, [np.zeros((4, 2)), np.full((4, 2), 0.3)])
    assert out["pearson_song"] == 0.0 and not np.isnan(out["pearson_song_valence"])


def test_song_metrics_are_shown_and_point_the_right_way():
    assert "pearson_song" in shown_metrics(DYNAMIC_VA)
    assert higher_is_better("pearson_song") and higher_is_better("pearson_song_arousal")
    assert not higher_is_better("rmse_song_valence")
    assert DYNAMIC_VA.primary_metric == "r2"


# --- per-step pooling -------------------------------------------------------


def _track(start: float = 0.0) -> Track:
    return Track(id="t", audio_path=None, dynamic_va=np.zeros((2, 2)), dynamic_start_s=start)


def test_frames_are_averaged_over_each_half_second_window():
    frames = np.arange(8, dtype=float)[:, None]  # frames at 0, 0.25, ..., 1.75 s
    pooled = pool_steps(frames, _track(), 3, hop_s=0.25)
    np.testing.assert_allclose(pooled[:, 0], [0.5, 2.5, 4.5])


def test_windows_start_at_the_curves_start():
    frames = np.arange(8, dtype=float)[:, None]
    pooled = pool_steps(frames, _track(start=1.0), 2, hop_s=0.25)
    np.testing.assert_allclose(pooled[:, 0], [4.5, 6.5])


def test_a_step_past_the_audio_takes_the_nearest_frame():
    frames = np.arange(4, dtype=float)[:, None]  # 0..0.75 s, the curve runs to 1.5 s
    pooled = pool_steps(frames, _track(), 3, hop_s=0.25)
    np.testing.assert_allclose(pooled[:, 0], [0.5, 2.5, 3.0])


def test_without_a_hop_the_frames_spread_evenly_over_the_curve():
    frames = np.arange(6, dtype=float)[:, None]
    np.testing.assert_allclose(pool_steps(frames, _track(), 3, hop_s=None)[:, 0], [0.5, 2.5, 4.5])


@pytest.mark.parametrize("name", ["dynamic-ridge", "dynamic-bilstm"])
def test_a_clip_vector_feature_is_refused(name, tmp_path):
    cls = METHODS.get(name)
    track = Track(id="a", audio_path=None, dynamic_va=np.zeros((3, 2)))
    data = FoldData(DYNAMIC, (track,), (np.zeros(13),), (track.dynamic_va,))
    with pytest.raises(TaskError, match="frame features.*one vector per clip"):
        cls(cls.make_params(smoke=True)).fit(data, data.subset([]), _ctx(tmp_path))


# --- the methods on synth-small ----------------------------------------------


@pytest.fixture(scope="module")
def folds():
    """Train, validation and test parts of the first kfold:4 fold, log-mel frames and hop."""
    from mer_bench.features.cache import FeatureCache

    dataset = DATASETS.get("synth-small")()
    extractor = FEATURES.get("logmel")()
    arrays = FeatureCache().features(extractor, dataset.tracks(), n_jobs=1)[0]
    split = dataset.splits("kfold:4", 0, DYNAMIC)[0]

    def part(ids):
        tracks = tuple(dataset.track(i) for i in ids)
        return FoldData(DYNAMIC, tracks, tuple(arrays[i] for i in ids),
                        tuple(DYNAMIC.target(t) for t in tracks), feature_hop_s=extractor.hop_s)

    return part(split.train), part(split.val), part(split.test)


def _ctx(tmp_path, **settings) -> FitContext:
    trainer = TrainerSettings(accelerator="cpu", **settings)
    return FitContext(seed=0, out_dir=tmp_path,
                      make_trainer=lambda **kw: make_trainer(trainer, tmp_path, **kw))


def _fit(name, folds, tmp_path, **params):
    cls = METHODS.get(name)
    method = cls(cls.make_params(params, smoke=True), seed=0)
    return method.fit(folds[0], folds[1], _ctx(tmp_path))


@pytest.mark.parametrize("name", ["dynamic-ridge", "dynamic-bilstm"])
def test_predicts_one_curve_per_track_as_long_as_its_annotation(name, folds, tmp_path):
    prediction = _fit(name, folds, tmp_path).predict(folds[2])
    assert [p.shape for p in prediction] == [t.shape for t in folds[2].targets]
    assert all(np.isfinite(p).all() for p in prediction)


def test_bilstm_predicts_a_track_the_same_alone_or_padded_in_a_batch(folds, tmp_path):
    method = _fit("dynamic-bilstm", folds, tmp_path, hidden_size=8)
    test = folds[2]
    longer = test.targets[1][:-2]  # the second track's curve cut short: padding in the batch
    cut = FoldData(DYNAMIC, test.tracks[:2], test.features[:2], (test.targets[0], longer),
                   feature_hop_s=test.feature_hop_s)
    together = method.predict(cut)
    alone = [method.predict(cut.subset([i]))[0] for i in range(2)]
    for a, b in zip(together, alone, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_bilstm_is_deterministic_and_pickles(folds, tmp_path):
    first = _fit("dynamic-bilstm", folds, tmp_path / "a")
    second = _fit("dynamic-bilstm", folds, tmp_path / "b")
    again = pickle.loads(pickle.dumps(first))
    for a, b, c in zip(first.predict(folds[2]), second.predict(folds[2]),
                       again.predict(folds[2]), strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_both_methods_beat_chance_on_song_rmse(folds, tmp_path):
    from mer_bench.runs import truth

    test = folds[2]
    scores = {
        name: score(DYNAMIC_VA, truth(test), method.predict(test))["rmse_song"]
        for name, method in {
            "chance": _fit("chance", folds, tmp_path),
            "dynamic-ridge": _fit("dynamic-ridge", folds, tmp_path),
            "dynamic-bilstm": _fit("dynamic-bilstm", folds, tmp_path, hidden_size=16,
                                   max_epochs=40, lr=1e-2),
        }.items()
    }
    assert scores["dynamic-ridge"] < scores["chance"]
    assert scores["dynamic-bilstm"] < scores["chance"]


def test_bench_plan_runs_chance_and_both_methods_on_dynamic_va():
    runs, notes = expand(load_plan(REPO / "experiments/bench/dynamic-va-synth.yaml"))
    assert not notes
    assert {r.config["method"] for r in runs} == {"chance", "dynamic-ridge", "dynamic-bilstm"}
    assert {(r.task.value, r.config["features"], r.config["protocol"]) for r in runs} == {
        ("dynamic_va", "logmel", "kfold:5")}



