"""The method contract: what every MER method implements, and what it is given."""

from __future__ import annotations

import copy
import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from mer_bench.errors import ConfigError, TaskError
from mer_bench.features.base import FeatureExtractor, pool
from mer_bench.registry import Registry
from mer_bench.types import EmotionBridge, Family, NoParams, Task, TaskKind, Track

if TYPE_CHECKING:  # pragma: no cover
    import optuna

    from mer_bench.tracking.base import Tracker

Consumes = Literal["features", "sequences", "audio", "text+audio"]


@dataclass(frozen=True, eq=False)
class FoldData:
    """The part of a dataset a method sees in ``fit`` or ``predict``.

    ``features`` holds one array per track as the extractor produced it ([D]
    or [T, D]); ``targets`` one target per track in the task's format;
    ``audio(track, sr)`` decodes a track for methods that consume audio.
    ``feature_key`` is the feature-cache namespace of the extractor that made
    ``features`` (None when unknown), so a method can tell its own front end's
    arrays from anything else (``arrays_of``).
    For ``text2music_retrieval`` the tracks are the music clips (targets: their
    mood tags), ``texts`` the text items (``Track.text``, emotion in ``tags``)
    and ``bridge`` relates the two vocabularies; ``predict`` returns a
    similarity matrix [texts, tracks].
    """

    task: Task
    tracks: tuple[Track, ...]
    features: tuple[np.ndarray, ...] | None = None
    targets: tuple[Any, ...] = ()
    audio: Callable[[Track, int], np.ndarray] | None = None
    feature_hop_s: float | None = None
    texts: tuple[Track, ...] = ()
    bridge: EmotionBridge | None = None
    feature_key: str | None = None

    def __len__(self) -> int:
        return len(self.tracks)

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.tracks]

    def pooled(self) -> np.ndarray:
        """[N, D'] clip vectors: sequences are pooled to mean and std over time."""
        if self.features is None:
            raise TaskError("this run has no features; pick a feature extractor")
        return np.stack([pool(f) for f in self.features])

    def sequences(self) -> list[np.ndarray]:
        """Per-track [T, D] frame sequences (a clip vector counts as one frame)."""
        if self.features is None:
            raise TaskError("this run has no features; pick a feature extractor")
        return [f if f.ndim == 2 else f[None, :] for f in self.features]

    def arrays_of(self, extractor: FeatureExtractor) -> list[np.ndarray]:
        """Each track's array from ``extractor`` (a method's front end, ``Method.frontend``).

        In a run the runner has filled ``features`` from the disk feature cache
        with exactly this extractor, so they are returned as they are. Called
        directly (unit tests, notebooks) with other or no features, the arrays
        are computed now through the same extractor from the ``audio`` loader,
        so both ways give the same numbers; nothing is kept between calls.
        """
        if self.features is not None and self.feature_key == extractor.cache_namespace:
            return list(self.features)
        if self.audio is None:
            raise TaskError(
                f"no {extractor.name} arrays and no audio loader: this method consumes audio"
            )
        from threadpoolctl import threadpool_limits

        rate, audio = extractor.sample_rate, self.audio
        # one thread for CPU extractors, as the cache computes them: the same bits
        with threadpool_limits(1 if extractor.parallel == "process" else None):
            return [extractor.extract([audio(t, rate)])[0] for t in self.tracks]

    @property
    def text_labels(self) -> list[str]:
        """The emotion of each text item (text-to-music retrieval)."""
        return [t.tags[0] for t in self.texts]

    @property
    def music_labels(self) -> list[tuple[str, ...]]:
        """The mood tags of each music clip (text-to-music retrieval)."""
        return [tuple(t.tags) for t in self.tracks]

    @property
    def y(self) -> np.ndarray:
        """Targets stacked: int [N] for classes, float [N, T] for tags (soft where the
        dataset has rater shares), float [N, D] for regression dimensions."""
        family = self.task.kind.family
        if family is Family.CLASSIFICATION:
            return np.asarray(self.targets, dtype=np.int64)
        if family in (Family.REGRESSION, Family.TAGGING):
            width = len(self.task.kind.labels)
            if not self.targets:
                return np.zeros((0, width))
            return np.stack(self.targets).astype(float)
        raise TaskError(f"targets of {self.task.kind.value} are sequences; use .targets")

    @property
    def y_binary(self) -> np.ndarray:
        """Tagging targets as 0/1 [N, T]: a tag is positive when its share reaches the
        task's ``binarise_at`` (what the binary metrics score against)."""
        return (self.y >= self.task.binarise_at).astype(float)

    def subset(self, indices: list[int] | np.ndarray) -> FoldData:
        idx = [int(i) for i in indices]
        return dataclasses.replace(
            self,
            tracks=tuple(self.tracks[i] for i in idx),
            features=None if self.features is None else tuple(self.features[i] for i in idx),
            targets=tuple(self.targets[i] for i in idx),
        )


