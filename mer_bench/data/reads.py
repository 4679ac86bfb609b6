"""Which annotation files a dataset's labels came from, and their content hashes.

A run's data fingerprint (``runs/fingerprint.py``) covers the annotation files
the adapter parsed. Rather than ask every adapter to list its files (and keep
the list true), the readers note each file they decode while an adapter loads
its tracks: ``DatasetAdapter`` wraps ``_load_tracks`` in ``recording()``, and
``tables.decode`` (every CSV/TSV/text reader goes through it) calls
``note_bytes`` with the bytes it already holds, so nothing is read twice.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

from mer_bench.hashing import sha256_file

_RECORDING: ContextVar[dict[Path, str] | None] = ContextVar("annotation_reads", default=None)


@contextlib.contextmanager
def recording() -> Iterator[dict[Path, str]]:
    """Collect ``{path: sha256}`` of every file noted inside the block (this thread)."""
    files: dict[Path, str] = {}
    token = _RECORDING.set(files)
    try:
        yield files
    finally:
        _RECORDING.reset(token)


def note_bytes(path: Path, data: bytes) -> None:
    """Record a file read whole, from the bytes the reader already has."""
    files = _RECORDING.get()
    if files is not None:
        files[Path(path).resolve()] = hashlib.sha256(data).hexdigest()


def note_file(path: Path) -> None:
    """Record a file that a reader streams (hashes it; only while recording)."""
    files = _RECORDING.get()
    if files is not None and Path(path).is_file():
        files[Path(path).resolve()] = sha256_file(path)


def relative_digests(files: dict[Path, str], root: Path) -> dict[str, str]:
    """``{name: sha256}`` with names relative to ``root`` (moving the dataset keeps them);
    a file outside the root (e.g. another dataset read for a cross-check) keeps its name
    under ``external/``."""
    base = Path(root).resolve()
    out = {}
    for path, digest in files.items():
        try:
            name = path.relative_to(base).as_posix()
        except ValueError:
            name = f"external/{path.name}"
        out[name] = digest
    return dict(sorted(out.items()))
