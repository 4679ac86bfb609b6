"""One feature-cache entry on disk: the ``.npy`` array and its checksum sidecar.

A cached array is trusted by every later run, so a damaged one (a disk error, a
stray write, a file copied from elsewhere) would silently score a run on wrong
numbers. Each entry therefore has a ``<hash>.npy.sha256`` sidecar (``sha256sum``
format, so ``sha256sum -c`` checks it by hand) and every read verifies the
checksum, then that the array is what its extractor declares: a float32 / float64
array, [dim] without ``hop_s`` or [frames, dim] with it, all finite.

The sidecar is written before the array, both atomically and under the entry's
lock: a crash between the two leaves either no array, or an older array whose
checksum no longer matches. Either way the entry is recomputed, never trusted.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
from filelock import FileLock

from mer_bench.atomic import atomic_file, atomic_write
from mer_bench.features.base import FeatureExtractor

LOCK_TIMEOUT_S = 600  # a writer holds an entry's lock only while it writes two small files
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
NO_CHECKSUM = "no checksum"  # written before entries were checksummed, or cut off mid-write


def checksum_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def lock_for(path: Path) -> FileLock:
    return FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT_S)


def save_entry(path: Path, array: np.ndarray) -> None:
    """Write ``array`` and its checksum to ``path`` atomically, under the entry's lock
    (two workers, one entry)."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    data = buffer.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    with lock_for(path):
        atomic_write(checksum_path(path), f"{hashlib.sha256(data).hexdigest()}  {path.name}\n")
        with atomic_file(path) as fh:
            fh.write(data)


def is_stored(path: Path) -> bool:
    """Both files of the entry exist (whether they verify is for ``read_entry``)."""
    return path.is_file() and checksum_path(path).is_file()


def read_entry(path: Path, extractor: FeatureExtractor) -> tuple[np.ndarray | None, str | None]:
    """``(array, None)`` for a sound entry, ``(None, None)`` for none, or ``(None, why)``
    for one that must be recomputed."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"unreadable ({exc.strerror or exc})"
    try:
        expected = checksum_path(path).read_text(encoding="ascii").split()[0]
    except (OSError, UnicodeDecodeError, IndexError):
        return None, NO_CHECKSUM
    if hashlib.sha256(data).hexdigest() != expected:
        return None, "content does not match its checksum"
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        return None, f"not a readable .npy array ({exc})"
    problem = array_problem(extractor, array)
    return (None, problem) if problem else (array, None)


def array_problem(extractor: FeatureExtractor, array: object) -> str | None:
    """What is wrong with ``array`` as ``extractor``'s output for one clip, or None."""
    if not isinstance(array, np.ndarray):
        return f"a {type(array).__name__}, not an array"
    if array.dtype not in FLOAT_DTYPES:
        return f"dtype {array.dtype}, expected float32 or float64"
    sequence = extractor.hop_s is not None
    expected = f"[frames, {extractor.dim}]" if sequence else f"[{extractor.dim}]"
    if array.ndim != (2 if sequence else 1) or array.shape[-1] != extractor.dim:
        return f"shape {list(array.shape)}, expected {expected}"
    if not np.all(np.isfinite(array)):
        return "contains NaN or infinite values"
    return None
