"""The feature cache's worker processes: one pool per process, stopped with it.

Workers are spawned (not forked), run one BLAS / OpenMP thread each, leave
Ctrl-C to the parent and exit when the parent that started them dies.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from threadpoolctl import threadpool_limits

PARENT_CHECK_S = 0.5  # how often a worker checks that the process that started it lives
STOP_GRACE_S = 2.0  # after SIGTERM, how long a worker may take before it is killed


_POOL: ProcessPoolExecutor | None = None
_POOL_SIZE = 0


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """One pool per process, reused across calls: a worker pays its imports once.

    Workers are spawned, not forked: the parent may hold torch / OpenMP state
    that does not survive a fork.
    """
    global _POOL, _POOL_SIZE
    if _POOL is None or _POOL_SIZE != workers:
        shutdown_pool()
        _POOL = ProcessPoolExecutor(
            workers, mp_context=get_context("spawn"), initializer=_init_worker
        )
        _POOL_SIZE = workers
    return _POOL


def _init_worker() -> None:
    """One BLAS / OpenMP thread per worker (the workers already use every core); Ctrl-C
    is the parent's to handle: it cancels the queue and stops the workers. A worker
    whose parent dies (SIGKILL, OOM killer) exits within ``PARENT_CHECK_S``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ["OMP_NUM_THREADS"] = "1"
    threadpool_limits(1)
    parent = os.getppid()
    threading.Thread(
        target=_exit_with_parent, args=(parent,), name="parent-watch", daemon=True
    ).start()


def _exit_with_parent(parent: int) -> None:
    """Worker thread: end this process as soon as the process that spawned it is gone.

    An orphan is re-parented (to init or a subreaper), so its parent id changes; a
    worker that kept computing would hold hundreds of MB and the resource tracker.
    """
    while True:
        time.sleep(PARENT_CHECK_S)
        if os.getppid() != parent:
            os._exit(1)


def shutdown_pool(cancel: bool = False) -> None:
    """Close the pool: wait for the work (``cancel=False``) or stop the workers now."""
    global _POOL
    pool, _POOL = _POOL, None
    if pool is None:
        return
    if not cancel:
        pool.shutdown(wait=True)
        return
    # terminate first: the pool then fails its queued futures itself, and ``shutdown``
    # below (which holds the pool alive until it is done) has nothing left to run
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for proc in procs:
        proc.terminate()
    deadline = time.monotonic() + STOP_GRACE_S
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.is_alive():
            proc.kill()
            proc.join(1.0)
    pool.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown_pool)
