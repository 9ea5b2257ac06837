"""Mitigations: states chosen against the arrays as they are (IR drop, faults, variation, non-linear reads)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from xbar.array.circuit import build_circuit
from xbar.network.analog import AnalogNetwork
from xbar.network.circuit_spec import CircuitSpec
from xbar.network.mapping import conductance_step
from xbar.network.mitigation import Mitigation, _layer_states, intended_spec, level_table, mitigate, verify_faults
from xbar.network.mlp import Network
from xbar.solvers.native import NativeSolver
from xbar.util.errors import ParameterError


def tiny(spec: CircuitSpec, w=None) -> AnalogNetwork:
    w = np.array([[0.7, -0.2], [-0.45, 0.9], [0.3, 0.55]]) if w is None else w
    return AnalogNetwork(Network([w], [np.array([0.1, -0.35])]), spec)


def scaled_error(net: AnalogNetwork, tile, states: np.ndarray, target: np.ndarray) -> float:
    """min over a digital gain per output of |c D - T|^2 / |T|^2, D the exact differential weights."""
    xb = net._make_crossbar(replace(tile, states=states))
    eff = NativeSolver(build_circuit(xb)).effective_matrix().T
    d = (eff[:, 0::2] - eff[:, 1::2]) / (net.device.n_cells * conductance_step(net.device))
    c = (d * target).sum(0) / (d * d).sum(0)
    return float(((c * d - target) ** 2).sum() / (target ** 2).sum())


def test_compensation_beats_the_plain_mapping_and_nears_the_exhaustive_optimum():
    """A 3 x 1-weight tile (6 devices of 2 cells, 3^6 = 729 state sets) with strong IR drop (3 kohm wires)."""
    w = np.array([[0.7], [-0.45], [0.3]])
    net = AnalogNetwork(Network([w[:2]], [w[2]]), CircuitSpec(n_cells=2, wire_ohm=3000.0, tile_rows=None,
                                                                tile_cols=None))
    tile = net.tiles[0][0]
    target = w / net.layers[0].scale
    plain = scaled_error(net, tile, tile.states, target)
    states, alpha, solves, _ = _layer_states(net, net.tiles[0], target, Mitigation(compensate=3), None)
    compensated = scaled_error(net, tile, states[0], target)
    best = min(scaled_error(net, tile, np.array(s).reshape(tile.states.shape), target)
               for s in itertools.product(range(3), repeat=tile.states.size))
    assert solves == 3 and alpha.shape == (1,) and (alpha < 1).all()
    assert compensated < 0.5 * plain
    assert best <= compensated <= best + 0.1 * (plain - best)


def test_verify_finds_every_injected_fault_and_the_remapped_tile_meets_the_target():
    """8 % faulty cells (2 % of each kind) on 41 x 24 devices of 3 cells, ideal wires: verify flags exactly the
    faulty devices; device-aware states with disconnection realize every weight whose pair has no short within
    the plain mapping's quantization error, and switch off both devices of a pair with a short."""
    rng = np.random.default_rng(1)
    w, b = rng.uniform(-1, 1, (40, 12)), rng.uniform(-1, 1, 12)
    net = AnalogNetwork(Network([w], [b]), CircuitSpec(n_cells=3, wire_ohm=0.0, fault_rate=0.08,
                                                       tile_rows=None, tile_cols=None))
    tile = net.tiles[0][0]
    kinds = net.spec.faults(net.tile_seed(tile)).kinds((*tile.states.shape, 3))
    assert all((kinds == k).any() for k in (1, 2, 3, 4))
    found = verify_faults(net, tile)
    assert (found["short"] == (kinds == 4).any(axis=2)).all()
    assert ((found["stuck"] | found["open"] | found["short"]) == (kinds > 0).any(axis=2)).all()
    fixed, cost = mitigate(net, Mitigation(device_aware=True, disconnect_shorts=True))
    target = np.vstack([w, b[None]]) / net.layers[0].scale
    t2 = fixed.tiles[0][0]
    held = np.take_along_axis(level_table(fixed, t2, device_aware=True), t2.states[None], axis=0)[0]
    d = (held[:, 0::2] - held[:, 1::2]) / (3 * conductance_step(net.device))
    paired_short = found["short"][:, 0::2] | found["short"][:, 1::2]
    quantization = 0.5 / 3 + 1e-9  # half a level of the plain mapping
    off = np.abs(np.clip(target, -1, 1) - d) > quantization
    faulty_pair = found["short"] | found["stuck"] | found["open"]
    faulty_pair = faulty_pair[:, 0::2] | faulty_pair[:, 1::2]
    assert not (off & ~faulty_pair).any()  # every weight on healthy devices is as good as the plain mapping's
    assert off.sum() < 0.5 * faulty_pair.sum()  # most faulty pairs are absorbed by their other states
    assert (d[paired_short] == 0).all()  # both devices of a pair with a short are switched off
    assert cost["shorted_devices"] == int(found["short"].sum())
    assert cost["spare_pairs_needed"] == int(off.any(axis=0).sum())  # outputs a spare column pair must replace


