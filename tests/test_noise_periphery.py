"""Noise against Johnson-Nyquist and shot-noise closed forms; periphery models."""

import numpy as np
import pytest

from xbar.analysis.noise import K_B, Q_E, junction_psd, output_noise_psd, output_noise_rms, read_bandwidth_hz
from xbar.array.circuit import build_circuit
from xbar.array.crossbar import Crossbar
from xbar.device.junction import MTJ
from xbar.device.compound import CompoundMTJ
from xbar.util.errors import ParameterError
from xbar.analysis.periphery import Periphery, tile_periphery
from xbar.solvers.adjoint import adjoint_voltages
from xbar.solvers.native import NativeSolver

T = 300.0


def _noise(xb, v):
    c = build_circuit(xb)
    s = NativeSolver(c)
    return c, s, output_noise_psd(c, s.node_voltages(v), adjoint_voltages(s))


def test_single_resistor_is_4ktr():
    """One junction at zero bias, nothing else: its current noise into the TIA is 4kT/R."""
    xb = Crossbar(CompoundMTJ(MTJ(10e3, 20e3), 1, channel_ohm=0.0), np.ones((1, 1), dtype=int))
    _, _, p = _noise(xb, [0.0])
    assert p["total"][0, 0] == pytest.approx(4 * K_B * T / 10e3, rel=1e-12)


def test_junction_shot_noise_is_2qi():
    """At 1 V (qV/2kT ~ 19) the junction's noise is its full shot noise 2qI."""
    xb = Crossbar(CompoundMTJ(MTJ(10e3, 20e3), 1, channel_ohm=0.0), np.ones((1, 1), dtype=int))
    _, _, p = _noise(xb, [1.0])
    assert p["shot"][0, 0] == pytest.approx(2 * Q_E * 1.0 / 10e3, rel=1e-12)
    assert p["thermal"][0, 0] == 0.0


def test_junction_psd_limits():
    r = 5e3
    assert junction_psd(0.0, r) == pytest.approx(4 * K_B * T / r, rel=1e-12)
    assert junction_psd(2.0, r) == pytest.approx(2 * Q_E * 2.0 / r, rel=1e-12)


@pytest.mark.parametrize("sense", ["tia", "resistor"])
def test_series_network_obeys_nyquist(sense):
    """A 1x1 array at zero bias with every parasitic is a passive two-terminal: S = 4kT Re(Y) (TIA)
    or 4kT Re(Z_out) / R_ref^2 (resistor sensing)."""
    xb = Crossbar(CompoundMTJ(MTJ(10e3, 20e3), 3), np.array([[2]]), driver_ohm=1e3, access_ohm=50,
                  row_wire_ohm=3, col_wire_ohm=4, sense=sense, ref_ohm=1e5)
    c, s, p = _noise(xb, [0.0])
    if sense == "tia":
        g_series = s.solve([1.0]).currents[0, 0]
        expected = 4 * K_B * T * g_series
    else:
        v_out = s.solve([1.0]).voltages[0, 0]          # divider: v_out = R_ref / (R_ref + R_series)
        r_series = xb.ref_ohm * (1 - v_out) / v_out
        z_out = 1 / (1 / xb.ref_ohm + 1 / r_series)
        expected = 4 * K_B * T * z_out / xb.ref_ohm ** 2
    assert p["total"][0, 0] == pytest.approx(expected, rel=1e-10)


def test_rms_over_read_bandwidth():
    xb = Crossbar(CompoundMTJ(MTJ(10e3, 20e3), 1, channel_ohm=0.0), np.ones((1, 1), dtype=int))
    c = build_circuit(xb)
    s = NativeSolver(c)
    rms = output_noise_rms(c, s.node_voltages([0.0]), adjoint_voltages(s), 30e-9)
    assert rms[0, 0] == pytest.approx(np.sqrt(4 * K_B * T / 10e3 / 60e-9), rel=1e-12)
    assert read_bandwidth_hz(30e-9) == pytest.approx(1 / 60e-9)


