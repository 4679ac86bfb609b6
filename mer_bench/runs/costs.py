"""Cost estimates: how long a resolved run would take on this machine, measured, not guessed.

A paper row at the paper's own settings (VGG16 for 100 epochs, 10 folds...)
can take days on a CPU, so ``reproduce --dry-run`` says so before anyone
starts it. The estimate times real work at the run's own settings and data:

* feature extraction: two small batches of the clips the ``FeatureCache``
  does not hold yet, extrapolated to all of them (0 when all are cached);
* training: one real fit of the run's first fold, with every Lightning
  Trainer the method builds stopped after ``PROBE_EPOCHS`` epochs (more while
  its epochs after the first add up to less than ``PROBE_SECONDS``). Each
  Trainer's later epochs are timed and the epochs it was cut short of are
  added at that rate, so fixed costs (decoding audio, building the model,
  predicting, a song-level SVM) are counted once per fit and multi-stage
  methods (an auto-encoder then a classifier, two regression directions) are
  extrapolated stage by stage, whatever their epoch parameters are called.
  A probe epoch that runs longer than ``STEP_BUDGET_S`` is cut after a few
  training steps and extrapolated per step, plus what the epoch did before
  its first step (e.g. SSSL's pass over the training segments); what the fit
  does after that epoch (later stages, predicting) then goes unmeasured, and
  the estimate says it is a lower bound.

Epochs reduced at the Trainer, not in the parameters: the method runs its
own code path with its own settings, and only ``Method.cost_probe`` may
change a parameter, to make the probe's epochs as costly as the run's.
Early stopping makes a ``max_epochs`` a ceiling, so such estimates are upper
bounds and say so. Nothing is logged to the tracker; extracted features stay
in the cache (the run would compute the same entries).
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mer_bench.features.cache import MIN_PARALLEL, FeatureCache, audio_hash_of
from mer_bench.features.entries import is_stored
from mer_bench.methods import FitContext
from mer_bench.runs.folds import fold_seed, seed_everything
from mer_bench.runs.preparing import Prepared, fold_data
from mer_bench.runs.resolving import ResolvedRun
from mer_bench.training import TrainerSettings, make_trainer
from mer_bench.types import Track

PROBE_EPOCHS = 3  # epochs each Trainer runs in the probe at least; the first pays warm-up
PROBE_SECONDS = 3.0  # ... and more, until its later epochs add up to this (load evens out)
REPEAT_BELOW_S = 30.0  # a probe quicker than this runs twice, and the second pass counts
STEP_BUDGET_S = 60.0  # a probe epoch longer than this is cut and measured per step
MIN_STEPS = 3  # steps timed before a long epoch is cut (the first is warm-up)
EXTRACT_BUDGET_S = 300.0  # the probe extracts the run's features when that takes no longer

if TYPE_CHECKING:  # pragma: no cover
    from mer_bench.runs.running import Runner

Reporter = Callable[[str], None]


@dataclass(frozen=True)
class CostEstimate:
    """A run's estimated wall time here, and what it was extrapolated from.

    ``seconds`` = ``extract_seconds`` + ``once_seconds`` + ``folds`` x
    ``fold_seconds``; ``measured`` is the unit timed (``s/epoch``, ``s/step``
    or ``s/fit``) and ``rate`` its value; ``epochs`` the epochs of each
    Trainer stage the run asks for. ``upper_bound``: early stopping may end
    sooner; ``lower_bound``: a long epoch was cut, so the rest of that fit
    (later stages, predicting) is not counted, or training was not timed at
    all (``fold_seconds`` None: features to extract first).
    """

    seconds: float
    extract_seconds: float
    uncached_clips: int
    fold_seconds: float | None
    folds: int
    measured: str
    rate: float
    epochs: tuple[int, ...]
    device: str
    upper_bound: bool = False
    lower_bound: bool = False
    note: str = ""
    once_seconds: float = 0.0  # what a fresh process pays once (imports...), in ``seconds``

    def describe(self) -> str:
        """E.g. ``≈ at least 102 days here (2 CPU cores, measured 77 s/step); needs 100
        epochs × 10 folds (the fit after the cut epoch not timed)``.

        No ". " inside: table cells shorten long reasons at their first sentence.
        """
        bound = "at most " if self.upper_bound else "at least " if self.lower_bound else ""
        what = f"measured {_number(self.rate)} {self.measured}" if self.fold_seconds else self.note
        needs = [f"{'+'.join(map(str, self.epochs))} epochs"] if self.epochs else []
        needs.append(f"{self.folds} fold{'s' if self.folds != 1 else ''}")
        text = f"≈ {bound}{duration(self.seconds)} here ({self.device}, {what}); " \
               f"needs {' × '.join(needs)}"
        if self.uncached_clips:
            text += f", including ≈ {duration(self.extract_seconds)} extracting " \
                    f"{self.uncached_clips} clips"
        if self.upper_bound:
            text += " (early stopping may end sooner)"
        if self.lower_bound and self.fold_seconds:
            text += f" ({self.note})"
        return text


@dataclass
class _Stage:
    """What the probe saw of one Trainer the method built, and that stage's full cost."""

    epochs: int  # what the run would train
    early_stopping: bool
    epoch_starts: list[float] = field(default_factory=list)
    end: float | None = None  # when training ended (or was cut)
    cut: bool = False
    steps_per_epoch: int = 0
    step_seconds: list[float] = field(default_factory=list)
    step_start: float = 0.0
    first_step: float | None = None  # what an epoch does before its first step (e.g. a
    # pass over the training data) runs from its start until then

    def probe_seconds(self) -> float:
        """What the stage's training took in the probe."""
        if not self.epoch_starts or self.end is None:
            return 0.0
        return self.end - self.epoch_starts[0]

    def epoch_rate(self) -> float:
        """Seconds per epoch: the later probe epochs' mean (the first pays warm-up)."""
        starts, end = self.epoch_starts, self.end
        if not starts or end is None:
            return 0.0
        return (end - starts[-1 if len(starts) == 1 else 1]) / max(1, len(starts) - 1)

    def step_rate(self) -> float:
        """Seconds per training step: the median after the first (warm-up) step."""
        steps = self.step_seconds[1:] or self.step_seconds
        return statistics.median(steps) if steps else 0.0

    def full_seconds(self) -> float:
        """The stage's training at the run's epochs: timed epochs plus the rest at the rate."""
        if self.cut:
            before = (self.first_step or self.epoch_starts[0]) - self.epoch_starts[0]
            return self.epochs * (before + self.steps_per_epoch * self.step_rate())
        missing = max(0, self.epochs - len(self.epoch_starts))
        return self.probe_seconds() + missing * self.epoch_rate()


