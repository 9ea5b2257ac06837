"""Capacitances of a crossbar read: wires, MTJ junctions and the sense node, farad.

Every default says where it comes from. The circuit description
(:func:`xbar.array.circuit.build_circuit`) turns these into capacitor groups, so the
netlist writer and the native transient solver read the same values.

* Wire capacitance per segment = capacitance per length x cell pitch. Per length:
  ~0.2 fF/um, the usual figure for minimum-pitch on-chip interconnect (Rabaey,
  Chandrakasan, Nikolic, *Digital Integrated Circuits*, 2nd ed., ch. 4; ITRS
  interconnect tables), an assumed typical value.
* Cell pitch from the paper's device geometry (Kumar et al. 2024, Fig. 2d-e and
  section A): MTJs 1.2 um apart on a 0.9 um wide Pt/Ta channel that is
  0.9 um long for 1 cell and 3.25 um for 3. Along a row the devices sit one
  channel length apart (the straight line through those two lengths:
  0.9 um + 1.175 um per added cell), along a column one channel width (0.9 um)
  apart: the device footprint edge to edge, no extra spacing assumed.
* MTJ junction: a parallel plate eps0 eps_r A / t with the paper's MgO barrier,
  1.8 nm (Methods, stack), on its 250 x 500 nm^2 ellipse (area pi/4 ab); eps_r of
  MgO 9.8 (bulk static dielectric constant, CRC Handbook of Chemistry and Physics).
  That gives ~4.7 fF per cell.
* Sense node: 10 fF to ground (assumed: a sense amplifier or ADC input with its
  local wiring; it loads only resistor sensing, a TIA holds its node).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from xbar.util.errors import ParameterError

#: Vacuum permittivity, F/m (CODATA 2018).
EPS0_F_PER_M = 8.8541878128e-12
#: Relative permittivity of MgO (bulk, static; CRC Handbook).
MGO_REL_PERMITTIVITY = 9.8
#: MgO tunnel-barrier thickness, m (paper, Methods: MgO (1.8) nm).
MGO_THICKNESS_M = 1.8e-9
#: MTJ ellipse axes, m (paper, Fig. 2d and Methods: 250 x 500 nm^2).
MTJ_AXES_M = (250e-9, 500e-9)
#: Write-channel width, m, and length for 1 and 3 cells (paper, section A: 0.9 x (0.9-3.25) um^2).
CHANNEL_WIDTH_M = 0.9e-6
CHANNEL_LENGTH_1_M = 0.9e-6
CHANNEL_LENGTH_3_M = 3.25e-6
#: Wire capacitance per length, F/m: 0.2 fF/um (typical on-chip interconnect; see module docstring).
WIRE_FARAD_PER_M = 0.2e-15 / 1e-6
#: Sense-node capacitance, F (assumed; see module docstring).
SENSE_FARAD = 10e-15


def junction_farad() -> float:
    """Parallel-plate capacitance of one MTJ cell, farad (~4.7 fF)."""
    a, b = MTJ_AXES_M
    return EPS0_F_PER_M * MGO_REL_PERMITTIVITY * (math.pi / 4 * a * b) / MGO_THICKNESS_M


def device_length_m(n_cells: int) -> float:
    """Write-channel length of an ``n_cells`` device, m: through the paper's 0.9 um (1 cell) and 3.25 um (3)."""
    return CHANNEL_LENGTH_1_M + (n_cells - 1) * (CHANNEL_LENGTH_3_M - CHANNEL_LENGTH_1_M) / 2


def _check(name: str, value, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, (str, bytes, bool, np.bool_)) or not isinstance(value, (numbers.Real, np.integer, np.floating)):
        raise ParameterError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise ParameterError(f"{name} must be finite and >= 0, got {value!r}")
    return v


@dataclass(frozen=True)
class Capacitance:
    """Capacitance parameters of an array, SI units; None picks the sourced default.

    ``row_pitch_m`` (device spacing along a row wire; default: the channel length
    of the array's device), ``col_pitch_m`` (along a column; default the channel
    width), ``wire_farad_per_m``, ``junction_farad`` (per MTJ cell; default the
    MgO parallel plate) and ``sense_farad``. Zero turns a kind off.
    """

    wire_farad_per_m: float = WIRE_FARAD_PER_M
    row_pitch_m: float | None = None
    col_pitch_m: float | None = CHANNEL_WIDTH_M
    junction_farad: float | None = None
    sense_farad: float = SENSE_FARAD

    def __post_init__(self):
        for name in ("wire_farad_per_m", "sense_farad"):
            object.__setattr__(self, name, _check(name, getattr(self, name)))
        for name in ("row_pitch_m", "col_pitch_m", "junction_farad"):
            object.__setattr__(self, name, _check(name, getattr(self, name), allow_none=True))

    def row_segment_farad(self, n_cells: int) -> float:
        """One row-wire segment, farad."""
        pitch = device_length_m(n_cells) if self.row_pitch_m is None else self.row_pitch_m
        return self.wire_farad_per_m * pitch

    def col_segment_farad(self) -> float:
        """One column-wire segment, farad."""
        pitch = CHANNEL_WIDTH_M if self.col_pitch_m is None else self.col_pitch_m
        return self.wire_farad_per_m * pitch

    def cell_farad(self) -> float:
        """One MTJ cell's junction, farad."""
        return junction_farad() if self.junction_farad is None else self.junction_farad

    def describe(self, n_cells: int) -> dict[str, float]:
        """The values in use, farad, for reports."""
        return {"row_segment_farad": self.row_segment_farad(n_cells), "col_segment_farad": self.col_segment_farad(),
                "cell_farad": self.cell_farad(), "sense_farad": self.sense_farad}
