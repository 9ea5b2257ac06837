"""The chord iteration for many non-linear reads (solvers/chord.py), against Newton, ngspice and closed forms."""

import numpy as np
import pytest

from xbar.array.circuit import build_circuit
from xbar.array.crossbar import Crossbar
from xbar.device.junction import junction_current, junction_deviation
from xbar.device.library import library_device
from xbar.device.access import AccessTransistor
from xbar.solvers import NewtonSolver, make_solver, solve
from xbar.solvers.chord import ChordReads

from test_nonlinear import array, open_cell_array, rel


def test_deviation_is_current_minus_zero_bias_line():
    v = np.linspace(-0.6, 0.6, 121)
    i, _ = junction_current(v, 10e3, 18e3, 0.4)
    assert np.abs(junction_deviation(v, 10e3, 18e3, 0.4) - (i - v / 18e3)).max() <= 1e-18
    assert np.abs(junction_deviation(v, 10e3, 10e3, 0.4)).max() == 0.0  # a parallel cell stays linear


@pytest.mark.parametrize("cells", [1, 2, 3])
@pytest.mark.parametrize("sense", ["tia", "resistor"])
def test_chord_matches_newton(cells, sense):
    rng = np.random.default_rng(cells)
    for vh in (0.3, 0.5):
        c = build_circuit(array(16, 12, cells, sense, vh, seed=cells))
        for v_read in (0.1, 0.5):
            x = rng.uniform(0, v_read, (40, 16))
            x[0] = v_read
            x[1] = 0.0
            solver = NewtonSolver(c)
            fast = solver.solve_batch(x)
            assert fast.solver["method"] == "chord" and fast.node_voltages is None
            assert rel(fast.currents, solver.solve(x).currents) <= 1e-11
            assert np.all(fast.currents[1] == 0.0)


@pytest.mark.parametrize("sense", ["tia", "resistor"])
def test_outputs_read_off_the_back_substitution_are_the_dense_transfers(sense):
    # The iteration's first steps take -B j from the node voltages the deviation drives (no dense product).
    rng = np.random.default_rng(11)
    c = build_circuit(array(16, 12, 3, sense, 0.4, seed=3))
    solver = NewtonSolver(c)
    solver.solve_batch(rng.uniform(0, 0.3, (2, 16)))
    chord = solver._chord
    j = rng.standard_normal((c.device_top.size, 5)) * 1e-6
    dense = -(chord._b @ j)
    assert np.abs(chord._node_outputs(chord.factor.solve(chord._inc_f @ j), j) - dense).max() \
        <= 1e-12 * np.abs(dense).max()


def test_chord_vs_ngspice_with_wires_open_cells_and_variation():
    rng = np.random.default_rng(4)
    c = build_circuit(open_cell_array((24, 20), 2.2, rng, row_wire_ohm=1.0, col_wire_ohm=1.0, driver_ohm=10.0))
    x = rng.uniform(0, 0.5, (3, 24))
    fast = NewtonSolver(c).solve_batch(x).currents
    assert rel(fast, solve(c, x, "ngspice").currents) <= 1e-9


def test_huge_vh_is_the_linear_effective_matrix():
    x = np.random.default_rng(5).uniform(0, 0.5, (6, 12))
    lin = solve(array(12, 10, 3, "tia", np.inf), x).currents
    c = build_circuit(array(12, 10, 3, "tia", 1e9))
    assert c.nonlinear
    assert rel(NewtonSolver(c).solve_batch(x).currents, lin) <= 1e-12


def test_converges_to_the_tolerance_in_few_back_substitutions():
    # 128x128 of 3-cell devices on 1 ohm wires at 0.1 V: the chord contracts ~1e-3 per step.
    c = build_circuit(Crossbar(library_device(thickness_nm=1.9, n_cells=3, v_half_volt=0.5),
                               np.random.default_rng(0).integers(0, 4, (64, 64)), row_wire_ohm=1.0,
                               col_wire_ohm=1.0))
    x = np.random.default_rng(1).uniform(0, 0.1, (8, 64))
    solver = NewtonSolver(c)
    fast = solver.solve_batch(x)
    assert fast.solver["back_substitutions_per_vector"] <= 4 and fast.solver["newton_vectors"] == 0
    exact = NewtonSolver(c, tol=1e-15).solve(x).currents
    assert (np.abs(fast.currents - exact).max(axis=1) / np.abs(exact).max(axis=1)).max() <= 1e-12


def test_steep_junctions_fall_back_to_newton():
    # A lone AP device read through 1 Mohm at 5 V sees ~0.18 V = 18 V_h: its conductance has risen by
    # nearly the whole TMR, which the zero-bias chord cannot follow against the large reference
    # (contraction ~ TMR > 0.5); the chord gives the vectors back and Newton solves them.
    c = build_circuit(Crossbar(library_device(thickness_nm=2.6, n_cells=1, v_half_volt=0.01),
                               np.zeros((1, 1), dtype=int), sense="resistor"))
    x = np.array([[5.0], [2.0]])
    fast = NewtonSolver(c).solve_batch(x)
    assert fast.solver["newton_vectors"] == 2
    assert rel(fast.currents, NewtonSolver(c).solve(x).currents) <= 1e-12


