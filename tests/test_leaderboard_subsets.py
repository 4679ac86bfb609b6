"""Leaderboard rows say how many tracks they used, subsets get their own table, variants
are short in tables and plots (full in the details), and plot labels fit."""

from __future__ import annotations

import csv
import io
import re
import warnings

from mer_bench.leaderboard.build import build_tables, short_variants
from mer_bench.leaderboard.charts import chart_svg
from mer_bench.leaderboard.render import render_csv, render_html, render_markdown
from mer_bench.tracking import InMemoryTracker

LONG = "hop_s=3,sample_rate=16000,n_mels=64,network={net},lr=0.001,warmup_epochs=2"


def _tracker() -> InMemoryTracker:
    tracker = InMemoryTracker()
    rows = [  # (dataset, method, variant, used, total, skipped, level)
        ("4q", "linear", "", 240, 900, 0, 0.5),
        ("4q", "chance", "", 240, 900, 0, 0.25),
        ("deam", "linear", "", 1802, 1802, 0, 0.6),
        ("deam", "chance", "", 1799, 1802, 3, 0.2),
        ("synth", "sssl", LONG.format(net="small"), 320, 320, 0, 0.7),
        ("synth", "sssl", LONG.format(net="large"), 320, 320, 0, 0.65),
        ("synth", "chance", "", 320, 320, 0, 0.25),
    ]
    for dataset, method, variant, used, total, skipped, level in rows:
        tags = {"task": "quadrant", "dataset": dataset, "method": method, "features": "mfcc",
                "protocol": "kfold:3", "variant": variant, "seed": "0", "weights": "none",
                "tracks_used": str(used), "tracks_total": str(total),
                "skipped_tracks": str(skipped)}
        parent = tracker.start_run("p", {**tags, "kind": "run"})
        for fold in range(3):
            child = tracker.start_run("f", {**tags, "kind": "fold", "fold": f"fold{fold}"},
                                      parent_id=parent)
            tracker.log_metrics(child, {"macro_f1": level + 0.01 * fold})
            tracker.end_run(child)
        tracker.end_run(parent)
    return tracker


def _tables():
    return build_tables(_tracker().fold_records())


def test_subsets_get_their_own_marked_table():
    titles = [t.title for t in _tables()]
    assert "quadrant — 4q · 240/900 tracks" in titles
    assert "quadrant — deam" in titles and "quadrant — deam · 1799/1802 tracks" in titles
    for table in _tables():
        assert len({r.tracks for r in table.rows}) == 1  # one subset per ranked table


def test_every_output_shows_track_counts_and_skips():
    tables = _tables()
    markdown = render_markdown(tables)
    assert "240/900" in markdown and "1799/1802 (3 skipped)" in markdown
    lines = list(csv.DictReader(io.StringIO(render_csv(tables))))
    fourq = [line for line in lines if line["dataset"] == "4q"]
    assert fourq and all(line["tracks_used"] == "240" and line["tracks_total"] == "900"
                         for line in fourq)
    assert any(line["skipped_tracks"] == "3" for line in lines)
    page = render_html(tables)
    assert "240/900 tracks" in page and ">240/900<" in page


def test_short_variants_name_only_what_differs():
    assert short_variants(["a=1,b=2", "a=1,b=3"], ["m", "m"]) == ["b=2", "b=3"]
    assert short_variants(["a=1,b=2"], ["m"]) == ["a=1,b=2"]  # short: kept
    assert short_variants(["a=1,b=2,c=3", "x=1"], ["m", "n"]) == ["", "x=1"]  # long alone
    synth = next(t for t in _tables() if t.dataset == "synth")
    labels = {r.label for r in synth.rows}
    assert "sssl · mfcc (network=small)" in labels and "sssl · mfcc (network=large)" in labels
    page = render_html([synth])
    assert "parameters: " + LONG.format(net="small") in page  # full list in the details
    cells = re.findall(r"<td>([^<]*)</td>", page)
    assert LONG.format(net="small") not in cells


def test_no_empty_task_heading():
    page = render_html(_tables())
    assert 'class="task"' not in page
    assert 'id="task-quadrant"' in page


def test_long_plot_labels_fit_without_layout_warning():
    tracker = InMemoryTracker()
    for net in ("small", "large", "medium"):
        variant = LONG.format(net=net) + ",pretrain=ssl-very-long-name,dropout=0.5"
        tags = {"task": "quadrant", "dataset": "synth", "method": "embedding-classifiers",
                "features": "openl3", "protocol": "kfold:3", "variant": variant, "seed": "0",
                "weights": "none", "kind": "fold", "fold": "fold0"}
        parent = tracker.start_run("p", {**tags, "kind": "run"})
        child = tracker.start_run("f", tags, parent_id=parent)
        tracker.log_metrics(child, {"macro_f1": 0.5})
        tracker.end_run(child)
        tracker.end_run(parent)
    table = build_tables(tracker.fold_records())[0]
    # every row differs only in network: the short labels say just that
    assert sorted(r.shown_variant for r in table.rows) == [
        "network=large", "network=medium", "network=small"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        svg = chart_svg(table)
    assert "network=small" in svg and "..." not in svg
