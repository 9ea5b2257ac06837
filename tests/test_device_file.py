"""Device files: measured-state and multi-sized devices, their circuits, networks on them, bad files."""

import subprocess
import sys

import numpy as np
import pytest

from xbar.array.circuit import build_circuit
from xbar.array.crossbar import Crossbar
from xbar.network.datasets import load
from xbar.device.files import load_device, shipped_devices, state_spacing_pct
from xbar.device.compound import CompoundMTJ
from xbar.device.variation import Variation
from xbar.util.errors import ParameterError
from xbar.network.circuit_spec import CircuitSpec
from xbar.network.analog import AnalogNetwork
from xbar.array.netlist import netlist_text
from xbar.network.mlp import trained
from xbar.solvers import solve

MEASURED = "state_ohm = [40000, 33000, 27200, 22400]\n"


def rel(a, b):
    return np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max()


def write(tmp_path, text, name="dev.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("backend", ["native", "ngspice"])
def test_measured_states_are_reproduced_exactly(tmp_path, backend):
    dev = load_device(write(tmp_path, MEASURED))
    assert dev.n_cells == 3 and dev.channel_ohm == 0.0
    assert rel(dev.resistances(), [40000, 33000, 27200, 22400]) <= 1e-15
    # One device per column, each column in another state; zero wires: I = V / R_k.
    xb = Crossbar(dev, np.array([[0, 1, 2, 3]]))
    currents = solve(xb, [[0.1]], backend).currents[0]
    assert rel(currents, 0.1 / np.array([40000, 33000, 27200, 22400])) <= 1e-12
    assert "mean of cells that differ" in netlist_text(build_circuit(xb))


def test_multi_sized_cells_from_ra_and_area(tmp_path):
    dev = load_device(write(tmp_path, "channel_ohm = 300\n" + "".join(
        f"[[cell]]\narea_um2 = {a}\nra_ohm_um2 = 2200\ntmr_percent = 78\n" for a in (0.081, 0.0982, 0.119))))
    assert rel(dev.cell_r_p(), 2200 / np.array([0.081, 0.0982, 0.119])) <= 1e-15
    assert rel(dev.cell_r_ap(), 1.78 * 2200 / np.array([0.081, 0.0982, 0.119])) <= 1e-15
    assert dev.channel_ohm == 300.0
    g = 1 / dev.cell_r_ap()
    assert rel(dev.conductances()[1], g.sum() - g[0] + 1 / dev.cell_r_p()[0]) <= 1e-15


def test_shipped_devices_have_the_papers_state_spacing():
    assert {"measured-21pct", "multisize-2p6nm"} <= set(shipped_devices())
    for name in shipped_devices():
        assert state_spacing_pct(load_device(name)).min() >= 21.0


def test_state_spread_and_heterogeneous_cells_agree_with_ngspice():
    dev = load_device("measured-21pct")
    dev = CompoundMTJ(dev.mtj, dev.n_cells, 600.0, dev.cells, dev.state_sigma)
    states = np.random.default_rng(0).integers(0, 4, (6, 5))
    xb = Crossbar(dev, states, row_wire_ohm=1.0, col_wire_ohm=2.0, variation=Variation.typical(1))
    # the per-state spread scales every cell of a device by one factor
    ratio = xb.cell_ohm() / Crossbar(dev, states, row_wire_ohm=1.0, col_wire_ohm=2.0,
                                     variation=Variation.typical(1)).cell_ohm()
    assert np.allclose(ratio, 1.0)
    x = np.random.default_rng(1).uniform(0, 0.1, (2, 6))
    assert rel(solve(xb, x, "ngspice").currents, solve(xb, x).currents) <= 1e-9


@pytest.mark.parametrize("device", ["measured", "multisize-2p6nm"])
@pytest.mark.parametrize("scheme", ["differential", "reference"])
def test_network_on_a_device_file_zero_parasitics_equals_ideal(tmp_path, device, scheme):
    import tempfile
    if device == "measured":  # without a per-state spread, so the devices hold their nominal levels
        device = str(write(tmp_path, MEASURED))
    with tempfile.TemporaryDirectory() as cache:
        net = trained("digits", seed=0, hidden=16, epochs=40, cache_dir=cache)
    x = load("digits").x_test[:60]
    spec = CircuitSpec(device_file=device, wire_ohm=0.0, channel_ohm=0.0, tile_rows=24, tile_cols=24, scheme=scheme)
    analog_net = AnalogNetwork(net, spec)
    analog, ideal, _ = analog_net.run(x)
    assert np.abs(analog - ideal).max() <= 1e-9 * np.abs(ideal).max()
    # the quantized weights sit on the device's uneven levels, and ideal inference is exactly them
    a = x
    for l, m in enumerate(analog_net.layers):
        wq = m.weights()
        z = a @ wq[:-1] + wq[-1]
        a = z if l == len(analog_net.layers) - 1 else 1 / (1 + np.exp(-z))
    assert np.abs(ideal - a).max() <= 1e-9 * np.abs(a).max()
    f = load_device(device).level_fractions()
    levels = np.unique(np.round(analog_net.layers[0].levels(), 12))
    allowed = np.round(np.concatenate([f, -f]) if scheme == "differential" else 2 * f - 1, 12)
    assert set(levels) <= set(allowed)


BAD_FILES = [
    ("state_ohm = [40000, 33000\n", "not valid TOML"),
    ("state_ohm = [40000, 45000, 30000]\n", r"state 1 \(45000 ohm\) is not below state 0"),
    ("state_ohm = [40000]\n", "2..7 states"),
    ("state_ohm = [40000, -3]\n", r"state_ohm\[1\] must be a number in 1..1e\+09 ohm"),
    ("state_ohm = [40000, 'a']\n", r"state_ohm\[1\] must be a number"),
    ("state_ohm = [40000, 30000]\nstate_sigma = [0.1]\n", "state_sigma has 1 values for 2 states"),
    ("state_ohm = [40000, 30000]\n[[cell]]\nr_p_ohm = 1\nr_ap_ohm = 2\n", "exactly one of them"),
    ("colour = 3\nstate_ohm = [2, 1]\n", "unknown key 'colour'"),
    ("[[cell]]\nr_p_ohm = 3e4\nr_ap_ohm = 2e4\n", "must not be below R_P"),
    ("[[cell]]\nr_p_ohm = 3e4\n", "needs exactly r_p_ohm and r_ap_ohm"),
    ("[[cell]]\narea_um2 = 0.1\nra_ohm_um2 = 2200\ntmr_percent = 40\nsize = 2\n", "unknown key 'size'"),
    ("name = \"x\\ny\"\nstate_ohm = [2, 1]\n", "name must be text"),
    ("channel_ohm = -1\nstate_ohm = [2, 1]\n", r"channel_ohm must be a number in 0..1e\+09 ohm"),
    ("state_ohm = [40000, 30000]\nstate_sigma = [0.02, 100]\n", r"state_sigma\[1\] must be a number in 0..1"),
    ("", "give either state_ohm"),
]


@pytest.mark.bad_input
@pytest.mark.parametrize("text, match", BAD_FILES)
def test_bad_device_files_are_refused(tmp_path, text, match):
    with pytest.raises(ParameterError, match=match) as info:
        load_device(write(tmp_path, text))
    assert "\n" not in str(info.value) and str(tmp_path) in str(info.value)


@pytest.mark.bad_input
@pytest.mark.parametrize("command", [
    ["netlist", "-o", "{out}/x.cir"],
    ["solve", "-o", "{out}/x.csv"],
    ["infer", "--study", "none", "--out", "{out}/infer"],
    ["reproduce", "--quick", "--out", "{out}/rep"],
])
def test_bad_device_file_on_the_command_line_writes_nothing(tmp_path, command):
    bad = write(tmp_path, "state_ohm = [40000, 45000]\n")
    out = tmp_path / "out"
    out.mkdir()
    args = [a.format(out=out) for a in command] + ["--device", str(bad)]
    proc = subprocess.run([sys.executable, "-m", "xbar.cli", *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert proc.stderr.count("\n") == 1 and "is not below state 0" in proc.stderr, proc.stderr
    assert list(out.iterdir()) == []
    missing = subprocess.run([sys.executable, "-m", "xbar.cli", *args[:-1], str(tmp_path / "nope.toml")],
                             capture_output=True, text=True, timeout=300)
    assert missing.returncode != 0 and missing.stderr.count("\n") == 1 and "cannot read" in missing.stderr
    assert list(out.iterdir()) == []
