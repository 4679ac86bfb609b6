"""MTG-Jamendo's own file formats: the tag TSVs and the published SHA-256 lists.

The TSVs are not tables a CSV reader gets right: the last column, TAGS, holds
one or more tab-separated ``category---name`` fields, so a row has as many
fields as its track has tags (six or more). The checksum lists are
``sha256sum`` output: ``<hex digest> <relative path>`` per line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mer_bench.data.validation import ValidationReport
from mer_bench.errors import DatasetError

HEADER = ("TRACK_ID", "ARTIST_ID", "ALBUM_ID", "PATH", "DURATION", "TAGS")
TAG_PREFIX = "mood/theme---"


@dataclass(frozen=True)
class Row:
    """One track's row: ids, its audio path relative to the audio folder, its tags."""

    track_id: str
    artist: str
    album: str
    path: str
    duration_s: float | None
    tags: tuple[str, ...]  # without the ``mood/theme---`` prefix
    line: int


def tag_name(field: str) -> str:
    """``mood/theme---happy`` -> ``happy`` (a field without the prefix stays as it is)."""
    field = field.strip()
    return field[len(TAG_PREFIX):] if field.startswith(TAG_PREFIX) else field


def read_rows(path: Path, notes: ValidationReport) -> list[Row]:
    """Every row of an MTG-Jamendo tag TSV; malformed rows are noted and skipped.

    A row with the five fixed fields but no tag is kept with no tags (its track
    then has no label, which ``validate`` reports for the tracks of the task).
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"mtg-jamendo: cannot read {path}: {exc}") from exc
    lines = text.splitlines()
    if not lines or tuple(lines[0].rstrip("\t").split("\t")) != HEADER:
        got = lines[0][:120] if lines else "an empty file"
        raise DatasetError(
            f"mtg-jamendo: {path.name} must start with the header "
            f"{' '.join(HEADER)} (tab-separated), not {got!r}"
        )
    rows: list[Row] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 5 or not fields[0].strip():
            notes.add(
                "error", "bad_id",
                f"{path.name} line {number}: {len(fields)} field(s), not the five of "
                f"TRACK_ID ARTIST_ID ALBUM_ID PATH DURATION (+ tags); row skipped",
                path=path,
            )
            continue
        rows.append(_row(fields, number, path, notes))
    return rows


def _row(fields: list[str], number: int, path: Path, notes: ValidationReport) -> Row:
    track_id = fields[0].strip()
    try:
        duration: float | None = float(fields[4])
    except ValueError:
        notes.add(
            "warning", "bad_duration",
            f"{track_id}: DURATION {fields[4]!r} in {path.name} line {number} is no number",
            track_id, path,
        )
        duration = None
    tags = tuple(tag_name(f) for f in fields[5:] if f.strip())
    return Row(track_id, fields[1].strip(), fields[2].strip(), fields[3].strip(), duration,
               tags, number)


def low_quality_path(path: str) -> str:
    """``48/948.mp3`` -> ``48/948.low.mp3``: how the low-quality audio set names a file."""
    return path[: -len(".mp3")] + ".low.mp3" if path.endswith(".mp3") else path


def read_checksums(path: Path, notes: ValidationReport) -> dict[str, str]:
    """``{relative audio path: sha256}`` from a published ``*_sha256_tracks.txt`` list."""
    digests: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        notes.add("warning", "unreadable_checksums", f"cannot read {path}: {exc}", path=path)
        return digests
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split(maxsplit=1)
        if not parts:
            continue
        digest = parts[0].lower()
        if len(parts) != 2 or len(digest) != 64 or not _is_hex(digest):
            notes.add(
                "warning", "unreadable_checksums",
                f"{path.name} line {number}: not '<sha256> <path>': {line[:100]!r}",
                path=path,
            )
            continue
        digests[parts[1].strip().lstrip("*")] = digest
    return digests


def _is_hex(text: str) -> bool:
    try:
        int(text, 16)
    except ValueError:
        return False
    return True


def tsv_lines(rows: list[tuple[str, str, str, str, str, tuple[str, ...]]]) -> list[str]:
    """The lines of a tag TSV (header first) with each tag in its own field."""
    out = ["\t".join(HEADER)]
    for track_id, artist, album, path, duration, tags in rows:
        out.append("\t".join([track_id, artist, album, path, duration,
                              *(TAG_PREFIX + t for t in tags)]))
    return out
