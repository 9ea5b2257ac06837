"""xbar.solve's routes (lines, matrix, nodal): each one exact against the refined nodal solve, and the choice."""

import numpy as np
import pytest

import xbar
from xbar.array.circuit import build_circuit
from xbar.array.crossbar import Crossbar
from xbar.device.library import library_device
from xbar.util.errors import ParameterError, SolverError
from xbar.solvers import NativeSolver, solve
from xbar.solvers.dispatch import choose_route, is_nonlinear, is_standard, lines_max_batch, solve_native
from xbar.solvers.lines import LineSolver


def rel(a, b):
    return np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max()


# Every element the line formulation must carry: wires (row, column, ideal ones), drivers, access paths,
# both sensings, 1- and 3-cell devices with their channel, open cells.
CASES = {
    "plain": dict(cells=1, row_wire_ohm=1.0, col_wire_ohm=1.0),
    "plain-5ohm": dict(cells=1, row_wire_ohm=5.0, col_wire_ohm=5.0),
    "driver-access": dict(cells=3, row_wire_ohm=2.0, col_wire_ohm=0.5, driver_ohm=200.0, access_ohm=30.0),
    "ideal-rows": dict(cells=2, row_wire_ohm=0.0, col_wire_ohm=3.0),
    "ideal-cols-driver": dict(cells=1, row_wire_ohm=1.5, col_wire_ohm=0.0, driver_ohm=50.0),
    "ideal-wires": dict(cells=3, row_wire_ohm=0.0, col_wire_ohm=0.0, access_ohm=5.0),
    "resistor": dict(cells=3, row_wire_ohm=1.0, col_wire_ohm=2.0, sense="resistor"),
    "resistor-driver": dict(cells=1, row_wire_ohm=4.0, col_wire_ohm=1.0, driver_ohm=100.0, sense="resistor",
                            ref_ohm=1e4),
}


def crossbar(rows, cols, cells, seed=0, **kw):
    rng = np.random.default_rng(seed)
    r = rng.uniform(2e4, 2e5, (rows, cols, cells))
    r[0, 0, 0] = np.inf  # an open cell
    r[rows - 1, 1, :] = np.inf  # a device with every cell open
    return Crossbar(library_device(thickness_nm=1.9, n_cells=cells), cell_resistance_ohm=r, **kw)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("route", ["lines", "matrix", "nodal"])
def test_every_route_matches_the_refined_nodal_solve(case, route):
    kw = dict(CASES[case])
    xb = crossbar(24, 17, kw.pop("cells"), **kw)
    x = np.random.default_rng(1).uniform(0.0, 0.2, (5, 24))
    x[1] = 0.0
    x[2, ::2] *= -1.0  # signs mixed
    expected = NativeSolver(build_circuit(xb)).solve(x)
    # The effective matrix under resistor sensing is the one route at ~3e-12: its column wires hang on
    # ref_ohm alone, and the Schur complement is not refined (docs/performance.md).
    limit = 5e-12 if route == "matrix" and xb.sense == "resistor" else 1e-12
    for source in (xb, build_circuit(xb)):
        got = solve_native(source, x, route=route)
        assert got.solver["route"] == route
        assert got.node_voltages is None
        assert rel(got.currents, expected.currents) <= limit
        assert rel(got.voltages, expected.voltages) <= limit
        assert np.all(got.currents[1] == 0.0)
    with_nodes = solve_native(xb, x, node_voltages=True)
    assert with_nodes.solver["route"] == "nodal"
    assert rel(with_nodes.node_voltages, expected.node_voltages) <= 1e-12


def test_lines_on_a_larger_array_with_running_sums(monkeypatch):
    """Arrays longer than DENSE_MAX apply the wires' Green's functions by running sums: same answer."""
    xb = crossbar(40, 33, 2, row_wire_ohm=2.0, col_wire_ohm=1.0, driver_ohm=20.0, sense="resistor", ref_ohm=3e3)
    x = np.random.default_rng(3).uniform(0, 0.1, (3, 40))
    expected = NativeSolver(build_circuit(xb)).solve(x).currents
    dense = LineSolver(xb).currents(x)
    monkeypatch.setattr("xbar.solvers.lines.DENSE_MAX", 8)
    sums = LineSolver(xb)
    assert not sums._dense
    assert rel(sums.currents(x), expected) <= 1e-12
    assert rel(dense, expected) <= 1e-12


def test_public_solve_picks_the_route_by_batch_and_node_voltages():
    xb = crossbar(32, 32, 1, row_wire_ohm=1.0, col_wire_ohm=1.0)
    rng = np.random.default_rng(4)
    few = rng.uniform(0, 0.1, (2, 32))
    many = rng.uniform(0, 0.1, (lines_max_batch(32, 32) + 1, 32))
    assert xbar.solve(xb, few).solver["route"] == "lines"
    assert xbar.solve(xb, many).solver["route"] == "matrix"
    nodal = xbar.solve(xb, few, node_voltages=True)
    assert nodal.solver["route"] == "nodal" and nodal.node_voltages.shape == (2, build_circuit(xb).n_nodes)
    assert xbar.solve(xb, few).node_voltages is None
    assert rel(xbar.solve(xb, few).currents, nodal.currents) <= 1e-12


def test_route_choice():
    assert choose_route(64, 64, 1, False, False) == "lines"
    assert choose_route(64, 64, 10_000, False, False) == "matrix"
    assert choose_route(1024, 1024, 2, False, False) == "lines"
    assert choose_route(1024, 1024, 100, False, False) == "matrix"
    assert choose_route(64, 64, 1, True, False) == "nodal"
    assert choose_route(64, 64, 1, False, True) == "newton"
    assert lines_max_batch(64, 64) > lines_max_batch(512, 512) >= 1


