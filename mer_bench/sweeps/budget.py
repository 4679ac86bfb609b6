"""A study's trial budget, held exactly however many workers share the study.

Optuna's ``MaxTrialsCallback`` stops a worker once the study holds the budget;
counting the trials other workers are running (RUNNING) as well as the
finished ones keeps a worker from starting a trial the others will fill.
Between that check and the next trial's creation another worker may still
start one, so each trial also checks its place: trials are numbered in the
order the storage created them, and a trial with ``budget`` live or finished
trials before it is surplus. It is failed before it runs anything (``OverBudget``,
user attribute ``over_budget``), so COMPLETE + PRUNED never exceeds the budget.
"""

from __future__ import annotations

from typing import Any

OVER_BUDGET = "over_budget"


class OverBudget(Exception):
    """Raised inside a surplus trial; ``Study.optimize(catch=...)`` records it as FAIL."""


def budget_states() -> tuple[Any, ...]:
    """The trial states a budget counts: finished ones and those running now."""
    from optuna.trial import TrialState

    return (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)


def budget_callback(n_trials: int) -> Any:
    """Optuna's own stop rule for a budget shared by several workers."""
    import optuna

    return optuna.study.MaxTrialsCallback(n_trials, states=budget_states())


def remaining(study: Any, n_trials: int) -> int:
    """Trials still to start for the study to hold ``n_trials``."""
    return n_trials - len(study.get_trials(deepcopy=False, states=budget_states()))


def is_surplus(study: Any, number: int, n_trials: int) -> bool:
    """True when ``n_trials`` live or finished trials were created before trial ``number``."""
    trials = study.get_trials(deepcopy=False, states=budget_states())
    return sum(t.number < number for t in trials) >= n_trials


def refuse_if_surplus(trial: Any, n_trials: int) -> None:
    """Stop this worker and fail ``trial`` when other workers already fill the budget."""
    if is_surplus(trial.study, trial.number, n_trials):
        trial.set_user_attr(OVER_BUDGET, n_trials)
        trial.study.stop()
        raise OverBudget(f"trial {trial.number}: the study already holds {n_trials} trials")
