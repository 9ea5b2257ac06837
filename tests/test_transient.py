"""Native transient against closed forms, the distributed RC line, ngspice .tran and the DC solution."""

import numpy as np
import pytest

from xbar.analysis.settling import elmore_delay, half_lsb, settling_times
from xbar.array.capacitance import Capacitance, junction_farad
from xbar.array.circuit import CapacitorGroup, Circuit, ResistorGroup, build_circuit
from xbar.array.crossbar import Crossbar
from xbar.device.library import library_device
from xbar.util.errors import ParameterError
from xbar.array.netlist import netlist_text
from xbar.solvers.native import NativeSolver
from xbar.solvers.ngspice_tran import ngspice_transient
from xbar.solvers.transient import TransientSolver, settle


def _rc_line(n: int, r_seg: float, c_seg: float) -> Circuit:
    """One row wire of n RC segments driven by an ideal source, open at the far end; no devices."""
    xb = Crossbar(library_device(thickness_nm=1.9, n_cells=1), np.zeros((1, 1), dtype=int))
    labels = np.array([[-1, -1, -1], [0, 0, -1]] + [[2, 0, j] for j in range(n)])
    idx = np.stack([np.zeros(n, dtype=int), np.arange(n)], axis=1)
    nodes = np.arange(2, n + 2)
    return Circuit(crossbar=xb, node_labels=labels,
                   resistors=(ResistorGroup("Rr", "row wire", idx, nodes - 1, nodes, np.full(n, r_seg)),),
                   input_nodes=np.array([1]), sense_nodes=np.zeros(0, dtype=int), output_nodes=np.zeros(0, dtype=int),
                   device_top=np.zeros((1, 0), dtype=int), device_read=np.zeros((1, 0), dtype=int),
                   cell_ohm=np.zeros((1, 0, 1)), channel_segment_ohm=0.0,
                   capacitors=(CapacitorGroup("Cr", "row wire", idx, nodes, np.zeros(n, dtype=int),
                                              np.full(n, c_seg)),))


def test_single_rc_closed_form():
    r, c = 1e3, 1e-12
    tau = r * c
    circuit = _rc_line(1, r, c)
    w = TransientSolver(circuit, tau / 2000, "trap").step_response([1.0], 10000, probes=[2])
    exact = 1.0 - np.exp(-w.times_s / tau)
    assert np.abs(w.probes[:, 0] - exact).max() <= 1e-6


def test_uniform_rc_line_against_distributed_line_and_elmore():
    n, r_tot, c_tot = 200, 1e3, 1e-12
    rc = r_tot * c_tot
    circuit = _rc_line(n, r_tot / n, c_tot / n)
    w = TransientSolver(circuit, rc / 2000, "trap").step_response([1.0], 16000, probes=[n + 1])
    t, v = w.times_s, w.probes[:, 0]
    k = np.arange(60)[:, None]
    exact = 1 - 4 / np.pi * ((-1.0) ** k / (2 * k + 1) * np.exp(-(2 * k + 1) ** 2 * np.pi ** 2 * t / (4 * rc))).sum(0)
    late = t >= 0.05 * rc  # the series converges slowly at t -> 0; there both are ~0
    assert np.abs(v - exact)[late].max() <= 0.01
    assert np.abs(v - exact).max() <= 0.01
    delay = elmore_delay(t, v[:, None], np.array([1.0]))[0]
    assert delay == pytest.approx(rc / 2, rel=0.01)  # distributed line: RC/2 at the open end
    assert delay == pytest.approx(rc * (n + 1) / (2 * n), rel=1e-4)  # the lumped ladder's own Elmore sum


def _array16(sense):
    rng = np.random.default_rng(0)
    xb = Crossbar(library_device(thickness_nm=1.9, n_cells=3), rng.integers(0, 4, (16, 16)), row_wire_ohm=1, col_wire_ohm=1,
                  driver_ohm=1000, access_ohm=10, sense=sense)
    return build_circuit(xb), rng.uniform(0, 0.1, 16)


