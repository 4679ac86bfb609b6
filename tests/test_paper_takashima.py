"""takashima2023.yaml against the paper's own text: every printed cell, every setting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mer_bench.papers import CONVERSIONS, load_paper, papers_dir

PAPER_TEXT = Path(__file__).resolve().parents[2] / "shared" / "papers" / "takashima2023-emer-cl.txt"
NUMBER = r"(\d+\.\d+|\d+e-?\d+|\d+)"
CELL = rf"{NUMBER} ± {NUMBER}"
COLUMNS = ("M2E MRR", "M2E AR", "E2M MRR", "E2M AR")


@pytest.fixture(scope="module")
def paper():
    return load_paper(papers_dir() / "takashima2023.yaml")


@pytest.fixture(scope="module")
def text() -> str:
    if not PAPER_TEXT.is_file():
        pytest.skip(f"the paper's text is not at {PAPER_TEXT}")
    return PAPER_TEXT.read_text()


def _num(s: str) -> float:
    return float(s)


def _printed_tables(text: str) -> dict[tuple[str, str, str, str], tuple[float, float]]:
    """(table, dataset, row, column) -> (mean, std) for Tables 1, 2 and 4 as printed."""
    out = {}
    for table, start, end in (("table1", "TABLE 1.", "indicates the effectiveness"),
                              ("table2", "TABLE 2.", "for a retrieval problem"),
                              ("table4", "TABLE 4.", "APPENDIX B")):
        block = text[text.index(start):text.index(end, text.index(start))]
        dataset = None
        for line in block.splitlines():
            if re.match(r"^(LossType|ModelType)?\s*(DEAM|PMEmo|PMEMo)\b", line.strip()):
                dataset = "PMEmo" if "PM" in line else "DEAM"
            m = re.match(rf"^<i>(.+?)</i>\s+{CELL}\s+{CELL}\s+{CELL}\s+{CELL}", line)
            if m and dataset:
                values = [_num(v) for v in m.groups()[1:]]
                for k, col in enumerate(COLUMNS):
                    out[table, dataset, m.group(1), col] = (values[2 * k], values[2 * k + 1])
    return out


def _yaml_name(label: str) -> tuple[str, str, str]:
    dataset, row, column = (part.strip() for part in label.split(", "))
    return dataset, row.split(" (")[0], column


def test_every_row_has_a_published_value(paper):
    """Every printed table's rows; App. A-A's max correlations are ranges over 10 runs, so
    those rows carry the range in their note (shown by ``reproduce --list``)."""
    rows = [r for t in paper.tables if t.id != "appendix_a" for r in t.rows]
    assert rows and all(r.published is not None for r in rows)
    ranges = [r for t in paper.tables if t.id == "appendix_a" for r in t.rows]
    assert len(ranges) == 4 and all(r.published is None and r.note for r in ranges)


RANGE = "no single published value (the paper gives a range, so no difference is computed)"


def test_the_papers_max_canonical_correlations_stand_beside_ours(paper, text):
    """App. A-A and its footnote 2: the ranges of the largest correlation over 10 runs, as
    printed, beside the runs' fold metric cca_rho_max."""
    from typer.testing import CliRunner

    from mer_bench.cli import app

    tuning = re.search(r"maximum correlation is (\S+) and (\S+) for DEAM and PMEMo", text)
    composite = re.search(r"increase to (\S+) and (\S+) for DEAM and PMEMo", text)
    printed = {("DEAM", "CCA-Loss"): tuning.group(1), ("PMEmo", "CCA-Loss"): tuning.group(2),
               ("DEAM", "Composite"): composite.group(1),
               ("PMEmo", "Composite"): composite.group(2)}
    ranges = {r.label: r for t in paper.tables if t.id == "appendix_a" for r in t.rows}
    listed = " ".join(CliRunner().invoke(app, ["reproduce", "takashima2023", "--list", "--verbose"],
                                         env={"COLUMNS": "400"}).output.split())
    table1 = {r.label: r for t in paper.tables if t.id == "table1" for r in t.rows}
    for (dataset, loss), value in printed.items():
        row = ranges[f"{dataset}, {loss}, max canonical correlation"]
        assert row.metric == "cca_rho_max"
        assert f"{RANGE}: {value}" in row.note
        assert row.run == table1[f"{dataset}, {loss}, M2E MRR"].run  # the same run
        assert f"no published value: {RANGE}: {value}" in listed


def test_tables_1_2_4_match_the_printed_cells_both_directions(paper, text):
    printed = _printed_tables(text)
    assert len(printed) == (10 + 6 + 4) * 4  # 5 losses, 3 models, 2 models x 2 datasets
    ours = {}
    for table in paper.tables:
        if table.id in ("table3", "appendix_a"):
            continue
        for r in table.rows:
            dataset, row, column = _yaml_name(r.label)
            ours[table.id, dataset, row, column] = (r.published, r.published_std)
    assert ours == printed


