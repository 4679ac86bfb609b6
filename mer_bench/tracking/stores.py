"""Opening a store that several workers may create at once (MLflow's and Optuna's schemas).

Both libraries create their tables on first use, from whichever client comes
first. On a new sqlite file two processes doing it at once make one die with
an alembic or "table exists" error, so sqlite stores are opened under a file
lock beside the file. Database servers (PostgreSQL, MySQL, SQL Server) cannot
share a file lock across machines: there the loser of the race (a duplicate
key) waits and opens the store again.

A sqlite store must be a file in a folder that exists: an in-memory database
(``sqlite://``, ``sqlite:///:memory:``) forgets every run when the process
exits, and a mistyped folder is named rather than created.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from mer_bench.errors import ConfigError

T = TypeVar("T")
ATTEMPTS = 5


def is_database(uri: str) -> bool:
    """A database-server URI, e.g. ``postgresql+psycopg2://...``."""
    return uri.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "mysql", "mssql")


def is_sqlite(uri: str) -> bool:
    """A sqlite URI, with or without a driver (``sqlite+pysqlite://``)."""
    return uri.partition("://")[0].split("+", 1)[0] == "sqlite" and "://" in uri


def sqlite_file(uri: str) -> Path | None:
    """The database file of a sqlite URI as sqlite opens it; None for an in-memory one
    (and for a URI that is not sqlite's)."""
    if not is_sqlite(uri):
        return None
    rest, _, query = uri.partition("://")[2].partition("?")
    path = rest.removeprefix("/")  # sqlite:///x.db is x.db, sqlite:////abs/x.db is /abs/x.db
    if path in ("", ":memory:") or path.startswith("file::memory:") or "mode=memory" in query:
        return None
    return Path(path)


def check_sqlite_folder(uri: str) -> None:
    """Refuse a sqlite file whose folder does not exist (sqlite would fail, or we would
    create a mistyped folder): the message names the folder."""
    db = sqlite_file(uri)
    if db is not None and not db.parent.is_dir():
        raise ConfigError(f"{uri}: folder {db.parent} does not exist; create it or give "
                          "a store in an existing folder")


@contextlib.contextmanager
def sqlite_lock(uri: str) -> Iterator[None]:
    """A file lock beside a sqlite store file (nothing for other URIs or in-memory ones)."""
    db = sqlite_file(uri)
    if db is None:
        yield
        return
    from filelock import FileLock

    check_sqlite_folder(uri)
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