@pytest.mark.parametrize("sense", ["tia", "resistor"])
def test_settled_value_equals_dc(sense):
    circuit, x = _array16(sense)
    dc = NativeSolver(circuit).solve(x)
    dt = 2e-12 if sense == "tia" else 10e-12
    w = TransientSolver(circuit, dt, "be").step_response(x, 2500)
    scale = np.abs(dc.node_voltages).max()
    assert np.abs(w.final_node_voltages - dc.node_voltages[0]).max() <= 1e-9 * scale
    assert np.abs(w.currents[-1] - dc.currents[0]).max() <= 1e-9 * np.abs(dc.currents).max()


@pytest.mark.parametrize("sense", ["tia", "resistor"])
def test_native_transient_matches_ngspice_tran(sense):
    """16x16 with every parasitic and capacitance; ngspice trapezoidal with a small max step."""
    circuit, x = _array16(sense)
    t_stop, rise, dt = 1e-9, 20e-12, 0.25e-12
    native = TransientSolver(circuit, dt, "trap").step_response(x, int(round(t_stop / dt)), rise_s=rise)
    spice = ngspice_transient(circuit, x, t_stop, 0.5e-12, rise, method="trap", reltol=1e-7)
    samples = np.arange(2 * rise, t_stop, 20e-12)
    a = np.array([np.interp(samples, native.times_s, native.currents[:, j]) for j in range(16)])
    b = np.array([np.interp(samples, spice.times_s, spice.currents[:, j]) for j in range(16)])
    final = np.abs(NativeSolver(circuit).solve(x).currents).max()
    # Measured 7e-6 (TIA) and 2e-5 (resistor) of the final value: both integrators' own truncation error.
    assert np.abs(a - b).max() <= 1e-4 * final


def test_settling_time_of_a_single_rc():
    r, c = 1e3, 1e-12
    w = TransientSolver(_rc_line(1, r, c), 1e-12, "trap").step_response([1.0], 8000, probes=[2])
    band = half_lsb(8)
    t = settling_times(w.times_s, w.probes, np.array([1.0]), band)[0]
    assert t == pytest.approx(r * c * np.log(1 / band), rel=1e-4)


def test_settle_stops_when_settled():
    circuit, x = _array16("tia")
    dc = NativeSolver(circuit).solve(x).currents[0]
    band = half_lsb(8) * np.abs(dc).max()
    w = settle(circuit, x, dc, band, 2e-12)
    assert len(w.times_s) < 200_000
    assert np.isfinite(settling_times(w.times_s, w.currents, dc, band)).all()


def test_capacitance_defaults_and_netlist():
    assert junction_farad() == pytest.approx(4.73e-15, rel=1e-2)
    circuit, x = _array16("tia")
    assert circuit.cell_farad == pytest.approx(junction_farad())
    text = netlist_text(circuit, inputs=x, capacitors=True, rise_s=1e-11)
    assert "Ccell0 top h0 {cj}" in text and "Cr0_0 r0_0 0 6.5e-16" in text and "PWL(0 0 1e-11" in text
    assert "Ccell" not in netlist_text(circuit, inputs=x)


@pytest.mark.bad_input
def test_negative_capacitance_refused():
    with pytest.raises(ParameterError, match="wire_farad_per_m"):
        Capacitance(wire_farad_per_m=-1.0)


@pytest.mark.bad_input
def test_bad_time_step_refused():
    circuit, _ = _array16("tia")
    with pytest.raises(ParameterError, match="time step"):
        TransientSolver(circuit, float("nan"))


@pytest.mark.slow
def test_native_transient_matches_ngspice_tran_to_1e6():
    """The issue's floor: with 0.0625 ps steps both integrators' truncation error is below 1e-6 of the final value."""
    circuit, x = _array16("resistor")
    t_stop, rise, dt = 0.5e-9, 20e-12, 0.0625e-12
    native = TransientSolver(circuit, dt, "trap").step_response(x, int(round(t_stop / dt)), rise_s=rise)
    spice = ngspice_transient(circuit, x, t_stop, dt, rise, method="trap", reltol=1e-8)
    samples = np.arange(2 * rise, t_stop, 20e-12)
    a = np.array([np.interp(samples, native.times_s, native.currents[:, j]) for j in range(16)])
    b = np.array([np.interp(samples, spice.times_s, spice.currents[:, j]) for j in range(16)])
    final = np.abs(NativeSolver(circuit).solve(x).currents).max()
    assert np.abs(a - b).max() <= 1e-6 * final
