"""Device currents of a linear crossbar by conjugate gradients on the wires' Green's functions: a few reads fast.

Each row wire is a chain driven at one end (source, driver, then one segment per
cell) and each column wire a chain held at its other end (one segment per cell
into the virtual ground, or into the reference resistor). A chain's response to
the currents its devices draw is its Green's function, which running sums apply
exactly: with I [rows, cols] the current through each device (row wire into
column wire), the row wire at cell (i, j) sits at

    u_ij = V_i - R_drv sum_j' I_ij' - R_row sum_{k<=j} sum_{j'>=k} I_ij'

and the column wire at

    w_ij = R_col sum_{k>=i} sum_{i'<=k} I_i'j + R_ref sum_i' I_i'j.

Each device (access resistor in series with its compound device's exact
equivalent conductance, :func:`~xbar.solvers.native.device_transfer`) carries
I = g (u - w), so ``(diag(1/g) + K) I = V`` with K the sum of the wires' Green's
functions, symmetric positive semi-definite. In ``y = I / sqrt(g)`` the system
``(1 + sqrt(g) K sqrt(g)) y = sqrt(g) V`` is symmetric positive definite with
every eigenvalue >= 1 (an open cell, g = 0, is simply decoupled), and plain
conjugate gradients converge in a few to a few tens of iterations, each a few
running sums over the array: no matrix, no factorization, one unknown per
device. The sense currents are the column sums of I. Reference resistors
(resistor sensing) are a rank-one term per column that would dominate the
condition number; CG is preconditioned by them exactly.

This is the same circuit the nodal solvers see (the tests check it against
:class:`~xbar.solvers.native.NativeSolver` to 1e-12), written as CrossSim
writes its fixed-point iteration, but solved to rounding level.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from functools import lru_cache

import numpy as np
from scipy.linalg.blas import daxpy, ddot, dscal
from threadpoolctl import ThreadpoolController

from xbar.array.circuit import Circuit
from xbar.array.crossbar import Crossbar
from xbar.util.errors import SolverError
from xbar.solvers.native import device_transfer

#: Relative residual (2-norm, per input vector) at which CG stops.
TOLERANCE = 1e-14
#: Most iterations before giving up.
MAX_ITERATIONS = 5000
#: Longest wire whose Green's function is applied as a dense matrix product; longer ones use running sums
#: (a product costs O(n) per device against O(1), but numpy's running sums are slow per element).
DENSE_MAX = 128
#: Largest product (m * n * k) OpenBLAS computes in one thread anyway (its SMP_THRESHOLD_MIN x
#: GEMM_MULTITHREAD_THRESHOLD): below it, limiting the threads is pure cost (~40 us of a 0.5 ms 64x64 read).
SINGLE_THREAD_PRODUCT = 65536 * 4


_TINY = 1e-300


def _dots(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Inner product of each vector of a batch laid out [rows, batch, cols], shaped [1, batch, 1] to scale it."""
    return np.einsum("ibj,ibj->b", a, b)[None, :, None]


def _axpy(a, x: np.ndarray, y: np.ndarray) -> None:
    """y += a x for a batch (``a`` [1, batch, 1])."""
    y += a * x


def _xpay(x: np.ndarray, a, y: np.ndarray) -> None:
    """y = x + a y for a batch, in place."""
    y *= a
    y += x


def _ddot(a: np.ndarray, b: np.ndarray) -> float:
    return ddot(a.reshape(-1), b.reshape(-1))


def _daxpy(a: float, x: np.ndarray, y: np.ndarray) -> None:
    daxpy(x.reshape(-1), y.reshape(-1), a=a)


def _dxpay(x: np.ndarray, a: float, y: np.ndarray) -> None:
    daxpy(x.reshape(-1), dscal(a, y.reshape(-1)))


#: CG's vector kernels (dot, y += a x, y = x + a y, a floor for scalars, every vector converged): BLAS level 1 on
#: plain floats for one vector (in place on flat views; a third of numpy's per-call cost on a 64x64 array), numpy
#: per vector for a batch.
_ONE = (_ddot, _daxpy, _dxpay, max, lambda rr, target: rr <= target)
_BATCH = (_dots, _axpy, _xpay, np.maximum, lambda rr, target: bool((rr <= target).all()))


def _accumulate_rows(a: np.ndarray, reverse: bool = False) -> np.ndarray:
    """Running sum of ``a`` over its first axis, in place (from the end with ``reverse``).

    A loop of whole-slab additions: 9-20x faster than ``np.cumsum(axis=0)`` on 512-1024 rows,
    which walks each column with a stride.
    """
    n = len(a)
    for k in (range(n - 2, -1, -1) if reverse else range(1, n)):
        a[k] += a[k + 1] if reverse else a[k - 1]
    return a


