"""Mapping weights to devices, tiling, and whole networks on circuits vs ideal quantized inference."""

import subprocess
import sys

import numpy as np
import pytest

from xbar.network.datasets import load
from xbar.device.library import library_device
from xbar.util.errors import ParameterError
from xbar.experiments.circuits import compare, write_tile_netlists
from xbar.network.circuit_spec import CircuitSpec
from xbar.network.analog import AnalogNetwork
from xbar.network.mapping import (
    conductances,
    map_layer,
    scheme_levels,
    states_from_levels,
    tile_layer,
    weights_from_conductances,
)
from xbar.array.netlist import output_vectors, read_raw, write_netlist
from xbar.solvers import solve
from xbar.network.mlp import trained
from xbar.network.quantize import nearest
from xbar.solvers.ngspice import find_ngspice


@pytest.fixture(scope="module")
def small():
    """A 64-16-10 network on the bundled digits, cached in a temporary directory."""
    import tempfile
    with tempfile.TemporaryDirectory() as cache:
        yield trained("digits", seed=0, hidden=16, epochs=40, cache_dir=cache), load("digits")


def test_scheme_levels_by_hand():
    assert np.allclose(scheme_levels("differential", 1), [-1, 0, 1])
    assert np.allclose(scheme_levels("differential", 2), [-1, -0.5, 0, 0.5, 1])
    assert np.allclose(scheme_levels("reference", 1), [-1, 1])
    assert np.allclose(scheme_levels("reference", 3), [-1, -1 / 3, 1 / 3, 1])
    with pytest.raises(ParameterError, match="unknown mapping scheme 'bogus'"):
        scheme_levels("bogus", 2)


@pytest.mark.parametrize("scheme", ["differential", "reference"])
@pytest.mark.parametrize("cells", [1, 2, 3])
def test_mapping_round_trip_is_exact(scheme, cells):
    device = library_device(thickness_nm=2.0, n_cells=cells)
    w = np.random.default_rng(cells).normal(size=(30, 7))
    mapped = map_layer(w, cells, scheme)
    g = conductances(mapped, device)
    g_ref = None
    if scheme == "reference":
        g_ref = np.full(len(w), 0.5 * (device.conductances()[0] + device.conductances()[-1]))
    w_back = weights_from_conductances(g, device, scheme, mapped.scale, g_ref)
    assert np.allclose(w_back, mapped.weights(), rtol=0, atol=1e-12 * mapped.scale)
    idx = nearest(w_back / mapped.scale, scheme_levels(scheme, cells))
    states = states_from_levels(idx, cells, scheme)
    assert np.array_equal(states, mapped.states)
    assert np.array_equal(device.conductances()[states], g)


def test_tiles_cover_the_layer_once():
    mapped = map_layer(np.random.default_rng(0).normal(size=(65, 17)), 2)
    tiles = tile_layer(mapped, 0, 20, 8)
    covered = np.zeros(mapped.shape, int)
    for t in tiles:
        covered[t.rows[0]:t.rows[1], t.outputs[0]:t.outputs[1]] += 1
        assert t.states.shape == (t.rows[1] - t.rows[0], 2 * (t.outputs[1] - t.outputs[0]))
    assert (covered == 1).all() and len(tiles) == 4 * 5
    assert len(tile_layer(mapped, 0, 1000, 1000)) == 1  # a tile larger than the layer is fine


@pytest.mark.parametrize("scheme", ["differential", "reference"])
@pytest.mark.parametrize("tile", [None, 24])
def test_zero_parasitics_equal_ideal_quantized(small, scheme, tile):
    net, data = small
    spec = CircuitSpec(n_cells=2, wire_ohm=0.0, channel_ohm=0.0, tile_rows=tile, tile_cols=tile, scheme=scheme)
    analog, ideal, layers = AnalogNetwork(net, spec).run(data.x_test[:100])
    assert np.array_equal(analog.argmax(1), ideal.argmax(1))
    assert np.abs(analog - ideal).max() <= 1e-9 * np.abs(ideal).max()
    for res in layers:
        assert np.abs(res.z_analog - res.z_ideal).max() <= 1e-9 * np.abs(res.z_ideal).max()


def test_ideal_quantized_equals_the_quantized_network(small):
    net, data = small
    spec = CircuitSpec(n_cells=3, tile_rows=24, tile_cols=24)
    analog_net = AnalogNetwork(net, spec)
    x = data.x_test[:50]
    _, ideal, _ = analog_net.run(x)
    a = x
    for l, m in enumerate(analog_net.layers):
        wq = m.weights()
        z = a @ wq[:-1] + wq[-1]
        a = z if l == len(analog_net.layers) - 1 else 1 / (1 + np.exp(-z))
    assert np.abs(ideal - a).max() <= 1e-9 * np.abs(a).max()


