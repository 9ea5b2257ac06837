"""Solvers against hand-solved circuits, Kirchhoff's laws, the ideal VMM and each other."""

import numpy as np
import pytest

from xbar.array.circuit import build_circuit
from xbar.array.crossbar import Crossbar
from xbar.device.junction import MTJ
from xbar.device.compound import CompoundMTJ
from xbar.device.variation import Variation
from xbar.device.library import library_device
from xbar.solvers import make_solver, solve
from xbar.solvers.native import device_transfer

MTJ_A = MTJ(r_p=10e3, r_ap=25e3)


def rel(a, b):
    return np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max()


def random_crossbar(rows, cols, cells, sense, seed=0, **kw):
    rng = np.random.default_rng(seed)
    defaults = dict(row_wire_ohm=1.5, col_wire_ohm=2.5, driver_ohm=20.0, access_ohm=5.0)
    defaults.update(kw)
    return Crossbar(library_device(thickness_nm=1.9, n_cells=cells), rng.integers(0, cells + 1, (rows, cols)), sense=sense,
                    variation=Variation(0.05, seed), **defaults)


@pytest.mark.parametrize("sense", ["tia", "resistor"])
@pytest.mark.parametrize("backend", ["native", "ngspice"])
def test_1x1_hand_solved(sense, backend):
    # Series path: driver, row segment, cell, half the 1-cell channel, column segment, sense.
    dev = CompoundMTJ(MTJ_A, 1, channel_ohm=300.0)
    xb = Crossbar(dev, np.array([[1]]), row_wire_ohm=2.0, col_wire_ohm=3.0, driver_ohm=50.0,
                  sense=sense, ref_ohm=1e6)
    series = 50.0 + 2.0 + 10e3 + 150.0 + 3.0 + (1e6 if sense == "resistor" else 0.0)
    sol = solve(xb, [[0.1]], backend)
    assert rel(sol.currents, [[0.1 / series]]) <= 1e-12
    if sense == "resistor":
        assert rel(sol.voltages, [[0.1 / series * 1e6]]) <= 1e-12


def test_two_cell_device_hand_solved():
    # Cells R0 at channel node h0, R1 at h1; segments s: h1-h0 and h0-read terminal.
    r0, r1, s = 10e3, 25e3, 150.0
    r_eq = s + 1.0 / (1.0 / r0 + 1.0 / (r1 + s))
    g, frac = device_transfer(np.array([[r0, r1]]), s)
    assert rel(g, [1.0 / r_eq]) <= 1e-12
    i_total = 1.0 / r_eq
    v_h0 = i_total * s
    i1 = (1.0 - v_h0) / (r1 + s)
    assert rel(frac[0], [1.0 - v_h0, i1 * r1]) <= 1e-12
    xb = Crossbar(CompoundMTJ(MTJ(r0, r1), 2, channel_ohm=3 * s), np.array([[True, False]])[None])
    assert rel(solve(xb, [[0.2]], "ngspice").currents, [[0.2 / r_eq]]) <= 1e-12


@pytest.mark.parametrize("backend", ["native", "ngspice"])
def test_2x2_row_wires_hand_solved(backend):
    # Ideal columns at virtual ground decouple the rows; each row is a 2-node ladder.
    dev = CompoundMTJ(MTJ_A, 1, channel_ohm=0.0)
    states = np.array([[1, 0], [0, 1]])
    r = 7.0
    xb = Crossbar(dev, states, row_wire_ohm=r)
    g = np.where(states == 1, 1 / 10e3, 1 / 25e3)
    v = np.array([0.1, 0.05])
    expected = np.zeros(2)
    for i in range(2):
        g0, g1 = g[i]
        va = v[i] / (1 + r * g0 + r * g1 / (1 + r * g1))
        vb = va / (1 + r * g1)
        expected += [va * g0, vb * g1]
    assert rel(solve(xb, v[None], backend).currents, expected[None]) <= 1e-12


@pytest.mark.parametrize("backend", ["native", "ngspice"])
def test_2x2_column_wires_hand_solved(backend):
    # Ideal rows and drivers: each column is a ladder fed from both rows at the same input voltage.
    dev = CompoundMTJ(MTJ_A, 1, channel_ohm=0.0)
    states = np.array([[1, 0], [1, 1]])
    c = 11.0
    xb = Crossbar(dev, states, col_wire_ohm=c)
    g = np.where(states == 1, 1 / 10e3, 1 / 25e3)
    v = np.array([0.08, 0.03])
    expected = []
    for j in range(2):
        g0, g1 = g[:, j]
        # Nodes a (row 0) and b (row 1); segment a-b and b-sense, each c ohm; sense at 0 V.
        m = np.array([[g0 + 1 / c, -1 / c], [-1 / c, g1 + 2 / c]])
        va, vb = np.linalg.solve(m, [g0 * v[0], g1 * v[1]])
        expected.append(vb / c)
    assert rel(solve(xb, v[None], backend).currents, [expected]) <= 1e-12


