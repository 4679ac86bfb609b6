"""Emotify: the id-to-file mapping, rater shares, the tie rule, defects, the genre protocol."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mer_bench.config import load_plan
from mer_bench.data.emotify import (
    ANSWERS,
    GEMS,
    GEMS_DOMINANT,
    GEMS_TAGS,
    EmotifyAdapter,
    fake_answers,
    id_location,
)
from mer_bench.errors import DatasetError
from mer_bench.runs import expand
from mer_bench.types import Task

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.usefixtures("no_env_roots")



@pytest.fixture(scope="module")
def fake_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return EmotifyAdapter.fake_tree(tmp_path_factory.mktemp("emotify"))


@pytest.fixture(scope="module")
def fake(fake_root: Path) -> EmotifyAdapter:
    return EmotifyAdapter(fake_root)


def test_ids_map_to_genre_folders():
    assert id_location(1) == ("classical", 1)
    assert id_location(100) == ("classical", 100)
    assert id_location(101) == ("rock", 1)
    assert id_location(250) == ("electronic", 50)
    assert id_location(400) == ("pop", 100)
    assert id_location(0) is None and id_location(401) is None


def test_fake_tree_keeps_the_header_quirk(fake_root: Path):
    header = (fake_root / ANSWERS).read_text().splitlines()[0]
    assert header.startswith("track id, genre, amazement, solemnity")


def test_fake_tracks_files_and_genres(fake: EmotifyAdapter):
    tracks = {t.id: t for t in fake.tracks()}
    assert list(tracks) == ["1", "2", "101", "102", "201", "202", "301", "302"]
    rock = tracks["101"]
    assert rock.meta["genre"] == "rock"
    assert rock.audio_path.parent.name == "rock" and rock.audio_path.name == "1.mp3"
    assert tracks["302"].audio_path.relative_to(fake.root).as_posix() == "emotifymusic/pop/2.mp3"
    assert all(t.meta["answers"] == "12" for t in tracks.values())


def test_shares_count_raters_who_ticked_nothing(fake: EmotifyAdapter):
    # clip "1": {amazement}, {amazement, solemnity}, {}, {amazement, tenderness}, 3 times
    shares = fake.track("1").labels["gems_tags"]
    assert shares["amazement"] == pytest.approx(0.75)  # 9 of 12 raters, the empty ones count
    assert shares["solemnity"] == pytest.approx(0.25)
    assert shares["sadness"] == 0.0
    target = Task("emotify", GEMS_TAGS).target(fake.track("1"))
    assert target.shape == (len(GEMS),) and target[0] == pytest.approx(0.75)
    assert fake.validate().summary["answers ticking no emotion (counted as raters)"] == 24


def test_dominant_emotion_and_tie_rules(fake_root: Path, fake: EmotifyAdapter):
    task = Task("emotify", GEMS_DOMINANT)
    assert task.target(fake.track("1")) == GEMS.index("amazement")
    assert task.target(fake.track("102")) == GEMS.index("nostalgia")  # clip k=3
    # the last clip is tied between solemnity and nostalgia, 6 ticks each
    assert not task.has_label(fake.track("302"))
    order = EmotifyAdapter(fake_root, dominant_ties="order")
    assert order.track("302").labels["gems_dominant"] == "solemnity"  # first in GEMS order
    totals = {g: sum(g in s for _, s in fake_answers()) for g in ("solemnity", "nostalgia")}
    assert totals == {"solemnity": 18, "nostalgia": 21}  # the rule is tested, not the order
    frequent = EmotifyAdapter(fake_root, dominant_ties="frequent")
    assert frequent.track("302").labels["gems_dominant"] == "nostalgia"
    assert frequent.track("1").labels["gems_dominant"] == "amazement"  # no tie: unchanged


def test_positive_share_is_a_dataset_parameter(fake_root: Path, fake: EmotifyAdapter):
    assert fake.tag_share(GEMS_TAGS) == 0.3 and fake.tag_share(GEMS_DOMINANT) is None
    strict = EmotifyAdapter(fake_root, positive_share=0.8)
    assert strict.tag_share(GEMS_TAGS) == 0.8
    assert Task("emotify", GEMS_TAGS, positive_share=0.8).binarise_at == 0.8
    with pytest.raises(DatasetError, match="positive_share"):
        EmotifyAdapter(fake_root, positive_share=0)
    with pytest.raises(DatasetError, match="dominant_ties"):
        EmotifyAdapter(fake_root, dominant_ties="coin")


def test_clean_fake_validates(fake: EmotifyAdapter):
    report = fake.validate()
    assert report.ok(), report.render()
    assert report.summary["clips annotated"] == 8 and report.summary["answers"] == 96
    assert report.summary["clips with a tied dominant emotion"] == "1 (drop)"
    assert report.summary["audio files present"] == "8 of 8"


@pytest.mark.parametrize(
    ("options", "severity", "code", "track"),
    [
        ({"missing_audio": ("201",)}, "error", "missing_audio", "201"),
        ({"bad_tick": True}, "error", "bad_label", "1"),
        ({"unknown_id": True}, "error", "bad_id", "401"),
        ({"few_answers": True}, "warning", "few_answers", "1"),
        ({"extra_audio": ("rock/150",)}, "warning", "unannotated_audio", "rock/150"),
        ({"extra_audio": ("rock/3",)}, "warning", "unannotated_audio", "103"),
        ({"clip_s": 30.0}, "warning", "short_clip", "1"),
        ({"clip_s": 5.0}, "error", "short_audio", "1"),
    ],
)
def test_defects_are_reported(tmp_path: Path, options, severity, code, track):
    adapter = EmotifyAdapter(EmotifyAdapter.fake_tree(tmp_path, **options))
    report = adapter.validate()
    hits = [p for p in report.problems if p.code == code]
    assert hits and hits[0].severity == severity and hits[0].track_id == track, report.render()


def test_bad_tick_drops_only_that_answer(tmp_path: Path):
    adapter = EmotifyAdapter(EmotifyAdapter.fake_tree(tmp_path, bad_tick=True))
    assert adapter.track("1").meta["answers"] == "11"
    assert [t.id for t in adapter.tracks()][:2] == ["1", "2"]


def test_genre_mismatch_is_a_warning(tmp_path: Path):
    root = EmotifyAdapter.fake_tree(tmp_path, audio=False)
    path = root / ANSWERS
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace(",classical,", ",rock,")
    path.write_text("\n".join(lines) + "\n")
    report = EmotifyAdapter(root).validate(check_audio=False)
    assert report.codes("warning") == {"genre_mismatch": 1}
    assert EmotifyAdapter(root).track("1").meta["genre"] == "classical"  # the id decides


def test_missing_answers_file(tmp_path: Path):
    with pytest.raises(DatasetError, match="data.csv"):
        EmotifyAdapter(tmp_path).tracks()


@pytest.mark.parametrize("kind", [GEMS_TAGS, GEMS_DOMINANT])
def test_leave_one_genre_out(fake: EmotifyAdapter, kind):
    task = Task("emotify", kind)
    folds = fake.splits("disjoint:genre", seed=0, task=task)
    genre = {t.id: t.meta["genre"] for t in fake.tracks()}
    assert sorted(s.name for s in folds) == [
        "genre=classical", "genre=electronic", "genre=pop", "genre=rock"
    ]
    for split in folds:
        test_genres = {genre[i] for i in split.test}
        assert test_genres == {split.name.split("=")[1]}
        assert not test_genres & {genre[i] for i in (*split.train, *split.val)}
    labelled = {t.id for t in fake.tracks() if task.has_label(t)}
    assert set().union(*(set(s.test) for s in folds)) == labelled


def test_bench_plan_expands():
    runs, notes = expand(load_plan(REPO / "experiments/bench/emotify.yaml"))
    combos = {(r.config["method"], r.task.value) for r in runs}
    assert ("linear", "gems_tags") in combos and ("chance", "gems_dominant") in combos
    assert ("embedding-classifiers", "gems_dominant") in combos
    assert all(r.config["allow_missing_audio"] for r in runs)
    assert all(r.config["dataset_params"] == {"positive_share": 0.3} for r in runs)
    # a method without tagging support is noted, not run
    assert all("gems_tags" in n for n in notes)


# --------------------------------------------------------------------------
# the real files in ../shared/data/emotify
# --------------------------------------------------------------------------
@pytest.mark.realdata
def test_emotify_real(shared_data: Path):
    root = shared_data / "emotify"
    if not (root / ANSWERS).is_file():
        pytest.skip(f"{root / ANSWERS} is absent")
    adapter = EmotifyAdapter(root)
    tracks = adapter.tracks()
    assert len(tracks) == 400
    report = adapter.validate()
    assert report.summary["answers"] == 8407
    assert report.summary["answers per clip"] == "min 11, median 14, max 59"
    assert report.summary["answers ticking no emotion (counted as raters)"] == 103
    assert report.summary["clips with a tied dominant emotion"] == "57 (drop)"
    assert report.summary["audio files present"] == "80 of 400"
    assert report.summary["audio without annotations"] == 0
    assert report.codes("error") == {"missing_audio": 320}
    assert report.ok(waive=["missing_audio"])
    assert sum(1 for t in tracks if "gems_dominant" in t.labels) == 343
    genres = {t.id: t.meta["genre"] for t in tracks}
    assert genres["100"] == "classical" and genres["101"] == "rock" and genres["301"] == "pop"
    present = [t for t in tracks if t.audio_path.is_file()]
    assert {t.meta["genre"] for t in present} == {"classical", "rock", "electronic", "pop"}
    assert adapter.track("101").audio_path.relative_to(root).as_posix() == "emotifymusic/rock/1.mp3"
    shares = np.array([[t.labels["gems_tags"][g] for g in GEMS] for t in tracks])
    assert shares.min() >= 0 and shares.max() <= 1
    assert int(((shares >= 0.3).sum(axis=1) == 0).sum()) == 5
