"""Shared parsing for the real MER annotation files (DEAM, PMEmo, 4Q, EiM).

The published files differ in every incidental way: CRLF or LF, UTF-8 or
latin-1, space-padded "fixed-width" columns with a leading space in each name,
stray tab characters inside quoted fields, header typos
(``valence_ max_mean``), ragged rows, and archives unpacked into nested or
renamed folders. Everything here is written once so that every adapter
tolerates all of it, and every defect that matters for the labels is recorded
as a ``Problem`` (with the raw value and the file) instead of being dropped
silently.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from mer_bench.data.audio import AudioInfo, audio_info
from mer_bench.data.base import DatasetAdapter, ValidationReport
from mer_bench.data.labels import LabelScale
from mer_bench.errors import AudioError, DatasetError
from mer_bench.types import Track

DYNAMIC_RATE_HZ = 2.0
STEP_S = 1.0 / DYNAMIC_RATE_HZ
AUDIO_EXTENSIONS = (".mp3", ".wav", ".flac", ".ogg")  # preference order
_RANGE_EPS = 1e-6
_MAX_DEPTH = 8
MAX_ID_BYTES = 200  # a longer "id" is a broken row (a file name allows 255 bytes)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SKIP_DIRS = {"__MACOSX"}

VA = ("valence", "arousal")  # canonical column order

Static = dict[str, tuple[float, float] | None]
"""Raw (valence, arousal) per id on the file's scale; None where a value was bad."""
Meta = dict[str, dict[str, str]]
"""Metadata fields per id."""


# --------------------------------------------------------------------------
# names and ids
# --------------------------------------------------------------------------
def norm_column(name: str) -> str:
    """Strip and collapse whitespace (``' valence_mean'`` -> ``'valence_mean'``)."""
    return " ".join(name.replace("\ufeff", "").split())


def column_key(name: str) -> str:
    """Case- and typo-insensitive key: ``' valence_ max_mean'`` -> ``'valence_max_mean'``."""
    key = norm_column(name).lower()
    return re.sub(r"\s*_\s*", "_", key)


def file_key(name: str) -> str:
    """File/folder names match whatever spaces, underscores or hyphens were used."""
    return re.sub(r"[\s_\-]+", "_", name.strip().lower())


def norm_id(raw: str) -> str:
    """``' 2'``, ``'2.0'`` and ``'002'`` are all song ``'2'``; other ids only lose blanks."""
    text = raw.strip().strip('"').strip()
    if len(text) <= MAX_ID_BYTES and (match := re.fullmatch(r"(\d+)(\.0*)?", text)):
        return str(int(match.group(1)))  # exact, however many digits
    return text


def id_problem(track_id: str) -> str | None:
    """Why ``track_id`` cannot be a track id (None: it can).

    Ids become file names and run artefacts: an id that no file system
    accepts, or one holding control characters, is a broken row, not a track.
    """
    size = len(track_id.encode("utf-8"))
    if size > MAX_ID_BYTES:
        return (
            f"is {len(track_id)} characters long (at most {MAX_ID_BYTES} bytes); a missing "
            "separator or a stray quote probably ran several cells together"
        )
    if match := _CONTROL.search(track_id):
        return f"contains the control character {match.group()!r}"
    return None


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


def id_sort_key(track_id: str) -> tuple[int, int, str]:
    """Numeric ids in numeric order, then the rest alphabetically."""
    return (0, int(track_id), "") if track_id.isdigit() else (1, 0, track_id)


def to_float(raw: str) -> float | None:
    """NaN for an empty cell, None for text that is not a number."""
    text = raw.strip()
    if not text or text.lower() in ("nan", "na", "n/a"):
        return math.nan
    try:
        return float(text)
    except ValueError:
        return None


