"""embedding-classifiers (Koh & Dubnov 2021): every classifier, task, input shape and paper file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from mer_bench.config import load_plan
from mer_bench.errors import ConfigError, FeatureError, TaskError, UnknownNameError
from mer_bench.methods import METHODS, FitContext, FoldData
from mer_bench.methods.embedding_classifiers import CLASSIFIERS, EmbeddingClassifiers
from mer_bench.metrics import score
from mer_bench.runs import expand, resolve, truth
from mer_bench.tasks import QUADRANT, STATIC_VA, VA_ANNOTATED_TASKS
from mer_bench.training import TrainerSettings, make_trainer
from mer_bench.types import Task, TaskKind, Track

REPO = Path(__file__).resolve().parents[1]
# the V/A-derived tasks these tests' tracks carry (tagging is tested on synth_moods below)
TASKS = [k for k in EmbeddingClassifiers.supported_tasks() if k in VA_ANNOTATED_TASKS]
DIM = 12
# small, quick versions of the networks (the paper's sizes are tested on Params())
QUICK = {"mlp_hidden": 16, "cnn_filters": 8, "cnn_layers": 2, "rnn_hidden": 16,
         "rf_n_estimators": 30, "batch_size": 16, "lr": 0.02, "patience": 3}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _fold(kind: TaskKind, n: int, seed: int, sequences: bool = True, spread: float = 0.6
          ) -> FoldData:
    """Tracks whose features sit around a per-class centre (or move linearly with V/A)."""
    rng = np.random.default_rng(seed)
    centres = 2.0 * np.random.default_rng(99).standard_normal((4, DIM))
    mixing = np.random.default_rng(98).standard_normal((2, DIM))
    tracks, feats, targets = [], [], []
    for i in range(n):
        va = rng.uniform(-1, 1, 2)
        track = Track(f"s{seed}-{i}", None, static_va=(float(va[0]), float(va[1])))
        target = Task("fake", kind).target(track)
        quadrant = track.effective_quadrant() - 1
        base = va @ mixing if kind is STATIC_VA else centres[quadrant]
        frames = int(rng.integers(3, 15)) if sequences else 1
        x = base + spread * rng.standard_normal((frames, DIM))
        tracks.append(track)
        feats.append(x.astype(np.float32) if sequences else x[0].astype(np.float32))
        targets.append(target)
    return FoldData(Task("fake", kind), tuple(tracks), tuple(feats), tuple(targets))


def _ctx(tmp_path: Path, **settings) -> FitContext:
    trainer = TrainerSettings(accelerator="cpu", **settings)
    return FitContext(seed=0, out_dir=tmp_path,
                      make_trainer=lambda **kw: make_trainer(trainer, tmp_path, **kw))


def _method(seed: int = 0, **params) -> EmbeddingClassifiers:
    return EmbeddingClassifiers(EmbeddingClassifiers.make_params(params), seed=seed)


# --- parameters ------------------------------------------------------------------
def test_defaults_are_the_papers_values():
    p = EmbeddingClassifiers.Params()
    assert (p.mlp_hidden, p.cnn_layers, p.cnn_filters) == (512, 4, 64)
    assert (p.batch_size, p.max_epochs, p.patience, p.lr) == (32, 1000, 100, 1e-3)
    assert not p.mlp_early_stopping and not p.cnn_pool_every
    assert p.classifier == "rf" and set(CLASSIFIERS) == {"svm", "nb", "rf", "mlp", "cnn", "rnn"}
    assert METHODS.get("embedding-classifiers") is EmbeddingClassifiers
    assert EmbeddingClassifiers.consumes == "sequences"


@pytest.mark.parametrize("bad", [{"classifier": "knn"}, {"pooling": "max"}, {"cnn_kernel": 4},
                                 {"svm_gamma": "fast"}, {"batch_size": 0}])
def test_bad_parameters_raise_config_error(bad):
    with pytest.raises(ConfigError, match="embedding-classifiers"):
        EmbeddingClassifiers.make_params(bad)


def test_paper_architectures():
    from torch import nn

    from mer_bench.methods.embedding_classifiers.nets import Cnn1d, Mlp

    p = EmbeddingClassifiers.Params()
    cnn = Cnn1d(512, 4, p.cnn_layers, p.cnn_filters, p.cnn_kernel, p.cnn_pool,
                p.cnn_pool_every)
    convs = [m for m in cnn.modules() if isinstance(m, nn.Conv1d)]
    assert [c.out_channels for c in convs] == [64, 64, 64, 64]
    # "four 1D convolution layers and a 1D max-pooling operation layer": one pool, last
    kinds = [type(m).__name__ for m in cnn.features]
    assert kinds == ["Conv1d", "ReLU"] * 4 + ["MaxPool1d"]
    import torch

    assert cnn(torch.zeros(2, 512)).shape == (2, 4)
    # 4 same-padded convs keep 512 samples, one pool of 2 -> 64 x 256 into the output layer
    assert cnn.head.in_features == 64 * 256
    every = Cnn1d(512, 4, 4, 64, 3, 2, pool_every=True)
    assert sum(isinstance(m, nn.MaxPool1d) for m in every.modules()) == 4
    assert every.head.in_features == 64 * 512 // 2**4
    assert Cnn1d(1, 2, 4, 8, 3, 2)(torch.zeros(3, 1)).shape == (3, 2)  # any width survives
    mlp = Mlp(128, 4, p.mlp_hidden)
    assert [m.out_features for m in mlp.modules() if isinstance(m, nn.Linear)] == [512, 4]


# --- every classifier on every task ---------------------------------------------------------
@pytest.mark.parametrize("kind", TASKS, ids=lambda k: k.value)
@pytest.mark.parametrize("classifier", CLASSIFIERS)
def test_every_classifier_fits_predicts_and_is_scored(classifier, kind, tmp_path):
    train, val, test = _fold(kind, 40, 0), _fold(kind, 8, 1), _fold(kind, 10, 2)
    method = EmbeddingClassifiers(
        EmbeddingClassifiers.make_params({"classifier": classifier}, smoke=True), seed=0)
    if classifier == "nb" and kind is STATIC_VA:
        with pytest.raises(TaskError, match="naive Bayes"):
            method.fit(train, val, _ctx(tmp_path, fast_dev_run=True))
        return
    assert method.fit(train, val, _ctx(tmp_path, fast_dev_run=True)) is method
    prediction = method.predict(test)
    width = 2 if kind is STATIC_VA else kind.n_classes
    assert prediction.shape == (len(test), width) and np.all(np.isfinite(prediction))
    if kind.is_classification:
        np.testing.assert_allclose(prediction.sum(axis=1), 1.0, atol=1e-6)
    assert kind.primary_metric in score(kind, truth(test), prediction)


@pytest.mark.parametrize("classifier", CLASSIFIERS)
def test_every_classifier_beats_chance_on_separable_quadrants(classifier, tmp_path):
    kind = QUADRANT
    train, val, test = _fold(kind, 64, 0), _fold(kind, 16, 1), _fold(kind, 60, 2)
    method = _method(classifier=classifier, **QUICK)
    method.fit(train, val, _ctx(tmp_path, max_epochs_cap=5))
    accuracy = score(kind, test.y, method.predict(test))["accuracy"]
    assert accuracy > 0.6, f"{classifier}: accuracy {accuracy:.2f} (chance 0.25)"


def test_regressors_explain_variance(tmp_path):
    kind = STATIC_VA
    train, val, test = _fold(kind, 80, 0, spread=0.2), _fold(kind, 16, 1), _fold(kind, 40, 2)
    for classifier in ("svm", "rf", "mlp"):
        method = _method(classifier=classifier, **QUICK).fit(train, val,
                                                             _ctx(tmp_path, max_epochs_cap=10))
        metrics = score(kind, test.y, method.predict(test))
        assert metrics["r2_valence"] > 0.3 and metrics["r2_arousal"] > 0.3, (classifier, metrics)


def _recording_ctx(tmp_path, cap: int) -> tuple[FitContext, list[dict], list[dict]]:
    """A CPU FitContext that records each trainer's keyword arguments and logged metrics."""
    calls: list[dict] = []
    logged: list[dict] = []

    def recording(**kw):
        calls.append(kw)
        return make_trainer(TrainerSettings(accelerator="cpu", max_epochs_cap=cap), tmp_path, **kw)

    ctx = FitContext(seed=0, out_dir=tmp_path, make_trainer=recording)
    ctx.log_metrics = lambda metrics, step=None: logged.append(dict(metrics))  # type: ignore[method-assign]
    return ctx, calls, logged


