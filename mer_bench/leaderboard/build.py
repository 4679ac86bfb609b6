"""Turn fold records into leaderboard tables: one per (task, dataset).

Tables are plain frozen data so that every renderer (Markdown, CSV, HTML and
later the paper tables) shows exactly the same numbers, flags and provenance.
A row pools every fold of every seed of one (method, features, protocol,
variant, weights) combination; its score is the mean with a 95 % percentile
bootstrap interval over those fold values.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from mer_bench.errors import TaskError
from mer_bench.leaderboard.current import on_newest_data
from mer_bench.leaderboard.rows import (
    LeaderboardRow,
    LeaderboardTable,
    MetricStat,
    PublishedValue,
    RowKey,
)
from mer_bench.metrics.scoring import higher_is_better
from mer_bench.metrics.stats import bootstrap_ci, paired_bootstrap_pvalue
from mer_bench.tracking.base import FINGERPRINT_TAG, UNCHECKED_TAG, FoldRecord
from mer_bench.types import Family, TaskKind

log = logging.getLogger(__name__)

CI_SEED = 0

# Metrics shown per task family, in display order (only those present are shown);
# ``{dim}`` expands to each dimension of a regression task (``r2_valence``...).
SHOWN_METRICS: dict[Family, tuple[str, ...]] = {
    Family.CLASSIFICATION: ("macro_f1", "accuracy"),
    Family.REGRESSION: ("r2", "r2_{dim}", "ccc", "rmse"),
    Family.SEQUENCE_REGRESSION: ("r2", "ccc", "rmse", "rmse_song", "pearson_song"),
    Family.MUSIC_EMOTION_RETRIEVAL: (
        "mrr",
        "m2e_mrr",
        "e2m_mrr",
        "m2e_median_rank",
        "e2m_median_rank",
        "m2e_recall@5",
        "e2m_recall@5",
    ),
    # macro scores under the primary mapping, then under each of Won et al.'s three
    Family.TEXT_MUSIC_RETRIEVAL: (
        "mrr",
        "precision@5",
        "va_precision@5",
        "va_mrr",
        "w2v_precision@5",
        "w2v_mrr",
        "manual_precision@5",
        "manual_mrr",
    ),
    # MediaEval's ranking metric first; per-tag values are the table's folded details
    Family.TAGGING: (
        "pr_auc_macro", "roc_auc_macro", "pr_auc_micro", "roc_auc_micro", "f1_macro",
    ),
}


# what the floors predict where a task has no classes (classes: ``rows.FLOORS``)
FAMILY_FLOORS: dict[Family, dict[str, str]] = {
    Family.TAGGING: {"chance": "training tag frequencies", "random-stratified": "random tags"},
    Family.REGRESSION: {"chance": "training mean", "random-stratified": "random training values"},
    Family.SEQUENCE_REGRESSION: {"chance": "training mean",
                                 "random-stratified": "random training frames"},
    Family.MUSIC_EMOTION_RETRIEVAL: {"chance": "random similarities"},
    Family.TEXT_MUSIC_RETRIEVAL: {"chance": "random similarities"},
}


def shown_metrics(kind: TaskKind) -> tuple[str, ...]:
    """The summary columns of ``kind``'s tables (its primary metric first)."""
    out: list[str] = [kind.primary_metric]
    for metric in SHOWN_METRICS.get(kind.family, ()):
        names = [metric.format(dim=d) for d in kind.dimensions] if "{dim}" in metric else [metric]
        out += [m for m in names if m not in out]
    return tuple(out)


def detail_metrics(kind: TaskKind) -> tuple[str, ...]:
    """Per-label columns folded under a table (per tag: PR-AUC and ROC-AUC)."""
    if kind.family is not Family.TAGGING:
        return ()
    return tuple(f"{m}_{tag}" for tag in kind.tag_names for m in ("pr_auc", "roc_auc"))


