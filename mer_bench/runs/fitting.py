"""Fitting one fold: the part of a run that an executor may send to another process.

A free function of the run, its prepared data and the split, so the in-process
loop and a Ray worker fit exactly the same way: the same fold seed, the same
Trainer settings, the same data. What the fit logs goes through ``log`` (the
runner's tracker in process; a recorder a worker sends back otherwise).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from mer_bench.methods import FitContext, FoldData, Method
from mer_bench.runs.folds import fold_seed, seed_everything
from mer_bench.runs.preparing import Prepared, fold_data
from mer_bench.runs.resolving import ResolvedRun
from mer_bench.training import TrainerSettings, make_trainer
from mer_bench.types import Split

LogMetrics = Callable[[Mapping[str, float], int | None], None]


@dataclass
class FittedFold:
    """A fitted method, the split's train/val/test parts, and the tags it chose."""

    method: Method
    parts: dict[str, FoldData]
    tags: dict[str, str]


def fit_fold(
    run: ResolvedRun,
    prep: Prepared,
    split: Split,
    *,
    trainer: TrainerSettings,
    work_dir: Path,
    log: LogMetrics | None = None,
    tracker: Any = None,
    run_id: str | None = None,
    merge_val: bool | None = None,
) -> FittedFold:
    """Fit the run's method on one split.

    The method's seed is derived from the run's seed and the split's name, so
    repeated splits start from different initialisations (as papers that
    re-initialise every run do) while the same run stays reproducible.
    """
    parts = fold_data(run, prep, split, merge_val)
    seed = fold_seed(run.spec.seed, split.name)
    seed_everything(seed)
    out_dir = work_dir / run.config_hash / split.name
    out_dir.mkdir(parents=True, exist_ok=True)

    def curve(metrics: Any, step: int | None = None) -> None:
        if log is not None:
            log(metrics, step)

    ctx = FitContext(
        seed=seed,
        out_dir=out_dir,
        tracker=tracker,
        run_id=run_id,
        make_trainer=partial(make_trainer, trainer, out_dir, curve,
                             progress_label=prep.fold_label(run, split)),
    )
    method = run.method_cls(run.params, seed)
    method.fit(parts["train"], parts["val"], ctx)
    tags = dict(ctx.extra_tags)  # what the method chose at fit time, e.g. its text encoder
    if tags:
        named = [f"{k}={tags[k]}" for k in run.method_cls.label_tags if k in tags]
        if named:
            tags["variant"] = ",".join([*filter(None, [run.variant]), *named])
    return FittedFold(method, parts, tags)
