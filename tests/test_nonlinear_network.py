"""Networks on non-linear (bias-dependent TMR) tiles, read disturb, and the --vh options."""

import subprocess
import sys

import numpy as np
import pytest

from xbar.analysis.read_disturb import channel_area_m2, channel_current_density, read_disturb
from xbar.network.datasets import load
from xbar.util.errors import ParameterError
from xbar.network.circuit_spec import CircuitSpec
from xbar.network.analog import AnalogNetwork
from xbar.network.mlp import trained
from xbar.device.switching import SwitchingParams, critical_current, thermal_stability


@pytest.fixture(scope="module")
def small():
    import tempfile
    with tempfile.TemporaryDirectory() as cache:
        yield trained("digits", seed=0, hidden=16, epochs=40, cache_dir=cache), load("digits")


def test_network_on_nonlinear_tiles_matches_ngspice(small):
    net, data = small
    spec = CircuitSpec(n_cells=2, wire_ohm=2.0, tile_rows=40, tile_cols=12, v_read=0.5, v_half_volt=0.3)
    analog_net = AnalogNetwork(net, spec)
    x = data.x_test[:6]
    native, _, layers = analog_net.run(x, "native")
    spice, _, spice_layers = analog_net.run(x, "ngspice")
    assert np.abs(native - spice).max() <= 1e-9 * np.abs(native).max()
    for a, b in zip(layers, spice_layers):
        assert np.abs(a.z_analog - b.z_analog).max() <= 1e-9 * np.abs(a.z_analog).max()


def test_network_huge_vh_is_linear_and_real_vh_is_not(small):
    net, data = small
    x = data.x_test[:20]
    base = dict(n_cells=3, wire_ohm=1.0, tile_rows=40, tile_cols=12, v_read=0.5)
    lin, _, _ = AnalogNetwork(net, CircuitSpec(**base)).run(x)
    huge, _, _ = AnalogNetwork(net, CircuitSpec(**base, v_half_volt=1e9)).run(x)
    real, _, _ = AnalogNetwork(net, CircuitSpec(**base, v_half_volt=0.5)).run(x)
    assert np.abs(huge - lin).max() <= 1e-10 * np.abs(lin).max()
    # At V_read = V_h the AP cells lose up to half their TMR: logits move by percents, not ppm.
    assert np.abs(real - lin).max() >= 1e-2 * np.abs(lin).max()


@pytest.mark.bad_input
def test_spec_refuses_absurd_vh():
    with pytest.raises(ParameterError):
        CircuitSpec(v_half_volt=1e-6)


def test_read_disturb_by_hand():
    p = SwitchingParams()
    assert channel_area_m2(p) == pytest.approx(0.9e-6 * 14e-9, rel=1e-12)
    assert channel_current_density(-12.6e-6, p) == pytest.approx(1e9, rel=1e-12)  # 12.6 uA over 1.26e-14 m^2
    ic0, delta = critical_current(p, 1.9, field_mt=0.0), thermal_stability(p, 1.9)
    rd = read_disturb([1e-6, -0.5 * ic0], 1.9, p, read_s=10e-9)
    assert rd["j_over_jc0"] == pytest.approx(0.5, rel=1e-12)
    expected = 1 - np.exp(-(10e-9 / p.tau0_s) * np.exp(-delta * 0.5))
    assert rd["probability_per_read"] == pytest.approx(expected, rel=1e-9)
    # J_c0 of the paper's stack is of the usual SOT order, 1e7..1e8 A/cm^2.
    assert 1e11 <= rd["j_c0_a_per_m2"] <= 1e12


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "xbar.cli", *args], capture_output=True, text=True, timeout=300)


def test_solve_cli_with_vh_reports_newton():
    proc = _cli("solve", "--rows", "6", "--cols", "5", "--vh", "0.5", "--v-read", "0.5")
    assert proc.returncode == 0, proc.stderr
    assert "Newton converged to 1e-12" in proc.stdout


@pytest.mark.bad_input
@pytest.mark.parametrize("command", ["solve", "netlist", "infer"])
def test_cli_refuses_absurd_vh(command):
    extra = ["-o", "/nonexistent/x.cir"] if command == "netlist" else []
    proc = _cli(command, "--vh", "1e-9", *extra)
    assert proc.returncode == 2 and "V_h must be a voltage" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_nonlinear_study_is_opt_in_and_spans_vread_and_vh():
    from xbar.experiments.studies import parse_studies, study_specs
    assert "nonlinear" not in parse_studies(["all"]) and parse_studies(["nonlinear"]) == ("nonlinear",)
    points = study_specs(CircuitSpec(), ("nonlinear",))
    assert len(points) == 15
    assert {p[2].v_half_volt for p in points} == {None, 0.5, 0.3}
    assert {p[2].v_read for p in points} == {0.05, 0.1, 0.2, 0.3, 0.5}


