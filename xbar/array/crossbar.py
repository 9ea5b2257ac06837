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
  channel, and along the channel to the channel's read terminal on the column wire;
  with an ``access`` transistor (:mod:`xbar.device.access`) the read terminal reaches
  the column wire through that transistor, its gate on the row's word line
  (``access_model``: a designer's SPICE card for it, netlists and ngspice only);
* ``temperature_c`` (None: the devices' own 27 C values and no temperature model)
  moves the wires, R_P and TMR (:mod:`xbar.device.temperature`) and the transistor.

Zero wire, driver or access resistance means an ideal connection.

Every cell's read resistance is one explicit array [rows, cols, cells] in ohm,
:attr:`Crossbar.cell_resistance_ohm`: either given directly (measured or
externally generated per-device values) or produced from device states by
:func:`cell_resistances` (the device's nominal values, then variation). It is
the only way cell resistances reach the circuit. An infinite resistance is an
open cell: the circuit has no element there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from xbar.array.capacitance import Capacitance
from xbar.device.access import AccessTransistor
from xbar.device.access_card import SpiceAccessModel
from xbar.device.compound import CompoundMTJ
from xbar.device.temperature import check_temperature, device_at
from xbar.device.variation import Variation
from xbar.util.errors import ParameterError
from xbar.device.faults import Faults
from xbar.util.resources import check_memory, estimate_bytes
from xbar.util.ranges import check
from xbar.util.validate import choice, real, real_array

SENSE_MODES = ("tia", "resistor")


def cell_resistances(device: CompoundMTJ, p_flags: np.ndarray, variation: Variation | None = None,
                     faults: Faults | None = None) -> np.ndarray:
    """Read resistance in ohm of every cell, [rows, cols, cells], from per-cell P flags [rows, cols, cells].

    Each cell's R_P and R_AP come from ``variation`` (nominal when None) and the
    device's measured per-state spread, if any; the cell reads R_P where its
    flag is set, else R_AP, unless ``faults`` override it (stuck, open = inf, short).
    """
    variation = variation or Variation()
    r_p, r_ap = variation.sample(device.cell_r_p(), device.cell_r_ap(), p_flags.shape)
    if device.state_sigma is not None:
        # Measured per-state spread: one factor per device, by the state written to it.
        sigma = np.asarray(device.state_sigma)[p_flags.sum(axis=-1)]
        factor = np.exp(np.random.default_rng([variation.seed, 3]).normal(0.0, 1.0, sigma.shape) * sigma)
        r_p, r_ap = r_p * factor[..., None], r_ap * factor[..., None]
    return (faults or Faults()).apply(p_flags, r_p, r_ap)


def check_cell_ohm(cell_ohm, n_cells: int) -> np.ndarray:
    """``cell_ohm`` as a float array [rows, cols, n_cells], or a ParameterError.

    Each value must be > 0 ohm and not NaN; +inf marks an open cell.
    """
    try:
        r = real_array("cell resistances", cell_ohm, finite=False).copy()
    except ParameterError:
        raise ParameterError("cell resistances must be a numeric array [rows, cols, cells] in ohm "
                             "(real numbers; complex, bool and text refused)") from None
    if r.ndim != 3 or r.shape[2] != n_cells or r.shape[0] < 1 or r.shape[1] < 1:
        raise ParameterError(f"cell resistances must have shape [rows, cols, {n_cells}] (rows, cols >= 1), "
                             f"got {list(r.shape)}")
    bad = np.isnan(r) | (r <= 0) | np.isneginf(r)
    if bad.any():
        i, j, k = np.argwhere(bad)[0]
        raise ParameterError(f"cell {k} of device ({i}, {j}) has resistance {r[i, j, k].item()!r} ohm; "
                             "cell resistances must be > 0 ohm (inf: an open cell)")
    return r


def _check_size(array, n_cells: int) -> None:
    """Refuse, before anything is allocated, a crossbar too large for the memory (see :mod:`xbar.util.resources`)."""
    shape = np.shape(array) if array is not None else ()
    if len(shape) in (2, 3) and min(shape[:2]) >= 1:
        check_memory(f"a {shape[0]}x{shape[1]} crossbar of {n_cells}-cell devices",
                     estimate_bytes(shape[0], shape[1], n_cells))


def nonnegative_ohm(name: str, value: float) -> float:
    """``value`` as a float, or a ParameterError unless it is a finite resistance >= 0."""
    try:
        return real(name, value, low=0.0)
    except ParameterError:
        raise ParameterError(f"{name} must be a finite resistance >= 0 ohm, got {value!r}") from None


@dataclass(frozen=True)
class Crossbar:
    """Rows x cols compound MTJs with per-cell resistances and circuit parameters.

    ``states`` is either device states, ints 0..n_cells of shape [rows, cols]
    (state k: k cells parallel, see :meth:`CompoundMTJ.cell_states`), or per-cell
    parallel flags, bools of shape [rows, cols, n_cells]; from them and
    ``variation`` and ``faults`` the cells' resistances follow
    (:func:`cell_resistances`). Alternatively give ``cell_resistance_ohm``
    [rows, cols, n_cells] directly (``states`` then optional, kept as a label;
    ``variation`` and ``faults`` must be left at none). ``device`` still sets the cell count and the write channel.
    Resistances in ohm.
    """

    device: CompoundMTJ
    states: np.ndarray | None = None
    row_wire_ohm: float = 0.0
    col_wire_ohm: float = 0.0
    driver_ohm: float = 0.0
    access_ohm: float = 0.0
    sense: str = "tia"
    ref_ohm: float = 1e6               # resistor sensing: the paper measured through 1 Mohm
    tia_feedback_ohm: float = 1e3      # TIA feedback: the output voltage and its I^2 R_f energy (assumed)
    variation: Variation = field(default_factory=Variation)
    cell_resistance_ohm: np.ndarray | None = None
    faults: Faults = field(default_factory=Faults)
    capacitance: Capacitance = field(default_factory=Capacitance)
    access: AccessTransistor | None = None
    temperature_c: float | None = None
    access_model: SpiceAccessModel | None = None

    def __post_init__(self):
        if not isinstance(self.device, CompoundMTJ):
            raise ParameterError(f"device must be a CompoundMTJ, got {type(self.device).__name__}")
        if not isinstance(self.variation, Variation):
            raise ParameterError(f"variation must be a Variation, got {type(self.variation).__name__}")
        if not isinstance(self.faults, Faults):
            raise ParameterError(f"faults must be a Faults, got {type(self.faults).__name__}")
        if self.access is not None and not isinstance(self.access, AccessTransistor):
            raise ParameterError(f"access must be an AccessTransistor or None, got {type(self.access).__name__}")
        if self.access_model is not None:
            if not isinstance(self.access_model, SpiceAccessModel):
                raise ParameterError("access_model must be a SpiceAccessModel (xbar.device.access_card)")
            if self.access is None:  # the designer's card takes the built-in model's geometry
                object.__setattr__(self, "access", AccessTransistor())
        if self.temperature_c is not None:
            object.__setattr__(self, "temperature_c", check_temperature(self.temperature_c))
        n = self.device.n_cells
        _check_size(self.states if self.cell_resistance_ohm is None else self.cell_resistance_ohm, n)
        cells = None if self.states is None else self._cell_flags(self.states, n)
        if self.cell_resistance_ohm is None:
            if cells is None:
                raise ParameterError("a crossbar needs device states or explicit cell resistances")
            r = cell_resistances(self.operating_device(), cells, self.variation, self.faults)
        else:
            if not (self.variation.is_zero and self.faults.is_zero):
                raise ParameterError("give variation and faults either inside the explicit cell resistances "
                                     "or as variation=/faults=, not both")
            r = check_cell_ohm(self.cell_resistance_ohm, n)
            if cells is not None and cells.shape != r.shape:
                raise ParameterError(f"states of shape {list(cells.shape[:2])} do not match cell resistances "
                                     f"of shape {list(r.shape[:2])}")
        r.flags.writeable = False
        object.__setattr__(self, "cell_resistance_ohm", r)
        object.__setattr__(self, "states", cells)
        for name in ("row_wire_ohm", "col_wire_ohm", "driver_ohm", "access_ohm", "ref_ohm", "tia_feedback_ohm"):
            object.__setattr__(self, name, check(name, getattr(self, name)))
        if not isinstance(self.capacitance, Capacitance):
            raise ParameterError(f"capacitance must be a Capacitance, got {type(self.capacitance).__name__}")
        choice("sense mode", self.sense, SENSE_MODES)

    def _cell_flags(self, states, n: int) -> np.ndarray:
        """Per-cell P flags [rows, cols, n] (read-only) from device states or flags."""
        states = np.asarray(states) if not isinstance(states, (str, bytes)) else np.asarray(None)
        if states.dtype.kind not in "biuf":
            raise ParameterError(f"device states must be integers 0..{n} (or per-cell bools), got "
                                 f"{states.dtype} values")
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
        return cells

    def operating_device(self) -> CompoundMTJ:
        """The device at :attr:`temperature_c` (:func:`xbar.device.temperature.device_at`); ``device`` when None.

        Explicit ``cell_resistance_ohm`` are taken as given, at the array's temperature."""
        return self.device if self.temperature_c is None else device_at(self.device, self.temperature_c)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols)."""
        return self.cell_resistance_ohm.shape[0], self.cell_resistance_ohm.shape[1]

    @property
    def n_cells(self) -> int:
        """MTJ cells per compound device."""
        return self.device.n_cells

    def cell_ohm(self) -> np.ndarray:
        """Each MTJ cell's read resistance in ohm, [rows, cols, n_cells] (read-only; inf: open)."""
        return self.cell_resistance_ohm

    def cell_rp_ohm(self) -> np.ndarray | None:
        """Each MTJ cell's parallel resistance R_P in ohm, [rows, cols, n_cells]; None for a linear device.

        The bias-independent part of a cell's I-V (:func:`xbar.device.junction.junction_current`):
        a P cell's own resistance; for an AP cell its zero-bias resistance times that
        cell's R_P/R_AP ratio as ``variation`` drew it (the device's nominal ratio for
        explicit cell resistances). A non-linear device needs ``states`` to tell P
        from AP cells. Open cells: inf.
        """
        if self.device.mtj.linear:
            return None
        if self.states is None:
            raise ParameterError("a non-linear junction (finite V_h) needs device states with explicit "
                                 "cell resistances, to tell parallel from antiparallel cells")
        r0 = self.cell_resistance_ohm
        device = self.operating_device()
        r_p, r_ap = self.variation.sample(device.cell_r_p(), device.cell_r_ap(), r0.shape)
        with np.errstate(invalid="ignore"):
            ap_rp = np.minimum(r0 * (r_p / r_ap), r0)  # TMR >= 0
        return np.where(self.states | ~np.isfinite(r0), r0, ap_rp)

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
