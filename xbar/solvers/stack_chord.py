"""Sense currents of many input vectors through access-transistor stacks: a chord iteration.

The companion of :mod:`.chord` for circuits with access transistors. Each stack
(device + transistor, :class:`~xbar.solvers.stack.StackModel`) is its zero-bias
conductance g0 in parallel with a deviation source J = I(V_top, V_read) - g0 (V_top - V_read),
where I is the stack's current; its internal node takes one Newton update per step (converged
in full on the first), so it converges along with the terminal voltages. As in
:mod:`.chord` the linear network (the native solver's, transistors at their on-resistance)
is solved exactly: V = V_lin - C J(V), y = y_lin - B J(V), one back-substitution of the
zero-bias Cholesky factorization per step and vector. A stack's current depends on both
terminal voltages (the gate is fixed to ground), so both are carried, not only their
difference. The iteration contracts by the wires' resistance against a stack's change of
conductance (a few 1e-3 per step at 1 ohm wires); the error is estimated and vectors
stop as in :mod:`.chord`; vectors that do not contract go back to Newton.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from xbar.array.circuit import Circuit
from xbar.solvers.chord import DENSE_BYTES, linear_transfers, stop_rule
from xbar.solvers.factor import CholeskyFactor
from xbar.solvers.native import NativeSolver, incidence
from xbar.solvers.stack import StackModel


#: Input vectors per chunk of the iteration (each step applies the dense output transfer B to the chunk).
CHUNK_VECTORS = 32


def gather(nodes: np.ndarray, n_nodes: int) -> sp.csr_matrix:
    """Selection [len(nodes), n_nodes]: row k picks node ``nodes[k]``."""
    m = len(nodes)
    return sp.csr_matrix((np.ones(m), (np.arange(m), nodes)), shape=(m, n_nodes))


class StackChord:
    """Output currents [batch, cols] of a circuit with access transistors, on its zero-bias linear network."""

    def __init__(self, circuit: Circuit, linear: NativeSolver, factor: CholeskyFactor, stacks: StackModel):
        self.circuit = c = circuit
        self.linear, self.factor, self.stacks = linear, factor, stacks
        top, read = c.device_top.ravel(), c.device_read.ravel()
        self._top, self._read = top, read
        free = linear.free_nodes
        self._inc_f = incidence(top, read, c.n_nodes).tocsr()[free].tocsr()
        self._top_f = gather(top, c.n_nodes)[:, free].tocsr()
        self._read_f = gather(read, c.n_nodes)[:, free].tocsr()
        self._g0 = stacks.g0[:, None]
        self._m, w = linear_transfers(c, linear, factor)
        self._b = np.ascontiguousarray(w[:, top] - w[:, read])
        self._w = None
        if 2 * top.size * c.shape[0] * 8 <= DENSE_BYTES:
            self._w = self._linear_terminals(np.eye(c.shape[0]))

    @staticmethod
    def fits(circuit: Circuit) -> bool:
        """Whether the dense output transfer B [cols, devices] fits in the chord's memory bound."""
        return circuit.device_top.size * circuit.shape[1] * 8 <= DENSE_BYTES

    def _linear_terminals(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Top and read terminal voltages [devices, batch] of the zero-bias network for inputs x [batch, rows]."""
        if self._w is not None:
            return self._w[0] @ x.T, self._w[1] @ x.T
        c, lin = self.circuit, self.linear
        v = np.zeros((c.n_nodes, len(x)))
        v[c.input_nodes] = x.T
        if len(lin.free_nodes):
            v[lin.free_nodes] = self.factor.solve(-(lin.input_coupling @ x.T))
        return v[self._top], v[self._read]

    def currents(self, x: np.ndarray, tol: float = 1e-12, max_steps: int = 60) -> tuple[np.ndarray, np.ndarray, int]:
        """Sense currents [batch, cols] for inputs x [batch, rows], converged flags [batch], back-substitutions."""
        out = x @ self._m.T
        done = np.ones(len(x), dtype=bool)
        solves = 0
        for s in range(0, len(x), CHUNK_VECTORS):
            part = slice(s, s + CHUNK_VECTORS)
            solves += self._iterate(x[part], out[part], done[part], tol, max_steps)
        return out, done, solves

    def _iterate(self, x: np.ndarray, y_out: np.ndarray, done: np.ndarray, tol: float, max_steps: int) -> int:
        """Chord steps for one chunk; adds the stacks' deviation to ``y_out`` in place (see :mod:`.chord`)."""
        active = np.arange(len(x))
        solves = 0 if self._w is not None else len(active)
        vt_lin, vr_lin = self._linear_terminals(x)
        vt, vr = vt_lin, vr_lin
        scale = np.maximum(np.abs(y_out).max(axis=1), 1e-300)
        state = y_prev = change_prev = None
        for step in range(max_steps):
            i, _, _, state = self.stacks.solve(vt, vr, state, devices_first=True, one_step=True)
            j = i - self._g0 * (vt - vr)
            y = -(self._b @ j)
            if y_prev is not None:
                change = np.abs(y - y_prev).max(axis=0)
                if change_prev is not None:
                    finished, slow = stop_rule(change, change_prev, step, tol, scale)
                    stop = finished | slow
                    if stop.any():
                        y_out[active[finished]] += y[:, finished].T
                        done[active[slow]] = False
                        keep = ~stop
                        if not keep.any():
                            return solves
                        active, scale, state = active[keep], scale[keep], _keep(state, keep)
                        vt_lin, vr_lin, j, y, change = vt_lin[:, keep], vr_lin[:, keep], j[:, keep], y[:, keep], \
                            change[keep]
                change_prev = change
            y_prev = y
            z = self.factor.solve(self._inc_f @ j)
            vt, vr = vt_lin - self._top_f @ z, vr_lin - self._read_f @ z
            solves += len(active)
        done[active] = False
        return solves


def _keep(state: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The stacks' internal state of the vectors kept: [devices, batch] (linear) or [chain, batch, devices]."""
    return state[:, keep] if state.ndim == 2 else state[:, keep, :]