# --- training goes through ctx.make_trainer with early stopping -------------------------------
def test_networks_use_the_shared_trainer_with_paper_early_stopping(tmp_path):
    from lightning.pytorch.callbacks import EarlyStopping

    ctx, calls, logged = _recording_ctx(tmp_path, 2)
    kind = QUADRANT
    _method(classifier="cnn", cnn_filters=4).fit(_fold(kind, 40, 0), _fold(kind, 8, 1), ctx)
    (kw,) = calls
    assert kw["max_epochs"] == 1000
    (stopper,) = [c for c in kw["callbacks"] if isinstance(c, EarlyStopping)]
    # "no improvement to the score during the last 100 learning epochs"
    assert stopper.patience == 100 and stopper.monitor == "val_score" and stopper.mode == "max"
    assert logged and logged[-1]["epochs_trained"] == 2


def test_mlp_trains_every_epoch_without_early_stopping(tmp_path):
    """Koh & Dubnov fit the MLP for 1000 epochs and evaluate after each: no stopping rule."""
    from lightning.pytorch.callbacks import EarlyStopping

    ctx, calls, logged = _recording_ctx(tmp_path, 3)
    kind = QUADRANT
    method = _method(classifier="mlp", mlp_hidden=8)
    # an empty validation part is fine: nothing is held out of training for the MLP
    method.fit(_fold(kind, 40, 0), _fold(kind, 8, 1).subset([]), ctx)
    (kw,) = calls
    assert kw["max_epochs"] == 1000 and kw.get("limit_val_batches") == 0
    assert not [c for c in kw.get("callbacks", []) if isinstance(c, EarlyStopping)]
    assert logged[-1]["epochs_trained"] == 3  # ran to the (capped) end
    calls.clear()
    _method(classifier="mlp", mlp_hidden=8, mlp_early_stopping=True).fit(
        _fold(kind, 40, 0), _fold(kind, 8, 1), ctx)
    assert [c for c in calls[0]["callbacks"] if isinstance(c, EarlyStopping)]


