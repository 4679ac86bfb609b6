"""`reproduce` in a terminal: summary first, one line per row, each reason once, and the
published numbers with the paper's own precision."""

from __future__ import annotations

from typer.testing import CliRunner

from mer_bench.cli import app
from mer_bench.paper_report import render_markdown
from mer_bench.papers import RowResult, load_papers, paper_text


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def _rows(name: str):
    (paper,) = [p for p in load_papers() if p.name == name]
    return [r for t in paper.tables for r in t.rows]


def test_published_values_keep_the_papers_precision():
    rows = {r.label: r for r in _rows("takashima2023")}
    row = rows["DEAM, RegMLP, E2M MRR"]
    assert f"{paper_text(row.published)} ± {paper_text(row.published_std)}" == "0.039 ± 0.0003"
    won = [r for r in _rows("won2021") if r.published is not None]
    four = [r for r in won if len(paper_text(r.published).split(".")[1]) == 4]
    assert four, "Won's tables print four decimals"
    text = render_markdown([RowResult(row, "unavailable", reason="x")])
    assert "0.039 ± 0.0003" in text


def test_a_dry_run_prints_the_summary_first_and_each_reason_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MER_BENCH_DATA", str(tmp_path))  # no dataset anywhere
    out = _invoke("reproduce", "koh2021", "--dry-run", "--no-estimate",
                  "--tracking-uri", "memory")
    lines = out.splitlines()
    assert lines[0].startswith("dry run: 0 row(s) done, 0 to run, 42 cannot run here")
    rows = _rows("koh2021")
    assert len([ln for ln in lines if ln.startswith(("table2 ", "table3 "))]) == len(rows)
    reasons = [ln for ln in lines if ln.startswith("  [")]
    assert len(reasons) == len(set(reasons)) < len(rows)  # shared reasons are listed once
    assert sum("Bi-modal" in ln for ln in reasons) == 1


def test_list_is_one_line_per_row_and_verbose_gives_the_details():
    out = _invoke("reproduce", "--list")
    papers = load_papers()
    n_rows = sum(len(t.rows) for p in papers for t in p.tables)
    ids = {t.id for p in papers for t in p.tables}
    row_lines = [ln for ln in out.splitlines() if ln.split() and ln.split()[0] in ids]
    assert len(row_lines) == n_rows
    verbose = _invoke("reproduce", "--list", "--verbose")
    assert "needs" in verbose and "runs" in verbose and len(verbose) > len(out)


def test_list_of_one_paper_shows_that_paper_only():
    out = _invoke("reproduce", "he2022", "--list")
    assert out.startswith("he2022:") and "won2021" not in out and "koh2021" not in out


def test_a_rows_rounds_are_folded_on_one_line():
    from mer_bench.commands.paper_terminal import seeds_folded

    runs = "; ".join(f"ae-bilstm[segment_s=3]/4q/binary_valence/none/kfold:10/seed{k} (≈ 2 h)"
                     for k in range(5))
    folded = "ae-bilstm[segment_s=3]/4q/binary_valence/none/kfold:10/seed0-4 (≈ 2 h)"
    assert seeds_folded(runs) == folded
    assert seeds_folded("a/seed0; a/seed2") == "a/seed0,2"


def test_rows_to_run_show_their_settings(capsys):
    from mer_bench.commands.paper_terminal import print_results

    (paper,) = [p for p in load_papers() if p.name == "he2022"]
    row = next(r for t in paper.tables for r in t.rows
               if r.run is not None and r.run.get("label_rule") == "kmeans")
    print_results([RowResult(row, "to run", reason="to run: a/seed0; a/seed1")], ["summary"])
    out = " ".join(capsys.readouterr().out.split())
    assert "label_rule=kmeans" in out and "a/seed0-1" in out