# --------------------------------------------------------------------------
# finding files
# --------------------------------------------------------------------------
class Locator:
    """Finds annotation files and audio folders anywhere below a dataset root.

    Datasets are unpacked in many ways (``DEAM_Annotations/annotations/
    annotations averaged per song/song_level/...``, the same with underscores,
    a second nested copy...). One walk indexes every file and folder by a
    normalised name; lookups return the shallowest match, and when several
    copies exist the others are remembered so validate() can say which one
    was used. Hidden folders and ``__MACOSX`` resource forks are skipped.
    """

    def __init__(self, root: Path, max_depth: int = _MAX_DEPTH) -> None:
        self.root = root
        self.files: dict[str, list[Path]] = {}
        self.dirs: dict[str, list[Path]] = {}
        self.ambiguous: dict[str, list[Path]] = {}
        self._walk(max_depth)

    def _walk(self, max_depth: int) -> None:
        base_depth = len(self.root.parts)
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=True):
            here = Path(dirpath)
            depth = len(here.parts) - base_depth
            dirnames[:] = sorted(
                d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS
            )
            if depth >= max_depth:
                dirnames[:] = []
            for d in dirnames:
                self.dirs.setdefault(file_key(d), []).append(here / d)
            for f in filenames:
                if not f.startswith("."):
                    self.files.setdefault(file_key(f), []).append(here / f)

    @staticmethod
    def _best(paths: list[Path]) -> Path:
        return min(paths, key=lambda p: (len(p.parts), str(p)))

    def file(self, *names: str) -> Path | None:
        """The shallowest file called any of ``names`` (first name wins on ties)."""
        for name in names:
            paths = self.files.get(file_key(name))
            if paths:
                best = self._best(paths)
                if len(paths) > 1:
                    self.ambiguous[name] = sorted(paths, key=lambda p: (len(p.parts), str(p)))
                return best
        return None

    def dir(self, name: str, containing: str | None = None) -> Path | None:
        """The shallowest folder called ``name`` (with a file ``containing``, if given)."""
        paths = self.dirs.get(file_key(name), [])
        if containing is not None:
            paths = [p for p in paths if (p / containing).is_file()] or paths
        return self._best(paths) if paths else None

    def report_copies(self, report: ValidationReport) -> None:
        for name, paths in self.ambiguous.items():
            report.add(
                "info",
                "duplicate_copies",
                f"{len(paths)} copies of {name} below {self.root}; using {paths[0]}",
                path=paths[0],
            )


def audio_index(folder: Path | None) -> dict[str, Path]:
    """``{stem: path}`` of the audio files in ``folder`` (mp3 preferred over wav...)."""
    found: dict[str, Path] = {}
    if folder is None or not folder.is_dir():
        return found
    rank = {ext: k for k, ext in enumerate(AUDIO_EXTENSIONS)}
    for entry in sorted(folder.iterdir()):
        ext = entry.suffix.lower()
        if entry.name.startswith(".") or ext not in rank or not entry.is_file():
            continue
        key = norm_id(entry.stem)
        if key not in found or rank[ext] < rank[found[key].suffix.lower()]:
            found[key] = entry
    return found


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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
    """UTF-8 (with or without BOM) when valid, else Windows-1252 / latin-1."""
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
    return Table(
        path, columns, [row for _, row in body], encoding, crlf, [k for k, _ in body]
    )


def _csv_rows(text: str, delim: str, path: Path) -> list[tuple[int, list[str]]]:
    """``(line, cells)`` of every record; a record spanning lines is an error.

    No annotation file has a field that spans lines, so a quoted field that
    does is an unclosed quote: reading on would merge the following rows into
    one cell (one bogus "track") or run to the end of the file.
    """
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    out: list[tuple[int, list[str]]] = []
    last = 0
    try:
        for row in reader:
            start, last = last + 1, reader.line_num
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
    if not scale.low - _RANGE_EPS <= value <= scale.high + _RANGE_EPS:
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
) -> dict[str, dict[str, str]]:
    """Non-empty metadata fields per id; a repeated id is reported and its first row kept."""
    out: dict[str, dict[str, str]] = {}
    for index, row in enumerate(table.rows):
        track_id = row_id(table, index, id_col, report)
        if not track_id:
            continue
        if track_id in out:
            duplicate(report, track_id, table.path)
            continue
        fields = {k: table.cell(row, c) for k, c in cols.items() if c is not None}
        out[track_id] = {k: v for k, v in fields.items() if v}
    return out


def canonical_static(
    raw: tuple[float, float] | None, scale: LabelScale
) -> tuple[float, float] | None:
    if raw is None:
        return None
    return (float(scale.to_canonical(raw[0])), float(scale.to_canonical(raw[1])))


