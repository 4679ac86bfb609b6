"""Content hashes of audio files, remembered across processes.

Feature-cache keys and run fingerprints need the SHA-256 of every clip a run
uses; re-reading a whole dataset in each new process costs seconds to minutes.
The hashes are kept in ``$MER_BENCH_CACHE/audio-hashes.sqlite`` (WAL mode, so
several processes read and write it at once), keyed by the resolved path and
checked against the file's size, mtime_ns, ctime_ns and inode: a hit returns the
stored hash without reading the file, any change of those re-hashes it.

Stale hashes: a rewrite changes the size or mtime, or at least ctime, which the
kernel sets on every write and no user tool sets back (so even a same-size
rewrite followed by ``touch -r`` or ``rsync -t`` is seen). What make and rsync
miss, a same-size rewrite within one timestamp tick of the previous change, is
closed by git's "racily clean" rule: a file changed less than ``RACY_S`` before
it is hashed is not remembered, only hashed again next time. Left open: file
systems with timestamps coarser than ``RACY_S``, or a file server whose clock
runs more than ``RACY_S`` behind this machine's.

The memo is an optimisation and never fails a run: a corrupt file is rebuilt, a
database busy for longer than ``BUSY_TIMEOUT_S`` is skipped (the files are hashed).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from filelock import FileLock

from mer_bench.errors import AudioError
from mer_bench.hashing import sha256_file
from mer_bench.paths import cache_dir

MEMO_NAME = "audio-hashes.sqlite"
BUSY_TIMEOUT_S = 30.0
RACY_S = 2.0  # files changed this recently are hashed but not remembered
CHUNK = 500  # paths per SELECT (SQLite's bound-parameter limit is 999 on old builds)
SCHEMA = """CREATE TABLE IF NOT EXISTS audio_hash (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, sha256 TEXT NOT NULL)"""

Stamp = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode
Row = tuple[int, int, int, int, str]  # the stamp, then the hash
T = TypeVar("T")

_LOCAL: dict[tuple[str, Stamp], str] = {}  # this process's hits: not even a query
_CONNECTIONS: dict[tuple[int, str], sqlite3.Connection] = {}  # per (process, memo file)
_INHERITED: list[sqlite3.Connection] = []  # a forked child's copies: never used nor closed
_GUARD = threading.Lock()


def _after_fork_in_child() -> None:
    """SQLite connections must not cross a fork: the child opens its own, and keeps the
    parent's copies referenced so garbage collection does not close them under it."""
    global _GUARD
    _GUARD = threading.Lock()
    _INHERITED.extend(_CONNECTIONS.values())
    _CONNECTIONS.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


def memo_path() -> Path:
    return cache_dir() / MEMO_NAME


def audio_hash_of(path: Path) -> str:
    """SHA-256 of an audio file, from the memo when the file is unchanged."""
    return audio_hashes([path])[path]


def audio_hashes(paths: Iterable[Path]) -> dict[Path, str]:
    """SHA-256 of each file (keyed as given): memo lookups in one query batch, the
    misses hashed, then stored in one transaction. Missing files raise AudioError."""
    paths = list(dict.fromkeys(paths))
    stamps = _stamps(paths)
    keys = {p: (str(p.resolve()), st) for p, st in stamps.items()}
    wanted = dict(keys.values())
    found = {key: h for key in wanted.items() if (h := _LOCAL.get(key)) is not None}
    lookup = {path: st for path, st in wanted.items() if (path, st) not in found}
    if lookup:
        for path, row in _memo_rows(list(lookup)).items():
            if row[:4] == lookup[path]:
                found[(path, lookup[path])] = row[4]
    new: dict[tuple[str, Stamp], str] = {}
    for key in wanted.items():
        if key not in found:
            new[key] = found[key] = sha256_file(key[0])
    settled = _settled(found)
    _LOCAL.update(settled)
    _memo_store({key: h for key, h in settled.items() if key in new})
    return {p: found[key] for p, key in keys.items()}


def _settled(hashes: dict[tuple[str, Stamp], str]) -> dict[tuple[str, Stamp], str]:
    """The hashes safe to remember: files last changed at least ``RACY_S`` ago (a
    same-size rewrite within the same timestamp tick would otherwise go unseen)."""
    horizon = time.time_ns() - int(RACY_S * 1e9)
    return {key: h for key, h in hashes.items() if max(key[1][1], key[1][2]) <= horizon}


