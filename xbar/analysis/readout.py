"""Energy, latency and noise of reading one array: solve the circuit, then analyze it.

This is the edge where solving meets analysis: it runs the solvers (native DC,
native or ngspice transient, the adjoint for noise) and hands their solutions
to the pure functions in :mod:`xbar.analysis`. Results are plain dicts of
floats, ready for reports and JSON. Array figures are exact circuit solutions;
periphery figures are models (:mod:`xbar.analysis.periphery`) and are labelled so.
"""

from __future__ import annotations

import numpy as np

from xbar.analysis.energy import (
    PARTS,
    READ_PULSE_S,
    check_read_time,
    efficiency,
    moment_vectors,
    power_breakdown,
)
from xbar.analysis.noise import output_noise_psd, read_bandwidth_hz
from xbar.analysis.settling import (
    check_settled,
    column_elmore_delay,
    compare_step_responses,
    half_lsb,
    row_elmore_delay,
    settling_times,
)
from xbar.array.circuit import Circuit, check_inputs
from xbar.util.errors import ParameterError
from xbar.analysis.periphery import Periphery, describe, tile_periphery
from xbar.solvers.adjoint import adjoint_voltages
from xbar.solvers.native import NativeSolver
from xbar.solvers.transient import Waveforms, settle


def row_capacitance(circuit: Circuit) -> np.ndarray:
    """Capacitance each row driver charges, farad, [rows]: its wire segments and its cells' junctions.

    The analytic (NeuroSim-style) load: every capacitor on the row counted
    whole, as if the far side of each junction stayed at 0 V.
    """
    rows, cols = circuit.shape
    c = np.zeros(rows)
    for g in circuit.capacitors:
        if g.prefix == "Cr":
            np.add.at(c, g.index[:, 0], g.farad)
    n_cells = np.isfinite(circuit.cell_ohm).sum(axis=(1, 2))
    return c + n_cells * circuit.cell_farad


def _linear_only(circuit: Circuit, what: str) -> None:
    """A ParameterError for a circuit with non-linear junctions or access transistors: ``what`` assumes a
    linear circuit (power quadratic in the inputs, a fixed small-signal network, linear transients)."""
    if circuit.nonlinear:
        raise ParameterError(f"{what} models linear circuits only: this one has "
                             + ("access transistors" if circuit.access is not None else "non-linear junctions")
                             + " (build it without v_half_volt and the access transistor)")


def array_energy(circuit: Circuit, inputs, t_read_s: float = READ_PULSE_S, periphery: Periphery | None = None,
                 solver: NativeSolver | None = None) -> dict:
    """Mean energy of one read (one vector-matrix product) over the batch ``inputs`` [batch, rows].

    Exact for the array: the summed power of the batch equals that of at most
    ``rows`` moment vectors (:func:`~xbar.analysis.energy.moment_vectors`), so
    any batch costs at most ``rows`` solves. Returns per-part joules per read,
    the periphery model's, MACs per read (rows x cols devices) and fJ/MAC, TOPS/W.
    """
    _linear_only(circuit, "the exact array energy")
    t = check_read_time(t_read_s)
    x = check_inputs(inputs, circuit.shape[0])
    solver = solver or NativeSolver(circuit)
    pb = power_breakdown(circuit, solver.node_voltages(moment_vectors(x))).total()
    reads = len(x)
    array = {k: float(v[0]) * t / reads for k, v in pb.parts_w.items()}
    array["total"] = float(pb.source_w[0]) * t / reads
    rows, cols = circuit.shape
    periph = None
    if periphery is not None:
        currents = solver.solve(moment_vectors(x)).currents  # sum of I^2 over the batch, exactly
        tia_r = circuit.crossbar.tia_feedback_ohm if circuit.sense == "tia" else 0.0
        model = tile_periphery(periphery, rows, cols, t, row_capacitance(circuit), (x ** 2).mean(axis=0),
                               float((currents ** 2).sum()) / reads, tia_r)
        periph = {"energy_j": model["energy_j"], "total_j": sum(model["energy_j"].values()),
                  "delay_s": model["delay_s"], "read_cycle_s": model["read_cycle_s"],
                  "parameters": describe(periphery), "note": "models from figures of merit, not circuit solutions"}
    macs = rows * cols
    out = {"t_read_s": t, "reads": reads, "macs_per_read": macs, "array_j": array,
           "array_parts": list(PARTS), "tellegen_error": pb.tellegen_error,
           "array_efficiency": efficiency(array["total"], macs),
           "row_cv2_j": float((row_capacitance(circuit) * (x ** 2).mean(axis=0)).sum())}
    if periph is not None:
        out["periphery"] = periph
        out["total_efficiency"] = efficiency(array["total"] + periph["total_j"], macs)
    return out