# --------------------------------------------------------------------------
# dynamic labels
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Curve:
    """One axis of a dynamic annotation on the 2 Hz grid (canonical scale)."""

    start_s: float
    values: np.ndarray

    @property
    def end_s(self) -> float:
        return self.start_s + (len(self.values) - 1) * STEP_S


_SAMPLE_MS = re.compile(r"^sample_?(\d+(?:\.\d+)?)\s*ms$")


def _wide_times(table: Table) -> np.ndarray:
    """Seconds of each value column of ``song_id,sample_15000ms,...`` (2 Hz checked)."""
    times = []
    for name in table.columns[1:]:
        match = _SAMPLE_MS.match(column_key(name))
        if match is None:
            raise DatasetError(
                f"{table.path}: column {name!r} is not of the form sample_<ms>ms; "
                "expected the wide dynamic format song_id,sample_15000ms,..."
            )
        times.append(float(match.group(1)) / 1000.0)
    t = np.asarray(times)
    if len(t) > 1 and not np.allclose(np.diff(t), STEP_S):
        raise DatasetError(
            f"{table.path}: sample columns are not 500 ms apart; mer-bench expects the 2 Hz files"
        )
    return t


def _curve_from_cells(
    cells: list[str],
    start_s: float,
    scale: LabelScale,
    report: ValidationReport,
    track_id: str,
    what: str,
    path: Path,
) -> Curve | None:
    """Validate one row of per-frame cells; trailing (and leading) blanks are trimmed."""
    values = _floats(cells)
    if values is None:
        raw = next(c for c in cells if to_float(c) is None)
        bad_value(report, track_id, what, raw, path, "is not a number")
        return None
    present = np.flatnonzero(~np.isnan(values))
    if present.size == 0:
        report.add(
            "error", "bad_label", f"{track_id}: {what} row in {path.name} is empty", track_id, path
        )
        return None
    values = values[present[0] : present[-1] + 1]
    if np.isnan(values).any():
        gap = int(np.flatnonzero(np.isnan(values))[0])
        report.add(
            "error",
            "bad_label",
            f"{track_id}: {what} in {path.name} has a missing value at "
            f"{start_s + (present[0] + gap) * STEP_S:.1f} s",
            track_id,
            path,
        )
        return None
    outside = (values < scale.low - _RANGE_EPS) | (values > scale.high + _RANGE_EPS)
    if outside.any():
        k = int(np.flatnonzero(outside)[0])
        bad_value(
            report,
            track_id,
            what,
            repr_float(values[k]),
            path,
            f"is outside [{scale.low:g}, {scale.high:g}] at "
            f"{start_s + (present[0] + k) * STEP_S:.1f} s",
        )
        return None
    canonical = np.asarray(scale.to_canonical(values), dtype=np.float64)
    return Curve(float(start_s + present[0] * STEP_S), canonical)


def _floats(cells: list[str]) -> np.ndarray | None:
    """Cells as floats (NaN for blanks; trailing blanks dropped); None if any is text."""
    joined = ",".join(cells)
    if joined.count(",") == max(len(cells) - 1, 0):  # no cell holds a comma
        cells = joined.rstrip(",").split(",") if joined.strip(",") else []
    try:
        return np.array([c if c else "nan" for c in cells], dtype=float)
    except ValueError:
        parsed = [to_float(c) for c in cells]
        return None if any(v is None for v in parsed) else np.array(parsed, dtype=float)


def repr_float(value: float) -> str:
    return f"{value:g}"


def read_wide_curves(
    table: Table, axis: str, scale: LabelScale, report: ValidationReport
) -> dict[str, Curve | None]:
    """``song_id,sample_15000ms,...`` rows (EiM, DEAM) as curves per id (None: bad row)."""
    times = _wide_times(table)
    start = float(times[0]) if len(times) else 0.0
    out: dict[str, Curve | None] = {}
    for index, row in enumerate(table.rows):
        track_id = row_id(table, index, 0, report)
        if not track_id:
            continue
        if track_id in out:
            duplicate(report, track_id, table.path)
            continue
        cells = row[1:]
        if len(cells) > len(times):
            extra = [c for c in cells[len(times) :] if c]
            if extra:
                report.add(
                    "warning",
                    "ragged_row",
                    f"{track_id}: {len(cells) - len(times)} cells beyond the header in "
                    f"{table.path.name} ignored",
                    track_id,
                    table.path,
                )
            cells = cells[: len(times)]
        out[track_id] = _curve_from_cells(
            cells, start, scale, report, track_id, f"dynamic {axis}", table.path
        )
    return out