@lru_cache(maxsize=16)
def _chain_green(n: int, segment_ohm: float, end_ohm: float, from_start: bool) -> np.ndarray:
    """Green's function [n, n] in ohm of a wire of n cells held through ``end_ohm`` at one end.

    Voltage drop at cell k per ampere drawn at cell l: ``end_ohm`` plus one segment per
    segment the two currents share (a row is held before cell 0, a column after cell n-1).
    Read-only: it is cached per wire.
    """
    k = np.arange(n)
    shared = np.minimum.outer(k, k) + 1.0 if from_start else n - np.maximum.outer(k, k)
    green = end_ohm + segment_ohm * shared
    green.flags.writeable = False
    return green


@lru_cache(maxsize=1)
def _blas_pools() -> tuple:
    """The BLAS thread pools, found on first use (inspecting the libraries takes ~0.4 ms, and a
    threadpoolctl limit per call ~0.1 ms, a sixth of a 64x64 read)."""
    return tuple(ThreadpoolController().select(user_api="blas").lib_controllers)


@contextmanager
def _one_blas_thread():
    """Small products run in one BLAS thread (threads only add synchronization); the counts are restored after."""
    pools = [(pool, pool.num_threads) for pool in _blas_pools()]
    for pool, _ in pools:
        pool.set_num_threads(1)
    try:
        yield
    finally:
        for pool, threads in pools:
            pool.set_num_threads(threads)


def device_siemens(cell_ohm: np.ndarray, segment_ohm: float, access_ohm: float) -> np.ndarray:
    """Conductance [rows, cols] from row wire to column wire of each device, access path included."""
    if cell_ohm.shape[-1] == 1:  # one cell: the cell and one channel segment in series
        g_eq = 1.0 / (cell_ohm[..., 0] + segment_ohm)
    else:
        g_eq, _ = device_transfer(cell_ohm, segment_ohm)
    if access_ohm == 0:
        return g_eq
    return g_eq / (1.0 + access_ohm * g_eq)


