"""One magnetic tunnel junction: R_P, R_AP, TMR and its bias-dependent I-V.

Physics from Kumar et al., Nanoscale Horiz. 2024, 9, 1522 ("the paper"). All
resistances are in ohm, conductances in siemens.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xbar.util.errors import ParameterError
from xbar.util.ranges import check, param
from xbar.util.validate import real


def _check_resistance(name: str, value: float, row: str = "r_p_ohm") -> float:
    """``value`` checked against the range table's row ``row`` (R_P by default), named ``name``."""
    return check(row, value, name)


#: Typical bias half-point V_h in volt of CoFeB/MgO junctions' TMR (TMR halves at |V| = V_h).
#: Measured values lie around 0.3-0.6 V; 0.5 V is the default of the open compact models of
#: the Beihang/Zhao family (Y. Zhang, W. Zhao et al., "Compact modeling of perpendicular-
#: anisotropy CoFeB/MgO magnetic tunnel junctions", IEEE Trans. Electron Devices 59, 819 (2012),
#: parameter V_h = 0.5 V). The paper (Kumar et al.) gives no bias dependence, so the library's
#: devices stay linear (V_h = infinity) unless a caller asks for this value.
TYPICAL_V_HALF_VOLT = 0.5


#: Smallest V_h in volt the tool accepts, an assumed validity bound: measured MgO junctions lie at 0.2-1 V; below 10 mV
#: the "junction" would lose its TMR at thermal-noise biases, which no real MTJ does.
MIN_V_HALF_VOLT = param("v_half_volt").low


def check_v_half(value) -> float:
    """``value`` as a float V_h in volt (>= :data:`MIN_V_HALF_VOLT`; infinity: linear), else ParameterError."""
    try:
        v = float("nan") if isinstance(value, (str, bytes, bool, np.bool_, complex, np.complexfloating)) \
            else float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if np.isnan(v) or v < MIN_V_HALF_VOLT:
        raise ParameterError(f"V_h must be a voltage >= {MIN_V_HALF_VOLT:g} V (inf for a linear junction; "
                             f"MgO junctions have 0.2-1 V), got {value!r}")
    return v


def junction_current(v_volt, r_p_ohm, r_zero_ohm, v_half_volt: float):
    """Current through an MTJ cell and its differential conductance at the voltage across it.

    The one I-V of the tool (the netlist writer prints the same expression):
    R(V) = R_P + (R_0 - R_P) / (1 + (V/V_h)^2), with R_0 the zero-bias resistance
    of the cell in its state. An antiparallel cell has R_0 = R_AP(0) = R_P (1 + TMR0),
    so R(V) = R_P (1 + TMR(V)) with TMR(V) = TMR0 / (1 + (V/V_h)^2); a parallel cell has
    R_0 = R_P and stays linear (R_P is bias-independent). Arrays broadcast; returns
    ``(i_ampere, di_dv_siemens)``; the derivative is exact (> 0: the I-V is monotonic).
    """
    v = np.asarray(v_volt, dtype=float)
    dr = np.asarray(r_zero_ohm, dtype=float) - r_p_ohm
    u = (v / v_half_volt) ** 2
    r = r_p_ohm + dr / (1.0 + u)
    return v / r, (r + dr * 2.0 * u / (1.0 + u) ** 2) / r ** 2


def junction_deviation(v_volt, r_p_ohm, r_zero_ohm, v_half_volt: float) -> np.ndarray:
    """The non-linear part of :func:`junction_current`: i(V) - V / R_0, in ampere.

    Written out, d = V u (R_0 - R_P) / (R_0 (R_0 + R_P u)) with u = (V/V_h)^2, so the
    few-per-cent departure from the zero-bias line is computed without the
    cancellation of subtracting two nearly equal currents. Arrays broadcast.
    """
    v = np.asarray(v_volt, dtype=float)
    u = v * v
    u *= 1.0 / v_half_volt ** 2
    num = (r_zero_ohm - r_p_ohm) / r_zero_ohm * u
    num *= v
    u *= r_p_ohm
    u += r_zero_ohm
    num /= u
    return num


@dataclass(frozen=True)
class MTJ:
    """One magnetic tunnel junction with its two zero-bias read resistances (ohm).

    ``v_half_volt`` is the bias at which the TMR halves (see :func:`junction_current`);
    infinity (the default, the paper's model) keeps the junction linear.
    """

    r_p: float
    r_ap: float
    v_half_volt: float = np.inf

    def __post_init__(self):
        object.__setattr__(self, "r_p", _check_resistance("R_P", self.r_p))
        object.__setattr__(self, "r_ap", _check_resistance("R_AP", self.r_ap, "r_ap_ohm"))
        if self.r_ap < self.r_p:
            raise ParameterError(f"R_AP ({self.r_ap!r} ohm) must not be below R_P ({self.r_p!r} ohm)")
        object.__setattr__(self, "v_half_volt", check_v_half(self.v_half_volt))

    @property
    def linear(self) -> bool:
        """True when the junction's resistances do not depend on bias (V_h infinite)."""
        return bool(np.isinf(self.v_half_volt))

    def tmr_at(self, v_volt):
        """TMR (fraction) at bias ``v_volt``: TMR0 / (1 + (V/V_h)^2)."""
        return self.tmr / (1.0 + (np.asarray(v_volt, dtype=float) / self.v_half_volt) ** 2)

    @property
    def tmr(self) -> float:
        """Tunnel magnetoresistance ratio (R_AP - R_P) / R_P, as a fraction (0.34 = 34 %)."""
        return (self.r_ap - self.r_p) / self.r_p

    @classmethod
    def from_tmr(cls, r_p: float, tmr: float, v_half_volt: float = np.inf) -> "MTJ":
        """MTJ with parallel resistance ``r_p`` ohm, zero-bias TMR ``tmr`` (fraction) and V_h."""
        tmr = real("TMR", tmr, unit="(fraction)")
        check("tmr_percent", 100.0 * tmr, "TMR (percent)")
        r_p = _check_resistance("R_P", r_p)
        return cls(r_p=r_p, r_ap=r_p * (1.0 + tmr), v_half_volt=v_half_volt)