def read_long_curves(
    table: Table,
    id_names: Iterable[str],
    time_names: Iterable[str],
    axis_names: Mapping[str, Iterable[str]],
    scale: LabelScale,
    report: ValidationReport,
) -> dict[str, dict[str, Curve] | None]:
    """``musicId,frameTime,Arousal(mean),Valence(mean)`` rows (PMEmo) as curves per id.

    Frames are placed on the 2 Hz grid from each song's first frame time; a
    missing frame inside a song, a duplicated frame or a time off the grid is
    a ``bad_label`` and the song maps to None.
    """
    id_col, time_col = table.col(*id_names), table.col(*time_names)
    axis_cols = {axis: table.col(*names) for axis, names in axis_names.items()}
    grouped: dict[str, list[list[str]]] = {}
    for index, row in enumerate(table.rows):
        grouped.setdefault(row_id(table, index, id_col, report), []).append(row)
    out: dict[str, dict[str, Curve] | None] = {}
    for track_id, rows in grouped.items():
        if not track_id:
            continue
        frames = _frame_index(track_id, [table.cell(r, time_col) for r in rows], table, report)
        out[track_id] = None
        if frames is None:
            continue
        start, index = frames
        curves: dict[str, Curve] = {}
        for axis, col in axis_cols.items():
            cells = [""] * (int(index.max()) + 1)
            for k, row in zip(index, rows, strict=True):
                cells[k] = table.cell(row, col)
            curve = _curve_from_cells(
                cells, start, scale, report, track_id, f"dynamic {axis}", table.path
            )
            if curve is not None:
                curves[axis] = curve
        if len(curves) == len(axis_cols):
            out[track_id] = curves
    return out


def _frame_index(
    track_id: str, raw_times: list[str], table: Table, report: ValidationReport
) -> tuple[float, np.ndarray] | None:
    times = [to_float(t) for t in raw_times]
    bad = [raw for raw, t in zip(raw_times, times, strict=True) if t is None or math.isnan(t)]
    if bad:
        bad_value(report, track_id, "frame time", bad[0], table.path, "is not a number")
        return None
    t = np.asarray(times, dtype=float)
    start = float(t.min())
    steps = (t - start) / STEP_S
    index = np.rint(steps).astype(int)
    if not np.allclose(steps, index, atol=1e-3):
        off = raw_times[int(np.argmax(np.abs(steps - index)))]
        bad_value(report, track_id, "frame time", off, table.path, "is not on the 2 Hz grid")
        return None
    dupes = [k for k, n in Counter(index.tolist()).items() if n > 1]
    if dupes:
        report.add(
            "error",
            "bad_label",
            f"{track_id}: frame time {start + dupes[0] * STEP_S:g} s appears twice in "
            f"{table.path.name}",
            track_id,
            table.path,
        )
        return None
    return start, index


def align(
    valence: Curve | None, arousal: Curve | None
) -> tuple[np.ndarray | None, float, str | None]:
    """Stack two curves into [T, 2] (valence, arousal) over their common frames.

    Returns the array, its start time, and a description when the two axes
    cover different frames (then only the overlap is kept).
    """
    if valence is None or arousal is None:
        return None, 0.0, None
    start, end = max(valence.start_s, arousal.start_s), min(valence.end_s, arousal.end_s)
    note = None
    if not (
        math.isclose(valence.start_s, arousal.start_s)
        and len(valence.values) == len(arousal.values)
    ):
        note = (
            f"valence has {len(valence.values)} frames from {valence.start_s:g} s, arousal "
            f"{len(arousal.values)} from {arousal.start_s:g} s; kept the common "
            f"{max(0, int(round((end - start) / STEP_S)) + 1)} frames"
        )
    if end < start:
        return None, start, note
    n = int(round((end - start) / STEP_S)) + 1
    iv = int(round((start - valence.start_s) / STEP_S))
    ia = int(round((start - arousal.start_s) / STEP_S))
    stacked = np.stack([valence.values[iv : iv + n], arousal.values[ia : ia + n]], axis=1)
    return stacked, float(start), note


