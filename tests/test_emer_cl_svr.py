"""emer-cl-svr (EMER-CL Table 3): SVR on the learned music embeddings for static V/A."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from mer_bench.errors import ConfigError, TaskError
from mer_bench.methods import METHODS, FitContext, FoldData
from mer_bench.methods.emer_cl.method import EmerCLParams
from mer_bench.methods.emer_cl.svr import PAPER_C_GRID, PAPER_GAMMA_GRID, stack_embedding
from mer_bench.metrics import score
from mer_bench.tasks import STATIC_VA
from mer_bench.training import TrainerSettings, make_trainer
from mer_bench.types import Task, Track

TASK = Task("toy", STATIC_VA)
TINY = {
    "mlp_units": (16, 16),
    "gru_units": (16, 16),
    "gru_hidden": 8,
    "embed_dim": 4,
    "epochs": 8,
    "batch_size": 32,
    "lr": 3e-3,
    "dropout": 0.0,
    "C_grid": (0.1, 1.0, 10.0),
    "gamma_grid": (0.3, 1.0, "scale"),
    "cv_folds": 3,
}


def _fold(n: int, seed: int, dim: int = 6, frames: int = 12) -> FoldData:
    """Frames are a noisy linear mix of the track's (valence, arousal) curve; the static
    label is the curve's time-mean, so it is a known function of the frames."""
    rng = np.random.default_rng(seed)
    mix = np.random.default_rng(99).standard_normal((2, dim))
    tracks, features, targets = [], [], []
    for i in range(n):
        t_lab = int(rng.integers(4, 7))
        base = rng.uniform(-1, 1, size=2)
        curve = np.clip(base + 0.1 * rng.standard_normal((t_lab, 2)).cumsum(axis=0), -1, 1)
        idx = np.minimum(np.arange(frames) * t_lab // frames, t_lab - 1)
        feats = curve[idx] @ mix + 0.3 * rng.standard_normal((frames, dim))
        static = curve.mean(axis=0)
        tracks.append(
            Track(id=f"s{seed}-{i}", audio_path=None, static_va=tuple(static), dynamic_va=curve)
        )
        features.append(feats.astype(np.float32))
        targets.append(static)
    return FoldData(TASK, tuple(tracks), tuple(features), tuple(targets))


class _Ctx:
    def __init__(self, tmp_path) -> None:
        self.trainers = 0
        self.logged: dict[str, float] = {}

        def factory(**kw):
            self.trainers += 1
            return make_trainer(TrainerSettings(accelerator="cpu"), tmp_path, **kw)

        self.ctx = FitContext(seed=0, out_dir=tmp_path, make_trainer=factory)
        self.ctx.log_metrics = lambda m, step=None: self.logged.update(m)  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    train, val, test = _fold(64, 0), _fold(8, 1), _fold(40, 2)
    cls = METHODS.get("emer-cl-svr")
    counter = _Ctx(tmp_path_factory.mktemp("svr"))
    method = cls(cls.make_params(TINY), seed=0).fit(train, val, counter.ctx)
    return method, counter, train, test


def test_svr_beats_the_training_mean_on_held_out_clips(fitted):
    method, counter, train, test = fitted
    assert counter.trainers == 1  # EMER-CL is trained once; the SVRs need no trainer
    pred = method.predict(test)
    assert pred.shape == (len(test), 2) and np.isfinite(pred).all()
    metrics = score("static_va", test.y, pred)
    assert metrics["r2_valence"] > 0 and metrics["r2_arousal"] > 0
    mse = ((pred - test.y) ** 2).mean(axis=0)
    mse_mean = ((train.y.mean(axis=0) - test.y) ** 2).mean(axis=0)
    assert (mse < mse_mean).all()
    # the grid search logs its choice, and the choice lies on the grid
    assert counter.logged["svr_C_valence"] in TINY["C_grid"]
    gamma = counter.logged["svr_gamma_arousal"]  # the kernel's gamma as used ("scale" resolved)
    scale = 1 / (3 * TINY["embed_dim"] * method.embed(train).var())
    assert any(gamma == pytest.approx(scale if g == "scale" else g) for g in TINY["gamma_grid"])
    assert "scale" not in method._svrs[0].named_steps  # the paper's SVR sees raw embeddings


def test_default_embedding_is_phi_mu_sigma_of_width_3d(fitted):
    method, _, _, test = fitted
    d = TINY["embed_dim"]
    phi, mu, sigma = method.music_embeddings(test)
    assert phi.shape == mu.shape == sigma.shape == (len(test), d)
    assert (sigma > 0).all()  # sigma is the variance exp(log-variance)
    assert method.embed(test).shape == (len(test), 3 * d)
    assert all(svr.n_features_in_ == 3 * d for svr in method._svrs)
    for name, width in (("phi", d), ("mu+sigma", 2 * d)):
        other = copy.copy(method)
        other.params = dataclasses.replace(method.params, embedding=name)
        x = other.embed(test)
        assert x.shape == (len(test), width)
        np.testing.assert_allclose(x[:, -d:], sigma if name == "mu+sigma" else phi)


def test_prediction_needs_only_the_music(fitted):
    method, _, _, test = fitted
    bare = dataclasses.replace(
        test, tracks=tuple(dataclasses.replace(t, dynamic_va=None) for t in test.tracks)
    )
    # no frame times here, so nothing is cropped: with or without a curve, same clip
    np.testing.assert_allclose(method.predict(bare), method.predict(test))


def test_embedding_options_stack_the_expected_parts():
    phi, mu, sigma = np.full((2, 3), 1.0), np.full((2, 3), 2.0), np.full((2, 3), 3.0)
    assert stack_embedding(phi, mu, sigma, "phi").tolist() == [[1.0] * 3] * 2
    assert stack_embedding(phi, mu, sigma, "mu+sigma").tolist() == [[2.0] * 3 + [3.0] * 3] * 2
    full = stack_embedding(phi, mu, sigma, "phi+mu+sigma")
    assert full.shape == (2, 9) and full[0].tolist() == [1.0] * 3 + [2.0] * 3 + [3.0] * 3
    with pytest.raises(ConfigError, match=r"embedding='phi\+mu' is not one of"):
        stack_embedding(phi, mu, sigma, "phi+mu")


def test_paper_grid_and_scoring_against_the_trained_target():
    """C in {0.5 .. 512} (powers of 2), gamma in {0.5, 1, 2, 32, scale}; the SVR fits the
    task's labels, so a dataset's static_target decides what is fitted and scored alike."""
    assert PAPER_C_GRID == (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0)
    assert PAPER_GAMMA_GRID == (0.5, 1.0, 2.0, 32.0, "scale")
    params = METHODS.get("emer-cl-svr").Params()
    assert params.C_grid == PAPER_C_GRID and not params.scale_inputs
    assert "target" not in {f.name for f in dataclasses.fields(params)}


def test_curve_static_labels_are_the_mean_or_last_frame_hand_worked():
    from mer_bench.data.curves import curve_static_labels

    curve = np.array([[0.1, 0.2], [0.3, 0.6], [0.5, -0.2]])
    tracks = [Track(id="a", audio_path=None, static_va=(0.9, -0.9), dynamic_va=curve),
              Track(id="b", audio_path=None, static_va=(0.1, 0.1))]
    assert curve_static_labels(tracks, "static") == tracks
    mean = curve_static_labels(tracks, "dynamic_mean")
    assert mean[0].static_va == pytest.approx((0.3, 0.2)) and mean[1].static_va is None
    assert curve_static_labels(tracks, "dynamic_last")[0].static_va == pytest.approx((0.5, -0.2))


def test_params_extend_emer_cl_and_bad_input_is_a_clear_error(tmp_path):
    cls = METHODS.get("emer-cl-svr")
    assert issubclass(cls.Params, EmerCLParams)
    train = _fold(6, 3)
    with pytest.raises(ConfigError, match="embedding='sigma'"):
        cls(cls.make_params({**TINY, "embedding": "sigma"})).fit(train, None, _Ctx(tmp_path).ctx)
    with pytest.raises(ConfigError, match="C_grid"):
        cls(cls.make_params({**TINY, "C_grid": ()})).fit(train, None, _Ctx(tmp_path).ctx)
    no_curve = dataclasses.replace(train.tracks[2], dynamic_va=None)
    broken = dataclasses.replace(train, tracks=train.tracks[:2] + (no_curve,) + train.tracks[3:])
    ctx = _Ctx(tmp_path)
    with pytest.raises(TaskError, match=r"s3-2 have no dynamic V/A curve"):
        cls(cls.make_params(TINY)).fit(broken, None, ctx.ctx)
    assert ctx.trainers == 0  # refused before any training


def test_clips_with_a_curve_are_cropped_to_its_span_the_others_are_kept_whole():
    cls = METHODS.get("emer-cl-svr")
    frames = np.arange(10, dtype=np.float32)[:, None]  # frame k at k * 0.5 s
    # labels cover [1.0, 3.0) s -> frames at 1.0, 1.5, 2.0, 2.5 s
    labelled = Track(id="a", audio_path=None, dynamic_va=np.zeros((4, 2)), dynamic_start_s=1.0)
    bare = Track(id="b", audio_path=None)
    data = FoldData(TASK, (labelled, bare), (frames, frames), (None, None), feature_hop_s=0.5)
    got = cls(cls.make_params()).music_frames(data)
    assert got[0][:, 0].tolist() == [2, 3, 4, 5]
    assert got[1][:, 0].tolist() == list(range(10))
    whole = cls(cls.make_params({"crop_to_labels": False})).music_frames(data)
    assert [len(s) for s in whole] == [10, 10]