def test_restored_weights_are_the_best_validation_epoch(tmp_path):
    import torch

    kind = QUADRANT
    train, val = _fold(kind, 40, 0, spread=3.0), _fold(kind, 12, 1, spread=3.0)
    logged = []
    ctx = _ctx(tmp_path, max_epochs_cap=12)
    ctx.log_metrics = lambda metrics, step=None: logged.append(dict(metrics))  # type: ignore[method-assign]
    method = _method(classifier="mlp", mlp_hidden=64, lr=0.05, mlp_early_stopping=True,
                     stop_on="loss").fit(train, val, ctx)
    scores = method.predict(val)
    loss = torch.nn.functional.nll_loss(torch.log(torch.tensor(scores)), torch.tensor(val.y))
    assert float(loss) == pytest.approx(logged[-1]["best_val_loss"], rel=1e-4)


def test_same_seed_same_predictions(tmp_path):
    kind = QUADRANT
    train, val, test = _fold(kind, 40, 0), _fold(kind, 8, 1), _fold(kind, 10, 2)

    def run(seed):
        ctx = _ctx(tmp_path, max_epochs_cap=2)
        return _method(seed, classifier="cnn", **QUICK).fit(train, val, ctx).predict(test)

    np.testing.assert_array_equal(run(0), run(0))
    assert not np.array_equal(run(0), run(1))