Dynamic = dict[str, tuple[np.ndarray, float] | None]
"""``{id: ([T, 2] valence/arousal, start_s)}``; None for a song whose rows were bad."""


def dynamic_tracks(
    valence: Mapping[str, Curve | None],
    arousal: Mapping[str, Curve | None],
    report: ValidationReport,
    files: tuple[Path, Path],
) -> Dynamic:
    """Combine per-axis curves of two wide files, reporting ids and lengths that differ."""
    out: Dynamic = {}
    for track_id in sorted(set(valence) | set(arousal), key=id_sort_key):
        if track_id not in valence or track_id not in arousal:
            have, lack = (files[0], files[1]) if track_id in valence else (files[1], files[0])
            report.add(
                "warning",
                "id_mismatch",
                f"{track_id}: dynamic annotation in {have.name} but not in {lack.name}",
                track_id,
                lack,
            )
            continue
        out[track_id] = combine(valence[track_id], arousal[track_id], track_id, report, files[0])
    return out


def combine(
    valence: Curve | None,
    arousal: Curve | None,
    track_id: str,
    report: ValidationReport,
    path: Path,
) -> tuple[np.ndarray, float] | None:
    """``align`` plus the report of a length mismatch; None when nothing overlaps."""
    stacked, start, note = align(valence, arousal)
    if note:
        report.add("warning", "dynamic_length_mismatch", f"{track_id}: {note}", track_id, path)
    if stacked is None or not len(stacked):
        return None
    return stacked, start


# --------------------------------------------------------------------------
# correlation for consistency checks
# --------------------------------------------------------------------------
def pearson(x: Iterable[float], y: Iterable[float]) -> float:
    """Pearson r, NaN when either side is constant or shorter than 3."""
    a, b = np.asarray(list(x), float), np.asarray(list(y), float)
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


