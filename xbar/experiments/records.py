"""What an inference record says about its device and, for SPICE runs, how SPICE agreed with the native solver."""

from __future__ import annotations

import numpy as np

from xbar.network.analog import AnalogNetwork
from xbar.solvers.checks import check_agreement


def spice_agreement(analog_net: AnalogNetwork, x: np.ndarray, logits_spice: np.ndarray) -> dict:
    """How a SPICE run of ``x`` agrees with the native solver on the same tiles, and what solved it.

    Returns the ngspice version, KLU compiled in and used (in every tile solve), the largest Kirchhoff residual,
    the number of tile solves, the largest logit difference relative to the largest native logit (past
    :data:`~xbar.solvers.checks.MAX_SPICE_DISAGREEMENT` an error), and the prediction agreement."""
    logits_native, _, _ = analog_net.run(x, "native")
    runs = analog_net.spice_runs
    rel = check_agreement(runs[0]["backend"], logits_spice, logits_native)
    return dict(backend=runs[0]["backend"], ngspice=runs[0]["ngspice"],
                klu_compiled=all(r["klu_compiled"] for r in runs), klu_used=all(r["klu_used"] for r in runs),
                kcl_residual=max(r["kcl_residual"] for r in runs), tile_solves=len(runs),
                devices=runs[0].get("devices", "full"),
                logits_max_rel_to_native=rel,
                prediction_agreement_with_native=float(np.mean(logits_spice.argmax(1) == logits_native.argmax(1))))


def device_record(device) -> dict:
    """The compound device's values for reports: R_P, R_AP (ohm), TMR (fraction), cells, channel (ohm)."""
    return dict(r_p_ohm=float(device.mtj.r_p), r_ap_ohm=float(device.mtj.r_ap), tmr=float(device.mtj.tmr),
                v_half_volt=None if device.mtj.linear else device.mtj.v_half_volt,
                n_cells=int(device.n_cells), channel_ohm=float(device.channel_ohm),
                state_ohm=device.resistances().tolist(), cells_differ=bool(device.cells))