def default_time_step(circuit: Circuit) -> float:
    """A time step for settling runs: :func:`elmore_estimate` / 20 (at least 0.1 ps)."""
    return max(elmore_estimate(circuit) / 20, 1e-13)


def elmore_estimate(circuit: Circuit) -> float:
    """The analytic delay estimate of a read, second: the largest row Elmore delay, and with
    resistor sensing also the columns' (a TIA holds its column near 0 V, so the column's own
    RC barely moves the current: measured on 784x128, 0.65 ns settling against a 4.4 ns column Elmore)."""
    rows = float(row_elmore_delay(circuit).max())
    return rows if circuit.sense == "tia" else max(rows, float(column_elmore_delay(circuit).max()))


def array_settling(circuit: Circuit, inputs, dt_s: float | None = None, band_rel: float | None = None,
                   adc_bits: int = 8, method: str = "be", max_steps: int = 200_000,
                   solver: NativeSolver | None = None, progress: bool = True) -> tuple[Waveforms, dict]:
    """Step response of ``inputs`` [rows] until settled, and the settling time of each column.

    The band is ``band_rel`` of the largest final column current, or half an LSB
    of an ``adc_bits`` ADC over that full scale; ``dt_s`` None picks
    :func:`default_time_step`. Returns the waveforms and a
    dict: ``settling_s`` [cols], ``worst_s``, ``band_a``, the DC ``final`` currents.
    Backward Euler (``be``, the default) reports settling late by about dt / (2 tau):
    measured +0.8 % (TIA) and +2.5 % (resistor sensing) at 16x16, +1.9 % and +2.9 %
    at 64x64, against a tenfold finer step; the summary states this run's estimate
    (``be_lag_rel``). The trapezoidal rule (``trap``) has no lag on the slow columns
    but rings on modes faster than the step: at 64x64 with resistor sensing one
    column's settling time came out 75 ps instead of 19 ps. A column still outside the
    band when ``max_steps`` run out is a :class:`SolverError` (:func:`check_settled`).
    """
    _linear_only(circuit, "the settling transient")
    x = check_inputs(inputs, circuit.shape[0])
    if len(x) != 1:
        raise ParameterError(f"a settling run takes one input vector, got {len(x)}")
    rel = half_lsb(adc_bits) if band_rel is None else float(band_rel)
    if not (np.isfinite(rel) and 0 < rel < 1):
        raise ParameterError(f"settling band must be a fraction in (0, 1), got {band_rel!r}")
    final = (solver or NativeSolver(circuit)).solve(x).currents[0]
    scale = float(np.abs(final).max())
    if scale == 0:
        raise ParameterError("every column current is 0 for these inputs: nothing settles")
    band = rel * scale
    dt_s = default_time_step(circuit) if dt_s is None else dt_s
    w = settle(circuit, x[0], final, band, dt_s, method=method, max_steps=max_steps, progress=progress)
    t = settling_times(w.times_s, w.currents, final, band)
    check_settled(t, float(w.times_s[-1]), len(w.times_s) - 1)
    tau = float(t.max()) / float(np.log(1 / rel)) if t.max() > 0 else np.inf
    return w, {"settling_s": t.tolist(), "worst_s": float(t.max()),
               "be_lag_rel": float(dt_s / (2 * tau)) if method == "be" else 0.0, "band_rel": rel, "band_a": band,
               "dt_s": float(dt_s), "method": method, "steps": len(w.times_s) - 1, "final_a": final.tolist(),
               "elmore_s": elmore_estimate(circuit),
               "elmore_settle_estimate_s": elmore_estimate(circuit) * float(np.log(1 / rel))}


