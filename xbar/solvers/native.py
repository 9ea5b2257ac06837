"""Exact native solver: sparse nodal analysis of a :class:`~xbar.array.circuit.Circuit` on scipy.

All sources are grounded voltage sources, so their nodes have known voltages and
drop out of the unknowns: with L the conductance (Laplacian) matrix, F the free
nodes and S the source nodes, ``L_FF v_F = -L_FS v_S``. L_FF is symmetric positive
definite; it is factorized once (:class:`~xbar.solvers.factor.SpdFactor`, in a
geometric nested-dissection order, :mod:`~xbar.solvers.ordering`), after which
any batch of inputs costs one back-substitution. A few inputs on a large tile
that is not yet factorized are solved by wire-preconditioned conjugate gradients
instead (:mod:`~xbar.solvers.pcg`), which needs no factorization.

Each compound device is a two-terminal network of linear resistors (its cells and
the channel segments in the read path) whose internal nodes connect to nothing
else, so it is replaced exactly by its equivalent conductance between top
electrode and read terminal (a Schur complement); internal voltages are
recovered from the terminal voltages by :func:`device_transfer`.

The outputs are linear in the inputs, ``y = M x``. Only a few free nodes (the
ports: those next to a source or read by a sense amplifier) enter M, so they are
eliminated last and the factorization leaves the network's exact reduction onto
them (Kron reduction) as a dense Schur complement; M follows from it with one
small dense solve, without a solve per input or output. Where the ports are
many (ideal wires put every cell next to a source), M is built instead with one
solve per output (the adjoint system; L is symmetric) or per input, whichever
is fewer, in column chunks of bounded memory. A plain crossbar with power-of-two
sides builds M without the sparse factorization (:mod:`~xbar.solvers.grid`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.linalg import solve_triangular
from threadpoolctl import threadpool_limits

from xbar.device.compound import channel_matrix, device_transfer  # noqa: F401  (re-exported)
from xbar.array.circuit import Circuit, as_circuit, check_inputs
from xbar.array.crossbar import Crossbar
from xbar.util.errors import SolverError
from xbar.solvers import checks
from xbar.solvers.factor import SpdFactor
from xbar.solvers import grid
from xbar.solvers.ordering import crossbar_order
from xbar.solvers.pcg import WireCG
from xbar.solvers.result import Solution

#: Most ports for the Schur-complement effective matrix (a dense matrix of this side is built).
MAX_PORTS = 16384
#: Free nodes from which a few right-hand sides go to wire-preconditioned CG (:mod:`.pcg`)
#: instead of a factorization: a 1024x1024 tile in seconds and ~1 GiB instead of ~45 s and 3 GiB.
PCG_MIN_NODES = 500_000
#: Most right-hand sides CG takes at once; more pay for the factorization.
PCG_MAX_BATCH = 16


def cell_voltages(circuit: Circuit, node_voltages: np.ndarray) -> np.ndarray:
    """Voltage across each MTJ cell, [batch, rows, cols, cells], from node voltages [batch, n_nodes]."""
    _, frac = device_transfer(circuit.cell_ohm, circuit.channel_segment_ohm)
    across = node_voltages[:, circuit.device_top] - node_voltages[:, circuit.device_read]
    return frac[None] * across[..., None]


def branches(circuit: Circuit, device_siemens: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every two-terminal branch (node a [m], node b [m], siemens [m]): resistors, then devices' equivalents.

    ``device_siemens`` [rows, cols] replaces each device's equivalent conductance
    (e.g. a Jacobian's differential conductances); the default is the linear one.
    """
    if device_siemens is None:
        g_dev, _ = device_transfer(circuit.cell_ohm, circuit.channel_segment_ohm)
        if circuit.access is not None:  # zero-bias: the device in series with the transistor's on-resistance
            g_dev = g_dev / (1.0 + g_dev * circuit.access.on_ohm(circuit.temp_c))
    else:
        g_dev = np.asarray(device_siemens, dtype=float)
    a = np.concatenate([g.a for g in circuit.resistors] + [circuit.device_top.ravel()])
    b = np.concatenate([g.b for g in circuit.resistors] + [circuit.device_read.ravel()])
    g = np.concatenate([1.0 / g.ohm for g in circuit.resistors] + [g_dev.ravel()])
    return a, b, g