class _ProbeCut(Exception):
    """Raised from inside ``fit`` to stop a probe whose epoch is too long to finish."""


def estimate(run: ResolvedRun, runner: Runner, report: Reporter | None = None,
             step_budget_s: float = STEP_BUDGET_S) -> CostEstimate:
    """Estimate ``run``'s wall time here, with ``runner``'s data, cache and Trainer settings.

    Raises what the run itself would raise (dataset, weights, a fold without
    test items), since the probe fits the run's own first fold.
    """
    say = report or (lambda message: None)
    settings = runner.settings.trainer
    device = device_label(settings)
    extract_s, uncached = 0.0, 0
    if run.extractor is not None:
        bare = runner.prepare(dataclasses.replace(run, extractor=None))
        tracks = [t for t in bare.tracks.values() if t.text is None]
        extract_s, uncached = _extraction(run, tracks, runner.cache, say)
        if extract_s > EXTRACT_BUDGET_S:
            note = "training not timed until the features are cached"
            return CostEstimate(extract_s, extract_s, uncached, None, len(bare.splits), "", 0.0,
                                (), device, lower_bound=True, note=note)
    prep = runner.prepare(run)
    say(f"  timing {run.name}: fold 1 of {len(prep.splits)} ({device})")
    imports = _import_seconds()  # out of the probe, or the first fold would carry them
    fold_s, stages, cut, wall = _probe_fold(run, prep, settings, step_budget_s)
    once = imports if stages else 0.0  # the run imports Lightning only when it trains with it
    if wall < REPEAT_BELOW_S and not cut:
        # the first pass paid what a process pays once (imports, thread pools, allocator),
        # which would otherwise be counted in every fold of a quick run
        again, stages, cut, _ = _probe_fold(run, prep, settings, step_budget_s)
        once, fold_s = once + max(0.0, fold_s - again), again
    unit, rate = _headline(stages, fold_s)
    folds = len(prep.splits)
    return CostEstimate(
        extract_s + once + folds * fold_s, extract_s, uncached, fold_s, folds, unit, rate,
        tuple(s.epochs for s in stages if s.epoch_starts), device,
        upper_bound=any(s.early_stopping for s in stages) and not cut, lower_bound=cut,
        note="the fit after the cut epoch not timed" if cut else "", once_seconds=once,
    )


