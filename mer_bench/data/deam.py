"""DEAM: the MediaEval Database for Emotional Analysis in Music (2013-2015).

1802 songs in three subsets: 744 songs of MediaEval 2013 (ids 2..1000, the
emoMusic songs), 1000 of 2014 (ids 1001..2000), both as 45 s clips, and 58
full songs of 2015 (ids 2001..2058). Static song-level means on SAM 1..9,
dynamic per-second averages at 2 Hz from 15 s on [-1, 1].

Known defect: for the 2013 songs DEAM's song-level ``valence_mean`` equals
emoMusic's ``mean_arousal`` and vice versa (r = 1.00 on 744 songs), while
both datasets' dynamic annotations agree with emoMusic. This adapter detects
it (against EiM when available, else against DEAM's own dynamic
annotations) and by default swaps the 2013 columns back, recording the
correction; ``keep_raw_labels=True`` keeps the published columns (the check
itself is in ``deam_swap.py``).

Length: one adapter reads three MediaEval editions with different file
layouts (static, dynamic and metadata files each) and cross-checks their labels.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from mer_bench.data.annotated import AnnotatedDataset
from mer_bench.data.base import DATASETS
from mer_bench.data.curves import (
    DYNAMIC_RATE_HZ,
    STATIC_TARGETS,
    Dynamic,
    cap_curve,
    curve_static_labels,
    dynamic_tracks,
    read_wide_curves,
    static_target_note,
)
from mer_bench.data.deam_swap import SWAP_MIN_SONGS, SwapCheck, decide_swap
from mer_bench.data.emomusic import EmoMusicAdapter, read_song_info, read_static_raw
from mer_bench.data.files import Locator, audio_index, id_sort_key
from mer_bench.data.labels import CANONICAL, SAM_1_9
from mer_bench.data.tables import (
    Meta,
    Static,
    canonical_static,
    duplicate,
    read_static,
    read_table,
)
from mer_bench.errors import DatasetError
from mer_bench.tasks import VA_ANNOTATED_TASKS
from mer_bench.types import Split, Track

STATIC_FILES = (
    "static_annotations_averaged_songs_1_2000.csv",
    "static_annotations_averaged_songs_2000_2058.csv",
)
DYN_VALENCE = "valence.csv"
DYN_AROUSAL = "arousal.csv"
METADATA_FILES = ("metadata_2013.csv", "metadata_2014.csv", "metadata_2015.csv")
AUDIO_DIR = "MEMD_audio"

# the fake tree's songs per subset, and dynamic frames of its 45 s clips / 2015 full songs

STATIC_IDS = ("song_id", "id")
STATIC_VALENCE = ("valence_mean", "mean_valence")
STATIC_AROUSAL = ("arousal_mean", "mean_arousal")

SWAP_KEY = "deam_2013_va_swap"


def subset_of(track_id: str) -> str | None:
    """MediaEval edition of a DEAM id: 1-1000 -> 2013, 1001-2000 -> 2014, 2001-2058 -> 2015."""
    if not track_id.isdigit():
        return None
    n = int(track_id)
    if 1 <= n <= 1000:
        return "2013"
    if 1001 <= n <= 2000:
        return "2014"
    if 2001 <= n <= 2058:
        return "2015"
    return None


def swap_needs(n_dynamic: int) -> str:
    """What the 2013 swap check needs, in one sentence: the files and where they go."""
    have = (
        f" (the dynamic files found cover only {n_dynamic} of the 2013 songs)" if n_dynamic else ""
    )
    return (
        f"DEAM's dynamic per-second averages {DYN_VALENCE} and {DYN_AROUSAL} "
        "(DEAM_Annotations.zip, 'annotations averaged per song/dynamic (per second "
        f"annotations)/') anywhere below the root{have}, or emoMusic's "
        "static_annotations.csv: set MER_BENCH_EMOMUSIC_ROOT to the "
        "emoMusic folder (in a plan: params: {emomusic_root: PATH})"
    )


@DATASETS.register("deam")
class DeamAdapter(AnnotatedDataset):
    """DEAM (Aljanaki, Yang & Soleymani 2017), read from the published CSVs.

    Labels: static means on SAM 1..9 mapped linearly to [-1, 1] (5 -> 0);
    dynamic averages already on [-1, 1], 2 Hz from 15.0 s (45 s clips give
    61 frames, the 2015 full songs up to ~1225). Column 0 is valence, 1
    arousal. Arousal and valence rows of different length are aligned to their
    common frames and reported (``dynamic_length_mismatch``).

    Tasks: ``static_va``, ``dynamic_va``, ``m2e_e2m_retrieval``, and
    ``quadrant`` / ``binary_valence`` / ``binary_arousal`` derived by
    ``types.Task`` from the static V/A with threshold 0 on the canonical scale
    (= 5 on 1..9; ties count as positive/high).

    Split: ``meta["subset"]`` is 2013 / 2014 / 2015; ``official_split()`` is
    the MediaEval 2015 setting: train = 2013 + 2014, test = 2015.
    ``meta["artist"]`` is filled when ``metadata_201{3,4,5}.csv`` are present.

    Options: ``emomusic_root`` (default ``$MER_BENCH_EMOMUSIC_ROOT`` or
    ``$MER_BENCH_DATA/emomusic``) enables the direct swap check against EiM's
    static means; ``keep_raw_labels=True`` keeps the published (swapped)
    columns, and validate() then warns. ``dynamic_end_s`` cuts every dynamic
    curve after that time: 45.0 gives Takashima et al.'s 15-45 s span (61
    frames) to the 2015 full songs too, as for the 45 s clips; ``data check``
    reports how many curves it shortened. ``static_target`` replaces each
    song's static label by its curve's time-mean (``dynamic_mean``, Takashima
    et al.'s Table 3 target) or last value (``dynamic_last``), after the cut.
    """

    name = "deam"
    version = "2017"
    published_tracks = 1802  # 1744 clips (2013/14) + 58 full songs (2015)
    citation = (
        "Aljanaki, A., Yang, Y.-H., & Soleymani, M. (2017). Developing a benchmark for "
        "emotional analysis of music. PLOS ONE 12(3): e0173392. "
        "https://doi.org/10.1371/journal.pone.0173392"
    )
    license = (
        "Annotations: free for research use (see homepage). Audio: Creative Commons "
        "licenses (Free Music Archive, Jamendo, MedleyDB); check each song's license."
    )
    homepage = "https://cvml.unige.ch/databases/DEAM/"
    download_info = (
        "Download DEAM_Annotations.zip, DEAM_audio.zip and (optional, for artists) "
        "metadata.zip from https://cvml.unige.ch/databases/DEAM/ (nothing is downloaded "
        "by mer-bench) and unpack them under one root. Folder names may use spaces or "
        "underscores and may be nested; mer-bench searches the root for:\n"
        "  static_annotations_averaged_songs_1_2000.csv     song_id, valence_mean, "
        "valence_std, arousal_mean, arousal_std (1..9; 1744 songs)\n"
        "  static_annotations_averaged_songs_2000_2058.csv  the same plus max/min columns "
        "(58 full songs)\n"
        "  (usually under annotations/annotations averaged per song/song_level/)\n"
        "  dynamic (per second annotations)/{arousal,valence}.csv   song_id,sample_15000ms,"
        "... ([-1, 1], ragged rows)\n"
        "  MEMD_audio/{song_id}.mp3                          1802 files, 44.1/48/22.05/16 kHz\n"
        "  metadata/metadata_{2013,2014,2015}.csv            optional (artist, title, genre)\n"
        "Checksums: none published. Point mer-bench at it with --root or MER_BENCH_DEAM_ROOT; "
        "also give the emoMusic root (MER_BENCH_EMOMUSIC_ROOT) to check the 2013 swap directly."
    )
    task_kinds = VA_ANNOTATED_TASKS
    label_scales: ClassVar[dict[str, str]] = {
        "static": SAM_1_9.describe(),
        "dynamic": CANONICAL.describe(),
    }
    min_clip_s: ClassVar[float | None] = 15.0  # annotations start at 15 s of every clip

    def __init__(
        self,
        root: Path | str | None = None,
        *,
        emomusic_root: Path | str | None = None,
        keep_raw_labels: bool = False,
        dynamic_end_s: float | None = None,
        static_target: str = "static",
    ) -> None:
        super().__init__(root)
        if static_target not in STATIC_TARGETS:
            raise DatasetError(f"deam: static_target={static_target!r} is not one of "
                               f"{list(STATIC_TARGETS)}")
        self.static_target = static_target
        if dynamic_end_s is not None and not dynamic_end_s > 15.0:
            raise DatasetError(
                f"deam: dynamic_end_s={dynamic_end_s} must be after the annotations' start "
                "(15.0 s); the paper span is 45.0"
            )
        self.dynamic_end_s = dynamic_end_s
        self.emomusic_root = Path(emomusic_root).expanduser() if emomusic_root else None
        self.keep_raw_labels = keep_raw_labels
        self._audio_dir: Path | None = None
        self._swap = SwapCheck("unchecked", reason="annotations not loaded yet")
        self._n_corrected = 0

    # --- parsing -------------------------------------------------------------
    def _load_tracks(self) -> list[Track]:
        loc = self._locate()
        static_paths = [p for p in (loc.file(n) for n in STATIC_FILES) if p is not None]
        v_path, a_path = loc.file(DYN_VALENCE), loc.file(DYN_AROUSAL)
        if not static_paths and (v_path is None or a_path is None):
            raise DatasetError(
                f"deam: no {' / '.join(STATIC_FILES)} and no dynamic {DYN_VALENCE}/{DYN_AROUSAL} "
                f"below {self.root}. Run `mer-bench data info deam` for the expected layout."
            )
        static = self._read_static(static_paths)
        dynamic = self._read_dynamic(v_path, a_path)
        meta = self._read_metadata(loc)
        self._audio_dir = loc.dir(AUDIO_DIR)
        audio = audio_index(self._audio_dir)
        self._swap = self._check_swap(static, dynamic)
        if self._swap.status == "swapped" and not self.keep_raw_labels:
            static = self._swap_back(static)
        ids = sorted(set(static) | set(dynamic), key=id_sort_key)
        has_dynamic = v_path is not None and a_path is not None
        self._note_ids(ids, static, dynamic, bool(static_paths), has_dynamic)
        self._note_swap()
        loc.report_copies(self._notes)
        self._notes.summary.update(self._summary(ids, static, dynamic))
        tracks = [self._track(i, static, dynamic, meta, audio) for i in ids]
        if self.dynamic_end_s is not None:
            shortened = sum(
                1
                for t in tracks
                if t.dynamic_va is not None and len(dynamic[t.id][0]) > len(t.dynamic_va)
            )
            self._notes.summary[f"dynamic curves cut at {self.dynamic_end_s:g} s"] = shortened
        return curve_static_labels(tracks, self.static_target)

    def _track(
        self, track_id: str, static: Static, dynamic: Dynamic, meta: Meta, audio: dict[str, Path]
    ) -> Track:
        array, start = dynamic.get(track_id) or (None, 15.0)
        if array is not None and self.dynamic_end_s is not None:
            array = cap_curve(array, start, DYNAMIC_RATE_HZ, self.dynamic_end_s)
        info = dict(meta.get(track_id, {}))
        info.pop("file_name", None)
        subset = subset_of(track_id)
        if subset:
            info["subset"] = subset
        folder = self._audio_dir or self.root / AUDIO_DIR
        return Track(
            id=track_id,
            audio_path=audio.get(track_id) or folder / f"{track_id}.mp3",
            static_va=canonical_static(static.get(track_id), SAM_1_9),
            dynamic_va=array,
            dynamic_rate_hz=DYNAMIC_RATE_HZ,
            dynamic_start_s=start,
            meta=info,
        )

    def _read_static(self, paths: list[Path]) -> Static:
        """Raw 1..9 means of both song-level files (duplicates across files reported)."""
        if not paths:
            self._notes.add(
                "warning",
                "missing_static_annotations",
                f"no static song-level files ({', '.join(STATIC_FILES)}) below {self.root}",
            )
        merged: Static = {}
        for path in paths:
            table = read_table(path)
            part = read_static(
                table, STATIC_IDS, STATIC_VALENCE, STATIC_AROUSAL, SAM_1_9, self._notes
            )
            for track_id, value in part.items():
                if track_id in merged:
                    duplicate(self._notes, track_id, path)
                else:
                    merged[track_id] = value
        return merged

    def _read_dynamic(self, v_path: Path | None, a_path: Path | None) -> Dynamic:
        if v_path is None or a_path is None:
            self._notes.add(
                "info",
                "missing_dynamic_annotations",
                f"no dynamic {DYN_VALENCE}/{DYN_AROUSAL} below {self.root}: dynamic tasks "
                "have no labels",
            )
            return {}
        valence = read_wide_curves(read_table(v_path), "valence", CANONICAL, self._notes)
        arousal = read_wide_curves(read_table(a_path), "arousal", CANONICAL, self._notes)
        return dynamic_tracks(valence, arousal, self._notes, (v_path, a_path))

    def _read_metadata(self, loc: Locator) -> Meta:
        """Artist/title/genre from metadata_201{3,4,5}.csv (each optional, headers differ)."""
        meta: Meta = {}
        for name in METADATA_FILES:
            path = loc.file(name)
            if path is not None:
                parsed = self._read_optional(path, lambda t: read_song_info(t, self._notes))
                for track_id, fields in parsed.items():
                    fields.pop("official_split", None)
                    meta.setdefault(track_id, fields)
        return meta

    def _note_ids(
        self,
        ids: list[str],
        static: Static,
        dynamic: Dynamic,
        have_static: bool,
        have_dynamic: bool,
    ) -> None:
        for track_id in ids:
            if subset_of(track_id) is None:
                self._notes.add(
                    "warning",
                    "unexpected_id",
                    f"{track_id}: not a DEAM id (1..2058); it is kept without a subset",
                    track_id,
                )
            if have_static and track_id not in static:
                self._notes.add(
                    "warning",
                    "id_mismatch",
                    f"{track_id}: dynamic annotations but no static row",
                    track_id,
                )
            if have_dynamic and track_id not in dynamic:
                self._notes.add(
                    "warning",
                    "id_mismatch",
                    f"{track_id}: static row but no dynamic annotation",
                    track_id,
                )

    def _summary(self, ids: list[str], static: Static, dynamic: Dynamic) -> dict[str, object]:
        subsets = [subset_of(i) for i in ids]
        train = subsets.count("2013") + subsets.count("2014")
        return {
            "static annotations": sum(v is not None for v in static.values()),
            "songs with dynamic annotations": sum(v is not None for v in dynamic.values()),
            "per subset": {s: subsets.count(s) for s in ("2013", "2014", "2015")},
            "official split": f"{train} train (2013+2014) / {subsets.count('2015')} test (2015)",
            "2013 V/A swap": (
                "NOT checked (see NOTE)"
                if self._swap.status == "unchecked"
                else self._swap.describe()
            ),
        }

    # --- the 2013 swap ---------------------------------------------------------
    def _eim_root(self) -> Path | None:
        if self.emomusic_root is not None:
            return self.emomusic_root
        if os.environ.get(EmoMusicAdapter.root_env_var()) or os.environ.get("MER_BENCH_DATA"):
            return EmoMusicAdapter.default_root()
        return None

    def _eim_static(self) -> dict[str, tuple[float, float]] | None:
        root = self._eim_root()
        if root is None:
            return None
        found = read_static_raw(root)
        if found is None:
            self._notes.add(
                "warning",
                "emomusic_root_unusable",
                f"emoMusic root {root} has no static_annotations.csv; the DEAM 2013 swap is "
                "checked against DEAM's dynamic annotations instead, if present",
                path=root,
            )
            return None
        return found[0]

    def _check_swap(self, static: Static, dynamic: Dynamic) -> SwapCheck:
        ids = [i for i, v in static.items() if v is not None and subset_of(i) == "2013"]
        if not ids:
            return SwapCheck("not_applicable", reason="no 2013 songs with static labels")
        eim = self._eim_static()
        if eim is not None:
            common = [i for i in ids if i in eim]
            if len(common) >= SWAP_MIN_SONGS:
                return decide_swap([static[i] for i in common], [eim[i] for i in common], "EiM")
        with_dyn = [i for i in ids if dynamic.get(i) is not None]
        if len(with_dyn) >= SWAP_MIN_SONGS:
            means = [tuple(dynamic[i][0].mean(axis=0)) for i in with_dyn]
            return decide_swap([static[i] for i in with_dyn], means, "DEAM dynamic annotations")
        return SwapCheck("unchecked", reason=swap_needs(len(with_dyn)))

    def _swap_back(self, static: Static) -> Static:
        """Exchange valence and arousal of every 2013 song (the published columns)."""
        fixed = {
            k: (v[1], v[0]) if v is not None and subset_of(k) == "2013" else v
            for k, v in static.items()
        }
        self._n_corrected = sum(
            1 for k, v in static.items() if v is not None and subset_of(k) == "2013"
        )
        return fixed

    def _correction_text(self) -> str:
        return (
            f"swapped valence/arousal back for {self._n_corrected} songs "
            f"(r={self._swap.r_swapped:.2f} against {self._swap.reference})"
        )

    def _note_swap(self) -> None:
        swap, notes = self._swap, self._notes
        if swap.status == "swapped":
            if self.keep_raw_labels:
                notes.add(
                    "warning",
                    "deam_va_swap",
                    "DEAM 2013 static valence_mean/arousal_mean appear swapped "
                    f"({swap.evidence()}); kept as published because keep_raw_labels=True",
                )
            else:
                notes.add("info", "deam_va_swap", f"corrected: {self._correction_text()}")
        elif swap.status == "consistent":
            notes.add("info", "deam_va_swap_check", f"2013 static columns {swap.describe()}")
        elif swap.status == "unchecked":
            notes.notices.append(
                "DEAM's known 2013 valence/arousal swap is NOT checked, so those labels may be "
                f"swapped. It needs {swap.reason}."
            )
        elif swap.status == "inconclusive":
            notes.add(
                "warning",
                "deam_va_swap_unchecked",
                f"could not settle DEAM's known 2013 valence/arousal swap: {swap.describe()}",
            )

    def corrections(self) -> dict[str, str]:
        """The 2013 swap correction, when it was detected and applied."""
        self.tracks()
        out = {}
        if self._swap.status == "swapped" and not self.keep_raw_labels:
            out[SWAP_KEY] = self._correction_text()
        if self.static_target != "static":
            n = sum(t.static_va is not None for t in self.tracks())
            out["deam_static_target"] = static_target_note(self.static_target, n)
        return out

    def unchecked_labels(self) -> dict[str, str]:
        """The 2013 swap when it could not be checked (no emoMusic root, or no verdict)."""
        self.tracks()
        if self._swap.status in ("unchecked", "inconclusive") and not self.keep_raw_labels:
            return {SWAP_KEY: f"DEAM 2013 valence/arousal swap {self._swap.describe()}"}
        return {}

    @property
    def swap_check(self) -> SwapCheck:
        """The result of the 2013 swap check (loads the annotations)."""
        self.tracks()
        return self._swap

    # --- audio and splits ------------------------------------------------------
    def _audio_on_disk(self) -> dict[str, Path]:
        self.tracks()
        return audio_index(self._audio_dir)

    @classmethod
    def fake_tree(
        cls,
        root: Path,
        *,
        swapped_2013: bool = True,
        dynamic: bool = True,
        static: bool = True,
        spaces: bool = True,
        nested: bool = False,
        audio_ids: Sequence[int] | None = None,
        extra_audio: Sequence[int] = (),
        metadata: bool = True,
        ids_2013: Sequence[int] | None = None,
    ) -> Path:
        """A DEAM folder as unpacked from DEAM_Annotations.zip + DEAM_audio.zip (+ metadata.zip).

        ``spaces`` picks the published folder names (``annotations averaged per
        song``) or their underscore variants; ``nested`` adds the extra
        ``annotations/annotations`` level seen in the wild. The 1_2000 static file
        is fixed-width (space padded, leading space in every name) with the 2013
        columns swapped as published; the 2000_2058 file is compact, CRLF, with the
        ``valence_ max_mean`` typo; dynamic rows are ragged. ``audio_ids`` (default:
        every song) get a clip in ``MEMD_audio/``, ``extra_audio`` one nobody annotated.
        """
        from mer_bench.data import deam_fake

        return deam_fake.write_tree(
            root, swapped_2013=swapped_2013, dynamic=dynamic, static=static, spaces=spaces,
            nested=nested, audio_ids=audio_ids, extra_audio=extra_audio, metadata=metadata,
            ids_2013=ids_2013,
        )

    def official_split(self) -> Split | None:
        """MediaEval 2015: train on 2013 + 2014, test on the 2015 full songs."""
        tracks = self.tracks()
        train = tuple(t.id for t in tracks if t.meta.get("subset") in ("2013", "2014"))
        test = tuple(t.id for t in tracks if t.meta.get("subset") == "2015")
        if not train or not test:
            return None
        return Split("official", train, (), test)
