"""What every solver returns, and the input check they share."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from xbar.array.circuit import Circuit
from xbar.array.crossbar import Crossbar
from xbar.util.errors import SolverError


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
        if not isinstance(self.solver, dict) or not all(
                isinstance(k, str) and (v is None or isinstance(v, (str, int, float, bool)))
                for k, v in self.solver.items()):
            raise SolverError(f"solver description must be a dict of names to plain values, got {self.solver!r}")

    @classmethod
    def from_currents(cls, circuit: Circuit | Crossbar, currents: np.ndarray, node_voltages=None,
                      solver: dict | None = None) -> "Solution":
        """A solution from column currents [batch, cols] on ``circuit`` (or its crossbar); the sense voltages
        follow from the sense mode."""
        xbar = circuit if isinstance(circuit, Crossbar) else circuit.crossbar
        gain = -xbar.tia_feedback_ohm if xbar.sense == "tia" else xbar.ref_ohm
        return cls(currents=currents, voltages=currents * gain, node_voltages=node_voltages,
                   solver=dict(solver or {}))
