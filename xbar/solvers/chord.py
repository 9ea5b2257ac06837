"""Sense currents of many input vectors on a non-linear crossbar: a chord iteration on the zero-bias factorization.

At read biases a junction departs from its zero-bias conductance g0 by a few per
cent, so each cell is written as g0 in parallel with a small non-linear current
source, d(v) = i(v) - g0 v (:func:`xbar.device.junction.junction_deviation`). The
linear network (wires, channels, cells at g0) is solved exactly (its adjoint
responses, refined once on the branch-by-branch residual, and with TIA sensing its
effective matrix from them by reciprocity; back-substitutions by a sparse Cholesky
factorization), and the sources are found by the fixed point

    V = V_lin - C J(V),    y = y_lin - B J(V),

where V [devices] are the device voltages, J [devices] each device's deviation
current condensed to its terminals (its channel nodes eliminated exactly, as
in :func:`xbar.solvers.native.device_transfer`), C the device-to-device transfer
of the linear network and B [cols, devices] its transfer to the sense outputs
(the adjoint responses, :mod:`.adjoint`). Each step costs one back-substitution
per vector with the one factorization: no new factorization and no Jacobian. The
outputs of an iterate, -B J, are read off the back-substitution its successor needs
anyway (the sense currents of the node voltages J drives); B itself is applied only
from the third iterate on, where a vector can stop.

The iteration contracts by |C (dI/dV - g0)|: a device's own conductance against
the low resistance of the wires that feed it, about 1.3e-3 per step at a 0.1 V
read and 4e-2 at 0.5 V (V_h 0.5 V, 1 ohm wires, 128x128), so three to eight
steps reach 1e-12. The error of the returned currents is estimated from the last two
changes of y (geometric tail, q / (1 - q) of the last change); a vector stops
when that is below ``tol`` times its largest linear output current. Where the
steps do not contract (q above :data:`MAX_CONTRACTION`, steep junctions or
resistor sensing of a single device) the caller falls back to Newton's method.
:meth:`ChordReads.node_voltages` runs the same fixed point on the node voltages (for
the IR-drop record), without the dense transfers.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from xbar.array.circuit import Circuit
from xbar.solvers.adjoint import adjoint_voltages
from xbar.solvers.factor import CholeskyFactor
from xbar.solvers.native import (NativeSolver, channel_matrix, conductance_matrix, device_transfer, incidence,
                                 kcl_residual)

#: Largest step-to-step contraction accepted; slower vectors go back to the caller (Newton).
MAX_CONTRACTION = 0.5
#: Dense transfer operators up to this many bytes each: the outputs per device source B [cols, devices]
#: (required) and the device voltages per input [devices, rows] (else a back-substitution per vector).
DENSE_BYTES = 256 * 2 ** 20
#: Input vectors per chunk of the iteration.
CHUNK_VECTORS = 16
#: Input vectors per block of linear device voltages (one pass of the dense transfer W per block).
BLOCK_VECTORS = 128
#: Non-linear cells per block of the deviation's element-wise passes (2048 x 32 doubles: 0.5 MB).
DEVIATION_BLOCK = 2048



def stop_rule(change: np.ndarray, change_prev: np.ndarray, step: int, tol: float,
              scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(finished, slow) per vector from the last two output changes of a chord iteration.

    Finished: the geometric tail of the changes, q/(1 - q) of the last one (q the contraction), is
    within ``tol`` of the vector's largest output ``scale`` (or the change itself is 1e-3 of that);
    slow: after 3 steps, a contraction above :data:`MAX_CONTRACTION` (those vectors go to Newton).
    """
    q = change / np.maximum(change_prev, 1e-300)
    finished = (q < 1) & (q / (1 - np.minimum(q, 0.5)) * change <= tol * scale)
    finished |= change <= 1e-3 * tol * scale
    return finished, ~finished & (q > MAX_CONTRACTION) & (step > 3)

