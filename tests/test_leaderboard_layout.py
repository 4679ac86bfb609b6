"""What the leaderboard tables show: the main columns of every section on one screen, the
other metrics folded away, rounded variant labels, the floors named for what they
predict and shown once, columns that sort on click."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from mer_bench.leaderboard import PublishedValue, build_tables, write_leaderboard
from mer_bench.leaderboard.cells import round_numbers
from mer_bench.leaderboard.charts import chart_svg
from mer_bench.leaderboard.render import render_csv, render_html, render_markdown
from mer_bench.tracking.base import FOLD, RUN
from mer_bench.tracking.memory import InMemoryTracker

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
PER_CLASS = [f"{kind}_Q{q}" for kind in ("f1", "precision", "recall") for q in range(1, 5)]
MAIN_HEADS = ["#", "method", "features", "variant", "macro_f1 ↑", "macro_f1 published",
              "n (folds × seeds)", "tracks", "flags"]


def _add(tracker, method, features, variant, values, *, task="quadrant", weights="none",
         seed=0, extra=None):
    """One finished run (5 folds) whose metrics per fold are ``values(fold)``."""
    tags = {"task": task, "dataset": "4q", "method": method, "features": features,
            "protocol": "kfold:5", "variant": variant, "seed": str(seed), "weights": weights,
            "tracks_used": "900", "tracks_total": "900", "git_sha": "abc123",
            "config_hash": f"{method}-{features}-{variant[-6:]}", "dataset_version": "2018",
            "mer_bench_version": "0.1.0", **(extra or {})}
    parent = tracker.start_run("p", {**tags, "kind": RUN})
    for fold in range(5):
        child = tracker.start_run("f", {**tags, "kind": FOLD, "fold": str(fold),
                                        "fold_split_hash": f"h{fold}"}, parent_id=parent)
        tracker.log_metrics(child, values(fold))
        tracker.end_run(child)
    tracker.end_run(parent)


def fourq_tracker(n_svm: int = 10) -> InMemoryTracker:
    """A 4Q-like quadrant table: per-class metrics, long sweep variants, both floors on
    two feature sets (identical, as they ignore the features), a random-weights row."""
    tracker = InMemoryTracker()
    rng = np.random.default_rng(3)

    def metrics(level):
        def values(fold):
            out = {"macro_f1": level + 0.02 * fold, "accuracy": level + 0.05,
                   "weighted_f1": level}
            out.update({m: float(v) for m, v in zip(PER_CLASS, rng.uniform(0, 1, 12),
                                                    strict=True)})
            return out
        return values

    for i in range(n_svm):
        variant = (f"C={10 ** rng.uniform(-3, 2)!r},gamma={rng.uniform(0, 1)!r},kernel=rbf,"
                   f"class_weight=balanced,max_iter=2000,tol={rng.uniform(0, 1e-3)!r}")
        _add(tracker, "embedding-classifiers", "musicnn", variant, metrics(0.3 + 0.04 * i))
    _add(tracker, "ae-bilstm", "openl3", "", metrics(0.45), weights="random")
    for features in ("musicnn", "openl3"):  # the floors ignore the features
        _add(tracker, "chance", features, "", lambda f: {"macro_f1": 0.1, "accuracy": 0.25})
        _add(tracker, "random-stratified", features, "",
             lambda f: {"macro_f1": 0.24 + 0.01 * f, "accuracy": 0.25})
    return tracker


def published() -> list[PublishedValue]:
    src = "Panda et al. 2018, Table 4"
    return [PublishedValue("quadrant", "4q", "ae-bilstm", "openl3", m, 0.5, src)
            for m in ("macro_f1", "accuracy", "weighted_f1", *PER_CLASS)]


@pytest.fixture(scope="module")
def fourq():
    (table,) = build_tables(fourq_tracker().fold_records(), published())
    return table


def _heads(page: str, cls: str) -> list[list[str]]:
    tables = re.findall(rf'<table class="{cls}[^"]*"><thead><tr>(.*?)</tr>', page)
    return [re.findall(r"<th>(.*?)</th>", t) for t in tables]


def test_main_table_holds_the_main_columns_and_folds_the_others(fourq):
    page = render_html([fourq])
    assert _heads(page, "main") == [MAIN_HEADS]
    (more,) = _heads(page, "more")
    assert "accuracy ↑" in more and "f1_Q4 ↑" in more and "macro_f1 ↑" not in more
    assert re.search(r'<details><summary>Other metrics \(14\)[^<]*</summary><table class="more',
                     page)


def test_markdown_splits_main_and_other_metrics(fourq):
    md = render_markdown([fourq])
    main = next(ln for ln in md.splitlines() if ln.startswith("| # |"))
    assert main == "| " + " | ".join(MAIN_HEADS) + " |"
    assert "<details><summary>Other metrics: accuracy, weighted_f1, f1_Q1" in md
    more = [ln for ln in md.splitlines() if ln.startswith("| # |")][1]
    assert "recall_Q4 ↑" in more and "flags" not in more


def test_variant_labels_are_rounded_and_the_csv_keeps_full_values():
    assert round_numbers("C=0.1142500448291657,max_iter=2000") == "C=0.114,max_iter=2000"
    assert round_numbers("lr=1.23456e-05,v=1.2.3,n=16000") == "lr=1.23e-05,v=1.2.3,n=16000"
    tracker = InMemoryTracker()
    for c, level in (("0.1142500448291657", 0.5), ("12.345678", 0.6)):
        _add(tracker, "linear", "mfcc", f"C={c}", lambda f, v=level: {"macro_f1": v})
    tables = build_tables(tracker.fold_records())
    page, md = render_html(tables), render_markdown(tables)
    assert '<td class="wrap">C=0.114</td>' in page and '<td class="wrap">C=12.3</td>' in page
    assert "| C=0.114 |" in md and "| C=12.3 |" in md
    assert "0.11425004" not in md.split("Provenance")[0]
    # the full value stays in each row's details
    assert "parameters: C=0.1142500448291657" in md and "parameters: C=0.1142500448291657" in page
    assert {r["variant"] for r in csv.DictReader(render_csv(tables).splitlines())} == {
        "C=0.1142500448291657", "C=12.345678"}
    assert "C=0.114" in chart_svg(tables[0]) and "C=0.11425" not in chart_svg(tables[0])


def test_identical_floor_rows_are_shown_once(fourq):
    page, md = render_html([fourq]), render_markdown([fourq])
    main = page.split('<table class="main')[1].split("</table>")[0]
    assert main.count("<td>chance</td>") == 1 and "any features" in main
    # random-stratified's rows are identical too: one row
    assert main.count("<td>random-stratified</td>") == 1
    # each stands for two CSV rows, and says so by its ranks
    assert '"14">14–15</td><td>chance</td>' in main and '"12">12–13</td>' in main
    assert len([ln for ln in md.splitlines() if "| *chance* | any features |" in ln]) == 2
    rows = list(csv.DictReader(render_csv([fourq]).splitlines()))
    assert {r["features"] for r in rows if r["method"] == "chance"} == {"musicnn", "openl3"}


def test_floor_rows_with_different_results_stay_apart():
    tracker = InMemoryTracker()
    _add(tracker, "linear", "mfcc", "", lambda f: {"macro_f1": 0.5})
    _add(tracker, "linear", "logmel", "", lambda f: {"macro_f1": 0.5})
    _add(tracker, "chance", "mfcc", "", lambda f: {"macro_f1": 0.1})
    _add(tracker, "chance", "logmel", "", lambda f: {"macro_f1": 0.2})
    page = render_html(build_tables(tracker.fold_records()))
    assert page.count("<td>chance</td>") == 2 and "any features" not in page


def test_floors_say_what_they_predict(fourq):
    flags = {r.method: r.flags for r in fourq.rows}
    assert flags["chance"][0] == "baseline (majority class)"
    assert flags["random-stratified"][0] == "baseline (stratified random)"
    svg = chart_svg(fourq)
    assert "majority class baseline" in svg and "stratified random baseline" in svg
    assert ">chance<" not in svg  # the legend no longer calls the majority class "chance"
    md = render_markdown([fourq])
    assert "training **majority class**" in md and "baseline (majority class)" in md


def test_provenance_names_the_dataset_version(fourq):
    md = render_markdown([fourq])
    assert "dataset version 2018" in md and "dataset version 2018" in render_html([fourq])
    assert "dataset 2018" not in md


# --- in a browser ---------------------------------------------------------------------


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("no Chromium on this machine (Debian package 'chromium'; .ci/run "
                    "installs it)")
    return path


_MEASURE = """() => [...document.querySelectorAll('table.main')].map(t => ({
  scroll: t.scrollWidth - t.clientWidth,
  heads: [...t.tHead.rows[0].cells].map(c => {
    const r = c.getBoundingClientRect();
    return {text: c.textContent, left: r.left, right: r.right}; }),
}))"""
_RANKS = """t => [...t.tBodies].map(b => Number(b.rows[0].cells[0].dataset.v))"""
_PRIMARY = """t => [...t.tBodies].map(b => Number(b.rows[0].cells[4].dataset.v))"""


def _check_page(page, width: int, shot: Path) -> None:
    page.set_viewport_size({"width": width, "height": 1000})
    tables = page.evaluate(_MEASURE)
    assert tables, "no main table on the page"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for table in tables:
        assert table["scroll"] <= 0, table  # the table itself does not scroll sideways
        for head in table["heads"]:
            assert 0 <= head["left"] and head["right"] <= width, (width, head)
    page.screenshot(path=str(shot), full_page=True)


def test_main_columns_fit_the_screen_and_sort_on_click(tmp_path):
    """At 1400 and 1920 px every main column's header is on screen, no table scrolls
    sideways; clicking a header reorders the rows (numbers as numbers)."""
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    out = write_leaderboard(fourq_tracker(), tmp_path, published())
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(out["html"].resolve().as_uri())
            for width in (1400, 1920):
                _check_page(page, width, ARTIFACTS / f"leaderboard-layout-{width}.png")
            table = page.locator("table.main").first
            ranks = table.evaluate(_RANKS)
            assert len(ranks) > 10 and ranks == sorted(ranks)
            page.set_viewport_size({"width": 1400, "height": 1000})
            page.locator("table.main th", has_text="macro_f1 ↑").first.click()
            values = table.evaluate(_PRIMARY)
            assert values == sorted(values) and table.evaluate(_RANKS) != ranks
            table.screenshot(path=str(ARTIFACTS / "leaderboard-layout-sorted.png"))
            page.locator("table.main th", has_text="#").first.click()
            assert table.evaluate(_RANKS) == ranks  # 1, 2, ..., 10, 11: numbers, not text
            page.locator("details summary").first.click()
            page.locator("details").first.screenshot(
                path=str(ARTIFACTS / "leaderboard-layout-more.png"))
        finally:
            browser.close()
