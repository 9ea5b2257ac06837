"""Explicit per-cell resistances: the one path into the circuit, open cells, agreement with ngspice."""

import numpy as np
import pytest

from xbar.array.circuit import build_circuit
from xbar.array.crossbar import Crossbar, cell_resistances
from xbar.device.compound import CompoundMTJ
from xbar.device.junction import MTJ
from xbar.device.variation import Variation
from xbar.device.library import library_device
from xbar.util.errors import ParameterError
from xbar.array.netlist import netlist_text
from xbar.solvers import solve

PARASITICS = dict(row_wire_ohm=1.5, col_wire_ohm=2.5, driver_ohm=20.0, access_ohm=5.0)


def rel(a, b):
    return np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max()


def heterogeneous(rows, cols, cells, seed):
    """Cell resistances spread over 2-60 kohm, every cell different."""
    return np.random.default_rng(seed).uniform(2e3, 60e3, (rows, cols, cells))


def test_states_and_variation_go_through_the_explicit_array():
    dev = library_device(thickness_nm=1.9, n_cells=3)
    states = np.random.default_rng(0).integers(0, 4, (5, 4))
    via_states = Crossbar(dev, states, variation=Variation(0.1, 7), **PARASITICS)
    r = cell_resistances(dev, dev.cell_states(states), Variation(0.1, 7))
    explicit = Crossbar(dev, cell_resistance_ohm=r, **PARASITICS)
    assert np.array_equal(via_states.cell_ohm(), r)
    assert netlist_text(build_circuit(via_states)).split("\n", 8)[8] == \
        netlist_text(build_circuit(explicit)).split("\n", 8)[8]  # all but the variation comment


@pytest.mark.parametrize("sense", ["tia", "resistor"])
@pytest.mark.parametrize("channel", [0.0, 600.0])
def test_heterogeneous_cells_native_equals_ngspice(sense, channel):
    dev = CompoundMTJ(MTJ(10e3, 20e3), 3, channel_ohm=channel)
    xb = Crossbar(dev, cell_resistance_ohm=heterogeneous(6, 5, 3, 1), sense=sense, **PARASITICS)
    x = np.random.default_rng(2).uniform(0, 0.1, (3, 6))
    assert rel(solve(xb, x, "ngspice").currents, solve(xb, x).currents) <= 1e-9


@pytest.mark.parametrize("channel", [0.0, 600.0])
def test_open_cells_are_missing_elements(channel):
    r = heterogeneous(6, 5, 3, 3)
    r[0, 0, 1] = np.inf                    # one open cell
    r[2, 3, :] = np.inf                    # a whole device open
    r[4, 1, [0, 2]] = np.inf               # two of three open
    xb = Crossbar(CompoundMTJ(MTJ(10e3, 20e3), 3, channel_ohm=channel), cell_resistance_ohm=r, **PARASITICS)
    text = netlist_text(build_circuit(xb))
    assert "inf" not in text and "X2_3 " not in text
    assert "cmtj3_open1" in text and "cmtj3_open0_2" in text
    x = np.random.default_rng(4).uniform(0, 0.1, (3, 6))
    native = solve(xb, x).currents
    assert rel(solve(xb, x, "ngspice").currents, native) <= 1e-9
    # Open equals the limit of a huge resistance, and the ideal VMM drops the cell.
    big = Crossbar(xb.device, cell_resistance_ohm=np.where(np.isinf(r), 1e18, r), **PARASITICS)
    assert rel(solve(big, x).currents, native) <= 1e-9
    g = (1.0 / r).sum(axis=2)
    assert rel(solve(xb, x, "ideal").currents, x @ g) <= 1e-15


def test_all_open_column_still_solves():
    r = heterogeneous(3, 2, 2, 5)
    r[:, 1, :] = np.inf
    xb = Crossbar(CompoundMTJ(MTJ(10e3, 20e3), 2), cell_resistance_ohm=r, row_wire_ohm=1.0, col_wire_ohm=1.0)
    x = [[0.1, 0.05, 0.02]]
    native = solve(xb, x).currents
    assert native[0, 1] == 0.0
    assert rel(solve(xb, x, "ngspice").currents, native) <= 1e-9


@pytest.mark.bad_input
@pytest.mark.parametrize("bad, match", [
    (np.full((2, 2, 3), 1e4), r"shape \[rows, cols, 2\]"),
    (np.full((2, 2), 1e4), r"shape \[rows, cols, 2\]"),
    (np.array([[[1e4, -5.0]]]), r"cell 1 of device \(0, 0\) has resistance -5.0"),
    (np.array([[[1e4, np.nan]]]), "has resistance nan"),
    (np.array([[[0.0, 1e4]]]), "has resistance 0.0"),
    (np.array([[["a", "b"]]]), "numeric array"),
])
def test_bad_cell_resistances_are_refused(bad, match):
    with pytest.raises(ParameterError, match=match):
        Crossbar(CompoundMTJ(MTJ(10e3, 20e3), 2), cell_resistance_ohm=bad)


@pytest.mark.bad_input
def test_explicit_resistances_and_variation_are_exclusive():
    with pytest.raises(ParameterError, match="not both"):
        Crossbar(CompoundMTJ(MTJ(10e3, 20e3), 1), cell_resistance_ohm=np.full((1, 1, 1), 1e4),
                 variation=Variation(0.1))
    with pytest.raises(ParameterError, match="needs device states or explicit cell resistances"):
        Crossbar(CompoundMTJ(MTJ(10e3, 20e3), 1))
    with pytest.raises(ParameterError, match="do not match"):
        Crossbar(CompoundMTJ(MTJ(10e3, 20e3), 1), np.zeros((2, 2), int), cell_resistance_ohm=np.full((1, 1, 1), 1e4))