class ChordReads:
    """Output currents of a non-linear circuit for batches of inputs, on its zero-bias linear network.

    ``linear`` is the :class:`NativeSolver` of the same circuit (zero-bias conductances), ``factor``
    a :class:`CholeskyFactor` of its ``L_FF`` for the back-substitutions.
    :meth:`currents` returns the currents and, per vector, whether it converged.
    """

    def __init__(self, circuit: Circuit, linear: NativeSolver, factor: CholeskyFactor):
        self.circuit = c = circuit
        self.linear = linear
        self.factor = factor
        n = c.cell_ohm.shape[-1]
        n_dev = c.device_top.size
        r0 = c.cell_ohm.reshape(n_dev, n)
        rp = (c.cell_rp_ohm if c.cell_rp_ohm is not None else c.cell_ohm).reshape(n_dev, n)
        # Only conducting cells above R_P are non-linear: the cells that carry a deviation source.
        nl_dev, nl_cell = np.nonzero(np.isfinite(r0) & (r0 > rp))
        self._r0 = r0[nl_dev, nl_cell][:, None]
        self._rp = rp[nl_dev, nl_cell][:, None]
        vh2 = c.v_half_volt ** 2
        self._slope = (self._r0 - self._rp) / (self._r0 * vh2)  # d = V^3 slope / (R_0 + R_P / V_h^2 V^2)
        self._rp_vh2 = self._rp / vh2
        _, frac = device_transfer(r0, c.channel_segment_ohm)  # open cells: inf ohm, no current
        m = len(nl_dev)
        # Cell voltage = frac * device voltage - K^-1 d (the channel's response to the cells' sources);
        # device source = sum over its cells of frac * d.
        self._spread = sp.csr_matrix((frac[nl_dev, nl_cell], (np.arange(m), nl_dev)), shape=(m, n_dev))
        self._gather = self._spread.T.tocsr()
        self._channel = self._channel_response(r0, nl_dev, nl_cell)
        inc = incidence(c.device_top.ravel(), c.device_read.ravel(), c.n_nodes).tocsr()
        self._inc_t = inc.T.tocsr()
        self._inc_f = inc[linear.free_nodes].tocsr()
        self._inc_ft = self._inc_f.T.tocsr()
        self._out_free, self._out_dev = node_output_maps(c, linear.free_nodes, inc)
        self._m = self._b = self._w_dev = None  # the dense transfers, made by the first :meth:`currents`

    def _transfers(self) -> None:
        """The effective matrix M [cols, rows], the output transfer B [cols, devices] (adjoint responses) and,
        where it fits, the device voltages per input W [devices, rows]: 2 x 128 back-substitutions at 128x128."""
        c = self.circuit
        self._m, w = linear_transfers(c, self.linear, self.factor)
        self._b = np.ascontiguousarray(w[:, c.device_top.ravel()] - w[:, c.device_read.ravel()])
        if _dense_fits(c.device_top.size, c.shape[0]):
            self._w_dev = self._device_transfer_per_input()

    def deviation(self, v_cell: np.ndarray) -> np.ndarray:
        """Each non-linear cell's current minus its zero-bias current, [cells, batch], for cell voltages [cells, batch].

        :func:`~xbar.device.junction.junction_deviation` with its per-cell constants folded, in blocks of
        :data:`DEVIATION_BLOCK` cells whose element-wise passes stay in the CPU caches (2x faster).
        """
        out = np.empty_like(v_cell)
        for lo in range(0, len(v_cell), DEVIATION_BLOCK):
            part = slice(lo, lo + DEVIATION_BLOCK)
            v, d = v_cell[part], out[part]
            np.multiply(v, v, out=d)
            den = d * self._rp_vh2[part]
            den += self._r0[part]
            d *= v
            d *= self._slope[part]
            d /= den
        return out

    @staticmethod
    def fits(circuit: Circuit) -> bool:
        """Whether the dense output transfer B [cols, devices] fits in :data:`DENSE_BYTES`."""
        return _dense_fits(circuit.device_top.size, circuit.shape[1])

    def _channel_response(self, r0: np.ndarray, nl_dev: np.ndarray, nl_cell: np.ndarray) -> sp.csr_matrix | None:
        """K^-1 between the non-linear cells of each device [m, m] (block diagonal), None for an ideal channel.

        K is the channel's nodal matrix with every cell at its zero-bias conductance.
        """
        seg = self.circuit.channel_segment_ohm
        if seg == 0:
            return None
        n = r0.shape[1]
        kinv = np.linalg.inv(channel_matrix(r0, seg))
        pos = np.full(r0.shape, -1)
        pos[nl_dev, nl_cell] = np.arange(len(nl_dev))
        i, j, val = [], [], []
        for a in range(n):
            for b in range(n):
                both = (pos[:, a] >= 0) & (pos[:, b] >= 0)
                i.append(pos[both, a])
                j.append(pos[both, b])
                val.append(kinv[both, a, b])
        m = len(nl_dev)
        return sp.csr_matrix((np.concatenate(val), (np.concatenate(i), np.concatenate(j))), shape=(m, m))

    def _device_transfer_per_input(self) -> np.ndarray:
        """Device voltages of the linear network per volt on each row, [devices, rows]."""
        return self._linear_device_voltages(np.eye(self.circuit.shape[0]))

    def _linear_device_voltages(self, x: np.ndarray) -> np.ndarray:
        """Device voltages [devices, batch] of the linear network for inputs x [batch, rows]."""
        if self._w_dev is not None:
            return self._w_dev @ x.T
        c, lin = self.circuit, self.linear
        v = np.zeros((c.n_nodes, len(x)))
        v[c.input_nodes] = x.T
        if len(lin.free_nodes):
            v[lin.free_nodes] = self.factor.solve(-(lin.input_coupling @ x.T))
        return self._inc_t @ v

    def currents(self, x: np.ndarray, tol: float = 1e-12, max_steps: int = 60) -> tuple[np.ndarray, np.ndarray, int]:
        """Sense currents [batch, cols] for inputs x [batch, rows], converged flags [batch], back-substitutions done.

        The linear device voltages come in blocks of :data:`BLOCK_VECTORS` (one pass of the dense transfer
        W per block); the iteration runs in chunks of :data:`CHUNK_VECTORS`, whose arrays stay in the CPU
        caches next to the factorization.
        """
        if self._b is None:
            self._transfers()
        out = x @ self._m.T
        done = np.ones(len(x), dtype=bool)
        solves = 0
        if not self._spread.shape[0]:
            return out, done, solves
        for lo in range(0, len(x), BLOCK_VECTORS):
            block = np.arange(lo, min(lo + BLOCK_VECTORS, len(x)))
            block = block[np.abs(x[block]).max(axis=1, initial=0.0) > 0]  # zero inputs: no junction current
            if not len(block):
                continue
            v_lin = self._linear_device_voltages(x[block])
            solves += 0 if self._w_dev is not None else len(block)
            for s in range(0, len(block), CHUNK_VECTORS):
                part = block[s:s + CHUNK_VECTORS]
                y, ok, n = self._iterate(np.ascontiguousarray(v_lin[:, s:s + CHUNK_VECTORS]),
                                         np.abs(out[part]).max(axis=1), tol, max_steps)
                out[part] += y.T
                done[part] = ok
                solves += n
        return out, done, solves

    def _iterate(self, v_lin: np.ndarray, scale: np.ndarray, tol: float,
                 max_steps: int) -> tuple[np.ndarray, np.ndarray, int]:
        """Chord steps for one chunk from its linear device voltages v_lin [devices, batch]: the junctions' share
        of the outputs [cols, batch], converged flags [batch] and the back-substitutions done.

        Each back-substitution also gives the outputs of the deviation it was driven by (:meth:`_node_outputs`),
        so the dense transfer B is applied only from the third iterate on, where a vector can stop.
        """
        batch = v_lin.shape[1]
        y_out = np.zeros((self._b.shape[0], batch))
        done = np.zeros(batch, dtype=bool)
        active = np.arange(batch)
        scale = np.maximum(scale, 1e-300)
        v_dev, d, y_prev, change_prev, solves = v_lin, None, None, None, 0
        for step in range(max_steps):
            v_cell = self._spread @ v_dev
            if d is not None and self._channel is not None:
                v_cell -= self._channel @ d
            d = self.deviation(v_cell)
            j = self._gather @ d
            if step >= 2:  # a stop is possible: this iterate's outputs by the dense transfer
                y = -(self._b @ j)
                change = np.abs(y - y_prev).max(axis=0)
                finished, slow = stop_rule(change, change_prev, step, tol, scale)
                stop = finished | slow
                if stop.any():
                    y_out[:, active[finished]] = y[:, finished]
                    done[active[finished]] = True
                    keep = ~stop
                    active, v_lin, scale = active[keep], v_lin[:, keep], scale[keep]
                    d, j, change = d[:, keep], j[:, keep], change[keep]
                    if not len(active):
                        return y_out, done, solves
                y_prev, change_prev = y[:, ~stop], change
            sol = self.factor.solve(self._inc_f @ j)  # minus the free node voltages the deviation drives
            solves += len(active)
            if step < 2:
                y = self._node_outputs(sol, j)
                if y_prev is not None:
                    change_prev = np.abs(y - y_prev).max(axis=0)
                y_prev = y
            v_dev = v_lin - self._inc_ft @ sol
        return y_out, done, solves

    def _node_outputs(self, sol: np.ndarray, j: np.ndarray) -> np.ndarray:
        """The outputs [cols, batch] driven by device sources j [devices, batch], -B j, from the back-substitution
        ``sol`` = L_FF^-1 A_F j [free nodes, batch] that the next step needs anyway (:func:`node_output_maps`)."""
        y = self._out_free @ sol
        if self._out_dev is not None:
            y += self._out_dev @ j
        return y

    def node_voltages(self, x: np.ndarray, tol: float = 1e-12, max_steps: int = 60) -> tuple[np.ndarray, np.ndarray]:
        """Node voltages [batch, n_nodes] for inputs x [batch, rows] and, per vector, whether they converged.

        The same fixed point carried on the free node voltages, V = V_lin - L_FF^-1 A J(V), one
        back-substitution per step and vector (and two for V_lin, refined), no dense transfer; a vector stops when the
        geometric tail of its node-voltage changes (:func:`stop_rule`) is within ``tol`` of its largest input
        voltage, the convergence test of Newton's method.
        """
        c, lin = self.circuit, self.linear
        free = lin.free_nodes
        v = np.zeros((c.n_nodes, len(x)))
        v[c.input_nodes] = x.T
        done = np.ones(len(x), dtype=bool)
        active = np.flatnonzero(np.abs(x).max(axis=1, initial=0.0) > 0)
        if not len(free) or not len(active):
            return v.T, done
        v[np.ix_(free, active)] = self.factor.solve(-(lin.input_coupling @ x[active].T))  # V_lin
        v[np.ix_(free, active)] -= self.factor.solve(kcl_residual(c, v[:, active].T)[:, free].T)  # refined
        base = v[np.ix_(free, active)]
        if not self._spread.shape[0]:
            return v.T, done
        scale = np.abs(x[active]).max(axis=1)
        v_free, d, change_prev = base, None, None
        for step in range(max_steps):
            v_cell = self._spread @ (self._inc_t @ v[:, active])
            if d is not None and self._channel is not None:
                v_cell -= self._channel @ d
            d = self.deviation(v_cell)
            new = base - self.factor.solve(self._inc_f @ (self._gather @ d))
            change = np.abs(new - v_free).max(axis=0)
            v[np.ix_(free, active)] = v_free = new
            if change_prev is not None:
                finished, slow = stop_rule(change, change_prev, step + 1, tol, scale)
                done[active[slow]] = False
                keep = ~(finished | slow)
                active, base, v_free, d, scale, change = (active[keep], base[:, keep], v_free[:, keep], d[:, keep],
                                                         scale[keep], change[keep])
                if not len(active):
                    return v.T, done
            change_prev = change
        done[active] = False
        return v.T, done


