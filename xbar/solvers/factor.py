"""Factorize a symmetric positive definite matrix once; solve any number of right-hand sides.

The nodal matrices of a crossbar are symmetric positive definite, so no pivoting
is needed: SuperLU runs in symmetric mode with the diagonal as pivot, in the
order given (nested dissection, :mod:`.ordering`), and ``A = L D L^T`` in effect.
The last ``k`` unknowns of that order then carry the Schur complement of
everything before them in the trailing block of U, which gives an exact
port reduction (Kron reduction) of the network for the price of one
factorization.

:class:`CholeskyFactor` (CHOLMOD, through cholespy) is the other engine: its
triangular solves run 2-3x faster than SuperLU's on crossbar matrices, so it
serves iterations that solve the same matrix many times (the non-linear
solvers); the Schur-complement port reduction stays with SuperLU.

SuperLU's supernodal solves call BLAS on small blocks; a multithreaded BLAS
only adds synchronization there (10-25x slower when the cores are busy), so
factorization and solves run with one BLAS thread; many right-hand sides are
instead split into column chunks over threads (SuperLU's solve releases the
GIL and only reads the factors), which also bounds the memory of a solve.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import cholespy
import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu
from threadpoolctl import threadpool_limits

from xbar.util.errors import SolverError

#: Right-hand sides per solve call when many are solved: 32-64 measured fastest for SuperLU.
CHUNK_COLUMNS = 48


def solver_threads() -> int:
    """Threads for multi-column solves: $XBAR_THREADS, else the CPUs this process may use."""
    value = os.environ.get("XBAR_THREADS")
    if value:
        try:
            return max(1, int(value))
        except ValueError:
            raise SolverError(f"XBAR_THREADS must be a positive integer, got {value!r}") from None
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class SpdFactor:
    """A factorization of a sparse SPD matrix ``A`` [n, n] in a given elimination order.

    ``order`` [n] is a permutation of 0..n-1 (unknown ``order[k]`` is eliminated
    k-th). :meth:`solve` and :meth:`solve_chunks` take and return arrays in the
    matrix's own indexing.
    """

    def __init__(self, matrix: sp.spmatrix, order: np.ndarray):
        self.n = matrix.shape[0]
        self.order = np.asarray(order)
        permuted = sp.csc_matrix(matrix)[self.order][:, self.order].tocsc()
        try:
            with threadpool_limits(1, user_api="blas"):
                self._lu = splu(permuted, permc_spec="NATURAL", diag_pivot_thresh=0.0,
                                options=dict(SymmetricMode=True))
        except RuntimeError as exc:
            raise SolverError(f"native solver: conductance matrix is singular ({exc})") from None

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """A^-1 rhs for rhs [n] or [n, k]; many columns are solved in chunks over threads."""
        rhs = np.asarray(rhs, dtype=float)
        if rhs.ndim == 1:
            return self.solve(rhs[:, None])[:, 0]
        out = np.empty(rhs.shape, order="F")

        def store(cols, x):
            out[:, cols] = x
        self.solve_chunks(rhs, store)
        return out

    def solve_chunks(self, rhs, consume: Callable[[slice, np.ndarray], None],
                     chunk: int = CHUNK_COLUMNS) -> None:
        """Call ``consume(cols, A^-1 rhs[:, cols])`` for column chunks of rhs [n, k] (dense or sparse).

        Only a few chunks exist at a time, so memory stays bounded for any k.
        ``consume`` runs in the calling thread, chunk by chunk in order.
        """
        k = rhs.shape[1]
        starts = range(0, k, chunk)
        inverse = np.empty(self.n, dtype=np.int64)
        inverse[self.order] = np.arange(self.n)

        def work(start):
            cols = slice(start, min(start + chunk, k))
            block = rhs[:, cols]
            block = block.toarray() if sp.issparse(block) else np.asarray(block)
            x = self._lu.solve(np.asfortranarray(block[self.order]))
            return cols, x[inverse]

        if sp.issparse(rhs):
            rhs = sp.csc_matrix(rhs)
        threads = min(solver_threads(), len(starts))
        with threadpool_limits(1, user_api="blas"):
            if threads <= 1:
                for start in starts:
                    consume(*work(start))
                return
            with ThreadPoolExecutor(threads) as pool:
                for wave in range(0, len(starts), threads):  # a wave at a time: memory stays bounded
                    for cols, x in pool.map(work, starts[wave:wave + threads]):
                        consume(cols, x)

    def trailing_factor(self, k: int) -> np.ndarray | None:
        """The factor U_22 [k, k] (dense, upper triangular) of the Schur complement onto the last ``k`` unknowns.

        With A = L U and no pivoting, the trailing block of U factors the Schur
        complement S = A_22 - A_21 A_11^-1 A_12 of everything before them:
        S = U_22^T D^-1 U_22 with D = diag(U_22), so S^-1 = U_22^-1 D U_22^-T.
        Returns None if SuperLU moved any of those unknowns (then solve instead).
        """
        n = self.n
        tail = np.arange(n - k, n)
        if not (np.array_equal(self._lu.perm_c[tail], tail) and np.array_equal(self._lu.perm_r[tail], tail)):
            return None
        return self._lu.U.tocsc()[:, n - k:][n - k:].toarray()


#: Most right-hand sides per CHOLMOD call.
SOLVE_COLUMNS = 16


class CholeskyFactor:
    """A sparse Cholesky factorization A = L L^T of an SPD matrix ``A`` [n, n] (CHOLMOD's own fill-reducing order).

    :meth:`solve` takes rhs [n] or [n, k] and returns A^-1 rhs. Solves run in the
    calling thread: cholespy holds the GIL, so threads would not run them side by side.
    """

    def __init__(self, matrix: sp.spmatrix):
        coo = sp.coo_matrix(matrix)
        self.n = coo.shape[0]
        self._chol = None
        if self.n == 0:  # nothing to factor (every node is held by a source)
            return
        try:
            self._chol = cholespy.CholeskySolverD(self.n, coo.row.astype(np.int32), coo.col.astype(np.int32),
                                                  coo.data.astype(np.float64), cholespy.MatrixType.COO)
        except ValueError as exc:
            raise SolverError(f"native solver: conductance matrix is not positive definite ({exc})") from None

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """A^-1 rhs for rhs [n] or [n, k] (dense)."""
        b = np.ascontiguousarray(rhs, dtype=np.float64)
        x = np.empty_like(b)
        if self.n and (b.ndim == 1 or b.shape[1] <= SOLVE_COLUMNS):
            self._chol.solve(b, x)
        elif self.n:
            for lo in range(0, b.shape[1], SOLVE_COLUMNS):
                part = np.ascontiguousarray(b[:, lo:lo + SOLVE_COLUMNS])
                out = np.empty_like(part)
                self._chol.solve(part, out)
                x[:, lo:lo + SOLVE_COLUMNS] = out
        return x
