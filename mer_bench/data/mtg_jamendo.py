"""MTG-Jamendo mood/theme: 17,982 Jamendo tracks tagged with 56 mood/theme tags.

The task (MediaEval 2019-2021 Emotion and Theme Recognition) is the organisers'
split files: five fixed, artist-disjoint train/validation/test splits
(``data/splits/split-N/autotagging_moodtheme-{train,validation,test}.tsv``),
each over the same 17,982 tracks and 56 tags. ``autotagging_moodtheme.tsv``
holds 504 more tracks whose only tags are the three the organisers left out
(ambiental, horror, mellow: too few artists); they are in no split, carry no tag
of the task, and are not tracks here (``validate`` counts them). On the tracks
that carry those tags beside others, the split files drop them too.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

from mer_bench.data.annotated import AnnotatedDataset
from mer_bench.data.base import DATASETS, ValidationReport
from mer_bench.data.files import id_sort_key
from mer_bench.data.mtg_files import Row, low_quality_path, read_checksums, read_rows
from mer_bench.errors import DatasetError
from mer_bench.hashing import sha256_file
from mer_bench.types import Family, Split, TaskKind, Track

# the 56 tags of the split files, in the organisers' (alphabetical) order; declared
# here because a task is defined at import, before any data is read (a real-data test
# checks them against the split files)
MOODTHEME_TAGS: tuple[str, ...] = (
    "action", "adventure", "advertising", "background", "ballad", "calm", "children",
    "christmas", "commercial", "cool", "corporate", "dark", "deep", "documentary", "drama",
    "dramatic", "dream", "emotional", "energetic", "epic", "fast", "film", "fun", "funny",
    "game", "groovy", "happy", "heavy", "holiday", "hopeful", "inspiring", "love",
    "meditative", "melancholic", "melodic", "motivational", "movie", "nature", "party",
    "positive", "powerful", "relaxing", "retro", "romantic", "sad", "sexy", "slow", "soft",
    "soundscape", "space", "sport", "summer", "trailer", "travel", "upbeat", "uplifting",
)
# in moodtheme.txt and the full TSV, in no split file
DROPPED_TAGS: tuple[str, ...] = ("ambiental", "horror", "mellow")

MOODTHEME = TaskKind.declare(
    "moodtheme",
    Family.TAGGING,
    MOODTHEME_TAGS,
    description="MTG-Jamendo mood/theme: 56 tags per track, 0/1 (MediaEval Emotion and "
    "Theme Recognition; primary PR-AUC-macro)",
)

DATA_DIR = "data"
FULL_TSV = "autotagging_moodtheme.tsv"
SPLIT_FILE = "autotagging_moodtheme-{part}.tsv"
SPLIT_NAMES = tuple(f"split-{k}" for k in range(5))
PARTS = ("train", "validation", "test")
CHECKSUMS = {
    "full": "download/autotagging_moodtheme_audio_sha256_tracks.txt",
    "low": "download/autotagging_moodtheme_audio-low_sha256_tracks.txt",
}
QUALITIES = tuple(CHECKSUMS)


@DATASETS.register("mtg-jamendo-moodtheme")
class MtgJamendoAdapter(AnnotatedDataset):
    """MTG-Jamendo mood/theme subset (Bogdanov et al. 2019), the MediaEval task.

    Layout: ``root`` is a clone of the mtg-jamendo-dataset repository (it holds
    ``data/``: the TSVs, ``data/splits/``, ``data/download/`` with the checksum
    lists) and the audio lies below ``root/<audio_dir>`` (default ``audio``) as
    the download script unpacks it: ``NN/ID.mp3`` (``quality="full"``, 320 kbps)
    or ``NN/ID.low.mp3`` (``quality="low"``, 96 kbps). ``audio_dir`` is relative
    to the root (``.`` when the ``NN/`` folders sit in the root itself).

    Targets: ``Track.labels["moodtheme"]``, the track's tags (names without the
    ``mood/theme---`` prefix). ``meta`` holds ``artist``, ``album`` and the
    ``path``. Protocols: ``official`` is split-0 (MediaEval's), ``official:split-N``
    any of the five. ``validate(deep=True)`` also checks every audio file against
    the published SHA-256 list of its quality.
    """

    name = "mtg-jamendo-moodtheme"
    version = "1.0 (MediaEval 2019-2021 splits)"
    # the tracks of the split files (the task's track set), not the 18,486 rows of
    # autotagging_moodtheme.tsv: 504 of those carry only tags the task left out
    published_tracks = 17982
    citation = (
        "Bogdanov, D., Won, M., Tovstogan, P., Porter, A., & Serra, X. (2019). The "
        "MTG-Jamendo dataset for automatic music tagging. Machine Learning for Music "
        "Discovery Workshop, ICML 2019, Long Beach, CA, USA."
    )
    license = (
        "Metadata (TSVs, splits): CC BY-NC-SA 4.0. Audio: each track under its own "
        "Creative Commons license as published on Jamendo (see the dataset's license "
        "list); the code of the repository is Apache 2.0."
    )
    homepage = "https://mtg.github.io/mtg-jamendo-dataset/"
    download_info = (
        "Clone https://github.com/MTG/mtg-jamendo-dataset (the metadata, splits and "
        "checksum lists) and fetch the mood/theme audio with its download script "
        "(`python3 scripts/download/download.py --dataset autotagging_moodtheme --type "
        "audio audio/ --unpack --remove`; `--type audio-low` for the 96 kbps set); "
        "nothing is downloaded by mer-bench. Expected layout (root = the clone):\n"
        "  data/autotagging_moodtheme.tsv        TRACK_ID ARTIST_ID ALBUM_ID PATH DURATION "
        "TAGS... (one tab-separated field per tag)\n"
        "  data/splits/split-{0..4}/autotagging_moodtheme-{train,validation,test}.tsv\n"
        "  data/download/autotagging_moodtheme_audio{,-low}_sha256_tracks.txt\n"
        "  audio/NN/ID.mp3 (quality=full) or audio/NN/ID.low.mp3 (quality=low); another "
        "folder below the root with dataset param audio_dir.\n"
        "`mer-bench data check mtg-jamendo-moodtheme --deep` verifies every file against "
        "the published SHA-256 list. Point mer-bench at it with --root or "
        "MER_BENCH_MTG_JAMENDO_MOODTHEME_ROOT."
    )
    task_kinds = frozenset({MOODTHEME})
    label_scales: ClassVar[dict[str, str]] = {
        "moodtheme": "56 mood/theme tags per track, 0/1 (one or more per track)",
    }

    def __init__(
        self, root: Path | str | None = None, *, audio_dir: str = "audio", quality: str = "full"
    ) -> None:
        if quality not in QUALITIES:
            raise DatasetError(f"{self.name}: quality must be one of {QUALITIES}, not "
                               f"{quality!r}")
        super().__init__(root)
        self.quality = quality
        self.audio_dir = self.root / audio_dir
        self._splits: dict[str, dict[str, str]] = {}  # split name -> {track id: part}
        self._outside: list[Row] = []
        self._deep = False

    # --- parsing -------------------------------------------------------------
    def _load_tracks(self) -> list[Track]:
        data = self.root / DATA_DIR
        full_path = data / FULL_TSV
        split_rows = self._read_splits(data / "splits")
        full = {r.track_id: r for r in read_rows(full_path, self._notes)} if (
            full_path.is_file()) else {}
        if not full and not split_rows:
            raise DatasetError(
                f"{self.name}: neither {DATA_DIR}/{FULL_TSV} nor {DATA_DIR}/splits/ below "
                f"{self.root}. Run `mer-bench data info {self.name}` for the expected layout."
            )
        rows = split_rows or {i: r for i, r in full.items() if set(r.tags) & set(MOODTHEME_TAGS)}
        self._outside = [r for i, r in full.items() if i not in rows]
        self._check_rows(rows, full)
        tracks = [self._track(row) for row in rows.values()]
        self._notes.summary.update(
            {
                f"rows in {FULL_TSV}": len(full),
                "tracks in the split files": len(split_rows),
                "official splits": ", ".join(sorted(self._splits)) or "none",
            }
        )
        return sorted(tracks, key=lambda t: id_sort_key(t.id))

    def _read_splits(self, folder: Path) -> dict[str, Row]:
        """Rows of every split file by id (the first file that lists a track wins);
        fills ``self._splits`` with each split's parts."""
        rows: dict[str, Row] = {}
        for name in SPLIT_NAMES:
            parts: dict[str, str] = {}
            for part in PARTS:
                path = folder / name / SPLIT_FILE.format(part=part)
                if not path.is_file():
                    continue
                for row in read_rows(path, self._notes):
                    if row.track_id in parts:
                        self._notes.add(
                            "error", "duplicate_id",
                            f"{row.track_id}: in both the {parts[row.track_id]} and {part} "
                            f"files of {name}", row.track_id, path,
                        )
                        continue
                    parts[row.track_id] = part
                    rows.setdefault(row.track_id, row)
            if parts:
                self._splits[name] = parts
        return rows

    def _check_rows(self, rows: dict[str, Row], full: dict[str, Row]) -> None:
        """Tags outside the 56 and tracks without a tag are label errors of that track."""
        known = set(MOODTHEME_TAGS)
        for track_id, row in rows.items():
            unknown = sorted(set(row.tags) - known)
            if unknown:
                self._notes.add(
                    "error", "bad_label",
                    f"{track_id}: tag(s) {', '.join(unknown)} are not among the task's 56 "
                    "(ignored)", track_id,
                )
            if not set(row.tags) & known:
                self._notes.add(
                    "error", "bad_label",
                    f"{track_id}: no mood/theme tag of the task in its row; the track has "
                    "no label", track_id,
                )
            if full and track_id not in full:
                self._notes.add(
                    "warning", "id_mismatch",
                    f"{track_id}: in the split files but not in {FULL_TSV}", track_id,
                )

    def _track(self, row: Row) -> Track:
        tags = [t for t in row.tags if t in MOODTHEME_TAGS]
        rel = low_quality_path(row.path) if self.quality == "low" else row.path
        return Track(
            id=row.track_id,
            audio_path=self.audio_dir / rel,
            duration_s=row.duration_s,
            meta={"artist": row.artist, "album": row.album, "path": rel},
            labels={MOODTHEME.value: tags} if tags else {},
        )

    # --- splits ----------------------------------------------------------------
    def official_split(self) -> Split | None:
        """Split-0, the one MediaEval's Emotion and Theme Recognition task used."""
        return self.named_split(SPLIT_NAMES[0])

    def named_split(self, name: str) -> Split | None:
        """``split-0`` .. ``split-4`` as published (None: not below this root)."""
        self.tracks()
        parts = self._splits.get(name)
        if not parts:
            return None
        ids = {p: tuple(sorted((i for i, q in parts.items() if q == p), key=id_sort_key))
               for p in PARTS}
        return Split(f"official:{name}", ids["train"], ids["validation"], ids["test"])

    # --- validation ------------------------------------------------------------
    def validate(self, check_audio: bool = True, deep: bool = False) -> ValidationReport:
        self._deep = deep
        return super().validate(check_audio, deep)

    def _dataset_checks(self, report: ValidationReport) -> None:
        tracks = self.tracks()
        dropped = Counter(t for r in self._outside for t in r.tags)
        report.summary["rows in no split (tags outside the task only)"] = len(self._outside)
        if self._outside:
            report.add(
                "info", "outside_splits",
                f"{len(self._outside)} rows of {FULL_TSV} are in no split file; their tags "
                f"({', '.join(f'{t} {n}' for t, n in sorted(dropped.items()))}) are not among "
                "the task's 56, so they are not tracks of the task",
            )
        report.summary["tag counts (min / median / max per tag)"] = _tag_spread(tracks)
        if self._check_audio_flag:
            self._check_checksums(tracks, report)

    def _check_checksums(self, tracks: list[Track], report: ValidationReport) -> None:
        """Every track must have a published digest; with ``deep`` its file must match it."""
        listed = CHECKSUMS[self.quality]
        path = self.root / DATA_DIR / listed
        if not path.is_file():
            report.add("warning", "missing_checksums",
                       f"no {DATA_DIR}/{listed}: audio files cannot be verified", path=path)
            return
        digests = read_checksums(path, report)
        unlisted = [t for t in tracks if t.meta.get("path") not in digests]
        for t in unlisted:
            report.add("warning", "unlisted_audio",
                       f"{t.id}: {t.meta.get('path')} is not in {path.name}", t.id)
        if not self._deep:
            return
        verified = 0
        for t in tracks:
            digest = digests.get(t.meta.get("path", ""))
            if digest is None or t.audio_path is None or not Path(t.audio_path).is_file():
                continue
            actual = sha256_file(t.audio_path)
            if actual != digest:
                # a track-level code: --skip-invalid leaves the track out
                report.add(
                    "error", "audio_checksum_mismatch",
                    f"{t.id}: checksum mismatch: {t.meta.get('path')} has sha256 "
                    f"{actual[:16]}..., {path.name} says {digest[:16]}...; re-download it",
                    t.id, t.audio_path,
                )
                continue
            verified += 1
        report.summary["audio checksums verified"] = f"{verified} of {len(tracks)}"

    def _audio_on_disk(self) -> dict[str, Path]:
        """``NN/ID.mp3`` (or ``.low.mp3``) below the audio folder, keyed ``track_%07d``."""
        if not self.audio_dir.is_dir():
            return {}
        suffix = ".low.mp3" if self.quality == "low" else ".mp3"
        found: dict[str, Path] = {}
        for path in self.audio_dir.glob(f"[0-9][0-9]/*{suffix}"):
            stem = path.name[: -len(suffix)]
            if stem.isdigit() and (suffix != ".mp3" or not path.name.endswith(".low.mp3")):
                found[f"track_{int(stem):07d}"] = path
        return found

    @classmethod
    def fake_tree(cls, root: Path, **options: Any) -> Path:
        """A few tracks in the published layout; see ``mtg_fake.write_tree`` for options."""
        from mer_bench.data.mtg_fake import write_tree

        return write_tree(root, **options)


def _tag_spread(tracks: list[Track]) -> str:
    counts = Counter(t for track in tracks for t in track.labels.get(MOODTHEME.value, ()))
    values = sorted(counts.get(t, 0) for t in MOODTHEME_TAGS)
    return f"{values[0]} / {values[len(values) // 2]} / {values[-1]}"
