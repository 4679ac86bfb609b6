"""Reading the published annotation CSVs, and their static (valence, arousal) labels.

The published files differ in every incidental way: CRLF or LF, UTF-8 or
latin-1, space-padded "fixed-width" columns with a leading space in each name,
stray tab characters inside quoted fields, header typos
(``valence_ max_mean``) and ragged rows. Everything here is written once so
that every adapter tolerates all of it, and every defect that matters for the
labels is recorded as a ``Problem`` (with the raw value and the file) instead
of being dropped silently. Dynamic curves are read in ``curves.py``.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mer_bench.data.base import ValidationReport
from mer_bench.data.files import column_key, id_problem, norm_column, norm_id, to_float
from mer_bench.data.labels import LabelScale
from mer_bench.data.reads import note_bytes
from mer_bench.errors import DatasetError

RANGE_EPS = 1e-6  # tolerance of the range checks (values printed with 6 digits)

VA = ("valence", "arousal")  # canonical column order

Static = dict[str, tuple[float, float] | None]
"""Raw (valence, arousal) per id on the file's scale; None where a value was bad."""
Meta = dict[str, dict[str, str]]
"""Metadata fields per id."""


# --------------------------------------------------------------------------
# reading CSVs
# --------------------------------------------------------------------------
@dataclass
class Table:
    """A CSV as stripped strings, with normalised column names."""

    path: Path
    columns: list[str]
    rows: list[list[str]]
    encoding: str
    crlf: bool
    lines: list[int] = field(default_factory=list)  # line number of each row in the file
    delimited: bool = True  # False: whitespace-separated, where a field count proves nothing

    def line(self, index: int) -> int:
        """Line of ``rows[index]`` in the file (1-based, header included)."""
        return self.lines[index] if index < len(self.lines) else index + 2

    def col(self, *names: str, required: bool = True) -> int | None:
        """Index of the first column whose key matches one of ``names``."""
        keys = [column_key(c) for c in self.columns]
        for name in names:
            if column_key(name) in keys:
                return keys.index(column_key(name))
        if required:
            raise DatasetError(
                f"{self.path}: none of the columns {list(names)} found; header is "
                f"{self.columns}. Is this the right file?"
            )
        return None

    def cell(self, row: list[str], index: int | None) -> str:
        if index is None or index >= len(row):
            return ""
        return row[index]


def decode(data: bytes, path: Path) -> tuple[str, str]:
    """UTF-8 (with or without BOM) when valid, else Windows-1252 / latin-1.

    Every annotation reader decodes through here, so the file is noted for the
    data fingerprint (``data.reads``) from the bytes already read.
    """
    note_bytes(path, data)
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise DatasetError(f"{path}: cannot decode text")  # pragma: no cover - latin-1 never fails


def _clean(cell: str) -> str:
    return " ".join(cell.split()) if "\t" in cell or "  " in cell else cell.strip()


def _delimiter(header: str) -> str | None:
    for delim in (",", "\t", ";"):
        if delim in header:
            return delim
    return None  # whitespace-separated