# Tags pooled into a row's provenance (each distinct value is listed).
PROVENANCE_TAGS = ("git_sha", "config_hash", "dataset_version", "mer_bench_version",
                   FINGERPRINT_TAG, UNCHECKED_TAG)


def _row_key(record: FoldRecord) -> RowKey:
    return RowKey(
        method=record.tag("method"),
        features=record.tag("features"),
        protocol=record.tag("protocol"),
        variant=record.tag("variant"),
        weights=record.tag("weights"),
    )


def _task_kind(task: str) -> TaskKind | None:
    try:
        return TaskKind.parse(task)
    except Exception:  # TaskError; an unknown kind is reported, not fatal
        return None


def _kind_from_tags(task: str, records: Sequence[FoldRecord]) -> TaskKind:
    """A stand-in for a task whose declaring module is not importable here (a plug-in
    of another machine): its family and primary metric as the runs tagged them, with
    the label names its per-label metrics carry."""
    rec = next(r for r in records if r.tag("primary_metric"))
    family = Family(rec.tag("task_family"))
    prefix = {Family.CLASSIFICATION: "f1_", Family.TAGGING: "pr_auc_"}.get(family, "r2_")
    reserved = {"macro", "micro"}
    labels = tuple(dict.fromkeys(
        k[len(prefix):] for r in records for k in r.metrics
        if k.startswith(prefix) and k[len(prefix):] not in reserved
    ))
    if not family.has_label_space:
        labels = ()
    elif len(labels) < 2:
        labels = ("label_0", "label_1")  # the shown columns need no names
    return TaskKind(task, family, labels, primary_metric=rec.tag("primary_metric"))


def _dedupe(records: Sequence[FoldRecord]) -> list[FoldRecord]:
    """One record per (seed, fold), in canonical (seed, fold) order: a re-run of the same
    config must not count twice, and the bootstrap sees the same order in every store.

    Which duplicate survives is deterministic (the greatest parent then run id).
    """
    chosen: dict[tuple[str, str], FoldRecord] = {}
    for rec in sorted(records, key=lambda r: (r.parent_run_id, r.run_id)):
        chosen[(rec.tag("seed"), rec.tag("fold") or rec.run_id)] = rec
    if len(chosen) < len(records):
        log.warning(
            "%d duplicate fold record(s) for %s ignored",
            len(records) - len(chosen),
            _row_key(records[0]),
        )
    return sorted(chosen.values(), key=lambda r: r.order_key)


def _metric_value(record: FoldRecord, metric: str) -> float | None:
    for key, value in record.metrics.items():
        if key == metric and value is not None and not math.isnan(value):
            return float(value)
    return None


def _fold_values(records: Sequence[FoldRecord], metric: str) -> list[float]:
    return [v for rec in records if (v := _metric_value(rec, metric)) is not None]


def _metric_stat(values: Sequence[float], published: PublishedValue | None) -> MetricStat:
    mean, low, high = bootstrap_ci(values, confidence=0.95, seed=CI_SEED)
    return MetricStat(mean, low, high, len(values), published)




def _split_key(record: FoldRecord) -> str:
    return f"{record.tag('seed')}/{record.tag('fold_split_hash') or record.tag('fold')}"


def _with_paired_tests(rows: tuple[LeaderboardRow, ...]) -> tuple[LeaderboardRow, ...]:
    """Paired bootstrap of each row against the best one on the splits both were run on."""
    if len(rows) < 2 or not rows[0].primary_by_split:
        return rows
    best = rows[0].primary_by_split
    out = [rows[0]]
    for row in rows[1:]:
        common = sorted(set(best) & set(row.primary_by_split))
        if len(common) < 2:
            out.append(row)
            continue
        p = paired_bootstrap_pvalue(
            [best[k] for k in common], [row.primary_by_split[k] for k in common]
        )
        out.append(replace(row, vs_best_p=float(p), vs_best_pairs=len(common)))
    return tuple(out)


