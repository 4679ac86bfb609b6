"""Fast tests of the DEAM, PMEmo, 4Q and EiM adapters on tiny fake folders.

The fakes are the adapters' own ``fake_tree`` builders (with these tests'
defaults in tests/fakes/datasets.py): they copy the real headers and quirks;
labels are deterministic functions of the song id (``truth``) so expected
canonical values can be computed here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.datasets import (
    DEAM_2013,
    DEAM_2014,
    DEAM_2015,
    DEAM_LONG,
    DEAM_SHORT,
    EIM_FRAMES,
    PMEMO_IDS,
    PMEMO_UNANNOTATED,
    canonical,
    fourq_songs,
    make_4q,
    make_deam,
    make_eim,
    make_pmemo,
    pmemo_truth,
    truth,
    write_clip,
    write_text,
)

from mer_bench.data import DATASETS
from mer_bench.data.deam import DeamAdapter
from mer_bench.data.emomusic import EmoMusicAdapter
from mer_bench.data.files import column_key, norm_id
from mer_bench.data.fourq import FourQAdapter, parse_quadrant
from mer_bench.data.pmemo import PMEmoAdapter
from mer_bench.data.tables import read_table
from mer_bench.errors import DatasetError
from mer_bench.tasks import (
    BINARY_AROUSAL,
    BINARY_VALENCE,
    DYNAMIC_VA,
    M2E_E2M_RETRIEVAL,
    QUADRANT,
    STATIC_VA,
)
from mer_bench.types import Task

pytestmark = pytest.mark.usefixtures("no_env_roots")



@pytest.fixture(scope="module")
def eim_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_eim(tmp_path_factory.mktemp("eim"), extra_audio=(999,))


@pytest.fixture(scope="module")
def eim_for_deam(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_eim(tmp_path_factory.mktemp("eim_deam"), ids=DEAM_2013, audio_ids=())


@pytest.fixture(scope="module")
def deam_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_deam(tmp_path_factory.mktemp("deam"), extra_audio=(1500,))


@pytest.fixture(scope="module")
def fourq_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fourq")
    make_4q(root, extra_audio=("MT9999999999",))
    return root


# --------------------------------------------------------------------------
# the registry and the class constants
# --------------------------------------------------------------------------
def test_adapters_registered_with_alias() -> None:
    assert DATASETS.get("deam") is DeamAdapter
    assert DATASETS.get("pmemo") is PMEmoAdapter
    assert DATASETS.get("4q") is FourQAdapter
    assert DATASETS.get("emomusic") is EmoMusicAdapter
    assert DATASETS.get("eim") is EmoMusicAdapter


@pytest.mark.parametrize("cls", [DeamAdapter, PMEmoAdapter, FourQAdapter, EmoMusicAdapter])
def test_class_constants(cls) -> None:
    for attr in ("name", "version", "citation", "license", "homepage", "download_info"):
        assert isinstance(getattr(cls, attr), str) and getattr(cls, attr), attr
    assert cls.label_scales
    assert QUADRANT in cls.task_kinds
    assert {BINARY_VALENCE, BINARY_AROUSAL} <= cls.task_kinds
    assert "nothing is downloaded" in cls.download_info or "nothing is" in cls.download_info


def test_task_kinds() -> None:
    va = {STATIC_VA, DYNAMIC_VA, M2E_E2M_RETRIEVAL}
    for cls in (DeamAdapter, PMEmoAdapter, EmoMusicAdapter):
        assert va <= cls.task_kinds
    assert not va & FourQAdapter.task_kinds
    assert "1..9" in DeamAdapter.label_scales["static"]
    assert "[0, 1]" in PMEmoAdapter.label_scales["static"]
    assert "[-1, 1]" in EmoMusicAdapter.label_scales["dynamic"]


# --------------------------------------------------------------------------
# the shared CSV reader
# --------------------------------------------------------------------------
def test_column_names_normalised() -> None:
    assert column_key(" valence_ max_mean") == "valence_max_mean"
    assert column_key("  Mediaeval   2013 set ") == "mediaeval 2013 set"
    assert norm_id(" 2.0 ") == "2" and norm_id("\t002") == "2"
    assert norm_id("MT0000011975") == "MT0000011975"


def test_read_table_quirks(tmp_path: Path) -> None:
    fixed = write_text(
        tmp_path / "fixed.csv",
        [" song_id, valence_mean,  arousal_mean", "       2,          3.1,           3"],
        crlf=True,
    )
    table = read_table(fixed)
    assert table.columns == ["song_id", "valence_mean", "arousal_mean"]
    assert table.rows == [["2", "3.1", "3"]] and table.crlf
    latin = write_text(
        tmp_path / "latin.csv", ['"Song","Artist"', '"MT1","Motörhead\t"'], encoding="latin-1"
    )
    table = read_table(latin)
    assert table.rows == [["MT1", "Motörhead"]] and table.encoding == "cp1252"
    tabs = write_text(tmp_path / "tabs.csv", ['"song_id","file_name"', '2,"\t2.mp3"'])
    assert read_table(tabs).rows == [["2", "2.mp3"]]


def test_read_table_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(DatasetError, match="empty"):
        read_table(tmp_path / "e.csv")


# --------------------------------------------------------------------------
# EiM / emoMusic
# --------------------------------------------------------------------------
def test_eim_tracks_and_labels(eim_root: Path) -> None:
    adapter = EmoMusicAdapter(eim_root)
    tracks = {t.id: t for t in adapter.tracks()}
    assert sorted(tracks, key=int) == ["2", "3", "4", "5", "7", "8", "10", "12"]
    t = tracks["3"]
    v, a = truth(3)
    assert t.static_va == pytest.approx((canonical(v), canonical(a)))
    assert t.dynamic_va.shape == (EIM_FRAMES, 2)
    assert t.dynamic_start_s == 15.0 and t.dynamic_rate_hz == 2.0
    assert t.meta["artist"] == "Artist 0" and t.meta["genre"] == "Blues"
    assert t.audio_path == eim_root / "clips_45seconds" / "3.mp3"
    assert t.duration_s is None and t.sample_rate is None


def test_eim_official_split(eim_root: Path) -> None:
    adapter = EmoMusicAdapter(eim_root)
    split = adapter.official_split()
    assert split.test == ("3", "10") and split.val == ()
    assert len(split.train) == 6
    (official,) = adapter.splits("official", seed=0)
    assert set(official.test) == {"3", "10"} and official.val  # validation carved from train
    assert not set(official.val) & set(official.train)


def test_eim_validate(eim_root: Path) -> None:
    report = EmoMusicAdapter(eim_root).validate()
    assert report.codes("error") == {"missing_audio": 6}
    assert report.codes("warning") == {"unannotated_audio": 1}
    assert report.summary["official split"] == "6 development / 2 evaluation"
    assert report.summary["songs in metadata"] == 8
    assert report.summary["static annotations"] == 8
    assert report.summary["songs with dynamic annotations"] == 8
    assert report.summary["audio files present"] == "2 of 8"
    assert sum(report.summary["per quadrant"].values()) == 8


def test_eim_derived_tasks(eim_root: Path) -> None:
    adapter = EmoMusicAdapter(eim_root)
    for t in adapter.tracks():
        v, a = t.static_va
        assert Task("emomusic", BINARY_VALENCE).target(t) == int(v >= 0)
        assert Task("emomusic", BINARY_AROUSAL).target(t) == int(a >= 0)
        assert Task("emomusic", QUADRANT).target(t) == t.effective_quadrant() - 1
        assert Task("emomusic", M2E_E2M_RETRIEVAL).target(t).shape == (EIM_FRAMES, 2)


def test_eim_dynamic_mean_label_source(tmp_path: Path) -> None:
    """Two hand-written songs whose static means and dynamic means sit in different
    quadrants: label_source picks which one the quadrant and binary labels follow."""
    ann = tmp_path / "annotations"
    ann.mkdir()
    # song 2: static V 6, A 3 (canonical +0.25, -0.5: Q4); dynamic means V -0.1, A 0.2: Q2
    # song 3: static V 4, A 4 (Q3); dynamic means V 0.3, A 0.0 (ties positive: Q1)
    (ann / "static_annotations.csv").write_text(
        "song_id,mean_arousal,std_arousal,mean_valence,std_valence\n2,3,1,6,1\n3,4,1,4,1\n"
    )
    head = "song_id,sample_15000ms,sample_15500ms,sample_16000ms\n"
    (ann / "valence_cont_average.csv").write_text(head + "2,-0.3,0.1,-0.1\n3,0.2,0.4,0.3\n")
    (ann / "arousal_cont_average.csv").write_text(head + "2,0.1,0.3,0.2\n3,-0.2,0.2,0.0\n")
    quadrant = Task("emomusic", QUADRANT)
    valence = Task("emomusic", BINARY_VALENCE)
    static = {t.id: t for t in EmoMusicAdapter(tmp_path).tracks()}
    dynamic = {t.id: t for t in EmoMusicAdapter(tmp_path, label_source="dynamic-mean").tracks()}
    assert [quadrant.target(static[i]) + 1 for i in ("2", "3")] == [4, 3]
    assert [quadrant.target(dynamic[i]) + 1 for i in ("2", "3")] == [2, 1]
    assert [valence.target(dynamic[i]) for i in ("2", "3")] == [0, 1]
    assert dynamic["2"].static_va == pytest.approx((-0.1, 0.2))
    assert static["2"].static_va == pytest.approx((0.25, -0.5))
    with pytest.raises(DatasetError, match="label_source must be one of"):
        EmoMusicAdapter(tmp_path, label_source="dynamic")


def test_eim_bad_values_duplicates_and_mismatches(tmp_path: Path) -> None:
    root = make_eim(tmp_path, audio_ids=())
    static = root / "annotations" / "static_annotations.csv"
    lines = static.read_text().splitlines()
    lines[1] = lines[1].split(",")[0] + ",12.5,1,3,1"  # arousal 12.5 on a 1..9 scale
    lines[2] = lines[2].split(",")[0] + ",,1,3,1"  # empty
    lines.append(lines[3])  # duplicate row
    lines.append("4242,5,1,5,1")  # static only: no dynamic, no songs_info
    static.write_text("\n".join(lines) + "\n")
    arousal = root / "annotations" / "arousal_cont_average.csv"
    rows = arousal.read_text().splitlines()
    cells = rows[4].split(",")
    rows[4] = ",".join(cells[:-2])  # song 5: arousal two frames shorter than valence
    cells = rows[5].split(",")
    cells[2] = "abc"  # song 7: not a number
    rows[5] = ",".join(cells)
    arousal.write_text("\n".join(rows) + "\n")
    adapter = EmoMusicAdapter(root)
    report = adapter.validate(check_audio=False)
    bad = [p for p in report.problems if p.code == "bad_label"]
    assert {p.track_id for p in bad} == {"2", "3", "7"}
    assert any("'12.5'" in p.message and "static_annotations.csv" in p.message for p in bad)
    assert any("'abc'" in p.message and p.path.endswith("arousal_cont_average.csv") for p in bad)
    assert report.codes()["duplicate_id"] == 1
    assert report.codes()["dynamic_length_mismatch"] == 1
    mismatch = {p.track_id for p in report.problems if p.code == "id_mismatch"}
    assert mismatch == {"4242"}  # bad rows are bad_label only, not also "missing"
    tracks = {t.id: t for t in adapter.tracks()}
    assert tracks["2"].static_va is None and tracks["3"].static_va is None
    assert tracks["5"].dynamic_va.shape == (EIM_FRAMES - 2, 2)
    assert tracks["7"].dynamic_va is None
    assert report.track_ids_with(["bad_label"]) == {"2", "3", "7"}


def test_eim_missing_annotations_is_a_clear_error(tmp_path: Path) -> None:
    report = EmoMusicAdapter(tmp_path).validate()
    assert report.codes() == {"unreadable_annotations": 1}
    assert "static_annotations.csv" in report.problems[0].message


# --------------------------------------------------------------------------
# DEAM
# --------------------------------------------------------------------------
def test_deam_layout_subsets_and_split(deam_root: Path) -> None:
    adapter = DeamAdapter(deam_root, keep_raw_labels=True)
    tracks = {t.id: t for t in adapter.tracks()}
    assert len(tracks) == len(DEAM_2013) + len(DEAM_2014) + len(DEAM_2015)
    assert tracks["2"].meta["subset"] == "2013"
    assert tracks["1001"].meta["subset"] == "2014"
    assert tracks["2001"].meta["subset"] == "2015"
    assert tracks["2"].meta["artist"] == "Band 2" and tracks["1001"].meta["artist"] == "Group 2"
    assert tracks["2001"].meta["artist"] == "Trio 1"
    assert tracks["2"].dynamic_va.shape == (DEAM_SHORT, 2)  # ragged row: trailing cells empty
    assert tracks["2001"].dynamic_va.shape == (DEAM_LONG, 2)
    assert tracks["2001"].dynamic_start_s == 15.0
    v, a = truth(2001)  # 2000_2058 file: CRLF, 13 columns, 'valence_ max_mean' typo
    assert tracks["2001"].static_va == pytest.approx((canonical(v), canonical(a)))
    assert tracks["1001"].audio_path == deam_root / "DEAM_audio" / "MEMD_audio" / "1001.mp3"
    split = adapter.official_split()
    assert set(split.test) == {str(i) for i in DEAM_2015}
    assert len(split.train) == len(DEAM_2013) + len(DEAM_2014)


def test_deam_dynamic_end_cuts_the_full_songs_to_the_clip_span(deam_root: Path) -> None:
    # frames at 15.0, 15.5, 16.0, 16.5 s: the fake 45 s clips' span (DEAM_SHORT = 4)
    adapter = DeamAdapter(deam_root, keep_raw_labels=True, dynamic_end_s=16.5)
    tracks = {t.id: t for t in adapter.tracks()}
    full = DeamAdapter(deam_root, keep_raw_labels=True).track("2001").dynamic_va
    assert tracks["2001"].dynamic_va.shape == (DEAM_SHORT, 2)
    assert (tracks["2001"].dynamic_va == full[:DEAM_SHORT]).all()
    assert tracks["2"].dynamic_va.shape == (DEAM_SHORT, 2)
    assert adapter.validate().summary["dynamic curves cut at 16.5 s"] == len(DEAM_2015)
    with pytest.raises(DatasetError, match="dynamic_end_s"):
        DeamAdapter(deam_root, dynamic_end_s=10.0)


def test_curve_span_and_cap_hand_worked() -> None:
    import numpy as np

    from mer_bench.data.curves import annotation_span_s, cap_curve

    assert annotation_span_s(np.zeros((15, 2)), 2.0) == 7.0  # 15.5 .. 22.5 s
    assert annotation_span_s(None, 2.0) == 0.0
    # a 2015 DEAM song: 1225 frames from 15.0 s; 15-45 s at 2 Hz is 61 frames
    assert len(cap_curve(np.zeros((1225, 2)), 15.0, 2.0, 45.0)) == 61
    assert len(cap_curve(np.zeros((40, 2)), 15.0, 2.0, 45.0)) == 40


def test_pmemo_min_annotation_keeps_long_enough_songs(tmp_path: Path) -> None:
    make_pmemo(tmp_path, frames=15)  # 15.5 .. 22.5 s: exactly 7.0 s of annotation
    dynamic = tmp_path / "annotations" / "dynamic_annotations.csv"
    lines = dynamic.read_text().splitlines()
    # songs 4 and 9 lose their last frame: 6.5 s
    short = {"4": "22.5", "9": "22.5"}
    dynamic.write_text("\n".join(
        line for line in lines if short.get(line.split(",")[0]) != line.split(",")[1]
    ) + "\n")
    every = {t.id for t in PMEmoAdapter(tmp_path).tracks()}
    adapter = PMEmoAdapter(tmp_path, min_annotation_s=7.0)
    kept = {t.id for t in adapter.tracks()}
    assert kept == every - set(short) and len(kept) == len(every) - 2
    summary = adapter.validate().summary["songs with >= 7 s of annotation"]
    assert summary == f"{len(kept)} of {len(every)} kept"
    with pytest.raises(DatasetError, match="min_annotation_s"):
        PMEmoAdapter(tmp_path, min_annotation_s=-1)


def test_static_target_option_derives_the_label_from_the_curve(tmp_path: Path, deam_root: Path
                                                              ) -> None:
    make_pmemo(tmp_path, frames=5)
    last = PMEmoAdapter(tmp_path, static_target="dynamic_last")
    for t in last.tracks():
        assert t.static_va == pytest.approx(tuple(t.dynamic_va[-1]))
    assert "last value" in last.corrections()["pmemo_static_target"]
    deam = DeamAdapter(deam_root, keep_raw_labels=True, static_target="dynamic_mean")
    for t in deam.tracks():
        assert t.static_va == pytest.approx(tuple(t.dynamic_va.mean(axis=0)))
    assert "time-mean" in deam.corrections()["deam_static_target"]
    with pytest.raises(DatasetError, match="static_target"):
        PMEmoAdapter(tmp_path, static_target="median")


def test_deam_swap_detected_against_eim(deam_root: Path, eim_for_deam: Path) -> None:
    adapter = DeamAdapter(deam_root, emomusic_root=eim_for_deam)
    check = adapter.swap_check
    assert check.status == "swapped" and check.reference == "EiM"
    assert check.r_swapped == pytest.approx(1.0)
    n = len(DEAM_2013)
    assert adapter.corrections() == {
        "deam_2013_va_swap": f"swapped valence/arousal back for {n} songs (r=1.00 against EiM)"
    }
    for t in adapter.tracks():  # corrected labels equal the truth, 2014/2015 untouched
        v, a = truth(t.id)
        assert t.static_va == pytest.approx((canonical(v), canonical(a)))
    report = adapter.validate()
    assert report.corrections == adapter.corrections()
    assert report.codes("info")["deam_va_swap"] == 1
    assert "deam_va_swap" not in report.codes("warning")
    assert report.summary["2013 V/A swap"].startswith("swapped (against EiM")


def test_deam_swap_kept_raw_is_a_warning(deam_root: Path, eim_for_deam: Path) -> None:
    adapter = DeamAdapter(deam_root, emomusic_root=eim_for_deam, keep_raw_labels=True)
    assert adapter.corrections() == {}
    raw = {t.id: t.static_va for t in adapter.tracks()}
    v, a = truth(2)
    assert raw["2"] == pytest.approx((canonical(a), canonical(v)))  # as published: swapped
    report = adapter.validate(check_audio=False)
    assert report.codes("warning")["deam_va_swap"] == 1
    assert report.corrections == {}


def test_deam_swap_detected_from_dynamic_only(deam_root: Path) -> None:
    adapter = DeamAdapter(deam_root)
    check = adapter.swap_check
    assert check.status == "swapped" and check.reference == "DEAM dynamic annotations"
    assert check.r_swapped > 0.9 > check.r_published
    text = adapter.corrections()["deam_2013_va_swap"]
    assert f"for {len(DEAM_2013)} songs" in text and "DEAM dynamic annotations" in text
    for t in adapter.tracks():
        v, a = truth(t.id)
        assert t.static_va == pytest.approx((canonical(v), canonical(a)))


def test_deam_swap_via_environment(
    deam_root: Path, eim_for_deam: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MER_BENCH_EMOMUSIC_ROOT", str(eim_for_deam))
    assert DeamAdapter(deam_root).swap_check.reference == "EiM"


def test_deam_unswapped_copy_is_consistent(tmp_path: Path) -> None:
    root = make_deam(tmp_path, swapped_2013=False, audio_ids=())
    adapter = DeamAdapter(root)
    assert adapter.swap_check.status == "consistent"
    assert adapter.corrections() == {}
    assert "deam_va_swap_check" in adapter.validate(check_audio=False).codes("info")


def test_deam_swap_unchecked_without_references(tmp_path: Path) -> None:
    root = make_deam(tmp_path, dynamic=False, audio_ids=())
    adapter = DeamAdapter(root)
    report = adapter.validate(check_audio=False)
    assert "deam_va_swap_unchecked" not in report.codes()
    (notice,) = report.notices
    assert "NOT checked" in notice and "valence.csv" in notice
    assert adapter.corrections() == {}
    assert report.summary["songs with dynamic annotations"] == 0


def test_deam_bad_emomusic_root_falls_back(deam_root: Path, tmp_path: Path) -> None:
    adapter = DeamAdapter(deam_root, emomusic_root=tmp_path)
    assert adapter.swap_check.reference == "DEAM dynamic annotations"
    assert "emomusic_root_unusable" in adapter.validate(check_audio=False).codes("warning")


@pytest.mark.parametrize("spaces,nested", [(False, False), (True, True), (False, True)])
def test_deam_folder_variants(tmp_path: Path, spaces: bool, nested: bool) -> None:
    root = make_deam(tmp_path, spaces=spaces, nested=nested, audio_ids=())
    adapter = DeamAdapter(root)
    assert len(adapter.tracks()) == len(DEAM_2013) + len(DEAM_2014) + len(DEAM_2015)
    assert adapter.swap_check.status == "swapped"


def test_deam_duplicate_copy_reported(tmp_path: Path) -> None:
    make_deam(tmp_path / "DEAM", audio_ids=(), metadata=False)
    make_deam(tmp_path / "DEAM" / "copy" / "DEAM", audio_ids=(), metadata=False)
    report = DeamAdapter(tmp_path).validate(check_audio=False)
    assert report.codes("info")["duplicate_copies"] >= 2
    assert not report.errors(waive=["missing_audio"])


def test_deam_validate_audio(deam_root: Path) -> None:
    report = DeamAdapter(deam_root).validate()
    n = len(DEAM_2013) + len(DEAM_2014) + len(DEAM_2015)
    assert report.codes("error") == {"missing_audio": n - 3}
    assert report.codes("warning") == {"unannotated_audio": 1}
    (extra,) = [p for p in report.problems if p.code == "unannotated_audio"]
    assert extra.track_id == "1500"
    assert report.summary["per subset"] == {"2013": 10, "2014": 6, "2015": 3}
    assert report.summary["official split"] == "16 train (2013+2014) / 3 test (2015)"


def test_deam_short_audio_and_unreadable_audio(tmp_path: Path) -> None:
    root = make_deam(tmp_path, audio_ids=())
    write_clip(root / "MEMD_audio" / "3.mp3", 1.0)  # annotations run to 16.5 s
    (root / "MEMD_audio" / "4.mp3").write_bytes(b"not audio at all")
    report = DeamAdapter(root).validate()
    assert [p.track_id for p in report.problems if p.code == "short_audio"] == ["3"]
    assert [p.track_id for p in report.problems if p.code == "unreadable_audio"] == ["4"]


# --------------------------------------------------------------------------
# PMEmo
# --------------------------------------------------------------------------
def test_pmemo_without_static(tmp_path: Path) -> None:
    root = make_pmemo(tmp_path)
    adapter = PMEmoAdapter(root)
    tracks = {t.id: t for t in adapter.tracks()}
    assert sorted(tracks, key=int) == [str(i) for i in PMEMO_IDS]
    t = tracks["1"]
    assert t.static_va is None and t.dynamic_start_s == 15.5 and t.dynamic_rate_hz == 2.0
    v, a = pmemo_truth(1)
    assert t.dynamic_va[0] == pytest.approx((2 * v - 1, 2 * a - 1))  # valence first
    assert t.duration_s == 16.0 and t.meta["artist"] == "Singer 1"
    assert tracks["4"].meta["album"] == "Me, Myself & I (Remix )"  # quoted comma, stray tab
    report = adapter.validate()
    assert report.codes("warning") == {
        "missing_static_annotations": 1,
        "metadata_without_annotations": len(PMEMO_UNANNOTATED),
    }
    assert report.codes("error") == {"missing_audio": len(PMEMO_IDS) - 2}
    assert report.summary["songs in metadata"] == len(PMEMO_IDS) + len(PMEMO_UNANNOTATED)
    assert report.summary["songs with dynamic annotations"] == len(PMEMO_IDS)
    assert report.summary["static annotations"] == 0
    assert report.summary["metadata without annotations"] == len(PMEMO_UNANNOTATED)
    assert adapter.corrections() == {}
    assert not Task("pmemo", STATIC_VA).has_label(t)


def test_pmemo_static_file(tmp_path: Path) -> None:
    adapter = PMEmoAdapter(make_pmemo(tmp_path, static=True, audio_ids=()))
    v, a = pmemo_truth(5)
    assert adapter.track("5").static_va == pytest.approx((2 * v - 1, 2 * a - 1))
    report = adapter.validate(check_audio=False)
    assert "missing_static_annotations" not in report.codes()
    assert report.summary["static annotations"] == len(PMEMO_IDS)


def test_pmemo_static_from_dynamic_is_recorded(tmp_path: Path) -> None:
    adapter = PMEmoAdapter(make_pmemo(tmp_path, audio_ids=()), static_from_dynamic=True)
    t = adapter.track("1")
    assert t.static_va == pytest.approx(tuple(t.dynamic_va.mean(axis=0)))
    assert "pmemo_static_from_dynamic" in adapter.corrections()
    summary = adapter.validate(check_audio=False).summary
    assert summary["static from dynamic means"] == len(PMEMO_IDS)


def test_pmemo_long_format_defects(tmp_path: Path) -> None:
    root = make_pmemo(tmp_path, audio_ids=())
    path = root / "annotations" / "dynamic_annotations.csv"
    lines = path.read_text().splitlines()
    rows_of = {s: [k for k, ln in enumerate(lines) if ln.startswith(f"{s},")] for s in PMEMO_IDS}
    lines[rows_of[5][-1]] = "5,17.0,0.5,1.7"  # valence 1.7 outside [0, 1]
    lines[rows_of[6][-1]] = "6,17.0,0.5,"  # last valence frame empty: lengths differ
    del lines[rows_of[4][1]]  # song 4 loses an inner frame: a gap
    lines.append("9,17.25,0.5,0.5")  # off the 2 Hz grid
    path.write_text("\n".join(lines) + "\n")
    adapter = PMEmoAdapter(root)
    report = adapter.validate(check_audio=False)
    bad = {p.track_id: p.message for p in report.problems if p.code == "bad_label"}
    assert set(bad) == {"4", "5", "9"}
    assert "'1.7'" in bad["5"] and "dynamic_annotations.csv" in bad["5"]
    assert "16.0 s" in bad["4"] and "'17.25'" in bad["9"]
    assert [p.track_id for p in report.problems if p.code == "dynamic_length_mismatch"] == ["6"]
    assert adapter.track("6").dynamic_va.shape == (3, 2)
    assert adapter.track("4").dynamic_va is None


def test_pmemo_duration_mismatch(tmp_path: Path) -> None:
    root = make_pmemo(tmp_path, audio_ids=(1,))
    meta = root / "metadata.csv"
    meta.write_text(meta.read_text().replace("Album 1,16.0,", "Album 1,30.0,"))
    report = PMEmoAdapter(root).validate()
    assert [p.track_id for p in report.problems if p.code == "duration_mismatch"] == ["1"]


# --------------------------------------------------------------------------
# 4Q
# --------------------------------------------------------------------------
@pytest.mark.parametrize("inner", [False, True])
def test_fourq_tracks(fourq_root: Path, inner: bool) -> None:
    root = fourq_root / "MER_audio_taffc_dataset" if inner else fourq_root
    adapter = FourQAdapter(root)
    tracks = adapter.tracks()
    songs = fourq_songs()
    assert {t.id: t.quadrant for t in tracks} == songs
    t = adapter.track(next(iter(songs)))
    assert t.static_va is None and t.dynamic_va is None
    assert t.meta["artist"] == "Einstürzende Neubauten"  # latin-1 decoded
    assert t.audio_path == fourq_root / "MER_audio_taffc_dataset" / "Q1" / f"{t.id}.mp3"


def test_fourq_binary_tasks_from_quadrant(fourq_root: Path) -> None:
    for t in FourQAdapter(fourq_root).tracks():
        assert Task("4q", BINARY_VALENCE).target(t) == int(t.quadrant in (1, 4))
        assert Task("4q", BINARY_AROUSAL).target(t) == int(t.quadrant in (1, 2))
        assert Task("4q", QUADRANT).target(t) == t.quadrant - 1


def test_fourq_validate(fourq_root: Path) -> None:
    report = FourQAdapter(fourq_root).validate()
    assert not report.errors()
    assert report.summary["per quadrant"] == {"Q1": 3, "Q2": 3, "Q3": 3, "Q4": 3}
    assert report.summary["clips annotated"] == 12
    assert report.summary["artists"] == 4
    warnings = report.codes("warning")
    assert warnings["unannotated_audio"] == 1
    assert warnings["short_clip"] == 12  # 10.5 s fake clips: above the minimum, below nominal


def test_fourq_splits(fourq_root: Path) -> None:
    adapter = FourQAdapter(fourq_root)
    assert adapter.official_split() is None
    folds = adapter.splits("artist-disjoint:2", seed=0, task=Task("4q", QUADRANT))
    by_id = {t.id: t.artist for t in adapter.tracks()}
    for fold in folds:
        assert not {by_id[i] for i in fold.test} & {by_id[i] for i in fold.train + fold.val}


def test_fourq_label_defects(tmp_path: Path) -> None:
    base = make_4q(tmp_path, encoding="utf-8", audio=False)
    songs = list(fourq_songs())
    ann = base / "panda_dataset_taffc_annotations.csv"
    text = ann.read_bytes().decode()
    text = text.replace(f"{songs[0]},Q1", f"{songs[0]},Q7")
    text = text.replace(f"{songs[1]},Q1", f"{songs[1]},Q2")
    ann.write_bytes(text.encode())
    write_clip(base / "Q3" / f"{songs[2]}.mp3")  # annotated Q1, stored in Q3/
    adapter = FourQAdapter(tmp_path)
    report = adapter.validate()
    bad = {p.track_id: p.message for p in report.problems if p.code == "bad_label"}
    assert set(bad) == {songs[0], songs[1]}
    assert "'Q7'" in bad[songs[0]] and "metadata" in bad[songs[1]]
    assert adapter.track(songs[0]).quadrant is None
    mismatch = [p for p in report.problems if p.code == "quadrant_folder_mismatch"]
    assert [p.track_id for p in mismatch] == [songs[2]]
    assert adapter.track(songs[2]).audio_path.parent.name == "Q3"
    assert report.codes("error")["missing_audio"] == 11


def test_fourq_metadata_only(tmp_path: Path) -> None:
    base = make_4q(tmp_path, audio=False)
    (base / "panda_dataset_taffc_annotations.csv").unlink()
    adapter = FourQAdapter(tmp_path)
    assert {t.id: t.quadrant for t in adapter.tracks()} == fourq_songs()
    assert "missing_annotations" in adapter.validate(check_audio=False).codes("warning")


def test_parse_quadrant() -> None:
    assert [parse_quadrant(x) for x in ("Q1", "q2", " 3 ", "Q5", "")] == [1, 2, 3, None, None]


def test_validate_twice_is_stable(fourq_root: Path) -> None:
    adapter = FourQAdapter(fourq_root)
    first, second = adapter.validate(), adapter.validate()
    assert first.counts() == second.counts() and first.summary == second.summary


def test_malformed_metadata_is_a_warning(tmp_path: Path) -> None:
    root = make_eim(tmp_path, audio_ids=())
    write_text(root / "annotations" / "songs_info.csv", ["nothing,useful", "1,2"])
    adapter = EmoMusicAdapter(root)
    report = adapter.validate(check_audio=False)
    assert report.codes("warning")["unreadable_metadata"] == 1
    assert not report.errors() and adapter.official_split() is None
    assert len(adapter.tracks()) == 8
