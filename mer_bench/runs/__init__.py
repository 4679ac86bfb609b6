"""From a plan to tracked results, in three steps with one module each.

``resolving`` turns specs into ``ResolvedRun``s (defaults, parsed protocol,
config hash); ``preparing`` builds a run's data (dataset, splits, features,
per-fold parts); ``running`` executes runs against a tracker, one MLflow run
per run and per fold, through the fold loop in ``folds`` that sweeps share.
"""

from mer_bench.runs.preparing import DataPreparer, Prepared, fold_data, fold_task, truth
from mer_bench.runs.resolving import NO_FEATURES, ResolvedRun, expand, resolve
from mer_bench.runs.running import Runner, RunnerSettings, RunOutcome

__all__ = [
    "NO_FEATURES",
    "DataPreparer",
    "Prepared",
    "ResolvedRun",
    "RunOutcome",
    "Runner",
    "RunnerSettings",
    "expand",
    "fold_data",
    "fold_task",
    "resolve",
    "truth",
]
