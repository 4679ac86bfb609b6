"""A paper's rounds: ``rounds: N`` in its file runs every row with seeds 0..N-1 by default."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.papers import TOY_RUNNABLE

from mer_bench.commands import papers as listing
from mer_bench.errors import ConfigError
from mer_bench.paper_report import render_markdown
from mer_bench.papers import load_paper, load_papers, papers_dir, select, summarise
from mer_bench.reproduce import reproduce
from mer_bench.runs import records
from mer_bench.tracking import InMemoryTracker


def _toy(tmp_path: Path, rounds: str) -> Path:
    """The toy paper repeating its row ``rounds`` times, with the quickest method."""
    path = tmp_path / "toy.yaml"
    path.write_text(f"# the toy paper repeats each row three times\nrounds: {rounds}\n"
                    + TOY_RUNNABLE.replace("method: linear", "method: chance"))
    return path


def test_a_paper_with_three_rounds_runs_three_seeds_and_summarise_reads_them(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(records, "_plots", lambda *args: [])  # not what is tested; slow
    tables = select([load_paper(_toy(tmp_path, "3"))], "toy")
    tracker = InMemoryTracker()
    (result,) = reproduce(tables, tracker)
    seeds = {r.tags["seed"] for r in tracker.runs.values() if r.tags.get("kind") == "run"}
    assert seeds == {"0", "1", "2"}
    assert result.status == "ok" and result.n == 9  # 3 rounds x 3 folds, one mean
    (read,) = summarise(tables, tracker)
    assert read.n == 9 and read.mean == pytest.approx(result.mean)
    # --seeds still decides: one seed is one round, found without running anything
    (one,) = reproduce(tables, tracker, seeds=1)
    assert one.n == 3 and "rounds" not in one.row.settings()
    assert sum(r.tags.get("kind") == "run" for r in tracker.runs.values()) == 3


def test_a_dry_run_plans_every_round_and_says_how_many(tmp_path):
    tables = select([load_paper(_toy(tmp_path, "3"))], "toy")
    (planned,) = reproduce(tables, InMemoryTracker(), dry_run=True)
    assert planned.status == "to run" and planned.reason.count("chance") == 3
    assert "kfold:3 x 3 rounds (seeds 0-2)" in render_markdown([planned], settings=True)
    (two,) = reproduce(tables, InMemoryTracker(), seeds=2, dry_run=True)
    assert two.reason.count("chance") == 2 and "x 2 rounds" in two.row.settings()


def test_he2022_declares_its_five_rounds_and_the_listing_says_so(monkeypatch):
    papers = load_papers(papers_dir())
    he = next(p for p in papers if p.name == "he2022")
    assert he.rounds == 5
    assert all(p.rounds == 1 for p in papers if p.name != "he2022")  # no other paper repeats
    lines: list[str] = []
    monkeypatch.setattr(listing, "say", lambda text, **_: lines.append(text))
    listing.print_tables([he])
    runs = [line for line in lines if "; runs " in line]
    assert runs and all("kfold:10 x 5 rounds (seeds 0-4)" in line for line in runs)


@pytest.mark.parametrize("value", ["0", "2.5", "true", "many", "1000"])
def test_bad_rounds_are_reported(tmp_path, value):
    with pytest.raises(ConfigError, match="rounds must be a whole number from 1 to 100"):
        load_paper(_toy(tmp_path, value))


def test_seeds_out_of_range_are_refused(tmp_path):
    tables = select([load_paper(_toy(tmp_path, "3"))], "toy")
    with pytest.raises(ConfigError, match="--seeds must be a whole number from 1 to 100, got 0"):
        reproduce(tables, InMemoryTracker(), seeds=0)