def linear_transfers(circuit: Circuit, linear: NativeSolver, factor: CholeskyFactor) -> tuple[np.ndarray, np.ndarray]:
    """The zero-bias network's effective matrix M [cols, rows] and adjoint node voltages W [cols, n_nodes]
    (the outputs' responses to sources at any pair of nodes: B = W[:, top] - W[:, read])."""
    free = linear.free_nodes
    w = adjoint_voltages(linear, factor)
    if circuit.sense != "tia":
        return linear.effective_matrix(), w
    # One step of refinement on the branch-by-branch residual (as the native solver's node voltages):
    # the back-substitutions alone leave ~1e-12 of the outputs on 1 ohm wires against 15 kohm devices.
    w[:, free] -= factor.solve(kcl_residual(circuit, w)[:, free].T).T
    # By reciprocity column j's current per volt on row r is the current the row's source draws in
    # column j's adjoint problem: the effective matrix without a second factorization.
    return -(conductance_matrix(circuit)[circuit.input_nodes] @ w.T).T, w


def node_output_maps(circuit: Circuit, free: np.ndarray,
                     inc: sp.csr_matrix) -> tuple[sp.csr_matrix, sp.csr_matrix | None]:
    """(P [cols, free], Q [cols, devices]) with -B j = P L_FF^-1 A_F j + Q j: the outputs of device sources j
    (incidence ``inc`` [n_nodes, devices]) read off the node voltages they drive. TIA: the current the held
    sense nodes take from their neighbours and from devices on them; resistor sensing: the output node's
    voltage over R_ref."""
    c = circuit
    if c.sense == "tia":
        return conductance_matrix(c)[c.sense_nodes][:, free].tocsr(), -inc[c.sense_nodes].tocsr()
    pos = np.full(c.n_nodes, -1)
    pos[free] = np.arange(len(free))
    cols = len(c.output_nodes)
    return sp.csr_matrix((np.full(cols, -1.0 / c.crossbar.ref_ohm), (np.arange(cols), pos[c.output_nodes])),
                         shape=(cols, len(free))), None


def _dense_fits(devices: int, width: int) -> bool:
    """Whether a dense float64 array [devices, width] fits in :data:`DENSE_BYTES`."""
    return devices * width * 8 <= DENSE_BYTES