def _stamps(paths: list[Path]) -> dict[Path, Stamp]:
    stamps: dict[Path, Stamp] = {}
    missing: list[Path] = []
    for p in paths:
        try:
            st = p.stat()
        except FileNotFoundError:
            missing.append(p)
            continue
        stamps[p] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise AudioError(f"audio file not found: {missing[0]}{more}")
    return stamps


def _memo_rows(paths: list[str]) -> dict[str, Row]:
    def query(db: sqlite3.Connection) -> dict[str, Row]:
        rows: dict[str, Row] = {}
        for i in range(0, len(paths), CHUNK):
            chunk = paths[i : i + CHUNK]
            marks = ",".join("?" * len(chunk))
            for path, *rest in db.execute(
                "SELECT path, size, mtime_ns, ctime_ns, inode, sha256 FROM audio_hash "
                f"WHERE path IN ({marks})", chunk):
                rows[path] = (rest[0], rest[1], rest[2], rest[3], rest[4])
        return rows

    return _with_memo(query) or {}


def _memo_store(rows: dict[tuple[str, Stamp], str]) -> None:
    if not rows:
        return

    def store(db: sqlite3.Connection) -> bool:
        with db:  # one transaction for the batch
            db.executemany(
                "INSERT OR REPLACE INTO audio_hash VALUES (?, ?, ?, ?, ?, ?)",
                [(path, *stamp, h) for (path, stamp), h in rows.items()])
        return True

    _with_memo(store)


def _with_memo(action: Callable[[sqlite3.Connection], T]) -> T | None:
    """``action(connection)``; None when the memo cannot be used now. A corrupt memo
    file is rebuilt once."""
    path = memo_path()
    for attempt in range(2):
        try:
            with _GUARD:
                return action(_connection(path))
        except sqlite3.OperationalError as exc:  # busy, or cannot open / write at all
            _forget(path)
            return None if _is_busy(exc) else _give_up(path, exc)
        except sqlite3.DatabaseError as exc:  # "file is not a database", "malformed"
            if attempt or not _rebuild(path, exc):
                return _give_up(path, exc)
        except OSError as exc:  # read-only or missing cache folder
            return _give_up(path, exc)
    return None


def _connection(path: Path) -> sqlite3.Connection:
    key = (os.getpid(), str(path))  # a forked child opens its own
    db = _CONNECTIONS.get(key)
    if db is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL stays consistent on power loss
            db.execute(SCHEMA)
        except BaseException:
            db.close()
            raise
        _CONNECTIONS[key] = db
    return db


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _rebuild(path: Path, exc: Exception) -> bool:
    """Replace a memo file SQLite cannot read by an empty one (under a lock, and only
    if it is still unreadable: another process may have rebuilt it already)."""
    _forget(path)
    try:
        with FileLock(str(path) + ".lock", timeout=BUSY_TIMEOUT_S):
            if _sound(path):
                return True
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
    except OSError:  # the lock timed out, or the files cannot be removed
        return False
    warnings.warn(f"audio hash memo {path} was unreadable ({exc}); rebuilt it empty",
                  RuntimeWarning, stacklevel=4)
    return True


def _sound(path: Path) -> bool:
    """SQLite reads ``path`` (busy counts as sound: in use, never to be deleted)."""
    try:
        probe = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
        try:
            return bool(probe.execute("PRAGMA quick_check").fetchone()[0] == "ok")
        finally:
            probe.close()
    except sqlite3.OperationalError as exc:
        return _is_busy(exc)
    except sqlite3.DatabaseError:
        return False


def _forget(path: Path) -> None:
    with _GUARD:
        db = _CONNECTIONS.pop((os.getpid(), str(path)), None)
    if db is not None:
        db.close()


def _give_up(path: Path, exc: Exception) -> None:
    _forget(path)
    warnings.warn(f"audio hash memo {path} cannot be used ({exc}); hashing the audio files "
                  "instead (delete the file if this persists)", RuntimeWarning, stacklevel=4)
    return None
