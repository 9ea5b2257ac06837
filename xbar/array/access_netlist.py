"""Netlist lines of access transistors and of the temperature, apart from the array's own lines.

The built-in transistor is the I-V of :meth:`xbar.device.access.AccessTransistor.current`
printed once as a ``.func`` (as the junction I-V is), evaluated at the circuit temperature
``temper``; a designer's model (:mod:`xbar.device.access_card`) goes in verbatim and is
instantiated as a MOSFET or subcircuit. Inside each device's subcircuit the transistor
runs from the channel's read terminal ``s`` (drain) to the port ``rd`` on the column wire
(source), gate on the port ``wl``, the row's word line, bulk at ground. Temperature:
``.temp``, and the wire segments' ``tc1=`` (written by the netlist's resistor lines).
"""

from __future__ import annotations

from xbar.array.circuit import Circuit
from xbar.array.spice_text import format_number
from xbar.device.access import CORNERS, K_OVER_Q, ZERO_C_KELVIN
from xbar.device.temperature import WIRE_TCR_PER_K

#: The built-in transistor, as ngspice functions of (gate, drain, source) voltages and temperature in C.
_FUNCS = (
    ".func acc_l(x) {ln(1 + exp(x))}",
    f".func acc_ut(tc) {{{format_number(K_OVER_Q)} * (tc + {format_number(ZERO_C_KELVIN)})}}",
    f".func acc_ratio(tc) {{(tc + {format_number(ZERO_C_KELVIN)}) / (acc_tnom + {format_number(ZERO_C_KELVIN)})}}",
    ".func acc_vp(vg, tc) {(vg - (acc_vth0 + acc_kt1 * (acc_ratio(tc) - 1))) / acc_n}",
    ".func acc_is(tc) {2 * acc_n * (acc_beta0 * pow(acc_ratio(tc), acc_ute)) * acc_ut(tc) * acc_ut(tc)}",
    ".func acc_f(vp, v, tc) {acc_l((vp - v) / (2 * acc_ut(tc))) * acc_l((vp - v) / (2 * acc_ut(tc)))}",
    ".func iacc(vg, vd, vs, tc) {acc_is(tc) * (acc_f(acc_vp(vg, tc), vs, tc) - acc_f(acc_vp(vg, tc), vd, tc))}",
)


def temperature_lines(circuit: Circuit, subckt: bool = False) -> list[str]:
    """``.temp`` and what it moves; nothing when the circuit has no temperature (today's netlists).

    A subcircuit leaves ``.temp`` to the testbench (its wires' tc1 and the transistor follow it).
    """
    if circuit.temperature_c is None:
        return []
    if subckt:
        return [f"* written for {format_number(circuit.temperature_c)} C: set .temp "
                f"{format_number(circuit.temperature_c)} in the testbench (MTJ cells are at that temperature)"]
    return [f"* temperature {format_number(circuit.temperature_c)} C: wire segments carry tc1 = "
            f"{format_number(WIRE_TCR_PER_K)} /K (Cu) from 27 C; MTJ cell resistances are written at this "
            "temperature (R_P and TMR models of xbar.device.temperature)",
            f".temp {format_number(circuit.temperature_c)}"]


def access_header(circuit: Circuit) -> list[str]:
    """The access transistor's model: the built-in ``.func`` with its parameters, or the designer's card."""
    t = circuit.access
    if t is None:
        return []
    lines = [f"* access transistor per device: drain = channel read terminal, gate = word line wl<i> at "
             f"{format_number(t.wordline_volt)} V, source = column wire, bulk = ground; W/L = "
             f"{t.width_nm:g}/{t.length_nm:g} nm",
             f".param vwl={format_number(t.wordline_volt)}"]
    if circuit.access_model is not None:
        m = circuit.access_model
        return lines + [f"* designer's model {m.name} ({m.kind}) from {m.source}:", *m.text.rstrip("\n").split("\n")]
    shift, factor = CORNERS[t.corner]
    beta0 = t.mobility_cox_a_per_v2 * factor * t.width_nm / t.length_nm
    return lines + [
        f"* built-in model (a model, not a foundry device; xbar.device.access): EKV NMOS after PTM 45 nm HP, "
        f"{t.corner} corner",
        "* I = is (L((vp - vs)/(2 ut))^2 - L((vp - vd)/(2 ut))^2), L(x) = ln(1 + exp(x)), vp = (vg - vth)/n, "
        "is = 2 n beta ut^2;",
        "* at the circuit temperature T: ut = k T/q, vth = vth0 + kt1 (T/Tnom - 1), beta = beta0 (T/Tnom)^ute",
        f".param acc_beta0={format_number(beta0)} acc_vth0={format_number(t.vth_volt + shift)} "
        f"acc_n={format_number(t.slope_n)} acc_kt1={format_number(t.kt1_volt)} acc_ute={format_number(t.ute)} "
        "acc_tnom=27",
        *_FUNCS]


def access_element(circuit: Circuit) -> list[str]:
    """The transistor's line inside a device's subcircuit (drain s, gate wl, source rd)."""
    t = circuit.access
    if t is None:
        return []
    if circuit.access_model is not None:
        return [circuit.access_model.instance("acc", "s", "wl", "rd", t.width_nm, t.length_nm)]
    return ["Bacc s rd I={iacc(V(wl), V(s), V(rd), temper)}"]


def wordline_sources(circuit: Circuit) -> list[str]:
    """One word-line source per row, all at ``vwl`` during the read."""
    if circuit.access is None:
        return []
    return ["* word lines: every row's access transistors on (a read of all rows at once)",
            *(f"Vwl{i} wl{i} 0 DC {{vwl}}" for i in range(circuit.shape[0]))]


def access_solver_options(circuit: Circuit) -> list[str]:
    """ngspice's matrix solver for circuits with access transistors: Sparse 1.3, not KLU.

    KLU refactors with the pivots of its first factorization; as the transistors' entries change
    from one Newton iteration to the next that cost ~1e-9 of accuracy on 16x16 arrays and
    stalled Newton at the tolerances of :data:`xbar.array.netlist.NONLINEAR_OPTIONS` (gmin
    stepping); Sparse 1.3 re-pivots and agrees with the native solver to ~1e-13 (measured).
    """
    if circuit.access is None:
        return []
    return ["* Sparse 1.3 rather than KLU: it re-pivots as the transistors' entries change (KLU lost ~1e-9)",
            ".options sparse"]