#: ngspice ``.tran`` cost per node and time step, second, fitted to 2.7 s for 1,330 nodes x 808 steps
#: (16x16, 3 cells, ngspice-46 KLU, the project's 2-core machine); it also gives the 197 s issue 18
#: measured at 128x128, while 64x64 on the machine loaded by four test suites took 5x longer. Only for
#: the estimate shown while ngspice runs, which reports no progress of its own.
NGSPICE_TRAN_NODE_STEP_S = 2.5e-6


def ngspice_settling(circuit: Circuit, inputs, waveforms: Waveforms, summary: dict,
                     progress: bool = True, timeout_s: float | None = None) -> tuple[Waveforms, dict]:
    """ngspice ``.tran`` of the step that :func:`array_settling` ran (same time span, step and method)
    and :func:`~xbar.analysis.settling.compare_step_responses` of the two: final values, settling times,
    the difference after the first time constant, and whether they agree. While ngspice runs, a bar
    on stderr shows the elapsed time against an estimate (:data:`NGSPICE_TRAN_NODE_STEP_S`);
    ``timeout_s`` bounds the ngspice run (None: the default limit).
    """
    from xbar.solvers.ngspice_tran import ngspice_transient
    from xbar.util.progress import ticking
    x = check_inputs(inputs, circuit.shape[0])[0]
    dt, t_stop = float(summary["dt_s"]), float(waveforms.times_s[-1])
    channel_nodes = circuit.cell_ohm.size if circuit.channel_segment_ohm > 0 else 0
    nodes, steps = circuit.n_nodes + channel_nodes, int(np.ceil(t_stop / dt))
    estimate = NGSPICE_TRAN_NODE_STEP_S * nodes * steps
    with ticking(f"ngspice .tran, {nodes} nodes x {steps} steps", estimate, disable=not progress):
        spice = ngspice_transient(circuit, x, t_stop, dt, dt, method=summary["method"], timeout_s=timeout_s)
    final = np.asarray(summary["final_a"])
    report = compare_step_responses(waveforms.times_s, waveforms.currents, spice.times_s, spice.currents,
                                    final, summary["band_a"], dt)
    return spice, report


def array_noise(circuit: Circuit, inputs, t_read_s: float = READ_PULSE_S,
                solver: NativeSolver | None = None) -> dict:
    """Output-referred rms current noise of each column over a read, for each input [batch, rows].

    Returns ``rms_a`` [batch, cols], the thermal and shot parts' rms, the
    bandwidth, and the signal-to-noise ratio of the largest column current.
    """
    t = check_read_time(t_read_s)
    _linear_only(circuit, "the read-noise model")
    x = check_inputs(inputs, circuit.shape[0])
    solver = solver or NativeSolver(circuit)
    psd = output_noise_psd(circuit, solver.node_voltages(x), adjoint_voltages(solver))
    bw = read_bandwidth_hz(t)
    rms = np.sqrt(psd["total"] * bw)
    signal = np.abs(solver.solve(x).currents)
    return {"bandwidth_hz": bw, "rms_a": rms.tolist(), "worst_rms_a": float(rms.max()),
            "thermal_rms_a": float(np.sqrt(psd["thermal"].max() * bw)),
            "shot_rms_a": float(np.sqrt(psd["shot"].max() * bw)),
            "snr_db": float(20 * np.log10(signal.max() / rms.max())) if rms.max() > 0 else float("inf")}
