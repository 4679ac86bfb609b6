"""The one SHA-256-of-a-file helper.

Dataset checksums, feature-cache keys, generated-audio fingerprints and
weight-file verification all hash files; weight files run to hundreds of
megabytes, so the file is streamed in blocks rather than read whole.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

BLOCK = 1 << 22  # 4 MiB: large enough to be fast, small enough to stream


def sha256_file(path: Path | str, block: int = BLOCK) -> str:
    """Hex SHA-256 of the bytes of ``path``, read in ``block``-sized pieces."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return digest.hexdigest()
