"""EMER-CL scoring at Q = 1k, 10k, 20k: time and peak memory of one composite M2E matrix.

Inputs are ``scoring_inputs`` (D = 1024, 64 canonical dimensions at P = 0.4,
the profile of the Q = 10,000 test). Time is the best of the interleaved
calls (one call each from Q = 10k) and peak memory is traced in the same calls
(``tracemalloc`` sees numpy's buffers; it costs next to nothing for a few
large allocations), in units of one Q x Q float64 matrix. Time references, measured
beside it: the bare float32 [Q, 2D] x [2D, Q] product every KL score needs
(the floor), and the previous whole-matrix code (``reference_scoring``) up to
``OLD_MAX_Q``, beyond which it would need three 20k x 20k matrices (9.6 GB).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks import reference_scoring as old
from benchmarks.common import Row, interleaved_traced
from benchmarks.scoring_inputs import scoring_inputs
from mer_bench.methods.emer_cl import scoring

SECTION = "emer-cl scoring"
OLD_MAX_Q = 10_000
GOAL = "<= 2 Q^2 float64 alive; < 5 s at Q = 10k"


def _warm() -> None:
    """JIT-compile both numba kernels (new and old code) outside every clock."""
    emb, cca = scoring_inputs(300, d=64, kept=16)
    for mod in (scoring, old):
        mod.retrieval_scores(emb, cca, "composite", 0.5, 0.4, "m2e")
    scoring.neg_l1_matrix(np.zeros((2, 1)), np.zeros((2, 1)), use_numba=True)
    old.neg_l1_matrix(np.zeros((2, 1)), np.zeros((2, 1)), use_numba=True)


def _gemm(emb: Any) -> Callable[[], Any]:
    left = np.concatenate([emb.mu_m, emb.mu_m], axis=1).astype(np.float32)
    right = np.concatenate([emb.mu_e, emb.mu_e], axis=1).astype(np.float32)
    return lambda: left @ right.T


def run(sizes: tuple[int, ...], d: int = 1024, kept: int = 64, rounds: int = 2) -> list[Row]:
    """Two rows per Q (vs the GEMM floor, vs the old code) plus one of peak memory."""
    _warm()
    rows = []
    for q in sizes:
        emb, cca = scoring_inputs(q, d=d, kept=kept)
        fns: dict[str, Callable[[], Any]] = {
            "new": lambda e=emb, c=cca: scoring.retrieval_scores(e, c, "composite", 0.5, 0.4,
                                                                 "m2e"),
            "gemm": _gemm(emb),
        }
        with_old = q <= OLD_MAX_Q
        if with_old:
            fns["old"] = lambda e=emb, c=cca: old.retrieval_scores(e, c, "composite", 0.5, 0.4,
                                                                   "m2e")
        best, peaks = interleaved_traced(fns, rounds if q < OLD_MAX_Q else 1)
        matrix = 8.0 * q * q
        peak_new = peaks["new"] / matrix
        peak_old = peaks["old"] / matrix if with_old else None
        extra = {"Q": q, "D": d, "kept_dims": kept, "new_s": best["new"],
                 "old_s": best.get("old"), "gemm_s": best["gemm"],
                 "peak_new_Q2": peak_new, "peak_old_Q2": peak_old}
        label = f"Q={q // 1000}k" if q % 1000 == 0 else f"Q={q}"
        label += " composite M2E"
        rows.append(Row(SECTION, f"{label}: time vs float32 GEMM floor", best["new"], "s",
                        best["gemm"], "[Q,2D]x[2D,Q] float32 product", GOAL, extra))
        if with_old:
            rows.append(Row(SECTION, f"{label}: time vs previous code", best["new"], "s",
                            best["old"], "whole-matrix code", GOAL, extra))
        rows.append(Row(SECTION, f"{label}: peak traced memory", peak_new, "Q^2 float64",
                        peak_old, "whole-matrix code" if with_old else "", GOAL, extra))
        del emb, cca, fns
    return rows