@pytest.mark.parametrize("scheme", ["differential", "reference"])
def test_ngspice_cross_check_on_20_images(small, scheme):
    net, data = small
    spec = CircuitSpec(n_cells=3, wire_ohm=2.0, tile_rows=40, tile_cols=12, driver_ohm=5.0, scheme=scheme)
    analog_net = AnalogNetwork(net, spec)
    x = data.x_test[:20]
    native, _, native_layers = analog_net.run(x, "native")
    spice, _, spice_layers = analog_net.run(x, "ngspice")
    assert np.abs(native - spice).max() <= 1e-9 * np.abs(native).max()
    for a, b in zip(native_layers, spice_layers):
        assert np.abs(a.z_analog - b.z_analog).max() <= 1e-9 * np.abs(a.z_analog).max()


def test_tile_netlists_run_in_plain_ngspice(small, tmp_path):
    net, data = small
    analog_net = AnalogNetwork(net, CircuitSpec(n_cells=1, wire_ohm=1.0, tile_rows=40, tile_cols=12))
    paths = write_tile_netlists(analog_net, data.x_test[:1], tmp_path)
    assert len(paths) == sum(len(t) for t in analog_net.tiles)
    tile = analog_net.tiles[0][0]
    subprocess.run([find_ngspice(), "-b", "-r", str(tmp_path / "o.raw"), str(paths[0])], check=True,
                   capture_output=True, timeout=120)
    plot = read_raw(tmp_path / "o.raw")[0]
    got = np.array([plot[v][0] for v in output_vectors(analog_net.circuit(tile))])
    v = analog_net.row_voltages(data.x_test[:1])[:, tile.rows[0]:tile.rows[1]]
    expected = analog_net.tile_currents(tile, v)[0]
    assert np.abs(got - expected).max() <= 1e-9 * np.abs(expected).max()


@pytest.mark.parametrize("wire", [1.0, 5.0])
def test_parasitics_do_not_beat_ideal_beyond_noise(small, wire):
    net, data = small
    rec = compare(net, data, CircuitSpec(n_cells=3, wire_ohm=wire, tile_rows=32, tile_cols=32))
    # A fixed seed; the analog answer is an attenuated ideal one, so it may flip a few borderline images.
    assert rec["accuracy_analog"] <= rec["accuracy_ideal_quantized"] + 0.01
    assert rec["top1_agreement"] < 1.0 and rec["layers"][0]["rms_rel"] > 0
    assert all(s["worst_v"] > 0 for s in rec["ir_drop"])


def test_adc_quantizes_currents(small):
    net, data = small
    exact = AnalogNetwork(net, CircuitSpec(wire_ohm=0.5, tile_rows=32, tile_cols=32))
    coarse = AnalogNetwork(net, CircuitSpec(wire_ohm=0.5, tile_rows=32, tile_cols=32, adc_bits=3))
    tile = exact.tiles[0][0]
    v = exact.row_voltages(data.x_test[:5])[:, :32]
    levels = np.unique(coarse.tile_currents(tile, v))
    assert len(levels) <= 8 and not np.allclose(levels.max(), 0)
    assert not np.allclose(exact.tile_currents(tile, v), coarse.tile_currents(tile, v))


@pytest.mark.parametrize("kw, match", [
    (dict(tile_rows=0), "tile_rows must be a positive integer"),
    (dict(v_read=-0.1), "v_read must be a number > 0 and <= 10 V"),
    (dict(n_cells=7), "n_cells must be an integer in 1..6"),
    (dict(thickness_nm=2.9), "free-layer thickness must be a number in 1.6..2.6 nm"),
    (dict(scheme="single"), "unknown mapping scheme"),
    (dict(adc_bits=0), "adc_bits"),
    (dict(wire_ohm=-1.0), "wire_ohm must be a number in 0..1e"),
    (dict(sense="resistor", ref_ohm=0.0), "ref_ohm must be a number in 0.001..1e"),
    (dict(sigma=float("nan")), "variation sigma"),
])
def test_bad_configs(kw, match):
    with pytest.raises(ParameterError, match=match):
        CircuitSpec(**kw)


