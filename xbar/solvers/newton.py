"""Newton-Raphson solver for crossbars of non-linear (bias-dependent TMR) junctions.

The unknowns are the free node voltages of the same circuit the linear solver
uses. Wires, drivers, access and sense resistors are linear; each compound
device is a non-linear two-terminal element between its top electrode and read
terminal: for a voltage V across it, its internal channel nodes are solved
exactly (a small Newton iteration per device, tridiagonal, vectorized over all
devices and inputs), which gives its current I(V) and exact differential
conductance dI/dV (implicit differentiation of the same equations).

Each outer Newton step solves J dv = -F with the exact Jacobian
J = L_wires + A diag(dI/dV) A^T, which is symmetric positive definite (every
junction's I-V is monotonic). J differs per input vector, so instead of a fresh
factorization per vector the step comes from conjugate gradients preconditioned
by the zero-bias linear factorization (:class:`NativeSolver`'s): at read biases
V/V_h <= 1 J stays close to it and a few preconditioned iterations solve each
step. The start is the zero-bias linear answer. A vector is done when its Newton
update is below ``tol`` times its largest input voltage; iteration counts are kept
in :attr:`NewtonSolver.iterations`. Failing that within ``max_iterations`` is a
:class:`SolverError`, never a silent answer.

For many input vectors whose node voltages are not wanted (network inference),
:meth:`NewtonSolver.solve_batch` uses the chord iteration of :mod:`.chord`
instead: no Jacobian and one back-substitution per step, ~10x faster; vectors
it cannot finish come back here.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from xbar.array.circuit import Circuit, check_inputs
from xbar.device.junction import junction_current
from xbar.util.errors import ParameterError, SolverError
from xbar.solvers.chord import ChordReads
from xbar.solvers.factor import CholeskyFactor
from xbar.solvers.native import NativeSolver, device_transfer, incidence
from xbar.solvers import checks
from xbar.solvers.result import Solution
from xbar.solvers.stack import stack_cell_voltages, stack_device_currents
from xbar.solvers.tridiagonal import tridiagonal as _tridiagonal

#: Node-voltage array entries per batch chunk (bounds memory: ~8 arrays of this many doubles).
_CHUNK_ENTRIES = 4_000_000


class _DeviceModel:
    """The compound devices of a circuit as non-linear two-terminal elements.

    Arrays are laid out [cells, batch, devices] so each cell's slice is contiguous.
    """

    def __init__(self, circuit: Circuit):
        n = circuit.cell_ohm.shape[-1]
        self.n = n
        r0 = circuit.cell_ohm.reshape(-1, n).T[:, None, :]
        rp = (circuit.cell_rp_ohm if circuit.cell_rp_ohm is not None else circuit.cell_ohm).reshape(-1, n).T[:, None, :]
        # Open cells (inf) carry nothing: a placeholder resistance, then a zero weight.
        conducting = np.isfinite(r0)
        self.weight = None if conducting.all() else conducting.astype(float)
        self.r0 = np.ascontiguousarray(np.where(conducting, r0, 1.0))
        self.rp = np.ascontiguousarray(np.where(conducting, rp, 1.0))
        self.vh = circuit.v_half_volt
        self.seg = circuit.channel_segment_ohm
        self.gs = 1.0 / self.seg if self.seg > 0 else np.inf
        #: Coupling of channel node k to node k+1 (none after the last).
        self.upper = np.where(np.arange(n) < n - 1, self.gs, 0.0) if self.seg > 0 else None
        if self.seg > 0:
            _, frac = device_transfer(circuit.cell_ohm.reshape(-1, n), self.seg)
            self.h_split = np.ascontiguousarray((1.0 - frac).T[:, None, :])

    def start(self, v_dev: np.ndarray) -> np.ndarray | None:
        """Channel nodes [cells, batch, devices] of the zero-bias split for device voltages ``v_dev``."""
        return None if self.seg == 0 else self.h_split * v_dev[None]

    def linearize(self, v_dev: np.ndarray, h: np.ndarray | None):
        """One Newton linearization with the channel nodes condensed out (static condensation).

        Returns ``(i, g, a, b)``: the terminal current [batch, devices] that a
        full Newton step on (terminal, channel) variables predicts at dV = 0, the exact
        dI/dV, and the channel update ``a + b dV`` [cells, batch, devices]. For an
        ideal channel ``a`` and ``b`` are None and ``i``, ``g`` are exact.
        """
        if self.seg == 0:
            i, g = self._cells(v_dev[None])
            return i.sum(0), g.sum(0), None, None
        gs, up = self.gs, self.upper
        i_cell, g_cell = self._cells(v_dev[None] - h)
        f = i_cell.copy()
        f[0] -= gs * h[0]
        f[1:] -= gs * (h[1:] - h[:-1])
        f[:-1] -= gs * (h[:-1] - h[1:])
        a, b = _tridiagonal(g_cell + gs + up[:, None, None], -gs, up, (f, g_cell))
        return gs * (h[0] + a[0]), gs * b[0], a, b

    def _cells(self, v_cell: np.ndarray):
        i, g = junction_current(v_cell, self.rp, self.r0, self.vh)
        if self.weight is not None:
            i, g = i * self.weight, g * self.weight
        return i, g

    def solve(self, v_dev: np.ndarray, max_iterations: int = 60):
        """Exact device currents [batch, devices] and channel nodes at fixed voltages ``v_dev`` (for reports)."""
        h = self.start(v_dev)
        if h is None:
            return self.linearize(v_dev, None)[0], None
        scale = max(float(np.abs(v_dev).max(initial=0.0)), 1e-300)
        for _ in range(max_iterations):
            i, _, a, _ = self.linearize(v_dev, h)
            h = h + a
            if np.abs(a).max() <= 1e-15 * scale:
                return i, h
        raise SolverError(f"Newton: a compound device's channel nodes did not converge (V_h = {self.vh:g} V)")


def wire_laplacian(circuit: Circuit) -> sp.csr_matrix:
    """Nodal conductance matrix [n_nodes, n_nodes] of the linear resistors alone (no devices)."""
    inc, g = _wires(circuit)
    return (inc @ sp.diags(g) @ inc.T).tocsr()


def _wires(circuit: Circuit) -> tuple[sp.csr_matrix, np.ndarray]:
    a = np.concatenate([g.a for g in circuit.resistors] + [np.zeros(0, dtype=np.int64)])
    b = np.concatenate([g.b for g in circuit.resistors] + [np.zeros(0, dtype=np.int64)])
    g = np.concatenate([1.0 / g.ohm for g in circuit.resistors] + [np.zeros(0)])
    return incidence(a, b, circuit.n_nodes), g


class NewtonSolver:
    """Solves a non-linear crossbar circuit; a linear one (V_h infinite) needs exactly one step.

    ``tol``: relative convergence of node voltages (to the largest input voltage of
    each vector); ``max_iterations``: Newton steps before giving up.
    After :meth:`solve`, :attr:`iterations` [batch] holds each vector's Newton steps
    and :attr:`inner_iterations` the preconditioned CG iterations of the whole call.
    """

    #: Whether access transistors (device + transistor stacks) are modelled: :class:`StackNewtonSolver`'s.
    models_stacks = False

    def __init__(self, circuit: Circuit, tol: float = 1e-12, max_iterations: int = 60, forcing: float = 1e-2):
        if circuit.access is not None and not self.models_stacks:
            raise ParameterError("NewtonSolver models the junctions only: a circuit with access transistors "
                                 "takes StackNewtonSolver (make_solver picks it)")
        self.circuit = circuit
        self.forcing = float(forcing)
        self.tol = float(tol)
        self.max_iterations = int(max_iterations)
        self.linear = NativeSolver(circuit)
        free = self.linear.free_nodes
        self._free = free
        lap = wire_laplacian(circuit)
        # KCL residuals are summed from branch currents g (v_a - v_b): the small voltage
        # drops are formed first, so the residual is accurate to rounding of the currents,
        # not of g v (1 S wires against 30 kohm junctions would lose ~5 digits).
        self._wire_inc, self._wire_g = _wires(circuit)
        self._wire_inc_t = self._wire_inc.T.tocsr()
        self._lap_ff = lap[free][:, free].tocsr()
        inc = incidence(circuit.device_top.ravel(), circuit.device_read.ravel(), circuit.n_nodes)
        self._inc = inc
        self._inc_f = inc[free].tocsr()
        self._inc_ft = self._inc_f.T.tocsr()
        self._devices = _DeviceModel(circuit)
        self.iterations = np.zeros(0, dtype=int)
        self.inner_iterations = 0
        self._chord: ChordReads | None = None
        self._cholesky: CholeskyFactor | None = None

    @property
    def cholesky(self) -> CholeskyFactor:
        """Cholesky factorization of the zero-bias ``L_FF``: Newton's preconditioner and the chord's solves."""
        if self._cholesky is None:
            self._cholesky = CholeskyFactor(self.linear.free_matrix())
        return self._cholesky

    def node_voltages(self, inputs) -> np.ndarray:
        """Voltages of all nodes, [batch, n_nodes], for row voltages ``inputs`` [batch, rows]."""
        x = check_inputs(inputs, self.circuit.shape[0])
        chunk = max(1, _CHUNK_ENTRIES // self.circuit.n_nodes)
        out = np.empty((len(x), self.circuit.n_nodes))
        its = np.zeros(len(x), dtype=int)
        self.inner_iterations = 0
        for s in range(0, len(x), chunk):
            out[s:s + chunk], its[s:s + chunk] = self._solve_chunk(x[s:s + chunk])
        self.iterations = its
        return out

    def _device_voltages(self, v: np.ndarray) -> np.ndarray:
        c = self.circuit
        return v[:, c.device_top.ravel()] - v[:, c.device_read.ravel()]

    def _solve_chunk(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        its = np.zeros(len(x), dtype=int)
        if not self.circuit.nonlinear or not len(self._free):
            return self.linear.node_voltages(x), its
        v = np.zeros((len(x), self.circuit.n_nodes))
        v[:, self.circuit.input_nodes] = x
        scale = np.maximum(np.abs(x).max(axis=1), 1e-300)
        active = np.arange(len(x))
        h = self._devices.start(self._device_voltages(v))
        for it in range(1, self.max_iterations + 1):
            va = v[active]
            i_dev, g_dev, a, b = self._devices.linearize(self._device_voltages(va), h)
            resid = self._kcl(va, i_dev)[self._free]  # [free, active]
            step = self._pcg(-resid, g_dev.T, self.forcing)
            v[active[:, None], self._free[None, :]] += step.T
            its[active] = it
            change = np.abs(step).max(axis=0)
            if h is not None:
                dh = a + b * (self._inc_ft @ step).T[None]
                h = h + dh
                change = np.maximum(change, np.abs(dh).max(axis=(0, 2)))
            done = change <= self.tol * scale[active]
            if done.all():
                return v, its
            keep = ~done
            active = active[keep]
            h = h[:, keep] if h is not None else None
        worst = int(active[0])
        raise SolverError(f"Newton did not converge to {self.tol:g} relative in {self.max_iterations} iterations "
                          f"(input vector {worst}, V_h = {self.circuit.v_half_volt:g} V); "
                          "the junction I-V is too steep for this read voltage")

    def _kcl(self, v: np.ndarray, i_dev: np.ndarray) -> np.ndarray:
        """Net current [n_nodes, batch] leaving each node through wires and devices, for voltages v [batch, n_nodes]."""
        branch = self._wire_g[:, None] * (self._wire_inc_t @ v.T)
        return self._wire_inc @ branch + self._inc @ i_dev.T

    def _jacobian_product(self, p: np.ndarray, g: np.ndarray) -> np.ndarray:
        return self._lap_ff @ p + self._inc_f @ (g * (self._inc_ft @ p))

    def _pcg(self, rhs: np.ndarray, g: np.ndarray, rtol: float = 1e-13, max_inner: int = 200) -> np.ndarray:
        """Solve J x = rhs column by column (J = wires + A diag(g) A^T), preconditioned by the zero-bias factorization."""
        x = np.zeros_like(rhs)
        r = rhs.copy()
        z = self.cholesky.solve(r)
        p = z.copy()
        rz = (r * z).sum(axis=0)
        stop = rtol ** 2 * np.maximum(rz, 1e-300)
        for k in range(1, max_inner + 1):
            q = self._jacobian_product(p, g)
            pq = (p * q).sum(axis=0)
            alpha = np.where(pq > 0, rz / np.where(pq > 0, pq, 1.0), 0.0)
            x += alpha * p
            r -= alpha * q
            z = self.cholesky.solve(r)
            rz_new = (r * z).sum(axis=0)
            self.inner_iterations += 1
            if (rz_new <= stop).all():
                return x
            beta = rz_new / np.maximum(rz, 1e-300)
            p = z + beta * p
            rz = rz_new
        raise SolverError(f"Newton: the preconditioned CG step did not converge in {max_inner} iterations "
                          f"(V_h = {self.circuit.v_half_volt:g} V)")

    def _currents(self, v: np.ndarray) -> np.ndarray:
        c = self.circuit
        if c.sense == "tia":
            i_dev, _ = self._devices.solve(self._device_voltages(v))
            resid = self._kcl(v, i_dev)[c.sense_nodes]
            return -resid.T
        return v[:, c.output_nodes] / c.crossbar.ref_ohm

    def solve_batch(self, inputs) -> Solution:
        """Like :meth:`solve` but without node voltages, for many input vectors: the chord iteration of
        :mod:`.chord` on the zero-bias factorization (no Jacobian, one back-substitution per step);
        any vector it cannot finish, and circuits too large for its dense transfers, go through Newton."""
        x = check_inputs(inputs, self.circuit.shape[0])
        if not self.circuit.nonlinear:
            return self.linear.solve_batch(x)
        fits = ChordReads.fits(self.circuit) and len(self._free)
        if self._chord is None and fits:
            self._chord = ChordReads(self.circuit, self.linear, self.cholesky)
        if not fits:
            sol = self.solve(x)
            return Solution.from_currents(self.circuit, sol.currents, solver=sol.solver)
        currents, done, solves = self._chord.currents(x, self.tol)
        if not done.all():
            currents[~done] = self.solve(x[~done]).currents
        info = dict(backend="native", method="chord", v_half_volt=self.circuit.v_half_volt, tol=self.tol,
                    back_substitutions_per_vector=solves / max(1, len(x)), newton_vectors=int((~done).sum()))
        checks.check_currents(self.circuit, x, currents, "the native solver (chord)")
        return Solution.from_currents(self.circuit, currents, solver=info)

    def read_voltages(self, inputs) -> np.ndarray:
        """Node voltages [batch, n_nodes] like :meth:`node_voltages` (to ``tol``), by the chord iteration of
        :mod:`.chord` where the junctions alone are non-linear: one back-substitution per step on the zero-bias
        factorization instead of a Newton step of several preconditioned ones; vectors it cannot finish,
        and access-transistor circuits, go through Newton."""
        x = check_inputs(inputs, self.circuit.shape[0])
        if self.circuit.access is not None or not self.circuit.junctions_nonlinear or not len(self._free):
            return self.node_voltages(x)
        if self._chord is None:
            self._chord = ChordReads(self.circuit, self.linear, self.cholesky)
        v, done = self._chord.node_voltages(x, self.tol)
        if not done.all():
            v[~done] = self.node_voltages(x[~done])
        checks.check_node_voltages(self.circuit, x, v, "the native solver (chord)")
        return v

    def solve(self, inputs) -> Solution:
        """Sense currents and output voltages for a batch of row voltages [batch, rows]."""
        v = self.node_voltages(inputs)
        its = self.iterations
        info = dict(backend="native", method="newton", v_half_volt=self.circuit.v_half_volt, tol=self.tol,
                    newton_iterations_min=int(its.min()), newton_iterations_max=int(its.max()),
                    newton_iterations_mean=float(its.mean()),
                    preconditioned_solves=int(self.inner_iterations))
        x = check_inputs(inputs, self.circuit.shape[0])
        checks.check_node_voltages(self.circuit, x, v, "the native solver (Newton)")
        currents = self._currents(v)
        checks.check_currents(self.circuit, x, currents, "the native solver (Newton)")
        return Solution.from_currents(self.circuit, currents, node_voltages=v, solver=info)


def device_currents(circuit: Circuit, node_voltages: np.ndarray) -> np.ndarray:
    """Current through each compound device (top electrode to read terminal), [batch, rows, cols], in ampere.

    From solved node voltages [batch, n_nodes]; linear and non-linear circuits alike.
    """
    if circuit.access is not None:
        return stack_device_currents(circuit, node_voltages)
    return read_state(circuit, node_voltages)[1]


def cell_voltages(circuit: Circuit, node_voltages: np.ndarray) -> np.ndarray:
    """Voltage across each MTJ cell, [batch, rows, cols, cells], from solved node voltages [batch, n_nodes].

    Works for linear and non-linear circuits (the channel nodes are solved with the junction I-V).
    """
    if circuit.access is not None:
        return stack_cell_voltages(circuit, node_voltages)
    return read_state(circuit, node_voltages)[0]


def read_state(circuit: Circuit, node_voltages: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(:func:`cell_voltages`, :func:`device_currents`) from solved node voltages, with one device solve."""
    if circuit.access is not None:
        return stack_cell_voltages(circuit, node_voltages), stack_device_currents(circuit, node_voltages)
    v_dev = node_voltages[:, circuit.device_top.ravel()] - node_voltages[:, circuit.device_read.ravel()]
    i, h = _DeviceModel(circuit).solve(v_dev)
    cells = v_dev[None] if h is None else v_dev[None] - h  # [cells or 1, batch, devices]
    rows, cols = circuit.shape
    n = circuit.cell_ohm.shape[-1]
    cells = np.broadcast_to(np.moveaxis(cells, 0, -1), v_dev.shape + (n,)).reshape(len(v_dev), rows, cols, n)
    return cells, i.reshape((len(v_dev),) + circuit.shape)