def _is_true(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes")


def _build_row(
    key: RowKey,
    records: Sequence[FoldRecord],
    metrics: Sequence[str],
    published: Mapping[tuple[str, str, str], Sequence[PublishedValue]],
    primary: str = "",
    details: Sequence[str] = (),
) -> LeaderboardRow:
    stats = {}
    spec_keys = {k for r in records for k in r.tag("spec_keys").split(",") if k}
    for metric in metrics:
        values = _fold_values(records, metric)
        if values:
            candidates = published.get((key.method, key.features, metric), ())
            pub = next(
                (p for p in candidates if p.matches(key.protocol, key.variant, spec_keys)), None
            )
            stats[metric] = _metric_stat(values, pub)
    provenance = {
        tag: tuple(sorted({r.tag(tag) for r in records if r.tag(tag)})) for tag in PROVENANCE_TAGS
    }
    tracks = sorted({_tracks_of(r) for r in records} - {""})
    skipped = [int(t) for r in records if (t := r.tag("skipped_tracks")).isdigit()]
    return LeaderboardRow(
        key=key,
        tracks=", ".join(tracks),
        skipped_tracks=max(skipped, default=0),
        metrics=stats,
        n_folds=len({r.tag("fold") or r.run_id for r in records}),
        n_seeds=len({r.tag("seed") for r in records}),
        provenance=provenance,
        git_dirty=any(_is_true(r.tag("git_dirty")) for r in records),
        primary_by_split={
            _split_key(r): float(v) for r in records if (v := _metric_value(r, primary)) is not None
        },
        details={m: _metric_stat(values, None) for m in details
                 if (values := _fold_values(records, m))},
    )


def _tracks_of(record: FoldRecord) -> str:
    """``used/total`` from a fold's tags; ``used`` alone when the total is unknown."""
    used, total = record.tag("tracks_used"), record.tag("tracks_total")
    if not used:
        return ""
    return f"{used}/{total}" if total else used


def _subset_of(record: FoldRecord) -> str:
    """The ``used/total`` mark of a run on part of its dataset; "" for the whole."""
    used, total = record.tag("tracks_used"), record.tag("tracks_total")
    if used.isdigit() and total.isdigit() and int(used) < int(total):
        return f"{used}/{total}"
    return ""


SHORT_PARTS = 2  # a row alone in its group shows its variant only up to this many parts


def short_variants(variants: Sequence[str], groups: Sequence[object] | None = None) -> list[str]:
    """Each variant without the ``key=value`` parts the other rows of its group share.

    Rows of one (method, features) group then read ``network=large`` instead of the
    full parameter list; a row alone in its group keeps a short variant and drops a
    long one (method and features already tell it apart). The full list stays in
    each row's details.
    """
    keys = list(groups) if groups is not None else [None] * len(variants)
    split = [[p for p in v.split(",") if p] for v in variants]
    members: dict[object, list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        members[key].append(i)
    out = list(variants)
    for idx in members.values():
        if len(idx) == 1:
            parts = split[idx[0]]
            out[idx[0]] = ",".join(parts) if len(parts) <= SHORT_PARTS else ""
            continue
        common = set(split[idx[0]]).intersection(*(set(split[i]) for i in idx[1:]))
        for i in idx:
            out[i] = ",".join(p for p in split[i] if p not in common)
    return out


def sort_rows(rows: Iterable[LeaderboardRow], primary: str) -> tuple[LeaderboardRow, ...]:
    """Best first by the primary metric's mean; rows without it go last."""
    sign = -1.0 if higher_is_better(primary) else 1.0

    def order(row: LeaderboardRow) -> tuple[int, float, str, str, str, str, str]:
        stat = row.stat(primary)
        mean = math.nan if stat is None else stat.mean
        missing = math.isnan(mean)
        value = 0.0 if missing else sign * mean
        k = row.key
        return (int(missing), value, k.method, k.features, k.protocol, k.variant, k.weights)

    return tuple(sorted(rows, key=order))


def _present_metrics(
    kind: TaskKind, records: Sequence[FoldRecord], extra: Iterable[str]
) -> tuple[str, ...]:
    """The kind's shown metrics (plus published ones) that at least one fold reports."""
    present = {k for r in records for k in r.metrics}
    wanted = list(shown_metrics(kind))
    wanted += [m for m in extra if m not in wanted]
    return tuple(m for m in wanted if m in present)


PublishedIndex = dict[tuple[str, str], dict[tuple[str, str, str], list[PublishedValue]]]


def _published_index(published: Iterable[PublishedValue]) -> PublishedIndex:
    index: PublishedIndex = defaultdict(lambda: defaultdict(list))
    for pub in published:
        kind = _task_kind(pub.task)
        task = kind.value if kind is not None else str(pub.task)
        metric = pub.metric
        index[(task, pub.dataset)][(pub.method, pub.features, metric)].append(pub)
    return index


def _build_table(
    task: str,
    dataset: str,
    records: Sequence[FoldRecord],
    published: Mapping[tuple[str, str, str], Sequence[PublishedValue]],
    subset: str = "",
    other_data_runs: int = 0,
) -> LeaderboardTable:
    kind = _task_kind(task) or _kind_from_tags(task, records)
    metrics = _present_metrics(kind, records, (m for (_, _, m) in published))
    present = {k for r in records for k in r.metrics}
    details = tuple(m for m in detail_metrics(kind) if m in present and m not in metrics)
    by_row: dict[RowKey, list[FoldRecord]] = defaultdict(list)
    for rec in records:
        by_row[_row_key(rec)].append(rec)
    rows = [
        _build_row(k, _dedupe(recs), metrics, published, kind.primary_metric, details)
        for k, recs in by_row.items()
    ]
    used = {m for r in rows for m, s in r.metrics.items() if s.published is not None}
    short = short_variants([r.variant for r in rows],
                           [(r.method, r.features, r.protocol, r.weights) for r in rows])
    floors = FAMILY_FLOORS.get(kind.family, {})
    rows = [replace(r, short_variant=v, floor_texts=floors)
            for r, v in zip(rows, short, strict=True)]
    return LeaderboardTable(
        task=kind.value,
        dataset=dataset,
        subset=subset,
        metrics=metrics,
        primary_metric=kind.primary_metric,
        rows=_with_paired_tests(sort_rows(rows, kind.primary_metric)),
        published_metrics=tuple(m for m in metrics if m in used),
        other_data_runs=other_data_runs,
        detail_metrics=details,
    )


def build_tables(
    records: Iterable[FoldRecord], published: Iterable[PublishedValue] = ()
) -> list[LeaderboardTable]:
    """One table per (task, dataset, subset), sorted by task then dataset.

    Runs on part of a dataset (``tracks_used < tracks_total``) get their own table,
    titled with the share, so they are never ranked beside runs on the whole.

    Records without a ``task``/``dataset`` tag or with an unknown task kind are
    skipped with a warning: they cannot be placed in any table. Runs on data
    that has changed since (an older data fingerprint) are left out, and each
    table says how many (``leaderboard.current``).
    """
    current = on_newest_data(records)
    groups: dict[tuple[str, str, str], list[FoldRecord]] = defaultdict(list)
    for rec in current.records:
        kind = _task_kind(rec.tag("task"))
        if kind is None and rec.tag("primary_metric") and rec.tag("task_family"):
            try:
                kind = _kind_from_tags(rec.tag("task"), [rec])
            except (TaskError, ValueError):  # a malformed tag: reported below
                kind = None
        if kind is None or not rec.tag("dataset"):
            log.warning("fold run %s has no usable task/dataset tags; skipped", rec.run_id)
            continue
        groups[(kind.value, rec.tag("dataset"), _subset_of(rec))].append(rec)
    index = _published_index(published)
    return [
        _build_table(task, dataset, groups[(task, dataset, subset)],
                     index.get((task, dataset), {}), subset,
                     current.hidden_runs.get((task, dataset), 0))
        for task, dataset, subset in sorted(groups)
    ]
