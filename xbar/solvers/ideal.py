"""The ideal vector-matrix product I = V G: no wires, no channel, an ideal sense."""

from __future__ import annotations

import numpy as np

from xbar.array.circuit import Circuit, as_circuit, check_inputs
from xbar.array.crossbar import Crossbar
from xbar.solvers.result import Solution


def summed_conductance(cell_ohm: np.ndarray) -> np.ndarray:
    """G [rows, cols] in siemens: each device's cell conductances ``1 / cell_ohm`` [rows, cols, cells] summed."""
    return (1.0 / cell_ohm).sum(axis=2)


class IdealSolver:
    """Column currents ``inputs @ G`` with G [rows, cols] the devices' summed cell conductances.

    The sense element is ignored for the currents (a perfect virtual ground);
    output voltages follow the crossbar's sense gain as for the other solvers.
    """

    def __init__(self, circuit: Circuit | Crossbar):
        self.circuit = circuit = as_circuit(circuit)
        self.conductance = summed_conductance(circuit.cell_ohm)

    def solve(self, inputs) -> Solution:
        """Column currents I = V G for inputs [batch, rows] volt, no parasitics."""
        x = check_inputs(inputs, self.circuit.shape[0])
        return Solution.from_currents(self.circuit, x @ self.conductance)