def test_nonlinear_crossbars_go_to_newton_and_give_node_voltages_only_when_asked():
    device = library_device(thickness_nm=1.9, n_cells=2, v_half_volt=0.5)
    xb = Crossbar(device, np.random.default_rng(5).integers(0, 3, (6, 5)), row_wire_ohm=1.0, col_wire_ohm=1.0)
    assert is_nonlinear(xb) and build_circuit(xb).nonlinear
    x = np.random.default_rng(6).uniform(0, 0.3, (2, 6))
    sol = xbar.solve(xb, x)
    assert sol.solver["route"] == "newton" and sol.node_voltages is None
    assert xbar.solve(xb, x, node_voltages=True).node_voltages is not None
    linear = Crossbar(library_device(thickness_nm=1.9, n_cells=2), xb.states)
    assert not is_nonlinear(linear) and not build_circuit(linear).nonlinear


def test_a_circuit_not_its_crossbars_own_skips_the_line_route():
    from dataclasses import replace
    circuit = build_circuit(crossbar(8, 6, 1, row_wire_ohm=1.0, col_wire_ohm=1.0))
    assert is_standard(circuit)
    groups = tuple(replace(g, ohm=g.ohm * 2) if g.prefix == "Rr" else g for g in circuit.resistors)
    edited = replace(circuit, resistors=groups)
    assert not is_standard(edited)
    x = np.random.default_rng(7).uniform(0, 0.1, (1, 8))
    sol = solve(edited, x)
    assert sol.solver["route"] == "matrix"
    assert rel(sol.currents, NativeSolver(edited).solve(x).currents) <= 1e-12


def test_bad_requests_are_refused():
    xb = crossbar(4, 3, 1, row_wire_ohm=1.0, col_wire_ohm=1.0)
    x = np.full((1, 4), 0.1)
    with pytest.raises(ParameterError, match="node voltages"):
        solve_native(xb, x, node_voltages=True, route="lines")
    with pytest.raises(ParameterError, match="route"):
        solve_native(xb, x, route="fastest")
    with pytest.raises(ParameterError, match="native backend only"):
        solve(xb, x, backend="ideal", node_voltages=True)


def test_lines_refuses_to_stall(monkeypatch):
    monkeypatch.setattr("xbar.solvers.lines.MAX_ITERATIONS", 1)
    xb = crossbar(16, 16, 1, row_wire_ohm=5.0, col_wire_ohm=5.0)
    with pytest.raises(SolverError, match="line-current CG"):
        LineSolver(xb).currents(np.full((1, 16), 0.1))


def test_cli_writes_node_voltages_only_when_asked(tmp_path, capsys):
    from xbar.cli import main
    out, nodes = tmp_path / "i.npy", tmp_path / "v.npy"
    args = ["solve", "--rows", "8", "--cols", "6", "--random", "3", "--wire-ohm", "2", "-o", str(out)]
    assert main(args) == 0
    assert "(route: lines)" in capsys.readouterr().out and not nodes.exists()
    assert main(args + ["--node-voltages", str(nodes)]) == 0
    assert "(route: nodal)" in capsys.readouterr().out
    v = np.load(nodes)
    assert v.shape[0] == 3 and v.shape[1] > 8 * 6 and np.isfinite(v).all()
    code = main(args + ["--backend", "ideal", "--node-voltages", str(tmp_path / "w.npy")])
    err = capsys.readouterr().err
    assert code != 0 and err.count("\n") == 1 and "native backend only" in err
    assert not (tmp_path / "w.npy").exists()


def test_reference_resistors_are_preconditioned_exactly():
    """Resistor sensing (1 Mohm against ~1 S of wire) converges like a virtual ground and stays exact."""
    xb = crossbar(96, 80, 1, row_wire_ohm=1.0, col_wire_ohm=1.0, sense="resistor")
    x = np.random.default_rng(8).uniform(0, 0.1, (2, 96))
    lines = LineSolver(xb)
    got = lines.currents(x)
    assert lines.iterations <= 12
    assert rel(got, NativeSolver(build_circuit(xb)).solve(x).currents) <= 1e-12


@pytest.mark.parametrize("wire, coupling, iterations", [(1.0, 0.1197, 6), (5.0, 0.5986, 10)])
def test_one_read_of_the_peer_benchmark_array_is_exact(wire, coupling, iterations):
    """bench_peers.py's 64x64 array: one vector by `lines` agrees with the refined nodal solve to 1e-14 of the
    largest current. The last step adds the residual (error bounded by the wires' coupling times it: 0.12 at
    1 ohm), which saves one CG iteration at 1 ohm; the batch kernels (numpy) and the one-vector kernels (BLAS
    level 1) give the same answer."""
    rng = np.random.default_rng(0)
    xb = Crossbar(library_device(thickness_nm=1.9, n_cells=1), rng.integers(0, 2, (64, 64)),
                  row_wire_ohm=wire, col_wire_ohm=wire)
    x = np.random.default_rng(64).uniform(0.0, 0.1, (2, 64))
    expected = NativeSolver(build_circuit(xb)).solve(x).currents
    lines = LineSolver(xb)
    assert lines._coupling == pytest.approx(coupling, rel=1e-3)
    one = lines.currents(x[:1])
    assert lines.iterations == iterations
    assert rel(one, expected[:1]) <= 1e-14
    both = lines.currents(x)
    assert rel(both, expected) <= 1e-14
    assert rel(both[:1], one) <= 1e-15
