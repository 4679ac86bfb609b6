"""Every registered plug-in honours its contract: a new one is tested the moment it registers."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest

from mer_bench.config import RunSpec
from mer_bench.data import DATASETS, DatasetAdapter
from mer_bench.errors import ConfigError
from mer_bench.features import FEATURES
from mer_bench.methods import METHODS, FitContext, FoldData
from mer_bench.metrics import score
from mer_bench.runs import fold_data, truth
from mer_bench.tasks import QUADRANT, TEXT2MUSIC_RETRIEVAL
from mer_bench.training import TrainerSettings, make_trainer
from mer_bench.types import Family, Task, TaskKind

# every task the synthetic clips carry, one or more per family (classification,
# tagging, regression, sequence regression, music-emotion retrieval): a method is
# checked on each task of each family it supports, so a new family needs data here
MUSIC_TASKS = sorted(
    (k for k in DATASETS.get("synth-small").task_kinds
     if k.family is not Family.TEXT_MUSIC_RETRIEVAL),
    key=lambda k: k.value,
)


def test_synthetic_data_covers_every_family():
    """A family without synthetic data would leave its methods unchecked."""
    families = {k.family for k in MUSIC_TASKS} | {Family.TEXT_MUSIC_RETRIEVAL}
    assert families == set(Family)


@pytest.mark.parametrize("name", DATASETS.names())
def test_dataset_declares_its_card(name):
    cls = DATASETS.get(name)
    for attr in ("name", "version", "citation", "license", "homepage", "download_info"):
        value = getattr(cls, attr)
        assert isinstance(value, str) and value.strip(), f"{name}.{attr} is empty"
    assert cls.task_kinds and all(isinstance(k, TaskKind) for k in cls.task_kinds)
    assert cls.root_env_var().startswith("MER_BENCH_")


def check_fake_tree(cls: type[DatasetAdapter], folder: Path) -> None:
    """Build ``cls``'s fake tree and load it through the whole adapter contract."""
    try:
        root = cls.fake_tree(folder)
    except NotImplementedError as exc:
        pytest.fail(str(exc))
    adapter = cls(root, **cls.smoke_params)
    tracks = adapter.tracks()
    assert tracks, f"{cls.name}: the fake tree at {root} yields no tracks"
    ids = [t.id for t in tracks]
    assert len(set(ids)) == len(ids)
    report = adapter.validate()
    assert report.ok(), f"{cls.name}: the clean fake tree has errors:\n{report.render()}"
    if adapter.modality == "audio":
        wave = adapter.load_audio(tracks[0], 8000)
        assert wave.dtype == np.float32 and wave.ndim == 1 and len(wave) > 0
    for kind in sorted(cls.task_kinds, key=lambda k: k.value):
        task = Task(cls.name, kind)
        labelled = {t.id for t in tracks if task.has_label(t)}
        assert labelled, f"{cls.name} declares {kind.value} but no fake track carries it"
        folds = adapter.splits("kfold:2", seed=0, task=task)
        assert len(folds) == 2
        for split in folds:
            parts = [set(split.train), set(split.val), set(split.test)]
            assert sum(len(p) for p in parts) == len(set().union(*parts)), "parts overlap"
            assert set().union(*parts) == labelled, f"{kind.value}: split covers other ids"
        tests = [set(split.test) for split in folds]
        assert not tests[0] & tests[1] and tests[0] | tests[1] == labelled


@pytest.mark.usefixtures("no_env_roots")
@pytest.mark.parametrize("name", DATASETS.names())
def test_dataset_loads_its_fake_tree(name, tmp_path):
    check_fake_tree(DATASETS.get(name), tmp_path / name)


def test_a_dataset_without_a_fake_tree_fails_the_contract(tmp_path):
    class Bare(DatasetAdapter):
        name = version = citation = license = homepage = download_info = "bare"
        task_kinds = frozenset({QUADRANT})

        def _load_tracks(self):
            return []

    with pytest.raises(pytest.fail.Exception, match="'bare' .* has no fake-tree builder"):
        check_fake_tree(Bare, tmp_path)