# --- inputs: pooling, variable-length sequences, bad features -------------------------------
def test_pooling_mean_keeps_the_embedding_width_and_meanstd_doubles_it():
    from mer_bench.methods.embedding_classifiers.data import clip_vectors

    data = _fold(QUADRANT, 5, 0)
    assert clip_vectors(data, "mean").shape == (5, DIM)
    np.testing.assert_allclose(clip_vectors(data, "mean")[0], data.features[0].mean(axis=0),
                               rtol=1e-6)
    assert clip_vectors(data, "meanstd").shape == (5, 2 * DIM)
    clips = _fold(QUADRANT, 5, 0, sequences=False)  # mfcc-like clip vectors
    np.testing.assert_array_equal(clip_vectors(clips, "mean"), np.stack(clips.features))


def test_lstm_packs_padding_away_and_reads_every_frame():
    import torch

    from mer_bench.methods.embedding_classifiers.nets import LstmNet, pad_batch

    torch.manual_seed(0)
    net = LstmNet(4, 3, hidden=5, layers=1).eval()
    short, long = torch.randn(3, 4), torch.randn(40, 4)
    x, lengths = pad_batch([short, long])
    with torch.no_grad():
        batched = net(x, lengths)
        alone = net(short[None], torch.tensor([3]))
        changed = long.clone()
        changed[-1] += 5.0  # the last frame of a long clip must still matter
        y, lens = pad_batch([short, changed])
        after = net(y, lens)
    torch.testing.assert_close(batched[0], alone[0])
    assert not torch.allclose(batched[1], after[1])


def test_rnn_prediction_of_a_clip_does_not_depend_on_its_batch(tmp_path):
    kind = QUADRANT
    train, val, test = _fold(kind, 40, 0), _fold(kind, 8, 1), _fold(kind, 10, 2)
    method = _method(classifier="rnn", **QUICK).fit(train, val, _ctx(tmp_path, max_epochs_cap=2))
    lengths = {len(f) for f in test.features}
    assert len(lengths) > 1  # the test set really mixes lengths
    together = method.predict(test)
    one_by_one = np.concatenate([method.predict(test.subset([i])) for i in range(len(test))])
    np.testing.assert_allclose(together, one_by_one, rtol=1e-5, atol=1e-6)


def test_bad_features_name_the_track(tmp_path):
    kind = QUADRANT
    train, val = _fold(kind, 20, 0), _fold(kind, 6, 1)
    broken = list(train.features)
    broken[3] = broken[3].copy()
    broken[3][0, 0] = np.nan
    with pytest.raises(FeatureError, match=train.tracks[3].id):
        _method(classifier="svm").fit(dataclasses.replace(train, features=tuple(broken)), val,
                                      _ctx(tmp_path))
    broken[3] = np.zeros((0, DIM), np.float32)
    with pytest.raises(FeatureError, match="no frames"):
        _method(classifier="rnn").fit(dataclasses.replace(train, features=tuple(broken)), val,
                                      _ctx(tmp_path))
    with pytest.raises(TaskError, match="before fit"):
        _method().predict(val)
    fitted = _method(classifier="nb").fit(train, val, _ctx(tmp_path))
    narrow = dataclasses.replace(val, features=tuple(f[:, :5] for f in val.features))
    with pytest.raises(FeatureError, match="width"):
        fitted.predict(narrow)


def test_single_class_training_fold_predicts_that_class(tmp_path):
    kind = QUADRANT
    train = _fold(kind, 30, 0)
    only = [i for i, t in enumerate(train.targets) if t == train.targets[0]]
    method = _method(classifier="svm").fit(train.subset(only), train.subset(only[:1]),
                                           _ctx(tmp_path))
    assert set(method.predict(_fold(kind, 10, 2)).argmax(axis=1)) == {train.targets[0]}


