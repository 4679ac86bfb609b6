"""The leaderboard from tracker fold runs: grouping, statistics, flags and the three outputs."""

from __future__ import annotations

import csv
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from mer_bench.leaderboard import PublishedValue, build_tables, write_leaderboard
from mer_bench.leaderboard.build import sort_rows
from mer_bench.leaderboard.render import fmt_ci, render_html
from mer_bench.leaderboard.rows import BASELINE_MARK, RANDOM_WEIGHTS_MARK, LeaderboardTable
from mer_bench.tracking.base import FINISHED, FOLD, RUN, RUNNING
from mer_bench.tracking.memory import InMemoryTracker

CLS_VALUES = {  # method -> features, weights, per seed per fold macro_f1
    "svm": ("musicnn", "real", [[0.61, 0.65, 0.58], [0.63, 0.60, 0.66]]),
    "mlp": ("clap", "real", [[0.70, 0.74, 0.69], [0.72, 0.71, 0.75]]),
    "probe": ("mert", "random", [[0.40, 0.42, 0.38], [0.41, 0.39, 0.44]]),
    "chance": ("none", "none", [[0.25, 0.24, 0.26], [0.25, 0.25, 0.23]]),
}
RET_VALUES = {
    "dual": [0.30, 0.34, 0.28],
    "chance": [0.05, 0.04, 0.06],
}


def add_run(
    tracker: InMemoryTracker,
    *,
    task: str,
    dataset: str,
    method: str,
    features: str,
    seed: int,
    folds: list[dict[str, float]],
    weights: str = "real",
    status: str = FINISHED,
    variant: str = "",
) -> str:
    """One parent run (kind=run) with one child per fold (kind=fold), like the runner."""
    tags = {
        "task": task,
        "dataset": dataset,
        "method": method,
        "features": features,
        "protocol": "cv3",
        "variant": variant,
        "seed": str(seed),
        "weights": weights,
        "config_hash": f"cfg-{method}-{features}-{seed}",
        "git_sha": "abc1234def5678",
        "dataset_version": "1.0",
        "mer_bench_version": "0.1.0",
    }
    parent = tracker.start_run(f"{method}-{seed}", {**tags, "kind": RUN})
    for i, metrics in enumerate(folds):
        child = tracker.start_run(
            f"fold{i}", {**tags, "kind": FOLD, "fold": str(i)}, parent_id=parent
        )
        tracker.log_metrics(child, metrics)
        tracker.end_run(child)
    tracker.end_run(parent, status)
    return parent


def demo_tracker() -> InMemoryTracker:
    """Two quadrant tables (one with chance and a random-weights row) and a retrieval one."""
    t = InMemoryTracker()
    for method, (features, weights, per_seed) in CLS_VALUES.items():
        for seed, values in enumerate(per_seed):
            folds = [{"macro_f1": v, "accuracy": v + 0.05, "f1_Q1": v} for v in values]
            add_run(
                t,
                task="quadrant",
                dataset="4q",
                method=method,
                features=features,
                seed=seed,
                folds=folds,
                weights=weights,
            )
    add_run(
        t,
        task="quadrant",
        dataset="pmemo",
        method="svm",
        features="musicnn",
        seed=0,
        folds=[{"macro_f1": 0.5, "accuracy": 0.55}],
    )
    for method, values in RET_VALUES.items():
        folds = [
            {
                "mrr": v,
                "m2e_mrr": v,
                "e2m_mrr": v,
                "m2e_median_rank": 10 / v,
                "e2m_median_rank": 11 / v,
                "m2e_recall@5": v + 0.1,
                "e2m_recall@5": v + 0.2,
            }
            for v in values
        ]
        add_run(
            t,
            task="m2e_e2m_retrieval",
            dataset="deam",
            method=method,
            features="clap",
            seed=0,
            folds=folds,
        )
    # an interrupted run: its parent never finished, so it must stay off the board
    add_run(
        t,
        task="quadrant",
        dataset="4q",
        method="ghost",
        features="musicnn",
        seed=0,
        folds=[{"macro_f1": 0.99, "accuracy": 0.99}],
        status=RUNNING,
    )
    return t


@pytest.fixture()
def tracker() -> InMemoryTracker:
    return demo_tracker()


@pytest.fixture(scope="module")
def tables() -> dict[tuple[str, str], LeaderboardTable]:
    return {(t.task, t.dataset): t for t in build_tables(demo_tracker().fold_records())}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    paths = write_leaderboard(demo_tracker(), tmp_path_factory.mktemp("leaderboard"))
    return {kind: p.read_text(encoding="utf-8") for kind, p in paths.items()}


def row_of(table: LeaderboardTable, method: str):
    return next(r for r in table.rows if r.method == method)


