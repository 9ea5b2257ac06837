"""The ideal vector-matrix product I = V G: no wires, no channel, an ideal sense."""

from __future__ import annotations

from ..circuit import Circuit, as_circuit, check_inputs
from ..crossbar import Crossbar
from .result import Solution


class IdealSolver:
    """Column currents ``inputs @ G`` with G [rows, cols] the devices' summed cell conductances.

    The sense element is ignored for the currents (a perfect virtual ground);
    output voltages follow the crossbar's sense gain as for the other solvers.
    """

    def __init__(self, circuit: Circuit | Crossbar):
        self.circuit = circuit = as_circuit(circuit)
        self.conductance = (1.0 / circuit.cell_ohm).sum(axis=2)

    def solve(self, inputs) -> Solution:
        x = check_inputs(inputs, self.circuit.shape[0])
        return Solution.from_currents(self.circuit, x @ self.conductance)
