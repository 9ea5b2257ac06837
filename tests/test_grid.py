"""The effective matrix by batched nested dissection (xbar.solvers.grid): exact against the refined nodal solve."""

import numpy as np
import pytest
from dataclasses import replace

from xbar.array.circuit import build_circuit
from xbar.array.crossbar import Crossbar
from xbar.device.library import library_device
from xbar.solvers import grid
from xbar.solvers.lines import LineSolver
from xbar.solvers.native import NativeSolver

CASES = {
    "plain": dict(cells=1, row_wire_ohm=1.0, col_wire_ohm=1.0),
    "5ohm-3cells": dict(cells=3, row_wire_ohm=5.0, col_wire_ohm=5.0),
    "driver-access": dict(cells=3, row_wire_ohm=2.0, col_wire_ohm=0.5, driver_ohm=200.0, access_ohm=30.0),
    "resistor": dict(cells=1, row_wire_ohm=4.0, col_wire_ohm=1.0, driver_ohm=100.0, sense="resistor", ref_ohm=1e4),
}


def rel(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


def crossbar(rows, cols, cells, seed=0, **kw):
    r = np.random.default_rng(seed).uniform(2e4, 2e5, (rows, cols, cells))
    r[0, 0, 0] = np.inf  # an open cell
    r[rows - 1, 1, :] = np.inf  # a device with every cell open
    return Crossbar(library_device(thickness_nm=1.9, n_cells=cells), cell_resistance_ohm=r, **kw)


@pytest.mark.parametrize("shape", [(2, 2), (8, 32), (32, 16)])
@pytest.mark.parametrize("case", sorted(CASES))
def test_grid_matrix_matches_the_refined_nodal_solve(monkeypatch, case, shape):
    monkeypatch.setattr(grid, "MIN_CELLS", 1)
    kw = dict(CASES[case])
    circuit = build_circuit(crossbar(*shape, kw.pop("cells"), **kw))
    assert grid.applies(circuit)
    solver = NativeSolver(circuit)
    m = solver.effective_matrix()
    assert solver._factor is None  # no sparse factorization was needed
    x = np.random.default_rng(1).uniform(-0.2, 0.2, (6, shape[0]))
    expected = NativeSolver(circuit).solve(x).currents  # factorized and refined
    # Resistor sensing hangs the column wires on ref_ohm alone: a few 1e-12 there, as the sparse Schur route.
    assert rel(x @ m.T, expected) <= (5e-12 if circuit.crossbar.sense == "resistor" else 3e-13)
    assert np.all(m[:, 0][1:] > 0) and m.shape == (shape[1], shape[0])


def test_grid_is_more_exact_than_the_sparse_schur_complement_at_128():
    """128x128, 1 ohm (the default route from MIN_CELLS on): against the line-current CG (exact to ~1e-14), the
    grid matrix is within 1e-12, the factorization's trailing Schur complement ~2e-12."""
    rng = np.random.default_rng(0)
    xb = Crossbar(library_device(thickness_nm=1.9, n_cells=1), rng.integers(0, 2, (128, 128)),
                  row_wire_ohm=1.0, col_wire_ohm=1.0)
    circuit = build_circuit(xb)
    assert grid.applies(circuit)
    x = np.random.default_rng(2).uniform(0.0, 0.1, (2, 128))
    exact = LineSolver(xb).currents(x)
    m = NativeSolver(circuit).effective_matrix()
    sparse = NativeSolver(circuit)
    schur = sparse._port_matrix(sparse._output_operator()[:, sparse.free_nodes].tocsc())
    assert rel(x @ m.T, exact) <= 1e-12
    assert rel(x @ m.T, exact) < rel(x @ schur.T, exact)


def test_grid_applies_only_where_it_is_exact(monkeypatch):
    monkeypatch.setattr(grid, "MIN_CELLS", 1)

    def circuit(rows=16, cols=16, **kw):
        return build_circuit(crossbar(rows, cols, 1, **{"row_wire_ohm": 1.0, "col_wire_ohm": 1.0, **kw}))
    assert grid.applies(circuit())
    assert not grid.applies(circuit(rows=12))  # sides must be powers of two
    assert not grid.applies(circuit(cols=24))
    assert not grid.applies(circuit(row_wire_ohm=0.0))  # ideal wires contract the grid
    assert not grid.applies(circuit(col_wire_ohm=0.0))
    assert not grid.applies(circuit(temperature_c=85.0))
    edited = circuit()
    groups = tuple(replace(g, ohm=g.ohm * 2) if g.prefix == "Rr" else g for g in edited.resistors)
    assert not grid.applies(replace(edited, resistors=groups))  # not the crossbar's own circuit
    monkeypatch.setattr(grid, "MIN_CELLS", 32 * 32)
    assert not grid.applies(circuit()) and grid.applies(circuit(32, 32))