def _import_seconds() -> float:
    """Seconds to import torch and Lightning in this process (0 once they are loaded):
    a run's process pays them once, before its first fold."""
    start = time.perf_counter()
    import lightning  # noqa: F401
    import torch  # noqa: F401

    return time.perf_counter() - start


def _extraction(
    run: ResolvedRun, tracks: list[Track], cache: FeatureCache, say: Reporter
) -> tuple[float, int]:
    """(seconds to extract the clips not cached yet, how many): two batches timed, the
    rest extrapolated (spread over the cores when the cache would use worker processes).
    The timed clips stay cached; ``estimate`` then extracts the rest when that is quick."""
    extractor = run.extractor
    assert extractor is not None
    todo = [t for t in tracks
            if not is_stored(cache.path_for(extractor, audio_hash_of(Path(str(t.audio_path)))))]
    if not todo:
        return 0.0, 0
    size = max(2, extractor.batch_size)
    say(f"  timing {extractor.name} extraction: {len(todo)} clips not cached")
    first = cache.features(extractor, todo[:size])[1].seconds
    second_batch = todo[size:2 * size]
    if not second_batch:
        return first, len(todo)
    second = cache.features(extractor, second_batch)[1].seconds
    rest = len(todo) - size - len(second_batch)
    parallel = extractor.parallel == "process" and rest >= MIN_PARALLEL
    rest_s = second / len(second_batch) * rest / (_cores() if parallel else 1)
    return first + second + rest_s, len(todo)


def _probe_fold(
    run: ResolvedRun, prep: Prepared, settings: TrainerSettings, step_budget_s: float
) -> tuple[float, list[_Stage], bool, float]:
    """Fit and predict the first fold with short Trainers; extrapolate to one full fold.

    A fold's seconds = the probe's wall time, minus what each Trainer stage took
    in the probe, plus what that stage takes in full. Returns (fold seconds,
    the stages, whether a long epoch was cut, the probe's own wall time).
    """
    split = prep.splits[0]
    parts = fold_data(run, prep, split)
    seed = fold_seed(run.spec.seed, split.name)
    seed_everything(seed)
    stages: list[_Stage] = []
    out_dir = Path(tempfile.mkdtemp(prefix="mer-bench-cost-"))
    build = partial(_probe_trainer, settings, out_dir, stages, step_budget_s)
    ctx = FitContext(seed=seed, out_dir=out_dir, make_trainer=build)
    method = run.method_cls(run.method_cls.cost_probe(run.params), seed)
    start, cut = time.perf_counter(), False
    try:
        method.fit(parts["train"], parts["val"], ctx)
        method.predict(parts["test"])
    except _ProbeCut:
        cut = True
    wall = time.perf_counter() - start
    return wall + sum(s.full_seconds() - s.probe_seconds() for s in stages), stages, cut, wall