def test_one_table_per_task_and_dataset(tables) -> None:
    assert set(tables) == {("quadrant", "4q"), ("quadrant", "pmemo"), ("m2e_e2m_retrieval", "deam")}


def test_running_parent_is_left_out(tables, written) -> None:
    assert all(r.method != "ghost" for t in tables.values() for r in t.rows)
    assert all("ghost" not in text for text in written.values())


def test_means_cis_and_counts(tables) -> None:
    table = tables[("quadrant", "4q")]
    assert table.metrics == ("macro_f1", "accuracy")  # f1_Q1 is not a shown metric
    for method, (_, _, per_seed) in CLS_VALUES.items():
        row = row_of(table, method)
        values = np.ravel(per_seed)
        stat = row.stat("macro_f1")
        assert stat.mean == pytest.approx(np.mean(values))
        assert row.stat("accuracy").mean == pytest.approx(np.mean(values + 0.05))
        assert stat.ci_low <= stat.mean <= stat.ci_high
        assert stat.ci_low < stat.ci_high
        assert (stat.n, row.n_folds, row.n_seeds) == (6, 3, 2)
        assert row.provenance["git_sha"] == ("abc1234def5678",)
        assert len(row.provenance["config_hash"]) == 2  # one per seed


def test_rows_sorted_by_primary_metric(tables) -> None:
    table = tables[("quadrant", "4q")]
    assert [r.method for r in table.rows] == ["mlp", "svm", "probe", "chance"]
    # lower-is-better primaries sort ascending
    by_rank = sort_rows(tables[("m2e_e2m_retrieval", "deam")].rows, "m2e_median_rank")
    assert [r.method for r in by_rank] == ["dual", "chance"]
    assert [r.method for r in sort_rows(table.rows, "accuracy")] == [
        "mlp",
        "svm",
        "probe",
        "chance",
    ]


def test_lower_is_better_sorting_is_ascending(tables) -> None:
    rows = tables[("m2e_e2m_retrieval", "deam")].rows
    medians = [r.stat("m2e_median_rank").mean for r in sort_rows(rows, "m2e_median_rank")]
    assert medians == sorted(medians)
    mrrs = [r.stat("mrr").mean for r in rows]
    assert mrrs == sorted(mrrs, reverse=True)


def test_chance_row_is_the_flagged_baseline(tables, written) -> None:
    table = tables[("quadrant", "4q")]
    chance = row_of(table, "chance")
    assert table.baseline is chance and chance.is_baseline and BASELINE_MARK in chance.flags
    assert not row_of(table, "svm").is_baseline
    # the main tables (with the n column; the folded ones list other metrics only)
    chance_lines = [ln for ln in written["markdown"].splitlines()
                    if "| *chance* |" in ln and " × " in ln]
    # classes: the majority class; other families say what chance predicts there
    assert len(chance_lines) == 2 and any(BASELINE_MARK in ln for ln in chance_lines)
    assert any("baseline (random similarities)" in ln for ln in chance_lines)
    assert BASELINE_MARK == "baseline (majority class)"
    assert 'class="badge baseline"' in written["html"]


def test_random_weights_marked_everywhere(tables, written) -> None:
    probe = row_of(tables[("quadrant", "4q")], "probe")
    assert probe.random_weights and RANDOM_WEIGHTS_MARK in probe.flags
    md_probe = [ln for ln in written["markdown"].splitlines() if ln.startswith("| 3 | probe")]
    assert md_probe and RANDOM_WEIGHTS_MARK in md_probe[0]
    md_svm = [ln for ln in written["markdown"].splitlines() if "| svm |" in ln]
    assert md_svm and all(RANDOM_WEIGHTS_MARK not in ln for ln in md_svm)
    rows = list(csv.DictReader(written["csv"].splitlines()))
    assert {r["random_weights"] for r in rows if r["method"] == "probe"} == {"true"}
    assert {r["random_weights"] for r in rows if r["method"] != "probe"} == {"false"}
    assert all(RANDOM_WEIGHTS_MARK in r["flags"] for r in rows if r["method"] == "probe")
    assert 'class="random"' in written["html"]
    assert f'<span class="badge random">{RANDOM_WEIGHTS_MARK}</span>' in written["html"]


def test_at_metric_names_shown_as_scored(tables, written) -> None:
    table = tables[("m2e_e2m_retrieval", "deam")]
    assert "m2e_recall@5" in table.metrics and "e2m_recall@5" in table.metrics
    assert not any("_at_" in m for m in table.metrics)
    assert row_of(table, "dual").stat("m2e_recall@5").mean == pytest.approx(0.4066666, abs=1e-6)
    metrics = {r["metric"] for r in csv.DictReader(written["csv"].splitlines())}
    assert "m2e_recall@5" in metrics and not any("_at_" in m for m in metrics)
    assert "_at_" not in written["markdown"] and "m2e_recall@5" in written["markdown"]


