"""Leases on running runs: several workers on one store split a plan, none destroys another's.

A parent run that is being computed carries who computes it (``lease_host``,
``lease_pid``), when it started (``lease_started``) and a heartbeat
(``lease_heartbeat``, epoch seconds) that a background thread renews every
``HEARTBEAT_S`` (and the runner at every fold). Another worker treats a
RUNNING run as abandoned, and so may delete and redo it, only when its
process is gone on this host or its heartbeat is older than
``LEASE_TIMEOUT_S`` (the only test that works across machines). A run without
lease tags (written before leases existed, or by hand) has no owner to wait
for and counts as abandoned.

A FINISHED run needs no lease: the runner removes these tags when it ends one,
so a finished run shows only what describes its result.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mer_bench.tracking.base import Tracker

HEARTBEAT_S = 30.0
LEASE_TIMEOUT_S = 300.0  # ten missed heartbeats: the worker is gone or cut off
HOST, PID, HEARTBEAT, STARTED = "lease_host", "lease_pid", "lease_heartbeat", "lease_started"
TAGS = (HOST, PID, HEARTBEAT, STARTED)  # dropped from a run once it is FINISHED


def this_host() -> str:
    return socket.gethostname()


def lease_tags(now: float | None = None) -> dict[str, str]:
    """The tags a worker puts on a run it starts computing."""
    now = time.time() if now is None else now
    return {HOST: this_host(), PID: str(os.getpid()), HEARTBEAT: f"{now:.3f}",
            STARTED: f"{now:.6f}"}


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this machine (a zombie still counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def is_abandoned(tags: Mapping[str, str], now: float | None = None,
                 timeout_s: float = LEASE_TIMEOUT_S) -> bool:
    """True when no live worker holds the run: its process is gone on this host, its
    heartbeat expired, or it carries no lease at all."""
    now = time.time() if now is None else now
    host, pid, beat = tags.get(HOST), tags.get(PID, ""), tags.get(HEARTBEAT, "")
    try:
        pid_n, beat_s = int(pid), float(beat)
    except ValueError:
        return True
    if host == this_host() and not pid_alive(pid_n):
        return True
    return now - beat_s > timeout_s


def holder(tags: Mapping[str, str]) -> str:
    """``host:pid`` of a run's lease, for messages."""
    return f"{tags.get(HOST, '?')}:{tags.get(PID, '?')}"


def precedence(run_id: str, tags: Mapping[str, str]) -> tuple[float, str]:
    """Order of two workers' claims on one config: the earlier start wins, then the run id,
    so both workers agree on who keeps it without talking to each other."""
    try:
        return float(tags.get(STARTED, "inf")), run_id
    except ValueError:
        return float("inf"), run_id


class Heartbeat:
    """Renews a run's heartbeat tag every ``interval_s`` from a daemon thread while the
    ``with`` block runs (a fold may take hours; the lease must not expire meanwhile)."""

    def __init__(self, renew: Callable[[dict[str, str]], None],
                 interval_s: float = HEARTBEAT_S) -> None:
        self._renew, self._interval = renew, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mer-bench-heartbeat",
                                        daemon=True)

    def beat(self) -> None:
        self._renew({HEARTBEAT: f"{time.time():.3f}"})

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.beat()
            except Exception:  # a store hiccup must not kill the run; the next beat retries
                continue

    def stop(self) -> None:
        """No more beats (a finished run's lease tags are removed and must stay so)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def finish(tracker: Tracker, run_id: str, heartbeat: Heartbeat) -> None:
    """End a computed run FINISHED and drop its lease tags. The heartbeat stops first, so
    no beat puts one back; the tags go only after the run is FINISHED (a RUNNING run
    without a lease would count as abandoned), and failing to remove them (only
    bookkeeping) leaves the finished run as it is."""
    heartbeat.stop()
    tracker.end_run(run_id)
    try:
        tracker.delete_tags(run_id, TAGS)
    except Exception:  # the store hiccuped: the run is finished all the same
        pass
