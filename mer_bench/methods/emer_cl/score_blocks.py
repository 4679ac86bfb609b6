"""Score-matrix terms of EMER-CL, computed a block of rows at a time.

A retrieval score at Q = 10,000 is an 800 MB float64 matrix; a second or
third one (a float32 copy of the KL product, a weighted temporary) is what
once made scoring peak at three to four times that. Each term here (the
weighted L1 distance of Gamma, the KL cross term, cosine) is a small object
holding only O(N D) factors that writes any block of rows of its matrix into
a caller's buffer, and ``assemble`` sums terms into the single result block
by block.

Blocking never changes a value: the kernel and precision of a term are fixed
from the whole matrix's size, every element is one row-by-column product (the
BLAS result of a row or column block equals that of the whole product) and the
element-wise steps are those of the unblocked formula, in the same order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

# Above this many (query, candidate, dimension) terms the numba kernel is used
# (weighted L1) and the KL product runs in float32.
NUMBA_MIN_TERMS = 20_000_000
_CHUNK_TERMS = 4_000_000
# Elements of one row block of a score matrix (16 MB of float64): one block of
# temporaries is alive at a time, next to the one full-size result.
BLOCK_ELEMENTS = 1 << 21
# ... but at most this many blocks: each block's product re-packs the whole candidate
# factor, and each block starts parallel regions (BLAS, numba) that must wait for every
# thread on a busy machine.
MAX_BLOCKS = 4


class Term(Protocol):
    """A [rows, cols] matrix that writes any block of its rows into a given array."""

    @property
    def shape(self) -> tuple[int, int]: ...

    def fill(self, rows: slice, out: np.ndarray) -> None: ...

    def block(self, rows: slice) -> np.ndarray:
        """A fresh array holding rows ``rows``."""

    def accumulate(self, rows: slice, out: np.ndarray, w_out: float, w: float) -> None:
        """``out = out * w_out + (block * w)``, in that order of operations."""


def accumulate_by_fill(term: Any, rows: slice, out: np.ndarray, w_out: float, w: float) -> None:
    """``accumulate`` from ``term.block`` (a fresh array, the only temporary): the steps of
    ``out *= w_out; out += w * block``."""
    other = term.block(rows)
    other *= w
    out *= w_out
    out += other


# --- row blocks ---------------------------------------------------------------


def row_blocks(n_rows: int, n_cols: int) -> Iterator[slice]:
    """Consecutive row slices of a [n_rows, n_cols] matrix: ~``BLOCK_ELEMENTS`` each, or
    ``1 / MAX_BLOCKS`` of the matrix if that is more."""
    step = max(1, BLOCK_ELEMENTS // max(1, n_cols), -(-n_rows // MAX_BLOCKS))
    for start in range(0, n_rows, step):
        yield slice(start, min(n_rows, start + step))


# --- the weighted L1 kernel ---------------------------------------------------


@lru_cache(maxsize=1)
def _numba_kernel() -> Any:
    from numba import njit, prange

    @njit(parallel=True, cache=True)
    def neg_l1(x: np.ndarray, yt: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
        n_q, k = x.shape
        n_c = yt.shape[1]
        for i in prange(n_q):
            row = out[i]
            for j in range(n_c):
                row[j] = 0.0
            for d in range(k):
                xi = x[i, d]
                yd = yt[d]
                for j in range(n_c):
                    row[j] -= abs(xi - yd[j])

    return neg_l1


@lru_cache(maxsize=1)
def _kl_epilogue() -> Any:
    """``v = ((p + col[j]) - row[i]) * -0.5``, then ``out = v`` or ``out * w_out + v * w``:
    the numpy steps of ``NegKL.rows`` and ``accumulate_by_fill`` in one pass, same order."""
    from numba import njit

    # serial: a parallel region per block costs more than it saves when the BLAS threads
    # that just computed ``prod`` are still spinning on the same cores
    @njit(cache=True)
    def epilogue(prod: np.ndarray, col: np.ndarray, row: np.ndarray, out: np.ndarray,
                 w_out: float, w: float, accumulate: bool) -> None:  # pragma: no cover
        n, m = prod.shape
        for i in range(n):
            r = row[i]
            for j in range(m):
                v = ((np.float64(prod[i, j]) + col[j]) - r) * -0.5
                if accumulate:
                    out[i, j] = out[i, j] * w_out + v * w
                else:
                    out[i, j] = v

    return epilogue


@dataclass(frozen=True)
class NegL1:
    """``-sum_d |x[i, d] - y[j, d]|`` for any block of rows i, written into the caller's array.

    The kernel (numba or chunked numpy) is chosen once from the whole matrix's
    size, so a blocked matrix equals the unblocked one exactly.
    """

    x: np.ndarray
    y: np.ndarray
    yt: np.ndarray | None  # y transposed and contiguous, for the numba kernel

    @classmethod
    def of(cls, x: np.ndarray, y: np.ndarray, use_numba: bool | None = None) -> NegL1:
        x = np.ascontiguousarray(x, dtype=np.float64)
        y = np.ascontiguousarray(y, dtype=np.float64)
        if use_numba is None:
            use_numba = len(x) * len(y) * x.shape[1] >= NUMBA_MIN_TERMS
        yt = np.ascontiguousarray(y.T) if use_numba and x.shape[1] else None
        return cls(x, y, yt)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.x), len(self.y)

    def fill(self, rows: slice, out: np.ndarray) -> None:
        """``out[:] = S[rows]``; ``out`` is a C-contiguous [len(rows), C] float64 array."""
        x = self.x[rows]
        k = x.shape[1]
        if k == 0:
            out.fill(0.0)
        elif self.yt is not None:
            _numba_kernel()(x, self.yt, out)
        else:
            step = max(1, _CHUNK_TERMS // max(1, len(self.y) * k))
            for start in range(0, len(x), step):
                block = x[start:start + step, None, :] - self.y[None, :, :]
                out[start:start + step] = -np.abs(block).sum(axis=2)

    def block(self, rows: slice) -> np.ndarray:
        out = np.empty((rows.stop - rows.start, len(self.y)), dtype=np.float64)
        self.fill(rows, out)
        return out

    def accumulate(self, rows: slice, out: np.ndarray, w_out: float, w: float) -> None:
        accumulate_by_fill(self, rows, out, w_out, w)


# --- the KL term --------------------------------------------------------------


@dataclass(frozen=True)
class NegKL:
    """``-KL(N_p[i] || N_q[j]) = -0.5 * (left[i] . right[j] + col[j] - row[i])``.

    The factors are O((P + Q) D); blocks of rows or columns of the [P, Q] matrix
    come from one product each. Above ``NUMBA_MIN_TERMS`` (query, candidate,
    dimension) terms the product runs in float32 (twice as fast; rounding ~1e-7
    of each KL, far below the gaps that decide a ranking), the rest in float64;
    there a numba kernel also does the element-wise steps after the product in
    one pass (``fused``).
    """

    left: np.ndarray
    right: np.ndarray
    col: np.ndarray
    row: np.ndarray
    fused: bool = False

    @classmethod
    def of(cls, mu_p: np.ndarray, logvar_p: np.ndarray, mu_q: np.ndarray,
           logvar_q: np.ndarray) -> NegKL:
        mp, lp = np.asarray(mu_p, np.float64), np.asarray(logvar_p, np.float64)
        mq, lq = np.asarray(mu_q, np.float64), np.asarray(logvar_q, np.float64)
        inv_q = np.exp(-lq)
        left = np.concatenate([np.exp(lp) + mp * mp, mp], axis=1)
        right = np.concatenate([inv_q, -2.0 * mq * inv_q], axis=1)
        large = len(mp) * len(mq) * mp.shape[1] >= NUMBA_MIN_TERMS
        if large:
            left, right = left.astype(np.float32), right.astype(np.float32)
        return cls(left, right, (lq + mq * mq * inv_q).sum(axis=1), lp.sum(axis=1) + mp.shape[1],
                   fused=large)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.left), len(self.right)

    def rows(self, rows: slice) -> np.ndarray:
        """A fresh float64 [len(rows), Q] block."""
        out = np.asarray(self.left[rows] @ self.right.T, dtype=np.float64)
        out += self.col[None, :]
        out -= self.row[rows, None]
        out *= -0.5
        return out

    def cols(self, cols: slice) -> np.ndarray:
        """A fresh float64 [P, len(cols)] block."""
        out = np.asarray(self.left @ self.right[cols].T, dtype=np.float64)
        out += self.col[None, cols]
        out -= self.row[:, None]
        out *= -0.5
        return out

    def block(self, rows: slice) -> np.ndarray:
        return self.rows(rows)

    def fill(self, rows: slice, out: np.ndarray) -> None:
        if self.fused:
            _kl_epilogue()(self.left[rows] @ self.right.T, self.col, self.row[rows], out,
                           0.0, 0.0, False)
        else:
            out[...] = self.rows(rows)

    def accumulate(self, rows: slice, out: np.ndarray, w_out: float, w: float) -> None:
        if self.fused:
            _kl_epilogue()(self.left[rows] @ self.right.T, self.col, self.row[rows], out,
                           float(w_out), float(w), True)
        else:
            accumulate_by_fill(self, rows, out, w_out, w)


@dataclass(frozen=True)
class Transposed:
    """Rows of ``base``'s transpose, from column blocks of ``base``."""

    base: NegKL | Cosine

    @property
    def shape(self) -> tuple[int, int]:
        return self.base.shape[::-1]

    def block(self, rows: slice) -> np.ndarray:
        return self.base.cols(rows).T

    def fill(self, rows: slice, out: np.ndarray) -> None:
        out[...] = self.block(rows)

    def accumulate(self, rows: slice, out: np.ndarray, w_out: float, w: float) -> None:
        accumulate_by_fill(self, rows, out, w_out, w)


