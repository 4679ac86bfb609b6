"""Opening a store that several workers may create at once (MLflow's and Optuna's schemas).

Both libraries create their tables on first use, from whichever client comes
first. On a new sqlite file two processes doing it at once make one die with
an alembic or "table exists" error, so sqlite stores are opened under a file
lock beside the file. Database servers (PostgreSQL, MySQL, SQL Server) cannot
share a file lock across machines: there the loser of the race (a duplicate
key) waits and opens the store again.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
ATTEMPTS = 5


def is_database(uri: str) -> bool:
    """A database-server URI, e.g. ``postgresql+psycopg2://...``."""
    return uri.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "mysql", "mssql")


@contextlib.contextmanager
def sqlite_lock(uri: str) -> Iterator[None]:
    """A file lock beside a ``sqlite:///`` store (nothing for other URIs)."""
    if not uri.startswith("sqlite:///"):
        yield
        return
    from filelock import FileLock

    db = Path(uri.removeprefix("sqlite:///")).expanduser()
    db.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(db) + ".lock", timeout=300):
        yield


def open_store(uri: str, open_: Callable[[], T]) -> T:
    """``open_()`` under the sqlite lock, or retried a few times on a database server."""
    attempts = ATTEMPTS if is_database(uri) else 1
    for attempt in range(1, attempts + 1):
        try:
            with sqlite_lock(uri):
                return open_()
        except Exception:
            if attempt == attempts:
                raise
            time.sleep(attempt * (0.5 + random.random()))
    raise AssertionError("unreachable")
