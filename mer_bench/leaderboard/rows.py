"""What a leaderboard is made of: rows (one method, features, protocol, variant and
weights, with each metric's mean and CI), the tables that hold them, and the
published values shown beside matching rows. Plain frozen data, so every
renderer shows the same numbers, flags and provenance."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from mer_bench.leaderboard.current import other_data_note
from mer_bench.metrics.scoring import higher_is_better
from mer_bench.tracking.base import UNCHECKED_TAG

CHANCE_METHOD = "chance"
STRATIFIED_METHOD = "random-stratified"
# the floors, by registered method name: what each one predicts, as tables and charts say it
FLOORS = {CHANCE_METHOD: "majority class", STRATIFIED_METHOD: "stratified random"}
RANDOM_WEIGHTS = "random"
RANDOM_WEIGHTS_MARK = "⚠ random weights"
BASELINE_MARK = f"baseline ({FLOORS[CHANCE_METHOD]})"
SIGNIFICANCE = 0.05  # a row is marked worse than #1 below this paired p-value
WORSE_MARK = "▼"
# a known label defect the dataset copy could not be checked for (e.g. DEAM's 2013 swap)
UNCHECKED_MARK = "⚠ labels unchecked"


@dataclass(frozen=True)
class PublishedValue:
    """A number from a paper, shown beside ours where method/features/task/dataset match."""

    task: str
    dataset: str
    method: str
    features: str
    metric: str
    value: float
    source: str = ""
    # the run that reproduces the paper's row: a published number is shown only beside
    # rows of this protocol and variant (None: any); ``fit_tags`` name parts of a row's
    # variant that methods add at fit time (e.g. text_encoder=...), ignored here
    protocol: str | None = None
    variant: str | None = None
    fit_tags: tuple[str, ...] = ()
    # the paper row's ``RunSpec.key``: when given, the number stands only beside rows whose
    # runs carry it in their ``spec_keys`` tag (runs of exactly that row's spec)
    spec_key: str | None = None

    def matches(self, protocol: str, variant: str, spec_keys: Collection[str] = ()) -> bool:
        if self.spec_key is not None:
            return self.spec_key in spec_keys
        if self.protocol is not None and protocol != self.protocol:
            return False
        if self.variant is None:
            return True

        def parts(text: str) -> set[str]:
            return {p for p in text.split(",") if p and p.split("=", 1)[0] not in self.fit_tags}

        return parts(variant) == parts(self.variant)


@dataclass(frozen=True)
class MetricStat:
    """Mean and 95 % bootstrap CI of one metric over ``n`` fold values."""

    mean: float
    ci_low: float
    ci_high: float
    n: int
    published: PublishedValue | None = None


@dataclass(frozen=True)
class RowKey:
    """What makes two runs the same leaderboard row within a table."""

    method: str
    features: str
    protocol: str
    variant: str
    weights: str


@dataclass(frozen=True)
class LeaderboardRow:
    key: RowKey
    metrics: Mapping[str, MetricStat]
    n_folds: int
    n_seeds: int
    provenance: Mapping[str, tuple[str, ...]]
    git_dirty: bool = False
    # primary-metric value per (seed, split hash): pairs rows evaluated on the same splits
    primary_by_split: Mapping[str, float] = field(default_factory=dict)
    # paired test against the table's best row on their common splits
    vs_best_p: float | None = None
    vs_best_pairs: int = 0
    # tracks used of the dataset's tracks, e.g. "240/900" (empty: not recorded)
    tracks: str = ""
    skipped_tracks: int = 0  # tracks left out for validation problems
    # the part of ``variant`` that tells this row from the table's others
    short_variant: str | None = None
    # per-label values (a tagging task's per-tag PR-AUC and ROC-AUC): folded details
    details: Mapping[str, MetricStat] = field(default_factory=dict)
    # what the floors predict on a task that has no classes ("tag frequencies"...)
    floor_texts: Mapping[str, str] = field(default_factory=dict)

    @property
    def method(self) -> str:
        return self.key.method

    @property
    def features(self) -> str:
        return self.key.features

    @property
    def protocol(self) -> str:
        return self.key.protocol

    @property
    def variant(self) -> str:
        return self.key.variant

    @property
    def weights(self) -> str:
        return self.key.weights

    @property
    def is_baseline(self) -> bool:
        """A floor row (majority class or stratified random): what every method must clear."""
        return self.key.method in FLOORS

    @property
    def floor(self) -> str:
        """What the floor predicts ("majority class"); "" for a real method."""
        return self.floor_texts.get(self.key.method, FLOORS.get(self.key.method, ""))

    @property
    def random_weights(self) -> bool:
        """Features from untrained weights: a sanity run, never a real result."""
        return self.key.weights == RANDOM_WEIGHTS

    @property
    def flags(self) -> tuple[str, ...]:
        out = []
        if self.is_baseline:
            out.append(f"baseline ({self.floor})")
        if self.random_weights:
            out.append(RANDOM_WEIGHTS_MARK)
        if self.git_dirty:
            out.append("uncommitted code")
        if self.provenance.get(UNCHECKED_TAG):
            out.append(UNCHECKED_MARK)
        if self.vs_best_p is not None and self.vs_best_p < SIGNIFICANCE:
            p = "p<0.001" if self.vs_best_p < 0.001 else f"p={self.vs_best_p:.3f}"
            out.append(f"{WORSE_MARK} below #1 (paired {p}, {self.vs_best_pairs} splits)")
        return tuple(out)

    @property
    def shown_variant(self) -> str:
        """The variant as tables show it: only what differs from the table's other rows."""
        return self.variant if self.short_variant is None else self.short_variant

    @property
    def tracks_text(self) -> str:
        """``240/900``, plus how many tracks were skipped when any were."""
        text = self.tracks or "?"
        return f"{text} ({self.skipped_tracks} skipped)" if self.skipped_tracks else text

    @property
    def label(self) -> str:
        """Short human name of the row, e.g. ``ridge · musicnn (alpha=10)``."""
        text = f"{self.method} · {self.features}" if self.features else self.method
        if self.shown_variant:
            text += f" ({self.shown_variant})"
        return text

    def stat(self, metric: str) -> MetricStat | None:
        """A summary metric's value, else a per-label detail's (None: not reported)."""
        found = self.metrics.get(metric)
        return found if found is not None else self.details.get(metric)


