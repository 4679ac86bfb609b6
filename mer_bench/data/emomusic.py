"""EiM / emoMusic: "1000 songs for emotional analysis of music" (MediaEval 2013).

744 Creative Commons songs (256 of the ids 1..1000 were removed as
duplicates), 45 s clips, each with a static rating (mean of raters, SAM 1..9)
and dynamic valence/arousal at 2 Hz from 15 s to 45 s on [-1, 1]. The
MediaEval 2013 development/evaluation split (619 / 125) is the official one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

from mer_bench.data.annotated import AnnotatedDataset
from mer_bench.data.base import DATASETS, ValidationReport
from mer_bench.data.curves import DYNAMIC_RATE_HZ, Dynamic, dynamic_tracks, read_wide_curves
from mer_bench.data.fakes import canonical, curve, truth, wide_lines, write_clip, write_text
from mer_bench.data.files import Locator, audio_index, id_sort_key, norm_id
from mer_bench.data.labels import CANONICAL, SAM_1_9
from mer_bench.data.tables import (
    Meta,
    Static,
    Table,
    canonical_static,
    malformed,
    read_meta,
    read_static,
    read_table,
)
from mer_bench.errors import DatasetError
from mer_bench.tasks import VA_ANNOTATED_TASKS
from mer_bench.types import Split, Track, quadrant_of

STATIC = "static_annotations.csv"
INFO = "songs_info.csv"
DYN_VALENCE = "valence_cont_average.csv"
DYN_AROUSAL = "arousal_cont_average.csv"
CLIPS = "clips_45seconds"

STATIC_IDS = ("song_id", "id")
STATIC_VALENCE = ("mean_valence", "valence_mean")
STATIC_AROUSAL = ("mean_arousal", "arousal_mean")

# sha256 of the annotation files as published (verified on an unmodified copy).
KNOWN_SHA256 = {
    STATIC: "40a2e360eec17be1f6d54b78e76f0c6851bef9d7869b47510034a659ac24857c",
    INFO: "146e88272a9ad132b37dee8798c117470f59673e83d8ccbbaae322d0473865fd",
    DYN_AROUSAL: "8a8fd8eab2027f6d90c5168d82acf9fdf10072d4e24156623fd6223b15eb9b52",
    DYN_VALENCE: "6da78ea1338ad1440ee303b5f36901dd974fdc95e9b5bf3f3ec3c38907557c07",
    "arousal_cont_std.csv": "6d378f5fa8e27e21fa28fde214b1b0e167f2eb6e96528f18ab1737a8c9185c5e",
    "valence_cont_std.csv": "923cef6f5445ed3b8a6422f85a72cfefe9a443a6a9957a03bac259180a08c2c5",
}

FAKE_IDS = (2, 3, 4, 5, 7, 8, 10, 12)  # the fake tree's songs
FAKE_FRAMES = 5  # its dynamic frames per song (the published files have 61: 15 s .. 45 s)

SPLIT_TO_PART = {"development": "train", "evaluation": "test"}

# Where a song's clip-level V/A (and so its quadrant and binary labels) comes from:
# "static" = the static means (1..9, threshold 5); "dynamic-mean" = the mean of the
# song's dynamic annotations ([-1, 1], threshold 0), which reproduces Koh & Dubnov's
# Table 1 counts (Q1-Q4 = 305/87/241/111 of 744 songs).
LABEL_SOURCES = ("static", "dynamic-mean")


def dynamic_mean(array: np.ndarray | None) -> tuple[float, float] | None:
    """Per-song mean of a [T, 2] dynamic V/A array (NaN frames ignored), or None."""
    if array is None or len(array) == 0:
        return None
    values = np.asarray(array, dtype=float)
    if not np.isfinite(values).any(axis=0).all():
        return None
    mean = np.nanmean(values, axis=0)
    return float(mean[0]), float(mean[1])


def read_static_raw(root: Path) -> tuple[dict[str, tuple[float, float]], Path] | None:
    """EiM static means ``{id: (valence, arousal)}`` on the 1..9 scale, and the file.

    Used by the DEAM adapter to detect DEAM's swapped 2013 columns; None when
    ``root`` holds no ``static_annotations.csv``.
    """
    if not Path(root).is_dir():
        return None
    path = Locator(Path(root)).file(STATIC)
    if path is None:
        return None
    scratch = ValidationReport("emomusic", str(root))
    raw = read_static(
        read_table(path), STATIC_IDS, STATIC_VALENCE, STATIC_AROUSAL, SAM_1_9, scratch
    )
    return {k: v for k, v in raw.items() if v is not None}, path


@DATASETS.register("emomusic", aliases=("eim",))
class EmoMusicAdapter(AnnotatedDataset):
    """EiM / emoMusic (Soleymani et al. 2013), read from the published CSVs.

    Labels: static means are on SAM 1..9 and mapped linearly to [-1, 1]
    (5 -> 0); the dynamic files are already on [-1, 1]. Column 0 is valence,
    column 1 arousal. Dynamic annotations start at 15.0 s at 2 Hz (61 frames).

    Tasks: ``static_va``, ``dynamic_va``, ``m2e_e2m_retrieval`` (clip and its
    dynamic V/A sequence), and ``quadrant`` / ``binary_valence`` /
    ``binary_arousal`` derived by ``types.Task`` from the clip-level V/A with
    threshold 0 on the canonical scale (ties count as positive/high): Q1 A+V+,
    Q2 A+V-, Q3 A-V-, Q4 A-V+.

    ``label_source`` says what that clip-level V/A is: ``static`` (default) the
    static means (threshold 0 = 5 on the 1..9 scale: Q1-Q4 = 265/72/287/120),
    ``dynamic-mean`` the mean of each song's dynamic annotations, the rule that
    reproduces Koh & Dubnov's (2021) Table 1 counts exactly (305/87/241/111).
    The two disagree on the quadrant of 134 of the 744 songs. With
    ``dynamic-mean`` the ``static_va`` regression target is that mean too.

    Split: ``official_split()`` is MediaEval 2013's (``Mediaeval 2013 set`` in
    ``songs_info.csv``): development -> train (validation is carved from it by
    ``splits.py``), evaluation -> test. ``meta["artist"]`` comes from
    ``songs_info.csv`` so ``artist-disjoint`` works.
    """

    name = "emomusic"
    version = "2013"
    citation = (
        "Soleymani, M., Caro, M. N., Schmidt, E. M., Sha, C.-Y., & Yang, Y.-H. (2013). "
        "1000 songs for emotional analysis of music. In Proceedings of the 2nd ACM "
        "International Workshop on Crowdsourcing for Multimedia (CrowdMM '13), 1-6. "
        "https://doi.org/10.1145/2506364.2506365"
    )
    license = (
        "Annotations: free for research use (see homepage). Audio: Creative Commons "
        "licenses from the Free Music Archive; each clip's license is in its ID3 TCOP tag."
    )
    homepage = "https://cvml.unige.ch/databases/emoMusic/"
    download_info = (
        "Request/download from https://cvml.unige.ch/databases/emoMusic/ (nothing is "
        "downloaded by mer-bench). Unpack so that the root holds (at any depth):\n"
        "  annotations/static_annotations.csv      song_id,mean_arousal,std_arousal,"
        "mean_valence,std_valence (1..9)\n"
        "  annotations/songs_info.csv              song_id,file_name,Artist,Song title,...,"
        "Genre,Mediaeval 2013 set\n"
        "  annotations/{arousal,valence}_cont_{average,std}.csv   "
        "song_id,sample_15000ms,...,sample_45000ms ([-1, 1])\n"
        "  clips_45seconds/{song_id}.mp3           744 clips, 44.1 kHz mono, ~45 s\n"
        "Known sha256 of the annotation files: "
        + "; ".join(f"{name} {digest}" for name, digest in KNOWN_SHA256.items())
        + "\nPoint mer-bench at it with --root or MER_BENCH_EMOMUSIC_ROOT."
    )
    task_kinds = VA_ANNOTATED_TASKS
    label_scales: ClassVar[dict[str, str]] = {
        "static": SAM_1_9.describe(),
        "dynamic": CANONICAL.describe(),
    }
    min_clip_s: ClassVar[float | None] = 15.0  # annotations start at 15 s of 45 s clips

    def __init__(self, root: Path | str | None = None, label_source: str = "static") -> None:
        if label_source not in LABEL_SOURCES:
            raise DatasetError(
                f"emomusic: label_source must be one of {LABEL_SOURCES}, got {label_source!r}"
            )
        super().__init__(root)
        self.label_source = label_source
        self._clips_dir: Path | None = None

    # --- parsing -------------------------------------------------------------
    def _load_tracks(self) -> list[Track]:
        notes = self._notes
        loc = self._locate()
        paths = {name: loc.file(name) for name in KNOWN_SHA256}
        has_dynamic = paths[DYN_VALENCE] is not None and paths[DYN_AROUSAL] is not None
        if paths[STATIC] is None and not has_dynamic:
            raise self.missing_files(f"{STATIC} or {DYN_VALENCE}/{DYN_AROUSAL}")
        self._check_known_files(KNOWN_SHA256, paths)
        static = self._read_static(paths[STATIC])
        dynamic = self._read_dynamic(paths[DYN_VALENCE], paths[DYN_AROUSAL])
        info = self._read_info(paths[INFO])
        self._clips_dir = loc.dir(CLIPS)
        audio = audio_index(self._clips_dir)
        ids = sorted(set(static) | set(dynamic), key=id_sort_key)
        self._note_mismatches(ids, static, dynamic, info, paths)
        loc.report_copies(notes)
        notes.summary.update(self._summary(static, dynamic, info))
        notes.summary.update(quadrant_counts(static, dynamic))
        if self.label_source == "dynamic-mean" and not has_dynamic:
            raise DatasetError(
                f"emomusic: label_source dynamic-mean needs {DYN_VALENCE} and {DYN_AROUSAL} "
                f"below {self.root}"
            )
        tracks = []
        for track_id in ids:
            meta = info.get(track_id, {})
            array, start = dynamic.get(track_id) or (None, 15.0)
            if self.label_source == "dynamic-mean":
                clip_va = dynamic_mean(array)
            else:
                clip_va = canonical_static(static.get(track_id), SAM_1_9)
            tracks.append(
                Track(
                    id=track_id,
                    audio_path=audio.get(track_id) or self._default_audio(track_id, meta),
                    static_va=clip_va,
                    dynamic_va=array,
                    dynamic_rate_hz=DYNAMIC_RATE_HZ,
                    dynamic_start_s=start,
                    meta={k: v for k, v in meta.items() if k != "file_name"},
                )
            )
        return tracks

    def _read_static(self, path: Path | None) -> Static:
        if path is None:
            self._notes.add(
                "warning",
                "missing_static_annotations",
                f"no {STATIC} below {self.root}: static_va tasks have no labels",
            )
            return {}
        table = read_table(path)
        return read_static(table, STATIC_IDS, STATIC_VALENCE, STATIC_AROUSAL, SAM_1_9, self._notes)

    def _read_dynamic(self, v_path: Path | None, a_path: Path | None) -> Dynamic:
        if v_path is None or a_path is None:
            missing = DYN_VALENCE if v_path is None else DYN_AROUSAL
            self._notes.add(
                "warning",
                "missing_dynamic_annotations",
                f"no {missing} below {self.root}: dynamic tasks have no labels",
            )
            return {}
        valence = read_wide_curves(read_table(v_path), "valence", CANONICAL, self._notes)
        arousal = read_wide_curves(read_table(a_path), "arousal", CANONICAL, self._notes)
        return dynamic_tracks(valence, arousal, self._notes, (v_path, a_path))

    def _read_info(self, path: Path | None) -> Meta:
        """``songs_info.csv`` -> meta per id (fields carry stray tabs: stripped)."""
        if path is None:
            self._notes.add(
                "warning",
                "missing_metadata",
                f"no {INFO} below {self.root}: no official split and no artist metadata",
            )
            return {}
        try:  # a row that does not parse would move songs out of the official split
            table = read_table(path)
        except DatasetError as exc:
            malformed(self._notes, str(exc), path)
            return {}
        try:
            return read_song_info(table, self._notes, strict=True)
        except DatasetError as exc:  # not this file at all (its header): go on without it
            self._notes.add(
                "warning", "unreadable_metadata", f"{exc} (metadata ignored)", path=path
            )
            return {}

    def _note_mismatches(
        self,
        ids: list[str],
        static: Static,
        dynamic: Dynamic,
        info: Meta,
        paths: dict[str, Path | None],
    ) -> None:
        notes = self._notes
        for track_id in ids:
            if static and track_id not in static:
                notes.add(
                    "warning",
                    "id_mismatch",
                    f"{track_id}: dynamic annotations but no row in {STATIC}",
                    track_id,
                    paths[STATIC],
                )
            if dynamic and track_id not in dynamic:
                notes.add(
                    "warning",
                    "id_mismatch",
                    f"{track_id}: static annotation but no dynamic annotation",
                    track_id,
                    paths[DYN_VALENCE],
                )
            if info and track_id not in info:
                notes.add(
                    "warning",
                    "id_mismatch",
                    f"{track_id}: annotated but missing from {INFO} (no split, no artist)",
                    track_id,
                    paths[INFO],
                )
        known = set(ids)
        for track_id in sorted(set(info) - known, key=id_sort_key):
            notes.add(
                "warning",
                "metadata_without_annotations",
                f"{track_id}: listed in {INFO} but has no annotations",
                track_id,
                paths[INFO],
            )

    @staticmethod
    def _summary(static: Static, dynamic: Dynamic, info: Meta) -> dict[str, object]:
        parts = [m.get("official_split") for m in info.values()]
        return {
            "songs in metadata": len(info),
            "static annotations": sum(v is not None for v in static.values()),
            "songs with dynamic annotations": sum(v is not None for v in dynamic.values()),
            "official split": (
                f"{parts.count('development')} development / {parts.count('evaluation')} evaluation"
            ),
        }

    def _default_audio(self, track_id: str, meta: dict[str, str]) -> Path:
        folder = self._clips_dir or self.root / CLIPS
        return folder / (meta.get("file_name") or f"{track_id}.mp3")

    def _audio_on_disk(self) -> dict[str, Path]:
        self.tracks()
        return audio_index(self._clips_dir)

    @classmethod
    def fake_tree(
        cls,
        root: Path,
        *,
        ids: Sequence[int] = FAKE_IDS,
        audio_ids: Sequence[int] | None = None,
        extra_audio: Sequence[int] = (),
        evaluation: Sequence[int] = (3, 10),
        frames: int = FAKE_FRAMES,
        clip_s: float = 16.5,
    ) -> Path:
        """An emoMusic folder: ``annotations/`` with the six published CSVs (tabs inside
        the quoted ``songs_info.csv`` fields, wide 2 Hz curves from 15 s) and
        ``clips_45seconds/`` with a clip per ``audio_ids`` song (default: every one)."""
        ann = root / "annotations"
        static = ["song_id,mean_arousal,std_arousal,mean_valence,std_valence"]
        info = [
            '"song_id","file_name","Artist","Song title","start of the segment (min.sec)",'
            '"end of the segment (min.sec)","Genre","Mediaeval 2013 set"'
        ]
        valence, arousal = {}, {}
        for song in ids:
            v, a = truth(song)
            static.append(f"{song},{a:g},1.1,{v:g},0.9")
            split = "evaluation" if song in evaluation else "development"
            info.append(
                f'{song},"\t{song}.mp3","Artist {song % 3}\t","\tSong {song}\t","\t0.48\t",'
                f'"\t1.33\t","\tBlues\t","{split}"'
            )
            valence[str(song)] = curve(canonical(v), frames, song, 0)
            arousal[str(song)] = curve(canonical(a), frames, song, 1)
        write_text(ann / STATIC, static)
        write_text(ann / INFO, info)
        write_text(ann / DYN_VALENCE, wide_lines(valence, frames))
        write_text(ann / DYN_AROUSAL, wide_lines(arousal, frames))
        spread = wide_lines({k: np.full(frames, 0.3) for k in valence}, frames)
        for name in ("valence_cont_std.csv", "arousal_cont_std.csv"):
            write_text(ann / name, spread)
        for song in (*(ids if audio_ids is None else audio_ids), *extra_audio):
            write_clip(root / CLIPS / f"{song}.mp3", clip_s)
        return root

    # --- splits --------------------------------------------------------------
    def official_split(self) -> Split | None:
        """MediaEval 2013: development -> train (val carved later), evaluation -> test."""
        parts: dict[str, list[str]] = {"train": [], "test": []}
        for t in self.tracks():
            part = SPLIT_TO_PART.get(t.meta.get("official_split", ""))
            if part:
                parts[part].append(t.id)
        if not parts["train"] or not parts["test"]:
            return None
        return Split("official", tuple(parts["train"]), (), tuple(parts["test"]))


def quadrant_counts(static: Static, dynamic: Dynamic) -> dict[str, dict[str, int]]:
    """Songs per quadrant under each label source, for ``data check``: ``static`` (static
    means, threshold 5 of 1..9) and ``dynamic-mean`` (mean dynamic V/A, threshold 0)."""
    rules = {
        "per quadrant, label_source=static": {
            k: canonical_static(v, SAM_1_9) for k, v in static.items()
        },
        "per quadrant, label_source=dynamic-mean": {
            k: dynamic_mean(v[0]) if v else None for k, v in dynamic.items()
        },
    }
    out = {}
    for title, values in rules.items():
        counts = Counter(quadrant_of(*va) for va in values.values() if va is not None)
        if counts:
            out[title] = {f"Q{q}": counts.get(q, 0) for q in (1, 2, 3, 4)}
    return out


def read_song_info(table: Table, report: ValidationReport, strict: bool = False) -> Meta:
    """Meta per id from a ``songs_info.csv``-style table (also DEAM's metadata_2013.csv).

    ``strict`` (EiM's own file, which every published row fills in): an empty file
    name or split, a segment bound that is no number, or a split other than
    development / evaluation is a ``malformed_row`` error naming the line.
    """
    cols = {
        "file_name": table.col("file_name", required=False),
        "artist": table.col("Artist", required=False),
        "title": table.col("Song title", "title", "Track", required=False),
        "genre": table.col("Genre", required=False),
        "segment_start": table.col("start of the segment (min.sec)", required=False),
        "segment_end": table.col("end of the segment (min.sec)", required=False),
        "official_split": table.col("Mediaeval 2013 set", required=False),
    }
    id_col = table.col("song_id", "id")
    required = ("file_name", "official_split") if strict else ()
    numeric = ("segment_start", "segment_end") if strict else ()
    out = read_meta(table, id_col, cols, report, required, numeric)
    if cols["official_split"] is None:
        return out
    lines = {norm_id(table.cell(row, id_col)): table.line(k) for k, row in enumerate(table.rows)}
    for track_id, meta in out.items():
        split = meta.get("official_split", "").lower()
        if split:
            meta["official_split"] = split
        if split in SPLIT_TO_PART:
            continue
        text = f"Mediaeval 2013 set {split!r} is neither development nor evaluation"
        if strict:
            where = f"{table.path}, line {lines.get(track_id, '?')}"
            malformed(report, f"{where}: {text}. Correct that row.", table.path)
        else:
            report.add("warning", "bad_metadata", f"{track_id}: {text}", track_id, table.path)
    return out
