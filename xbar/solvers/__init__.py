"""Solvers of a crossbar circuit behind one interface.

Every backend takes the one :class:`~xbar.array.circuit.Circuit` and returns a
:class:`Solution` for a batch of row voltages [batch, rows]:

* ``native``: exact sparse nodal analysis (scipy), factorized once; a circuit of
  non-linear junctions (finite V_h) gets the Newton solver built on it, one with
  access transistors its stack variant (:mod:`.stack_newton`);
* ``ngspice``: the real ngspice on the generated netlist;
* ``pyspice``: the same netlist in libngspice, in this process (PySpice);
* ``ideal``: I = V G with no parasitics.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from xbar.array.circuit import Circuit, build_circuit
from xbar.array.crossbar import Crossbar
from xbar.util.errors import ParameterError
from xbar.util.resources import check_memory, estimate_bytes
from xbar.solvers.dispatch import is_nonlinear, solve_native
from xbar.solvers.ideal import IdealSolver
from xbar.solvers.native import NativeSolver
from xbar.solvers.newton import NewtonSolver
from xbar.solvers.ngspice import NgspiceSolver
from xbar.solvers.pyspice import PySpiceSolver
from xbar.solvers.result import Solution
from xbar.solvers.stack_newton import StackNewtonSolver

#: Predicted peak below which :func:`solve` does not read the free memory first (64 MiB).
SMALL_BYTES = 64 * 2**20

BACKENDS = {"native": NativeSolver, "ngspice": NgspiceSolver, "pyspice": PySpiceSolver, "ideal": IdealSolver}


def make_solver(circuit: Circuit | Crossbar, backend: str = "native", **options):
    """A solver object for ``circuit`` (a Crossbar is built into its circuit first)."""
    if backend not in BACKENDS:
        raise ParameterError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if isinstance(circuit, Crossbar):
        circuit = build_circuit(circuit)
    if backend == "native" and circuit.access_model is not None:
        raise ParameterError(f"the native solvers cover only the built-in access transistor model; solve a "
                             f"designer's model ({circuit.access_model.name}) with the ngspice backend")
    if backend == "native" and circuit.access is not None:
        return StackNewtonSolver(circuit, **options)
    if backend == "native" and circuit.nonlinear:
        return NewtonSolver(circuit, **options)
    return BACKENDS[backend](circuit, **options)


def solve(circuit: Circuit | Crossbar, inputs, backend: str = "native", node_voltages: bool = False,
          **options) -> Solution:
    """Solve ``circuit`` for row voltages ``inputs`` [batch, rows] with ``backend``.

    The native backend takes the fastest exact route for the batch (:mod:`.dispatch`:
    line-current CG for a few vectors, the effective matrix for many, the
    factorized nodal solve when ``node_voltages`` [batch, n_nodes] are asked
    for); ``solution.solver["route"]`` names it. Node voltages come back only
    when asked, and only the native backend computes them.
    A batch too large for the memory is refused before anything is built (:mod:`xbar.util.resources`).
    """
    xbar = circuit if isinstance(circuit, Crossbar) else getattr(circuit, "crossbar", None)
    shape = np.shape(inputs) if isinstance(inputs, np.ndarray) else ()
    if isinstance(xbar, Crossbar) and len(shape) == 2:
        rows, cols = xbar.shape
        need = estimate_bytes(rows, cols, xbar.n_cells, shape[0], backend)
        if need > SMALL_BYTES:  # reading the free memory costs more than a small read's solve
            check_memory(f"solving {shape[0]} input vector(s) on a {rows}x{cols} crossbar with {backend}", need)
    if node_voltages and backend != "native":
        raise ParameterError(f"node voltages come from the native backend only, not {backend!r}")
    if backend == "native" and not options and isinstance(circuit, (Circuit, Crossbar)):
        if not (is_nonlinear(circuit) if isinstance(circuit, Crossbar) else circuit.nonlinear):
            return solve_native(circuit, inputs, node_voltages)
    sol = make_solver(circuit, backend, **options).solve(inputs)
    sol.solver.setdefault("backend", backend)
    if backend == "native":
        sol.solver.setdefault("route", "newton" if "newton_iterations_max" in sol.solver else "nodal")
    if sol.node_voltages is not None and not node_voltages:
        sol = replace(sol, node_voltages=None)
    return sol


__all__ = ["BACKENDS", "IdealSolver", "NativeSolver", "NewtonSolver", "NgspiceSolver", "PySpiceSolver", "Solution",
           "StackNewtonSolver", "make_solver", "solve"]
