"""Newton-Raphson for crossbars whose devices read through access transistors.

The same outer iteration as :class:`~xbar.solvers.newton.NewtonSolver` (unknowns: the
free node voltages; wires linear), with each device-plus-transistor stack condensed to
its terminals by :class:`~xbar.solvers.stack.StackModel`: exact current and the two
terminal derivatives. The transistor's gate is referenced to ground, so a stack's
current depends on both terminal voltages and the Jacobian
J = L_wires + A (diag(g_top) S_top - diag(g_read) S_read) is not symmetric: each step
is solved by BiCGSTAB (H. A. van der Vorst, SIAM J. Sci. Stat. Comput. 13, 631 (1992)),
batched over input vectors and preconditioned by the zero-bias factorization (the
transistor at its on-resistance), which J stays close to. The start is the zero-bias
answer; a vector is done when its update is below ``tol`` of its largest input.
Many vectors go through :class:`~xbar.solvers.stack_chord.StackChord` first.
"""

from __future__ import annotations

import numpy as np

from xbar.array.circuit import Circuit, check_inputs
from xbar.util.errors import SolverError
from xbar.solvers.newton import NewtonSolver
from xbar.solvers.result import Solution
from xbar.solvers.stack import StackModel
from xbar.solvers.stack_chord import StackChord, gather


class StackNewtonSolver(NewtonSolver):
    """:class:`NewtonSolver` for circuits with access transistors (``circuit.access``)."""

    models_stacks = True

    def __init__(self, circuit: Circuit, tol: float = 1e-12, max_iterations: int = 60, forcing: float = 1e-6):
        super().__init__(circuit, tol, max_iterations, forcing)
        self._stacks = StackModel(circuit)
        self._top = circuit.device_top.ravel()
        self._read = circuit.device_read.ravel()
        self._top_f = gather(self._top, circuit.n_nodes)[:, self._free].tocsr()
        self._read_f = gather(self._read, circuit.n_nodes)[:, self._free].tocsr()
        self._stack_chord: StackChord | None = None

    def _solve_chunk(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = self.circuit
        its = np.zeros(len(x), dtype=int)
        v = np.zeros((len(x), c.n_nodes))
        v[:, c.input_nodes] = x
        if not len(self._free):
            return v, its
        v[:, self._free] = self.cholesky.solve(-(self.linear.input_coupling @ x.T)).T
        scale = np.maximum(np.abs(x).max(axis=1), 1e-300)
        active, state = np.arange(len(x)), None
        for it in range(1, self.max_iterations + 1):
            va = v[active]
            i, g_top, g_read, state = self._stacks.solve(va[:, self._top], va[:, self._read], state)
            resid = self._kcl(va, i)[self._free]
            step = self._bicgstab(-resid, g_top.T, g_read.T)
            v[active[:, None], self._free[None, :]] += step.T
            its[active] = it
            done = np.abs(step).max(axis=0) <= self.tol * scale[active]
            if done.all():
                return v, its
            active, state = active[~done], state[..., ~done, :]
        raise SolverError(f"Newton (access transistors) did not converge to {self.tol:g} relative in "
                          f"{self.max_iterations} iterations (input vector {int(active[0])})")

    def _jacobian(self, p: np.ndarray, g_top: np.ndarray, g_read: np.ndarray) -> np.ndarray:
        return self._lap_ff @ p + self._inc_f @ (g_top * (self._top_f @ p) - g_read * (self._read_f @ p))

    def _bicgstab(self, b: np.ndarray, g_top: np.ndarray, g_read: np.ndarray, max_inner: int = 200) -> np.ndarray:
        """Solve J x = b column by column (right-preconditioned BiCGSTAB, all columns at once)."""
        x = np.zeros_like(b)
        r = b.copy()
        r_hat = b.copy()
        stop = self.forcing * np.sqrt((b * b).sum(axis=0))
        live = np.sqrt((r * r).sum(axis=0)) > stop
        rho = alpha = omega = np.ones(b.shape[1])
        v = p = np.zeros_like(b)
        for _ in range(max_inner):
            if not live.any():
                return x
            rho_new = (r_hat * r).sum(axis=0)
            beta = _ratio(rho_new, rho) * _ratio(alpha, omega)
            p = r + beta * (p - omega * v)
            y = self.cholesky.solve(p)
            v = self._jacobian(y, g_top, g_read)
            alpha = np.where(live, _ratio(rho_new, (r_hat * v).sum(axis=0)), 0.0)
            x += alpha * y
            s = r - alpha * v
            z = self.cholesky.solve(s)
            t = self._jacobian(z, g_top, g_read)
            omega = np.where(live, _ratio((t * s).sum(axis=0), (t * t).sum(axis=0)), 0.0)
            x += omega * z
            r = s - omega * t
            rho = rho_new
            self.inner_iterations += 1
            live &= np.sqrt((r * r).sum(axis=0)) > stop
        raise SolverError(f"Newton (access transistors): the BiCGSTAB step did not converge in {max_inner} "
                          "iterations")

    def _currents(self, v: np.ndarray) -> np.ndarray:
        c = self.circuit
        if c.sense == "tia":
            i, *_ = self._stacks.solve(v[:, self._top], v[:, self._read])
            return -self._kcl(v, i)[c.sense_nodes].T
        return v[:, c.output_nodes] / c.crossbar.ref_ohm

    def solve_batch(self, inputs) -> Solution:
        """Sense currents for many vectors: :class:`StackChord` on the zero-bias factorization, Newton for the rest."""
        x = check_inputs(inputs, self.circuit.shape[0])
        if self._stack_chord is None and StackChord.fits(self.circuit) and len(self._free):
            self._stack_chord = StackChord(self.circuit, self.linear, self.cholesky, self._stacks)
        if self._stack_chord is None:
            sol = self.solve(x)
            return Solution.from_currents(self.circuit, sol.currents, solver=sol.solver)
        currents, done, solves = self._stack_chord.currents(x, self.tol)
        if not done.all():
            currents[~done] = self.solve(x[~done]).currents
        info = dict(backend="native", method="chord", access="built-in", tol=self.tol,
                    v_half_volt=self.circuit.v_half_volt, back_substitutions_per_vector=solves / max(1, len(x)),
                    newton_vectors=int((~done).sum()))
        return Solution.from_currents(self.circuit, currents, solver=info)


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b where b != 0, else 0 (columns that have converged)."""
    return np.where(b != 0, a / np.where(b != 0, b, 1.0), 0.0)
