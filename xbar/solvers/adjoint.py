"""Adjoint (reciprocal) responses of the sense outputs, for noise analysis.

The crossbar is reciprocal (L symmetric), so the transfer from a current
injected across nodes (a, b) to column j's output equals w_a - w_b, where w
solves the adjoint problem of that output. Each column costs one solve with the
native solver's factorization.
"""

from __future__ import annotations

import numpy as np

from xbar.solvers.native import NativeSolver, conductance_matrix


def adjoint_voltages(solver: NativeSolver, factor=None) -> np.ndarray:
    """Adjoint node voltages [cols, n_nodes], in ampere of column current per ampere injected.

    TIA sensing: the node voltages with 1 V on column j's virtual ground and every
    other source at 0 V. Resistor sensing: the voltages for 1 A injected at
    column j's sense node, divided by R_ref (output current = v_o / R_ref).
    ``factor``: any factorization of the solver's ``L_FF`` with a ``solve`` (default: its own).
    """
    factor = factor or solver.factor
    c = solver.circuit
    free = solver.free_nodes
    cols = c.shape[1]
    w = np.zeros((cols, c.n_nodes))
    if c.sense == "tia":
        rhs = -conductance_matrix(c)[free][:, c.sense_nodes].toarray()
        w[:, free] = factor.solve(rhs).T
        w[np.arange(cols), c.sense_nodes] = 1.0
    else:
        pos = np.searchsorted(free, c.output_nodes)
        rhs = np.zeros((len(free), cols))
        rhs[pos, np.arange(cols)] = 1.0
        w[:, free] = factor.solve(rhs).T / c.crossbar.ref_ohm
    return w
