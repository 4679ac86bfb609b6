"""Run tags reach README.md, index.html and leaderboard.csv as inert text: no live
Markdown link or image, no HTML element, no spreadsheet formula."""

from __future__ import annotations

import csv
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from mer_bench.leaderboard import build_tables
from mer_bench.leaderboard.escape import csv_text, md_text
from mer_bench.leaderboard.render import render_csv, render_html, render_markdown
from mer_bench.leaderboard.rows import LeaderboardTable
from mer_bench.tracking.base import FOLD, RUN
from mer_bench.tracking.memory import InMemoryTracker

LINK = "[x](http://evil)"
IMAGE = "![](http://evil/p.png)"
FORMULA = '=HYPERLINK("http://evil","x")'
MARKUP = "a|b\nc `code` *bold* _em_ <b>tag</b>"
ELEMENT = '"><img src=x onerror=alert(1)>'


def _tables(tags: dict[str, str], value: float = 0.5) -> list[LeaderboardTable]:
    """One finished run of two folds carrying ``tags`` (as the runner logs them)."""
    base = {
        "task": "quadrant", "dataset": "4q", "method": "linear", "features": "mfcc",
        "protocol": "kfold:2", "variant": "", "seed": "0", "weights": "none",
        "config_hash": "h", "git_sha": "abc", "dataset_version": "1", "mer_bench_version": "0",
    }  # fmt: skip
    tags = {**base, **tags}
    tracker = InMemoryTracker()
    parent = tracker.start_run("r", {**tags, "kind": RUN})
    for i in range(2):
        child = tracker.start_run(f"f{i}", {**tags, "kind": FOLD, "fold": str(i)}, parent_id=parent)
        tracker.log_metrics(child, {"macro_f1": value, "accuracy": 0.6})
        tracker.end_run(child)
    tracker.end_run(parent)
    return build_tables(tracker.fold_records())


@pytest.fixture(scope="module")
def hostile() -> list[LeaderboardTable]:
    return _tables(
        {"method": LINK, "features": IMAGE, "variant": MARKUP, "dataset": f"4q{ELEMENT}",
         "config_hash": FORMULA, "git_sha": "@SUM(A1)", "dataset_version": "+1+2",
         "mer_bench_version": "-2+3"}  # fmt: skip
    )


def _md_html(markdown: str) -> str:
    return MarkdownIt("commonmark").enable("table").render(markdown)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[str] = []
        self.hrefs: list[str] = []
        self.rows: list[tuple[int, int]] = []  # (th, td) cells per table row

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [name for name, _ in attrs]
        self.hrefs += [value or "" for name, value in attrs if name in ("href", "src")]
        if tag == "tr":
            self.rows.append((0, 0))
        elif tag in ("th", "td") and self.rows:
            th, td = self.rows[-1]
            self.rows[-1] = (th + (tag == "th"), td + (tag == "td"))


def _parsed(html_text: str) -> _Tags:
    parser = _Tags()
    parser.feed(html_text)
    return parser


def test_markdown_leaderboard_has_no_live_link_image_or_element(hostile) -> None:
    markdown = render_markdown(hostile)
    page, plain = _parsed(_md_html(markdown)), _parsed(_md_html(render_markdown(_tables({}))))
    assert "img" not in page.tags and sorted(page.tags) == sorted(plain.tags)  # no new element
    assert page.hrefs and all(h.startswith("#") for h in page.hrefs)  # the contents' anchors


def test_markdown_leaderboard_keeps_the_text_readable_and_the_table_whole(hostile) -> None:
    markdown = render_markdown(hostile)
    html_text = _md_html(markdown)
    for visible in ("[x](http://evil)", "![](http://evil/p.png)", "`code`", "*bold*", "_em_"):
        assert visible in html_text
    assert "&lt;b&gt;tag&lt;/b&gt;" in html_text
    rows = _parsed(html_text).rows
    width = rows[0][0]
    assert width > 5 and all(td == width for _, td in rows[1:])  # a | in a tag splits no cell


def test_md_text_escapes_link_image_and_emphasis_marks() -> None:
    assert md_text(LINK) == r"\[x\](http://evil)"
    assert md_text(IMAGE) == r"\!\[\](http://evil/p.png)"
    assert md_text("a|b\nc") == r"a\|b c"
    assert md_text("*x* _y_ `z` <w>") == r"\*x\* \_y\_ \`z\` &lt;w&gt;"
    # a name with an inner underscore (a metric, a dataset) stays as it is
    assert md_text("m2e_recall@5") == "m2e_recall@5"


def test_html_leaderboard_escapes_tags(hostile) -> None:
    page = render_html(hostile)
    parsed = _parsed(page)
    assert "img" not in parsed.tags and "onerror" not in parsed.attrs
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert '[x](http://evil)' in page and '<a href="http://evil' not in page


def test_csv_cells_that_would_run_as_formulas_are_quoted(hostile) -> None:
    rows = list(csv.DictReader(render_csv(hostile).splitlines()))
    assert rows
    for row in rows:
        assert row["config_hash"] == "'" + FORMULA
        assert row["git_sha"] == "'@SUM(A1)"
        assert row["dataset_version"] == "'+1+2"
        assert row["mer_bench_version"] == "'-2+3"
        assert row["method"] == LINK  # text that runs nothing is left as it is
        assert not any(v[:1] in ("=", "+", "@") for v in row.values() if v)


def test_negative_numbers_stay_numbers_in_the_csv() -> None:
    tables = _tables({"git_sha": "-0.5"}, value=-0.25)
    rows = list(csv.DictReader(render_csv(tables).splitlines()))
    f1 = next(r for r in rows if r["metric"] == "macro_f1")
    assert f1["mean"] == "-0.25" and float(f1["ci_low"]) == -0.25
    assert f1["git_sha"] == "-0.5"


@pytest.mark.parametrize(
    ("cell", "out"),
    [
        ("=1+1", "'=1+1"), ("-cmd", "'-cmd"), ("@x", "'@x"), ("+x", "'+x"), ("\tx", "'\tx"),
        ("-0.25", "-0.25"), ("-1e-05", "-1e-05"), ("+3", "+3"), ("x=1", "x=1"), ("", ""),
    ],
)  # fmt: skip
def test_csv_text(cell: str, out: str) -> None:
    assert csv_text(cell) == out


def test_paper_tables_escape_markdown_in_text_cells() -> None:
    from mer_bench.paper_report import render_markdown as paper_markdown
    from mer_bench.papers import PaperRow, RowResult

    row = PaperRow("toy", "t1", LINK, "macro_f1", 0.5, note=IMAGE)
    ok = RowResult(row, "ok", mean=0.6, low=0.55, high=0.65, n=4)
    failed = RowResult(row, "failed", reason=f"dataset {ELEMENT} {MARKUP}")
    text = paper_markdown([ok, failed])
    page, rows = _parsed(_md_html(text)), _parsed(_md_html(text)).rows
    assert "img" not in page.tags and "a" not in page.tags and "code" not in page.tags
    assert all(td == rows[0][0] for _, td in rows[1:])
    assert "| 0.600 [0.550, 0.650] (n=4) |" in text  # numbers read as computed
    assert r"\[x\](http://evil)" in text and r"\!\[\](http://evil/p.png)" in text
