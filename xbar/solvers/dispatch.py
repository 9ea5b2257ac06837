"""The route :func:`xbar.solve` takes through the native solvers, by what the batch needs.

Every route is exact (each agrees with the factorized nodal solve, refined, to
1e-12 in the tests); they differ in what they cost:

* ``lines``: conjugate gradients on the device currents (:mod:`.lines`): no
  circuit build, no factorization, O(rows * cols) memory; a read of one vector
  costs a few to a few tens of running sums or small matrix products, so few
  vectors on any size take it;
* ``matrix``: the effective matrix (:meth:`NativeSolver.effective_matrix`):
  one factorization and the ports' Schur complement, then one matrix product
  for the whole batch: many vectors on one array take it;
* ``nodal``: the factorized nodal solve with one refinement step, in column
  chunks over threads (wire-preconditioned CG for a few vectors on tiles too
  large to factor quickly): the route that returns node voltages, taken when
  they are asked for;
* ``newton``: non-linear junctions (:class:`NewtonSolver`), unchanged.

The split between ``lines`` and ``matrix`` is :func:`lines_max_batch`: measured
on the 2-core machine (benchmarks/RESULTS.md, "Routes"), the effective matrix
costs about as much as this many line solves.
"""

from __future__ import annotations

import numpy as np

from xbar.array.circuit import Circuit, build_circuit, check_inputs
from xbar.array.crossbar import Crossbar
from xbar.util.errors import ParameterError
from xbar.solvers.grid import is_standard
from xbar.solvers.lines import LineSolver
from xbar.solvers.native import NativeSolver
from xbar.solvers.result import Solution

ROUTES = ("lines", "matrix", "nodal", "newton")

#: Line solves that cost about one effective matrix, times the array's longer side (measured, see module doc).
LINES_BATCH_SIDE = 2048


def lines_max_batch(rows: int, cols: int) -> int:
    """Most input vectors for which the line-current CG beats building the effective matrix."""
    return max(1, LINES_BATCH_SIDE // max(rows, cols))


def is_nonlinear(xbar: Crossbar) -> bool:
    """True when a junction's resistance depends on its bias, or an access transistor is in series (as
    :attr:`Circuit.nonlinear`)."""
    if xbar.access is not None:
        return True
    rp = xbar.cell_rp_ohm()
    cells = xbar.cell_resistance_ohm
    return (bool(np.isfinite(xbar.device.mtj.v_half_volt)) and rp is not None
            and bool(((cells > rp) & np.isfinite(cells)).any()))


def choose_route(rows: int, cols: int, batch: int, node_voltages: bool, nonlinear: bool) -> str:
    """The fastest exact route (one of :data:`ROUTES`) for ``batch`` vectors on a rows x cols array."""
    if nonlinear:
        return "newton"
    if node_voltages:
        return "nodal"
    return "lines" if batch <= lines_max_batch(rows, cols) else "matrix"


def solve_native(source: Circuit | Crossbar, inputs, node_voltages: bool = False, route: str | None = None) -> Solution:
    """Solve a linear crossbar (or its circuit) natively by the route :func:`choose_route` picks (or ``route``).

    Node voltages [batch, n_nodes] come back only with ``node_voltages``. The
    Solution's ``solver`` names the route taken.
    """
    xbar = source if isinstance(source, Crossbar) else source.crossbar
    rows, cols = xbar.shape
    x = check_inputs(inputs, rows)
    route = route or choose_route(rows, cols, len(x), node_voltages, False)
    if route not in ("lines", "matrix", "nodal") or (node_voltages and route != "nodal"):
        raise ParameterError(f"route {route!r} cannot solve a linear crossbar"
                             + (" with node voltages (only 'nodal' gives them)" if node_voltages else ""))
    if route == "lines" and (xbar.temperature_c is not None  # wires at T: the line solver reads the 27 C values
                             or isinstance(source, Circuit) and not is_standard(source)):
        route = "nodal" if node_voltages else "matrix"
    info = dict(backend="native", route=route)
    if route == "lines":
        lines = LineSolver(source)
        currents = lines.currents(x)
        info["cg_iterations"] = lines.iterations
        return Solution.from_currents(xbar, currents, solver=info)
    circuit = source if isinstance(source, Circuit) else build_circuit(source)
    solver = NativeSolver(circuit)
    if route == "matrix":
        sol = solver.solve_batch(x)
        return Solution.from_currents(circuit, sol.currents, solver=info)
    sol = solver.solve(x)
    return Solution.from_currents(circuit, sol.currents, node_voltages=sol.node_voltages if node_voltages else None,
                                  solver=info)