@pytest.mark.parametrize("name", FEATURES.names())
def test_feature_extractor_shapes_and_determinism(name):
    cls = FEATURES.get(name)
    extractor = cls(**cls.smoke_params)
    rng = np.random.default_rng(0)
    waves = [
        (0.1 * rng.standard_normal(int(cls.sample_rate * s))).astype(np.float32) for s in (2.0, 3.0)
    ]
    out = extractor.extract(waves)
    assert len(out) == 2
    for wave, array in zip(waves, out):
        assert np.all(np.isfinite(array))
        if extractor.hop_s is None:
            assert array.shape == (extractor.dim,)
        else:
            assert array.ndim == 2 and array.shape[1] == extractor.dim
            expected = len(wave) / cls.sample_rate / extractor.hop_s
            assert abs(array.shape[0] - expected) <= max(3, 0.1 * expected)
    again = cls(**cls.smoke_params).extract(waves)
    for a, b in zip(out, again):
        np.testing.assert_array_equal(a, b)
    assert extractor.cache_namespace.startswith(f"{cls.name}/{cls.version}-")
    assert extractor.weights in ("real", "random", "none")


def _cpu_context(tmp_path):
    """A FitContext whose trainers run one CPU batch (``fast_dev_run``)."""
    return FitContext(
        seed=0,
        out_dir=tmp_path,
        make_trainer=lambda **kw: make_trainer(
            TrainerSettings(accelerator="cpu", fast_dev_run=True), tmp_path, **kw
        ),
    )


def _method_task_cases():
    for name, cls in METHODS.items():
        for kind in [k for k in MUSIC_TASKS if cls.supports_task(k)]:
            yield pytest.param(name, kind, id=f"{name}-{kind.value}")


@pytest.fixture(scope="module")
def synth_small():
    return DATASETS.get("synth-small")()


@pytest.fixture(scope="module")
def feature_arrays(synth_small):
    from mer_bench.features.cache import FeatureCache

    tracks = synth_small.tracks()
    return {
        name: FeatureCache().features(FEATURES.get(name)(), tracks, n_jobs=1)[0]
        for name in ("mfcc", "logmel")
    }


def _music_folds(cls, kind, dataset, feature_arrays) -> tuple[FoldData, FoldData, FoldData]:
    """Train, validation and test parts of the first kfold:4 fold for ``cls`` on ``kind``."""
    task = Task(dataset.name, kind)
    split = dataset.splits("kfold:4", 0, task)[0]
    features = feature_arrays["logmel" if cls.consumes == "sequences" else "mfcc"]

    def part(ids):
        tracks = tuple(dataset.track(i) for i in ids)
        return FoldData(
            task,
            tracks,
            tuple(features[i] for i in ids),
            tuple(task.target(t) for t in tracks),
            dataset.load_audio,
        )

    return part(split.train), part(split.val), part(split.test)


@pytest.mark.parametrize("name,kind", list(_method_task_cases()))
def test_method_fits_predicts_and_is_scored(
    name, kind, synth_small, feature_arrays, fitted, tmp_path
):
    cls = METHODS.get(name)
    assert dataclasses.is_dataclass(cls.Params) and cls.Params.__dataclass_params__.frozen
    if kind is _check_kind(cls):  # the fit the method checks below share
        first = fitted(name)
        test, prediction = first.folds[2], first.prediction
    else:
        train, val, test = _music_folds(cls, kind, synth_small, feature_arrays)
        method = cls(cls.make_params(smoke=True), seed=0)
        assert method.fit(train, val, _cpu_context(tmp_path)) is method
        prediction = method.predict(test)
    if kind.family in (Family.CLASSIFICATION, Family.TAGGING, Family.REGRESSION):
        assert np.asarray(prediction).shape == (len(test), len(kind.labels))
    elif kind.family is Family.SEQUENCE_REGRESSION:
        assert [p.shape for p in prediction] == [t.shape for t in test.targets]
    elif isinstance(prediction, dict):  # one matrix per retrieval direction
        assert {k: np.asarray(v).shape for k, v in prediction.items()} == {
            "m2e": (len(test), len(test)),
            "e2m": (len(test), len(test)),
        }
    else:
        assert np.asarray(prediction).shape == (len(test), len(test))
    metrics = score(kind, truth(test), prediction)
    assert kind.primary_metric in metrics


@pytest.mark.parametrize("name", METHODS.names())
def test_method_params_and_search_space(name):
    cls = METHODS.get(name)
    with pytest.raises(ConfigError, match="no parameter"):
        cls.make_params({"surely_not_a_parameter": 1})
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    space = cls.search_space(trial)
    assert set(space) <= {f.name for f in dataclasses.fields(cls.Params)}
    cls.make_params(space)
    RunSpec(method=name, dataset="synth-small", task="quadrant", features="mfcc")


