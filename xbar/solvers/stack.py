"""Each compound device in series with its access transistor, condensed to its two terminals.

A stack runs from the device's top electrode through its cells and write channel to the
channel's read terminal s, then through the access transistor (drain s, source the column
node, gate the word line, bulk ground: :meth:`xbar.device.access.AccessTransistor.current`)
to the column wire. Its internal nodes (s, and the channel nodes for bias-dependent
junctions) connect to nothing else, so for given terminal voltages they are solved
exactly, by a small Newton iteration vectorized over all devices and input vectors:

* linear junctions: the cells and channel are one exact conductance G_dev
  (:func:`xbar.solvers.native.device_transfer`) and s solves the scalar equation
  G_dev (V_top - s) = I_T(s, V_read);
* bias-dependent junctions (:func:`xbar.device.junction.junction_current`): the chain
  s, h_0 .. h_(n-1) is tridiagonal, solved like :mod:`.newton`'s devices.

The stack's current I(V_top, V_read) depends on both terminal voltages, not only on
their difference (the transistor's gate is fixed to ground), so its terminal Jacobian
has two entries, dI/dV_top and -dI/dV_read, from implicit differentiation of the same
equations.
"""

from __future__ import annotations

import numpy as np

from xbar.array.circuit import Circuit
from xbar.device.junction import junction_current
from xbar.util.errors import SolverError
from xbar.solvers.native import device_transfer
from xbar.solvers.tridiagonal import tridiagonal

#: Internal nodes are converged to this fraction of the largest terminal voltage.
LOCAL_TOL = 1e-14
#: The scalar Newton of a linear-junction stack stops once its update is below this fraction:
#: it converges quadratically, e_(k+1) ~ (f''/2f') e_k^2 with f''/f' below 1/(2 U_T) ~ 20 /V
#: for the transistor, so the next error is below 1e-15 of a 0.1-1 V scale (the current is
#: then corrected to first order in the last update).
LINEAR_STOP = 1e-8
LOCAL_MAX_ITERATIONS = 100


