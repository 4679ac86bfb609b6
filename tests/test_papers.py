"""Paper tables: schema checks for every shipped file and the side-by-side rendering."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.papers import TOY_PAPER as PAPER

from mer_bench.errors import ConfigError
from mer_bench.leaderboard import write_leaderboard
from mer_bench.paper_report import (
    brief,
    render_html_section,
    render_markdown,
    render_markdown_section,
)
from mer_bench.papers import (
    load_paper,
    load_papers,
    papers_dir,
    published_values,
    select,
    summarise,
)
from mer_bench.reproduce import reproduce
from mer_bench.runs import resolve
from mer_bench.tracking import InMemoryTracker


@pytest.fixture()
def toy(tmp_path) -> Path:
    path = tmp_path / "toy.yaml"
    path.write_text(PAPER)
    return path


def test_every_shipped_paper_file_loads_and_its_runs_resolve():
    for paper in load_papers(papers_dir()):
        assert paper.tables, f"{paper.path} has no tables"
        for table in paper.tables:
            for row in table.rows:
                # a number not yet copied from the paper must say so in its note
                known = row.published is not None or row.note or row.unavailable
                assert known, f"{paper.name}:{table.id} {row.label}"
                assert row.metric, f"{paper.name}:{table.id} {row.label} names no metric"
                if row.run is not None:
                    resolve(row.spec())


def test_reproduce_runs_rows_and_keeps_the_ones_that_cannot_run(toy):
    paper = load_paper(toy)
    tables = select([paper], "toy:t1")
    tracker = InMemoryTracker()
    results = reproduce(tables, tracker, seeds=1)
    ok, unavailable, missing = results
    assert ok.status == "ok" and ok.n == 3 and ok.low <= ok.mean <= ok.high
    assert ok.difference == pytest.approx(ok.mean - 0.5)
    assert unavailable.status == "unavailable" and "not among" in unavailable.reason
    assert missing.status == "unavailable" and "does not exist" in missing.reason
    text = render_markdown(results)
    assert "cannot run here: not among" in text and "| 0.5 |" in text  # as the file writes it
    # a second call finds the finished run instead of recomputing it
    again = reproduce(tables, tracker, seeds=1)
    assert again[0].mean == ok.mean
    assert sum(r.tags.get("kind") == "run" and not r.deleted for r in tracker.runs.values()) == 1


def test_a_dry_run_checks_data_and_fits_nothing(toy):
    tables = select([load_paper(toy)], "toy")
    tracker = InMemoryTracker()
    planned, unavailable, missing = reproduce(tables, tracker, dry_run=True)
    assert planned.status == "to run" and planned.reason.startswith("to run: linear")
    assert unavailable.status == "unavailable"
    assert missing.status == "unavailable" and "does not exist" in missing.reason
    assert not tracker.runs
    reproduce(tables, tracker)
    assert reproduce(tables, tracker, dry_run=True)[0].status == "ok"


def test_summarise_reads_the_tracker_and_runs_nothing(toy, tmp_path):
    tables = select([load_paper(toy)], "toy")
    tracker = InMemoryTracker()
    before = summarise(tables, tracker)
    assert [r.status for r in before] == ["not run", "unavailable", "not run"]
    assert "mer-bench reproduce toy:t1" in before[0].reason and not tracker.runs
    # nothing to show yet: the leaderboard gets no paper section
    assert render_markdown_section(before) == "" and render_html_section(before) == ""

    reproduce(tables, tracker, seeds=2)
    after = summarise(tables, tracker)  # every seed that ran: 2 seeds x 3 folds
    assert after[0].status == "ok" and after[0].n == 6
    assert summarise(tables, tracker, seeds=1)[0].n == 3

    markdown, page = render_markdown_section(after), render_html_section(after)
    assert "## Paper tables" in markdown and "1 of 3 rows have results" in markdown
    assert "cannot run here: not among" in markdown  # rows that cannot run stay listed
    paths = write_leaderboard(tracker, tmp_path, sections=[(markdown, page)])
    html = paths["html"].read_text()
    assert 'id="paper-toy"' in html and "ours = published" in html and "<svg" in html
    assert "## Paper tables" in paths["markdown"].read_text()


def test_long_reasons_are_cut_to_their_first_sentence_in_tables():
    long = "needs weights 'x': put x.h5 in ~/.cache. " + "More help. " * 30
    assert brief(long) == "needs weights 'x': put x.h5 in ~/.cache."
    assert brief("short. reason. ") == "short. reason. "
    assert brief("y" * 300) == "y" * 300  # no sentence to cut at: kept whole


def test_published_values_feed_the_leaderboard(toy):
    value, other = published_values([load_paper(toy)])  # the row without a run has none
    assert other.dataset == "4q"
    assert (value.method, value.dataset, value.metric, value.value) == (
        "linear", "synth-small", "macro_f1", 0.5)


def test_bad_paper_files_are_reported(tmp_path, toy):
    with pytest.raises(ConfigError, match="no paper 'nope'"):
        select([load_paper(toy)], "nope")
    with pytest.raises(ConfigError, match="has no table"):
        select([load_paper(toy)], "toy:t9")
    bad = tmp_path / "bad.yaml"
    bad.write_text(PAPER.replace("features: mfcc}", "feature: mfcc}"))
    with pytest.raises(ConfigError, match="unknown run keys"):
        load_paper(bad)


def test_a_published_note_keeps_the_number_away_from_our_row(tmp_path):
    text = PAPER.replace(
        "        metric: macro_f1\n        published: 0.5\n",
        "        metric: macro_f1\n        published: 0.5\n"
        "        published_note: Different model. The paper's encoder is not here.\n",
    )
    path = tmp_path / "toy.yaml"
    path.write_text(text)
    paper = load_paper(path)
    assert paper.tables[0].rows[0].published_note.startswith("Different model")
    values = published_values([paper])
    assert [v.dataset for v in values] == ["4q"]  # the noted row gives the leaderboard nothing
    tracker = InMemoryTracker()
    planned = reproduce(select([paper], "toy:t1"), tracker, dry_run=True)[0]
    assert "published not comparable: Different model." in render_markdown([planned])
    ok = reproduce(select([paper], "toy:t1"), tracker, seeds=1)[0]
    assert ok.status == "ok" and ok.row.published == 0.5
    assert ok.difference is None and ok.inside is None  # no "diff" or "in CI" to read
    row = render_markdown([ok]).splitlines()[-1]
    assert "| 0.5 |" in row and "published not comparable" in row


def test_won2021_has_every_table3_cell_and_says_why_none_compares():
    paper = next(p for p in load_papers(papers_dir()) if p.name == "won2021")
    rows = paper.tables[0].rows
    assert len(rows) == 72 and all(r.published is not None for r in rows)
    assert all(r.published_note.startswith("Different model") for r in rows)
    by_label = {r.label: r for r in rows}
    # spot checks against Table 3 of the paper (arXiv:2111.13468v1)
    assert by_label["Alm, VA regression, Manual MRR"].published == 0.7398
    assert by_label["ISEAR, W2V regression, Manual MRR"].published == 0.7668
    assert by_label["ISEAR, Multi-head, VA P@5"].published == 0.3440
    assert by_label["Alm, Metric learning, 3-branch, W2V P@5"].published == 0.5095
    isear_cls = [r for r in rows if r.label.startswith("ISEAR, Classification")]
    assert len(isear_cls) == 6 and {r.published for r in isear_cls} == {0.0}
    metric_rows = [r for r in rows if "Metric learning" in r.label]
    assert all(r.run["method_params"]["pair_mapping"] == "w2v" for r in metric_rows)
    assert not published_values([paper])


def test_he2022_rounds_keep_the_folds_and_change_the_seed():
    """He & Ferguson run 5 rounds in each fixed fold: split seed 0, model seeds 0..4."""
    paper = load_paper(papers_dir() / "he2022.yaml")
    runnable = [r for t in paper.tables for r in t.rows if r.run is not None]
    assert runnable
    for row in runnable:
        first, fourth = resolve(row.spec(0)), resolve(row.spec(3))
        assert first.spec.split_seed == fourth.spec.split_seed == 0
        assert first.config_hash != fourth.config_hash
