"""Koh & Dubnov (2021)'s ambiguous sentences, each reading offered as a parameter:
the MLP's layer count, the CNN/RNN stopping measure, the RNN's point-wise softmax and
the 20 x 1500 MFCC matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_embedding_classifiers import QUICK, _ctx, _fold, _method, _recording_ctx

from mer_bench.config import RunSpec
from mer_bench.errors import ConfigError
from mer_bench.features import FEATURES
from mer_bench.methods.embedding_classifiers import EmbeddingClassifiers
from mer_bench.runs import resolve
from mer_bench.tasks import QUADRANT, STATIC_VA

REPO = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_defaults_are_the_readings_the_text_supports_and_bad_values_are_refused():
    p = EmbeddingClassifiers.Params()
    assert (p.mlp_layers, p.stop_on, p.rnn_output) == (2, "score", "pointwise")
    for bad in ({"stop_on": "accuracy"}, {"rnn_output": "mean"}, {"mlp_layers": 0}):
        with pytest.raises(ConfigError, match="embedding-classifiers"):
            EmbeddingClassifiers.make_params(bad)


# --- MLP: "two of a single hidden layer with 512 nodes" ---------------------------------------
def test_mlp_layers_two_stacks_two_hidden_layers_of_512():
    from torch import nn

    for layers, widths in ((1, [512, 4]), (2, [512, 512, 4])):
        method = _method(classifier="mlp", mlp_layers=layers)
        method._out_dim, method._regression = 4, False
        net = method._build_net(128)
        assert [m.out_features for m in net.modules() if isinstance(m, nn.Linear)] == widths
        assert sum(isinstance(m, nn.ReLU) for m in net.modules()) == layers


# --- CNN / RNN: "no improvement to the score during the last 100 learning epochs" ------------
def test_stop_on_score_watches_validation_accuracy_and_keeps_its_best_epoch(tmp_path):
    from lightning.pytorch.callbacks import EarlyStopping

    kind = QUADRANT
    train, val = _fold(kind, 40, 0, spread=3.0), _fold(kind, 12, 1, spread=3.0)
    ctx, calls, logged = _recording_ctx(tmp_path, 6)
    method = _method(classifier="cnn", **{**QUICK, "lr": 0.05}).fit(train, val, ctx)
    (stopper,) = [c for c in calls[0]["callbacks"] if isinstance(c, EarlyStopping)]
    assert (stopper.monitor, stopper.mode, stopper.patience) == ("val_score", "max", 3)
    accuracy = float(np.mean(method.predict(val).argmax(axis=1) == val.y))
    assert accuracy == pytest.approx(logged[-1]["best_val_score"])
    assert "best_val_loss" not in logged[-1]


def test_validation_score_is_accuracy_or_mean_r2():
    import torch

    from mer_bench.methods.embedding_classifiers.training import validation_score

    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 1.0]])
    assert float(validation_score(logits, torch.tensor([0, 1, 1]), False)) == pytest.approx(2 / 3)
    y = torch.tensor([[0.0, 1.0], [1.0, 1.0], [2.0, 1.0]])
    out = torch.tensor([[0.0, 5.0], [1.0, 5.0], [3.0, 5.0]])
    # r² column 0: 1 - 1/2; column 1 is constant (SST 0) and counts 0
    assert float(validation_score(out, y, True)) == pytest.approx(0.25)


# --- RNN: "LSTM networks with a point-wise softmax" -------------------------------------------
def test_pointwise_lstm_predicts_the_mean_of_every_steps_softmax():
    import torch

    from mer_bench.methods.embedding_classifiers.nets import LstmNet, pad_batch

    torch.manual_seed(0)
    net = LstmNet(4, 3, hidden=5, layers=1, pointwise=True).eval()
    short, long = torch.randn(3, 4), torch.randn(9, 4)
    x, lengths = pad_batch([short, long])
    with torch.no_grad():
        clip = net(x, lengths).exp()
        steps, mask = net.steps(x, lengths)
        alone = net(short[None], torch.tensor([3])).exp()
    assert mask.sum(dim=1).tolist() == [3, 9]
    torch.testing.assert_close(clip[0], steps[0, :3].softmax(-1).mean(0))
    torch.testing.assert_close(clip[1], steps[1].softmax(-1).mean(0))
    torch.testing.assert_close(clip[0], alone[0])  # padding never reaches the short clip
    torch.testing.assert_close(clip.sum(dim=1), torch.ones(2))


def test_pointwise_loss_scores_every_valid_step_against_the_clip_label():
    import torch

    from mer_bench.methods.embedding_classifiers.nets import LstmNet, pad_batch
    from mer_bench.methods.embedding_classifiers.training import EmbeddingNetModule

    torch.manual_seed(0)
    module = EmbeddingNetModule(LstmNet(4, 3, 5, 1, pointwise=True), False, 1e-3)
    x, lengths = pad_batch([torch.randn(2, 4), torch.randn(5, 4)])
    y = torch.tensor([2, 0])
    loss, _ = module._loss((x, lengths, y))
    steps, _ = module.net.steps(x, lengths)
    per_step = [torch.nn.functional.cross_entropy(steps[0, :2], y[[0, 0]], reduction="sum"),
                torch.nn.functional.cross_entropy(steps[1, :5], y[[1] * 5], reduction="sum")]
    torch.testing.assert_close(loss, sum(per_step) / 7)


@pytest.mark.parametrize("kind", [QUADRANT, STATIC_VA], ids=lambda k: k.value)
def test_pointwise_rnn_fits_and_predicts_each_clip_alone_as_in_a_batch(kind, tmp_path):
    train, val, test = _fold(kind, 40, 0), _fold(kind, 8, 1), _fold(kind, 10, 2)
    method = _method(classifier="rnn", rnn_output="pointwise", **QUICK).fit(
        train, val, _ctx(tmp_path, max_epochs_cap=2))
    together = method.predict(test)
    assert together.shape == (10, 4 if kind is QUADRANT else 2)
    if kind is QUADRANT:
        np.testing.assert_allclose(together.sum(axis=1), 1.0, atol=1e-6)
    one_by_one = np.concatenate([method.predict(test.subset([i])) for i in range(len(test))])
    np.testing.assert_allclose(together, one_by_one, rtol=1e-5, atol=1e-6)


# --- "a matrix of 20 x 1500" --------------------------------------------------------------------
def test_mfcc_matrix_is_20_coefficients_by_1500_frames():
    import librosa

    cls = FEATURES.get("mfcc-matrix")
    extractor = cls()
    assert (extractor.dim, extractor.params.n_frames, cls.sample_rate) == (20, 1500, 22050)
    rng = np.random.default_rng(0)
    thirty, ten = (0.1 * rng.standard_normal(22050 * s).astype(np.float32) for s in (30, 10))
    full, short = extractor.extract([thirty, ten])
    assert full.shape == short.shape == (1500, 20)
    # a 30 s clip (4Q's length) is exactly 1500 frames 20 ms apart: nothing cut or padded
    want = librosa.feature.mfcc(y=thirty, sr=22050, n_mfcc=20, n_fft=2048, hop_length=441,
                                n_mels=128).T
    assert want.shape[0] == 1501 and extractor.hop_s == pytest.approx(0.02)
    np.testing.assert_allclose(full, want[:1500], rtol=1e-5, atol=1e-4)
    assert np.all(short[501:] == 0) and np.all(np.abs(short[:501]).sum(axis=1) > 0)
    (own,) = cls(n_frames=0).extract([ten])
    assert own.shape == (501, 20)
    with pytest.raises(ConfigError, match="mfcc-matrix"):
        cls(hop_length=0)


def test_the_rnn_reads_the_mfcc_matrix_in_a_run():
    spec = RunSpec(method="embedding-classifiers", dataset="synth", task="quadrant",
                   features="mfcc-matrix", protocol="kfold:5",
                   method_params={"classifier": "rnn", "rnn_output": "pointwise"})
    run = resolve(spec)
    assert run.config["features"] == "mfcc-matrix"
    assert run.config["feature_params"]["n_frames"] == 1500
    assert run.config["method_params"]["rnn_output"] == "pointwise"


def test_pointwise_and_last_step_agree_on_one_vector_per_clip(tmp_path):
    """On clip-level features (mfcc, one frame) the two readings are the same model."""
    kind = QUADRANT
    train, val, test = (_fold(kind, n, s, sequences=False) for n, s in ((40, 0), (8, 1), (10, 2)))
    ctx = _ctx(tmp_path, max_epochs_cap=2)
    got = [_method(classifier="rnn", rnn_output=r, **QUICK).fit(train, val, ctx).predict(test)
           for r in ("pointwise", "last")]
    np.testing.assert_allclose(got[0], got[1], rtol=1e-5, atol=1e-6)