def _device_file(tmp_path, extra=""):
    path = tmp_path / "dev.toml"
    path.write_text('name = "two cells"\n' + extra + "[[cell]]\nr_p_ohm = 20000\nr_ap_ohm = 34000\n"
                    "[[cell]]\nr_p_ohm = 24000\nr_ap_ohm = 40000\n")
    return path


def test_device_file_carries_vh_and_the_spec_overrides_it(tmp_path, small):
    from xbar.device.files import load_device
    dev = load_device(_device_file(tmp_path, "v_half_volt = 0.4\n"))
    assert dev.mtj.v_half_volt == 0.4 and all(c.v_half_volt == 0.4 for c in dev.cells)
    assert load_device(_device_file(tmp_path)).mtj.linear
    assert CircuitSpec(device_file=str(tmp_path / "dev.toml"), v_half_volt=0.3).device().mtj.v_half_volt == 0.3
    # A device file's own V_h makes the tiles non-linear even when the spec says nothing.
    net, data = small
    x = data.x_test[:8]
    base = dict(wire_ohm=1.0, tile_rows=40, tile_cols=12, v_read=0.5)
    lin, _, _ = AnalogNetwork(net, CircuitSpec(**base, device_file=str(_device_file(tmp_path)))).run(x)
    nonlin, _, _ = AnalogNetwork(net, CircuitSpec(**base, device_file=str(_device_file(tmp_path, "v_half_volt = 0.4\n")))).run(x)
    assert np.abs(nonlin - lin).max() >= 1e-2 * np.abs(lin).max()
    spec = CircuitSpec(**base, device_file=str(_device_file(tmp_path)), v_half_volt=0.4)
    again, _, _ = AnalogNetwork(net, spec).run(x)
    assert np.abs(again - nonlin).max() <= 1e-12 * np.abs(nonlin).max()


@pytest.mark.bad_input
@pytest.mark.parametrize("value", ['"0.5"', "0.001", "-1", "true", "nan"])
def test_device_file_refuses_bad_vh(tmp_path, value):
    from xbar.device.files import load_device
    with pytest.raises(ParameterError) as err:
        load_device(_device_file(tmp_path, f"v_half_volt = {value}\n"))
    assert "v_half_volt" in str(err.value) and "\n" not in str(err.value)


def test_cli_vh_with_a_device_file(tmp_path):
    path = _device_file(tmp_path)
    proc = _cli("solve", "--device", str(path), "--rows", "4", "--cols", "3", "--vh", "0.5", "--v-read", "0.5")
    assert proc.returncode == 0, proc.stderr
    assert "Newton converged to 1e-12" in proc.stdout
    proc = _cli("settle", "--device", str(_device_file(tmp_path, "v_half_volt = 0.5\n")), "--rows", "4",
                "--cols", "3")
    assert proc.returncode == 2 and "linear junctions only" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_sweep_vh_fixes_v_half_for_every_point(tmp_path):
    out = tmp_path / "s.jsonl"
    proc = _cli("sweep", "-e", "inference", "-p", "v_read=0.1,0.5", "-p", "n_test=20", "-p", "hidden=16",
                "-p", "epochs=20", "--vh", "0.5", "-o", str(out), "-w", "1", "--quiet")
    assert proc.returncode == 0, proc.stderr
    import json
    records = [json.loads(line) for line in out.read_text().splitlines()[1:]]
    assert len(records) == 2 and all(r["params"]["v_half_volt"] == 0.5 for r in records)


def test_infer_record_says_how_the_junctions_were_solved(small):
    from xbar.experiments.circuits import compare
    from xbar.experiments.infer_report import junction_solver_line
    net, data = small
    spec = CircuitSpec(n_cells=2, wire_ohm=1.0, tile_rows=40, tile_cols=12, v_read=0.3, v_half_volt=0.5)
    js = compare(net, data, spec, n_test=12)["junction_solver"]
    assert js["method"] == "chord" and js["tol"] == 1e-12 and js["newton_vectors"] == 0
    assert 2 <= js["back_substitutions_per_vector"] <= 8
    assert "chord iteration to 1e-12" in junction_solver_line(js)
    assert "junction_solver" not in compare(net, data, CircuitSpec(n_cells=2, tile_rows=40, tile_cols=12), n_test=4)
