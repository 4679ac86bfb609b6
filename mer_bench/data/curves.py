"""Dynamic (valence, arousal) curves: their annotated span, and capping them at a time.

Papers select and cut songs by how long their annotation runs (Takashima et
al. keep PMEmo songs with at least 7.0 s of annotation and cut DEAM to
15-45 s); adapters offer both as options built on these two functions.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from mer_bench.types import Track


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
