"""Answers checked against something independent before any solver returns them.

A crossbar read is a passive network: row sources, resistors and junctions whose current
grows with the voltage across them, sense nodes held at (or tied through a resistor to)
0 V. That bounds every answer without solving anything:

* **node voltages** lie between the lowest and highest source (0 V included; the maximum
  principle of passive networks);
* **column currents** of a linear circuit are ``I = M x`` with ``0 <= M[j, i]`` and
  ``sum_j M[j, i] <= sum_j G[i, j]``, the zero-parasitic (ideal) conductances of row i
  (Rayleigh: every wire, driver, access and reference resistance only lowers what a source
  delivers into grounded nodes). So for non-negative inputs no column current is negative,
  and the total never exceeds the ideal total ``x . G``;
* for non-linear junctions (finite V_h) no device passes more than its conductance at the
  largest bias times the source span, so each column is bounded by that sum.

:func:`check_currents` and :func:`check_node_voltages` apply these to every solver's answer;
:func:`check_matrix` applies them once to the native effective matrix; :func:`check_kcl`
recomputes Kirchhoff's current law branch by branch, with xbar's own conductances, where the
resistance spread makes a solve suspect; :func:`check_applied` compares what a SPICE run says
about the row drivers with what xbar applied. Each failure is one :class:`SolverError` line.
"""

from __future__ import annotations

import numpy as np

from xbar.array.circuit import Circuit
from xbar.util.errors import SolverError

#: Relative slack on the passive bounds, of the ideal current (voltage) scale of each input
#: vector: exact solves sit inside them to ~1e-12; a scaled or garbage answer is far outside.
BOUND_RTOL = 1e-6
#: Largest Kirchhoff residual at a node, relative to the largest branch current of the input vector.
MAX_KCL = 1e-6
#: Resistance spread (largest / smallest) from which the native answer's Kirchhoff residual is
#: recomputed: below it the factorization resolves every branch to far better than MAX_KCL.
KCL_CHECK_SPREAD = 1e10
#: Largest difference between a SPICE run's network outputs and the native solver's, relative to the
#: largest: both solve one circuit exactly (measured: logits agree to 1.3e-11 on MNIST).
MAX_SPICE_DISAGREEMENT = 1e-6
#: Largest relative mismatch between a SPICE run's driver currents and those its row-node
#: voltages imply through xbar's driver resistances (the run is exact to ~1e-9).
MAX_DRIVER_MISMATCH = 1e-5


def device_bound_siemens(circuit: Circuit, span_volt: float = 0.0) -> np.ndarray:
    """Largest conductance [rows, cols] in siemens of each device for junction biases up to ``span_volt``.

    Linear junctions: the zero-bias equivalent conductance (channel included). Non-linear: the cells'
    resistance R(V) = R_P + (R_0 - R_P) / (1 + (V/V_h)^2) falls with |V|, so it is taken at ``span_volt``.
    """
    from xbar.solvers.native import device_transfer  # native imports this module
    cells = circuit.cell_ohm
    if circuit.junctions_nonlinear and span_volt > 0:  # an access transistor only lowers it
        rp = circuit.cell_rp_ohm
        with np.errstate(invalid="ignore"):
            low = rp + (cells - rp) / (1.0 + (span_volt / circuit.v_half_volt) ** 2)
        cells = np.where(np.isfinite(cells), low, np.inf)
    g, _ = device_transfer(cells, circuit.channel_segment_ohm)
    return g


def resistance_range(circuit: Circuit) -> tuple[float, float] | None:
    """(smallest, largest) finite resistance of the circuit in ohm (wires, drivers, cells, channel segments);
    None when it has none (open cells aside)."""
    ohms = [g.ohm for g in circuit.resistors] + [circuit.cell_ohm.ravel()]
    if circuit.channel_segment_ohm > 0:
        ohms.append(np.array([circuit.channel_segment_ohm]))
    r = np.concatenate(ohms)
    r = r[np.isfinite(r) & (r > 0)]
    return (float(r.min()), float(r.max())) if r.size else None


def resistance_spread(circuit: Circuit) -> float:
    """Largest over smallest finite resistance of the circuit (1 when it has none)."""
    span = resistance_range(circuit)
    return span[1] / span[0] if span else 1.0