def test_table_3_matches_the_printed_cells(paper, text):
    start = text.index("TABLE 3.")
    block = text[start:text.index("In what follows", start)]
    deam, pmemo = block.split("\nPMEmo", 1)
    config = {"cca": "EMER-CL (cca)", "kl": "EMER-CL (kl)", "all": "EMER-CL (all)"}
    rows = {r.label: r for t in paper.tables if t.id == "table3" for r in t.rows}
    for key, name in config.items():
        a, v = re.search(rf"<i>EMER-CL \({key}\)</i>\s+{NUMBER}\s+{NUMBER}", deam).groups()
        assert rows[f"DEAM, {name} = SVR on " + _svr(key) + ", arousal R²"].published == float(a)
        assert rows[f"DEAM, {name} = SVR on " + _svr(key) + ", valence R²"].published == float(v)
        cells = re.search(rf"<i>EMER-CL \({key}\)</i>" + rf"\s+{NUMBER}" * 6, pmemo).groups()
        for axis, (rmse, r, r2) in (("arousal", cells[:3]), ("valence", cells[3:])):
            prefix = f"PMEmo, {name} = SVR on {_svr(key)}, {axis}"
            assert rows[f"{prefix} RMSE"].published == float(rmse)
            assert rows[f"{prefix} R"].published == float(r)
            assert rows[f"{prefix} R²"].published == float(r2)
            # the printed R is a fold-mean of sqrt(R²): at most sqrt of the mean R² (Jensen)
            assert float(r) <= float(r2) ** 0.5 + 1e-3
            assert rows[f"{prefix} R"].metric == f"sqrt_r2_{axis}"
            assert rows[f"{prefix} RMSE"].comparable == 2 * float(rmse)


def _svr(key: str) -> str:
    return {"cca": "[phi]", "kl": "[mu, sigma]", "all": "[phi, mu, sigma]"}[key]


def test_rows_run_the_papers_settings(paper):
    """Sec. IV-C/IV-D/IV-F and App. A-C, read independently of the yaml."""
    by_label = {r.label: r for t in paper.tables for r in t.rows}

    def params(label: str) -> dict:
        return dict(by_label[label].run["method_params"])

    expected = {
        "DEAM, Composite, M2E MRR": {"P": 0.5, "alpha": 1.0, "lam": 0.6, "epochs": 5001},
        "PMEmo, Composite, M2E MRR": {"P": 0.7, "alpha": 2.0, "lam": 0.5, "epochs": 10001,
                                      "music_encoder": "bigru"},
        "DEAM, Cos-Loss, M2E MRR": {"alpha": 0.3},
        "PMEmo, Cos-Loss, M2E MRR": {"alpha": 0.1},
        "DEAM, Composite-C, M2E MRR": {"P": 0.9, "alpha": 0.3, "lam": 0.7},
        "PMEmo, Composite-C, M2E MRR": {"P": 0.9, "alpha": 0.1, "lam": 0.1},
        "DEAM, Composite-d (defaults P 0.4 / alpha 1.0 / lambda 0.5), E2M AR": {
            "P": 0.4, "alpha": 1.0, "lam": 0.5},
        "DEAM, EMER-CL (cca) = SVR on [phi], arousal R²": {"alpha": 1.0, "lam": 0.5},
        "PMEmo, EMER-CL (all) = SVR on [phi, mu, sigma], valence R": {"alpha": 1.0, "lam": 0.5},
        "PMEmo, RegMLP, M2E MRR": {"m2e_units": [16], "m2e_epochs": 5500,
                                   "e2m_units": [32, 128, 128], "e2m_epochs": 9900},
        "PMEmo, RegBiGRU, E2M AR": {"m2e_units": [512, 32, 32], "m2e_epochs": 7500,
                                    "e2m_units": [512], "e2m_epochs": 3400},
    }
    for label, values in expected.items():
        got = params(label)
        assert {k: got.get(k) for k in values} == values, label
    for r in by_label.values():
        assert r.run["method_params"]["standardize"] is False  # raw VGGish, as the authors
        if r.run["dataset"] == "pmemo":
            assert r.run["dataset_params"]["min_annotation_s"] == 7.0
        else:
            assert r.run["dataset_params"]["dynamic_end_s"] == 45.0
        if r.run.get("task") == "static_va":
            target = {"deam": "dynamic_mean", "pmemo": "dynamic_last"}[r.run["dataset"]]
            assert r.run["dataset_params"]["static_target"] == target
            assert r.run["protocol"] == "kfold:10"
        else:
            assert r.run["protocol"] == "repeated:10:0.8"
    assert {r.published_as for r in by_label.values()} <= {"", *CONVERSIONS}


def test_dry_run_lists_every_row_with_its_settings_and_one_reason_per_dataset(paper, tmp_path):
    from mer_bench.paper_report import render_markdown
    from mer_bench.reproduce import reproduce
    from mer_bench.tracking import InMemoryTracker

    roots = {"deam": str(tmp_path / "deam"), "pmemo": str(tmp_path / "pmemo")}
    for folder in roots.values():
        (tmp_path / folder).mkdir()
    results = reproduce(list(paper.tables), InMemoryTracker(), roots=roots, dry_run=True)
    assert len(results) == sum(len(t.rows) for t in paper.tables)
    assert {r.status for r in results} == {"unavailable"}
    reasons = {r.row.run["dataset"]: set() for r in results}
    for r in results:
        reasons[r.row.run["dataset"]].add(r.reason)
    assert all(len(v) == 1 for v in reasons.values()), reasons
    text = render_markdown(results, settings=True)
    assert "| settings |" in text.splitlines()[0]
    assert "emer-cl; pmemo (min_annotation_s=7.0); m2e_e2m_retrieval; vggish; " \
           "repeated:10:0.8; loss=composite-cos, P=0.9, alpha=0.1, lam=0.1" in text
