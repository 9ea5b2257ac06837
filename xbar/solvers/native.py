"""Exact native solver: sparse nodal analysis of a :class:`~xbar.circuit.Circuit` on scipy.

All sources are grounded voltage sources, so their nodes have known voltages and
drop out of the unknowns: with L the conductance (Laplacian) matrix, F the free
nodes and S the source nodes, ``L_FF v_F = -L_FS v_S``. L_FF is symmetric positive
definite; it is factorized once (SuperLU with a symmetric minimum-degree
ordering), after which any batch of inputs costs one back-substitution.

Each compound device is a two-terminal network of linear resistors (its cells and
the channel segments in the read path) whose internal nodes connect to nothing
else, so it is replaced exactly by its equivalent conductance between top
electrode and read terminal (a Schur complement); internal voltages are
recovered from the terminal voltages by :func:`device_transfer`.

The outputs are linear in the inputs, ``y = M x``. :meth:`NativeSolver.effective_matrix`
builds M exactly with one solve per output column (the adjoint system; L is
symmetric), so any number of input vectors then costs one matrix product.

SuperLU's supernodal solves call BLAS on small blocks; a multithreaded BLAS
only adds synchronization there (10-25x slower when the cores are busy), so
factorization and solves run with one BLAS thread; many right-hand sides are
instead split over threads.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu
from threadpoolctl import threadpool_limits

from ..circuit import Circuit, check_inputs
from ..errors import SolverError
from .result import Solution


#: Fewest right-hand sides worth a thread of their own.
_MIN_COLUMNS_PER_THREAD = 8


def solver_threads() -> int:
    """Threads for multi-column solves: $XBAR_THREADS, else the CPUs this process may use."""
    value = os.environ.get("XBAR_THREADS")
    if value:
        try:
            return max(1, int(value))
        except ValueError:
            raise SolverError(f"XBAR_THREADS must be a positive integer, got {value!r}") from None
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def device_transfer(cell_ohm: np.ndarray, segment_ohm: float) -> tuple[np.ndarray, np.ndarray]:
    """Equivalent conductance and cell-voltage fractions of compound devices.

    ``cell_ohm`` [..., n] cell resistances; ``segment_ohm`` one channel segment.
    Returns ``g_eq`` [...] in siemens (current into the read terminal per volt
    across the device) and ``frac`` [..., n]: the voltage across cell k is
    ``frac[..., k] * (v_top - v_read)``.
    """
    g_cell = 1.0 / cell_ohm
    if segment_ohm == 0:
        return g_cell.sum(axis=-1), np.ones_like(cell_ohm)
    n = cell_ohm.shape[-1]
    g_seg = 1.0 / segment_ohm
    # Channel node k: cell k to the top (at 1 V), segments to k-1 (k=-1: read terminal, 0 V) and k+1.
    a = np.zeros(cell_ohm.shape + (n,))
    k = np.arange(n)
    a[..., k, k] = g_cell + g_seg + np.where(k < n - 1, g_seg, 0.0)
    a[..., k[1:], k[:-1]] = -g_seg
    a[..., k[:-1], k[1:]] = -g_seg
    h = np.linalg.solve(a, g_cell[..., None])[..., 0]
    return h[..., 0] * g_seg, 1.0 - h


def cell_voltages(circuit: Circuit, node_voltages: np.ndarray) -> np.ndarray:
    """Voltage across each MTJ cell, [batch, rows, cols, cells], from node voltages [batch, n_nodes]."""
    _, frac = device_transfer(circuit.cell_ohm, circuit.channel_segment_ohm)
    across = node_voltages[:, circuit.device_top] - node_voltages[:, circuit.device_read]
    return frac[None] * across[..., None]


def conductance_matrix(circuit: Circuit) -> sp.csr_matrix:
    """The nodal conductance matrix L [n_nodes, n_nodes] in siemens, ground (node 0) included."""
    g_dev, _ = device_transfer(circuit.cell_ohm, circuit.channel_segment_ohm)
    a = np.concatenate([g.a for g in circuit.resistors] + [circuit.device_top.ravel()])
    b = np.concatenate([g.b for g in circuit.resistors] + [circuit.device_read.ravel()])
    g = np.concatenate([1.0 / g.ohm for g in circuit.resistors] + [g_dev.ravel()])
    n = circuit.n_nodes
    rows = np.concatenate([a, b, a, b])
    cols = np.concatenate([a, b, b, a])
    vals = np.concatenate([g, g, -g, -g])
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, n))


class NativeSolver:
    """Factorizes a circuit once; then solves batches and builds the effective matrix.

    Parameters: ``circuit``, the one circuit description.
    """

    def __init__(self, circuit: Circuit):
        self.circuit = circuit
        n = circuit.n_nodes
        lap = conductance_matrix(circuit)
        fixed = np.zeros(n, dtype=bool)
        fixed[0] = True
        fixed[circuit.input_nodes] = True
        fixed[circuit.sense_nodes] = True
        self._free = np.flatnonzero(~fixed)
        self._lap = lap
        lap_free = lap[self._free]
        lap_ff = lap_free[:, self._free].tocsc()
        self._lap_ff = lap_ff
        self._lap_fs = lap_free[:, circuit.input_nodes].tocsc()
        try:
            with threadpool_limits(1, user_api="blas"):
                self._lu = splu(lap_ff, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                                options=dict(SymmetricMode=True))
        except RuntimeError as exc:
            raise SolverError(f"native solver: conductance matrix is singular ({exc})") from None
        self._matrix = None

    def _solve(self, rhs: np.ndarray) -> np.ndarray:
        """L_FF^-1 rhs for a Fortran-ordered rhs [free, k]: one BLAS thread, right-hand sides split over threads.

        SuperLU's solve releases the GIL and only reads the factors, so column
        blocks solve in parallel (see :func:`solver_threads`).
        """
        threads = min(solver_threads(), rhs.shape[1] // _MIN_COLUMNS_PER_THREAD)
        with threadpool_limits(1, user_api="blas"):
            if threads <= 1:
                return self._lu.solve(rhs)
            blocks = np.array_split(np.arange(rhs.shape[1]), threads)
            out = np.empty_like(rhs, order="F")
            with ThreadPoolExecutor(threads) as pool:
                parts = pool.map(lambda cols: self._lu.solve(np.asfortranarray(rhs[:, cols])), blocks)
                for cols, part in zip(blocks, parts):
                    out[:, cols] = part
            return out

    @property
    def free_nodes(self) -> np.ndarray:
        """Node ids of the unknowns (all but ground, sources and virtual grounds), in solve order."""
        return self._free

    def solve_free(self, rhs: np.ndarray) -> np.ndarray:
        """L_FF^-1 rhs for ``rhs`` [free, k]: the factorization's solve, for iterative solvers built on it."""
        return self._solve(np.asfortranarray(rhs))

    def node_voltages(self, inputs: np.ndarray) -> np.ndarray:
        """Voltages of all nodes, [batch, n_nodes], for row voltages ``inputs`` [batch, rows]."""
        x = check_inputs(inputs, self.circuit.shape[0])
        v = np.zeros((x.shape[0], self.circuit.n_nodes))
        v[:, self.circuit.input_nodes] = x
        if len(self._free):
            rhs = np.asfortranarray(-(self._lap_fs @ x.T))
            v_free = self._solve(rhs)
            # One step of iterative refinement brings the residual to rounding level.
            v_free += self._solve(np.asfortranarray(rhs - self._lap_ff @ v_free))
            v[:, self._free] = v_free.T
        return v

    def _output_operator(self) -> sp.csr_matrix:
        """Sparse C [cols, n_nodes] with sense currents = C @ v."""
        c = self.circuit
        if c.sense == "tia":
            # Current from the network into each virtual-ground node: -(L v)_s.
            return -self._lap[c.sense_nodes]
        cols = c.shape[1]
        return sp.csr_matrix((np.full(cols, 1.0 / c.crossbar.ref_ohm), (np.arange(cols), c.output_nodes)),
                             shape=(cols, c.n_nodes))

    def solve(self, inputs: np.ndarray) -> Solution:
        """Sense currents and output voltages for a batch of row voltages [batch, rows]."""
        v = self.node_voltages(inputs)
        currents = (self._output_operator() @ v.T).T
        return Solution.from_currents(self.circuit, np.asarray(currents), node_voltages=v)

    def effective_matrix(self) -> np.ndarray:
        """M [cols, rows] in siemens, exact: sense currents = inputs @ M.T.

        Built once and cached, with one solve per output (the adjoint system; L
        is symmetric) or one per input, whichever is fewer.
        """
        if self._matrix is None:
            c_op = self._output_operator()
            c_free = c_op[:, self._free]
            c_src = c_op[:, self.circuit.input_nodes].toarray()
            rows, cols = self.circuit.shape
            if not len(self._free):
                m = c_src
            elif cols <= rows:
                y = self._solve(np.asfortranarray(c_free.T.toarray()))
                m = -(self._lap_fs.T.tocsr() @ np.ascontiguousarray(y)).T + c_src
            else:
                x = self._solve(np.asfortranarray(-self._lap_fs.toarray()))
                m = c_free @ x + c_src
            self._matrix = np.ascontiguousarray(m)
        return self._matrix

    def solve_batch(self, inputs: np.ndarray) -> Solution:
        """Like :meth:`solve` but through the effective matrix: fast for many inputs, no node voltages."""
        x = check_inputs(inputs, self.circuit.shape[0])
        return Solution.from_currents(self.circuit, x @ self.effective_matrix().T)