class LineSolver:
    """Sense currents of a linear crossbar for a few input vectors, by CG on its device currents.

    ``source``: the :class:`Crossbar` (no circuit needs building) or its :class:`Circuit`.
    """

    def __init__(self, source: Crossbar | Circuit):
        if isinstance(source, Circuit):
            xbar, cell_ohm, seg = source.crossbar, source.cell_ohm, source.channel_segment_ohm
        else:
            xbar, cell_ohm, seg = source, source.cell_resistance_ohm, source.channel_segment_ohm()
        self.crossbar = xbar
        self._sqrt_g = np.sqrt(device_siemens(cell_ohm, seg, xbar.access_ohm))
        self._r_drv = xbar.driver_ohm
        self._r_row = xbar.row_wire_ohm
        self._r_col = xbar.col_wire_ohm
        self._r_ref = xbar.ref_ohm if xbar.sense == "resistor" else 0.0
        if self._r_ref:
            self._ref_coef = self._r_ref / (1.0 + self._r_ref * (self._sqrt_g ** 2).sum(axis=0))  # [cols]
        rows, cols = xbar.shape
        # ||sqrt(g) K sqrt(g)|| <= max(g) (||K_row|| + ||K_col||), each chain's norm bounded by its largest row
        # sum (Gershgorin: the Green's functions are positive): end * n + segment * n (n + 1) / 2.
        wires = cols * self._r_drv + self._r_row * cols * (cols + 1) / 2 + self._r_col * rows * (rows + 1) / 2
        self._coupling = min(1.0, float(self._sqrt_g.max()) ** 2 * wires) if self._sqrt_g.size else 1.0
        self._dense = max(rows, cols) <= DENSE_MAX
        if self._dense:
            self._row_green = _chain_green(cols, self._r_row, self._r_drv, True)
            self._col_green = _chain_green(rows, self._r_col, self._r_ref, False)
        #: CG iterations the last :meth:`currents` took.
        self.iterations = 0

    def _green(self, current: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> np.ndarray:
        """K I into ``out`` for device currents laid out [rows, batch, cols]: the wires' voltage drops seen by
        each device (``scratch``: same shape, overwritten)."""
        rows, batch, cols = current.shape
        if self._dense:  # one matrix product per wire direction, the batch folded in
            np.matmul(current.reshape(rows * batch, cols), self._row_green, out=out.reshape(rows * batch, cols))
            np.matmul(self._col_green, current.reshape(rows, batch * cols), out=scratch.reshape(rows, batch * cols))
            out += scratch
            return out
        out.fill(0.0)
        if self._r_row or self._r_drv:
            total = current.sum(axis=2, keepdims=True)
            if self._r_row:
                # Segment k of a row carries the currents of cells k.. ; cell j sees segments 0..j.
                suffix = total - np.cumsum(current, axis=2) + current
                out += self._r_row * np.cumsum(suffix, axis=2)
            if self._r_drv:
                out += self._r_drv * total
        if self._r_col or self._r_ref:
            if self._r_col:
                # Segment below cell k of a column carries the currents of cells ..k; cell i sees segments i..end.
                np.copyto(scratch, current)
                below = _accumulate_rows(_accumulate_rows(scratch), reverse=True)
                below *= self._r_col
                out += below
            if self._r_ref:
                out += self._r_ref * current.sum(axis=0, keepdims=True)
        return out

    def device_currents(self, inputs: np.ndarray, tol: float = TOLERANCE) -> np.ndarray:
        """Current through each device [batch, rows, cols] in ampere for row voltages ``inputs`` [batch, rows].

        Raises :class:`SolverError` if CG does not reach ``tol`` in :data:`MAX_ITERATIONS`.
        """
        # Each vector is solved at unit scale (no overflow in the inner products), then scaled back.
        scale = np.abs(inputs).max(axis=1)
        scale[scale == 0] = 1.0
        rows, cols = self.crossbar.shape
        small = self._dense and rows * cols * len(inputs) * max(rows, cols) <= SINGLE_THREAD_PRODUCT
        with nullcontext() if small else _one_blas_thread():
            current = self._cg(inputs / scale[:, None], tol)
        with np.errstate(over="ignore"):  # an answer beyond double precision is the Solution's error to report
            return current * scale[:, None, None]

    def _precondition(self, r: np.ndarray) -> np.ndarray:
        """M^-1 r with M = 1 + R_ref sqrt(g) sqrt(g)^T per column: the reference resistors exactly (Sherman-Morrison).

        Without it the reference (1 Mohm against ~1 S of wire) would dominate the condition
        number (~7,000 at 256x256): CG would take many more iterations and stop further from the answer.
        """
        proj = np.einsum("ibj,ij->bj", r, self._sqrt_g)
        return r - self._sqrt_g[:, None, :] * (self._ref_coef * proj)[None]

    def _apply(self, p: np.ndarray, out: np.ndarray, t: np.ndarray, u: np.ndarray, axpy=_axpy) -> np.ndarray:
        """(1 + sqrt(g) K sqrt(g)) p into ``out``, with ``t`` and ``u`` [same shape] as scratch."""
        s = self._sqrt_g[:, None, :]
        np.multiply(s, p, out=t)
        self._green(t, out, u)
        out *= s
        axpy(1.0, p, out)
        return out

    def _cg(self, inputs: np.ndarray, tol: float) -> np.ndarray:
        """CG on ``(1 + sqrt(g) K sqrt(g)) y = sqrt(g) V``, in place on preallocated buffers (a 64x64 read takes
        tens of microseconds per iteration: the per-call overhead counts as much as the products)."""
        s = self._sqrt_g[:, None, :]
        b = np.multiply(s, inputs.T[:, :, None], out=np.empty((len(s), len(inputs), s.shape[2])))  # C order
        t, u, q = np.empty_like(b), np.empty_like(b), np.empty_like(b)
        dot, axpy, xpay, floor, converged = _ONE if b.shape[1] == 1 else _BATCH
        precondition = self._r_ref > 0
        if precondition:  # start from the answer with the reference resistors and no wires
            y = self._precondition(b)
            r = b - self._apply(y, q, t, u)
            z = self._precondition(r)
        else:  # start from the answer without wire resistance (I = g V): the residual is the wires' share
            y = b.copy()
            np.multiply(s, b, out=t)
            r = self._green(t, np.empty_like(b), u)
            r *= -s
            z = r
        p = z.copy()
        rz = dot(r, z)
        rr = dot(r, r) if precondition else rz
        # Every eigenvalue is >= 1, so the error in y is at most the residual r; without reference resistors, the
        # last step adds r itself (y + r: the error left is (A^-1 - 1) r = -A^-1 sqrt(g) K sqrt(g) r), which leaves
        # at most the wires' coupling times r: CG stops that much earlier at the same bound.
        coupling = 1.0 if precondition else self._coupling
        target = tol ** 2 * dot(b, b) / max(coupling, 1e-150) ** 2  # ideal wires: coupling 0, r 0
        for it in range(MAX_ITERATIONS + 1):
            if converged(rr, target):
                break
            self._apply(p, q, t, u, axpy)
            # p.q >= p.p > 0 unless p = 0, and then r.z = p.r = 0: a converged vector stays put.
            alpha = rz / floor(dot(p, q), _TINY)
            axpy(alpha, p, y)
            axpy(-alpha, q, r)
            z = self._precondition(r) if precondition else r
            rz_new = dot(r, z)
            rr = dot(r, r) if precondition else rz_new
            xpay(z, rz_new / floor(rz, _TINY), p)
            rz = rz_new
        else:
            raise SolverError(f"line-current CG did not reach a relative residual of {tol:g} in "
                              f"{MAX_ITERATIONS} iterations")
        self.iterations = it
        if coupling < 1.0:
            axpy(1.0, r, y)
        y *= s
        return np.moveaxis(y, 1, 0)

    def currents(self, inputs: np.ndarray) -> np.ndarray:
        """Sense currents [batch, cols] in ampere for row voltages ``inputs`` [batch, rows] (checked by the caller)."""
        current = self.device_currents(inputs)
        with np.errstate(invalid="ignore"):  # overflowed device currents: the Solution reports non-finite sums
            return current.sum(axis=1)
