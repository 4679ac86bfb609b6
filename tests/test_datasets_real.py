"""The adapters on the real dataset files in ../shared/data (skipped when absent).

What is there (see ../shared/data/README.md): full EiM and PMEmo annotations,
the two DEAM static song-level files (CRLF copy), 240 real 4Q clips and 6
real EiM clips; no DEAM, PMEmo or other EiM audio.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mer_bench.data.deam import DeamAdapter
from mer_bench.data.emomusic import EmoMusicAdapter
from mer_bench.data.fourq import FourQAdapter
from mer_bench.data.pmemo import PMEmoAdapter
from mer_bench.tasks import BINARY_VALENCE, QUADRANT
from mer_bench.types import Task

pytestmark = [pytest.mark.realdata, pytest.mark.usefixtures("no_env_roots")]



@pytest.fixture(scope="module")
def eim(shared_data: Path) -> EmoMusicAdapter:
    return EmoMusicAdapter(shared_data / "emomusic")


# --------------------------------------------------------------------------
# 4Q
# --------------------------------------------------------------------------
@pytest.mark.parametrize("inner", [False, True])
def test_4q_real(shared_data: Path, inner: bool) -> None:
    root = shared_data / "4q"
    adapter = FourQAdapter(root / "MER_audio_taffc_dataset" if inner else root)
    tracks = adapter.tracks()
    assert len(tracks) == 240
    assert all(t.static_va is None for t in tracks)
    report = adapter.validate()
    assert report.errors() == []
    # one real metadata row has an empty Artist ("MT0011413068","","Johnny USA",...)
    assert [p.track_id for p in report.problems] == ["MT0011413068"]
    assert report.problems[0].code == "missing_artist"
    assert report.summary["artists"] == 206
    assert report.summary["per quadrant"] == {"Q1": 60, "Q2": 60, "Q3": 60, "Q4": 60}
    assert report.summary["audio files present"] == "240 of 240"
    assert report.summary["audio without annotations"] == 0
    assert adapter.track("MT0000426771").artist == "Einstürzende Neubauten"
    task = Task("4q", BINARY_VALENCE)
    assert sum(task.target(t) for t in tracks) == 120  # Q1 + Q4


# --------------------------------------------------------------------------
# EiM / emoMusic
# --------------------------------------------------------------------------
def test_emomusic_real_tracks(eim: EmoMusicAdapter) -> None:
    tracks = eim.tracks()
    assert len(tracks) == 744
    t = eim.track("2")  # static_annotations.csv: 2,3.1,0.99443,3,0.66667 (arousal first)
    assert t.static_va == pytest.approx(((3.0 - 5) / 4, (3.1 - 5) / 4))
    assert t.meta["artist"] == "The New Mystikal Troubadours"  # stray tabs stripped
    assert t.meta["official_split"] == "development"
    assert all(t.dynamic_va.shape == (61, 2) and t.dynamic_start_s == 15.0 for t in tracks)
    static = np.array([t.static_va for t in tracks])
    assert static.min() >= -1 and static.max() <= 1


def test_emomusic_real_split(eim: EmoMusicAdapter) -> None:
    split = eim.official_split()
    assert (len(split.train), len(split.val), len(split.test)) == (619, 0, 125)
    (official,) = eim.splits("official", seed=0)
    assert len(official.train) + len(official.val) == 619 and len(official.test) == 125


def test_emomusic_real_validate(eim: EmoMusicAdapter) -> None:
    report = eim.validate()
    assert report.codes("error") == {"missing_audio": 738}
    assert report.summary["audio files present"] == "6 of 744"
    assert report.summary["official split"] == "619 development / 125 evaluation"
    assert report.summary["songs in metadata"] == 744
    assert report.summary["songs with dynamic annotations"] == 744
    assert report.summary["static annotations"] == 744
    assert "checksum_mismatch" not in report.codes("info")
    with_audio = {t.id for t in eim.tracks()} - report.track_ids_with(["missing_audio"])
    assert with_audio == {"3", "4", "7", "8", "10", "17"}


def test_emomusic_static_agrees_with_dynamic(eim: EmoMusicAdapter) -> None:
    """The EiM static means agree with its dynamic annotations (the DEAM swap reference)."""
    tracks = eim.tracks()
    static = np.array([t.static_va for t in tracks])
    dyn = np.array([t.dynamic_va.mean(axis=0) for t in tracks])
    for axis in (0, 1):
        assert np.corrcoef(static[:, axis], dyn[:, axis])[0, 1] > 0.7


def test_emomusic_label_sources_give_both_quadrant_counts(shared_data: Path) -> None:
    """Koh & Dubnov (2021) Table 1 counts EiM's quadrants as 305/87/241/111: the mean of
    each song's dynamic annotations thresholded at 0 gives exactly that; the static
    means at 5 give 265/72/287/120, and the two rules disagree on 134 songs."""
    static = EmoMusicAdapter(shared_data / "emomusic")
    dynamic = EmoMusicAdapter(shared_data / "emomusic", label_source="dynamic-mean")
    quadrant = Task("emomusic", QUADRANT)

    def counts(adapter: EmoMusicAdapter) -> list[int]:
        labels = [quadrant.target(t) for t in adapter.tracks()]
        return [labels.count(q) for q in range(4)]

    assert counts(dynamic) == [305, 87, 241, 111]
    assert counts(static) == [265, 72, 287, 120]
    by_id = {t.id: quadrant.target(t) for t in static.tracks()}
    assert sum(by_id[t.id] != quadrant.target(t) for t in dynamic.tracks()) == 134
    # data check reports both, whichever source the adapter was opened with
    summary = static.validate(check_audio=False).summary
    both = [v for k, v in summary.items() if k.startswith("per quadrant, label_source")]
    assert {"Q1": 305, "Q2": 87, "Q3": 241, "Q4": 111} in both
    assert {"Q1": 265, "Q2": 72, "Q3": 287, "Q4": 120} in both


# --------------------------------------------------------------------------
# PMEmo
# --------------------------------------------------------------------------
def test_pmemo_real(shared_data: Path) -> None:
    adapter = PMEmoAdapter(shared_data / "pmemo")
    tracks = adapter.tracks()
    assert len(tracks) == 767
    assert all(t.static_va is None and t.dynamic_start_s == 15.5 for t in tracks)
    lengths = [len(t.dynamic_va) for t in tracks]
    assert (min(lengths), max(lengths)) == (2, 146)
    report = adapter.validate()
    assert report.summary["songs in metadata"] == 794
    assert report.summary["songs with dynamic annotations"] == 767
    assert report.summary["static annotations"] == 0
    assert report.summary["metadata without annotations"] == 27
    assert report.codes("warning") == {
        "missing_static_annotations": 1,
        "metadata_without_annotations": 27,
    }
    assert report.codes("error") == {"missing_audio": 767}
    assert all(t.artist for t in tracks) and all(t.duration_s for t in tracks)


def test_pmemo_real_takashima_filter_keeps_701(shared_data: Path) -> None:
    """Takashima et al. keep the 701 songs with at least 7.0 s of annotation."""
    adapter = PMEmoAdapter(shared_data / "pmemo", min_annotation_s=7.0)
    assert len(adapter.tracks()) == 701
    assert adapter.validate().summary["songs with >= 7 s of annotation"] == "701 of 767 kept"
    # `data check pmemo` reports the count without the option too
    summary = PMEmoAdapter(shared_data / "pmemo").validate().summary
    assert summary["songs with >= 7 s of annotation (min_annotation_s=7)"] == 701


def test_pmemo_real_static_from_dynamic(shared_data: Path) -> None:
    adapter = PMEmoAdapter(shared_data / "pmemo", static_from_dynamic=True)
    assert all(t.static_va is not None for t in adapter.tracks())
    assert "767" in adapter.corrections()["pmemo_static_from_dynamic"]


# --------------------------------------------------------------------------
# DEAM
# --------------------------------------------------------------------------
def test_deam_real_static_files(shared_data: Path) -> None:
    adapter = DeamAdapter(shared_data / "deam")
    tracks = adapter.tracks()
    assert len(tracks) == 1744 + 58
    subsets = [t.meta["subset"] for t in tracks]
    assert (subsets.count("2013"), subsets.count("2014"), subsets.count("2015")) == (744, 1000, 58)
    static = np.array([t.static_va for t in tracks])
    assert static.min() > -1 and static.max() < 1 and abs(static.mean()) < 0.2
    assert static.std(axis=0).min() > 0.2
    split = adapter.official_split()
    assert (len(split.train), len(split.test)) == (1744, 58)
    report = adapter.validate()
    assert report.codes("error") == {"missing_audio": 1802}
    assert not report.codes("warning")
    assert len(report.notices) == 1 and "NOT checked" in report.notices[0]
    assert adapter.corrections() == {}


def test_deam_real_swap_against_real_eim(shared_data: Path, eim: EmoMusicAdapter) -> None:
    adapter = DeamAdapter(shared_data / "deam", emomusic_root=shared_data / "emomusic")
    check = adapter.swap_check
    assert check.status == "swapped" and check.reference == "EiM" and check.n == 744
    assert check.r_swapped == pytest.approx(1.0, abs=0.005)
    assert adapter.corrections() == {
        "deam_2013_va_swap": "swapped valence/arousal back for 744 songs (r=1.00 against EiM)"
    }
    deam = np.array([adapter.track(t.id).static_va for t in eim.tracks()])
    ref = np.array([t.static_va for t in eim.tracks()])
    for axis in (0, 1):  # corrected DEAM now matches EiM axis by axis
        assert np.corrcoef(deam[:, axis], ref[:, axis])[0, 1] > 0.99
    raw = DeamAdapter(
        shared_data / "deam", emomusic_root=shared_data / "emomusic", keep_raw_labels=True
    )
    report = raw.validate(check_audio=False)
    assert report.codes("warning") == {"deam_va_swap": 1}
    assert raw.track("2").static_va == pytest.approx(((3.1 - 5) / 4, (3.0 - 5) / 4))
