"""Native transient solver: the step response of a crossbar with its capacitances.

The circuit is the one description (:class:`~xbar.array.circuit.Circuit`) with its
capacitor groups and each MTJ cell's junction capacitance. Capacitors make the
compound devices dynamic, so unlike the DC solver this one keeps every device's
internal channel nodes: cell k runs from the top electrode to its own channel
node h_k (resistance and junction capacitance in parallel), and channel
segments join h_k to h_{k-1} and h_0 to the read terminal, exactly as the
netlist's subcircuit does.

With grounded voltage sources the unknowns are the free node voltages v:
``C_FF v' + G_FF v = -(G_FS s + C_FS s')`` for source voltages s(t). The
integration is fixed-step: backward Euler (``be``, L-stable: no ringing of the
picosecond wire modes) or the trapezoidal rule (``trap``, second order; its
first step is two backward-Euler half steps, which damp the stiff modes the
step excites). Both use the one matrix ``G_FF + C_FF / (h/2)`` for ``trap`` or
``G_FF + C_FF / h`` for ``be``: factorized once for the whole run.

Sources step from 0 V at t = 0 to the given inputs, linearly over ``rise_s``
(0: an ideal step at the first time point).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from xbar.array.circuit import Circuit, check_inputs
from xbar.util.errors import ParameterError, SolverError

METHODS = ("be", "trap")


@dataclass(frozen=True)
class Waveforms:
    """A step response. ``times_s`` [T] (0 first, all sources at 0 V then),
    ``currents`` [T, cols] sense currents in ampere (into each sense element),
    ``voltages`` [T, cols] sense outputs in volt (as :class:`~xbar.solvers.result.Solution`),
    ``probes`` [T, k] the voltages of the nodes asked for, ``final_node_voltages``
    [n_nodes] at the last time point.
    """

    times_s: np.ndarray
    currents: np.ndarray
    voltages: np.ndarray
    probes: np.ndarray
    final_node_voltages: np.ndarray


def expanded_matrices(circuit: Circuit) -> tuple[sp.csr_matrix, sp.csr_matrix, int]:
    """Conductance G and capacitance C [N, N] over the circuit's nodes plus every device's channel nodes.

    Returns (G, C, N); nodes 0..n_nodes-1 are the circuit's, the rest are the
    channel nodes h_k of device d at ``n_nodes + d * cells + k`` (none for an ideal channel).
    """
    n = circuit.n_nodes
    top = circuit.device_top.ravel()
    read = circuit.device_read.ravel()
    cells = circuit.cell_ohm.reshape(len(top), circuit.cell_ohm.shape[-1])
    m, nc = cells.shape
    seg = circuit.channel_segment_ohm
    ga, gb, gv, ca, cb, cv = [], [], [], [], [], []
    for g in circuit.resistors:
        ga.append(g.a), gb.append(g.b), gv.append(1.0 / g.ohm)
    for c in circuit.capacitors:
        ca.append(c.a), cb.append(c.b), cv.append(c.farad)
    if seg > 0:
        h = n + np.arange(m * nc).reshape(m, nc)
        cell_b = h
        prev = np.concatenate([read[:, None], h[:, :-1]], axis=1)
        ga.append(h.ravel()), gb.append(prev.ravel()), gv.append(np.full(m * nc, 1.0 / seg))
        total = n + m * nc
    else:
        cell_b = np.repeat(read[:, None], nc, axis=1)
        total = n
    cell_a = np.repeat(top[:, None], nc, axis=1)
    ga.append(cell_a.ravel()), gb.append(cell_b.ravel()), gv.append(1.0 / cells.ravel())
    if circuit.cell_farad > 0:
        present = np.isfinite(cells.ravel())  # an open cell has no element, so no junction either
        ca.append(cell_a.ravel()[present]), cb.append(cell_b.ravel()[present])
        cv.append(np.full(int(present.sum()), circuit.cell_farad))
    return _stamp(ga, gb, gv, total), _stamp(ca, cb, cv, total), total


def _stamp(a, b, val, n) -> sp.csr_matrix:
    if not a:
        return sp.csr_matrix((n, n))
    a, b, val = np.concatenate(a), np.concatenate(b), np.concatenate(val)
    rows = np.concatenate([a, b, a, b])
    cols = np.concatenate([a, b, b, a])
    return sp.csr_matrix((np.concatenate([val, val, -val, -val]), (rows, cols)), shape=(n, n))


class TransientSolver:
    """Fixed-step transient of a circuit: ``dt_s`` step, ``method`` ``be`` or ``trap``.

    The system matrix is factorized once, here; every :meth:`step_response`
    with the same step reuses it.
    """

    def __init__(self, circuit: Circuit, dt_s: float, method: str = "be"):
        if method not in METHODS:
            raise ParameterError(f"unknown transient method {method!r}; choose one of {', '.join(METHODS)}")
        dt = float(dt_s)
        if not np.isfinite(dt) or dt <= 0:
            raise ParameterError(f"time step must be a finite time > 0 s, got {dt_s!r}")
        self.circuit, self.dt_s, self.method = circuit, dt, method
        g, c, total = expanded_matrices(circuit)
        fixed = np.zeros(total, dtype=bool)
        fixed[0] = True
        fixed[circuit.input_nodes] = True
        fixed[circuit.sense_nodes] = True
        self._free = np.flatnonzero(~fixed)
        self._g, self._c = g.tocsr(), c.tocsr()
        f = self._free
        self._g_ff, self._c_ff = g[f][:, f].tocsc(), c[f][:, f].tocsc()
        self._g_fs, self._c_fs = g[f][:, circuit.input_nodes], c[f][:, circuit.input_nodes]
        self._g_sense, self._c_sense = g[circuit.sense_nodes], c[circuit.sense_nodes]
        self._h_be = dt / 2 if method == "trap" else dt  # the backward-Euler step that shares the matrix
        try:
            with threadpool_limits(1, user_api="blas"):
                self._lu = splu((self._g_ff + self._c_ff / self._h_be).tocsc(), permc_spec="MMD_AT_PLUS_A",
                                diag_pivot_thresh=0.0, options=dict(SymmetricMode=True))
        except RuntimeError as exc:
            raise SolverError(f"transient solver: system matrix is singular ({exc})") from None

    @property
    def n_nodes(self) -> int:
        """Nodes of the expanded circuit (with every device's channel nodes)."""
        return self._g.shape[0]

    def step_response(self, inputs, steps: int, rise_s: float = 0.0, probes=(), stop=None) -> Waveforms:
        """Response to row voltages ``inputs`` [rows] switched on at t = 0, for ``steps`` steps.

        ``probes``: circuit node ids whose voltages to keep. ``stop(t, currents)``,
        when given, is called after each step with the sense currents [cols]; a
        true return ends the run early.
        """
        c = self.circuit
        x = check_inputs(inputs, c.shape[0])
        if len(x) != 1:
            raise ParameterError(f"a step response takes one input vector, got {len(x)}")
        x = x[0]
        steps = int(steps)
        if steps < 1:
            raise ParameterError(f"a transient needs at least 1 step, got {steps}")
        rise = float(rise_s)
        if not np.isfinite(rise) or rise < 0:
            raise ParameterError(f"rise time must be finite and >= 0 s, got {rise_s!r}")
        probes = np.asarray(probes, dtype=np.int64).reshape(-1)
        n = c.n_nodes
        if probes.size and (probes.min() < 0 or probes.max() >= n):
            raise ParameterError(f"probe nodes must be node ids in 0..{n - 1}")

        def src(t):
            return x * (1.0 if rise == 0 or t >= rise else t / rise)

        f = self._free
        v = np.zeros(self.n_nodes)
        n_out = len(c.sense_nodes) if c.sense == "tia" else len(c.output_nodes)
        times, currents, probe_v = [0.0], [np.zeros(n_out)], [v[probes].copy()]
        h_be = self._h_be
        s_old, t = np.zeros(len(x)), 0.0
        v_f = np.zeros(len(f))
        q_old = np.zeros(len(c.sense_nodes))  # charge on the sense nodes, and its rate (trapezoidal history)
        dq = np.zeros(len(c.sense_nodes))
        # Backward-Euler steps: every step for "be"; two half steps, then trapezoidal steps, for "trap".
        plan = ["be"] * steps if self.method == "be" else ["be", "be"] + ["trap"] * (steps - 1)
        with threadpool_limits(1, user_api="blas"):
            for k, kind in enumerate(plan):
                h = h_be if kind == "be" else self.dt_s
                t += h
                s = src(t)
                if kind == "be":
                    # (C/h + G) v1 = C v0 / h - C_FS (s1 - s0) / h - G_FS s1
                    rhs = self._c_ff @ v_f / h - self._c_fs @ (s - s_old) / h - self._g_fs @ s
                else:
                    # (2C/h + G) v1 = (2C/h - G) v0 - 2 C_FS (s1 - s0) / h - G_FS (s1 + s0): the h/2 Euler matrix
                    rhs = (2 / h) * (self._c_ff @ v_f) - self._g_ff @ v_f - (2 / h) * (self._c_fs @ (s - s_old)) \
                        - self._g_fs @ (s + s_old)
                v_f = self._lu.solve(rhs)
                s_old = s
                v[f] = v_f
                v[c.input_nodes] = s
                q = self._c_sense @ v
                dq = (q - q_old) / h if kind == "be" else 2 * (q - q_old) / h - dq
                q_old = q
                if self.method == "trap" and k == 0:
                    continue  # the first half step is not an output point
                i_sense = (v[c.output_nodes] / c.crossbar.ref_ohm if c.sense != "tia"
                           else -(self._g_sense @ v) - dq)
                times.append(t), currents.append(i_sense), probe_v.append(v[probes].copy())
                if stop is not None and stop(t, i_sense):
                    break
        currents = np.array(currents)
        xbar = c.crossbar
        gain = -xbar.tia_feedback_ohm if xbar.sense == "tia" else xbar.ref_ohm
        return Waveforms(np.array(times), currents, currents * gain, np.array(probe_v), v[:n].copy())


def settle(circuit: Circuit, inputs, final_currents: np.ndarray, band_a: float, dt_s: float,
           method: str = "be", max_steps: int = 200_000, hold_steps: int = 50, rise_s: float = 0.0,
           progress: bool = True) -> Waveforms:
    """Step response run until every sense current has stayed within ``band_a`` / 10 of
    ``final_currents`` [cols] (the DC solution) for ``hold_steps`` steps, or ``max_steps``.

    With ``progress``, a run still going after 5 s shows its steps and simulated time on stderr."""
    final = np.asarray(final_currents, dtype=float).reshape(-1)
    if not (np.isfinite(band_a) and band_a > 0):
        raise ParameterError(f"settling band must be > 0 A, got {band_a!r}")
    held = [0]
    with tqdm(total=max_steps, desc="native transient", unit="step", delay=5, leave=False,
              disable=not progress) as bar:

        def stop(t, i):
            held[0] = held[0] + 1 if np.all(np.abs(i - final) <= band_a / 10) else 0
            bar.update(1)
            if bar.n % 200 == 0:
                bar.set_postfix_str(f"t = {t * 1e12:.4g} ps", refresh=False)
            return held[0] >= hold_steps

        return TransientSolver(circuit, dt_s, method).step_response(inputs, max_steps, rise_s, stop=stop)
