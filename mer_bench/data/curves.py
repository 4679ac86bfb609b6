"""Dynamic (valence, arousal) curves: reading them from the published files, their
annotated span, and capping them at a time.

Every published dynamic annotation is on a 2 Hz grid, in one of two layouts:
wide (``song_id,sample_15000ms,...``: DEAM, EiM) or long
(``musicId,frameTime,...``: PMEmo). Both are read into ``Curve``s per axis and
stacked into [T, 2] (valence, arousal) arrays; every defect (text cells, gaps,
frames off the grid, axes of different lengths) is reported, never dropped.

Papers select and cut songs by how long their annotation runs (Takashima et
al. keep PMEmo songs with at least 7.0 s of annotation and cut DEAM to
15-45 s); adapters offer both as options built on these two functions.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mer_bench.data.base import ValidationReport
from mer_bench.data.files import column_key, id_sort_key, to_float
from mer_bench.data.labels import LabelScale
from mer_bench.data.tables import RANGE_EPS, Table, bad_value, duplicate, row_id
from mer_bench.errors import DatasetError
from mer_bench.types import Track

DYNAMIC_RATE_HZ = 2.0
STEP_S = 1.0 / DYNAMIC_RATE_HZ


def annotation_span_s(curve: np.ndarray | None, rate_hz: float) -> float:
    """Seconds from a curve's first frame to its last (0 for one frame or none)."""
    if curve is None or len(curve) == 0:
        return 0.0
    return (len(curve) - 1) / float(rate_hz)


def cap_curve(curve: np.ndarray, start_s: float, rate_hz: float, end_s: float) -> np.ndarray:
    """The frames of ``curve`` (frame k at ``start_s + k / rate_hz``) at or before ``end_s``."""
    n_keep = int(np.floor((end_s - start_s) * rate_hz + 1e-9)) + 1
    return curve[: max(0, n_keep)]


STATIC_TARGETS = ("static", "dynamic_mean", "dynamic_last")


def static_from_curve(curve: np.ndarray, how: str) -> tuple[float, float]:
    """A clip's (valence, arousal) from its curve: the time-mean or the last frame."""
    if how == "dynamic_mean":
        value = np.asarray(curve, dtype=float).mean(axis=0)
    elif how == "dynamic_last":
        value = np.asarray(curve, dtype=float)[-1]
    else:
        raise ValueError(f"unknown static target {how!r}; use one of {STATIC_TARGETS}")
    return float(value[0]), float(value[1])


def curve_static_labels(tracks: list[Track], how: str) -> list[Track]:
    """``tracks`` whose static V/A is derived from their curve (``how``), when it is not
    ``static``; a track without a curve then has no static label. Takashima et al.'s
    Table 3 regresses DEAM's time-mean and PMEmo's last value (``dynamic_mean`` /
    ``dynamic_last``), and scores against the same.
    """
    if how == "static":
        return tracks
    return [
        dataclasses.replace(
            t,
            static_va=None
            if t.dynamic_va is None or len(t.dynamic_va) == 0
            else static_from_curve(t.dynamic_va, how),
        )
        for t in tracks
    ]


def static_target_note(how: str, n: int) -> str:
    """The ``corrections()`` text of a curve-derived static label."""
    what = "time-mean" if how == "dynamic_mean" else "last value"
    return f"static V/A of {n} songs is the {what} of their dynamic curve ({how})"


# --------------------------------------------------------------------------
# reading dynamic labels
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
    outside = (values < scale.low - RANGE_EPS) | (values > scale.high + RANGE_EPS)
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