# --------------------------------------------------------------------------
# the shared adapter behaviour
# --------------------------------------------------------------------------
class AnnotatedDataset(DatasetAdapter):
    """What the four file-based adapters share beyond ``DatasetAdapter``.

    ``_load_tracks`` implementations record what they find while parsing in
    ``self._notes`` (a ValidationReport used as a collector: problems and
    summary entries); ``validate()`` merges it, then runs the checks every
    dataset needs: audio files nobody annotated, audio shorter than its
    dynamic annotations, durations that disagree with the metadata, and the
    per-quadrant counts.
    """

    # a clip shorter than this (below the dataset's shortest real clip) is a short_audio
    # error, which --skip-invalid waives; one shorter than nominal_clip_s only a warning
    min_clip_s: ClassVar[float | None] = None
    nominal_clip_s: ClassVar[float | None] = None

    def __init__(self, root: Path | str | None = None) -> None:
        super().__init__(root)
        self._notes = ValidationReport(self.name, str(self.root))
        self._headers: dict[Path, AudioInfo | None] = {}
        self._check_audio_flag = True

    def validate(self, check_audio: bool = True, deep: bool = False) -> ValidationReport:
        self._check_audio_flag = check_audio
        return super().validate(check_audio, deep)

    # hooks ---------------------------------------------------------------
    def _audio_on_disk(self) -> dict[str, Path]:
        """Audio files below the audio folder(s), keyed by the id they would belong to."""
        return {}

    def _dataset_checks(self, report: ValidationReport) -> None:
        """Adapter-specific checks run after the parse notes are merged."""

    # validate() ------------------------------------------------------------
    def _validate_extra(self, report: ValidationReport) -> None:
        tracks = self.tracks()
        report.problems.extend(self._notes.problems)
        report.notices.extend(n for n in self._notes.notices if n not in report.notices)
        for key, value in self._notes.summary.items():
            report.summary.setdefault(key, value)
        self._dataset_checks(report)
        quadrants = Counter(t.effective_quadrant() for t in tracks)
        if any(q is not None for q in quadrants):
            report.summary["per quadrant"] = {f"Q{q}": quadrants.get(q, 0) for q in (1, 2, 3, 4)}
        self._check_artists(tracks, report)
        if self._check_audio_flag:
            self._check_unannotated_audio(tracks, report)
            self._check_durations(tracks, report)

    def _check_unannotated_audio(self, tracks: list[Track], report: ValidationReport) -> None:
        known = {t.id for t in tracks}
        extra = {k: p for k, p in self._audio_on_disk().items() if k not in known}
        for track_id, path in sorted(extra.items(), key=lambda kv: id_sort_key(kv[0])):
            report.add(
                "warning",
                "unannotated_audio",
                f"{path.name}: audio file without annotations (id {track_id}); it is ignored",
                track_id,
                path,
            )
        report.summary["audio without annotations"] = len(extra)

    def _check_artists(self, tracks: list[Track], report: ValidationReport) -> None:
        """Artist-disjoint splits need an artist on every track: name the ones without."""
        with_artist = sum(1 for t in tracks if t.artist)
        if not with_artist:
            return
        report.summary["artists"] = len({t.artist for t in tracks if t.artist})
        for t in tracks:
            if not t.artist:
                report.add(
                    "warning",
                    "missing_artist",
                    f"{t.id}: no artist in the metadata; "
                    "artist-disjoint splits treat it as its own artist",
                    t.id,
                )

    def _header(self, path: Path | None) -> AudioInfo | None:
        if path is None:
            return None
        if path not in self._headers:
            try:
                self._headers[path] = audio_info(path)
            except AudioError:
                self._headers[path] = None
        return self._headers[path]

    def _check_durations(self, tracks: list[Track], report: ValidationReport) -> None:
        """Audio must cover its dynamic annotations and agree with metadata durations."""
        for t in tracks:
            if t.audio_path is None or not Path(t.audio_path).is_file():
                continue
            info = self._header(Path(t.audio_path))
            if info is None:
                continue
            if self.min_clip_s is not None and info.duration_s < self.min_clip_s:
                report.add(
                    "error",
                    "short_audio",
                    f"{t.id}: {Path(t.audio_path).name} is only {info.duration_s:.2f} s long; "
                    f"no {self.name} clip is shorter than {self.min_clip_s:g} s, so it is "
                    "probably cut short. Re-download it (`--skip-invalid` leaves it out).",
                    t.id,
                    t.audio_path,
                )
                continue
            if t.dynamic_va is not None and len(t.dynamic_va):
                needed = t.dynamic_start_s + (len(t.dynamic_va) - 1) / t.dynamic_rate_hz
                if info.duration_s + 1.0 < needed:
                    report.add(
                        "warning",
                        "short_audio",
                        f"{t.id}: dynamic annotations run to {needed:.1f} s but the audio is "
                        f"{info.duration_s:.2f} s long",
                        t.id,
                        t.audio_path,
                    )
            if self.nominal_clip_s is not None and info.duration_s < self.nominal_clip_s:
                report.add(
                    "warning",
                    "short_clip",
                    f"{t.id}: clip is only {info.duration_s:.2f} s long "
                    f"(nominally at least {self.nominal_clip_s:g} s)",
                    t.id,
                    t.audio_path,
                )
            if t.duration_s is not None and abs(t.duration_s - info.duration_s) > 1.0:
                report.add(
                    "warning",
                    "duration_mismatch",
                    f"{t.id}: metadata says {t.duration_s:.2f} s, audio file is "
                    f"{info.duration_s:.2f} s",
                    t.id,
                    t.audio_path,
                )

    # helpers for subclasses ---------------------------------------------
    def _locate(self) -> Locator:
        return Locator(self.root)

    def _read_optional(self, path: Path, parse: Callable[[Table], Meta]) -> Meta:
        """Parse an optional metadata file; if it is malformed, warn and go on without it."""
        try:
            return parse(read_table(path))
        except DatasetError as exc:
            self._notes.add(
                "warning", "unreadable_metadata", f"{exc} (metadata ignored)", path=path
            )
            return {}

    def _check_known_files(
        self, known: Mapping[str, str], locator_paths: Mapping[str, Path | None]
    ) -> None:
        """Info notes for annotation files that differ from the known published copy."""
        for name, digest in known.items():
            path = locator_paths.get(name)
            if path is not None and path.is_file() and sha256_of(path) != digest:
                self._notes.add(
                    "info",
                    "checksum_mismatch",
                    f"{path.name} differs from the published copy (sha256 {digest[:12]}...); "
                    "fine if you re-saved it, otherwise re-download",
                    path=path,
                )
