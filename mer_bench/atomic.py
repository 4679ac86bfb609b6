"""Writing a file atomically: readers see the old file or the whole new one, never a part.

Every writer of shared files (feature cache, leaderboard, generated datasets,
downloaded weights, sweep pickles) goes through ``atomic_file``: a temporary
file beside the target (``.NAME.XXXX.tmp``, so a crash leaves only hidden
leftovers that cleanup code can find), flushed to disk, then renamed onto the
target. An error inside the block removes the temporary file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_file(path: Path | str, mode: int = 0o644) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s new content into; renamed onto ``path`` on success.

    ``fh.name`` is the temporary file's path, for checks before the rename (a
    download's checksum): raising inside the block keeps the old ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with open(tmp, "wb") as fh:  # opened by name: ``fh.name`` is the temporary path
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: Path | str, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically; returns the path."""
    with atomic_file(path) as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)
