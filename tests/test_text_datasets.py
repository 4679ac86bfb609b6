"""Text datasets: synth-text, Alm's fairy tales and ISEAR on tiny files in their real layouts.

Expected split sizes are worked out by hand from ``stratified_partition``'s
rule: a label with n items and cumulative share a/b is cut at
floor((n * a + b // 2) / b), i.e. rounded half up.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mer_bench.data import DATASETS
from mer_bench.data.alm import AlmAdapter
from mer_bench.data.isear import IsearAdapter, clean_passage, is_non_answer, parse_emotion
from mer_bench.data.text import (
    EMOTION_CUES,
    SHARED_CUES,
    SynthTextDataset,
    TextDataset,
    stratified_partition,
)
from mer_bench.errors import DatasetError
from mer_bench.tasks import TEXT2MUSIC_RETRIEVAL
from mer_bench.types import Split, Task, Track

pytestmark = pytest.mark.usefixtures("no_env_roots")

T2M = Task("any", TEXT2MUSIC_RETRIEVAL)



def assert_partition(split: Split, ids: set[str]) -> None:
    parts = [set(split.train), set(split.val), set(split.test)]
    assert sum(len(p) for p in parts) == len(ids)
    assert set().union(*parts) == ids


# --------------------------------------------------------------------------
# shared pieces: stratified partition, the text base class
# --------------------------------------------------------------------------
def test_stratified_partition_hand_worked():
    ids = ["a", "b", "c", "d", "e"]
    labels = ["x", "x", "x", "y", "z"]
    # x: 3 items cut at (3*1+1)//2 = 2; y and z: 1 item cut at (1+1)//2 = 1 -> all first
    first, second = stratified_partition(ids, labels, (1, 1), seed=0)
    assert len(first) == 4 and len(second) == 1
    assert {"d", "e"} <= set(first) and second[0] in {"a", "b", "c"}
    assert first == [i for i in ids if i in first]  # input order kept
    # 7 of one label at 70/15/15: cuts (490+50)//100 = 5 and (595+50)//100 = 6
    seven = [f"i{k}" for k in range(7)]
    parts = stratified_partition(seven, ["q"] * 7, (70, 15, 15), seed=3)
    assert [len(p) for p in parts] == [5, 1, 1]
    assert parts == stratified_partition(seven, ["q"] * 7, (70, 15, 15), seed=3)
    assert parts != stratified_partition(seven, ["q"] * 7, (70, 15, 15), seed=4)


class _Tiny(TextDataset):
    """An unregistered text dataset with one of every per-item problem."""

    name = "tiny-text"
    version = "0"
    citation = license = homepage = download_info = "-"
    emotion_vocabulary = ("joy", "sadness")

    def _load_tracks(self) -> list[Track]:
        def item(i: str, text: str, *tags: str) -> Track:
            return Track(i, None, tags=tags, meta={"text": text, "author": "ann"})

        return [
            item("a", "A fine day.", "joy"),
            item("b", "   ", "joy"),
            item("c", "Rain again.", "anger"),
            item("d", "Both at once.", "joy", "sadness"),
            item("a", "Again a.", "sadness"),
            item("e", "a fine   DAY.", "sadness"),
        ]


def test_text_base_validates_passages_and_labels(tmp_path):
    report = _Tiny(tmp_path).validate()
    assert report.codes("error") == {"empty_passage": 1, "bad_label": 2, "duplicate_id": 1}
    assert {p.track_id for p in report.problems if p.code == "bad_label"} == {"c", "d"}
    assert report.codes("info") == {"repeated_passage": 1}  # e repeats a, case/blanks aside
    assert report.summary["passages per emotion"] == {"joy": 3, "sadness": 2, "anger": 1}
    assert report.summary["passages per author"] == {"ann": 6}
    with pytest.raises(DatasetError, match="text dataset.*no audio"):
        _Tiny(tmp_path).load_audio(Track("a", None))


# --------------------------------------------------------------------------
# synth-text
# --------------------------------------------------------------------------
def test_synth_text_is_deterministic_and_follows_its_seed():
    a, b = SynthTextDataset(), DATASETS.get("synth-text")()
    assert [(t.id, t.tags, t.text) for t in a.tracks()] == [
        (t.id, t.tags, t.text) for t in b.tracks()
    ]
    other = SynthTextDataset(seed=1)
    assert [t.text for t in other.tracks()] != [t.text for t in a.tracks()]
    assert SynthTextDataset(per_emotion=5).validate().summary["passages"] == 25


def test_synth_text_vocabulary_counts_and_items():
    ds = SynthTextDataset()
    tracks = ds.tracks()
    assert ds.emotion_vocabulary == ("joy", "anger", "fear", "sadness", "serenity")
    assert Counter(t.tags[0] for t in tracks) == {e: 60 for e in ds.emotion_vocabulary}
    assert len({t.id for t in tracks}) == len({t.text for t in tracks}) == 300
    assert all(t.audio_path is None and len(t.tags) == 1 and t.text for t in tracks)
    assert all(T2M.target(t) == t.tags for t in tracks)
    # ids carry no hint of the label: the first ten items are not all of one emotion
    assert len({t.tags[0] for t in tracks[:10]}) > 1
    with pytest.raises(DatasetError, match="no audio"):
        ds.load_audio(tracks[0])
    report = ds.validate()
    assert report.ok() and not report.problems
    assert report.summary["passages per author"] == {f"narrator{k}": 75 for k in (1, 2, 3, 4)}


def test_synth_text_cues_are_specific_except_the_shared_ones():
    sentences = SynthTextDataset().sentences
    for emotion, cues in EMOTION_CUES.items():
        for cue in cues:
            assert {s.emotion for s in sentences if cue in s.text} <= {emotion}
    shared = [s for s in sentences if s.shared]
    assert 0.1 < len(shared) / len(sentences) < 0.4
    for s in shared:
        assert s.emotion in SHARED_CUES[s.cue]
    # at least one ambiguous cue really occurs under two different emotions
    emotions_per_cue = {c: {s.emotion for s in shared if s.cue == c} for c in SHARED_CUES}
    assert max(len(e) for e in emotions_per_cue.values()) >= 2


def test_synth_text_official_split_is_stratified_70_15_15():
    ds = SynthTextDataset()
    split = ds.splits("official", seed=0, task=Task(ds.name, TEXT2MUSIC_RETRIEVAL))[0]
    assert_partition(split, {t.id for t in ds.tracks()})
    emotion = {t.id: t.tags[0] for t in ds.tracks()}
    # 60 per emotion: cuts (4200+50)//100 = 42 and (5100+50)//100 = 51
    for part, n in ((split.train, 42), (split.val, 9), (split.test, 9)):
        assert Counter(emotion[i] for i in part) == {e: n for e in ds.emotion_vocabulary}
    assert ds.splits("official", seed=5)[0] == split  # independent of the run seed
    assert SynthTextDataset().official_split() == split


@pytest.mark.parametrize("k", [3, 5])
def test_synth_text_kfold_is_stratified(k):
    ds = SynthTextDataset()
    emotion = {t.id: t.tags[0] for t in ds.tracks()}
    folds = ds.splits(f"kfold:{k}", seed=0)
    assert sorted(i for f in folds for i in f.test) == sorted(emotion)
    for fold in folds:
        counts = Counter(emotion[i] for i in fold.test)
        assert all(abs(counts[e] - 60 / k) <= 2 for e in ds.emotion_vocabulary), counts


def test_synth_text_artist_disjoint_keeps_narrators_apart():
    ds = SynthTextDataset()
    author = {t.id: t.meta["author"] for t in ds.tracks()}
    for fold in ds.splits("artist-disjoint:4", seed=0):
        test_authors = {author[i] for i in fold.test}
        assert len(test_authors) == 1
        assert not test_authors & {author[i] for i in fold.train + fold.val}


# --------------------------------------------------------------------------
# Alm
# --------------------------------------------------------------------------
def write(path: Path, text: str, encoding: str = "utf-8", crlf: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if crlf:
        text = text.replace("\n", "\r\n")
    path.write_bytes(text.encode(encoding))
    return path


POTTER = {  # SentID -> code: happy x4, sad x3, fearful x1, anger x2
    0: 4,
    2: 4,
    4: 4,
    6: 4,
    8: 6,
    9: 6,
    11: 6,
    13: 3,
    20: 2,
    21: 2,
}


def make_alm(root: Path) -> Path:
    write(
        root / "Grimms" / "agree-sent" / "hansel_and_gretel.agree",
        "0@2@The witch was furious.\n3@4@They danced happily.\n5@3@Gretel was terrified.\n"
        "7@6@He wept.\n\n",
        crlf=True,
    )
    write(root / "Grimms" / "agreeID" / "hansel_and_gretel.agreeID", "0\n3\n5\n7\n")
    write(root / "Grimms" / "emmood" / "hansel_and_gretel.emmood", "0:0\tA:A\tA:A\tignored\n")
    write(
        root / "HCAndersen" / "agree-sent" / "the_wind.agree",
        "1@7@What a surprise @ the castle!\n"
        "2@4@The prince smiled, caf\u00e9 and all.\n"
        "2@6@A second line with id 2.\n"
        "garbage without separators\n"
        "x@4@Not a sentence id.\n"
        "9@5@An unknown code.\n",
        encoding="cp1252",
    )
    write(root / "HCAndersen" / "agreeID" / "the_wind.agreeID", "1\n2\n4\n")
    write(
        root / "Potter" / "agree-sent" / "peter_rabbit.agree",
        "".join(f"{i}@{c}@Potter sentence {i}.\n" for i, c in POTTER.items()),
    )
    return root


@pytest.fixture
def alm(tmp_path: Path) -> AlmAdapter:
    return AlmAdapter(make_alm(tmp_path / "affectdata"))


def test_alm_parses_sentences_and_maps_labels(alm):
    by_id = {t.id: t for t in alm.tracks()}
    assert len(by_id) == 4 + 3 + len(POTTER)  # 2 malformed lines and 1 duplicate skipped
    t = by_id["Grimms/hansel_and_gretel/0"]
    assert t.tags == ("anger",) and t.text == "The witch was furious."
    assert t.meta["label_original"] == "Angry-Disgusted" and t.meta["author"] == "Grimms"
    assert by_id["Grimms/hansel_and_gretel/5"].tags == ("fearful",)
    assert by_id["Grimms/hansel_and_gretel/7"].tags == ("sad",)
    assert by_id["HCAndersen/the_wind/1"].text == "What a surprise @ the castle!"
    assert by_id["HCAndersen/the_wind/1"].tags == ("surprised",)
    assert by_id["HCAndersen/the_wind/2"].text == "The prince smiled, caf\u00e9 and all."
    assert by_id["HCAndersen/the_wind/2"].tags == ("happy",)  # the first of the duplicates
    assert by_id["HCAndersen/the_wind/9"].tags == ("code 5",)
    assert Counter(t.tags[0] for t in alm.tracks() if t.meta["author"] == "Potter") == {
        "happy": 4,
        "sad": 3,
        "fearful": 1,
        "anger": 2,
    }
    assert all(t.audio_path is None for t in alm.tracks())


def test_alm_validate_reports_every_quirk(alm):
    report = alm.validate()
    assert report.codes("error") == {"duplicate_id": 1, "bad_label": 1}
    assert report.codes("warning") == {"malformed_line": 2, "agree_id_mismatch": 1}
    assert report.codes("info")["unexpected_count"] == 1
    mismatch = next(p for p in report.problems if p.code == "agree_id_mismatch")
    assert "the_wind" in mismatch.message and "['4']" in mismatch.message
    assert "['9']" in mismatch.message
    bad = next(p for p in report.problems if p.code == "bad_label")
    assert bad.track_id == "HCAndersen/the_wind/9" and "code 5" in bad.message
    assert report.summary["passages per author"] == {"Grimms": 4, "HCAndersen": 3, "Potter": 10}
    assert report.summary["passages per emotion"]["happy"] == 1 + 1 + 4
    # the unknown code is waivable: --skip-invalid drops exactly that sentence
    assert report.track_ids_with({"bad_label"}) == {"HCAndersen/the_wind/9"}


def test_alm_official_split_uses_all_of_potter_for_validation_and_test(alm):
    split = alm.splits("official", seed=0)[0]
    tracks = alm.tracks()
    potter = {t.id for t in tracks if t.meta["author"] == "Potter"}
    assert set(split.train) == {t.id for t in tracks if t.meta["author"] != "Potter"}
    # Won et al.: "167 sentences by B. Potter were used for validation and test"
    assert set(split.val) == set(split.test) == potter and len(potter) == len(POTTER)
    assert not set(split.train) & potter
    assert alm.splits("official", seed=9)[0] == split
    assert "validation and test" in AlmAdapter.download_info


def test_alm_potter_halves_on_request(alm):
    halves = AlmAdapter(alm.root, potter_split="halves")
    split = halves.splits("official", seed=0)[0]
    tracks = halves.tracks()
    assert_partition(split, {t.id for t in tracks})
    assert set(split.train) == {t.id for t in tracks if t.meta["author"] != "Potter"}
    emotion = {t.id: t.tags[0] for t in tracks}
    # per emotion, val gets (n + 1) // 2: happy 2/2, sad 2/1, fearful 1/0, anger 1/1
    assert Counter(emotion[i] for i in split.val) == {
        "happy": 2,
        "sad": 2,
        "fearful": 1,
        "anger": 1,
    }
    assert Counter(emotion[i] for i in split.test) == {"happy": 2, "sad": 1, "anger": 1}
    assert AlmAdapter(alm.root, potter_split="halves").splits("official", seed=1)[0] == split
    with pytest.raises(DatasetError, match="potter_split"):
        AlmAdapter(alm.root, potter_split="thirds")


def test_alm_reads_nested_archives_and_reports_missing_authors(tmp_path):
    write(tmp_path / "dl" / "Potter" / "Potter" / "agree-sent" / "a.agree", "0@4@Hop.\n1@6@Sob.\n")
    write(tmp_path / "dl" / "Potter" / "Potter" / "agree-sent" / "notes.txt", "not a story\n")
    alm = AlmAdapter(tmp_path)
    assert [t.id for t in alm.tracks()] == ["Potter/a/0", "Potter/a/1"]
    report = alm.validate()
    assert report.codes("warning") == {"missing_file": 2}
    assert "unexpected_count" not in report.codes()  # only counted on a complete copy
    with pytest.raises(DatasetError, match="official split needs Potter and"):
        alm.splits("official", seed=0)


def test_alm_clear_errors_for_missing_or_empty_roots(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        AlmAdapter(tmp_path / "nowhere")
    (tmp_path / "Potter").mkdir()  # no agree-sent inside
    alm = AlmAdapter(tmp_path)
    with pytest.raises(DatasetError, match="no Grimms/, HCAndersen/ or Potter/"):
        alm.tracks()
    report = alm.validate()
    assert report.codes("error") == {"unreadable_annotations": 1} and not report.ok()
    with pytest.raises(DatasetError, match="no root folder"):
        AlmAdapter()


# --------------------------------------------------------------------------
# ISEAR
# --------------------------------------------------------------------------
ISEAR_COLUMNS = (
    "ID|CITY|COUN|SUBJ|SEX|AGE|RELI|PRAC|FOCC|MOCC|FIEL|EMOT|WHEN|LONG|INTS|ERGO|TROPHO|"
    "TEMPER|EXPRES|MOVE|EXP1|EXP2|EXP10|PARAL|CON|EXPC|PLEA|PLAN|FAIR|CAUS|COPING|MORL|SELF|"
    "RELA|VERBAL|NEUTRO|Field1|Field3|Field2|MYKEY|SIT|STATE"
).split("|")
# (respondent, EMOT, Field1, MYKEY, SIT)
ISEAR_ROWS = [
    (
        "11001",
        "1",
        "joy",
        "0110011",
        "During the period of falling in love, each time that we met and \u00e1\n"
        "especially when we had not met for a long time.",
    ),
    ("11001", "2", "fear", "0110012", 'When I was involved in a "traffic" accident.'),
    ("11001", "4", "sadness", "0110014", "[ No response.]"),
    ("11002", "1", "joy", "0110021", "[ On days when I feel close to my partner.]"),
    ("11002", "2", "anger", "0110022", "When a motorist refused to let me overtake."),
    ("11002", "6", "shame", "0110026", "[ Same as in anger.]"),
    ("11002", "7", "", "0110027", "When I could not remember what to say at the meeting."),
    ("11003", "5", "Disgust ", "0110035", "When I found a bristle in the liver paste tube."),
    ("11003", "", "surprise", "0110038", "When the cake arrived."),
    ("11003", "3", "anger", "0110035", "A second row with the key 0110035."),
]


def isear_row(respondent: str, emot: str, field1: str, key: str, sit: str) -> dict[str, str]:
    row = dict.fromkeys(ISEAR_COLUMNS, "0")
    row.update(ID=respondent, EMOT=emot, Field1=field1, MYKEY=key, SIT=sit, STATE="1")
    return row


def mdb_export_csv(rows) -> str:
    """What `mdb-export isear_databank.mdb DATA` writes: commas, quoted text, "" for a quote."""

    def cell(col: str, value: str) -> str:
        if col in ("Field1", "MYKEY", "SIT"):
            return '"' + value.replace('"', '""') + '"'
        return value

    lines = [",".join(ISEAR_COLUMNS)]
    for r in rows:
        row = isear_row(*r)
        lines.append(",".join(cell(c, row[c]) for c in ISEAR_COLUMNS))
    return "\n".join(lines) + "\n"


def test_isear_reads_the_mdb_export_and_cleans_its_quirks(tmp_path):
    write(tmp_path / "isear_databank.mdb", "binary access file")
    write(tmp_path / "isear.csv", mdb_export_csv(ISEAR_ROWS), crlf=True)
    ds = IsearAdapter(tmp_path)
    by_id = {t.id: t for t in ds.tracks()}
    assert list(by_id) == [
        "0110011",
        "0110012",
        "0110021",
        "0110022",
        "0110027",
        "0110035",
        "0110038",
    ]
    assert by_id["0110011"].text == (
        "During the period of falling in love, each time that we met and especially when we "
        "had not met for a long time."
    )
    assert by_id["0110012"].text == 'When I was involved in a "traffic" accident.'
    assert by_id["0110021"].text == "On days when I feel close to my partner."
    assert by_id["0110021"].meta["author"] == "11002"
    assert by_id["0110022"].tags == ("anger",)  # Field1 wins over EMOT 2
    assert by_id["0110027"].tags == ("guilt",)  # empty Field1: EMOT 7
    assert by_id["0110035"].tags == ("disgust",)
    assert by_id["0110038"].tags == ("surprise",)
    report = ds.validate()
    assert report.codes("warning") == {"unusable_passage": 2, "label_mismatch": 1}
    assert {p.track_id for p in report.problems if p.code == "unusable_passage"} == {
        "0110014",
        "0110026",
    }
    assert report.codes("error") == {"duplicate_id": 1, "bad_label": 1}
    assert report.summary["non-answers dropped"] == 2
    assert report.summary["rows read"] == 10
    assert report.codes("info")["unexpected_count"] == 1  # 10 rows, not 7,666


def test_isear_reads_the_pipe_export_with_spilled_fields(tmp_path):
    header = "|".join(ISEAR_COLUMNS) + "|"
    good = isear_row("11001", "3", "anger", "0110013", "x")
    good["SIT"] = "When I was driving home after  several days, there \u00e1 was a motorist."
    spilled = isear_row("161019", "1", "joy", "1610191", "x")
    spilled["SIT"] = (
        'She came up for an informal \\greeting\\" in church. She said a \u00e1|few words."'
    )
    lines = [header] + ["|".join(r[c] for c in ISEAR_COLUMNS) + "|" for r in (good, spilled)]
    write(tmp_path / "sub" / "isear.csv", "\n".join(lines) + "\n", encoding="cp1252")
    ds = IsearAdapter(tmp_path)
    by_id = {t.id: t for t in ds.tracks()}
    assert (
        by_id["0110013"].text == "When I was driving home after several days, there was a motorist."
    )
    assert by_id["1610191"].text == (
        'She came up for an informal "greeting" in church. She said a few words.'
    )
    assert by_id["1610191"].tags == ("joy",) and by_id["1610191"].meta["author"] == "161019"
    assert ds.validate().summary["passages cleaned (line-break marks, brackets, quotes)"] == 2


def test_isear_reads_two_column_csvs_with_or_without_header(tmp_path):
    write(
        tmp_path / "a" / "isear.csv",
        'joy,When I passed the exam, finally.\nfear,"A dog, big and black, ran at me."\n'
        "sadness,[ No response.]\nguilt,When I lied to my mother.\n",
    )
    ds = IsearAdapter(tmp_path / "a")
    assert [(t.id, t.tags[0], t.text) for t in ds.tracks()] == [
        ("row1", "joy", "When I passed the exam, finally."),
        ("row2", "fear", "A dog, big and black, ran at me."),
        ("row4", "guilt", "When I lied to my mother."),
    ]
    write(
        tmp_path / "b" / "data.csv",
        "situation;label\nWhen we won the cup.;joy\nWhen my cat died.;4\n",
    )
    ds = IsearAdapter(tmp_path / "b")
    assert [(t.id, t.tags[0]) for t in ds.tracks()] == [("row1", "joy"), ("row2", "sadness")]
    write(tmp_path / "c" / "my_copy.csv", "Text,Feeling\nWhen we won.,joy\nA storm.,fear\n")
    ds = IsearAdapter(tmp_path / "c")  # unknown header: emotion found in the last column
    assert [(t.text, t.tags[0]) for t in ds.tracks()] == [
        ("When we won.", "joy"),
        ("A storm.", "fear"),
    ]
    assert ds.validate().codes() == {"header_skipped": 1}


def test_isear_official_split_is_stratified_70_15_15(tmp_path):
    emotions = IsearAdapter.emotion_vocabulary
    lines = [f"{e},Situation {k} of {e}." for e in emotions for k in range(20)]
    write(tmp_path / "isear.csv", "\n".join(lines) + "\n")
    ds = IsearAdapter(tmp_path)
    split = ds.splits("official", seed=0, task=Task("isear", TEXT2MUSIC_RETRIEVAL))[0]
    assert_partition(split, {t.id for t in ds.tracks()})
    emotion = {t.id: t.tags[0] for t in ds.tracks()}
    # 20 per emotion: cuts (1400+50)//100 = 14 and (1700+50)//100 = 17
    for part, n in ((split.train, 14), (split.val, 3), (split.test, 3)):
        assert Counter(emotion[i] for i in part) == dict.fromkeys(emotions, n)
    assert ds.splits("official", seed=11)[0] == split
    assert IsearAdapter(tmp_path).official_split() == split


def test_isear_clear_errors(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        IsearAdapter(tmp_path / "missing")
    write(tmp_path / "mdb" / "isear_databank.mdb", "binary")
    with pytest.raises(DatasetError, match="mdb-export isear_databank.mdb DATA > isear.csv"):
        IsearAdapter(tmp_path / "mdb").tracks()
    write(tmp_path / "junk" / "isear.csv", "a,b,c\n1,2,3\n4,5,6\n")
    with pytest.raises(DatasetError, match="cannot read .*isear.csv.*SIT and Field1"):
        IsearAdapter(tmp_path / "junk").tracks()
    write(tmp_path / "two" / "x.csv", "joy,a\n")
    write(tmp_path / "two" / "y.csv", "joy,b\n")
    with pytest.raises(DatasetError, match="several CSV files"):
        IsearAdapter(tmp_path / "two").tracks()
    (tmp_path / "empty").mkdir()
    report = IsearAdapter(tmp_path / "empty").validate()
    assert report.codes() == {"unreadable_annotations": 1}
    assert "no isear.csv" in report.problems[0].message


@pytest.mark.parametrize(
    "text",
    [
        "No response.",
        "NO RESPONSE",
        "Not applicable to myself.",
        "Can not remember.",
        "Cannot recall the emotion with any force.",
        "Same as in anger.",
        "The same event described under shame.",
        "Honestly, I have never felt disgust at any situation in my life.",
        "Never felt the emotion.",
        "Haven't been frightened for ages.",
        "Never experienced.",
        "Nothing.",
        "",
        "-",
    ],
)
def test_isear_non_answers(text):
    assert is_non_answer(text)


@pytest.mark.parametrize(
    "text",
    [
        "When I could not remember what to say at the meeting.",
        "I could not remember my lines in the school play.",
        "I never felt so happy as when my son was born.",
        "Nothing happens in particular because there is no time for anything else.",
        "Passed an exam by 2 points.",
        "Never experienced such fear as when the plane dropped.",
    ],
)
def test_isear_real_answers_are_kept(text):
    assert not is_non_answer(text)


def test_isear_cleaning_and_emotion_parsing():
    assert clean_passage("[ On days when I feel \u00e1\r\nclose.]") == "On days when I feel close."
    assert clean_passage("Caf\u00e1 is not a mark.") == "Caf\u00e1 is not a mark."
    assert clean_passage("a \u00e1 b") == "a b"
    assert parse_emotion(" Joy ") == "joy" and parse_emotion("7.0") == "guilt"
    assert parse_emotion("surprise") is None and parse_emotion("9") is None


# --------------------------------------------------------------------------
# registry and command line
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name,vocab",
    [
        ("alm", ("anger", "fearful", "happy", "sad", "surprised")),
        ("isear", ("anger", "disgust", "fear", "guilt", "joy", "sadness", "shame")),
        ("synth-text", ("joy", "anger", "fear", "sadness", "serenity")),
    ],
)
def test_text_datasets_are_registered_and_listed_by_the_cli(name, vocab):
    from mer_bench.cli import app

    cls = DATASETS.get(name)
    assert issubclass(cls, TextDataset) and cls.modality == "text"
    assert cls.task_kinds == frozenset({TEXT2MUSIC_RETRIEVAL})
    assert cls.emotion_vocabulary == vocab
    result = CliRunner().invoke(app, ["data", "info", name])
    assert result.exit_code == 0, result.output
    assert name in result.output and "text2music_retrieval" in result.output
    assert " ".join(cls.homepage.split("/")[2:3]) in result.output  # the host name


def test_cli_data_check_on_text_datasets(tmp_path):
    from mer_bench.cli import app

    result = CliRunner().invoke(app, ["data", "check", "synth-text"])
    assert result.exit_code == 0, result.output
    assert "passages per emotion" in result.output and "no problems found" in result.output
    make_alm(tmp_path)
    result = CliRunner().invoke(app, ["data", "check", "alm", "--root", str(tmp_path)])
    assert result.exit_code == 1  # a duplicate id and an unknown code
    assert "duplicate_id" in result.output and "malformed_line" in result.output
