"""The paper's device library: R_P, R_AP and TMR against free-layer thickness (1.6..2.6 nm)."""

from __future__ import annotations

import numpy as np

from xbar.util.ranges import param
from xbar.util.validate import real
from xbar.device.junction import MTJ
from xbar.device.compound import CompoundMTJ


# --- The paper's device library ---------------------------------------------------------
#
# Fig. 3f gives R_P, R_AP and TMR against free-layer thickness only as a plot; the
# text fixes these anchors, and the table below interpolates between them:
#   * 1.6 nm: R_P = 25.2 kohm, R_AP = 33.8 kohm (section C, Fig. 3b) -> TMR 34.1 %;
#   * TMR rises gently, ~33-40 %, below 1.9 nm, then surges near-exponentially to 78 %
#     at 2.6 nm (section C). Here: linear 34.1 -> 40 % over 1.6-1.9 nm, then
#     40 % * exp(k (t - 1.9)) with k = ln(78/40)/0.7 up to 2.6 nm;
#   * R_P follows a "dome": it rises to a plateau at intermediate thickness and
#     falls for thick layers (section C). Its bounds come from the Methods' RA of
#     2.2-3.6 kohm um^2 on a 250 x 500 nm^2 ellipse (area 0.0982 um^2), i.e.
#     22.4-36.7 kohm. The dome below peaks at 36.7 kohm near 2.1 nm and ends at
#     22.4 kohm at 2.6 nm. R_AP = R_P (1 + TMR).
# These are trend interpolations, not measured points (except at 1.6 nm).

_THICKNESS_NM = np.round(np.arange(1.6, 2.61, 0.1), 1)
_TMR = np.concatenate([
    np.linspace(33.8 / 25.2 - 1.0, 0.40, 4),
    0.40 * np.exp(np.log(0.78 / 0.40) / 0.7 * (np.round(np.arange(2.0, 2.61, 0.1), 1) - 1.9)),
])
_R_P_OHM = np.array([25.2, 29.0, 32.2, 34.6, 36.0, 36.7, 36.4, 34.6, 31.4, 27.2, 22.4]) * 1e3


def library_thicknesses() -> np.ndarray:
    """Free-layer thicknesses in nm that the built-in library covers (1.6..2.6 step 0.1)."""
    return _THICKNESS_NM.copy()


def library_mtj(thickness_nm: float, v_half_volt: float = np.inf) -> MTJ:
    """The paper's MTJ at free-layer thickness ``thickness_nm`` (1.6..2.6 nm).

    Values between the 0.1 nm table points are linearly interpolated. ``v_half_volt``:
    the TMR's bias half-point; the paper's model is linear (infinity), a typical
    physical value is :data:`TYPICAL_V_HALF_VOLT`.
    """
    row = param("thickness_nm")
    t = real(row.label, thickness_nm)
    t = float(np.clip(t, row.low, row.high)) if row.low - 1e-9 <= t <= row.high + 1e-9 else t  # float grids
    t = row.check(t)
    r_p = float(np.interp(t, _THICKNESS_NM, _R_P_OHM))
    tmr = float(np.interp(t, _THICKNESS_NM, _TMR))
    return MTJ(r_p=r_p, r_ap=r_p * (1.0 + tmr), v_half_volt=v_half_volt)


def library_device(*, thickness_nm: float, n_cells: int, v_half_volt: float = np.inf) -> CompoundMTJ:
    """A compound device of ``n_cells`` library MTJs at ``thickness_nm``, with the default channel.

    Keyword-only: both are small numbers, and ``library_device(3, 1.9)`` is an easy slip.
    ``v_half_volt``: the junctions' TMR bias half-point (default: linear, the paper's model).
    """
    return CompoundMTJ(mtj=library_mtj(thickness_nm, v_half_volt), n_cells=n_cells)


def contour_device(*, tmr: float, n_cells: int, r_p: float = 10e3, v_half_volt: float = np.inf) -> CompoundMTJ:
    """Device of the paper's Fig. 5d/e grid: R_P fixed at 10 kohm, R_AP from the TMR (a fraction; keyword-only)."""
    return CompoundMTJ(mtj=MTJ.from_tmr(r_p, tmr, v_half_volt), n_cells=n_cells)