def test_trainer_factory_runs_on_cpu_and_forwards_metrics(tmp_path):
    import lightning as L
    import torch

    class Tiny(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(4, 1)

        def training_step(self, batch, _):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.layer(x), y)
            self.log("train_loss", loss, on_epoch=True, on_step=False)
            return loss

        def validation_step(self, batch, _):
            x, y = batch
            self.log("val_loss", torch.nn.functional.mse_loss(self.layer(x), y))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    data = torch.utils.data.TensorDataset(torch.randn(16, 4), torch.randn(16, 1))
    logged = []
    trainer = make_trainer(
        TrainerSettings(accelerator="cpu", max_epochs_cap=2),
        tmp_path,
        lambda m, step: logged.append((step, m)),
        max_epochs=50,
    )
    loader = torch.utils.data.DataLoader(data, batch_size=8)
    trainer.fit(Tiny(), loader, loader)
    assert trainer.current_epoch == 2
    # once per epoch, with the epoch's training and validation values together
    assert [step for step, _ in logged] == [0, 1]
    assert all({"train_loss", "val_loss"} <= set(m) for _, m in logged)


def _text2music_methods():
    return [n for n, c in METHODS.items() if c.supports_task(TEXT2MUSIC_RETRIEVAL)]


@pytest.fixture(scope="module")
def text2music_folds(tmp_path_factory):
    """One fold of synth-text matched with synth-small, built by the runner itself."""
    from mer_bench.runs import Runner, RunnerSettings, resolve
    from mer_bench.tracking import InMemoryTracker

    spec = RunSpec(
        method="chance",
        dataset="synth-text",
        dataset_params={"per_emotion": 12},  # 60 sentences keep every method's fit short
        task=TEXT2MUSIC_RETRIEVAL.value,
        features="mfcc",
        protocol="kfold:4",
        music_dataset="synth-small",
    )
    run = resolve(spec)
    settings = RunnerSettings(progress=False, work_dir=tmp_path_factory.mktemp("t2m"))
    runner = Runner(InMemoryTracker(), settings)
    prep = runner.prepare(run)
    return fold_data(run, prep, prep.splits[0])


@pytest.mark.parametrize("name", _text2music_methods())
def test_text2music_method_ranks_every_clip_for_every_text(
    name, text2music_folds, fitted, tmp_path
):
    cls = METHODS.get(name)
    train, val, test = (text2music_folds[k] for k in ("train", "val", "test"))
    assert test.texts and test.tracks and test.bridge is not None
    if _check_kind(cls) is TEXT2MUSIC_RETRIEVAL:  # fitted once for all checks
        prediction = np.asarray(fitted(name).prediction)
    else:
        method = cls(cls.make_params(smoke=True), seed=0)
        assert method.fit(train, val, _cpu_context(tmp_path)) is method
        prediction = np.asarray(method.predict(test))
    assert prediction.shape == (len(test.texts), len(test.tracks))
    assert np.all(np.isfinite(prediction))
    metrics = score(TEXT2MUSIC_RETRIEVAL, truth(test), prediction)
    assert 0 < metrics["mrr"] <= 1 and 0 <= metrics["precision@5"] <= 1


# --------------------------------------------------------------------------
# scikit-learn-style checks of every method (the rules in Method's docstring)
# --------------------------------------------------------------------------
@dataclasses.dataclass
class _Fitted:
    method: Any
    before: dict[str, Any]  # the instance's attributes before ``fit``
    folds: tuple[FoldData, FoldData, FoldData]
    prediction: Any  # of the test part, right after ``fit``


def _check_kind(cls) -> TaskKind:
    """The task a method's contract checks fit it on: its first music task, else text2music."""
    kinds = [k for k in MUSIC_TASKS if cls.supports_task(k)]
    return kinds[0] if kinds else TEXT2MUSIC_RETRIEVAL


@pytest.fixture(scope="module")
def fitted(request, synth_small, feature_arrays, tmp_path_factory):
    """``fitted(name)``: the method fitted once with its smoke parameters and seed 0 on
    ``_check_kind`` (text-only methods: one synth-text fold), shared by every check."""
    cache: dict[str, _Fitted] = {}

    def get(name: str) -> _Fitted:
        if name not in cache:
            cls = METHODS.get(name)
            kind = _check_kind(cls)
            if kind is TEXT2MUSIC_RETRIEVAL:
                t2m = request.getfixturevalue("text2music_folds")
                folds = (t2m["train"], t2m["val"], t2m["test"])
            else:
                folds = _music_folds(cls, kind, synth_small, feature_arrays)
            method = cls(cls.make_params(smoke=True), seed=0)
            before = dict(vars(method))
            ctx = _cpu_context(tmp_path_factory.mktemp(name))
            assert method.fit(folds[0], folds[1], ctx) is method
            cache[name] = _Fitted(method, before, folds, method.predict(folds[2]))
        return cache[name]

    return get


