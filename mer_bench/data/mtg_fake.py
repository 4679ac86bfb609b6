"""The fake tree of MTG-Jamendo mood/theme (``MtgJamendoAdapter.fake_tree``).

A few tracks in the repository's layout: the CRLF tag TSVs with one field per
tag, five artist-disjoint split folders, the tag list, the two SHA-256 lists
(computed from the fake audio written, full and low quality) and short real
MP3s under ``audio/NN/ID.mp3`` and ``audio/NN/ID.low.mp3``. Like the real full
TSV, it holds a row in no split whose only tag is one the task left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mer_bench.data.fakes import write_clip, write_text
from mer_bench.data.mtg_files import TAG_PREFIX, low_quality_path, tsv_lines
from mer_bench.hashing import sha256_file

FAKE_TAGS = ("happy", "sad", "calm", "energetic", "film", "dark")
CLIP_S = 1.0
# a row of the full TSV in no split (real: 504 rows tagged only ambiental, horror, mellow)
OUTSIDE_ID = "track_0009999"

RowFields = tuple[str, str, str, str, str, tuple[str, ...]]


def fake_ids(n_artists: int = 5, per_artist: int = 2) -> dict[str, int]:
    """``{track id: artist index}`` of the fake tree."""
    return {
        f"track_{1000 + 37 * (a * per_artist + k):07d}": a
        for a in range(n_artists)
        for k in range(per_artist)
    }


def fake_tags(index: int) -> tuple[str, ...]:
    """One to three tags per track, so rows have 6 to 8 fields."""
    count = 1 + index % 3
    return tuple(FAKE_TAGS[(index + j) % len(FAKE_TAGS)] for j in range(count))


def audio_path(track_id: str) -> str:
    """``track_0001037`` -> ``37/1037.mp3``: the folder is the number's last two digits."""
    number = int(track_id.split("_")[1])
    return f"{number % 100:02d}/{number}.mp3"


def write_tree(
    root: Path,
    *,
    n_artists: int = 5,
    per_artist: int = 2,
    audio: bool = True,
    missing_audio: Sequence[str] = (),
    bad_checksum: Sequence[str] = (),
    untagged: Sequence[str] = (),
    unknown_tag: Sequence[str] = (),
) -> Path:
    """Write the tree below ``root`` and return ``root`` (the adapter's root).

    ``missing_audio``: ids written without audio; ``bad_checksum``: ids whose
    published digest is wrong; ``untagged``: ids whose rows hold no tag field;
    ``unknown_tag``: ids whose split rows also carry a tag outside the task.
    """
    ids = fake_ids(n_artists, per_artist)
    rows: dict[str, RowFields] = {}
    for index, (track_id, artist) in enumerate(ids.items()):
        tags = () if track_id in untagged else fake_tags(index)
        rows[track_id] = (track_id, f"artist_{artist:06d}", f"album_{artist:06d}",
                          audio_path(track_id), f"{CLIP_S:.1f}", tags)
    data = root / "data"
    full = dict(rows)
    first = next(iter(rows))  # carries a left-out tag in the full TSV only, as real rows do
    full[first] = (*rows[first][:5], (*rows[first][5], "mellow"))
    full[OUTSIDE_ID] = (OUTSIDE_ID, "artist_000099", "album_000099", audio_path(OUTSIDE_ID),
                        "1.0", ("horror",))
    write_text(data / "autotagging_moodtheme.tsv", tsv_lines(list(full.values())), crlf=True)
    _write_splits(data / "splits", rows, ids, n_artists, unknown_tag)
    tag_list = sorted({*FAKE_TAGS, "ambiental", "horror", "mellow"})
    write_text(data / "tags" / "moodtheme.txt", [TAG_PREFIX + t for t in tag_list])
    _write_audio(root, data / "download", rows, audio, missing_audio, bad_checksum)
    return root


def _write_splits(
    folder: Path,
    rows: dict[str, RowFields],
    ids: dict[str, int],
    n_artists: int,
    unknown_tag: Sequence[str],
) -> None:
    """Split-k: artist k tests, artist k+1 validates, the others train (artist-disjoint)."""
    for k in range(5):
        part_of = {"test": k % n_artists, "validation": (k + 1) % n_artists}
        parts: dict[str, list[RowFields]] = {"train": [], "validation": [], "test": []}
        for track_id, artist in ids.items():
            part = next((p for p, a in part_of.items() if a == artist), "train")
            row = rows[track_id]
            if track_id in unknown_tag:
                row = (*row[:5], (*row[5], "horror"))
            parts[part].append(row)
        for part, part_rows in parts.items():
            path = folder / f"split-{k}" / f"autotagging_moodtheme-{part}.tsv"
            write_text(path, tsv_lines(part_rows), crlf=True)


def _write_audio(
    root: Path,
    download: Path,
    rows: dict[str, RowFields],
    audio: bool,
    missing_audio: Sequence[str],
    bad_checksum: Sequence[str],
) -> None:
    """Both qualities' MP3s and their published SHA-256 lists (``sha256sum`` format)."""
    lists: dict[str, list[str]] = {"audio": [], "audio-low": []}
    for track_id, row in rows.items():
        for kind, rel in (("audio", row[3]), ("audio-low", low_quality_path(row[3]))):
            path = root / "audio" / rel
            if audio and track_id not in missing_audio:
                write_clip(path, CLIP_S)
                digest = sha256_file(path)
            else:
                digest = "0" * 64
            if track_id in bad_checksum:
                digest = "f" * 64
            lists[kind].append(f"{digest} {rel}")
    for kind, lines in lists.items():
        write_text(download / f"autotagging_moodtheme_{kind}_sha256_tracks.txt", lines)
