"""What the operating temperature does to the array: wires, junction resistances and switching.

The library's device values (the paper's) are room-temperature values, taken at SPICE's
nominal temperature T_nom = 27 C, where every factor here is exactly 1. Models and sources:

* **Wires**: R(T) = R(27 C) (1 + alpha (T - 27 C)), alpha = :data:`WIRE_TCR_PER_K` = 3.9e-3 /K,
  bulk copper (CRC Handbook of Chemistry and Physics); the paper does not name its wire
  metal. It is SPICE's first-order resistor coefficient ``tc1``, so netlists carry it as
  ``tc1=`` on each wire segment and ngspice applies it at ``.temp``.
* **TMR**: the spin-wave (magnon) form of the junction polarization, TMR(T) =
  TMR_0 (1 - a T^1.5) (C. H. Shang et al., Phys. Rev. B 58, R2917 (1998); for CoFeB/MgO
  V. Drewello et al., Phys. Rev. B 77, 014440 (2008)), normalized to the library's TMR at
  27 C; a = :data:`TMR_SPINWAVE_PER_K15` = 2e-5 K^-1.5 is **assumed** (TMR falls 6 % from
  27 to 125 C and rises 4 % at -40 C, within the 5-15 % per 100 K that CoFeB/MgO junctions show).
* **R_P**: nearly temperature-independent; R_P(T) = R_P (1 + beta (T - 27 C)),
  beta = :data:`RP_TCR_PER_K` = -1e-4 /K **assumed** (the weak rise of the spin-independent
  conductance with T, Shang 1998). R_AP(T) = R_P(T) (1 + TMR(T)).
* **Switching**: the free layer's magnetization follows Bloch's law,
  M_s(T) = M_s(0) (1 - (T/T_C)^1.5), T_C = :data:`CURIE_K` = 1000 K **assumed** (thin CoFeB;
  bulk ~1100 K). The energy barrier of an in-plane (shape-anisotropy) free layer and the
  critical current of the paper's eq. 1 (I_c ~ M_s (H + M_s t - K_s), dominated by M_s^2 t)
  both scale as M_s^2, so I_c0(T) = I_c0 m(T)^2 and Delta(T) = E_b(T) / k_B T =
  Delta (T_nom / T) m(T)^2, with m(T) = M_s(T) / M_s(27 C).

Not modelled: the write channel's, driver's and sense resistor's temperature coefficients
(their resistances stay at their 27 C values) and the junction's V_h.
"""

from __future__ import annotations

import numpy as np

from xbar.device.access import TNOM_C, kelvin
from xbar.device.compound import CompoundMTJ
from xbar.device.junction import MTJ
from xbar.util.ranges import PARAMS

#: Temperature coefficient of the wire resistance, 1/K (bulk Cu, CRC Handbook): SPICE ``tc1``.
WIRE_TCR_PER_K = 3.9e-3
#: Spin-wave coefficient a of TMR(T) = TMR0 (1 - a T^1.5), K^-1.5: assumed (form: Shang et al. 1998).
TMR_SPINWAVE_PER_K15 = 2e-5
#: Temperature coefficient of R_P, 1/K (assumed: R_P falls 1 % per 100 K).
RP_TCR_PER_K = -1e-4
#: Curie temperature of the free layer, K (assumed, thin CoFeB).
CURIE_K = 1000.0
#: The study range of the ``temperature`` studies, C: assumed, automotive grade 1 (-40..125 C).
STUDY_RANGE_C = (-40.0, 125.0)


def check_temperature(temp_c) -> float:
    """``temp_c`` as a float in C within the range table's ``temperature_c`` row, else a ParameterError."""
    return PARAMS["temperature_c"].check(temp_c)


def wire_factor(temp_c: float) -> float:
    """R_wire(T) / R_wire(27 C), the SPICE tc1 law with :data:`WIRE_TCR_PER_K`."""
    return 1.0 + WIRE_TCR_PER_K * (kelvin(temp_c) - kelvin(TNOM_C))


def tmr_factor(temp_c: float) -> float:
    """TMR(T) / TMR(27 C) of the spin-wave form."""
    return (1.0 - TMR_SPINWAVE_PER_K15 * kelvin(temp_c) ** 1.5) / (1.0 - TMR_SPINWAVE_PER_K15 * kelvin(TNOM_C) ** 1.5)


def rp_factor(temp_c: float) -> float:
    """R_P(T) / R_P(27 C)."""
    return 1.0 + RP_TCR_PER_K * (temp_c - TNOM_C)


def magnetization_ratio(temp_c: float) -> float:
    """M_s(T) / M_s(27 C) by Bloch's law with :data:`CURIE_K`."""
    return (1.0 - (kelvin(temp_c) / CURIE_K) ** 1.5) / (1.0 - (kelvin(TNOM_C) / CURIE_K) ** 1.5)


def critical_current_factor(temp_c: float) -> float:
    """I_c0(T) / I_c0(27 C) = m(T)^2."""
    return magnetization_ratio(temp_c) ** 2


def stability_factor(temp_c: float) -> float:
    """Delta(T) / Delta(27 C) = (T_nom / T) m(T)^2."""
    return kelvin(TNOM_C) / kelvin(temp_c) * magnetization_ratio(temp_c) ** 2


def mtj_at(mtj: MTJ, temp_c: float) -> MTJ:
    """``mtj`` (given at 27 C) at ``temp_c``: R_P scaled by :func:`rp_factor`, TMR by :func:`tmr_factor`."""
    if temp_c == TNOM_C:
        return mtj
    r_p = mtj.r_p * rp_factor(temp_c)
    return MTJ(r_p=r_p, r_ap=r_p * (1.0 + mtj.tmr * tmr_factor(temp_c)), v_half_volt=mtj.v_half_volt)


def device_at(device: CompoundMTJ, temp_c: float) -> CompoundMTJ:
    """``device`` (given at 27 C) at ``temp_c``: every cell's R_P and TMR moved; channel unchanged.

    A measured-state device scales each state like its cells (same R_P and TMR laws)."""
    temp_c = check_temperature(temp_c)
    if temp_c == TNOM_C:
        return device
    cells = None if device.cells is None else tuple(mtj_at(c, temp_c) for c in device.cells)
    return CompoundMTJ(mtj_at(device.mtj, temp_c), device.n_cells, device.channel_ohm, cells, device.state_sigma)


def temperature_table() -> list[tuple[str, float, str, str]]:
    """(name, value, unit, source) of every temperature parameter, for docs and reports."""
    return [("wire TCR", WIRE_TCR_PER_K, "1/K", "bulk Cu, CRC Handbook"),
            ("TMR spin-wave a", TMR_SPINWAVE_PER_K15, "K^-1.5", "assumed; form Shang et al. PRB 58 R2917 (1998)"),
            ("R_P coefficient", RP_TCR_PER_K, "1/K", "assumed"),
            ("Curie temperature", CURIE_K, "K", "assumed (thin CoFeB)")]


def study_temperatures(points: int = 5) -> np.ndarray:
    """``points`` temperatures in C spanning :data:`STUDY_RANGE_C`, 27 C included when it falls between."""
    grid = np.linspace(*STUDY_RANGE_C, points)
    return np.unique(np.concatenate([grid, [TNOM_C]])) if points > 2 else grid
