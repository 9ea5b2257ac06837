"""The header of a netlist: what the circuit is, in comment lines, and the junction I-V as a ``.func``."""

from __future__ import annotations

from xbar.array.circuit import Circuit
from xbar.array.spice_text import format_number


def junction_lines(circuit: Circuit) -> list[str]:
    """The junction I-V of :func:`xbar.device.junction.junction_current`, once, as a .func."""
    return [f"* junction I-V: R(V) = rp + (r0 - rp) / (1 + (V/vh)^2), i.e. TMR(V) = TMR0 / (1 + (V/vh)^2); "
            "R_P bias-independent",
            f".param vh={format_number(circuit.v_half_volt)}",
            ".func ijn(v, rp, r0) {v / (rp + (r0 - rp) / (1 + (v / vh) * (v / vh)))}"]


def variation_comment(v) -> str:
    """One comment line naming the array's variation (:class:`xbar.device.variation.Variation`)."""
    if v.correlated:
        return (f"* variation: correlated, ln-sigma RA {v.device_ra_sigma:g} device + {v.cell_ra_sigma:g} cell, "
                f"TMR {v.device_tmr_sigma:g} device + {v.cell_tmr_sigma:g} cell (seed {v.seed})")
    return f"* variation: sigma {v.sigma:g} (seed {v.seed})"


def faults_comment(f) -> list[str]:
    """The comment line naming the array's fault rates, none without faults."""
    if f.is_zero:
        return []
    return [f"* faults: stuck-at-P {f.stuck_p:g}, stuck-at-AP {f.stuck_ap:g}, open {f.open:g} (cells left out), "
            f"short {f.short:g} at {f.short_ohm:g} ohm (seed {f.seed})"]


def cells_comment(device) -> list[str]:
    """One comment line per cell of a device whose cells differ, none otherwise."""
    if not device.cells:
        return []
    return [f"* cell {k}: R_P = {c.r_p:.6g} ohm, R_AP = {c.r_ap:.6g} ohm" for k, c in enumerate(device.cells)]
