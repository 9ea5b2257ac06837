"""A crossbar of compound SOT-MTJs with its wires, drivers and sensing.

Layout (rows index i, columns index j):

* row ``i`` is driven by a voltage source through ``driver_ohm``; its wire has one
  segment of ``row_wire_ohm`` from the driver to cell (i, 0) and one between each
  pair of neighbouring cells;
* column ``j`` has one segment of ``col_wire_ohm`` between neighbouring cells and
  one from cell (rows-1, j) to its sense node;
* sensing is a virtual ground (``"tia"``: an ideal transimpedance amplifier holding
  the sense node at 0 V) or a reference resistor ``ref_ohm`` to ground
  (``"resistor"``; the paper measured through 1 Mohm);
* each device reads from the row wire into its top electrode (through
  ``access_ohm``), through each MTJ cell into that cell's own node on the write
  channel, and along the channel to the channel's read terminal on the column wire.

Zero wire, driver or access resistance means an ideal connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .devices import CompoundMTJ, Variation
from .errors import ParameterError

SENSE_MODES = ("tia", "resistor")


def nonnegative_ohm(name: str, value: float) -> float:
    """``value`` as a float, or a ParameterError unless it is a finite resistance >= 0."""
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ParameterError(f"{name} must be a finite resistance >= 0 ohm, got {value!r}")
    return value


@dataclass(frozen=True)
class Crossbar:
    """Rows x cols compound MTJs with per-cell states and circuit parameters.

    ``states`` is either device states, ints 0..n_cells of shape [rows, cols]
    (state k: k cells parallel, see :meth:`CompoundMTJ.cell_states`), or per-cell
    parallel flags, bools of shape [rows, cols, n_cells]. Resistances in ohm.
    """

    device: CompoundMTJ
    states: np.ndarray
    row_wire_ohm: float = 0.0
    col_wire_ohm: float = 0.0
    driver_ohm: float = 0.0
    access_ohm: float = 0.0
    sense: str = "tia"
    ref_ohm: float = 1e6
    tia_feedback_ohm: float = 1e3
    variation: Variation = field(default_factory=Variation)

    def __post_init__(self):
        if not isinstance(self.device, CompoundMTJ):
            raise ParameterError(f"device must be a CompoundMTJ, got {type(self.device).__name__}")
        states = np.asarray(self.states)
        n = self.device.n_cells
        if states.dtype == bool:
            if states.ndim != 3 or states.shape[2] != n:
                raise ParameterError(
                    f"per-cell states must have shape [rows, cols, {n}], got {list(states.shape)}")
            cells = states.copy()
        else:
            if states.ndim != 2:
                raise ParameterError(
                    f"device states must have shape [rows, cols] (or bool [rows, cols, {n}]), got {list(states.shape)}")
            cells = self.device.cell_states(states)
        if cells.shape[0] < 1 or cells.shape[1] < 1:
            raise ParameterError(f"a crossbar needs at least 1 row and 1 column, got {list(cells.shape[:2])}")
        cells.flags.writeable = False
        object.__setattr__(self, "states", cells)
        for name in ("row_wire_ohm", "col_wire_ohm", "driver_ohm", "access_ohm"):
            object.__setattr__(self, name, nonnegative_ohm(name, getattr(self, name)))
        if self.sense not in SENSE_MODES:
            raise ParameterError(f"unknown sense mode {self.sense!r}; choose one of {', '.join(SENSE_MODES)}")
        for name in ("ref_ohm", "tia_feedback_ohm"):
            value = float(getattr(self, name))
            if not np.isfinite(value) or value <= 0:
                raise ParameterError(f"{name} must be a finite resistance > 0 ohm, got {value!r}")
            object.__setattr__(self, name, value)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols)."""
        return self.states.shape[0], self.states.shape[1]

    @property
    def n_cells(self) -> int:
        return self.device.n_cells

    def cell_ohm(self) -> np.ndarray:
        """Each MTJ cell's read resistance in ohm, shape [rows, cols, n_cells], variation included."""
        r_p, r_ap = self.variation.sample(self.device.mtj, self.states.shape)
        return np.where(self.states, r_p, r_ap)

    def cell_rp_ohm(self) -> np.ndarray:
        """Each MTJ cell's parallel resistance R_P in ohm, [rows, cols, n_cells], variation included.

        The bias-independent part of a cell's I-V (see :func:`xbar.devices.junction_current`);
        for cells in P it equals :meth:`cell_ohm`.
        """
        r_p, _ = self.variation.sample(self.device.mtj, self.states.shape)
        return np.broadcast_to(r_p, self.states.shape).copy()

    def channel_segment_ohm(self) -> float:
        """Resistance in ohm of one write-channel segment in the read path.

        The n cells sit evenly along the channel, one pitch apart and one pitch
        from each end, so the channel is n+1 equal segments; a read uses the
        segments between each cell and the read terminal (the far segment carries
        no current while the write terminals float).
        """
        return self.device.channel_ohm / (self.n_cells + 1)

    @property
    def has_parasitics(self) -> bool:
        """True when any wire, driver, access or channel resistance is non-zero."""
        return any(v > 0 for v in (self.row_wire_ohm, self.col_wire_ohm, self.driver_ohm,
                                   self.access_ohm, self.device.channel_ohm))