def incidence(a: np.ndarray, b: np.ndarray, n_nodes: int) -> sp.csr_matrix:
    """Incidence [n_nodes, m] of m two-terminal elements from node a[k] (+1) to b[k] (-1)."""
    m = len(a)
    return sp.csr_matrix((np.concatenate([np.ones(m), -np.ones(m)]),
                          (np.concatenate([a, b]), np.concatenate([np.arange(m), np.arange(m)]))),
                         shape=(n_nodes, m))


def kcl_residual(circuit: Circuit, node_voltages: np.ndarray, edges=None) -> np.ndarray:
    """Net current out of each node, [batch, n_nodes], summed branch by branch.

    Each branch current is G (v_a - v_b), with the difference taken first: far
    more accurate than L v, whose terms cancel at every low-resistance wire node.
    ``edges``: :func:`branches` of the circuit, when the caller already has them.
    """
    a, b, g = branches(circuit) if edges is None else edges
    v = np.atleast_2d(node_voltages)
    inc = incidence(a, b, circuit.n_nodes)
    inc_t = inc.T.tocsr()  # row k: +v_a - v_b, the exact difference
    out = np.empty_like(v)
    for lo in range(0, len(v), 32):  # bounded memory: 32 input vectors of branch currents at a time
        i = g[:, None] * (inc_t @ v[lo:lo + 32].T)
        out[lo:lo + 32] = (inc @ i).T
    return out


def conductance_matrix(circuit: Circuit, device_siemens: np.ndarray | None = None) -> sp.csr_matrix:
    """The nodal conductance matrix L [n_nodes, n_nodes] in siemens, ground (node 0) included.

    ``device_siemens`` [rows, cols] replaces each device's equivalent conductance (see :func:`branches`).
    """
    return laplacian(branches(circuit, device_siemens), circuit.n_nodes)


def laplacian(edges: tuple, n: int) -> sp.csr_matrix:
    """The conductance matrix [n, n] of branches ``edges`` = (node a [m], node b [m], siemens [m])."""
    a, b, g = edges
    rows = np.concatenate([a, b, a, b])
    cols = np.concatenate([a, b, b, a])
    vals = np.concatenate([g, g, -g, -g])
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, n))


