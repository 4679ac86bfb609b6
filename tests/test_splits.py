from collections import Counter

import numpy as np
import pytest

from mer_bench.data.splits import make_splits
from mer_bench.errors import ConfigError
from mer_bench.protocol import Protocol
from mer_bench.types import Split

IDS = [f"t{i}" for i in range(100)]
LABELS = [i % 4 for i in range(100)]


def _check_disjoint(split: Split, ids=IDS):
    parts = [set(split.train), set(split.val), set(split.test)]
    assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
    assert parts[0] | parts[1] | parts[2] <= set(ids)


def test_kfold_covers_every_id_once_as_test_and_is_stratified():
    splits = make_splits(IDS, "kfold:5", seed=0, strata=LABELS)
    assert len(splits) == 5
    tested = Counter(i for s in splits for i in s.test)
    assert set(tested) == set(IDS) and set(tested.values()) == {1}
    label = dict(zip(IDS, LABELS))
    for s in splits:
        _check_disjoint(s)
        assert len(s.train) + len(s.val) + len(s.test) == 100
        assert Counter(label[i] for i in s.test) == {0: 5, 1: 5, 2: 5, 3: 5}


def test_same_seed_same_hash_other_seed_other_folds():
    a = make_splits(IDS, "kfold:5", 0, strata=LABELS)
    b = make_splits(IDS, "kfold:5", 0, strata=LABELS)
    c = make_splits(IDS, "kfold:5", 1, strata=LABELS)
    assert [s.hash for s in a] == [s.hash for s in b]
    assert [s.hash for s in a] != [s.hash for s in c]


def test_repeated_with_and_without_val_share():
    koh = make_splits(IDS, "repeated:20:0.8:0.1", 0)
    assert len(koh) == 20
    assert {(len(s.train), len(s.val), len(s.test)) for s in koh} == {(80, 10, 10)}
    tak = make_splits(IDS, "repeated:3:0.8", 0)
    assert {len(s.test) for s in tak} == {20}
    assert all(len(s.train) + len(s.val) == 80 for s in tak)
    for s in koh + tak:
        _check_disjoint(s)


def test_artist_disjoint_keeps_artists_apart():
    artists = [f"a{i % 13}" for i in range(100)]
    artist = dict(zip(IDS, artists))
    for s in make_splits(IDS, "artist-disjoint:4", 0, groups=artists):
        _check_disjoint(s)
        groups = [{artist[i] for i in part} for part in (s.train, s.val, s.test)]
        assert (
            not (groups[0] & groups[2])
            and not (groups[1] & groups[2])
            and not (groups[0] & groups[1])
        )


def test_artist_disjoint_without_artists_is_a_clear_error():
    with pytest.raises(ConfigError, match="artist metadata"):
        make_splits(IDS, "artist-disjoint", 0, groups=[None] * 100)


def test_tracks_of_unknown_artist_are_their_own_group():
    artists = [None if i < 3 else f"a{i % 7}" for i in range(100)]
    splits = make_splits(IDS, "artist-disjoint:4", 0, groups=artists)
    assert sorted(i for s in splits for i in s.test) == sorted(IDS)


def test_official_split_gets_a_validation_part_when_it_has_none():
    official = Split("official", tuple(IDS[:80]), (), tuple(IDS[80:]))
    (s,) = make_splits(IDS, "official", 0, official=official, strata=LABELS)
    assert s.test == tuple(IDS[80:]) and len(s.val) == 8 and len(s.train) == 72


@pytest.mark.parametrize(
    "text",
    [
        "kfold",
        "kfold:1",
        "repeated:3",
        "repeated:3:1.2",
        "repeated:2:0.8:0.3",
        "holdout",
        "artist-disjoint:1",
    ],
)
def test_bad_protocols_are_rejected(text):
    with pytest.raises(ConfigError, match="bad protocol"):
        Protocol.parse(text)


def test_official_without_official_split_says_what_to_use():
    with pytest.raises(ConfigError, match="no official split"):
        make_splits(IDS, "official", 0)


def test_stratified_order_is_a_permutation():
    splits = make_splits(IDS, "kfold:3", 5, strata=np.array(LABELS))
    assert sorted(i for s in splits for i in s.test) == sorted(IDS)


@pytest.mark.parametrize("n_classes,k", [(2, 2), (2, 10), (4, 4), (5, 5), (3, 5)])
def test_kfold_spreads_every_class_over_every_fold(n_classes, k):
    """Equal-sized classes whose number shares a factor with K once aliased into whole-class
    folds (two classes, ten folds: each test fold held one class only)."""
    per_class = 20
    ids = [f"t{i}" for i in range(n_classes * per_class)]
    y = [i % n_classes for i in range(len(ids))]
    label = dict(zip(ids, y))
    for seed in (0, 1):
        folds = make_splits(ids, f"kfold:{k}", seed, strata=y)
        assert sorted(i for f in folds for i in f.test) == sorted(ids)
        for fold in folds:
            counts = np.bincount([label[i] for i in fold.test], minlength=n_classes)
            assert counts.max() - counts.min() <= 1, (seed, counts)


@pytest.mark.parametrize(("n", "train", "test"), [(1802, 1441, 361), (701, 560, 141)])
def test_repeated_train_share_is_rounded_down_as_takashima_counts(n, train, test):
    """Takashima et al. print 1441 / 361 pairs for DEAM and 560 / 141 for PMEmo at 8:2."""
    from mer_bench.data.splits import make_splits

    (split,) = make_splits([f"t{i}" for i in range(n)], "repeated:1:0.8", seed=0)
    assert len(split.test) == test
    assert len(split.train) + len(split.val) == train


def test_disjoint_field_without_k_leaves_one_group_out_per_fold():
    ids = [f"t{i}" for i in range(20)]
    genres = ["rock", "pop", "jazz", "folk"] * 5
    splits = make_splits(ids, "disjoint:genre", 0, groups=genres)
    assert [s.name for s in splits] == ["genre=folk", "genre=jazz", "genre=pop", "genre=rock"]
    by_id = dict(zip(ids, genres, strict=True))
    for split in splits:
        assert len({by_id[i] for i in split.test}) == 1
        assert {by_id[i] for i in split.train + split.val}.isdisjoint(by_id[i] for i in split.test)
    assert Protocol.parse("disjoint:genre:2").folds == 2
    assert Protocol.parse("disjoint:genre").folds == 0
    with pytest.raises(ConfigError, match="disjoint:genre needs genre metadata"):
        make_splits(ids, "disjoint:genre", 0, groups=[None] * 20)


def test_official_may_name_one_of_several_splits():
    proto = Protocol.parse("official:split-3")
    assert (proto.kind, proto.split_name) == ("official", "split-3")
    assert Protocol.parse("official").split_name == ""
