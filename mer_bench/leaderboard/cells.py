"""What the Markdown and HTML tables show in their cells, shared so both read the same.

Numbers are formatted once here; variant labels have their numbers rounded for
reading (the CSV and each row's details keep the full values); the floor rows
(majority class, stratified random) that ignore the features and score the
same on every feature set are shown once; the primary metric goes into the
main table and the other metrics into a secondary one.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import NamedTuple

from mer_bench.leaderboard.build import PROVENANCE_TAGS
from mer_bench.leaderboard.rows import (
    FLOORS,
    RANDOM_WEIGHTS_MARK,
    LeaderboardRow,
    LeaderboardTable,
    MetricStat,
)
from mer_bench.metrics.scoring import higher_is_better

TITLE = "mer-bench leaderboard"
NO_RUNS = (
    "No finished runs yet. Create some with `make bench` (it runs the bench plans in "
    "`experiments/` and logs them to MLflow), then rebuild the leaderboard."
)
INTRO = (
    "Mean and 95 % confidence interval (percentile bootstrap) over all folds and seeds of "
    "finished runs; rows are sorted by the table's primary metric "
    "(↑ higher is better, ↓ lower is better). Two baselines ignore the audio: "
    f"`chance` predicts the training **{FLOORS['chance']}** (on balanced classes its "
    "accuracy is 1/C but its macro F1 only 2/(C(C+1)): 0.10 on four classes) and "
    f"`random-stratified` guesses at random with the training class frequencies "
    f"(**{FLOORS['random-stratified']}**: about 1/C on both). Rows marked "
    f"**{RANDOM_WEIGHTS_MARK}** use untrained feature extractors: they are sanity checks, "
    "not results."
)
ANY_FEATURES = "any features"
SIGNIFICANT = 3  # significant digits of the numbers in shown variant labels

_PROV_NAMES = {
    "git_sha": "git",
    "config_hash": "config",
    "dataset_version": "dataset version",
    "mer_bench_version": "mer-bench",
    "data_fingerprint": "data",
    "labels_unchecked": "labels unchecked:",
}
# provenance parts left out when no run of the row has them
_OPTIONAL_PROV = frozenset({"labels_unchecked"})
# a decimal number standing alone (not part of a version such as 1.2.3 or a word)
_DECIMAL = re.compile(r"(?<![\w.])-?\d+\.\d+(?:[eE][-+]?\d+)?(?![\w.])")


def fmt(value: float | None) -> str:
    """Three decimals, ``n/a`` for a missing or nan value."""
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:.3f}"


def fmt_ci(stat: MetricStat | None) -> str:
    """``0.712 [0.690, 0.733]``: the mean with its 95 % interval."""
    if stat is None or math.isnan(stat.mean):
        return "n/a"
    return f"{fmt(stat.mean)} [{fmt(stat.ci_low)}, {fmt(stat.ci_high)}]"


def arrow(metric: str) -> str:
    return "↑" if higher_is_better(metric) else "↓"


def published_text(stat: MetricStat | None) -> str:
    if stat is None or stat.published is None:
        return ""
    src = f" ({stat.published.source})" if stat.published.source else ""
    return fmt(stat.published.value) + src


def provenance_text(row: LeaderboardRow) -> str:
    """One line naming the code, config, data and weights behind a row."""
    parts = []
    for tag in PROVENANCE_TAGS:
        values = row.provenance.get(tag, ())
        if not values and tag in _OPTIONAL_PROV:
            continue
        shown = [v[:12] if tag == "git_sha" else v for v in values]
        parts.append(f"{_PROV_NAMES[tag]} {', '.join(shown) or 'unknown'}")
    if row.git_dirty:
        parts[0] += " (uncommitted changes)"
    parts.append(f"weights {row.weights or 'unknown'}")
    return " · ".join(parts)


def round_numbers(text: str, digits: int = SIGNIFICANT) -> str:
    """``C=0.1142500448291657`` -> ``C=0.114``: decimals to ``digits`` significant digits.

    Sweeps write full-precision parameters; nobody reads sixteen digits in a table.
    Integers (``sample_rate=16000``) and versions (``1.2.3``) stay as they are.
    """
    return _DECIMAL.sub(lambda m: f"{float(m.group()):.{digits}g}", text)


def variant_text(row: LeaderboardRow) -> str:
    """The short variant (what tells the row apart), rounded; the full list is in its details."""
    return round_numbers(row.shown_variant) or ("default" if not row.variant else "see details")


def row_label(row: LeaderboardRow) -> str:
    """The row's label with the numbers of its variant rounded."""
    return round_numbers(row.label)


def full_parameters(row: LeaderboardRow) -> str:
    """``; parameters: ...`` with the full variant when the table shows less of it."""
    return f"; parameters: {row.variant}" if row.variant and variant_text(row) != row.variant \
        else ""


def secondary_metrics(table: LeaderboardTable) -> tuple[str, ...]:
    """The metrics besides the primary one: shown in a second, folded table."""
    return tuple(m for m in table.metrics if m != table.primary_metric)


def _same_result_key(row: LeaderboardRow) -> tuple[object, ...]:
    stats = tuple(sorted(row.metrics.items()))
    return (row.method, row.protocol, row.variant, row.weights, row.tracks, row.n_folds,
            row.n_seeds, stats)


def _merged(rows: list[LeaderboardRow], every_features: set[str]) -> LeaderboardRow:
    """One row standing for floor rows that differ only in the features they ignored."""
    features = [r.features for r in rows]
    text = ANY_FEATURES if set(features) == every_features else ", ".join(features)
    provenance = {
        tag: tuple(sorted({v for r in rows for v in r.provenance.get(tag, ())}))
        for tag in PROVENANCE_TAGS
    }
    first = rows[0]
    return replace(first, key=replace(first.key, features=text), provenance=provenance,
                   git_dirty=any(r.git_dirty for r in rows))


class ShownRow(NamedTuple):
    """A row as tables show it, with its rank in the CSV (and the last rank it stands
    for when it is floor rows shown once: ``12–13``)."""

    rank: int
    row: LeaderboardRow
    last: int

    @property
    def rank_text(self) -> str:
        return str(self.rank) if self.last == self.rank else f"{self.rank}–{self.last}"


def shown_rows(table: LeaderboardTable) -> list[ShownRow]:
    """The rows as tables and charts show them: the table's rows, except that a floor
    method's rows with identical results on several feature sets become one row naming
    them (``any features`` when they are all of the table's). Ranks stay the CSV's."""
    every_features = {r.features for r in table.rows}
    groups: dict[tuple[object, ...], list[int]] = {}
    for i, row in enumerate(table.rows):
        if row.is_baseline:
            groups.setdefault(_same_result_key(row), []).append(i)
    merged: dict[int, ShownRow] = {}
    dropped: set[int] = set()
    for idx in groups.values():
        if len(idx) > 1:
            row = _merged([table.rows[i] for i in idx], every_features)
            merged[idx[0]] = ShownRow(idx[0] + 1, row, idx[-1] + 1)
            dropped.update(idx[1:])
    return [merged.get(i, ShownRow(i + 1, row, i + 1))
            for i, row in enumerate(table.rows) if i not in dropped]
