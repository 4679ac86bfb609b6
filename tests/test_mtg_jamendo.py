"""MTG-Jamendo mood/theme: TSV parsing, official splits, checksum verification, and the
organisers' published split-0 baselines reproduced from the real metadata."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mer_bench.cli import app
from mer_bench.data.base import TRACK_LEVEL_CODES
from mer_bench.data.mtg_fake import OUTSIDE_ID, fake_ids
from mer_bench.data.mtg_files import read_rows
from mer_bench.data.mtg_jamendo import MOODTHEME, MOODTHEME_TAGS, MtgJamendoAdapter
from mer_bench.data.validation import ValidationReport
from mer_bench.errors import ConfigError, DatasetError
from mer_bench.metrics import score
from mer_bench.types import Task

pytestmark = pytest.mark.usefixtures("no_env_roots")
TASK = Task("mtg-jamendo-moodtheme", MOODTHEME)


def errors(report: ValidationReport) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in report.errors():
        out.setdefault(p.code, []).append(p.track_id or "")
    return out


@pytest.fixture()
def fake(tmp_path: Path) -> MtgJamendoAdapter:
    return MtgJamendoAdapter(MtgJamendoAdapter.fake_tree(tmp_path))


def test_rows_keep_a_variable_number_of_tag_fields(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_bytes(
        b"TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\r\n"
        b"track_0000948\tartist_000087\talbum_000149\t48/948.mp3\t212.7\tmood/theme---calm\r\n"
        b"track_0000950\tartist_000087\talbum_000149\t50/950.mp3\t248.0\tmood/theme---sad"
        b"\tmood/theme---dark\tmood/theme---film\r\n"
        b"track_0000951\tartist_000087\talbum_000149\t51/951.mp3\t12.5\r\n"
        b"broken\trow\r\n"
    )
    notes = ValidationReport("x", str(tmp_path))
    rows = read_rows(path, notes)
    assert [r.tags for r in rows] == [("calm",), ("sad", "dark", "film"), ()]
    assert rows[1].artist == "artist_000087" and rows[1].duration_s == 248.0
    assert [p.code for p in notes.problems] == ["bad_id"]  # the two-field row


def test_a_wrong_header_is_refused(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "autotagging_moodtheme.tsv").write_text("id,tags\n1,calm\n")
    report = MtgJamendoAdapter(tmp_path).validate(check_audio=False)
    assert "TRACK_ID ARTIST_ID" in report.problems[0].message


def test_fake_tree_tracks_labels_meta_and_the_row_outside_the_splits(fake):
    tracks = fake.tracks()
    assert {t.id for t in tracks} == set(fake_ids())  # OUTSIDE_ID (horror only) left out
    first = fake.track(next(iter(fake_ids())))
    assert first.labels["moodtheme"] == ["happy"]  # "mellow" of the full TSV is dropped
    assert first.meta["artist"] == "artist_000000" and first.meta["album"] == "album_000000"
    assert str(first.audio_path).endswith("audio/00/1000.mp3")
    target = TASK.target(fake.track("track_0001074"))  # index 2: three tags
    assert target.sum() == 3 and target.shape == (56,)
    report = fake.validate()
    assert report.ok(), report.render()
    assert report.summary["rows in no split (tags outside the task only)"] == 1
    assert OUTSIDE_ID not in {t.id for t in tracks}


def test_official_is_split_0_and_the_named_splits_are_artist_disjoint(fake):
    by_artist = {t.id: t.artist for t in fake.tracks()}
    for k in range(5):
        (split,) = fake.splits(f"official:split-{k}", seed=0, task=TASK)
        parts = [set(split.train), set(split.val), set(split.test)]
        artists = [{by_artist[i] for i in p} for p in parts]
        assert all(parts) and not (artists[0] & artists[2]) and not (artists[1] & artists[2])
        assert set().union(*parts) == set(by_artist)
    (official,) = fake.splits("official", seed=0, task=TASK)
    assert official.test == fake.named_split("split-0").test
    with pytest.raises(ConfigError, match="no official split named 'split-7'"):
        fake.splits("official:split-7", seed=0, task=TASK)


def test_low_quality_reads_the_low_files_and_their_checksums(tmp_path):
    low = MtgJamendoAdapter(MtgJamendoAdapter.fake_tree(tmp_path), quality="low")
    assert str(low.tracks()[0].audio_path).endswith("00/1000.low.mp3")
    report = low.validate(deep=True)
    assert report.ok(), report.render()
    assert report.summary["audio checksums verified"] == "10 of 10"
    with pytest.raises(DatasetError, match="quality must be one of"):
        MtgJamendoAdapter(tmp_path, quality="high")


def test_deep_check_finds_a_checksum_mismatch_and_only_deep_hashes(tmp_path):
    bad = "track_0001037"
    adapter = MtgJamendoAdapter(MtgJamendoAdapter.fake_tree(tmp_path, bad_checksum=[bad]))
    shallow = adapter.validate()
    assert shallow.ok() and "audio checksums verified" not in shallow.summary
    deep = adapter.validate(deep=True)
    assert errors(deep) == {"audio_checksum_mismatch": [bad]}
    assert "checksum mismatch" in deep.errors()[0].message
    assert {p.code for p in deep.errors()} <= TRACK_LEVEL_CODES  # --skip-invalid waives it
    assert deep.summary["audio checksums verified"] == "9 of 10"


def test_defects_are_reported_per_track(tmp_path):
    root = MtgJamendoAdapter.fake_tree(
        tmp_path, missing_audio=["track_0001000"], untagged=["track_0001111"],
        unknown_tag=["track_0001148"],
    )
    adapter = MtgJamendoAdapter(root)
    found = errors(adapter.validate(deep=True))
    assert found["missing_audio"] == ["track_0001000"]
    assert sorted(found["bad_label"]) == ["track_0001111", "track_0001148"]
    assert set(found) <= TRACK_LEVEL_CODES
    assert not TASK.has_label(adapter.track("track_0001111"))
    labelled = [t.id for t in adapter.tracks() if TASK.has_label(t)]
    assert len(labelled) == 9
    assert adapter.track("track_0001148").labels["moodtheme"]  # known tags kept


def test_a_missing_data_folder_says_where_to_look(tmp_path):
    report = MtgJamendoAdapter(tmp_path).validate()
    assert report.problems[0].code == "unreadable_annotations"
    assert "data info mtg-jamendo-moodtheme" in report.problems[0].message


# --------------------------------------------------------------------------
# real metadata (../shared/data/mtg-jamendo: no audio)
# --------------------------------------------------------------------------
RESULTS = "results/mediaeval/baseline_{}_results.tsv"
OUR_NAMES = {
    "ROC-AUC-macro": "roc_auc_macro", "PR-AUC-macro": "pr_auc_macro",
    "precision-macro": "precision_macro", "recall-macro": "recall_macro",
    "F-score-macro": "f1_macro", "ROC-AUC-micro": "roc_auc_micro",
    "PR-AUC-micro": "pr_auc_micro", "precision-micro": "precision_micro",
    "recall-micro": "recall_micro", "F-score-micro": "f1_micro",
}


@pytest.fixture(scope="module")
def real(shared_data: Path) -> MtgJamendoAdapter:
    root = shared_data / "mtg-jamendo"
    if not (root / "data").is_dir():
        pytest.skip(f"{root}/data is absent")
    return MtgJamendoAdapter(root)


@pytest.mark.realdata
def test_real_tracks_tags_and_splits(real):
    tracks = real.tracks()
    assert len(tracks) == MtgJamendoAdapter.published_tracks == 17982
    seen = {tag for t in tracks for tag in t.labels["moodtheme"]}
    assert seen == set(MOODTHEME_TAGS)  # the declared 56 are the split files' tag set
    split = real.official_split()
    assert (len(split.train), len(split.val), len(split.test)) == (9949, 3802, 4231)
    for k in range(5):
        named = real.named_split(f"split-{k}")
        assert len(named.train) + len(named.val) + len(named.test) == 17982


@pytest.mark.realdata
@pytest.mark.slow  # parses and checks all 17,982 tracks again through the CLI (~2.5 s)
def test_real_check_without_audio(real):
    result = CliRunner().invoke(app, ["data", "check", "mtg-jamendo-moodtheme", "--root",
                                      str(real.root), "--allow-missing-audio"])
    assert result.exit_code == 0, result.output
    assert "rows in no split (tags outside the task only): 504" in result.output
    assert "missing_audio: 17982" in result.output
    assert "unlisted_audio" not in result.output  # every track has a published checksum


@pytest.mark.realdata
@pytest.mark.parametrize(("baseline", "method"), [("popular", "popular"), ("random", "chance")])
def test_published_split0_baselines_are_reproduced(real, baseline, method):
    """MediaEval's popular and random baselines, all ten metrics, to six decimals: our
    tagging metrics score as the organisers' evaluate.py did."""
    published = {}
    for line in (real.root / RESULTS.format(baseline)).read_text().splitlines():
        name, value = line.split("\t")
        published[OUR_NAMES[name]] = float(value)
    split = real.official_split()
    train = np.stack([TASK.target(real.track(i)) for i in split.train])
    test = np.stack([TASK.target(real.track(i)) for i in split.test])
    prior = train.mean(axis=0)
    if method == "popular":
        scores = np.zeros_like(prior)
        scores[int(np.argmax(prior))] = 1.0
    else:
        scores = prior
    ours = score(MOODTHEME, test, np.tile(scores, (len(test), 1)))
    for metric, value in published.items():
        assert ours[metric] == pytest.approx(value, abs=1e-6), metric