def test_csv_long_format(written) -> None:
    rows = list(csv.DictReader(written["csv"].splitlines()))
    svm = [r for r in rows if r["method"] == "svm" and r["dataset"] == "4q"]
    assert {r["metric"] for r in svm} == {"macro_f1", "accuracy"}
    f1 = next(r for r in svm if r["metric"] == "macro_f1")
    assert float(f1["ci_low"]) <= float(f1["mean"]) <= float(f1["ci_high"])
    assert (f1["n"], f1["primary"], f1["git_sha"]) == ("6", "true", "abc1234def5678")


def test_number_format(tables, written) -> None:
    stat = row_of(tables[("quadrant", "4q")], "mlp").stat("macro_f1")
    assert re.fullmatch(r"0\.\d{3} \[0\.\d{3}, 0\.\d{3}\]", fmt_ci(stat))
    assert fmt_ci(stat) in written["markdown"] and fmt_ci(stat) in written["html"]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.tags: list[str] = []
        self.prov_rows = 0
        self.script_src = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        if a.get("id"):
            self.ids.add(a["id"])
        for key in ("href", "src"):
            if a.get(key):
                self.links.append(a[key])
        if tag == "script" and a.get("src"):
            self.script_src = True
        if tag == "tr" and "prov" in (a.get("class") or ""):
            self.prov_rows += 1


def test_html_self_contained_navigable_with_plots(tables, written) -> None:
    page = written["html"]
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page, re.I)
    assert page.count("<svg") == len(tables)
    parser = _Collector()
    parser.feed(page)
    parser.close()
    assert parser.tags.count("script") == 1 and not parser.script_src  # the inline sorter
    assert "link" not in parser.tags
    anchors = [link[1:] for link in parser.links if link.startswith("#")]
    assert anchors and set(anchors) <= parser.ids  # every table-of-contents link resolves
    assert {t.anchor for t in tables.values()} <= set(anchors)
    assert all(link.startswith("#") for link in parser.links)  # nothing leaves the page
    assert parser.prov_rows == sum(len(t.rows) for t in tables.values())
    assert "config cfg-svm-musicnn-0" in page and "weights random" in page


def test_published_values_shown_beside_ours(tracker: InMemoryTracker, tmp_path: Path) -> None:
    pub = PublishedValue("quadrant", "4q", "svm", "musicnn", "macro_f1", 0.6, "Panda et al. 2018")
    ret = PublishedValue("m2e_e2m_retrieval", "deam", "dual", "clap", "m2e_recall@5", 0.45, "")
    tables = {(t.task, t.dataset): t for t in build_tables(tracker.fold_records(), [pub, ret])}
    q = tables[("quadrant", "4q")]
    assert q.published_metrics == ("macro_f1",)
    assert row_of(q, "svm").stat("macro_f1").published == pub
    assert row_of(q, "mlp").stat("macro_f1").published is None
    assert not tables[("quadrant", "pmemo")].has_published
    r = tables[("m2e_e2m_retrieval", "deam")]
    assert r.published_metrics == ("m2e_recall@5",)

    paths = write_leaderboard(tracker, tmp_path, published=[pub, ret])
    md = paths["markdown"].read_text(encoding="utf-8")
    assert "macro_f1 published" in md and "0.600 (Panda et al. 2018)" in md
    pmemo_section = md.split("## quadrant — pmemo")[1].split("## ")[0]
    assert "published" not in pmemo_section
    rows = list(csv.DictReader(paths["csv"].read_text(encoding="utf-8").splitlines()))
    svm_f1 = next(
        x
        for x in rows
        if x["method"] == "svm" and x["dataset"] == "4q" and x["metric"] == "macro_f1"
    )
    assert (float(svm_f1["published"]), svm_f1["published_source"]) == (0.6, "Panda et al. 2018")
    assert "0.600 (Panda et al. 2018)" in paths["html"].read_text(encoding="utf-8")


def test_rerun_of_same_fold_counts_once(tracker: InMemoryTracker) -> None:
    add_run(
        tracker,
        task="quadrant",
        dataset="pmemo",
        method="svm",
        features="musicnn",
        seed=0,
        folds=[{"macro_f1": 0.5, "accuracy": 0.55}],
    )
    tables = {(t.task, t.dataset): t for t in build_tables(tracker.fold_records())}
    row = tables[("quadrant", "pmemo")].rows[0]
    assert (row.method, row.stat("macro_f1").n) == ("svm", 1)


