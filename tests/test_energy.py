"""Exact read power: Tellegen balance, the breakdown, energy per read, and ngspice's operating point."""

import numpy as np
import pytest

from xbar.analysis.energy import READ_PULSE_S, PARTS, efficiency, moment_vectors, power_breakdown
from xbar.array.circuit import build_circuit
from xbar.array.crossbar import Crossbar
from xbar.device.library import library_device
from xbar.util.errors import ParameterError
from xbar.solvers.native import NativeSolver
from xbar.solvers.ngspice_tran import ngspice_operating_point


def _array(sense, rows=12, cols=10, seed=0, **kw):
    rng = np.random.default_rng(seed)
    params = dict(row_wire_ohm=1.0, col_wire_ohm=2.0, driver_ohm=100.0, access_ohm=10.0, sense=sense)
    params.update(kw)
    xb = Crossbar(library_device(thickness_nm=1.9, n_cells=3), rng.integers(0, 4, (rows, cols)), **params)
    return build_circuit(xb), rng.uniform(0, 0.1, (5, rows))


@pytest.mark.parametrize("sense", ["tia", "resistor"])
def test_tellegen_every_parasitic(sense):
    circuit, x = _array(sense)
    pb = power_breakdown(circuit, NativeSolver(circuit).node_voltages(x))
    assert pb.tellegen_error <= 1e-12
    assert set(PARTS) <= set(pb.parts_w)
    for name in ("cells", "channel", "row_wires", "col_wires", "drivers", "access"):
        assert (pb.parts_w[name] > 0).all(), name
    assert (pb.parts_w["sense"] > 0).all() == (sense == "resistor")
    # Only the row sources deliver power; the TIA's 0 V sources deliver none.
    assert np.allclose(pb.per_source_w[:, x.shape[1]:], 0.0)


def test_ideal_array_power_is_sum_v2_g():
    """No parasitics: every cell sees its row voltage, so P = sum_i V_i^2 sum_j G_ij."""
    rng = np.random.default_rng(3)
    dev = library_device(thickness_nm=1.9, n_cells=2)
    from xbar.device.compound import CompoundMTJ
    dev = CompoundMTJ(dev.mtj, 2, channel_ohm=0.0)
    xb = Crossbar(dev, rng.integers(0, 3, (6, 5)))
    c = build_circuit(xb)
    x = rng.uniform(0, 0.1, (3, 6))
    pb = power_breakdown(c, NativeSolver(c).node_voltages(x))
    g = (1.0 / c.cell_ohm).sum(axis=2)
    expected = (x ** 2) @ g.sum(axis=1)
    assert np.allclose(pb.source_w, expected, rtol=1e-13)
    assert np.allclose(pb.parts_w["cells"], expected, rtol=1e-13)
    e = pb.energy_j()
    assert e["total"] == pytest.approx(expected.sum() * READ_PULSE_S, rel=1e-13)


def test_moment_vectors_give_the_summed_power():
    circuit, _ = _array("tia", rows=6, cols=4)
    x = np.random.default_rng(1).uniform(0, 0.1, (40, 6))
    solver = NativeSolver(circuit)
    full = power_breakdown(circuit, solver.node_voltages(x))
    few = power_breakdown(circuit, solver.node_voltages(moment_vectors(x)))
    assert len(moment_vectors(x)) == 6
    assert few.source_w.sum() == pytest.approx(full.source_w.sum(), rel=1e-12)
    for k in full.parts_w:
        assert few.parts_w[k].sum() == pytest.approx(full.parts_w[k].sum(), rel=1e-10, abs=1e-30)


def test_efficiency_units():
    eff = efficiency(1e-12, 1000)  # 1 pJ over 1000 MACs: 1 fJ/MAC, 2 ops per fJ = 2000 TOPS/W
    assert eff["fj_per_mac"] == pytest.approx(1.0)
    assert eff["tops_per_w"] == pytest.approx(2000.0)


@pytest.mark.bad_input
def test_bad_read_time_refused():
    circuit, x = _array("tia", rows=3, cols=3)
    pb = power_breakdown(circuit, NativeSolver(circuit).node_voltages(x[:, :3]))
    with pytest.raises(ParameterError, match="read time"):
        pb.energy_j(-1e-9)


@pytest.mark.bad_input
def test_wrong_voltage_shape_refused():
    circuit, _ = _array("tia", rows=3, cols=3)
    with pytest.raises(ParameterError, match="node voltages"):
        power_breakdown(circuit, np.zeros((2, 5)))


@pytest.mark.parametrize("sense", ["tia", "resistor"])
def test_ngspice_operating_point_energy(sense):
    """ngspice's own node voltages and source currents give the same breakdown as the native solution."""
    circuit, x = _array(sense, rows=6, cols=5)
    v, i = ngspice_operating_point(circuit, x[0])
    native = NativeSolver(circuit).node_voltages(x[:1])
    assert np.abs(v - native[0]).max() <= 1e-12
    spice = power_breakdown(circuit, v[None], i[None])
    ref = power_breakdown(circuit, native)
    assert spice.tellegen_error <= 1e-9  # ngspice's own solve, without refinement
    assert spice.source_w[0] == pytest.approx(ref.source_w[0], rel=1e-9)
