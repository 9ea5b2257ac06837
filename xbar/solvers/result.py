"""What every solver returns, and the input check they share."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..circuit import Circuit


@dataclass(frozen=True)
class Solution:
    """Solver outputs for a batch.

    ``currents`` [batch, cols] in ampere flow from each column into its sense
    element; ``voltages`` [batch, cols] in volt are the sense outputs: the
    reference-resistor node voltage, or the ideal TIA's output -I * R_feedback.
    ``node_voltages`` [batch, n_nodes] when the solver computed them.
    ``solver`` says what solved it, JSON-ready: the backend, and for the SPICE
    backends the ngspice version and whether KLU was compiled in and used.
    """

    currents: np.ndarray
    voltages: np.ndarray
    node_voltages: np.ndarray | None = None
    solver: dict = field(default_factory=dict)

    @classmethod
    def from_currents(cls, circuit: Circuit, currents: np.ndarray, node_voltages=None,
                      solver: dict | None = None) -> "Solution":
        xbar = circuit.crossbar
        gain = -xbar.tia_feedback_ohm if xbar.sense == "tia" else xbar.ref_ohm
        return cls(currents=currents, voltages=currents * gain, node_voltages=node_voltages,
                   solver=dict(solver or {}))