def _span(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.minimum(x.min(axis=1), 0.0), np.maximum(x.max(axis=1), 0.0)


def _refuse(who: str, what: str, hint: str = "") -> SolverError:
    return SolverError(f"{who}'s answer fails an independent check: {what}; refusing it"
                       + (f" ({hint})" if hint else ""))


@np.errstate(all="ignore")  # non-finite answers are Solution's to refuse, by name
def check_currents(circuit: Circuit, inputs: np.ndarray, currents: np.ndarray, who: str, hint: str = "",
                   device_siemens: np.ndarray | None = None) -> None:
    """Refuse column currents [batch, cols] outside the passive bounds for row voltages ``inputs`` [batch, rows].

    ``device_siemens`` [rows, cols]: the linear devices' conductances when the caller has them."""
    x = np.asarray(inputs, dtype=float)
    i = np.asarray(currents, dtype=float)
    lo_v, hi_v = _span(x)
    if circuit.nonlinear:
        span = hi_v - lo_v
        col_g = device_bound_siemens(circuit, float(span.max(initial=0.0))).sum(axis=0)  # [cols]
        hi = span[:, None] * col_g[None]
        lo = np.where(lo_v[:, None] < 0, -hi, 0.0)
        hi = np.where(hi_v[:, None] > 0, hi, 0.0)
        scale = hi.max(axis=1, initial=0.0) - lo.min(axis=1, initial=0.0)
        total_lo, total_hi = lo.sum(axis=1), hi.sum(axis=1)
    else:
        row_g = (device_bound_siemens(circuit) if device_siemens is None else device_siemens).sum(axis=1)
        total_hi, total_lo = np.maximum(x, 0.0) @ row_g, np.minimum(x, 0.0) @ row_g
        hi, lo = total_hi[:, None], total_lo[:, None]
        scale = np.abs(x) @ row_g
    tol = BOUND_RTOL * scale + 1e-300
    below, above = i < lo - tol[:, None], i > hi + tol[:, None]
    if below.any() or above.any():
        k, j = np.argwhere(below | above)[0]
        bound = (lo if below[k, j] else hi)[k, min(j, lo.shape[1] - 1)]
        raise _refuse(who, f"column {j} of input {k} carries {i[k, j]:.4g} A, "
                           f"{'below' if below[k, j] else 'above'} the {bound:.4g} A a passive network allows "
                           "(no negative current into a virtual ground from non-negative inputs, nothing above "
                           "the zero-parasitic current)", hint)
    total = i.sum(axis=1)
    bad = (total > total_hi + tol) | (total < total_lo - tol)
    if bad.any():
        k = int(np.argmax(bad))
        raise _refuse(who, f"the columns of input {k} carry {total[k]:.6g} A in all, outside the "
                           f"{total_lo[k]:.6g}..{total_hi[k]:.6g} A of the zero-parasitic crossbar", hint)


@np.errstate(all="ignore")  # non-finite answers are Solution's to refuse, by name
def check_node_voltages(circuit: Circuit, inputs: np.ndarray, node_voltages: np.ndarray, who: str,
                        hint: str = "") -> None:
    """Refuse node voltages [batch, n_nodes] outside the range of the sources (0 V included)."""
    lo, hi = _span(np.asarray(inputs, dtype=float))
    v = np.asarray(node_voltages)
    tol = BOUND_RTOL * (hi - lo) + 1e-300
    bad = (v.min(axis=1) < lo - tol) | (v.max(axis=1) > hi + tol)
    if bad.any():
        k = int(np.argmax(bad))
        worst = int(np.argmax(np.maximum(lo[k] - v[k], v[k] - hi[k])))
        raise _refuse(who, f"node {circuit.node_names()[worst]} of input {k} sits at {v[k, worst]:.6g} V, outside "
                           f"the {lo[k]:.6g}..{hi[k]:.6g} V of the sources", hint)


@np.errstate(all="ignore")  # non-finite answers are Solution's to refuse, by name
def check_kcl(circuit: Circuit, node_voltages: np.ndarray, free: np.ndarray, edges, who: str,
              hint: str = "") -> float:
    """Kirchhoff's current law at the ``free`` nodes, branch by branch (``edges``: native.branches);
    returns the largest residual relative to the largest branch current of its input vector, refusing
    past :data:`MAX_KCL`."""
    from xbar.solvers.native import kcl_residual
    a, b, g = edges
    worst = 0.0
    v = np.atleast_2d(node_voltages)
    for lo in range(0, len(v), 32):
        chunk = v[lo:lo + 32]
        resid = np.abs(kcl_residual(circuit, chunk, edges)[:, free]).max(axis=1, initial=0.0)
        scale = np.abs(g * (chunk[:, a] - chunk[:, b])).max(axis=1, initial=0.0)
        worst = max(worst, float((resid / np.maximum(scale, 1e-300)).max(initial=0.0)))
    if worst > MAX_KCL:
        raise _refuse(who, f"Kirchhoff's current law fails by {worst:.2g} of the largest branch current", hint)
    return worst


@np.errstate(all="ignore")  # non-finite answers are Solution's to refuse, by name
def check_matrix(circuit: Circuit, m: np.ndarray, who: str, hint: str = "",
                 device_siemens: np.ndarray | None = None) -> None:
    """Refuse an effective matrix M [cols, rows] (currents = inputs @ M.T) with a negative entry or a
    row whose columns take more than its zero-parasitic conductance (a linear circuit's bounds)."""
    row_g = (device_bound_siemens(circuit) if device_siemens is None else device_siemens).sum(axis=1)
    tol = BOUND_RTOL * row_g + 1e-300
    if (m < -tol[None]).any():
        j, i = np.argwhere(m < -tol[None])[0]
        raise _refuse(who, f"row {i} drives {m[j, i]:.4g} S into column {j}, a negative transfer a passive "
                           "network cannot have", hint)
    sums = m.sum(axis=0)
    if (sums > row_g + tol).any():
        i = int(np.argmax(sums - row_g))
        raise _refuse(who, f"row {i} delivers {sums[i]:.6g} S into the columns, more than its zero-parasitic "
                           f"{row_g[i]:.6g} S", hint)


def driver_ohm(circuit: Circuit) -> np.ndarray:
    """Each row driver's resistance in ohm [rows] (0: none; the nodes are :func:`xbar.array.netlist.driver_vectors`)."""
    ohm = np.zeros(circuit.shape[0])
    for group in circuit.resistors:
        if group.prefix == "Rdrv":
            ohm[group.index[:, 0]] = group.ohm
    return ohm


@np.errstate(all="ignore")  # non-finite answers are Solution's to refuse, by name
def check_applied(circuit: Circuit, inputs: np.ndarray, driver_node_volt: np.ndarray, delivered: np.ndarray,
                  who: str) -> None:
    """Compare a SPICE run with what xbar applied: each row's driver node [batch, rows] must sit at the driven
    voltage less the driver's drop, ``V_i - R_drv * I_i``, for the current ``delivered`` [batch, rows]
    the run reports (and exactly at ``V_i`` without a driver), and inside the sources' range."""
    x = np.asarray(inputs, dtype=float)
    ohm = driver_ohm(circuit)
    expected = x - ohm[None] * delivered
    scale = np.abs(x).max(axis=1, initial=0.0)[:, None] + ohm[None] * np.abs(delivered) + 1e-300
    err = np.abs(driver_node_volt - expected) / scale
    if (err > MAX_DRIVER_MISMATCH).any():
        k, r = np.argwhere(err > MAX_DRIVER_MISMATCH)[0]
        raise _refuse(who, f"row {r} of input {k} was driven at {x[k, r]:.6g} V through {ohm[r]:g} ohm and "
                           f"delivers {delivered[k, r]:.6g} A, so its driver node must sit at {expected[k, r]:.6g} V, "
                           f"not the {driver_node_volt[k, r]:.6g} V reported")


def check_agreement(who: str, spice: np.ndarray, native: np.ndarray) -> float:
    """The largest difference of ``spice`` from ``native`` outputs relative to the largest native one;
    past :data:`MAX_SPICE_DISAGREEMENT` it is an error, not a note."""
    scale = float(np.abs(native).max()) or 1.0
    rel = float(np.abs(np.asarray(spice) - native).max() / scale)
    if not rel <= MAX_SPICE_DISAGREEMENT:
        raise SolverError(f"{who} and the native solver disagree: outputs differ by {rel:.3g} of the largest, past "
                          f"the {MAX_SPICE_DISAGREEMENT:g} two exact solvers of one circuit allow; refusing both")
    return rel