@dataclass(frozen=True)
class LeaderboardTable:
    task: str
    dataset: str
    metrics: tuple[str, ...]
    primary_metric: str
    rows: tuple[LeaderboardRow, ...]
    published_metrics: tuple[str, ...] = field(default=())
    # "240/900" when the rows used part of the dataset: such a table is never mixed
    # with rows on the whole dataset or on another subset
    subset: str = ""
    # finished runs of this (task, dataset) on data that has changed since: not shown
    other_data_runs: int = 0
    # per-label metrics some row reports (``build.detail_metrics``), folded under the table
    detail_metrics: tuple[str, ...] = ()

    @property
    def other_data_note(self) -> str:
        return other_data_note(self.other_data_runs)

    @property
    def dataset_text(self) -> str:
        return f"{self.dataset} · {self.subset} tracks" if self.subset else self.dataset

    @property
    def title(self) -> str:
        return f"{self.task} — {self.dataset_text}"

    @property
    def anchor(self) -> str:
        """A stable HTML/Markdown anchor for the table of contents."""
        raw = f"{self.task}-{self.dataset}-{self.subset}".lower()
        return "".join(c if c.isalnum() else "-" for c in raw).strip("-")

    @property
    def higher_is_better(self) -> bool:
        return higher_is_better(self.primary_metric)

    @property
    def has_published(self) -> bool:
        return bool(self.published_metrics)

    @property
    def baseline(self) -> LeaderboardRow | None:
        """The best-ranked floor row, majority class first."""
        floors = self.floors
        return floors.get(CHANCE_METHOD) or next(iter(floors.values()), None)

    @property
    def floors(self) -> dict[str, LeaderboardRow]:
        """The best-ranked row of each floor method the table has, by method name."""
        out: dict[str, LeaderboardRow] = {}
        for row in self.rows:
            if row.is_baseline:
                out.setdefault(row.method, row)
        return out

    def detail_groups(self) -> list[tuple[str, tuple[str, ...]]]:
        """The detail metrics by measure, ``[("pr_auc", (pr_auc_<tag>, ...)), ...]``: one
        folded table per measure, one column per label."""
        groups: dict[str, list[str]] = {}
        for metric in self.detail_metrics:
            groups.setdefault(_measure(metric), []).append(metric)
        return [(measure, tuple(names)) for measure, names in groups.items()]

    @property
    def protocols(self) -> tuple[str, ...]:
        return tuple(sorted({r.protocol for r in self.rows}))


DETAIL_MEASURES = ("pr_auc", "roc_auc")


def _measure(metric: str) -> str:
    """``pr_auc`` of ``pr_auc_happy``: the measure a per-label metric name starts with."""
    return next((m for m in DETAIL_MEASURES if metric.startswith(f"{m}_")), metric)
