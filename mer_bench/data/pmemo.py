"""PMEmo2019: popular-music choruses with static and dynamic V/A (Zhang et al. 2018).

794 choruses (11-88 s) of charting pop songs; 767 carry dynamic annotations
in long format at 2 Hz from 15.5 s, on [0, 1]; the 27 shortest clips are not
annotated. Static means (``static_annotations.csv``) are also on [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

from mer_bench.data.annotated import AnnotatedDataset
from mer_bench.data.base import DATASETS, ValidationReport
from mer_bench.data.curves import (
    DYNAMIC_RATE_HZ,
    STATIC_TARGETS,
    Dynamic,
    annotation_span_s,
    combine,
    curve_static_labels,
    read_long_curves,
    static_target_note,
)
from mer_bench.data.fakes import truth, write_clip, write_text
from mer_bench.data.files import audio_index, id_sort_key, to_float
from mer_bench.data.labels import UNIT
from mer_bench.data.tables import (
    Meta,
    Static,
    Table,
    canonical_static,
    read_meta,
    read_static,
    read_table,
)
from mer_bench.errors import DatasetError
from mer_bench.tasks import VA_ANNOTATED_TASKS
from mer_bench.types import Track

METADATA = "metadata.csv"
STATIC = "static_annotations.csv"
DYNAMIC = "dynamic_annotations.csv"
AUDIO_DIR = "chorus"

IDS = ("musicId", "music_id", "song_id", "id")
VALENCE = ("Valence(mean)", "valence_mean", "valence")
AROUSAL = ("Arousal(mean)", "arousal_mean", "arousal")

KNOWN_SHA256 = {
    METADATA: "a7576297df8fc418808cafaedebb70eb38444a0449bd924b0231121f4419e16d",
    DYNAMIC: "4d7fe35b3558590546bc854056a6d9bd47f8bac79e55958bd667810be5066b9b",
    "dynamic_annotations_std.csv": (
        "20b23f9128c1192542649c3f1dab2827ad0583627b3eb3e0954661ab08547f47"
    ),
}
STATIC_FROM_DYNAMIC_KEY = "pmemo_static_from_dynamic"
TAKASHIMA_MIN_ANNOTATION_S = 7.0  # Takashima et al. keep the songs annotated this long

FAKE_IDS = (1, 4, 5, 6, 9)  # the fake tree's annotated songs
FAKE_UNANNOTATED = (11, 64)  # and those only in its metadata.csv


def fake_truth(song: int) -> tuple[float, float]:
    """A fake song's (valence, arousal) on PMEmo's [0, 1] scale."""
    v, a = truth(song)
    return (v - 1) / 8, (a - 1) / 8


@DATASETS.register("pmemo")
class PMEmoAdapter(AnnotatedDataset):
    """PMEmo2019 (Zhang et al. 2018), read from the published CSVs.

    Labels: static and dynamic values are on [0, 1], mapped linearly to
    [-1, 1] (0.5 -> 0). Column 0 is valence, column 1 arousal (the files list
    arousal first). Dynamic annotations start at 15.5 s at 2 Hz (2-146
    frames per song).

    Tasks: ``static_va``, ``dynamic_va``, ``m2e_e2m_retrieval``, and
    ``quadrant`` / ``binary_valence`` / ``binary_arousal`` derived by
    ``types.Task`` from the static V/A with threshold 0 on the canonical scale
    (= 0.5 on [0, 1]; ties count as positive/high).

    Static labels come only from ``static_annotations.csv``. When it is
    missing, static tasks have no labels and validate() warns; the option
    ``static_from_dynamic=True`` instead uses the mean of each song's dynamic
    annotations (recorded in ``corrections()``), never silently.

    ``meta["artist"]`` comes from ``metadata.csv`` (artist-disjoint splits);
    ``Track.duration_s`` is the chorus duration listed there.

    ``min_annotation_s`` keeps only songs whose dynamic annotation spans at
    least that many seconds (first to last frame): 7.0 keeps Takashima et
    al.'s 701 songs. ``data check`` reports how many it keeps.
    ``static_target`` replaces each song's static label by its curve's
    time-mean (``dynamic_mean``) or last value (``dynamic_last``, Takashima et
    al.'s Table 3 target for PMEmo).
    """

    name = "pmemo"
    version = "2019"
    published_tracks = 794
    citation = (
        "Zhang, K., Zhang, H., Li, S., Yang, C., & Sun, L. (2018). The PMEmo dataset for "
        "music emotion recognition. In Proceedings of the 2018 ACM International Conference "
        "on Multimedia Retrieval (ICMR '18), 135-142. https://doi.org/10.1145/3206025.3206037"
    )
    license = (
        "Free for non-commercial research (see homepage); the choruses are excerpts of "
        "copyrighted recordings: use locally, never redistribute."
    )
    homepage = "https://github.com/HuiZhangDB/PMEmo"
    download_info = (
        "Download PMEmo2019 via the links at https://github.com/HuiZhangDB/PMEmo (nothing "
        "is downloaded by mer-bench) and unpack it; the root holds (at any depth):\n"
        "  metadata.csv                           musicId,fileName,title,artist,album,"
        "duration,chorus_start_time,chorus_end_time (794 songs)\n"
        "  annotations/static_annotations.csv     musicId,Arousal(mean),Valence(mean) ([0, 1])\n"
        "  annotations/dynamic_annotations.csv    musicId,frameTime,Arousal(mean),"
        "Valence(mean) (2 Hz from 15.5 s; 767 songs)\n"
        "  chorus/{musicId}.mp3                   44.1 kHz stereo MP3 choruses, 11-88 s\n"
        "Known sha256: "
        + "; ".join(f"{name} {digest}" for name, digest in KNOWN_SHA256.items())
        + "\nPoint mer-bench at it with --root or MER_BENCH_PMEMO_ROOT."
    )
    task_kinds = VA_ANNOTATED_TASKS
    label_scales: ClassVar[dict[str, str]] = {
        "static": UNIT.describe(),
        "dynamic": UNIT.describe(),
    }
    min_clip_s: ClassVar[float | None] = 10.0  # the shortest choruses are 11 s

    def __init__(
        self,
        root: Path | str | None = None,
        *,
        static_from_dynamic: bool = False,
        min_annotation_s: float = 0.0,
        static_target: str = "static",
    ) -> None:
        super().__init__(root)
        if static_target not in STATIC_TARGETS:
            raise DatasetError(f"pmemo: static_target={static_target!r} is not one of "
                               f"{list(STATIC_TARGETS)}")
        self.static_target = static_target
        if not min_annotation_s >= 0:
            raise DatasetError(f"pmemo: min_annotation_s must be >= 0, got {min_annotation_s}")
        self.static_from_dynamic = static_from_dynamic
        self.min_annotation_s = float(min_annotation_s)
        self._audio_dir: Path | None = None
        self._n_derived = 0

    # --- parsing -------------------------------------------------------------
    def _load_tracks(self) -> list[Track]:
        loc = self._locate()
        paths = {name: loc.file(name) for name in (*KNOWN_SHA256, STATIC)}
        if paths[STATIC] is None and paths[DYNAMIC] is None:
            raise DatasetError(
                f"pmemo: neither {STATIC} nor {DYNAMIC} found below {self.root}. "
                "Run `mer-bench data info pmemo` for the expected layout."
            )
        self._check_known_files(KNOWN_SHA256, paths)
        static = self._read_static(paths[STATIC])
        dynamic = self._read_dynamic(paths[DYNAMIC])
        meta = self._read_metadata(paths[METADATA])
        self._audio_dir = loc.dir(AUDIO_DIR)
        audio = audio_index(self._audio_dir)
        ids = sorted(set(static) | set(dynamic), key=id_sort_key)
        self._note_ids(ids, meta, paths[METADATA])
        loc.report_copies(self._notes)
        tracks = [self._track(i, static, dynamic, meta, audio) for i in ids]
        self._notes.summary.update(
            {
                "songs in metadata": len(meta),
                "songs with dynamic annotations": sum(v is not None for v in dynamic.values()),
                "static annotations": sum(v is not None for v in static.values()),
                "metadata without annotations": len(set(meta) - set(ids)),
            }
        )
        if self.static_from_dynamic:
            self._notes.summary["static from dynamic means"] = self._n_derived
        spans = [annotation_span_s(t.dynamic_va, DYNAMIC_RATE_HZ) for t in tracks]
        paper = sum(span >= TAKASHIMA_MIN_ANNOTATION_S - 1e-9 for span in spans)
        self._notes.summary["songs with >= 7 s of annotation (min_annotation_s=7)"] = paper
        if self.min_annotation_s > 0:
            kept = [
                t for t, span in zip(tracks, spans, strict=True)
                if span >= self.min_annotation_s - 1e-9
            ]
            self._notes.summary[f"songs with >= {self.min_annotation_s:g} s of annotation"] = (
                f"{len(kept)} of {len(tracks)} kept"
            )
            tracks = kept
        return curve_static_labels(tracks, self.static_target)

    def _track(
        self, track_id: str, static: Static, dynamic: Dynamic, meta: Meta, audio: dict[str, Path]
    ) -> Track:
        array, start = dynamic.get(track_id) or (None, 15.5)
        static_va = canonical_static(static.get(track_id), UNIT)
        if static_va is None and self.static_from_dynamic and array is not None:
            static_va = (float(np.mean(array[:, 0])), float(np.mean(array[:, 1])))
            self._n_derived += 1
        info = dict(meta.get(track_id, {}))
        file_name = info.pop("file_name", "") or f"{track_id}.mp3"
        duration = to_float(info.pop("duration", ""))
        folder = self._audio_dir or self.root / AUDIO_DIR
        return Track(
            id=track_id,
            audio_path=audio.get(track_id) or folder / file_name,
            duration_s=duration if duration is not None and not math.isnan(duration) else None,
            static_va=static_va,
            dynamic_va=array,
            dynamic_rate_hz=DYNAMIC_RATE_HZ,
            dynamic_start_s=start,
            meta=info,
        )

    def _read_static(self, path: Path | None) -> Static:
        if path is None:
            hint = (
                "static V/A is the mean of the dynamic annotations (static_from_dynamic=True)"
                if self.static_from_dynamic
                else "static_va / quadrant / binary tasks have no labels (pass "
                "static_from_dynamic=True to use dynamic means instead)"
            )
            self._notes.add(
                "warning",
                "missing_static_annotations",
                f"no {STATIC} below {self.root}: {hint}",
            )
            return {}
        return read_static(read_table(path), IDS, VALENCE, AROUSAL, UNIT, self._notes)

    def _read_dynamic(self, path: Path | None) -> Dynamic:
        if path is None:
            self._notes.add(
                "warning",
                "missing_dynamic_annotations",
                f"no {DYNAMIC} below {self.root}: dynamic tasks have no labels",
            )
            return {}
        table = read_table(path)
        curves = read_long_curves(
            table,
            IDS,
            ("frameTime", "frame_time", "time"),
            {"valence": VALENCE, "arousal": AROUSAL},
            UNIT,
            self._notes,
        )
        return {
            track_id: None
            if pair is None
            else combine(pair["valence"], pair["arousal"], track_id, self._notes, path)
            for track_id, pair in curves.items()
        }

    def _read_metadata(self, path: Path | None) -> Meta:
        if path is None:
            self._notes.add(
                "warning",
                "missing_metadata",
                f"no {METADATA} below {self.root}: no artists (artist-disjoint splits) "
                "or durations",
            )
            return {}
        return self._read_optional(path, lambda t: read_metadata(t, self._notes))

    def _note_ids(self, ids: list[str], meta: Meta, meta_path: Path | None) -> None:
        annotated = set(ids)
        for track_id in sorted(set(meta) - annotated, key=id_sort_key):
            self._notes.add(
                "warning",
                "metadata_without_annotations",
                f"{track_id}: in {METADATA} but not annotated (PMEmo leaves its shortest "
                "clips unannotated); not a track",
                track_id,
                meta_path,
            )
        if meta:
            for track_id in sorted(annotated - set(meta), key=id_sort_key):
                self._notes.add(
                    "warning",
                    "id_mismatch",
                    f"{track_id}: annotated but missing from {METADATA}",
                    track_id,
                    meta_path,
                )

    def corrections(self) -> dict[str, str]:
        """Records static labels derived from dynamic means (static_from_dynamic=True)."""
        tracks = self.tracks()
        out = {}
        if self.static_target != "static":
            n = sum(t.static_va is not None for t in tracks)
            out["pmemo_static_target"] = static_target_note(self.static_target, n)
        elif self._n_derived:
            out[STATIC_FROM_DYNAMIC_KEY] = (
                f"static V/A of {self._n_derived} songs is the mean of their dynamic "
                f"annotations ({STATIC} has no row for them)"
            )
        return out

    @classmethod
    def fake_tree(
        cls,
        root: Path,
        *,
        ids: Sequence[int] = FAKE_IDS,
        unannotated: Sequence[int] = FAKE_UNANNOTATED,
        static: bool = True,
        audio_ids: Sequence[int] | None = None,
        frames: int = 4,
        durations: Mapping[int, float] | None = None,
    ) -> Path:
        """A PMEmo2019 folder: ``metadata.csv`` (a quoted album with a comma and a stray
        tab; ``unannotated`` songs in it without annotations, as the 27 short clips),
        ``annotations/`` in the long 2 Hz format from 15.5 s, values in [0, 1], and
        ``chorus/`` with a clip per ``audio_ids`` song (default: every annotated one)."""
        durations = durations or {}
        meta = ["musicId,fileName,title,artist,album,duration,chorus_start_time,chorus_end_time"]
        for song in sorted((*ids, *unannotated)):
            album = '"Me, Myself & I (Remix\t)"' if song == 4 else f"Album {song}"
            meta.append(
                f"{song},{song}.mp3,Title {song},Singer {song % 2},{album},"
                f"{durations.get(song, 16.0)},02:35,03:05"
            )
        write_text(root / METADATA, meta)
        dyn = ["musicId,frameTime,Arousal(mean),Valence(mean)"]
        std = ["musicId,frameTime,Arousal(std),Valence(std)"]
        for song in ids:
            v, a = fake_truth(song)
            for k in range(frames):
                t = 15.5 + 0.5 * k
                dyn.append(f"{song},{t},{min(1.0, a + 0.01 * k)!r},{min(1.0, v + 0.01 * k)!r}")
                std.append(f"{song},{t},0.2,0.2")
        write_text(root / "annotations" / DYNAMIC, dyn)
        write_text(root / "annotations" / "dynamic_annotations_std.csv", std)
        if static:
            lines = ["musicId,Arousal(mean),Valence(mean)"]
            lines += [f"{s},{fake_truth(s)[1]!r},{fake_truth(s)[0]!r}" for s in ids]
            write_text(root / "annotations" / STATIC, lines)
        for song in ids if audio_ids is None else audio_ids:
            write_clip(root / AUDIO_DIR / f"{song}.mp3", durations.get(song, 16.0))
        return root

    def _audio_on_disk(self) -> dict[str, Path]:
        self.tracks()
        return audio_index(self._audio_dir)


def read_metadata(table: Table, report: ValidationReport) -> Meta:
    """``metadata.csv`` -> meta per id (artist, title, album, chorus times, duration)."""
    id_col = table.col(*IDS)
    cols = {
        "file_name": table.col("fileName", "file_name", required=False),
        "title": table.col("title", required=False),
        "artist": table.col("artist", required=False),
        "album": table.col("album", required=False),
        "duration": table.col("duration", required=False),
        "chorus_start": table.col("chorus_start_time", required=False),
        "chorus_end": table.col("chorus_end_time", required=False),
    }
    return read_meta(table, id_col, cols, report)