def test_linear_circuit_goes_to_the_effective_matrix():
    xb = array(8, 6, 2, "tia", np.inf)
    x = np.random.default_rng(2).uniform(0, 0.1, (4, 8))
    assert rel(NewtonSolver(build_circuit(xb)).solve_batch(x).currents, solve(xb, x).currents) <= 1e-13


def test_dense_transfers_are_bounded(monkeypatch):
    c = build_circuit(array(8, 6, 2, "tia", 0.5))
    monkeypatch.setattr("xbar.solvers.chord.DENSE_BYTES", 8 * 48 * 6)  # B fits, the per-input transfer not
    assert ChordReads.fits(c)
    x = np.random.default_rng(3).uniform(0, 0.5, (5, 8))
    solver = NewtonSolver(c)
    assert rel(solver.solve_batch(x).currents, solver.solve(x).currents) <= 1e-11
    monkeypatch.setattr("xbar.solvers.chord.DENSE_BYTES", 8)
    assert not ChordReads.fits(c)
    assert NewtonSolver(c).solve_batch(x).solver["method"] == "newton"


def test_no_free_nodes_goes_to_newton():
    # Ideal wires and channel: every node is held by a source, the device voltages are the inputs.
    from xbar.device.compound import CompoundMTJ
    from xbar.device.junction import junction_current
    dev = library_device(thickness_nm=1.9, n_cells=2, v_half_volt=0.5)
    c = build_circuit(Crossbar(CompoundMTJ(dev.mtj, 2, 0.0), np.array([[0, 1], [2, 0]])))
    x = np.array([[0.5, 0.3]])
    fast = NewtonSolver(c).solve_batch(x).currents
    r0 = c.cell_ohm[None]
    by_hand = junction_current(x[:, :, None, None], c.cell_rp_ohm[None], r0, 0.5)[0].sum(axis=(1, 3))
    assert rel(fast, by_hand) <= 1e-14


@pytest.mark.parametrize("sense", ["tia", "resistor"])
def test_chord_node_voltages_match_newton(sense):
    # The IR-drop record's node voltages: the chord carried on the nodes, against Newton at 1e-15.
    rng = np.random.default_rng(6)
    c = build_circuit(open_cell_array((24, 20), 1.9, rng, row_wire_ohm=1.0, col_wire_ohm=1.0, driver_ohm=10.0,
                                      sense=sense))
    for v_read in (0.1, 0.5):
        x = rng.uniform(0, v_read, (12, 24))
        x[1] = 0.0
        exact = NewtonSolver(c, tol=1e-15).node_voltages(x)
        solver = NewtonSolver(c)
        fast = solver.read_voltages(x)
        assert len(solver.iterations) == 0  # no vector went to Newton
        err = np.abs(fast - exact).max(axis=1)
        assert err.max() <= 1e-12 * v_read and np.all(fast[1] == 0.0)


def test_read_voltages_of_access_circuits_are_newtons():
    solver = make_solver(build_circuit(array(6, 5, 2, "tia", 0.5, access=AccessTransistor())))
    x = np.random.default_rng(8).uniform(0, 0.2, (3, 6))
    assert np.array_equal(solver.read_voltages(x), solver.node_voltages(x))


def test_chord_effective_matrix_is_the_native_one():
    # TIA: the linear transfer comes from the refined adjoint responses (reciprocity), not the Schur complement.
    c = build_circuit(array(20, 14, 3, "tia", 0.5, seed=3, row_wire_ohm=1.0, col_wire_ohm=1.0))
    solver = NewtonSolver(c)
    solver.solve_batch(np.full((1, 20), 0.1))
    assert rel(solver._chord._m, solver.linear.effective_matrix()) <= 1e-13


def test_chord_deviation_is_the_junctions():
    c = build_circuit(array(48, 40, 3, "tia", 0.4, seed=9))
    solver = NewtonSolver(c)
    chord = ChordReads(c, solver.linear, solver.cholesky)
    v = np.random.default_rng(9).uniform(-0.5, 0.5, (chord._r0.shape[0], 7))
    exact = junction_deviation(v, chord._rp, chord._r0, 0.4)
    assert chord._r0.shape[0] > 2048 and np.abs(chord.deviation(v) - exact).max() <= 1e-15 * np.abs(exact).max()


def test_node_voltages_that_do_not_contract_go_to_newton():
    # The lone steep junction of test_steep_junctions_fall_back_to_newton, read for its node voltages.
    c = build_circuit(Crossbar(library_device(thickness_nm=2.6, n_cells=1, v_half_volt=0.01),
                               np.zeros((1, 1), dtype=int), sense="resistor"))
    x = np.array([[5.0], [2.0]])
    solver = NewtonSolver(c)
    fast = solver.read_voltages(x)
    assert len(solver.iterations) == 2  # both vectors went to Newton
    assert np.abs(fast - NewtonSolver(c).node_voltages(x)).max() <= 1e-12 * 5.0
