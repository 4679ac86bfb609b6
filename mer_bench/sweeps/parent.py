"""A sweep's run in the tracker: one parent run per study (``kind=sweep``), its trials
as children, so MLflow shows a study as one row that opens onto its trials.

The parent carries what bench runs carry to trace a number (git, version, hardware;
``provenance``), the study and its objective. Several workers on one study share it:
each looks for the study's parent (by ``study_key``, a hash of storage and study name)
and creates one only when there is none; two workers creating at once both see both
and keep the earlier one (its ``sweep_started``, then its run id, as bench leases
settle claims), the other deletes its own before any trial is logged under it.
The parent is FINISHED, with the best value, once the study holds its budget.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from mer_bench.provenance import provenance_tags
from mer_bench.tracking.base import FINISHED, RunInfo, Tracker
from mer_bench.types import stable_hash

SWEEP = "sweep"
STARTED = "sweep_started"


def study_key(storage: str, study_name: str) -> str:
    """The study's identity in the tracker (the storage URL itself may hold a password)."""
    return stable_hash([storage, study_name], 16)


def parent_tags(study_name: str, key: str, row: Mapping[str, str], n_trials: int,
                objective: str, direction: str) -> dict[str, str]:
    """What the parent run says: the study, its objective and where it ran."""
    return {"kind": SWEEP, "study": study_name, "study_key": key, **row,
            "trial_budget": str(n_trials), "objective": objective, "direction": direction,
            **provenance_tags()}


def _order(info: RunInfo) -> tuple[float, str]:
    try:
        return float(info.tags.get(STARTED, "inf")), info.run_id
    except ValueError:
        return float("inf"), info.run_id


def open_parent(tracker: Tracker, study_name: str, tags: Mapping[str, str]) -> str:
    """The study's parent run id: found, or created (and settled against a rival)."""
    wanted = {"kind": SWEEP, "study_key": tags["study_key"]}
    found = tracker.find_tagged(wanted)
    if not found:
        mine = tracker.start_run(f"{study_name} (sweep)",
                                 {**tags, STARTED: f"{time.time():.6f}"})
        found = tracker.find_tagged(wanted) or [RunInfo(mine, "RUNNING", {})]
        winner = min(found, key=_order).run_id
        if winner != mine:  # another worker created the study's parent first
            tracker.delete_run(mine)
        return winner
    parent = min(found, key=_order).run_id
    tracker.set_tags(parent, {"trial_budget": tags["trial_budget"]})
    return parent


def close_parent(tracker: Tracker, parent: str, study: Any, n_trials: int,
                 objective: str) -> None:
    """FINISHED with the best value once the study holds ``n_trials`` finished trials and
    no worker runs one; otherwise the sweep goes on (or resumes) and it stays open."""
    import optuna

    state = optuna.trial.TrialState
    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state in (state.COMPLETE, state.PRUNED)]
    if len(done) < n_trials or any(t.state == state.RUNNING for t in trials):
        return
    complete = [t for t in done if t.state == state.COMPLETE]
    if complete:
        best = study.best_trial
        tracker.log_metrics(parent, {objective: float(best.value)})
        tracker.set_tags(parent, {"best_trial": str(best.number)})
    pruned = sum(t.state == state.PRUNED for t in done)
    tracker.set_tags(parent, {"trials": str(len(done)), "pruned_trials": str(pruned)})
    tracker.end_run(parent, FINISHED)