def test_no_runs_still_writes_files(tmp_path: Path) -> None:
    out = tmp_path / "new" / "board"
    paths = write_leaderboard(InMemoryTracker(), out)
    assert set(paths) == {"markdown", "csv", "html"}
    assert {p.name for p in paths.values()} == {"README.md", "leaderboard.csv", "index.html"}
    for kind in ("markdown", "html"):
        text = paths[kind].read_text(encoding="utf-8")
        assert "No finished runs yet" in text and "make bench" in text
    header = paths["csv"].read_text(encoding="utf-8").splitlines()
    assert len(header) == 1 and header[0].startswith("task,dataset")
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "index.html", "leaderboard.csv"]
    _Collector().feed(render_html([]))


def test_outputs_replace_previous_files_without_leftovers(tracker, tmp_path: Path) -> None:
    write_leaderboard(InMemoryTracker(), tmp_path)
    paths = write_leaderboard(tracker, tmp_path)
    assert "No finished runs" not in paths["markdown"].read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "README.md",
        "index.html",
        "leaderboard.csv",
    ]


def test_rows_significantly_below_the_best_are_marked():
    from mer_bench.leaderboard.build import build_tables
    from mer_bench.leaderboard.rows import WORSE_MARK
    from mer_bench.tracking.base import FoldRecord

    def recs(method, values, seed="0"):
        tags = {"task": "quadrant", "dataset": "d", "method": method, "features": "f",
                "protocol": "kfold:10", "variant": "", "weights": "none", "seed": seed}
        return [FoldRecord(f"{method}{i}", "p", {**tags, "fold": f"fold{i}",
                                                 "fold_split_hash": f"h{i}"}, {"macro_f1": v})
                for i, v in enumerate(values)]

    rng = np.random.default_rng(0)
    good = list(0.8 + 0.02 * rng.standard_normal(10))
    close = [v - 0.001 + 0.02 * rng.standard_normal() for v in good]
    bad = [v - 0.2 for v in good]
    (table,) = build_tables(recs("good", good) + recs("close", close) + recs("bad", bad))
    rows = {r.method: r for r in table.rows}
    assert table.rows[0].method == "good" and rows["good"].vs_best_p is None
    assert rows["bad"].vs_best_p < 0.05 and any(WORSE_MARK in f for f in rows["bad"].flags)
    assert rows["close"].vs_best_p > 0.05 and not any(WORSE_MARK in f for f in rows["close"].flags)
    assert rows["bad"].vs_best_pairs == 10


def test_published_value_only_beside_the_run_the_paper_row_specifies(
    tracker: InMemoryTracker,
) -> None:
    def svm_published(protocol, variant, fit_tags=()):
        pub = PublishedValue("quadrant", "4q", "svm", "musicnn", "macro_f1", 0.6, "p",
                             protocol=protocol, variant=variant, fit_tags=fit_tags)
        (table,) = [t for t in build_tables(tracker.fold_records(), [pub])
                    if (t.task, t.dataset) == ("quadrant", "4q")]
        return row_of(table, "svm").stat("macro_f1").published

    assert svm_published("cv3", "") is not None  # the demo rows: protocol cv3, defaults
    assert svm_published("kfold:10", "") is None  # the paper's protocol differs
    assert svm_published("cv3", "epochs=5") is None  # a reduced-budget variant differs
    assert PublishedValue("t", "d", "m", "f", "x", 0.1, variant="a=1",
                          fit_tags=("text_encoder",)).matches("p", "a=1,text_encoder=minilm")


def test_tables_do_not_depend_on_the_order_a_store_returns_records() -> None:
    """Same 10 fold values, two record orders (as two stores with random run ids give):
    identical means, CIs and paired marks."""
    import dataclasses
    import random

    tracker = InMemoryTracker()
    rng = np.random.default_rng(0)
    for method in ("a", "b"):
        add_run(tracker, task="quadrant", dataset="d", method=method, features="f", seed=0,
                folds=[{"macro_f1": float(v)} for v in rng.uniform(0.5, 0.9, 10)])
    records = tracker.fold_records()
    # a second store: the same runs under other (random) run ids, returned in another order
    ids = [r.run_id for r in records]
    random.Random(3).shuffle(ids)
    shuffled = [dataclasses.replace(r, run_id=i) for r, i in zip(records, ids, strict=True)]
    random.Random(4).shuffle(shuffled)

    def summary(recs):
        (table,) = build_tables(recs)
        return [(r.key.method, r.metrics["macro_f1"].mean, r.metrics["macro_f1"].ci_low,
                 r.metrics["macro_f1"].ci_high, r.flags) for r in table.rows]

    assert summary(records) == summary(shuffled)
