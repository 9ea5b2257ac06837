"""The native linear engine: nested-dissection order, SPD factor, Schur-complement effective matrix."""

import numpy as np
import pytest

from xbar.array.circuit import build_circuit
from xbar.array.crossbar import Crossbar
from xbar.device.library import library_device
from xbar.solvers import NativeSolver
from xbar.solvers.native import conductance_matrix
from xbar.solvers.ordering import nested_dissection


def rel(a, b):
    return np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max()


def crossbar(rows, cols, seed=0, **kw):
    rng = np.random.default_rng(seed)
    wires = dict(row_wire_ohm=1.5, col_wire_ohm=2.5)
    wires.update(kw)
    return Crossbar(library_device(thickness_nm=1.9, n_cells=2), rng.integers(0, 3, (rows, cols)), **wires)


def dense_reference(circuit):
    """Effective matrix and free-node solve from a dense numpy solve of the whole nodal system."""
    lap = conductance_matrix(circuit).toarray()
    fixed = np.zeros(circuit.n_nodes, bool)
    fixed[[0, *circuit.input_nodes, *circuit.sense_nodes]] = True
    free = np.flatnonzero(~fixed)
    rows, _ = circuit.shape
    v = np.zeros((circuit.n_nodes, rows))
    v[circuit.input_nodes, np.arange(rows)] = 1.0
    v[free] = np.linalg.solve(lap[np.ix_(free, free)], -lap[np.ix_(free, circuit.input_nodes)])
    if circuit.sense == "tia":
        return -(lap[circuit.sense_nodes] @ v)
    return v[circuit.output_nodes] / circuit.crossbar.ref_ohm


CASES = {
    "wires": {},
    "driver+access": dict(driver_ohm=20.0, access_ohm=5.0),
    "resistor sense": dict(sense="resistor", driver_ohm=3.0),
    "ideal rows": dict(row_wire_ohm=0.0),
    "ideal columns": dict(col_wire_ohm=0.0),
    "ideal columns, resistor": dict(col_wire_ohm=0.0, sense="resistor"),
    "no wires": dict(row_wire_ohm=0.0, col_wire_ohm=0.0),
}


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (23, 17), (12, 40)])
@pytest.mark.parametrize("case", sorted(CASES))
def test_effective_matrix_matches_dense_solve(shape, case):
    circuit = build_circuit(crossbar(*shape, seed=shape[0], **CASES[case]))
    solver = NativeSolver(circuit)
    ref = dense_reference(circuit)
    # 1 Mohm sense resistors against 1.5 ohm wires: condition ~1e6, so 1e-10 is rounding level.
    assert rel(solver.effective_matrix(), ref) <= 1e-10
    x = np.random.default_rng(1).uniform(0, 0.1, (5, shape[0]))
    assert rel(solver.solve(x).currents, x @ ref.T) <= 1e-10


@pytest.mark.parametrize("threads", ["1", "2"])
def test_port_reduction_equals_chunked_solves(monkeypatch, threads):
    """The Schur-complement path and the solve-per-column path give the same M, over many chunks."""
    monkeypatch.setenv("XBAR_THREADS", threads)
    monkeypatch.setattr("xbar.solvers.factor.CHUNK_COLUMNS", 7)
    for shape in [(64, 150), (150, 64)]:  # adjoint solves, then forward solves
        solver = NativeSolver(build_circuit(crossbar(*shape, seed=3)))
        assert solver._ports is not None
        via_ports = solver.effective_matrix()
        via_solves = solver._solved_matrix(solver._output_operator()[:, solver.free_nodes].tocsc())
        assert rel(via_ports, via_solves) <= 1e-12


def test_factorize_other_device_conductances():
    """free_matrix/factorize: the same sparsity with other device conductances (a Newton Jacobian)."""
    circuit = build_circuit(crossbar(10, 7, seed=4, access_ohm=2.0))
    solver = NativeSolver(circuit)
    g = np.random.default_rng(0).uniform(1e-5, 1e-4, circuit.shape)
    matrix = solver.free_matrix(g)
    assert matrix.nnz == solver.free_matrix().nnz
    rhs = np.random.default_rng(1).standard_normal((len(solver.free_nodes), 130))
    x = solver.factorize(matrix).solve(rhs)
    assert rel(x, np.linalg.solve(matrix.toarray(), rhs)) <= 1e-11
    assert rel(solver.factor.solve(rhs[:, 0]), np.linalg.solve(solver.free_matrix().toarray(), rhs[:, 0])) <= 1e-11


def test_nested_dissection_is_a_permutation_with_separators_last():
    rng = np.random.default_rng(0)
    for rows, cols in [(1, 1), (3, 50), (37, 29)]:
        i, j = np.indices((rows, cols)).reshape(2, -1)
        row, col = np.concatenate([i, i]), np.concatenate([j, j])
        cut = np.repeat([0, 1], rows * cols)
        perm = nested_dissection(row, col, cut, leaf_cells=4)
        assert np.array_equal(np.sort(perm), np.arange(2 * rows * cols))
    # On a wide array the first cut is a column of row-wire nodes, numbered last.
    i, j = np.indices((4, 64)).reshape(2, -1)
    perm = nested_dissection(np.concatenate([i, i]), np.concatenate([j, j]), np.repeat([0, 1], 256))
    last = perm[-4:]
    assert (last < 256).all() and (j[last] == 32).all()
    assert rng is not None


@pytest.mark.parametrize("case", sorted(CASES))
def test_wire_cg_matches_direct_solve(monkeypatch, case):
    """Large unfactorized tiles solve a few vectors by wire-preconditioned CG: same answer as the factor."""
    circuit = build_circuit(crossbar(40, 30, seed=6, **CASES[case]))
    x = np.random.default_rng(2).uniform(0, 0.1, (3, 40))
    direct = NativeSolver(circuit)
    expected = direct.solve(x)
    monkeypatch.setattr("xbar.solvers.native.PCG_MIN_NODES", 0)
    cg = NativeSolver(circuit)
    got = cg.solve(x)
    assert cg._factor is None  # no factorization was needed
    assert rel(got.currents, expected.currents) <= 1e-10
    assert rel(got.node_voltages, expected.node_voltages) <= 1e-10
    # More vectors than CG takes at once: the factorization.
    monkeypatch.setattr("xbar.solvers.native.PCG_MAX_BATCH", 2)
    assert rel(cg.solve(x).currents, expected.currents) <= 1e-10
    assert (cg._factor is not None) == bool(len(cg.free_nodes))


def test_wire_cg_reports_iterations_and_refuses_to_stall(monkeypatch):
    from xbar.util.errors import SolverError
    from xbar.solvers.pcg import WireCG
    circuit = build_circuit(crossbar(30, 20, seed=7))
    solver = NativeSolver(circuit)
    cg = WireCG(circuit, solver.free_nodes, solver.free_matrix())
    rhs = np.random.default_rng(3).standard_normal((len(solver.free_nodes), 4))
    x = cg.solve(rhs)
    assert 1 <= cg.iterations <= 100
    assert rel(x, solver.factor.solve(rhs)) <= 1e-10
    monkeypatch.setattr("xbar.solvers.pcg.MAX_ITERATIONS", 1)
    with pytest.raises(SolverError, match="did not reach a relative residual"):
        cg.solve(rhs)