@dataclass(frozen=True)
class Mean:
    """Element-wise ``(a + b) * 0.5`` of two terms of the same shape."""

    a: Term
    b: Term

    @property
    def shape(self) -> tuple[int, int]:
        return self.a.shape

    def block(self, rows: slice) -> np.ndarray:
        out = np.ascontiguousarray(self.a.block(rows))
        out += self.b.block(rows)
        out *= 0.5
        return out

    def fill(self, rows: slice, out: np.ndarray) -> None:
        self.a.fill(rows, out)
        out += self.b.block(rows)
        out *= 0.5

    def accumulate(self, rows: slice, out: np.ndarray, w_out: float, w: float) -> None:
        accumulate_by_fill(self, rows, out, w_out, w)


# --- cosine -------------------------------------------------------------------


@dataclass(frozen=True)
class Cosine:
    """Cosine similarity of the rows of ``a`` and ``b``, by blocks of rows or columns."""

    an: np.ndarray
    bn: np.ndarray

    @classmethod
    def of(cls, a: np.ndarray, b: np.ndarray, eps: float = 1e-8) -> Cosine:
        a = np.asarray(a, np.float64)
        b = np.asarray(b, np.float64)
        an = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), eps)
        bn = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), eps)
        return cls(an, bn)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.an), len(self.bn)

    def rows(self, rows: slice) -> np.ndarray:
        return self.an[rows] @ self.bn.T

    def cols(self, cols: slice) -> np.ndarray:
        return self.an @ self.bn[cols].T

    def block(self, rows: slice) -> np.ndarray:
        return self.rows(rows)

    def fill(self, rows: slice, out: np.ndarray) -> None:
        out[...] = self.rows(rows)

    def accumulate(self, rows: slice, out: np.ndarray, w_out: float, w: float) -> None:
        accumulate_by_fill(self, rows, out, w_out, w)


# --- assembling a score matrix ------------------------------------------------


def assemble(shape: tuple[int, int], terms: list[tuple[Term, float]],
              weighted: bool = False) -> np.ndarray:
    """``out = w_0 * t_0 + w_1 * t_1`` (or just ``t_0``), one block of rows at a time.

    With ``weighted`` the element-wise steps are those of
    ``out = t_0; out *= w_0; out += w_1 * t_1``, so blocked and unblocked
    results agree bit for bit.
    """
    out = np.empty(shape, dtype=np.float64)
    (first, w_first), *rest = terms
    for rows in row_blocks(*shape):
        block = out[rows]
        first.fill(rows, block)
        if not weighted:
            continue
        for i, (term, weight) in enumerate(rest):
            term.accumulate(rows, block, w_first if i == 0 else 1.0, weight)
    return out
