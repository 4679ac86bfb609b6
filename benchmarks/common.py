"""Shared pieces of the performance suite: result rows, clocks and memory probes.

Every figure the suite reports is meant to be read as a ratio to a reference
measured in the same process moments apart, because the machines this runs on
are shared and absolute timings drift by tens of percent between runs.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Row:
    """One line of the results table: a measured value and, when there is one, its reference.

    ``ratio`` is ``value / reference``; ``goal`` states the target the row is
    checked against (empty when the row is only reported).
    """

    section: str
    name: str
    value: float
    unit: str
    reference: float | None = None
    reference_name: str = ""
    goal: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.reference is None or self.reference == 0:
            return None
        return self.value / self.reference

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ratio"] = self.ratio
        return out


def best_time(fn: Callable[[], Any], repeat: int = 3) -> float:
    """Smallest wall time of ``repeat`` calls (s): the least disturbed by other load."""
    best = float("inf")
    for _ in range(max(1, repeat)):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def interleaved(fns: dict[str, Callable[[], Any]], rounds: int = 3) -> dict[str, float]:
    """Best wall time of each callable, calling them in turn ``rounds`` times.

    Alternating the candidates exposes them to the same background load, which
    is what makes their ratio meaningful on a shared machine.
    """
    best = {name: float("inf") for name in fns}
    for _ in range(max(1, rounds)):
        for name, fn in fns.items():
            gc.collect()
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def interleaved_traced(fns: dict[str, Callable[[], Any]], rounds: int = 1
                       ) -> tuple[dict[str, float], dict[str, int]]:
    """``interleaved`` with every call under ``tracemalloc``: best times and peak bytes.

    For code that makes a few large numpy allocations tracing costs next to
    nothing, so one call gives both figures (the large sizes cannot afford two).
    """
    best = {name: float("inf") for name in fns}
    peaks = {name: 0 for name in fns}
    for _ in range(max(1, rounds)):
        for name, fn in fns.items():
            gc.collect()
            tracemalloc.start()
            try:
                base = tracemalloc.get_traced_memory()[0]
                start = time.perf_counter()
                result = fn()
                best[name] = min(best[name], time.perf_counter() - start)
                peaks[name] = max(peaks[name], tracemalloc.get_traced_memory()[1] - base)
            finally:
                tracemalloc.stop()
            del result
    return best, peaks