def flat_branches(circuit, v_nodes):
    """Every physical branch (a, b, current a->b) of a solved circuit, device internals included."""
    branches = []
    for g in circuit.resistors:
        branches.append((g.a, g.b, (v_nodes[g.a] - v_nodes[g.b]) / g.ohm))
    rows, cols, n = circuit.cell_ohm.shape
    _, frac = device_transfer(circuit.cell_ohm, circuit.channel_segment_ohm)
    vt, vr = v_nodes[circuit.device_top], v_nodes[circuit.device_read]
    h = vt[..., None] - frac * (vt - vr)[..., None]  # channel node voltages [rows, cols, n]
    base = circuit.n_nodes
    h_id = base + np.arange(rows * cols * n).reshape(rows, cols, n)
    top = np.broadcast_to(circuit.device_top[..., None], h.shape)
    branches.append((top.ravel(), h_id.ravel(), ((vt[..., None] - h) / circuit.cell_ohm).ravel()))
    s = circuit.channel_segment_ohm
    prev = np.concatenate([circuit.device_read[..., None], h_id[..., :-1]], axis=2)
    prev_v = np.concatenate([vr[..., None], h[..., :-1]], axis=2)
    branches.append((h_id.ravel(), prev.ravel(), ((h - prev_v) / s).ravel()))
    return branches, base + rows * cols * n


def test_kirchhoff_current_law_8x8():
    xb = random_crossbar(8, 8, 3, "resistor", seed=3)
    circuit = build_circuit(xb)
    solver = make_solver(circuit)
    v = solver.node_voltages(np.random.default_rng(1).uniform(0, 0.1, 8))[0]
    branches, n_all = flat_branches(circuit, v)
    net = np.zeros(n_all)
    biggest = 0.0
    for a, b, i in branches:
        np.add.at(net, a, -i)
        np.add.at(net, b, i)
        biggest = max(biggest, np.abs(i).max())
    fixed = np.zeros(n_all, bool)
    fixed[[0, *circuit.input_nodes, *circuit.sense_nodes]] = True
    assert np.abs(net[~fixed]).max() <= 1e-12 * biggest


@pytest.mark.parametrize("cells", [1, 2, 3])
def test_zero_parasitics_equal_ideal_vmm(cells):
    rng = np.random.default_rng(cells)
    dev = CompoundMTJ(library_device(thickness_nm=2.2, n_cells=cells).mtj, cells, channel_ohm=0.0)
    xb = Crossbar(dev, rng.integers(0, cells + 1, (12, 9)))
    x = rng.uniform(0, 0.1, (4, 12))
    ideal = solve(xb, x, "ideal").currents
    assert rel(x @ (1.0 / xb.cell_ohm()).sum(axis=2), ideal) <= 1e-15
    for backend in ("native", "ngspice"):
        assert rel(solve(xb, x, backend).currents, ideal) <= 1e-9


@pytest.mark.parametrize("shape", [(16, 16), (32, 24)])
@pytest.mark.parametrize("cells", [1, 2, 3])
@pytest.mark.parametrize("sense", ["tia", "resistor"])
def test_native_agrees_with_ngspice(shape, cells, sense):
    xb = random_crossbar(*shape, cells, sense, seed=cells)
    x = np.random.default_rng(7).uniform(0, 0.1, (3, shape[0]))
    circuit = build_circuit(xb)
    native = solve(circuit, x, "native")
    spice = solve(circuit, x, "ngspice")
    assert rel(native.currents, spice.currents) <= 1e-9
    assert rel(native.voltages, spice.voltages) <= 1e-9


@pytest.mark.parametrize("shape", [(20, 13), (7, 19)])  # adjoint solves, then forward solves
@pytest.mark.parametrize("sense", ["tia", "resistor"])
def test_effective_matrix_equals_direct_solves(sense, shape):
    xb = random_crossbar(*shape, 2, sense, seed=5)
    solver = make_solver(xb)
    x = np.random.default_rng(2).uniform(0, 0.1, (6, shape[0]))
    direct = solver.solve(x).currents
    assert rel(solver.solve_batch(x).currents, direct) <= 1e-9
    assert rel(x @ solver.effective_matrix().T, direct) <= 1e-9


def test_parasitics_lower_the_currents():
    xb = random_crossbar(16, 16, 3, "tia", seed=1, row_wire_ohm=5.0, col_wire_ohm=5.0)
    x = np.full((1, 16), 0.1)
    assert (solve(xb, x).currents < solve(xb, x, "ideal").currents).all()