@dataclass
class FitContext:
    """What the runner hands a method: shared trainer factory, tracker, a folder.

    Methods never build their own Trainer or tracking client. ``make_trainer``
    takes Lightning Trainer keyword overrides (max_epochs, callbacks...).
    """

    seed: int
    out_dir: Path
    make_trainer: Callable[..., Any]
    tracker: Tracker | None = None
    run_id: str | None = None
    extra_tags: dict[str, str] = field(default_factory=dict)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Training curves (losses, validation scores) go to the fold's run."""
        if self.tracker is not None and self.run_id is not None:
            self.tracker.log_metrics(self.run_id, dict(metrics), step=step)

    def detached(self) -> FitContext:
        """This context without its trainer factory and tracker: what a pickled method keeps."""
        return dataclasses.replace(self, make_trainer=_no_trainer, tracker=None, run_id=None)


def _no_trainer(**_: Any) -> Any:
    raise TaskError(
        "this method was unpickled: its fit context has no trainer factory; fit it again "
        "inside a run to train"
    )


class Method(ABC):
    """A MER method. ``__init__`` only stores; all work happens in ``fit``.

    ``predict`` returns what the task's family needs (``metrics.scoring``): class
    scores [N, C], tag probabilities [N, T], values [N, D] of the task's
    dimensions, a list of [T_i, D] curves, or a similarity matrix [N, N] whose
    rows are music and columns emotion sequences.

    Rules every method keeps (checked for every registered method by the
    contract tests, in the spirit of scikit-learn's ``check_estimator``):

    * the same ``seed`` and data give the same predictions;
    * a fitted method pickles and predicts the same after a round trip (sweeps
      keep fitted models on disk): hold no lambdas, closures, open files or
      trainers on ``self``; the ``FitContext`` a method keeps is detached on
      pickling (no trainer factory, no tracker), see ``__getstate__``;
    * the public attributes are the constructor's (``params``, ``seed``) and
      ``fit`` leaves them as they were: everything ``fit`` learns or keeps goes
      into attributes whose names start with ``_`` (``self._model``), so that the
      public surface of a method does not depend on whether it was fitted.
    """

    name: ClassVar[str]
    version: ClassVar[str] = "1"  # bump when a change alters the numbers a method produces
    consumes: ClassVar[Consumes] = "features"
    # the task families the method fits (``Family``); ``supports_task`` may narrow it
    supports: ClassVar[frozenset[Family]]
    Params: ClassVar[type] = NoParams
    smoke_params: ClassVar[Mapping[str, Any]] = {}
    # parameters that only change how a trained model scores (e.g. EMER-CL's P):
    # a sweep re-scores a fitted model through ``rescore`` instead of retraining
    score_only_params: ClassVar[frozenset[str]] = frozenset()
    # parameters always named in a leaderboard row, even at their default (e.g. the
    # classifier of embedding-classifiers), so a row says what it is
    label_params: ClassVar[tuple[str, ...]] = ()
    # tags a method sets in ``FitContext.extra_tags`` that also name its leaderboard row
    # (e.g. the text encoder text2music actually loaded when asked for "auto")
    label_tags: ClassVar[tuple[str, ...]] = ()
    # whether ``fit`` selects on the validation part (early stopping, model selection);
    # when it does not, the runner merges the protocol's validation part into training
    # and hands ``fit`` an empty ``val`` (a method whose answer depends on its parameters
    # overrides ``selects_on_validation``)
    uses_validation: ClassVar[bool] = True
    # what one fold's fit asks of a Ray worker (``--executor ray``); methods that train
    # networks also get a GPU where the cluster has one (``trains_networks``)
    fit_resources: ClassVar[Mapping[str, float]] = {"num_cpus": 1}
    trains_networks: ClassVar[bool] = False

    def __init__(self, params: Any | None = None, seed: int = 0) -> None:
        self.params = params if params is not None else self.Params()
        self.seed = seed

    @classmethod
    def make_params(cls, overrides: Mapping[str, Any] | None = None, smoke: bool = False) -> Any:
        """Paper defaults, then smoke params (tests), then user overrides."""
        values = {**(cls.smoke_params if smoke else {}), **(overrides or {})}
        known = {f.name: f for f in dataclasses.fields(cls.Params)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            from mer_bench.suggest import did_you_mean

            hint = did_you_mean(unknown[0], known)
            raise ConfigError(
                f"method {cls.name!r} has no parameter(s) {unknown}{hint} (known: {sorted(known)})"
            )
        return dataclasses.replace(cls.Params(), **values)

    @classmethod
    def supports_task(cls, task: TaskKind) -> bool:
        """Whether the method runs on ``task``: its family is supported (a method tied to
        one task, such as EMER-CL's SVR on static V/A, narrows this)."""
        return task.family in cls.supports

    @classmethod
    def supported_tasks(cls) -> list[TaskKind]:
        """Every declared task the method runs on, by name."""
        return [kind for kind in TaskKind.all() if cls.supports_task(kind)]

    @classmethod
    def task_params(cls, task: TaskKind) -> frozenset[str]:
        """The ``Params`` fields ``fit`` and ``predict`` read for ``task`` (default: all).

        A method whose task families read different fields (a classifier's C, a
        regressor's alpha) narrows this, so that a value set for a field the task
        never reads is refused rather than run as a variant that changes nothing.
        """
        if not dataclasses.is_dataclass(cls.Params):
            return frozenset()
        return frozenset(f.name for f in dataclasses.fields(cls.Params))

    @classmethod
    def validate_params(cls, params: Any, task: TaskKind) -> None:
        """Refuse, before anything runs, parameters this method would fail on or ignore.

        Two checks for ``task``: a non-default value of a field the task does not read
        (``task_params``), then ``check_param_values``, the constraints of the
        libraries the method builds on. Both raise a one-line ``ConfigError``.
        """
        if not cls.supports_task(task):
            raise TaskError(f"method {cls.name!r} does not support {task.value}")
        used = cls.task_params(task)
        if dataclasses.is_dataclass(cls.Params):
            defaults = cls.Params()
            for f in dataclasses.fields(cls.Params):
                value, default = getattr(params, f.name), getattr(defaults, f.name)
                if f.name not in used and value != default:
                    reads = _reads(used, {g.name for g in dataclasses.fields(cls.Params)})
                    raise ConfigError(
                        f"method {cls.name!r}: {f.name}={value!r} is ignored by "
                        f"{task.value} (it reads {reads}); drop {f.name} for this task "
                        f"(default {default!r})"
                    )
        if _shipped_values(cls, params):  # the contract tests validate these for every task
            return
        owner = f"method {cls.name!r}"
        try:
            cls.check_param_values(params, task)
        except ConfigError as exc:  # a check shared with fit may not name the method
            if str(exc).startswith((owner, f"{cls.name}:", f"{cls.name} ")):
                raise
            raise ConfigError(f"{owner}: {exc}") from None

    @classmethod
    def check_param_values(cls, params: Any, task: TaskKind) -> None:
        """Check ``params`` for ``task`` with the estimator's own constraints (default: none).

        A method delegates to the libraries it builds on (``methods.param_checks``:
        scikit-learn's parameter constraints, torch's argument checks), plus the domain
        rules its ``Params`` document, so a bad value fails here rather than mid-run.
        """
        return None

    @classmethod
    def frontend(cls, params: Any) -> FeatureExtractor | None:
        """The registered extractor that turns a clip into this method's input, or None.

        Methods that read audio (``consumes`` ``audio``, or ``text+audio`` on the
        audio side) return it built from ``params``; the runner then fills the
        shared disk feature cache with it and hands the arrays over in
        ``FoldData.features`` (read them with ``FoldData.arrays_of``), so a
        second run with other model parameters reads them instead of decoding
        again. The front end is determined by parameters already in the config
        hash, so it adds nothing to it.
        """
        return None

    def selects_on_validation(self) -> bool:
        """Whether ``fit`` reads ``val`` with these parameters (default: ``uses_validation``)."""
        return self.uses_validation

    @classmethod
    def search_space(cls, trial: optuna.Trial, task: TaskKind | None = None) -> dict[str, Any]:
        """Optuna search space; methods without hyper-parameters return {}.

        ``task`` (None: any) lets a method leave out parameters the task never reads,
        so a sweep neither spends trials on them nor ranks their importance.
        """
        return {}

    @classmethod
    def task_search_space(cls, trial: optuna.Trial, task: TaskKind) -> dict[str, Any]:
        """``search_space`` for one task; spaces written without a ``task`` argument get none."""
        import inspect

        if "task" in inspect.signature(cls.search_space).parameters:
            return cls.search_space(trial, task=task)
        return cls.search_space(trial)

    @classmethod
    def cost_probe(cls, params: Any) -> Any:
        """The parameters a cost estimate (``runs.costs``) fits its short probe with.

        The probe keeps the run's parameters and limits each Lightning Trainer to
        a couple of epochs, then adds the remaining epochs at the measured rate;
        so the probe's epochs must cost what the run's typical epoch costs. A
        method whose first epochs are cheaper (a warm-up phase) overrides this to
        probe its main phase instead. Default: the run's own parameters.
        """
        return params

    @abstractmethod
    def fit(self, train: FoldData, val: FoldData, ctx: FitContext) -> Method:
        """Train on ``train`` (``val`` for early stopping / model selection)."""

    @abstractmethod
    def predict(self, data: FoldData) -> Any:
        """Predictions in the task's format (see the class docstring)."""

    def rescore(self, **score_params: Any) -> Method:
        """This fitted method with new ``score_only_params``, without retraining."""
        unknown = set(score_params) - self.score_only_params
        if unknown:
            raise ConfigError(
                f"method {self.name!r}: {sorted(unknown)} are not score-only parameters"
            )
        clone = copy.copy(self)
        clone.params = dataclasses.replace(self.params, **score_params)
        return clone

    def __getstate__(self) -> dict[str, Any]:
        """The method's state for pickling, with any kept ``FitContext`` detached.

        The context belongs to the run (its trainer factory is often a closure and
        its tracker a live client), not to the fitted model; an unpickled method
        gets one that logs nothing and builds no trainer.
        """
        return {
            key: value.detached() if isinstance(value, FitContext) else value
            for key, value in self.__dict__.items()
        }


def _shipped_values(cls: type[Method], params: Any) -> bool:
    """Whether ``params`` are the method's defaults or its smoke values: those are checked
    for every supported task by the contract tests, so a bench whose runs are all finished
    need not import the estimators' libraries to check them again."""
    try:
        return params in (cls.Params(), cls.make_params({}, smoke=True))
    except Exception:  # params that do not compare (arrays...): check them
        return False


def _reads(used: frozenset[str], fields: set[str]) -> str:
    """What a task reads, said briefly: the fields, or all but the few it ignores."""
    if len(used) <= 6:
        return ", ".join(sorted(used)) or "no parameter"
    return "every parameter but " + ", ".join(sorted(fields - used))


METHODS: Registry[type[Method]] = Registry("method", named=True)