@pytest.mark.parametrize("args, match", [
    (["--tile", "0"], "argument --tile: must be a positive integer or 'none'"),
    (["--tile", "big"], "argument --tile: must be a positive integer or 'none'"),
    (["--v-read", "-1"], "argument --v-read: must be a number > 0 and <= 10"),
    (["--thickness", "3.1"], "argument --thickness: must be a number in 1.6..2.6"),
    (["--study", "magic"], "unknown study 'magic'"),
])
def test_infer_cli_errors(args, match):
    proc = subprocess.run([sys.executable, "-m", "xbar.cli", "infer", "--quiet", *args], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and match in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_infer_cli_end_to_end(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "xbar.cli", "infer", "--quiet", "--study", "wire",
                           "--limit", "120", "--out", str(out), "--netlist-dir", str(tmp_path / "net")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "ideal quantized" in proc.stdout
    report = (out / "report.md").read_text()
    assert "## IR drop by tile" in report and "| wire | 3 cells, 10 ohm |" in report
    for name in ("ir_drop_heatmap", "accuracy_vs_wire", "analog_vs_ideal"):
        assert (out / f"{name}.png").stat().st_size > 1000 and (out / f"{name}.svg").exists()
    assert len(list((tmp_path / "net").glob("*.cir"))) == 4


def test_calibration_removes_most_of_the_attenuation(small):
    net, data = small
    spec = CircuitSpec(n_cells=3, wire_ohm=5.0, tile_rows=32, tile_cols=32)
    raw = AnalogNetwork(net, spec)
    _, _, raw_layers = raw.run(data.x_test[:200])
    cal = AnalogNetwork(net, spec)
    cal.calibrate(data.x_train[:200])
    _, _, cal_layers = cal.run(data.x_test[:200])
    for r, c in zip(raw_layers, cal_layers):
        assert np.sqrt(np.mean((c.z_analog - c.z_ideal) ** 2)) < 0.5 * np.sqrt(np.mean((r.z_analog - r.z_ideal) ** 2))


def test_calibration_is_identity_without_parasitics(small):
    net, data = small
    analog_net = AnalogNetwork(net, CircuitSpec(wire_ohm=0.0, channel_ohm=0.0, tile_rows=32, tile_cols=32))
    analog_net.calibrate(data.x_train[:100])
    for gain, offset in analog_net.calibration:
        assert np.allclose(gain, 1.0, atol=1e-9) and np.allclose(offset, 0.0, atol=1e-9)


def test_warm_run_builds_no_circuits(small, tmp_path):
    """A second network with the same cache reuses matrices and IR-drop numbers: no circuit, no factorization."""
    net, data = small
    spec = CircuitSpec(n_cells=2, wire_ohm=2.0, tile_rows=32, tile_cols=16)
    x = data.x_test[:20]
    cold = AnalogNetwork(net, spec, cache_dir=tmp_path)
    logits, _, _ = cold.run(x)
    ir_cold = cold.ir_drop(0, x[:4])
    warm = AnalogNetwork(net, spec, cache_dir=tmp_path)
    logits_warm, _, _ = warm.run(x)
    ir_warm = warm.ir_drop(0, x[:4])
    assert not warm._circuits and not warm._solvers
    assert np.array_equal(logits, logits_warm)
    for a, b in zip(ir_cold, ir_warm):
        assert a["worst_v"] == b["worst_v"] and np.array_equal(a["map_rel"], b["map_rel"])
    # Other inputs are other numbers; a damaged cache file is recomputed, not trusted.
    assert warm.ir_drop(0, x[4:8])[0]["worst_v"] != ir_cold[0]["worst_v"]
    for f in (tmp_path / "irdrop").iterdir():
        f.write_bytes(b"not an npz")
    again = AnalogNetwork(net, spec, cache_dir=tmp_path).ir_drop(0, x[:4])
    assert [s["worst_v"] for s in again] == [s["worst_v"] for s in ir_cold]


@pytest.mark.parametrize("scheme", ["differential", "reference"])
def test_tile_netlists_say_what_their_rows_and_columns_are(small, scheme, tmp_path):
    net, data = small
    analog_net = AnalogNetwork(net, CircuitSpec(n_cells=2, wire_ohm=1.0, tile_rows=40, tile_cols=12, scheme=scheme))
    paths = write_tile_netlists(analog_net, data.x_test[:1], tmp_path)
    first, last = paths[0].read_text(), (tmp_path / "layer0_tile1_0.cir").read_text()  # 65 rows: 40 + 25
    outputs = "0..5" if scheme == "differential" else "0..9"  # 12 columns: 6 pairs, or 10 and 2 references
    assert f"* tile: layer 0 rows 0..39 of its 64 inputs + bias, outputs {outputs}" in first
    assert "* bias row: none in this tile" in first and "* bias row: row 24 (row source V24" in last
    assert "* row sources: test input 0 of the dataset, its pixels" in first
    if scheme == "differential":
        assert "* differential pairs: columns 4 (+) and 5 (-) give output 2 (I+ - I-)" in first
    else:
        assert "reference columns 10 (all devices in state 0) and 11 (all in state 2)" in first
    # the same tile as a component, in a testbench with finite-gain TIAs, reproduces the native tile
    from xbar.array import testbench as tb
    tile = analog_net.tiles[0][0]
    circuit = analog_net.circuit(tile)
    write_netlist(circuit, tmp_path / "tile.cir", subckt="tile0")
    v = analog_net.row_voltages(data.x_test[:1])[0, tile.rows[0]:tile.rows[1]]
    (tmp_path / "tb.cir").write_text(tb.testbench_text(circuit, v, "tile.cir", "tile0"))
    subprocess.run([find_ngspice(), "-b", "-r", str(tmp_path / "tb.raw"), str(tmp_path / "tb.cir")], check=True,
                   capture_output=True, timeout=120)
    got, _ = tb.testbench_currents(read_raw(tmp_path / "tb.raw")[-1], circuit)
    expected = solve(tb.equivalent_crossbar(circuit.crossbar, tb.SenseAmplifier()), [v]).currents[0]
    assert np.abs(got - expected).max() <= 1e-9 * np.abs(expected).max()