def test_mitigated_networks_are_compared_with_the_intended_network():
    spec = CircuitSpec(fault_rate=0.05, sigma=0.1)
    assert intended_spec(spec) == replace(spec, fault_rate=0.0, sigma=0.0)
    net = tiny(spec)
    fixed, _ = mitigate(net, Mitigation(device_aware=True))
    x = np.random.default_rng(0).random((5, 3))
    ideal = AnalogNetwork(net.network, intended_spec(spec)).pre_activation(0, x, "ideal")
    assert np.array_equal(fixed.pre_activation(0, x, "ideal"), ideal)


@pytest.mark.parametrize("text, name", [("compensate", "compensate=3"), ("aware,compensate=2", "compensate=2,aware"),
                                        ("none", "none"), ("all", "compensate=3,aware,disconnect,operating-point")])
def test_mitigation_names_round_trip(text, name):
    assert Mitigation.parse(text).name == name
    assert CircuitSpec(mitigation=text).mitigation == name


@pytest.mark.bad_input
@pytest.mark.parametrize("text", ["bogus", "compensate=99", "compensate=x", "aware=1"])
def test_bad_mitigations_are_refused(text):
    with pytest.raises(ParameterError):
        CircuitSpec(mitigation=text)
    proc = subprocess.run([sys.executable, "-m", "xbar.cli", "infer", "--mitigate", text], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "mitigat" in proc.stderr


def test_every_mitigation_reports_what_it_recovered_and_cost(tmp_path):
    out = tmp_path / "m"
    proc = subprocess.run([sys.executable, "-m", "xbar.cli", "infer", "--limit", "80", "--fault-rate", "0.01",
                           "--study", "mitigation", "--out", str(out), "--quiet"], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    rows = [r for r in json.loads((out / "results.json").read_text())["studies"] if r["study"] == "mitigation"]
    assert len(rows) == 8
    for r in rows:
        if r["label"] not in ("none", "calibration (256 images)"):
            assert {"states_changed", "devices", "tile_factorizations", "characterization_reads",
                    "disable_bits"} <= set(r["mitigation"])
    best = max(r["accuracy_analog"] for r in rows)
    assert best > rows[0]["accuracy_analog"] + 0.5  # 1 % faults put the plain mapping near chance
    report = (out / "report.md").read_text()
    assert "## Mitigations" in report and "recovered (points)" in report and "disable bit" in report


def test_a_tile_switched_off_entirely_reads_zero_through_the_adc():
    """Zero weights with disconnection switch every device of a tile off: the ADC's full scale is 0, and
    the tile reads 0 A (it gave NaN in the MNIST design sweep)."""
    w = np.zeros((4, 2))
    w[0, 0] = 0.8
    net = AnalogNetwork(Network([w], [np.zeros(2)]), CircuitSpec(tile_rows=2, tile_cols=4, adc_bits=6))
    fixed, cost = mitigate(net, Mitigation(compensate=1, disconnect_shorts=True))
    off = fixed.disconnected[(0, (1, 0))]
    assert off.all()  # the second row tile holds only zero weights
    z = fixed.pre_activation(0, np.ones((3, 4)))
    assert np.isfinite(z).all() and z[0, 0] > 0 and np.allclose(z[:, 1], 0.0)
