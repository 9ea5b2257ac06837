"""Read disturb: a read current flows through the SOT write channel; how likely is one read to switch a cell?

In a compound SOT-MTJ the read path ends along the write channel (cell -> its
channel node -> channel segments -> read terminal), so every read pushes the
device current through the heavy-metal channel, the same channel whose current
switches the free layers. This module turns solved device currents into the
channel's current density and the thermally activated switching probability of
one read, P = 1 - exp(-(t/tau0) exp(-Delta (1 - J/J_c0))), the model of
:mod:`xbar.device.switching`, evaluated with no assisting field (a read applies none)
and with its parameters (one home for them: :class:`~xbar.device.switching.SwitchingParams`):

* channel cross-section: width 0.9 um x Ta(4 nm)/Pt(10 nm) = 14 nm (the paper,
  section B and Methods);
* J_c0: the zero-field critical current of eq. 1 fitted to the paper's critical
  voltages (Fig. 4c) over that cross-section (:func:`xbar.device.switching.critical_current`);
* Delta: 40 at 1.6 nm, scaling with thickness; tau0 = 1 ns (assumed typical values,
  see :data:`xbar.device.switching.PARAMETER_SOURCES`);
* the read lasts :data:`xbar.analysis.energy.READ_PULSE_S` (30 ns, the paper's read time).

Conservative by construction: the whole device current is taken to flow under
every cell (it does only under the cell nearest the read terminal), and its
direction is taken to be the switching one. Pure functions; nothing is solved here.
"""

from __future__ import annotations

import numpy as np

from xbar.device.switching import SwitchingParams, critical_current, switching_probability, thermal_stability
from xbar.analysis.energy import READ_PULSE_S


def channel_area_m2(params: SwitchingParams | None = None) -> float:
    """Cross-section of the write channel in m^2: width x (Ta + Pt) thickness."""
    p = params or SwitchingParams()
    return p.channel_width_m * p.channel_thickness_m


def channel_current_density(current_a, params: SwitchingParams | None = None) -> np.ndarray:
    """Current density in A/m^2 of channel currents ``current_a`` (any shape; magnitude)."""
    return np.abs(np.asarray(current_a, dtype=float)) / channel_area_m2(params)


def read_disturb(device_current_a, thickness_nm: float, params: SwitchingParams | None = None,
                 read_s: float = READ_PULSE_S, n_cells: int = 1, temperature_c: float | None = None) -> dict:
    """Worst-device read disturb of solved device currents ``device_current_a`` (any shape, ampere).

    ``n_cells``: cells per device; a cell of a multi-cell device has the lower
    per-cell J_c0 of :func:`xbar.device.switching.multi_cell_factor`. ``temperature_c`` (without
    ``params``): Delta and J_c0 at that temperature (``params`` carry their own).

    Returns a JSON-ready dict: worst current (A), its channel current density
    J (A/m^2), J_c0 (A/m^2), J/J_c0, Delta, the read time (s) and the probability
    that one read switches that device's cell.
    """
    p = params or (SwitchingParams() if temperature_c is None else SwitchingParams(temperature_c=temperature_c))
    worst = float(np.abs(np.asarray(device_current_a, dtype=float)).max(initial=0.0))
    ic0 = critical_current(p, thickness_nm, field_mt=0.0, n_cells=n_cells)
    delta = thermal_stability(p, thickness_nm)
    prob = float(switching_probability(worst, ic0, delta, read_s, p.tau0_s))
    area = channel_area_m2(p)
    return dict(worst_current_a=worst, worst_j_a_per_m2=worst / area, j_c0_a_per_m2=ic0 / area,
                j_over_jc0=worst / ic0, delta=delta, read_s=read_s, tau0_s=p.tau0_s,
                probability_per_read=prob)
