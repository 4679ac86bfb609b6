"""Evaluation protocols: how a dataset's ids become train / val / test folds.

Protocol strings:

* ``official`` - the dataset's own split (validation carved from its train part
  when it has none); ``official:NAME`` one of several named official splits
  (MTG-Jamendo's ``split-0`` .. ``split-4``; plain ``official`` is the first);
* ``kfold:K`` - K folds, stratified when the task has classes;
* ``repeated:R:TRAIN[:VAL]`` - R random splits with TRAIN of the ids for
  training (e.g. ``repeated:10:0.8``, Takashima et al.'s 8:2). With VAL given,
  ``repeated:20:0.8:0.1`` is Koh & Dubnov's 80/10/10 and the test share is
  1 - TRAIN - VAL; without it the test share is 1 - TRAIN and validation is
  carved from the training share. The training count is rounded down
  (``floor(TRAIN * n)``), as Takashima et al.'s 1441 / 361 of DEAM's 1802 and
  560 / 141 of PMEmo's 701;
* ``artist-disjoint[:K]`` - K folds (default 5) with no artist in two folds; a
  track without artist metadata counts as an artist of its own;
* ``disjoint:FIELD[:K]`` - the same for any track field (``Track.meta[FIELD]``,
  e.g. ``genre``); without K, one fold per value of the field (leave one group
  out: each fold tests one genre, validation carved from the other groups' tracks);
* ``transfer:TARGET`` - train on this dataset, test on every labelled track of
  dataset TARGET (cross-dataset transfer; in a plan, plain ``transfer`` expands
  to every ordered pair of the plan's datasets). The runner builds this split.

Wherever validation is carved from a training share it takes ``VAL_FRACTION``
of it, stratified when possible; a method that does not select on validation
data gets that part back for training (the runner's rule,
``Method.uses_validation``). Every split is a function of (ids, protocol,
seed, labels), so the same inputs always give the same folds and hashes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mer_bench.errors import ConfigError, DatasetError
from mer_bench.protocol import Protocol
from mer_bench.types import Split

VAL_FRACTION = 0.1


# Bumped when a protocol's splits change for the same ids and seed; runs of the
# protocol carry it in their config hash so that a stored result of the old
# splits is never taken for one of the new (2: stratified k-fold deals per class).
KFOLD_SPLIT_VERSION = "2"
# 2: the training share of repeated:R:TRAIN is floor(TRAIN * n), no longer rounded
REPEATED_SPLIT_VERSION = "2"


def make_splits(
    ids: Sequence[str],
    protocol: str | Protocol,
    seed: int,
    *,
    strata: Sequence[int] | None = None,
    groups: Sequence[str | None] | None = None,
    official: Split | None = None,
) -> list[Split]:
    """Expand a protocol over ``ids`` into splits.

    ``strata`` (class labels aligned with ``ids``) turns on stratification,
    ``groups`` (artist per id) is required by ``artist-disjoint``, and
    ``official`` is the dataset's own split for ``official``.
    """
    proto = protocol if isinstance(protocol, Protocol) else Protocol.parse(protocol)
    ids = list(ids)
    if len(set(ids)) != len(ids):
        raise DatasetError("duplicate track ids; run `mer-bench data check` on the dataset")
    y = None if strata is None else np.asarray(strata)
    rng = np.random.default_rng(seed)
    if proto.kind == "official":
        if official is None:
            raise ConfigError("this dataset has no official split; use kfold:K or repeated:R:0.8")
        keep = set(ids)
        split = Split(
            "official",
            tuple(i for i in official.train if i in keep),
            tuple(i for i in official.val if i in keep),
            tuple(i for i in official.test if i in keep),
        )
        if not split.val:
            train, val = _carve_val(list(split.train), _strata_for(split.train, ids, y), rng)
            split = Split("official", tuple(train), tuple(val), split.test)
        return [split]
    if proto.kind == "transfer":
        raise ConfigError("transfer splits span two datasets; the runner builds them")
    if len(ids) < 3:
        raise DatasetError(f"only {len(ids)} labelled tracks: too few to split")
    if proto.kind == "kfold":
        return _kfold(ids, proto.folds, y, rng)
    if proto.kind == "repeated":
        return [_random_split(ids, proto, y, rng, r) for r in range(proto.folds)]
    field = proto.group or "artist"
    if groups is None or all(g is None or g == "" for g in groups):
        raise ConfigError(f"{proto.canonical} needs {field} metadata; this dataset has none")
    if proto.folds == 0:
        return _leave_one_group_out(ids, field, list(groups), y, rng)
    # a track of unknown group forms its own group: it can share no group with others
    named = [g if g else f"\0unknown:{i}" for i, g in zip(ids, groups)]
    return _group_kfold(ids, proto.folds, named, y, rng, field)


def transfer_split(
    train_ids: Sequence[str],
    test_ids: Sequence[str],
    seed: int,
    strata: Sequence[int] | None = None,
) -> Split:
    """Train (and validation carved from it) on one dataset, test on another's ids."""
    y = None if strata is None else np.asarray(strata)
    train, val = _carve_val(list(train_ids), y, np.random.default_rng(seed))
    return Split("transfer", tuple(train), tuple(val), tuple(test_ids))


def _strata_for(subset: Sequence[str], ids: list[str], y: np.ndarray | None) -> np.ndarray | None:
    if y is None:
        return None
    index = {i: k for k, i in enumerate(ids)}
    return y[[index[i] for i in subset]]