class NativeSolver:
    """Factorizes a circuit once; then solves batches and builds the effective matrix.

    Parameters: ``circuit``, the one circuit description.

    For solvers built on top (Newton iterations, transients): :attr:`free_nodes`
    are the unknowns, :attr:`factor` solves ``L_FF`` for any number of
    right-hand sides, and :meth:`free_matrix` / :meth:`factorize` give and
    factorize the same-sparsity matrix for other device conductances in the
    same fill-reducing order.
    """

    def __init__(self, circuit: Circuit | Crossbar):
        self.circuit = circuit = as_circuit(circuit)
        n = circuit.n_nodes
        self._branches = branches(circuit)
        lap = laplacian(self._branches, n)
        fixed = np.zeros(n, dtype=bool)
        fixed[0] = True
        fixed[circuit.input_nodes] = True
        fixed[circuit.sense_nodes] = True
        self._free = np.flatnonzero(~fixed)
        self._lap = lap
        lap_free = lap[self._free]
        self._lap_ff = lap_free[:, self._free].tocsc()
        self._lap_fs = lap_free[:, circuit.input_nodes].tocsc()
        del lap_free
        # Ports: free nodes next to a source or read by the output operator.
        c_free = self._output_operator()[:, self._free].tocsc()
        is_port = np.zeros(len(self._free), dtype=bool)
        is_port[self._lap_fs.indices] = True
        is_port[np.flatnonzero(np.diff(c_free.indptr))] = True
        ports = np.flatnonzero(is_port)
        self._ports = ports if len(ports) <= MAX_PORTS else None
        self._order = None  # the fill-reducing order, made with the first factorization
        self._factor = None
        self._matrix = None
        self._spread = checks.resistance_spread(circuit)

    @property
    def factor(self) -> SpdFactor:
        """The factorization of ``L_FF``, made on first use."""
        if self._factor is None:
            self._factor = self.factorize(self._lap_ff)
        return self._factor

    @property
    def free_nodes(self) -> np.ndarray:
        """Node ids of the unknowns [n_free], in the order of :attr:`factor`'s rows."""
        return self._free

    @property
    def input_coupling(self) -> sp.csc_matrix:
        """``L_FS`` [n_free, rows]: the conductance entries coupling the free nodes to the row inputs."""
        return self._lap_fs

    def free_matrix(self, device_siemens: np.ndarray | None = None) -> sp.csc_matrix:
        """``L_FF`` [n_free, n_free] with device conductances ``device_siemens`` [rows, cols] (default: linear)."""
        if device_siemens is None:
            return self._lap_ff
        return conductance_matrix(self.circuit, device_siemens)[self._free][:, self._free].tocsc()

    def factorize(self, matrix: sp.spmatrix) -> SpdFactor:
        """Factor an SPD matrix [n_free, n_free] over the free nodes, in this circuit's fill-reducing order."""
        if self._order is None:
            self._order = crossbar_order(self.circuit, self._free, self._ports)
        return SpdFactor(matrix, self._order)

    def node_voltages(self, inputs: np.ndarray) -> np.ndarray:
        """Voltages of all nodes, [batch, n_nodes], for row voltages ``inputs`` [batch, rows]."""
        x = check_inputs(inputs, self.circuit.shape[0])
        v = np.zeros((x.shape[0], self.circuit.n_nodes))
        v[:, self.circuit.input_nodes] = x
        if len(self._free):
            rhs = -(self._lap_fs @ x.T)
            v_free = self._iterative_solve(rhs)
            if v_free is not None:
                v[:, self._free] = v_free.T
            else:
                v[:, self._free] = self.factor.solve(rhs).T
                # One step of iterative refinement on the branch-by-branch residual brings Kirchhoff's
                # law (and Tellegen's power balance) to rounding level.
                resid = kcl_residual(self.circuit, v, self._branches)[:, self._free]
                v[:, self._free] -= self.factor.solve(resid.T).T
        self._check_voltages(x, v)
        return v

    def _device_siemens(self) -> np.ndarray:
        """The devices' equivalent conductances [rows, cols]: the last branches of :func:`branches`."""
        shape = self.circuit.device_top.shape
        return self._branches[2][-shape[0] * shape[1]:].reshape(shape)

    def _hint(self) -> str:
        spread = self._spread
        return (f"its resistances span a ratio of {spread:.2g}, past what double precision resolves; "
                "use less variation" if spread > 1e15 else "")

    def _check_voltages(self, x: np.ndarray, v: np.ndarray) -> None:
        """The answer's own check (:mod:`.checks`): voltages within the sources', and Kirchhoff's law
        recomputed where the resistance spread makes the factorization suspect."""
        checks.check_node_voltages(self.circuit, x, v, "the native solver", self._hint())
        if self._spread > checks.KCL_CHECK_SPREAD and len(self._free):
            checks.check_kcl(self.circuit, v, self._free, self._branches, "the native solver", self._hint())

    def _iterative_solve(self, rhs: np.ndarray) -> np.ndarray | None:
        """L_FF^-1 rhs by wire-preconditioned CG for a few right-hand sides on a large, not yet factorized circuit.

        None where the factorization is the better (or, if CG stalls, the only) way.
        """
        if self._factor is not None or len(self._free) < PCG_MIN_NODES or rhs.shape[1] > PCG_MAX_BATCH:
            return None
        try:
            return WireCG(self.circuit, self._free, self._lap_ff).solve(rhs)
        except SolverError:
            return None

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
        checks.check_currents(self.circuit, check_inputs(inputs, self.circuit.shape[0]), currents,
                              "the native solver", self._hint(), self._device_siemens())
        return Solution.from_currents(self.circuit, np.asarray(currents), node_voltages=v)

    def effective_matrix(self) -> np.ndarray:
        """M [cols, rows] in siemens, exact: sense currents = inputs @ M.T.

        Built once and cached: for a plain crossbar with power-of-two sides from
        128x128 on, by batched nested dissection on dense Schur complements
        (:mod:`.grid`: no sparse factorization); else from the factorization's
        Schur complement onto the ports where they are few, else with one solve
        per output or per input, whichever is fewer, in column chunks.
        """
        if self._matrix is None:
            c_op = self._output_operator()
            c_free = c_op[:, self._free].tocsc()
            m = c_op[:, self.circuit.input_nodes].toarray()
            if grid.applies(self.circuit):
                m = grid.effective_matrix(self.circuit, self._device_siemens())
            elif len(self._free):
                m += self._port_matrix(c_free) if self._ports is not None else self._solved_matrix(c_free)
            checks.check_matrix(self.circuit, m, "the native solver", self._hint(), self._device_siemens())
            self._matrix = np.ascontiguousarray(m)
        return self._matrix

    def input_admittance(self) -> np.ndarray:
        """Y [rows, rows] in siemens, exact: the row sources' currents are ``inputs @ Y`` and the DC power the
        array draws is ``v Y v`` for row voltages v, so a read's energy needs no node voltages.

        Y = L_SS - L_SF L_FF^-1 L_FS, from the ports' Schur complement where it exists (the same
        trailing factor as :meth:`effective_matrix`), else with one solve per row. Linear circuits only.
        """
        inputs = self.circuit.input_nodes
        y = self._lap[inputs][:, inputs].toarray()
        if not len(self._free):
            return y
        u = self.factor.trailing_factor(len(self._ports)) if self._ports is not None else None
        if u is not None:
            b = self._lap_fs[self._ports].toarray()
            with threadpool_limits(1, user_api="blas"):
                wb = solve_triangular(u, b, trans="T", check_finite=False)
                return y - wb.T @ (np.diag(u)[:, None] * wb)
        lap_sf = self._lap_fs.T.tocsr()

        def take(cols, x):  # x = L_FF^-1 L_FS[:, cols]
            y[:, cols] -= lap_sf @ x
        self.factor.solve_chunks(self._lap_fs, take)
        return y

    def _port_matrix(self, c_free: sp.csc_matrix) -> np.ndarray:
        """C_F L_FF^-1 (-L_FS) through the Schur complement onto the ports (numbered last).

        With S = U^T D^-1 U the ports' Schur complement (see
        :meth:`SpdFactor.trailing_factor`), ``C S^-1 B = (U^-T C^T)^T D (U^-T B)``:
        two triangular solves and one product, all dense and small.
        """
        ports = self._ports
        u = self.factor.trailing_factor(len(ports))
        if u is None:
            return self._solved_matrix(c_free)
        b = -self._lap_fs[ports].toarray()
        c = c_free[:, ports].toarray()
        with threadpool_limits(1, user_api="blas"):
            wc = solve_triangular(u, c.T, trans="T", check_finite=False)
            wb = solve_triangular(u, b, trans="T", check_finite=False)
            return wc.T @ (np.diag(u)[:, None] * wb)

    def _solved_matrix(self, c_free: sp.csc_matrix) -> np.ndarray:
        """C_F L_FF^-1 (-L_FS) with one solve per output or per input, whichever is fewer."""
        rows, cols = self.circuit.shape
        m = np.empty((cols, rows))
        if cols <= rows:
            lap_sf = self._lap_fs.T.tocsr()

            def take(k, y):  # y = L_FF^-1 C_F^T[:, k]
                m[k] = -(lap_sf @ y).T
            self.factor.solve_chunks(c_free.T, take)
        else:
            def take(k, x):  # x = L_FF^-1 (-L_FS)[:, k]
                m[:, k] = c_free @ x
            self.factor.solve_chunks(-self._lap_fs, take)
        return m

    def solve_batch(self, inputs: np.ndarray) -> Solution:
        """Like :meth:`solve` but through the effective matrix: fast for many inputs, no node voltages."""
        x = check_inputs(inputs, self.circuit.shape[0])
        return Solution.from_currents(self.circuit, x @ self.effective_matrix().T)