class StackModel:
    """The stacks of a circuit with an access transistor; arrays [batch, devices], channel [cells, batch, devices]."""

    def __init__(self, circuit: Circuit):
        if circuit.access is None:
            raise SolverError("a stack model needs a circuit with access transistors")
        self.access = circuit.access
        self.temp_c = circuit.temp_c
        n = circuit.cell_ohm.shape[-1]
        self.n = n
        cells = circuit.cell_ohm.reshape(-1, n)
        self.seg = circuit.channel_segment_ohm
        self.g_dev, frac = device_transfer(cells, self.seg)
        self.g_t0 = 1.0 / self.access.on_ohm(self.temp_c)
        #: Zero-bias conductance of each whole stack [devices]: the linear network's.
        self.g0 = self.g_dev / (1.0 + self.g_dev / self.g_t0)
        self.frac = frac.T[:, None, :]
        self.linear = not circuit.junctions_nonlinear
        if self.linear:
            return
        r0 = cells.T[:, None, :]
        rp = circuit.cell_rp_ohm.reshape(-1, n).T[:, None, :]
        conducting = np.isfinite(r0)
        self.weight = None if conducting.all() else conducting.astype(float)
        self.r0 = np.where(conducting, r0, 1.0)
        self.rp = np.where(conducting, rp, 1.0)
        self.vh = circuit.v_half_volt
        self.gs = 1.0 / self.seg if self.seg > 0 else np.inf
        self.upper = np.where(np.arange(n + 1) < n, self.gs, 0.0)

    def _transistor(self, s, v_read, source=None):
        """Transistor current, dI/ds and -dI/dV_read; ``source``: its source side, when already evaluated."""
        qs, dqs = self.access.inversion(v_read, self.temp_c) if source is None else source
        qd, dqd = self.access.inversion(s, self.temp_c)
        return qs - qd, -dqd, -dqs

    def _start(self, v_top: np.ndarray, v_read: np.ndarray) -> np.ndarray:
        return v_read + (v_top - v_read) * (self.g_dev / (self.g_dev + self.g_t0))

    def solve(self, v_top: np.ndarray, v_read: np.ndarray, state=None, devices_first: bool = False,
              one_step: bool = False):
        """Stack currents at terminal voltages [batch, devices]: ``(i, g_top, g_read, state)``.

        ``i`` flows from top to read terminal; ``g_top`` = dI/dV_top and ``g_read`` = -dI/dV_read
        (both >= 0); ``state`` (the internal node voltages) warm-starts the next call.
        ``devices_first``: the arrays are [devices, batch] instead (the chord's layout).
        ``one_step`` (the chord): with a ``state``, a single Newton update of the internal nodes, for an
        outer iteration that converges them along with everything else, the current being the linear
        prediction at the updated nodes; without one, converged in full. Non-linear junctions then
        return ``g_top``, ``g_read`` as None: the chord does not use them.
        """
        scale = max(float(np.abs(v_top).max(initial=0.0)), float(np.abs(v_read).max(initial=0.0)), 1e-300)
        if self.linear:
            return self._solve_linear(v_top, v_read, state, scale, devices_first, one_step and state is not None)
        if one_step:  # the chord: no derivatives; after the first call one Newton update per call
            vt, vr = (v_top.T, v_read.T) if devices_first else (v_top, v_read)
            i, state = (self._chain_step(vt, vr, state) if state is not None
                        else self._solve_chain(vt, vr, None, scale, derivatives=False))
            return (i.T if devices_first else i), None, None, state
        if devices_first:
            i, g_top, g_read, state = self._solve_chain(v_top.T, v_read.T, state, scale)
            return i.T, g_top.T, g_read.T, state
        return self._solve_chain(v_top, v_read, state, scale)

    def _solve_linear(self, v_top, v_read, s, scale, devices_first=False, one_step=False):
        g = self.g_dev[:, None] if devices_first else self.g_dev
        if s is None:
            s = v_read + (v_top - v_read) * (g / (g + self.g_t0))
        else:
            s = s.copy()
        source = self.access.inversion(v_read, self.temp_c)
        for _ in range(LOCAL_MAX_ITERATIONS):
            i, gd, gsrc = self._transistor(s, v_read, source)
            a = g + gd
            ds = (g * (v_top - s) - i) / a
            s += ds
            if one_step or np.abs(ds).max(initial=0.0) <= LINEAR_STOP * scale:
                return i + gd * ds, gd * g / a, gsrc * g / a, s
        raise SolverError("access transistor: a stack's read terminal did not converge")

    def _cells(self, v_cell):
        i, g = junction_current(v_cell, self.rp, self.r0, self.vh)
        if self.weight is not None:
            i, g = i * self.weight, g * self.weight
        return i, g

    def _chain_system(self, v_top, v_read, x):
        """Residuals F (net current into each internal node) and the tridiagonal -dF/dx of chain ``x``."""
        s = x[0]
        i_t, gd, gsrc = self._transistor(s, v_read)
        if self.seg == 0:
            i_c, g_c = self._cells(v_top[None] - s[None])
            return i_c.sum(0)[None] - i_t[None], (g_c.sum(0) + gd)[None], (i_t, gd, gsrc, g_c.sum(0)[None])
        h = x[1:]
        i_c, g_c = self._cells(v_top[None] - h)
        gs = self.gs
        f = np.empty_like(x)
        f[0] = gs * (h[0] - s) - i_t
        f[1:] = i_c
        f[1:] -= gs * (h - x[:-1])
        f[1:-1] -= gs * (h[:-1] - h[1:])
        diag = np.concatenate([(gs + gd)[None], g_c + gs + self.upper[1:, None, None]])
        top = np.concatenate([np.zeros_like(s)[None], g_c])
        return f, diag, (i_t, gd, gsrc, top)

    def _chain_solve(self, diag, rhs):
        if self.seg == 0:
            return [r / diag for r in rhs]
        return tridiagonal(diag, -self.gs, self.upper, rhs)

    def _chain_step(self, v_top, v_read, x):
        """One Newton update of chain ``x`` at these terminal voltages: (the transistor's current linearly
        predicted at the updated internal node, the updated chain)."""
        f, diag, (i_t, gd, _, _) = self._chain_system(v_top, v_read, x)
        dx = self._chain_solve(diag, (f,))[0]
        return i_t + gd * dx[0], x + dx

    def _solve_chain(self, v_top, v_read, x, scale, derivatives: bool = True):
        if x is None:
            s = self._start(v_top, v_read)
            x = s[None] if self.seg == 0 else np.concatenate([s[None], v_top[None] - self.frac * (v_top - s)[None]])
        else:
            x = x.copy()
        for _ in range(LOCAL_MAX_ITERATIONS):
            f, diag, (i_t, gd, _, _) = self._chain_system(v_top, v_read, x)
            dx = self._chain_solve(diag, (f,))[0]
            x += dx
            if np.abs(dx).max(initial=0.0) <= LOCAL_TOL * scale:
                if not derivatives:  # (current, chain): the current predicted at the last update
                    return i_t + gd * dx[0], x
                _, diag, (i_t, gd, gsrc, top) = self._chain_system(v_top, v_read, x)
                e_s = np.zeros_like(x)
                e_s[0] = gsrc
                d_top, d_read = self._chain_solve(diag, (top, e_s))
                return i_t, gd * d_top[0], gsrc - gd * d_read[0], x
        raise SolverError("access transistor: a stack's internal nodes did not converge "
                          f"(V_h = {self.vh:g} V)")

    def cell_voltages(self, v_top: np.ndarray, v_read: np.ndarray) -> np.ndarray:
        """Voltage across each cell, [cells, batch, devices], at terminal voltages [batch, devices]."""
        *_, x = self.solve(v_top, v_read)
        if self.linear:
            return self.frac * (v_top - x)[None]
        inner = x[:1] if self.seg == 0 else x[1:]
        return np.broadcast_to(v_top[None] - inner, (self.n,) + v_top.shape)


def stack_device_currents(circuit: Circuit, node_voltages: np.ndarray) -> np.ndarray:
    """Current through each stack (device and transistor), [batch, rows, cols], from solved node voltages."""
    i, *_ = StackModel(circuit).solve(node_voltages[:, circuit.device_top.ravel()],
                                      node_voltages[:, circuit.device_read.ravel()])
    return i.reshape((len(node_voltages),) + circuit.shape)


def stack_cell_voltages(circuit: Circuit, node_voltages: np.ndarray) -> np.ndarray:
    """Voltage across each MTJ cell, [batch, rows, cols, cells], with access transistors."""
    cells = StackModel(circuit).cell_voltages(node_voltages[:, circuit.device_top.ravel()],
                                              node_voltages[:, circuit.device_read.ravel()])
    rows, cols = circuit.shape
    return np.moveaxis(cells, 0, -1).reshape(len(node_voltages), rows, cols, -1)