def _assert_same(a: Any, b: Any, exact: bool) -> None:
    """Predictions equal in structure and values (arrays, lists of arrays, dicts of them)."""
    if isinstance(a, dict):
        assert sorted(a) == sorted(b)
        for key in a:
            _assert_same(a[key], b[key], exact)
    elif isinstance(a, list | tuple) and a and np.ndim(a[0]) > 0 and not isinstance(a, np.ndarray):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_same(x, y, exact)
    elif exact:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    else:  # same seed: equal up to floating-point reduction order
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", METHODS.names())
def test_method_same_seed_same_predictions(name, fitted, tmp_path):
    first = fitted(name)
    cls = METHODS.get(name)
    again = cls(cls.make_params(smoke=True), seed=0)
    train, val, test = first.folds
    _assert_same(first.prediction, again.fit(train, val, _cpu_context(tmp_path)).predict(test),
                 exact=False)  # fmt: skip


def check_pickle_round_trip(name: str, method: Any, test: FoldData, prediction: Any) -> None:
    """A fitted method pickles, and the copy predicts exactly what the original did."""
    try:
        blob = pickle.dumps(method, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # the sweep cache would keep it in memory only
        pytest.fail(f"fitted {name} cannot be pickled: {type(exc).__name__}: {exc}")
    clone = pickle.loads(blob)
    assert type(clone) is type(method) and clone.params == method.params
    _assert_same(prediction, clone.predict(test), exact=True)


def check_fit_attributes(name: str, before: dict[str, Any], method: Any) -> None:
    """``fit`` added no public attribute and replaced none (see Method's docstring)."""
    after = vars(method)
    added = sorted(k for k in set(after) - set(before) if not k.startswith("_"))
    assert not added, f"{name}.fit adds public attributes {added}; name them _{added[0]}"
    for key, value in before.items():
        if not key.startswith("_"):
            assert after[key] is value, f"{name}.fit replaced the public attribute {key!r}"


@pytest.mark.parametrize("name", METHODS.names())
def test_fitted_method_pickles_and_predicts_the_same(name, fitted):
    first = fitted(name)
    check_pickle_round_trip(name, first.method, first.folds[2], first.prediction)


@pytest.mark.parametrize("name", METHODS.names())
def test_fit_adds_no_public_attributes(name, fitted):
    first = fitted(name)
    check_fit_attributes(name, first.before, first.method)


def test_method_checks_catch_a_method_that_breaks_the_rules():
    """The checks fail on a method that keeps a closure and a public fitted attribute."""

    class Careless(METHODS.get("chance")):
        def fit(self, train, val, ctx):
            super().fit(train, val, ctx)
            self.classes_ = 4
            self._rescale = lambda x: x
            return self

    task = Task("x", QUADRANT)
    fold = FoldData(task, (), targets=())
    method = Careless(seed=0)
    before = dict(vars(method))
    method.fit(fold, fold, None)
    with pytest.raises(AssertionError, match=r"adds public attributes \['classes_'\]"):
        check_fit_attributes("careless", before, method)
    with pytest.raises(pytest.fail.Exception, match="fitted careless cannot be pickled"):
        check_pickle_round_trip("careless", method, fold, method.predict(fold))


def test_a_kept_fit_context_is_detached_when_pickled(tmp_path):
    """A method may keep its FitContext (sssl logs at predict time); its closures stay behind."""
    from mer_bench.errors import TaskError

    method = METHODS.get("chance")(seed=0)
    method._ctx = _cpu_context(tmp_path)  # make_trainer is a lambda: not picklable as is
    clone = pickle.loads(pickle.dumps(method))
    assert clone._ctx.out_dir == tmp_path and clone._ctx.tracker is None
    clone._ctx.log_metrics({"sssl_short_test_clips": 1.0})  # no tracker: logs nothing
    with pytest.raises(TaskError, match="unpickled"):
        clone._ctx.make_trainer(max_epochs=1)
    assert method._ctx.make_trainer is not clone._ctx.make_trainer  # the original is untouched
