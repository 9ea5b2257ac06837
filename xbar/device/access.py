"""The read (access) transistor in series with each compound device: its one I-V.

In a 1T-1MTJ cell, and in the read path of the SOT 2T-1MTJ cell, an NMOS transistor
connects the device to its read line; its gate is the row's word line. Here it sits
between the write channel's read terminal (drain) and the column wire (source), the
bulk at ground, and every word line is driven to ``wordline_volt`` during a read.

The built-in model is a **model**, not a foundry device: the charge-based EKV form
(C. Enz, F. Krummenacher, E. Vittoz, Analog Integr. Circ. Sig. Process. 8, 83 (1995);
Enz & Vittoz, "Charge-based MOS transistor modeling", Wiley 2006), one smooth
expression valid from weak to strong inversion, symmetric in drain and source:

    I = I_S [F((V_P - V_S) / U_T) - F((V_P - V_D) / U_T)],   F(v) = ln^2(1 + e^(v/2)),
    I_S = 2 n beta U_T^2,  V_P = (V_G - V_th) / n,  beta = mu C_ox W / L,  U_T = k T / q,

voltages to the bulk (ground). In strong inversion it is the square law
I = beta (V_GS - V_th) V_DS - n beta V_DS^2 / 2 below saturation and n beta V_P^2 / 2 above.
Parameters: a generic 45 nm NMOS after the PTM 45 nm HP (high-k/metal gate) card
(Predictive Technology Model, ptm.asu.edu; W. Zhao and Y. Cao, IEEE Trans. Electron
Devices 53, 2816 (2006)): vth0 = 0.469 V, toxe = 1.25 nm, u0 = 0.054 m^2/Vs, kt1 = -0.11 V,
ute = -1.5, tnom = 27 C, V_DD = 1.0 V. Assumed: mu C_ox is u0 eps_ox / toxe reduced by the
card's first-order vertical-field degradation ua = 6e-10 m/V at V_GS = V_DD
(1 / (1 + ua (V_GS + V_th) / toxe) = 0.59); slope factor n = 1.3 (typical 1.2-1.5,
Enz & Vittoz); W/L = 90/45 nm; no velocity saturation, DIBL, series or junction leakage.
Temperature: U_T = k T / q, V_th(T) = V_th0 + kt1 (T/T_nom - 1), beta(T) = beta0 (T/T_nom)^ute
(the BSIM4 forms the PTM card uses). Process corners shift V_th and beta (assumed,
:data:`CORNERS`). The netlist writer prints the same expression as a ``.func``
(:mod:`xbar.array.access_netlist`); the native solvers call :meth:`AccessTransistor.current`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xbar.util.errors import ParameterError
from xbar.util.ranges import PARAMS
from xbar.util.validate import choice, real

#: Boltzmann constant over the elementary charge, V/K (CODATA 2018, exact SI values).
K_OVER_Q = 8.617333262e-05  # V/K, CODATA 2018 (exact SI values)
#: Kelvin of 0 C (exact SI).
ZERO_C_KELVIN = 273.15  # K, exact SI
#: SPICE's nominal temperature (TNOM), C (assumed: the paper's room temperature); model parameters hold here.
TNOM_C = 27.0  # C, assumed: SPICE's default TNOM, the paper's room temperature
#: Permittivity of SiO2 (3.9 eps_0), F/m (CODATA 2018 eps_0; CRC Handbook 3.9).
EPS_OX = 3.9 * 8.8541878128e-12  # F/m, CODATA 2018 eps_0 times SiO2's 3.9 (CRC Handbook)

#: NMOS vth0, V: PTM 45 nm HP NMOS card (Zhao and Cao, IEEE TED 53, 2816 (2006)).
PTM45_VTH0_V = 0.469
#: toxe, m: PTM 45 nm HP NMOS card (Zhao and Cao, IEEE TED 53, 2816 (2006)).
PTM45_TOXE_M = 1.25e-9
#: u0, m^2/Vs: PTM 45 nm HP NMOS card (Zhao and Cao, IEEE TED 53, 2816 (2006)).
PTM45_U0 = 0.054
#: ua, m/V: PTM 45 nm HP NMOS card (Zhao and Cao, IEEE TED 53, 2816 (2006)).
PTM45_UA = 6e-10
#: nominal V_DD, V: PTM 45 nm HP NMOS card (Zhao and Cao, IEEE TED 53, 2816 (2006)).
PTM45_VDD_V = 1.0
#: kt1, V: PTM 45 nm HP NMOS card (Zhao and Cao, IEEE TED 53, 2816 (2006)).
PTM45_KT1_V = -0.11
#: ute, 1: PTM 45 nm HP NMOS card (Zhao and Cao, IEEE TED 53, 2816 (2006)).
PTM45_UTE = -1.5

#: Effective mu C_ox in A/V^2: u0 eps_ox / toxe / (1 + ua (V_DD + vth0) / toxe) (about 8.8e-4); assumed
#: first-order mobility degradation of the PTM card's (Zhao and Cao, IEEE TED 2006) values.
MU_COX = PTM45_U0 * EPS_OX / PTM45_TOXE_M / (1.0 + PTM45_UA * (PTM45_VDD_V + PTM45_VTH0_V) / PTM45_TOXE_M)

#: Process corners: (threshold shift in V, factor on mu C_ox). Assumed: about +-3 sigma of
#: a 15 mV threshold spread and +-10 % mobility, the usual spread of SS/FF corner decks.
CORNERS = {"slow": (0.045, 0.9), "typical": (0.0, 1.0), "fast": (-0.045, 1.1)}


def kelvin(temp_c: float) -> float:
    """``temp_c`` (C) in kelvin."""
    return temp_c + ZERO_C_KELVIN


@dataclass(frozen=True)
class AccessTransistor:
    """The built-in access NMOS (EKV model; see the module docstring for the formula and sources).

    Units in the names: gate ``width_nm``/``length_nm``, ``vth_volt`` at T_nom (typical corner),
    ``mobility_cox_a_per_v2`` (mu C_ox), ``slope_n``, ``wordline_volt`` (the read's gate voltage),
    ``kt1_volt`` and ``ute`` (temperature), ``corner`` slow/typical/fast.
    """

    width_nm: float = 90.0
    length_nm: float = 45.0
    vth_volt: float = PTM45_VTH0_V
    mobility_cox_a_per_v2: float = MU_COX
    slope_n: float = 1.3
    wordline_volt: float = PTM45_VDD_V
    kt1_volt: float = PTM45_KT1_V
    ute: float = PTM45_UTE
    corner: str = "typical"

    def __post_init__(self):
        object.__setattr__(self, "width_nm", PARAMS["access_width_nm"].check(self.width_nm))
        object.__setattr__(self, "length_nm", real("length_nm", self.length_nm, low=1.0, high=1e6, unit="nm"))
        object.__setattr__(self, "vth_volt", real("vth_volt", self.vth_volt, low=-1.0, high=2.0, unit="V"))
        object.__setattr__(self, "mobility_cox_a_per_v2",
                           real("mobility_cox_a_per_v2", self.mobility_cox_a_per_v2, above=0.0, high=1.0,
                                unit="A/V^2"))
        object.__setattr__(self, "slope_n", real("slope_n", self.slope_n, low=1.0, high=3.0))
        object.__setattr__(self, "wordline_volt", PARAMS["access_wordline_volt"].check(self.wordline_volt))
        object.__setattr__(self, "kt1_volt", real("kt1_volt", self.kt1_volt, low=-1.0, high=1.0, unit="V"))
        object.__setattr__(self, "ute", real("ute", self.ute, low=-3.0, high=0.0))
        choice("access transistor corner", self.corner, tuple(CORNERS))

    def parameters(self, temp_c: float = TNOM_C) -> tuple[float, float, float]:
        """``(beta A/V^2, V_th V, U_T V)`` at ``temp_c`` (C) in this corner."""
        shift, factor = CORNERS[self.corner]
        ratio = kelvin(temp_c) / kelvin(TNOM_C)
        beta = self.mobility_cox_a_per_v2 * factor * self.width_nm / self.length_nm * ratio ** self.ute
        vth = self.vth_volt + shift + self.kt1_volt * (ratio - 1.0)
        return beta, vth, K_OVER_Q * kelvin(temp_c)

    def current(self, v_drain, v_source, temp_c: float = TNOM_C):
        """Drain current (A, drain to source) and its partial derivatives ``(i, di/dv_drain, di/dv_source)``.

        Voltages to the bulk (ground) in volt, arrays broadcast; the gate is at :attr:`wordline_volt`.
        """
        qs, dqs = self.inversion(v_source, temp_c)
        qd, dqd = self.inversion(v_drain, temp_c)
        return qs - qd, -dqd, dqs

    def inversion(self, v, temp_c: float = TNOM_C):
        """One terminal's share of the current, ``(I_S F((V_P - v)/U_T), its derivative in v)``.

        The current is ``inversion(v_source) - inversion(v_drain)``; a solver whose source
        voltage is fixed evaluates that side once.
        """
        beta, vth, ut = self.parameters(temp_c)
        n = self.slope_n
        vp = (self.wordline_volt - vth) / n
        i_s = 2.0 * n * beta * ut * ut
        x = (vp - np.asarray(v, dtype=float)) * (0.5 / ut)
        if np.max(x, initial=0.0) > 700.0:  # ln(1 + e^x) = x there; exp would overflow
            lx, sig = np.logaddexp(0.0, x), 1.0 / (1.0 + np.exp(-x))
        else:
            e = np.exp(x)
            lx = np.log1p(e)
            sig = e / (1.0 + e)
        return i_s * lx * lx, (-i_s / ut) * lx * sig

    def on_ohm(self, temp_c: float = TNOM_C) -> float:
        """Zero-bias channel resistance in ohm (drain = source = 0 V): the linear network's value."""
        _, g, _ = self.current(0.0, 0.0, temp_c)
        if not g > 0:
            raise ParameterError("the access transistor does not conduct at zero bias (word line below V_th?)")
        return float(1.0 / g)

    def saturation_a(self, temp_c: float = TNOM_C) -> float:
        """The most current the transistor passes with its source at 0 V (drain far above V_P), ampere."""
        beta, vth, ut = self.parameters(temp_c)
        vp = (self.wordline_volt - vth) / self.slope_n
        return float(2.0 * self.slope_n * beta * ut * ut * np.logaddexp(0.0, vp / (2.0 * ut)) ** 2)
