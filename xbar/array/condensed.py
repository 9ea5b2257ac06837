"""Each compound device as its exact two-terminal DC equivalent: smaller netlists for SPICE checks of networks.

A linear compound device (n cells on a write channel of n + 1 segments) is, at DC, exactly one
conductance between its top and read terminals (its channel nodes eliminated,
:func:`xbar.device.compound.device_transfer`). Written that way a 128x128 tile of 3-cell devices has
33,281 equations instead of 82,433, and ngspice solves 100 input vectors in 14.6 s instead of 25.9 s.
The price: ngspice no longer checks the channel condensation itself (the full netlists, and the tests
on single arrays, do), so it is an opt-in (``NgspiceSolver(devices="condensed")``,
``xbar infer --spice-devices condensed``).
"""

from __future__ import annotations

import numpy as np

from xbar.array.circuit import Circuit
from xbar.array.spice_text import format_number
from xbar.device.compound import device_transfer
from xbar.util.errors import ParameterError

#: How a SPICE netlist writes the compound devices: as subcircuits (every cell and channel segment) or condensed.
DEVICE_FORMS = ("full", "condensed")


def check_condensable(circuit: Circuit, capacitors: bool = False) -> None:
    """Refuse what has no exact two-terminal DC equivalent: non-linear junctions, access transistors, capacitances."""
    if circuit.junctions_nonlinear or circuit.access is not None or capacitors:
        raise ParameterError("condensed devices are exact only for linear DC reads: not with non-linear junctions, "
                             "access transistors or capacitances; write the devices in full")


def condensed_lines(circuit: Circuit, top: list[str], read: list[str]) -> list[str]:
    """``R<i>_<j> top read ohm`` per device that conducts (node names ``top`` and ``read`` [devices]), with a comment."""
    g, _ = device_transfer(circuit.cell_ohm, circuit.channel_segment_ohm)
    g = g.ravel()
    rows, cols = circuit.shape
    i, j = np.divmod(np.arange(rows * cols), cols)
    lines = ["* devices R<i>_<j>: each compound device as its exact DC equivalent between row and column wire "
             "(channel nodes eliminated)"]
    lines += [f"R{a}_{b} {t} {r} {format_number(1.0 / x)}"
              for a, b, t, r, x in zip(i.tolist(), j.tolist(), top, read, g.tolist()) if x > 0]
    dead = int((g <= 0).sum())
    return lines + ([f"* {dead} device(s) with every cell open: no element, no current"] if dead else [])
