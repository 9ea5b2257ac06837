"""What every solver returns, and the input check they share."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..circuit import Circuit
from ..errors import SolverError


@dataclass(frozen=True)
class Solution:
    """Solver outputs for a batch.

    ``currents`` [batch, cols] in ampere flow from each column into its sense
    element; ``voltages`` [batch, cols] in volt are the sense outputs: the
    reference-resistor node voltage, or the ideal TIA's output -I * R_feedback.
    ``node_voltages`` [batch, n_nodes] when the solver computed them.
    """

    currents: np.ndarray
    voltages: np.ndarray
    node_voltages: np.ndarray | None = None

    def __post_init__(self):
        # Every backend returns through here: a non-finite or complex answer is an error, never a result.
        for name in ("currents", "voltages", "node_voltages"):
            value = getattr(self, name)
            if value is None and name == "node_voltages":
                continue
            a = np.asarray(value)
            if a.dtype.kind not in "iuf":
                raise SolverError(f"solver returned {name} of type {a.dtype}, not real numbers")
            if not np.isfinite(a).all():
                where = [int(i) for i in np.argwhere(~np.isfinite(a))[0]]
                raise SolverError(f"solver returned a non-finite {name[:-1].replace('_', ' ')} "
                                  f"({a[tuple(where)].item()!r} at {where}); the inputs or parameters are "
                                  "outside what double precision resolves")

    @classmethod
    def from_currents(cls, circuit: Circuit, currents: np.ndarray, node_voltages=None) -> "Solution":
        xbar = circuit.crossbar
        gain = -xbar.tia_feedback_ohm if xbar.sense == "tia" else xbar.ref_ohm
        return cls(currents=currents, voltages=currents * gain, node_voltages=node_voltages)