# --- the paper file and the bench plans ------------------------------------------------------
def test_paper_file_has_the_published_numbers_and_resolvable_runs():
    from mer_bench.papers import load_paper

    paper = load_paper(REPO / "experiments" / "papers" / "koh2021.yaml")
    rows = [r for t in paper.tables for r in t.rows]
    assert {t.id for t in paper.tables} == {"table2", "table3"}
    published = {(r.metric, r.published) for r in rows}
    # Table 2: F is the weighted F1, RAVDESS is accuracy; Table 3: the 4Q report
    assert {("weighted_f1", 0.720), ("weighted_f1", 0.735), ("weighted_f1", 0.880),
            ("weighted_f1", 0.726), ("accuracy", 0.710), ("accuracy", 0.638),
            ("r2_arousal", 0.671), ("r2_valence", 0.556), ("r2_arousal", 0.656),
            ("r2_valence", 0.462), ("accuracy", 0.72), ("precision_Q1", 0.64),
            ("recall_Q1", 0.85), ("f1_Q3", 0.66), ("recall_Q4", 0.61),
            ("weighted_precision", 0.73), ("weighted_precision", 0.90)} <= published
    assert all(r.published is not None for r in rows)
    assert len([r for r in rows if r.table == "table3"]) == 32  # 2 reports x (12 + 4)
    unavailable = [r for r in rows if r.run is None]
    assert len(unavailable) == 23 and all(r.unavailable for r in unavailable)
    for row in rows:
        if row.run is not None and row.run["dataset"] == "emomusic":
            assert row.run["dataset_params"] == {"label_source": "dynamic-mean"}
    for row in rows:
        if row.run is None:
            continue
        assert row.run["method"] == "embedding-classifiers"
        assert row.run["protocol"] == "repeated:20:0.8:0.1"
        try:
            run = resolve(row.spec())
        except UnknownNameError as exc:  # the embedding extractor is not installed here
            assert row.run["features"] in ("openl3", "vggish"), exc
            continue
        assert run.config["method_params"]["classifier"] in CLASSIFIERS


@pytest.mark.parametrize("plan,n_runs", [("koh2021-4q", 8 * 3), ("koh2021-synth", 7)])
def test_bench_plans_expand_to_every_classifier(plan, n_runs):
    runs, notes = expand(load_plan(REPO / "experiments" / "bench" / f"{plan}.yaml"))
    assert len(runs) == n_runs and not notes
    classifiers = {r.params.classifier for r in runs if r.method_cls is EmbeddingClassifiers}
    assert classifiers == set(CLASSIFIERS)
    assert {r.config["method"] for r in runs} >= {"chance", "embedding-classifiers"}


# --- slow: the real pipeline on the synthetic dataset ----------------------------------------
@pytest.mark.slow
def test_on_synth_every_classifier_beats_chance():
    from mer_bench.config import RunSpec
    from mer_bench.runs import Runner, RunnerSettings
    from mer_bench.tracking import InMemoryTracker

    runner = Runner(InMemoryTracker(), RunnerSettings(plots=False, progress=False))

    def f1(method, **params):
        spec = RunSpec(method=method, dataset="synth", task="quadrant", features="mfcc",
                       protocol="kfold:5", method_params=params)
        return runner.run(resolve(spec)).metrics["macro_f1"]

    chance = f1("chance")
    for classifier in CLASSIFIERS:
        assert f1("embedding-classifiers", classifier=classifier, patience=20) > chance + 0.3


# --- multi-label tagging ------------------------------------------------------------------
def _tag_fold(n: int, seed: int, spread: float = 0.3, valence_above: float = -1.0) -> FoldData:
    """synth_moods tracks (soft shares from V/A) whose features move linearly with V/A."""
    from mer_bench.data.synthetic import SYNTH_MOODS, synth_mood_shares

    rng = np.random.default_rng(seed)
    mixing = np.random.default_rng(98).standard_normal((2, DIM))
    tracks, feats, targets = [], [], []
    for i in range(n):
        va = np.array([rng.uniform(valence_above, 1), rng.uniform(-1, 1)])
        track = Track(f"t{seed}-{i}", None,
                      labels={"synth_moods": synth_mood_shares(*map(float, va))})
        frames = int(rng.integers(2, 6))
        feats.append((va @ mixing + spread * rng.standard_normal((frames, DIM))).astype(np.float32))
        tracks.append(track)
        targets.append(Task("fake", SYNTH_MOODS).target(track))
    return FoldData(Task("fake", SYNTH_MOODS), tuple(tracks), tuple(feats), tuple(targets))