def test_periphery_models():
    p = Periphery()
    assert p.adc_conversion_j() == pytest.approx(10e-15 * 2 ** 7.5)
    out = tile_periphery(p, 128, 128, 30e-9, row_farad=np.full(128, 1e-12), row_volt_sq=np.full(128, 0.01))
    assert out["energy_j"]["row_charge_cv2"] == pytest.approx(128 * 1e-14)
    assert out["energy_j"]["tia"] == pytest.approx(128 * 1.0 * 10e-6 * 30e-9)
    assert out["delay_s"]["adc"] == pytest.approx(16 / 100e6)


@pytest.mark.bad_input
def test_bad_periphery_refused():
    with pytest.raises(ParameterError, match="adc_bits"):
        Periphery(adc_bits=0)
    with pytest.raises(ParameterError, match="tia_gbw_hz"):
        Periphery(tia_gbw_hz=float("inf"))


def test_cli_solve_energy_and_settle(tmp_path):
    import json

    from xbar.cli import main
    out = tmp_path / "e.json"
    assert main(["solve", "--rows", "6", "--cols", "5", "--driver-ohm", "100", "--energy", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["tellegen_error"] <= 1e-12
    assert data["array_j"]["total"] == pytest.approx(sum(data["array_j"][k] for k in data["array_parts"]), rel=1e-12)
    assert "periphery" in data and data["periphery"]["note"].startswith("models")
    summary = tmp_path / "s.json"
    assert main(["settle", "--rows", "6", "--cols", "5", "--driver-ohm", "1000", "-o", str(tmp_path / "w.npz"),
                 "--json", str(summary)]) == 0
    s = json.loads(summary.read_text())
    assert 0 < s["worst_s"] < 1e-8
    w = np.load(tmp_path / "w.npz")
    assert w["currents_a"].shape[1] == 5


@pytest.mark.bad_input
def test_cli_bad_t_read(capsys):
    from xbar.cli import main
    try:
        status = main(["solve", "--rows", "3", "--cols", "3", "--energy", "/tmp/never.json", "--t-read", "0"])
    except SystemExit as exc:
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err
    assert "t-read" in err and len(err.strip().splitlines()) == 1


def test_read_noise_injection_is_seeded_and_bites_at_low_v_read():
    from xbar.network.datasets import load
    from xbar.network.circuit_spec import CircuitSpec
    from xbar.network.analog import AnalogNetwork
    from xbar.network.mlp import trained
    data = load("digits")
    net = trained("digits", seed=0, progress=False)
    x, y = data.x_test[:80], data.y_test[:80]

    def acc(**kw):
        logits, _, _ = AnalogNetwork(net, CircuitSpec(**kw)).run(x)
        return float(np.mean(logits.argmax(1) == y)), logits

    clean, _ = acc(v_read=0.0005)
    a1, l1 = acc(v_read=0.0005, read_noise_t_s=30e-9, noise_seed=3)
    a2, l2 = acc(v_read=0.0005, read_noise_t_s=30e-9, noise_seed=3)
    assert np.array_equal(l1, l2)
    assert a1 < clean - 0.2          # at 0.5 mV the noise swamps the signal
    high, _ = acc(v_read=0.1, read_noise_t_s=30e-9)
    assert abs(high - acc(v_read=0.1)[0]) <= 0.02


@pytest.mark.bad_input
def test_bad_read_noise_time_refused():
    from xbar.network.circuit_spec import CircuitSpec
    with pytest.raises(ParameterError, match="read_noise_t_s"):
        CircuitSpec(read_noise_t_s=-1.0)


@pytest.mark.bad_input
def test_energy_noise_and_settling_refuse_non_linear_circuits_in_the_api():
    # The CLI refused them; from Python a V_h circuit came back with the zero-bias network's numbers.
    from xbar.analysis.readout import array_energy, array_noise, array_settling
    from xbar.device.library import library_device
    c = build_circuit(Crossbar(library_device(thickness_nm=1.9, n_cells=2, v_half_volt=0.5), np.ones((4, 4), int),
                               row_wire_ohm=1.0))
    x = np.full((1, 4), 0.1)
    for call in (lambda: array_energy(c, x), lambda: array_noise(c, x), lambda: array_settling(c, x[0])):
        with pytest.raises(ParameterError, match="linear circuits only: this one has non-linear junctions"):
            call()
