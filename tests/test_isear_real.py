"""The ISEAR adapter on the real ``isear.csv`` in ../shared/data/isear (skipped when absent).

The expectations are worked out from the file itself with a plain ``split("|")``
(independent of the adapter's parser) and from the databank's published size:
7,666 reported situations, 1,093 to 1,096 per emotion.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from mer_bench.data.isear import IsearAdapter

pytestmark = [pytest.mark.realdata, pytest.mark.usefixtures("no_env_roots")]

# rows per emotion of the ISEAR databank (Scherer & Wallbott), 7,666 in all
DATABANK = {"anger": 1096, "disgust": 1096, "fear": 1095, "guilt": 1093, "joy": 1094,
            "sadness": 1096, "shame": 1096}  # fmt: skip
FIELD1, MYKEY, SIT = 36, 39, 40  # columns of the pipe-separated export


@pytest.fixture(scope="module")
def root(shared_data: Path) -> Path:
    folder = shared_data / "isear"
    if not (folder / "isear.csv").is_file():
        pytest.skip(f"{folder / 'isear.csv'} is absent (the ISEAR export is not in shared data)")
    return folder


@pytest.fixture(scope="module")
def raw(root: Path) -> list[list[str]]:
    """Data rows split naively on '|' (a SIT with quotes may spill into extra fields)."""
    lines = (root / "isear.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].split("|")[FIELD1] == "Field1" and lines[0].split("|")[SIT] == "SIT"
    return [line.split("|") for line in lines[1:] if line.strip()]


@pytest.fixture(scope="module")
def isear(root: Path) -> IsearAdapter:
    return IsearAdapter(root)


def test_raw_file_is_the_whole_databank(raw):
    assert len(raw) == 7666
    assert Counter(r[FIELD1] for r in raw) == DATABANK


def test_counts_per_emotion_are_the_databank_minus_the_dropped_non_answers(isear, raw):
    kept = Counter(t.tags[0] for t in isear.tracks())
    ids = {t.id for t in isear.tracks()}
    dropped = [r for r in raw if r[MYKEY] not in ids]
    assert len(ids) + len(dropped) == 7666
    for emotion, n in DATABANK.items():
        assert kept[emotion] + sum(r[FIELD1] == emotion for r in dropped) == n
    # every emotion keeps at least 95 % of its rows: non-answers are the exception
    assert all(kept[e] >= 0.95 * n for e, n in DATABANK.items())
    report = isear.validate()
    assert report.errors() == []
    flagged = {p.track_id for p in report.problems if p.code == "unusable_passage"}
    assert flagged == {r[MYKEY] for r in dropped}


def test_non_answers_are_dropped_and_real_answers_kept(isear, raw):
    sit = {r[MYKEY]: " ".join(r[SIT].split()) for r in raw}
    ids = {t.id for t in isear.tracks()}
    # read in the file: stock non-answers
    for key in ("0110064", "0110066", "0210106"):
        assert key not in ids, sit[key]
    assert sit["0110064"] == "[ Same as in anger.]"
    assert "0110063" in ids  # "Friends who torture animals.": short but a real answer

    # a long answer is never taken for a stock phrase (words, not the "á" line-break marks)
    def words(text: str) -> int:
        return sum(w not in ("á", "[", "]") for w in text.split())

    assert all(words(sit[r[MYKEY]]) <= 12 for r in raw if r[MYKEY] not in ids)


def test_official_split_is_70_15_15_per_emotion(isear):
    (split,) = isear.splits("official", seed=0)
    parts = [set(split.train), set(split.val), set(split.test)]
    assert sum(map(len, parts)) == len(set().union(*parts)) == len(isear.tracks())
    emotion = {t.id: t.tags[0] for t in isear.tracks()}
    per = Counter(emotion.values())
    for part, share in zip(parts, (0.70, 0.15, 0.15)):
        counts = Counter(emotion[i] for i in part)
        assert all(abs(counts[e] - share * n) <= 1 for e, n in per.items())
    # 15 % of the 7,510 usable passages; the authors' 1,150 test texts are 15 % of all 7,666
    assert len(split.test) == len(split.val) == 1126
    assert isear.splits("official", seed=5)[0] == split  # fixed, whatever the run seed


def test_repeated_passages_are_reported(isear, raw):
    sit = {r[MYKEY]: " ".join(r[SIT].split()) for r in raw}
    ids = [t.id for t in isear.tracks()]
    extra = sum(c - 1 for c in Counter(sit[i] for i in ids).values() if c > 1)
    repeats = [p for p in isear.validate().problems if p.code == "repeated_passage"]
    assert len(repeats) == extra == 64
    assert sit["0210054"] == sit["0110564"] == "When my girlfriend left me."
    example = next(p for p in repeats if p.track_id == "0210054")
    assert "0110564" in example.message and example.severity == "info"