@pytest.mark.parametrize("classifier", CLASSIFIERS)
def test_every_classifier_tags_synth_moods(classifier, tmp_path):
    from mer_bench.data.synthetic import SYNTH_MOODS

    assert EmbeddingClassifiers.supports_task(SYNTH_MOODS)
    train, val, test = _tag_fold(30, 0), _tag_fold(8, 1), _tag_fold(10, 2)
    method = EmbeddingClassifiers(
        EmbeddingClassifiers.make_params({"classifier": classifier}, smoke=True), seed=0)
    method.fit(train, val, _ctx(tmp_path, fast_dev_run=True))
    prediction = method.predict(test)
    assert prediction.shape == (10, 4)
    assert np.all((prediction >= 0) & (prediction <= 1))
    metrics = score(SYNTH_MOODS, truth(test), prediction)
    assert 0 <= metrics["pr_auc_macro"] <= 1 and "pr_auc_bright" in metrics


@pytest.mark.parametrize("classifier", ["svm", "nb", "rf", "mlp"])
def test_a_tag_without_training_positives_scores_zero_or_is_learnt(classifier, tmp_path):
    """Valence > 0.2 everywhere: "dark" (share = 1 - bright) never reaches 0.5 in training."""
    train, test = _tag_fold(30, 0, valence_above=0.2), _tag_fold(12, 2)
    assert train.y_binary[:, 1].sum() == 0 and train.y_binary[:, 0].sum() == len(train)
    method = _method(classifier=classifier, **QUICK)
    method.fit(train, _tag_fold(8, 1, valence_above=0.2), _ctx(tmp_path, max_epochs_cap=3))
    prediction = method.predict(test)
    assert prediction.shape == (12, 4) and np.all(np.isfinite(prediction))
    if classifier != "mlp":  # scikit-learn models: a constant tag is that constant
        np.testing.assert_array_equal(prediction[:, 1], 0.0)
        np.testing.assert_array_equal(prediction[:, 0], 1.0)


def test_forest_with_one_learnable_tag():
    from sklearn.ensemble import RandomForestClassifier

    from mer_bench.methods.embedding_classifiers.sklearn_models import TagModels

    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3))
    Y = np.stack([X[:, 0] > 0, np.zeros(20, bool)], axis=1).astype(int)
    model = TagModels(RandomForestClassifier(n_estimators=5, random_state=0), X, Y)
    scores = model.scores(X)
    assert scores.shape == (20, 2) and np.all(scores[:, 1] == 0)
    assert scores[Y[:, 0] == 1, 0].mean() > scores[Y[:, 0] == 0, 0].mean()


@pytest.mark.parametrize("classifier", ["mlp", "rnn"])
def test_networks_learn_the_tags_better_than_chance(classifier, tmp_path):
    from mer_bench.data.synthetic import SYNTH_MOODS

    train, val, test = _tag_fold(80, 0), _tag_fold(16, 1), _tag_fold(60, 2)
    ctx, calls, logged = _recording_ctx(tmp_path, 25)
    method = _method(classifier=classifier, **QUICK, mlp_early_stopping=True)
    method.fit(train, val, ctx)
    assert logged[-1]["best_val_score"] > 0.5  # macro PR-AUC on the validation part
    metrics = score(SYNTH_MOODS, truth(test), method.predict(test))
    chance = truth(test).mean(axis=0).mean()  # a constant score's PR-AUC: the tag frequency
    assert metrics["pr_auc_macro"] > chance + 0.3, metrics
    assert metrics["roc_auc_macro"] > 0.85, metrics


def test_pointwise_lstm_tagging_predicts_the_mean_step_probability():
    import torch

    from mer_bench.methods.embedding_classifiers.nets import LstmNet

    torch.manual_seed(0)
    net = LstmNet(3, 4, 5, 1, pointwise=True, classify=False, multilabel=True)
    x, lengths = torch.randn(2, 6, 3), torch.tensor([6, 3])
    steps, mask = net.steps(x, lengths)
    want = torch.stack([steps[i][mask[i]].sigmoid().mean(dim=0) for i in range(2)])
    torch.testing.assert_close(net(x, lengths).sigmoid(), want, atol=1e-5, rtol=1e-4)