def _headline(stages: list[_Stage], fold_s: float) -> tuple[str, float]:
    """The unit to show: the costliest stage's s/step (cut) or s/epoch; s/fit without one."""
    timed = [s for s in stages if s.epoch_starts]
    if not timed:
        return "s/fit", fold_s
    stage = max(timed, key=lambda s: s.full_seconds())
    return ("s/step", stage.step_rate()) if stage.cut else ("s/epoch", stage.epoch_rate())


def _probe_trainer(
    settings: TrainerSettings, out_dir: Path, stages: list[_Stage], step_budget_s: float,
    **overrides: Any,
) -> Any:
    """``make_trainer`` for the probe: the run's Trainer, timed, stopped early, no logging."""
    from lightning.pytorch.callbacks import EarlyStopping

    requested = overrides.get("max_epochs")
    epochs = 1000 if requested is None or requested < 0 else int(requested)  # Lightning's default
    if settings.max_epochs_cap is not None:
        epochs = min(epochs, settings.max_epochs_cap)
    callbacks = list(overrides.pop("callbacks", []))
    stage = _Stage(epochs, any(isinstance(c, EarlyStopping) for c in callbacks))
    stages.append(stage)
    overrides["max_epochs"] = epochs
    overrides["callbacks"] = [*callbacks, _timer(stage, step_budget_s)]
    return make_trainer(settings, out_dir, None, None, **overrides)


def _timer(stage: _Stage, step_budget_s: float) -> Any:
    """A Lightning callback that times ``stage``'s epochs and steps, and cuts a long epoch."""
    from lightning.pytorch.callbacks import Callback

    class Timer(Callback):  # type: ignore[misc]
        def on_train_epoch_start(self, trainer: Any, module: Any) -> None:
            stage.epoch_starts.append(time.perf_counter())
            stage.steps_per_epoch = int(trainer.num_training_batches)

        def on_train_batch_start(self, trainer: Any, module: Any, batch: Any, i: int) -> None:
            stage.step_start = time.perf_counter()
            if stage.first_step is None:
                stage.first_step = stage.step_start

        def on_train_batch_end(self, trainer: Any, module: Any, *args: Any) -> None:
            now = time.perf_counter()
            stage.step_seconds.append(now - stage.step_start)
            first_epoch = len(stage.epoch_starts) == 1
            long = now - stage.epoch_starts[0] > step_budget_s
            if first_epoch and long and len(stage.step_seconds) >= MIN_STEPS:
                stage.end, stage.cut = now, True
                raise _ProbeCut

        def on_train_epoch_end(self, trainer: Any, module: Any) -> None:
            starts = stage.epoch_starts
            timed = time.perf_counter() - starts[1] if len(starts) > 1 else 0.0
            if len(starts) >= PROBE_EPOCHS and timed >= PROBE_SECONDS:
                trainer.should_stop = True

        def on_train_end(self, trainer: Any, module: Any) -> None:
            stage.end = time.perf_counter()

    return Timer()


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # pragma: no cover - macOS, Windows


def device_label(settings: TrainerSettings) -> str:
    """Where the run would train: the GPU Lightning's ``auto`` picks, else the CPU cores."""
    cores = _cores()
    if settings.accelerator in ("auto", "gpu", "cuda"):
        try:
            import torch

            if torch.cuda.is_available():
                return f"GPU {torch.cuda.get_device_name(0)}"
        except ImportError:  # pragma: no cover - torch is a dependency
            pass
    return f"{cores} CPU cores"


def duration(seconds: float) -> str:
    """``41 h``, ``12 min``, ``40 s``: two significant figures at most."""
    if seconds < 90:
        return f"{_number(seconds)} s"
    if seconds < 90 * 60:
        return f"{_number(seconds / 60)} min"
    if seconds < 72 * 3600:
        return f"{_number(seconds / 3600)} h"
    return f"{_number(seconds / 86400)} days"


def _number(value: float) -> str:
    if value >= 10:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.1f}"
    return f"{value:.2g}"