def read_table(path: Path) -> Table:
    """Parse one annotation/metadata CSV whatever its encoding and line endings.

    Cells and names lose surrounding blanks (fixed-width padding, the stray
    tabs of EiM's ``songs_info.csv``) and inner runs of tabs/spaces become one
    space (PMEmo's ``"...Remix\t)"``), so that artist names group; blank
    lines are skipped; short rows are kept (DEAM's ragged dynamic rows).
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from exc
    text, encoding = decode(data, path)
    crlf = "\r\n" in text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    first = next((line for line in text.split("\n") if line.strip()), None)
    if first is None:
        raise DatasetError(f"{path} is empty; re-extract it from the dataset archive")
    delim = _delimiter(first)
    if delim is None:
        numbered = [(k, line.split()) for k, line in enumerate(text.split("\n"), 1)]
    else:
        numbered = _csv_rows(text, delim, path)
    numbered = [(k, row) for k, row in numbered if any(cell.strip() for cell in row)]
    columns = [norm_column(c) for c in numbered[0][1]]
    if " " in text or "\t" in text:  # padded or tabbed: clean every cell
        numbered = [(k, [_clean(cell) for cell in row]) for k, row in numbered]
    body = [(k, row) for k, row in numbered[1:] if any(row)]
    rows, lines = [row for _, row in body], [k for k, _ in body]
    return Table(path, columns, rows, encoding, crlf, lines, delimited=delim is not None)


def _csv_rows(text: str, delim: str, path: Path) -> list[tuple[int, list[str]]]:
    """``(line, cells)`` of every record; a record spanning lines is an error.

    No annotation file has a field that spans lines, so a quoted field that
    does is an unclosed quote: reading on would merge the following rows into
    one cell (one bogus "track") or run to the end of the file.
    """
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    out: list[tuple[int, list[str]]] = []
    last = 0
    physical = text.split("\n")
    try:
        for row in reader:
            start, last = last + 1, reader.line_num
            if last == start and '"' in physical[start - 1]:
                _check_quotes(physical[start - 1], delim, path, start)
            if last > start and any("\n" in cell for cell in row):
                total = text.count("\n") + (not text.endswith("\n"))
                where = "the end of the file" if last >= total else f"line {last}"
                raise DatasetError(
                    f"{path}, line {start}: a double quote opened on this line is not closed "
                    f"before {where}, so {last - start + 1} lines would be read as one row. "
                    f"Close or remove the stray quote on line {start} and check again."
                )
            out.append((start, row))
    except csv.Error as exc:
        raise DatasetError(
            f"{path}, line {reader.line_num}: not a readable CSV row ({exc}); fix that line"
        ) from exc
    return out


def _field_pattern(delim: str) -> re.Pattern[str]:
    """One CSV field: quoted (``""`` inside; blanks around) or free of quotes and ``delim``."""
    return re.compile(rf'[ \t]*"(?:[^"]|"")*"[ \t]*|[^"{re.escape(delim)}]*')


def _check_quotes(line: str, delim: str, path: Path, number: int) -> None:
    """Raise when a line's double quotes do not pair up as CSV fields.

    Python's reader accepts a stray quote (``3,\t3.mp3",...``) or a closing quote
    followed by text (``"a,"b"``) without complaint and shifts or merges fields, so
    a removed quote would silently move a song's values into other columns.
    """
    pattern, pos, column = _field_pattern(delim), 0, 1
    while True:
        pos = pattern.match(line, pos).end()  # type: ignore[union-attr]  # '*': always matches
        if pos == len(line):
            return
        if line[pos] != delim:
            raise DatasetError(
                f"{path}, line {number}: field {column} has an unbalanced double quote "
                f"(near {line[max(0, pos - 15) : pos + 15]!r}), so its fields would be read "
                f"shifted. Fix the quotes on line {number}."
            )
        pos, column = pos + 1, column + 1


def row_problem(table: Table, index: int) -> str | None:
    """Why row ``index`` cannot be read field by field (its field count); None if it can."""
    if not table.delimited or len(table.rows[index]) == len(table.columns):
        return None
    return (
        f"{table.path}, line {table.line(index)}: the row has {len(table.rows[index])} fields, "
        f"the header has {len(table.columns)}, so its values would be read in the wrong "
        f"columns. Fix line {table.line(index)} (a missing or extra comma or quote)."
    )


def malformed(report: ValidationReport, message: str, path: Path) -> None:
    """A row that does not parse: an error no option waives, so nothing is trained on it."""
    report.add("error", "malformed_row", message, None, path)


def row_id(table: Table, index: int, col: int | None, report: ValidationReport) -> str:
    """The normalised id of row ``index``; '' (row skipped) when it cannot be an id.

    An unusable id is a ``bad_id`` error naming the file, the line and the fix.
    """
    track_id = norm_id(table.cell(table.rows[index], col))
    problem = id_problem(track_id)
    if problem is None:
        return track_id
    shown = track_id if len(track_id) <= 40 else f"{track_id[:40]}..."
    report.add(
        "error",
        "bad_id",
        f"{table.path}, line {table.line(index)}: id {shown!r} {problem}. Correct or remove "
        "that row; the row is not read.",
        None,
        table.path,
    )
    return ""


# --------------------------------------------------------------------------
# static labels
# --------------------------------------------------------------------------
def bad_value(
    report: ValidationReport, track_id: str, what: str, raw: str, path: Path, why: str
) -> None:
    report.add(
        "error",
        "bad_label",
        f"{track_id}: {what} {raw!r} in {path.name} {why}",
        track_id,
        path,
    )


def check_value(
    raw: str, scale: LabelScale, report: ValidationReport, track_id: str, what: str, path: Path
) -> float | None:
    """The raw number when it is a finite value inside ``scale``; else report it."""
    value = to_float(raw)
    if value is None or math.isnan(value):
        why = "is empty" if value is not None else "is not a number"
        bad_value(report, track_id, what, raw, path, why)
        return None
    if not scale.low - RANGE_EPS <= value <= scale.high + RANGE_EPS:
        bad_value(report, track_id, what, raw, path, f"is outside [{scale.low:g}, {scale.high:g}]")
        return None
    return value


def read_static(
    table: Table,
    id_names: Iterable[str],
    valence_names: Iterable[str],
    arousal_names: Iterable[str],
    scale: LabelScale,
    report: ValidationReport,
) -> Static:
    """Raw (valence, arousal) per id on the file's own scale; None where a value is bad.

    Duplicate ids are reported and the first row is kept.
    """
    id_col = table.col(*id_names)
    cols = (table.col(*valence_names), table.col(*arousal_names))
    out: Static = {}
    for index, row in enumerate(table.rows):
        if problem := row_problem(table, index):
            malformed(report, problem, table.path)
            continue
        if not norm_id(table.cell(row, id_col)):
            report.add(
                "warning",
                "bad_id",
                f"row without an id in {table.path.name}, line {table.line(index)}: {row}",
                None,
                table.path,
            )
            continue
        track_id = row_id(table, index, id_col, report)
        if not track_id:
            continue
        if track_id in out:
            duplicate(report, track_id, table.path)
            continue
        values = [
            check_value(table.cell(row, c), scale, report, track_id, f"static {axis}", table.path)
            for axis, c in zip(VA, cols, strict=True)
        ]
        out[track_id] = None if None in values else (values[0], values[1])
    return out


def duplicate(report: ValidationReport, track_id: str, path: Path) -> None:
    report.add(
        "error",
        "duplicate_id",
        f"{track_id} appears more than once in {path.name}; the first row is used",
        track_id,
        path,
    )


def read_meta(
    table: Table,
    id_col: int,
    cols: dict[str, int | None],
    report: ValidationReport,
    required: Collection[str] = (),
    numeric: Collection[str] = (),
) -> dict[str, dict[str, str]]:
    """Non-empty metadata fields per id; a repeated id is reported and its first row kept.

    A row with the wrong field count, or (for the keys of ``cols`` named) an empty
    ``required`` field or a ``numeric`` one that is no number, is a ``malformed_row``
    error naming the file and line, and is not read.
    """
    out: dict[str, dict[str, str]] = {}
    for index, row in enumerate(table.rows):
        if problem := row_problem(table, index) or _field_problem(
            table, index, cols, required, numeric
        ):
            malformed(report, problem, table.path)
            continue
        track_id = row_id(table, index, id_col, report)
        if not track_id:
            continue
        if track_id in out:
            duplicate(report, track_id, table.path)
            continue
        fields = {k: table.cell(row, c) for k, c in cols.items() if c is not None}
        out[track_id] = {k: v for k, v in fields.items() if v}
    return out


def _field_problem(
    table: Table,
    index: int,
    cols: dict[str, int | None],
    required: Collection[str],
    numeric: Collection[str],
) -> str | None:
    """Why one of row ``index``'s named fields is unusable (empty, or not a number)."""
    row, where = table.rows[index], f"{table.path}, line {table.line(index)}"
    for key in (*required, *numeric):
        col = cols.get(key)
        if col is None:
            continue
        value, name = table.cell(row, col), table.columns[col]
        if key in required and not value:
            return f"{where}: field {name!r} is empty; every row needs one. Fill it in."
        if key in numeric and value and to_float(value) is None:
            return f"{where}: field {name!r} is {value!r}, which is not a number. Correct it."
    return None


def canonical_static(
    raw: tuple[float, float] | None, scale: LabelScale
) -> tuple[float, float] | None:
    if raw is None:
        return None
    return (float(scale.to_canonical(raw[0])), float(scale.to_canonical(raw[1])))


# --------------------------------------------------------------------------
# correlation for consistency checks
# --------------------------------------------------------------------------
def pearson(x: Iterable[float], y: Iterable[float]) -> float:
    """Pearson r, NaN when either side is constant or shorter than 3."""
    a, b = np.asarray(list(x), float), np.asarray(list(y), float)
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])
