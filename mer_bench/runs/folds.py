"""The fold loop, shared by bench runs (scored on test) and sweep trials (on validation).

For each split it fits a method (the caller says how: a bench run logs to a
fold run, a sweep re-uses fitted folds), predicts the scored part and scores
it. Everything here is a function of the run and the split, so the same run
gives the same folds, seeds and numbers wherever it executes.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mer_bench.errors import TaskError
from mer_bench.methods import FoldData, Method
from mer_bench.metrics import score
from mer_bench.runs.preparing import Prepared, split_sizes, truth
from mer_bench.runs.resolving import ResolvedRun
from mer_bench.types import Split, TaskKind, stable_hash

FitFold = Callable[[Split], tuple[Method, dict[str, FoldData]]]


@dataclass(frozen=True)
class FoldResult:
    """One scored fold: its data, what the method predicted and the metrics."""

    index: int
    split: Split
    parts: dict[str, FoldData]
    truth: Any
    prediction: Any
    metrics: dict[str, float]
    sizes: str  # train/val/test item counts


def score_folds(run: ResolvedRun, prep: Prepared, fit: FitFold, part: str,
                splits: list[Split] | None = None) -> Iterator[FoldResult]:
    """Fit each split (``splits``, default all) with ``fit``, predict its ``part`` ("test"
    or "val") and score it; ``index`` is the split's place in the run's splits.

    A fold whose primary metric is undefined stops the loop with an error that
    names it (``score_fold``).
    """
    for split in prep.splits if splits is None else splits:
        k = prep.splits.index(split)
        method, parts = fit(split)
        sizes = split_sizes(parts)
        data = parts[part]
        expected = truth(data)
        prediction = method.predict(data)
        metrics = score_fold(run.task, expected, prediction, split.name, sizes, part)
        yield FoldResult(k, split, parts, expected, prediction, metrics, sizes)


def score_fold(
    kind: TaskKind, expected: Any, prediction: Any, fold: str, sizes: str, part: str = "test"
) -> dict[str, float]:
    """The fold's metrics; a fold whose primary metric is undefined (NaN) is an error that
    names it, because a FINISHED run must carry a number (e.g. R² of one test clip)."""
    metrics = score(kind, expected, prediction)
    primary = kind.primary_metric
    value = metrics.get(primary, float("nan"))
    if value != value:  # NaN
        raise TaskError(
            f"fold {fold} (train/val/test {sizes}): {primary} is undefined on its {part} part "
            f"(too few or identical {part} items); use a protocol with a larger {part} share"
        )
    return metrics


def mean_metrics(fold_metrics: list[dict[str, float]]) -> dict[str, float]:
    """Each metric's mean over the folds that define it."""
    keys = {k for m in fold_metrics for k in m}
    out = {}
    for key in sorted(keys):
        values = [m[key] for m in fold_metrics if key in m and not np.isnan(m[key])]
        if values:
            out[key] = float(np.mean(values))
    return out


def fold_seed(seed: int, split_name: str) -> int:
    """The model seed of one split: a stable 31-bit function of (run seed, split name)."""
    return int(stable_hash([int(seed), str(split_name)])[:8], 16) & 0x7FFFFFFF


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and (when loaded) torch, so a fold's fit is reproducible."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


def fold_line(
    run: ResolvedRun, k: int, n: int, metrics: Mapping[str, float], start: float
) -> str:
    """``  fold k/K: metric = v (t s; ETA s)`` after each fold of a run."""
    primary = run.task.primary_metric
    elapsed = time.perf_counter() - start
    eta = elapsed / (k + 1) * (n - k - 1)
    value = metrics.get(primary, float("nan"))
    tail = f"; ETA {eta:.0f} s" if k + 1 < n else ""
    return f"  fold {k + 1}/{n}: {primary} = {value:.3f} ({elapsed:.1f} s{tail})"
