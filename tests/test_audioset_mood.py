"""The AudioSet mood-subset adapter on small copies of Google's CSV layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mer_bench.data.audioset_mood import FAKE_CLASSES, AudioSetMoodAdapter, clip_names
from mer_bench.errors import ConfigError, DatasetError
from mer_bench.tasks import TEXT2MUSIC_RETRIEVAL
from mer_bench.types import Task

SR = 8000
STANDARD_CLASSES = list(FAKE_CLASSES)  # as in class_labels_indices.csv
EVAL_ROWS = [
    '-0AbCdEfGhI, 30.000, 40.000, "/m/04rlf,/t/dd00031"',  # happy (with Music)
    'evSad000001, 0.000, 10.000, "/t/dd00033"',  # sad
    'evMulti0001, 10.000, 20.000, "/t/dd00031,/t/dd00033"',  # two moods: left out
    'evSpeech001, 0.000, 10.000, "/m/09x0r,/m/05zppz"',  # no mood: ignored
]
BALANCED_ROWS = [
    'trExcite001, 20.000, 30.000, "/t/dd00035"',  # exciting
    'trScary0001, 5.500, 15.500, "/t/dd00037,/m/04rlf"',  # scary, clip missing
    'trTender001, 0.000, 10.000, "/t/dd00034"',  # tender
    'badrow00001, abc, 10.000, "/t/dd00033"',  # malformed start
    '-0AbCdEfGhI, 30.000, 40.000, "/t/dd00031"',  # already in eval
]


CLIPS = (
    "audio/-0AbCdEfGhI.wav",  # {YTID}
    "evSad000001_0.flac",  # {YTID}_{start as int}, in the root
    "audio/trExcite001_20.000.wav",  # {YTID}_{start as in the CSV}
    "audio/YtrTender001.wav",  # Y{YTID}
    "audio/evMulti0001.wav",  # of a left-out segment
    "audio/stranger0001.wav",  # of no segment
)


def write_clip(path: Path, seconds: float = 10.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * SR)) / SR
    sf.write(str(path), (0.2 * np.sin(2 * np.pi * 330.0 * t)).astype(np.float32), SR)
    return path


def make_audioset(
    root: Path,
    *,
    classes: list[str] = STANDARD_CLASSES,
    eval_rows: list[str] | None = EVAL_ROWS,
    balanced_rows: list[str] | None = BALANCED_ROWS,
    audio: bool = True,
) -> Path:
    """The adapter's fake tree with this module's defective rows and clips."""
    return AudioSetMoodAdapter.fake_tree(
        root,
        classes=classes,
        eval_rows=eval_rows,
        balanced_rows=balanced_rows,
        clips=CLIPS if audio else (),
    )


@pytest.fixture
def adapter(tmp_path: Path) -> AudioSetMoodAdapter:
    return AudioSetMoodAdapter(make_audioset(tmp_path))


def counts(report, severity: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in report.problems:
        if p.severity == severity:
            out[p.code] = out.get(p.code, 0) + 1
    return out


def test_class_card() -> None:
    cls = AudioSetMoodAdapter
    assert cls.task_kinds == {TEXT2MUSIC_RETRIEVAL}
    assert cls.emotion_vocabulary == (
        "angry",
        "exciting",
        "funny",
        "happy",
        "sad",
        "scary",
        "tender",
    )
    assert "Gemmeke" in cls.citation and "2017" in cls.citation
    assert "CC BY 4.0" in cls.license
    assert "yt-dlp" in cls.download_info and "downloads nothing" in cls.download_info
    assert cls.root_env_var() == "MER_BENCH_AUDIOSET_MOOD_ROOT"


def test_single_mood_segments_become_tracks(adapter: AudioSetMoodAdapter) -> None:
    tracks = {t.id: t for t in adapter.tracks()}
    assert set(tracks) == {
        "-0AbCdEfGhI",
        "evSad000001",
        "trExcite001",
        "trScary0001",
        "trTender001",
    }
    assert {i: t.tags for i, t in tracks.items()} == {
        "-0AbCdEfGhI": ("happy",),
        "evSad000001": ("sad",),
        "trExcite001": ("exciting",),
        "trScary0001": ("scary",),
        "trTender001": ("tender",),
    }
    scary = tracks["trScary0001"]
    assert dict(scary.meta) == {
        "youtube_id": "trScary0001",
        "start_s": "5.5",
        "official_split": "train",
    }
    assert scary.duration_s == pytest.approx(10.0)
    assert tracks["-0AbCdEfGhI"].meta["official_split"] == "test"
    assert tracks["-0AbCdEfGhI"].meta["start_s"] == "30"
    task = Task("audioset-mood", TEXT2MUSIC_RETRIEVAL)
    assert task.target(tracks["evSad000001"]) == ("sad",)


def test_clips_are_found_under_each_naming(adapter: AudioSetMoodAdapter, tmp_path: Path) -> None:
    path = {t.id: t.audio_path for t in adapter.tracks()}
    assert path["-0AbCdEfGhI"] == tmp_path / "audio" / "-0AbCdEfGhI.wav"
    assert path["evSad000001"] == tmp_path / "evSad000001_0.flac"
    assert path["trExcite001"] == tmp_path / "audio" / "trExcite001_20.000.wav"
    assert path["trTender001"] == tmp_path / "audio" / "YtrTender001.wav"
    assert path["trScary0001"] == tmp_path / "audio" / "trScary0001.wav"
    assert not path["trScary0001"].exists()
    wave = adapter.load_audio(adapter.track("evSad000001"))
    assert wave.dtype == np.float32 and wave.shape == (10 * SR,)


def test_clip_names() -> None:
    assert clip_names("abc", "30.000", "40.000") == [
        "abc",
        "abc_30",
        "abc_30.000",
        "abc_30_40",
        "abc_30.000_40.000",
        "Yabc",
    ]


def test_validate_reports_every_finding(adapter: AudioSetMoodAdapter) -> None:
    report = adapter.validate()
    assert [(p.code, p.track_id) for p in report.errors()] == [("missing_audio", "trScary0001")]
    assert counts(report, "warning") == {"bad_row": 1, "duplicate_id": 1, "unannotated_audio": 1}
    assert counts(report, "info") == {"multi_mood": 1, "missing_segments_file": 1}
    unannotated = [p for p in report.problems if p.code == "unannotated_audio"]
    assert unannotated[0].path.endswith("stranger0001.wav")  # not the multi-mood clip
    bad = [p for p in report.problems if p.code == "bad_row"][0]
    assert "balanced_train_segments.csv line 7" in bad.message
    dup = [p for p in report.problems if p.code == "duplicate_id"][0]
    assert dup.track_id == "-0AbCdEfGhI" and "eval_segments.csv is used" in dup.message
    multi = [p for p in report.problems if p.code == "multi_mood"][0]
    assert multi.track_id == "evMulti0001" and "happy, sad" in multi.message
    assert report.summary["per mood"] == {
        "exciting": 1,
        "happy": 1,
        "sad": 1,
        "scary": 1,
        "tender": 1,
    }
    assert report.summary["per official split"] == {"test": 2, "train": 3}
    assert report.summary["eval_segments.csv"] == "2 single-mood, 1 multi-mood"
    assert report.summary["audio files present"] == "4 of 5"
    assert report.ok(waive=["missing_audio"])


def test_clip_of_the_wrong_length_is_flagged(tmp_path: Path) -> None:
    root = make_audioset(tmp_path)
    write_clip(root / "audio" / "-0AbCdEfGhI.wav", seconds=60.0)  # the whole video
    report = AudioSetMoodAdapter(root).validate()
    mismatch = [p for p in report.problems if p.code == "duration_mismatch"]
    assert [p.track_id for p in mismatch] == ["-0AbCdEfGhI"]


def test_official_split_carves_validation_from_train(adapter: AudioSetMoodAdapter) -> None:
    official = adapter.official_split()
    assert official.val == ()
    assert set(official.test) == {"-0AbCdEfGhI", "evSad000001"}
    assert set(official.train) == {"trExcite001", "trScary0001", "trTender001"}
    task = Task("audioset-mood", TEXT2MUSIC_RETRIEVAL)
    [split] = adapter.splits("official", 0, task)
    assert set(split.test) == set(official.test)
    assert len(split.val) == 1 and set(split.train) | set(split.val) == set(official.train)
    assert not set(split.train) & set(split.val)
    # the waived clip leaves the split
    [without] = adapter.splits("official", 0, task, exclude={"trScary0001"})
    assert "trScary0001" not in {*without.train, *without.val, *without.test}


def test_no_eval_file_means_no_official_split(tmp_path: Path) -> None:
    adapter = AudioSetMoodAdapter(make_audioset(tmp_path, eval_rows=None, audio=False))
    assert adapter.official_split() is None
    with pytest.raises(ConfigError, match="no official split"):
        adapter.splits("official", 0)
    assert len(adapter.splits("kfold:3", 0)) == 3


def test_mood_mids_come_from_the_labels_file(tmp_path: Path) -> None:
    classes = [
        row.replace("/t/dd000", "/t/zz000") if "music" in row.lower() else row
        for row in STANDARD_CLASSES
    ]
    rows = ['new00000001, 0.000, 10.000, "/t/zz00036"', 'old00000001, 0.000, 10.000, "/t/dd00036"']
    adapter = AudioSetMoodAdapter(
        make_audioset(tmp_path, classes=classes, eval_rows=rows, audio=False)
    )
    tracks = {t.id: t.tags for t in adapter.tracks()}
    assert tracks["new00000001"] == ("angry",)
    assert "old00000001" not in tracks


def test_labels_file_without_the_moods_is_refused(tmp_path: Path) -> None:
    root = make_audioset(tmp_path, classes=STANDARD_CLASSES[:4], audio=False)
    with pytest.raises(DatasetError, match="'Funny music'.*index,mid,display_name"):
        AudioSetMoodAdapter(root).tracks()


def test_missing_labels_file(tmp_path: Path) -> None:
    root = make_audioset(tmp_path, audio=False)
    (root / "class_labels_indices.csv").unlink()
    adapter = AudioSetMoodAdapter(root)
    with pytest.raises(DatasetError, match="no class_labels_indices.csv"):
        adapter.tracks()
    report = AudioSetMoodAdapter(root).validate()
    assert [p.code for p in report.problems] == ["unreadable_annotations"]


def test_missing_segment_files(tmp_path: Path) -> None:
    root = make_audioset(tmp_path, eval_rows=None, balanced_rows=None, audio=False)
    with pytest.raises(DatasetError, match="none of eval_segments.csv"):
        AudioSetMoodAdapter(root).tracks()


def test_csvs_in_a_subfolder_and_crlf(tmp_path: Path) -> None:
    inner = tmp_path / "csv"
    make_audioset(inner, audio=False)
    for name in ("eval_segments.csv", "balanced_train_segments.csv"):
        path = inner / name
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    adapter = AudioSetMoodAdapter(tmp_path)
    assert len(adapter.tracks()) == 5
    assert adapter.track("trScary0001").meta["start_s"] == "5.5"
