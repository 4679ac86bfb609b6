"""AudioSet mood subset: 10 s YouTube clips tagged with one of seven music moods.

AudioSet's ontology has seven "Mood" classes under Music (Happy, Funny, Sad,
Tender, Exciting, Angry, Scary music). Won et al. (2021) retrieve these clips
from text, so the adapter keeps every segment of the AudioSet CSVs that carries
exactly one of the seven moods; a segment with two or more is ambiguous as a
retrieval target and is left out (``validate`` lists them as info).

Google distributes labels, not audio: ``class_labels_indices.csv`` names the
classes (the mood MIDs are read from it, never assumed) and the segment CSVs
(``eval_segments.csv``, ``balanced_train_segments.csv``,
``unbalanced_train_segments.csv``) list ``YTID, start_seconds, end_seconds,
"mid,mid,..."`` after ``#`` comment lines. Clips come from YouTube, where many
videos are gone: a missing clip is the standard ``missing_audio`` problem,
which a run may waive.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from mer_bench.data.annotated import AnnotatedDataset
from mer_bench.data.base import DATASETS
from mer_bench.data.fakes import write_clip, write_text
from mer_bench.data.files import AUDIO_EXTENSIONS
from mer_bench.data.reads import note_file
from mer_bench.data.tables import read_table
from mer_bench.errors import DatasetError
from mer_bench.tasks import TEXT2MUSIC_RETRIEVAL
from mer_bench.types import Split, Track

LABELS = "class_labels_indices.csv"
# file -> official split; the eval segments are AudioSet's test set
SEGMENT_FILES: dict[str, str] = {
    "eval_segments.csv": "test",
    "balanced_train_segments.csv": "train",
    "unbalanced_train_segments.csv": "train",
}
# AudioSet display name -> mood word (the vocabulary of text2music_retrieval)
MOOD_CLASSES: dict[str, str] = {
    "Happy music": "happy",
    "Funny music": "funny",
    "Sad music": "sad",
    "Tender music": "tender",
    "Exciting music": "exciting",
    "Angry music": "angry",
    "Scary music": "scary",
}
AUDIO_DIR = "audio"

# the fake tree (``fake_tree``): rows as in class_labels_indices.csv and the segment files
FAKE_CLASSES = (
    '0,/m/09x0r,"Speech"',
    '1,/m/05zppz,"Male speech, man speaking"',
    '137,/m/04rlf,"Music"',
    '276,/t/dd00031,"Happy music"',
    '277,/t/dd00032,"Funny music"',
    '278,/t/dd00033,"Sad music"',
    '279,/t/dd00034,"Tender music"',
    '280,/t/dd00035,"Exciting music"',
    '281,/t/dd00036,"Angry music"',
    '282,/t/dd00037,"Scary music"',
)
FAKE_EVAL_ROWS = (
    '-0AbCdEfGhI, 30.000, 40.000, "/m/04rlf,/t/dd00031"',  # happy (with Music)
    'evSad000001, 0.000, 10.000, "/t/dd00033"',  # sad
    'evAngry0001, 0.000, 10.000, "/t/dd00036"',  # angry
    'evMulti0001, 10.000, 20.000, "/t/dd00031,/t/dd00033"',  # two moods: left out
    'evSpeech001, 0.000, 10.000, "/m/09x0r,/m/05zppz"',  # no mood: ignored
)
FAKE_BALANCED_ROWS = (
    'trExcite001, 20.000, 30.000, "/t/dd00035"',  # exciting
    'trScary0001, 5.500, 15.500, "/t/dd00037,/m/04rlf"',  # scary
    'trTender001, 0.000, 10.000, "/t/dd00034"',  # tender
    'trFunny0001, 0.000, 10.000, "/t/dd00032"',  # funny
)
FAKE_CLIPS = (
    "audio/-0AbCdEfGhI.wav",  # {YTID}
    "evSad000001_0.flac",  # {YTID}_{start as int}, in the root
    "audio/evAngry0001_0_10.wav",  # {YTID}_{start}_{end}
    "audio/trExcite001_20.000.wav",  # {YTID}_{start as in the CSV}
    "audio/YtrTender001.wav",  # Y{YTID}
    "audio/trScary0001.wav",
    "audio/trFunny0001.ogg",
)


def clip_names(ytid: str, start: str, end: str) -> list[str]:
    """File stems a clip may have: ``YTID``, ``YTID_30``, ``YTID_30.000`` (+ ``_end``),
    and ``YYTID`` (the name some AudioSet audio packs use)."""
    s_int, e_int = str(int(float(start))), str(int(float(end)))
    names = [ytid, f"{ytid}_{s_int}", f"{ytid}_{start}", f"{ytid}_{s_int}_{e_int}"]
    names += [f"{ytid}_{start}_{end}", f"Y{ytid}"]
    return list(dict.fromkeys(names))


def audio_files(*folders: Path) -> dict[str, Path]:
    """``{stem: path}`` of the audio files directly in ``folders`` (first folder wins;
    within a folder the preferred extension of AUDIO_EXTENSIONS)."""
    rank = {ext: k for k, ext in enumerate(AUDIO_EXTENSIONS)}
    found: dict[str, Path] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        here: dict[str, Path] = {}
        for entry in sorted(folder.iterdir()):
            ext = entry.suffix.lower()
            if entry.name.startswith(".") or ext not in rank or not entry.is_file():
                continue
            if entry.stem not in here or rank[ext] < rank[here[entry.stem].suffix.lower()]:
                here[entry.stem] = entry
        for stem, path in here.items():
            found.setdefault(stem, path)
    return found


@DATASETS.register("audioset-mood")
class AudioSetMoodAdapter(AnnotatedDataset):
    """AudioSet's music-mood segments (Gemmeke et al. 2017), one mood per clip.

    Tracks: id = YouTube id, ``tags = (mood,)`` from ``emotion_vocabulary``,
    ``meta`` ``youtube_id``, ``start_s`` and ``official_split`` (``test`` for
    ``eval_segments.csv``, ``train`` for the two train CSVs; validation is
    carved from train by the ``official`` protocol). Clips are looked for as
    ``{YTID}.*``, ``{YTID}_{start}.*`` (start in whole seconds or as written in
    the CSV, optionally followed by ``_{end}``) or ``Y{YTID}.*``, first in the
    root, then in ``audio/``. They must be the 10 s segments themselves:
    ``validate`` warns when a file's length differs from its segment's.
    """

    name = "audioset-mood"
    version = "v1"
    citation = (
        "Gemmeke, J. F., Ellis, D. P. W., Freedman, D., Jansen, A., Lawrence, W., Moore, R. C., "
        "Plakal, M., & Ritter, M. (2017). Audio Set: An ontology and human-labeled dataset for "
        "audio events. In Proc. IEEE ICASSP 2017, 776-780. "
        "https://doi.org/10.1109/ICASSP.2017.7952261"
    )
    license = (
        "Labels and ontology: CC BY 4.0 (Google). Audio: YouTube videos under their uploaders' "
        "terms; download them yourself for research use and never redistribute them."
    )
    homepage = "https://research.google.com/audioset/ontology/music_mood_1.html"
    download_info = (
        "mer-bench downloads nothing. 1) Get the AudioSet CSVs from "
        "https://research.google.com/audioset/download.html "
        "(http://storage.googleapis.com/us_audioset/youtube_corpus/v1/csv/): "
        f"{LABELS} (index,mid,display_name), eval_segments.csv, "
        "balanced_train_segments.csv and, optionally, unbalanced_train_segments.csv "
        '(# comment lines, then YTID, start_seconds, end_seconds, "mid,mid,..."). '
        "2) Fetch the 10 s segments of the mood rows yourself, e.g. with yt-dlp:\n"
        '  yt-dlp -x --audio-format wav --download-sections "*START-END" '
        '-o "audio/%(id)s.%(ext)s" "https://www.youtube.com/watch?v=YTID"\n'
        "Expected layout (root = the folder holding the CSVs):\n"
        f"  {LABELS}\n"
        "  eval_segments.csv  balanced_train_segments.csv  unbalanced_train_segments.csv\n"
        "  audio/{YTID}.wav   (or {YTID}_{start}.*, in audio/ or the root; wav, flac, mp3, ogg)\n"
        "Many videos are no longer on YouTube: `mer-bench data check audioset-mood` lists the "
        "missing clips, and a run can skip them. Point mer-bench at the root with --root or "
        "MER_BENCH_AUDIOSET_MOOD_ROOT."
    )
    task_kinds = frozenset({TEXT2MUSIC_RETRIEVAL})
    label_scales: ClassVar[dict[str, str]] = {
        "tags": "one AudioSet music mood per clip: "
        + ", ".join(f"{v} ({k})" for k, v in MOOD_CLASSES.items()),
    }
    emotion_vocabulary: ClassVar[tuple[str, ...]] = (
        "angry",
        "exciting",
        "funny",
        "happy",
        "sad",
        "scary",
        "tender",
    )

    def __init__(self, root: Path | str | None = None) -> None:
        super().__init__(root)
        self._split_of: dict[str, str] = {}
        self._skipped_names: set[str] = set()
        self._audio: dict[str, Path] = {}

    # --- parsing -------------------------------------------------------------
    def _load_tracks(self) -> list[Track]:
        loc = self._locate()
        labels = loc.file(LABELS)
        if labels is None:
            raise self.missing_files(LABELS)
        moods = read_mood_mids(labels)
        files = {name: loc.file(name) for name in SEGMENT_FILES}
        if not any(files.values()):
            raise DatasetError(
                f"audioset-mood: none of {', '.join(SEGMENT_FILES)} below {self.root}. "
                "Run `mer-bench data info audioset-mood` for the expected layout."
            )
        self._audio = audio_files(self.root, self.root / AUDIO_DIR)
        tracks: dict[str, Track] = {}
        origin: dict[str, str] = {}  # track id -> the CSV it was taken from
        for name, path in files.items():
            if path is None:
                self._notes.add("info", "missing_segments_file", f"no {name}: its segments unused")
                continue
            for track in self._read_segments(path, SEGMENT_FILES[name], moods):
                if track.id in tracks:
                    self._notes.add(
                        "warning",
                        "duplicate_id",
                        f"{track.id}: segment in {path.name} ignored, the one in "
                        f"{origin[track.id]} is used",
                        track.id,
                        path,
                    )
                    continue
                tracks[track.id], origin[track.id] = track, path.name
        loc.report_copies(self._notes)
        out = list(tracks.values())
        self._split_of = {t.id: t.meta["official_split"] for t in out}
        self._notes.summary.update(
            {
                "single-mood segments": len(out),
                "per mood": dict(sorted(Counter(t.tags[0] for t in out).items())),
                "per official split": dict(sorted(Counter(self._split_of.values()).items())),
            }
        )
        return out

    def _read_segments(self, path: Path, split: str, moods: dict[str, str]) -> list[Track]:
        """The single-mood segments of one CSV; other rows are noted, not kept."""
        pattern = re.compile("|".join(re.escape(mid) for mid in moods))
        out: list[Track] = []
        multi = 0
        try:
            handle = path.open(encoding="utf-8", errors="replace", newline="")
        except OSError as exc:
            raise DatasetError(f"cannot read {path}: {exc}") from exc
        note_file(path)
        with handle:
            for number, line in enumerate(handle, start=1):
                if line.lstrip().startswith("#") or not pattern.search(line):
                    continue
                row = next(csv.reader(io.StringIO(line), skipinitialspace=True), [])
                segment = self._segment(row, path, number)
                if segment is None:
                    continue
                ytid, start, end, mids = segment
                found = list(dict.fromkeys(moods[m] for m in mids if m in moods))
                if not found:  # a mood MID only as part of a longer label
                    continue
                if len(found) > 1:
                    multi += 1
                    self._skipped_names.update(clip_names(ytid, start, end))
                    self._notes.add(
                        "info",
                        "multi_mood",
                        f"{ytid}: {len(found)} moods ({', '.join(found)}) in {path.name}; "
                        "not a single-mood clip, left out",
                        ytid,
                        path,
                    )
                    continue
                out.append(self._track(ytid, start, end, found[0], split))
        self._notes.summary[path.name] = f"{len(out)} single-mood, {multi} multi-mood"
        return out

    def _segment(
        self, row: list[str], path: Path, number: int
    ) -> tuple[str, str, str, list[str]] | None:
        """``(ytid, start, end, mids)`` of a CSV row; a malformed row is noted and None."""
        cells = [c.strip() for c in row]
        try:
            if len(cells) != 4 or not cells[0]:
                raise ValueError
            start, end = float(cells[1]), float(cells[2])
            if not 0 <= start < end:
                raise ValueError
        except ValueError:
            self._notes.add(
                "warning",
                "bad_row",
                f"{path.name} line {number}: {row!r} is not 'YTID, start, end, \"mids\"'; skipped",
                path=path,
            )
            return None
        return cells[0], cells[1], cells[2], [m.strip() for m in cells[3].split(",")]

    def _track(self, ytid: str, start: str, end: str, mood: str, split: str) -> Track:
        path = next(
            (self._audio[n] for n in clip_names(ytid, start, end) if n in self._audio), None
        )
        return Track(
            id=ytid,
            audio_path=path or self.root / AUDIO_DIR / f"{ytid}.wav",
            duration_s=float(end) - float(start),
            tags=(mood,),
            meta={
                "youtube_id": ytid,
                "start_s": f"{float(start):g}",
                "official_split": split,
            },
        )

    # --- splits and validation ----------------------------------------------
    def official_split(self) -> Split | None:
        """AudioSet's own: eval segments are the test set, both train CSVs the train set
        (no validation set: the ``official`` protocol carves one from train)."""
        self.tracks()
        train = tuple(i for i, s in self._split_of.items() if s == "train")
        test = tuple(i for i, s in self._split_of.items() if s == "test")
        if not train or not test:
            return None
        return Split("official", train, (), test)

    @classmethod
    def fake_tree(
        cls,
        root: Path,
        *,
        classes: Sequence[str] = FAKE_CLASSES,
        eval_rows: Sequence[str] | None = FAKE_EVAL_ROWS,
        balanced_rows: Sequence[str] | None = FAKE_BALANCED_ROWS,
        clips: Sequence[str] = FAKE_CLIPS,
    ) -> Path:
        """Google's CSV layout: ``class_labels_indices.csv`` (quoted names, some with
        commas), segment files with the ``#`` comment header and quoted MID lists, and
        10 s ``clips`` (paths below ``root``) named in each way ``clip_names`` accepts."""
        write_text(root / LABELS, ["index,mid,display_name", *classes])
        comments = [
            "# Segments csv created Sun Mar  5 10:54:25 2017",
            "# num_ytids=5, num_segs=5, num_unique_labels=527, num_positive_labels=9",
            "# YTID, start_seconds, end_seconds, positive_labels",
        ]
        segments = {"eval_segments.csv": eval_rows, "balanced_train_segments.csv": balanced_rows}
        for name, rows in segments.items():
            if rows is not None:
                write_text(root / name, [*comments, *rows])
        for clip in clips:
            write_clip(root / clip, 10.0)
        return root

    def _audio_on_disk(self) -> dict[str, Path]:
        """Clips on disk, keyed by the track using them (else their stem); clips of
        left-out multi-mood segments are not counted as unannotated."""
        self.tracks()
        used = {t.audio_path: t.id for t in self._tracks}
        return {
            used.get(path, stem): path
            for stem, path in self._audio.items()
            if path in used or stem not in self._skipped_names
        }


def read_mood_mids(path: Path) -> dict[str, str]:
    """``{mid: mood word}`` of the seven mood classes, read from ``class_labels_indices.csv``."""
    table = read_table(path)
    mid_col, name_col = table.col("mid"), table.col("display_name")
    by_name = {table.cell(r, name_col): table.cell(r, mid_col) for r in table.rows}
    missing = [n for n in MOOD_CLASSES if not by_name.get(n)]
    if missing:
        raise DatasetError(
            f"{path}: no class named {', '.join(repr(n) for n in missing)}; is this AudioSet's "
            f"{LABELS} (index,mid,display_name)?"
        )
    return {by_name[n]: mood for n, mood in MOOD_CLASSES.items()}
