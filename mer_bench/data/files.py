"""Ids and file lookup for the published MER datasets.

The published archives are unpacked in many ways (nested folders, spaces or
underscores in names, ``__MACOSX`` forks) and their ids are written many
ways (``' 2'``, ``'2.0'``, ``'002'``). These helpers normalise both, so that
every adapter finds the same file and the same song whatever the copy.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from mer_bench.data.base import ValidationReport

AUDIO_EXTENSIONS = (".mp3", ".wav", ".flac", ".ogg")  # preference order
_MAX_DEPTH = 8
MAX_ID_BYTES = 200  # a longer "id" is a broken row (a file name allows 255 bytes)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SKIP_DIRS = {"__MACOSX"}


def norm_column(name: str) -> str:
    """Strip and collapse whitespace (``' valence_mean'`` -> ``'valence_mean'``)."""
    return " ".join(name.replace("\ufeff", "").split())


def column_key(name: str) -> str:
    """Case- and typo-insensitive key: ``' valence_ max_mean'`` -> ``'valence_max_mean'``."""
    key = norm_column(name).lower()
    return re.sub(r"\s*_\s*", "_", key)


def file_key(name: str) -> str:
    """File/folder names match whatever spaces, underscores or hyphens were used."""
    return re.sub(r"[\s_\-]+", "_", name.strip().lower())


def norm_id(raw: str) -> str:
    """``' 2'``, ``'2.0'`` and ``'002'`` are all song ``'2'``; other ids only lose blanks."""
    text = raw.strip().strip('"').strip()
    if len(text) <= MAX_ID_BYTES and (match := re.fullmatch(r"(\d+)(\.0*)?", text)):
        return str(int(match.group(1)))  # exact, however many digits
    return text


def id_problem(track_id: str) -> str | None:
    """Why ``track_id`` cannot be a track id (None: it can).

    Ids become file names and run artefacts: an id that no file system
    accepts, or one holding control characters, is a broken row, not a track.
    """
    size = len(track_id.encode("utf-8"))
    if size > MAX_ID_BYTES:
        return (
            f"is {len(track_id)} characters long (at most {MAX_ID_BYTES} bytes); a missing "
            "separator or a stray quote probably ran several cells together"
        )
    if match := _CONTROL.search(track_id):
        return f"contains the control character {match.group()!r}"
    return None


def id_sort_key(track_id: str) -> tuple[int, int, str]:
    """Numeric ids in numeric order, then the rest alphabetically."""
    return (0, int(track_id), "") if track_id.isdigit() else (1, 0, track_id)


def to_float(raw: str) -> float | None:
    """NaN for an empty cell, None for text that is not a number."""
    text = raw.strip()
    if not text or text.lower() in ("nan", "na", "n/a"):
        return math.nan
    try:
        return float(text)
    except ValueError:
        return None


class Locator:
    """Finds annotation files and audio folders anywhere below a dataset root.

    Datasets are unpacked in many ways (``DEAM_Annotations/annotations/
    annotations averaged per song/song_level/...``, the same with underscores,
    a second nested copy...). One walk indexes every file and folder by a
    normalised name; lookups return the shallowest match, and when several
    copies exist the others are remembered so validate() can say which one
    was used. Hidden folders and ``__MACOSX`` resource forks are skipped.
    """

    def __init__(self, root: Path, max_depth: int = _MAX_DEPTH) -> None:
        self.root = root
        self.files: dict[str, list[Path]] = {}
        self.dirs: dict[str, list[Path]] = {}
        self.ambiguous: dict[str, list[Path]] = {}
        self._walk(max_depth)

    def _walk(self, max_depth: int) -> None:
        base_depth = len(self.root.parts)
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=True):
            here = Path(dirpath)
            depth = len(here.parts) - base_depth
            dirnames[:] = sorted(
                d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS
            )
            if depth >= max_depth:
                dirnames[:] = []
            for d in dirnames:
                self.dirs.setdefault(file_key(d), []).append(here / d)
            for f in filenames:
                if not f.startswith("."):
                    self.files.setdefault(file_key(f), []).append(here / f)

    @staticmethod
    def _best(paths: list[Path]) -> Path:
        return min(paths, key=lambda p: (len(p.parts), str(p)))

    def file(self, *names: str) -> Path | None:
        """The shallowest file called any of ``names`` (first name wins on ties)."""
        for name in names:
            paths = self.files.get(file_key(name))
            if paths:
                best = self._best(paths)
                if len(paths) > 1:
                    self.ambiguous[name] = sorted(paths, key=lambda p: (len(p.parts), str(p)))
                return best
        return None

    def dir(self, name: str, containing: str | None = None) -> Path | None:
        """The shallowest folder called ``name`` (with a file ``containing``, if given)."""
        paths = self.dirs.get(file_key(name), [])
        if containing is not None:
            paths = [p for p in paths if (p / containing).is_file()] or paths
        return self._best(paths) if paths else None

    def report_copies(self, report: ValidationReport) -> None:
        for name, paths in self.ambiguous.items():
            report.add(
                "info",
                "duplicate_copies",
                f"{len(paths)} copies of {name} below {self.root}; using {paths[0]}",
                path=paths[0],
            )


def audio_index(folder: Path | None) -> dict[str, Path]:
    """``{stem: path}`` of the audio files in ``folder`` (mp3 preferred over wav...)."""
    found: dict[str, Path] = {}
    if folder is None or not folder.is_dir():
        return found
    rank = {ext: k for k, ext in enumerate(AUDIO_EXTENSIONS)}
    for entry in sorted(folder.iterdir()):
        ext = entry.suffix.lower()
        if entry.name.startswith(".") or ext not in rank or not entry.is_file():
            continue
        key = norm_id(entry.stem)
        if key not in found or rank[ext] < rank[found[key].suffix.lower()]:
            found[key] = entry
    return found
