"""Settling time of a step response: when each output last leaves its band around the final value.

Pure functions over waveforms (:class:`~xbar.solvers.transient.Waveforms`) and
the DC solution they settle to; nothing here solves a circuit.
"""

from __future__ import annotations

import numpy as np

from xbar.util.errors import ParameterError, SolverError

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


def check_settled(settling_s: np.ndarray, t_end_s: float, steps: int) -> None:
    """Raise :class:`SolverError` when some output never settled (settling time inf at the run's end).

    The one place that turns "still outside the band at the last sample" into an
    error, so no report says "settled: inf ns".
    """
    t = np.asarray(settling_s, dtype=float)
    late = np.flatnonzero(~np.isfinite(t))
    if len(late):
        raise SolverError(f"the step response did not settle within {steps} steps ({t_end_s * 1e9:.4g} ns): "
                          f"{len(late)} column(s) (first: column {late[0]}) still outside the settling band; "
                          "allow more steps (--max-steps) or a longer --dt (or widen --band)")


#: Two correct solvers of one circuit settle alike when (assumed tolerance), from each one's settling time (plus two
#: time steps) on, the other stays within this many bands of the final value. An amplitude test, not
#: a comparison of times: a column whose error creeps along the band's edge can cross it at very
#: different times in two correct runs while the traces differ by a fraction of a band.
#: For a column whose error starts 500 bands out, a trace 3 % slower (backward Euler's lag) is 1.2 bands
#: out at the other's settling time, 6 % slower 1.45, 20 % slower 2.8.
BAND_SLACK_RATIO = 1.5


def compare_step_responses(times_s: np.ndarray, outputs: np.ndarray, other_times_s: np.ndarray,
                           other_outputs: np.ndarray, final: np.ndarray, band: float, dt_s: float) -> dict:
    """What a designer compares between two step responses of one circuit (e.g. native and ngspice).

    ``outputs`` [T, cols] at ``times_s``, ``other_outputs`` [T', cols] at
    ``other_times_s``, ``final`` [cols] the DC solution, ``band`` the absolute
    settling band. Reported: each run's final values against the DC solution
    (as a fraction of full scale), each column's settling time in both runs, and
    the largest difference after the first time constant ``tau_s`` (the worst
    settling time over ln(full scale / band), the single-pole equivalent) and
    after 3 tau. The charging spike of the first picoseconds is not compared
    point by point: there a 1 % difference in time is a large difference in
    current. ``agree`` is true when both final values are within the band of the
    DC solution and, from each run's settling time of a column (plus two time
    steps) on, the other run's trace stays within :data:`BAND_SLACK_RATIO` bands;
    ``problems`` lists what failed, one line each.
    """
    final = np.asarray(final, dtype=float).reshape(-1)
    scale = float(np.abs(final).max())
    if not scale > 0:
        raise ParameterError("every final column current is 0: nothing to compare")
    t_a = settling_times(times_s, outputs, final, band)
    t_b = settling_times(other_times_s, other_outputs, final, band)
    final_a = float(np.abs(np.asarray(outputs)[-1] - final).max())
    final_b = float(np.abs(np.asarray(other_outputs)[-1] - final).max())
    worst = float(np.max(np.where(np.isfinite(t_a), t_a, 0.0)))
    tau = worst / float(np.log(scale / band)) if worst > 0 and scale > band else 0.0
    common = np.array([np.interp(times_s, other_times_s, np.asarray(other_outputs)[:, j])
                       for j in range(len(final))]).T
    err = np.abs(common - np.asarray(outputs)).max(axis=1) / scale
    t = np.asarray(times_s)
    after = {k: float(err[t >= k * tau].max()) if (t >= k * tau).any() else 0.0 for k in (1, 3)}
    problems = []
    for name, e in (("first", final_a), ("second", final_b)):
        if e > band:
            problems.append(f"the {name} run ends {e / scale:.2e} of full scale from the DC solution "
                            f"(band {band / scale:.2e})")
    both = np.isfinite(t_a) & np.isfinite(t_b)
    if not both.all():
        problems.append(f"{int((~both).sum())} column(s) settle in one run only")
    late = [j for j in np.flatnonzero(both)
            if _outside_after(times_s, outputs, t_b[j] + 2 * dt_s, j, final[j]) > BAND_SLACK_RATIO * band
            or _outside_after(other_times_s, other_outputs, t_a[j] + 2 * dt_s, j, final[j]) > BAND_SLACK_RATIO * band]
    if late:
        j = late[0]
        problems.append(f"{len(late)} column(s) settle differently, first column {j}: {t_a[j] * 1e9:.4g} ns against "
                        f"{t_b[j] * 1e9:.4g} ns, and one run is still more than {BAND_SLACK_RATIO:g} bands out after the "
                        "other has settled")
    diff = np.full(len(final), np.inf)
    diff[both] = np.abs(t_a - t_b)[both] / np.maximum(np.maximum(t_a, t_b)[both], 1e-300)
    return {"final_rel": final_a / scale, "other_final_rel": final_b / scale,
            "settling_s": t_a.tolist(), "other_settling_s": t_b.tolist(),
            "worst_s": worst, "other_worst_s": float(np.max(t_b)),
            "worst_diff_rel": abs(worst - float(np.max(t_b))) / max(worst, float(np.max(t_b)), 1e-300),
            "settling_diff_rel": float(diff.max()) if len(diff) else 0.0, "tau_s": tau,
            "error_after_tau_rel": after[1], "error_after_3tau_rel": after[3],
            "agree": not problems, "problems": problems}


def _outside_after(times_s, outputs, t_s: float, j: int, final: float) -> float:
    """Largest distance from ``final`` of output ``j`` at or after time ``t_s`` (0 when the run ends before)."""
    keep = np.asarray(times_s) >= t_s
    return float(np.abs(np.asarray(outputs)[keep, j] - final).max()) if keep.any() else 0.0
