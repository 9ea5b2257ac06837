"""Settling time of a step response: when each output last leaves its band around the final value.

Pure functions over waveforms (:class:`~xbar.solvers.transient.Waveforms`) and
the DC solution they settle to; nothing here solves a circuit.
"""

from __future__ import annotations

import numpy as np

from xbar.util.errors import ParameterError

#: Default settling band: half an LSB of an 8-bit ADC over the column's full scale (assumed, as Periphery.adc_bits).
DEFAULT_ADC_BITS = 8


def half_lsb(bits: int = DEFAULT_ADC_BITS) -> float:
    """Half an ADC LSB as a fraction of full scale: 1 / (2 (2^bits - 1))."""
    if int(bits) != bits or not 1 <= bits <= 24:
        raise ParameterError(f"ADC bits must be an integer in 1..24, got {bits!r}")
    return 0.5 / (2 ** int(bits) - 1)


def settling_times(times_s: np.ndarray, outputs: np.ndarray, final: np.ndarray, band: float) -> np.ndarray:
    """Per output, the time after which |y(t) - final| <= ``band`` for good, second, [cols].

    ``outputs`` [T, cols] sampled at ``times_s`` [T]; ``final`` [cols]; ``band``
    absolute (same unit as the outputs). The crossing is interpolated linearly
    between samples. An output that is still outside the band at the last
    sample gets inf (run longer).
    """
    t = np.asarray(times_s, dtype=float)
    y = np.asarray(outputs, dtype=float)
    final = np.asarray(final, dtype=float).reshape(-1)
    if y.ndim != 2 or y.shape != (len(t), len(final)):
        raise ParameterError(f"outputs must have shape [{len(t)}, {len(final)}], got {list(y.shape)}")
    if not (np.isfinite(band) and band > 0):
        raise ParameterError(f"settling band must be > 0, got {band!r}")
    err = np.abs(y - final)
    outside = err > band
    out = np.zeros(len(final))
    for j in range(len(final)):
        idx = np.flatnonzero(outside[:, j])
        if not len(idx):
            continue
        k = idx[-1]
        if k == len(t) - 1:
            out[j] = np.inf
            continue
        e0, e1 = err[k, j], err[k + 1, j]
        out[j] = t[k] + (t[k + 1] - t[k]) * (e0 - band) / (e0 - e1)
    return out


def elmore_delay(times_s: np.ndarray, outputs: np.ndarray, final: np.ndarray) -> np.ndarray:
    """First moment of each output's step response, second, [cols]: integral of (1 - y/final) dt.

    For an RC tree this is the Elmore delay of the output (Elmore 1948), provided
    the waveform has settled by the last sample. Trapezoidal quadrature.
    """
    t = np.asarray(times_s, dtype=float)
    y = np.asarray(outputs, dtype=float)
    final = np.asarray(final, dtype=float).reshape(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(final != 0, 1.0 - y / final, 0.0)
    return np.trapz(frac, t, axis=0) if hasattr(np, "trapz") else np.trapezoid(frac, t, axis=0)


def _cell_node_farad(circuit, prefix: str) -> np.ndarray:
    """Capacitance at each cell's node of one wire kind (``"Cr"`` rows, ``"Cc"`` columns), farad
    [rows, cols]: that wire's segment capacitance plus the junctions of the cell's connected MTJs."""
    c = np.zeros(circuit.shape)
    for g in circuit.capacitors:
        if g.prefix == prefix:
            np.add.at(c, (g.index[:, 0], g.index[:, 1]), g.farad)
    return c + np.isfinite(circuit.cell_ohm).sum(axis=2) * circuit.cell_farad


def row_elmore_delay(circuit) -> np.ndarray:
    """Analytic Elmore delay (Elmore 1948) at the far end of each row wire, second, [rows].

    The row as an RC ladder: driver resistance, then one wire segment per cell,
    each cell's node loaded by its wire capacitance and its junctions (their far
    side taken as ground): sum_j (R_drv + sum_{m<=j} R_seg) C_j. The usual
    published estimate of a crossbar row's delay; the exact response comes from
    the transient solver.
    """
    xb = circuit.crossbar
    rows, cols = circuit.shape
    c = _cell_node_farad(circuit, "Cr")
    r_up = xb.driver_ohm + xb.row_wire_ohm * np.arange(1, cols + 1)
    return (c * r_up[None, :]).sum(axis=1)


def column_elmore_delay(circuit) -> np.ndarray:
    """Analytic Elmore delay of each column wire toward its sense node, second, [cols].

    Column node i is loaded by its wire capacitance and its device's junctions,
    and reaches the sense node through (rows - i) segments: sum_i (rows - i) R_col C_i.
    With resistor sensing, the sense node's own pole (R_ref parallel the column's
    devices, times the column's whole capacitance) is added.
    """
    xb = circuit.crossbar
    rows, cols = circuit.shape
    c = _cell_node_farad(circuit, "Cc")
    delay = (c * (xb.col_wire_ohm * np.arange(rows, 0, -1))[:, None]).sum(axis=0)
    if circuit.sense == "resistor":
        g_col = (1.0 / circuit.cell_ohm).sum(axis=(0, 2))
        sense_c = sum(g.farad.sum() for g in circuit.capacitors if g.prefix == "Co") / cols
        delay = delay + (c.sum(axis=0) + sense_c) / (1.0 / xb.ref_ohm + g_col)
    return delay
