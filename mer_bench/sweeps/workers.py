"""Which worker runs a trial, and failing the trials of workers that are gone.

Optuna's heartbeats (``RDBStorage(heartbeat_interval=..., grace_period=...)``)
find a dead worker anywhere, but only after the grace period and only when
someone calls ``fail_stale_trials``: Optuna does so before each new trial, so
once the budget is met a killed worker's trial would stay RUNNING for ever.
A sweep therefore fails such trials itself when it starts and when it ends,
and, for a worker on this host, as soon as its process is gone: each trial
records its worker's host and PID (``WORKER`` user attribute), as bench runs'
leases do (``tracking.lease``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from mer_bench.tracking.lease import pid_alive, this_host

WORKER = "worker"


def claim(trial: Any) -> None:
    """Record on ``trial`` the host and PID of the process running it."""
    trial.set_user_attr(WORKER, {"host": this_host(), "pid": os.getpid()})


def is_gone(worker: Any) -> bool:
    """True when ``worker`` (a ``claim`` record) ran on this host and its process is gone;
    a worker elsewhere is left to the heartbeats."""
    if not isinstance(worker, Mapping) or worker.get("host") != this_host():
        return False
    pid = worker.get("pid")
    return isinstance(pid, int) and not pid_alive(pid)


def fail_orphans(study: Any, say: Callable[[str], None]) -> list[int]:
    """Fail the study's RUNNING trials whose worker is gone; returns their numbers.

    Heartbeat-stale trials are reported by the storage's stale-trial callback
    (see ``tuning._open_study``); trials of a dead process on this host here.
    """
    import optuna

    with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna's terms
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    failed = []
    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    for trial in running:
        worker = trial.user_attrs.get(WORKER)
        if not is_gone(worker):
            continue
        try:
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        except (RuntimeError, ValueError):  # finished meanwhile (another worker failed it)
            continue
        failed.append(trial.number)
        say(f"trial {trial.number}: its worker (pid {worker['pid']} on this host) is gone; "
            "marked failed")
    return failed