def _stratified_order(n: int, y: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """A permutation that deals each class round-robin so slices stay stratified."""
    perm = rng.permutation(n)
    if y is None:
        return perm
    # sort shuffled items by class, then interleave classes by rank within class
    order = perm[np.argsort(y[perm], kind="stable")]
    ranks = np.empty(n)
    for cls in np.unique(y):
        members = order[y[order] == cls]
        ranks[members] = (np.arange(len(members)) + rng.random()) / len(members)
    return order[np.argsort(ranks[order], kind="stable")]


def _deal_to_folds(n: int, k: int, y: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """Fold index of each item: every class's shuffled members are dealt to the folds in
    turn, each class starting where the previous one stopped.

    Folds then differ by at most one item overall and per class, whatever the
    number of classes. (Dealing one class-interleaved order modulo ``k`` instead
    puts a whole class into one fold when the classes are equally large and
    their number shares a factor with ``k``, e.g. two classes and ten folds.)
    """
    fold_of = np.empty(n, dtype=int)
    if y is None:
        fold_of[rng.permutation(n)] = np.arange(n) % k
        return fold_of
    start = 0
    classes = np.unique(y)
    for cls in classes[rng.permutation(len(classes))]:
        members = rng.permutation(np.flatnonzero(y == cls))
        fold_of[members] = (start + np.arange(len(members))) % k
        start = (start + len(members)) % k
    return fold_of


def _carve_val(
    train: list[str], y: np.ndarray | None, rng: np.random.Generator
) -> tuple[list[str], list[str]]:
    n_val = max(1, int(round(VAL_FRACTION * len(train))))
    order = _stratified_order(len(train), y, rng)
    val_idx = set(order[:n_val].tolist())
    return (
        [t for k, t in enumerate(train) if k not in val_idx],
        [t for k, t in enumerate(train) if k in val_idx],
    )


def _kfold(ids: list[str], k: int, y: np.ndarray | None, rng: np.random.Generator) -> list[Split]:
    if k > len(ids):
        raise ConfigError(f"kfold:{k} needs at least {k} tracks, got {len(ids)}")
    fold_of = _deal_to_folds(len(ids), k, y, rng)
    splits = []
    for f in range(k):
        train = [i for i, g in zip(ids, fold_of) if g != f]
        test = tuple(i for i, g in zip(ids, fold_of) if g == f)
        train, val = _carve_val(train, _strata_for(train, ids, y), rng)
        splits.append(Split(f"fold{f}", tuple(train), tuple(val), test))
    return splits


def _random_split(
    ids: list[str], proto: Protocol, y: np.ndarray | None, rng: np.random.Generator, r: int
) -> Split:
    order = _stratified_order(len(ids), y, rng)
    n = len(ids)
    n_train = int(np.floor(proto.train_fraction * n + 1e-9))
    if proto.val_fraction is None:
        n_test = n - n_train
        rest = [ids[i] for i in order[n_test:]]
        test = tuple(ids[i] for i in order[:n_test])
        train, val = _carve_val(rest, _strata_for(rest, ids, y), rng)
    else:
        n_val = max(1, int(round(proto.val_fraction * n)))
        test = tuple(ids[i] for i in order[: n - n_train - n_val])
        val = [ids[i] for i in order[n - n_train - n_val : n - n_train]]
        train = [ids[i] for i in order[n - n_train :]]
    return Split(f"rep{r}", tuple(train), tuple(val), test)


def _leave_one_group_out(
    ids: list[str], field: str, groups: list[str | None], y: np.ndarray | None,
    rng: np.random.Generator,
) -> list[Split]:
    """One fold per value of ``field``: its tracks are the test part; validation is
    carved (stratified) from the other groups' tracks. Tracks without a value train."""
    values = sorted({g for g in groups if g})
    if len(values) < 2:
        raise ConfigError(f"disjoint:{field} needs at least 2 {field} values, found {len(values)}")
    splits = []
    for value in values:
        test = tuple(i for i, g in zip(ids, groups) if g == value)
        rest = [i for i, g in zip(ids, groups) if g != value]
        train, val = _carve_val(rest, _strata_for(rest, ids, y), rng)
        splits.append(Split(f"{field}={value}", tuple(train), tuple(val), test))
    return splits


def _group_kfold(
    ids: list[str], k: int, groups: list[str], y: np.ndarray | None, rng: np.random.Generator,
    field: str = "artist",
) -> list[Split]:
    unique = sorted(set(groups))
    if len(unique) < k:
        raise ConfigError(f"{field}-disjoint:{k} needs at least {k} {field}s, found {len(unique)}")
    # greedy balancing: biggest artists first onto the currently smallest fold
    sizes = {g: groups.count(g) for g in unique}
    shuffled = [unique[i] for i in rng.permutation(len(unique))]
    shuffled.sort(key=lambda g: -sizes[g])
    load = np.zeros(k)
    fold_of_group: dict[str, int] = {}
    for g in shuffled:
        f = int(np.argmin(load))
        fold_of_group[g] = f
        load[f] += sizes[g]
    splits = []
    for f in range(k):
        test = tuple(i for i, g in zip(ids, groups) if fold_of_group[g] == f)
        rest_groups = [g for g in unique if fold_of_group[g] != f]
        rest_groups = [rest_groups[i] for i in rng.permutation(len(rest_groups))]
        n_val_groups = max(1, int(round(VAL_FRACTION * len(rest_groups))))
        val_groups = set(rest_groups[:n_val_groups])
        train = tuple(
            i for i, g in zip(ids, groups) if fold_of_group[g] != f and g not in val_groups
        )
        val = tuple(i for i, g in zip(ids, groups) if g in val_groups)
        splits.append(Split(f"fold{f}", train, val, test))
    return splits
