"""Bad input gives one clear line naming the problem, from the API and from the command line."""

import dataclasses
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from xbar.array.circuit import build_circuit, check_circuit
from xbar.array.crossbar import Crossbar
from xbar.device.junction import MTJ
from xbar.device.compound import CompoundMTJ
from xbar.device.variation import Variation
from xbar.device.library import library_device
from xbar.util.errors import CircuitError, ParameterError, SolverError, XbarError
from xbar.solvers import solve

DEV = CompoundMTJ(MTJ(10e3, 25e3), 2)


@pytest.mark.parametrize("make, match", [
    (lambda: MTJ(-5.0, 10e3), "R_P must be a number in 0.1..1e"),
    (lambda: MTJ(0.0, 10e3), "R_P must be a number in 0.1..1e"),
    (lambda: MTJ(10e3, float("nan")), "R_AP must be a number in 0.1..1e"),
    (lambda: CompoundMTJ(MTJ(10e3, 20e3), 7), "n_cells must be an integer in 1..6"),
    (lambda: CompoundMTJ(MTJ(10e3, 20e3), 1, channel_ohm=-1), "channel_ohm"),
    (lambda: Crossbar(DEV, np.zeros((2, 2), int), row_wire_ohm=-1.0), "row_wire_ohm must be a number in 0..1e"),
    (lambda: Crossbar(DEV, np.zeros((2, 2), int), col_wire_ohm=float("nan")), "col_wire_ohm"),
    (lambda: Crossbar(DEV, np.zeros((2, 2), int), sense="resistor", ref_ohm=0.0), "ref_ohm must be a number in 0.001..1e"),
    (lambda: Crossbar(DEV, np.array([[0, 3]])), "unknown device state 3"),
    (lambda: Crossbar(DEV, np.array([[0, -1]])), "unknown device state -1"),
    (lambda: Crossbar(DEV, np.zeros((2, 2, 3), bool)), r"per-cell states must have shape \[rows, cols, 2\]"),
    (lambda: Crossbar(DEV, np.zeros((2, 2), int), sense="adc"), "unknown sense mode 'adc'"),
    (lambda: Variation(sigma=-0.1), "variation sigma"),
    (lambda: library_device(thickness_nm=3.1, n_cells=1), "free-layer thickness must be a number in 1.6..2.6 nm"),
])
def test_bad_parameters(make, match):
    with pytest.raises(ParameterError, match=match):
        make()


@pytest.mark.parametrize("backend", ["native", "ngspice", "ideal"])
def test_bad_inputs(backend):
    xb = Crossbar(DEV, np.zeros((3, 2), int))
    with pytest.raises(ParameterError, match=r"inputs must have shape \[batch, 3\]"):
        solve(xb, np.zeros((2, 4)), backend)
    with pytest.raises(ParameterError, match="row 1 is nan; inputs must be finite"):
        solve(xb, [[0.1, np.nan, 0.0]], backend)


def test_invalid_resistance_in_circuit_is_caught_before_solving():
    circuit = build_circuit(Crossbar(DEV, np.zeros((2, 2), int), row_wire_ohm=1.0))
    circuit.cell_ohm[1, 0, 1] = -3.0
    with pytest.raises(CircuitError, match=r"MTJ cell 1 of device \(1, 0\) has invalid resistance -3.0"):
        check_circuit(circuit)
    circuit.cell_ohm[1, 0, 1] = 1e4
    circuit.resistors[0].ohm[2] = 0.0
    with pytest.raises(CircuitError, match="resistor Rr1_0 has invalid resistance 0.0"):
        check_circuit(circuit)


def test_floating_node_is_reported():
    circuit = build_circuit(Crossbar(DEV, np.zeros((2, 2), int), row_wire_ohm=1.0, col_wire_ohm=1.0))
    labels = np.vstack([circuit.node_labels, [[2, 9, 9]]])  # a row-wire node r9_9 with no element
    broken = dataclasses.replace(circuit, node_labels=labels)
    with pytest.raises(CircuitError, match=r"1 node\(s\) float with no path to ground, e.g. r9_9"):
        check_circuit(broken)



def test_floating_island_and_self_loop_are_reported():
    circuit = build_circuit(Crossbar(DEV, np.zeros((2, 2), int), row_wire_ohm=1.0, col_wire_ohm=1.0))
    # Two extra nodes joined only to each other: the island names both.
    n = circuit.n_nodes
    labels = np.vstack([circuit.node_labels, [[2, 7, 7], [2, 7, 8]]])
    rr = circuit.resistors[0]
    island = dataclasses.replace(rr, index=np.vstack([rr.index, [[7, 8]]]), a=np.append(rr.a, n),
                                 b=np.append(rr.b, n + 1), ohm=np.append(rr.ohm, 1.0))
    broken = dataclasses.replace(circuit, node_labels=labels, resistors=(island,) + circuit.resistors[1:])
    with pytest.raises(CircuitError, match=r"^2 node\(s\) float with no path to ground, e.g. r7_7, r7_8$"):
        check_circuit(broken)
    loop = dataclasses.replace(rr, b=np.where(np.arange(len(rr.b)) == 1, rr.a, rr.b))
    shorted = dataclasses.replace(circuit, resistors=(loop,) + circuit.resistors[1:])
    name = circuit.node_names()[rr.a[1]]
    with pytest.raises(CircuitError, match=f"^element shorted on itself at node {name}$"):
        check_circuit(shorted)

def test_missing_ngspice(monkeypatch):
    monkeypatch.setenv("XBAR_NGSPICE", "/nonexistent/ngspice")
    with pytest.raises(SolverError, match="ngspice not found"):
        solve(Crossbar(DEV, np.zeros((1, 1), int)), [[0.1]], "ngspice")


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "xbar.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env)


@pytest.mark.parametrize("args, match", [
    (["solve", "--wire-ohm", "-2"], r"argument --wire-ohm: must be a number in 0\.\.1e\+09 ohm, got '-2'"),
    (["solve", "--r-p", "0", "--tmr", "50"], r"argument --r-p: must be a number in 0\.1\.\.1e\+10 ohm"),
    (["solve", "--cells", "9"], "argument --cells: must be an integer in 1..6"),
    (["solve", "--thickness", "nan"], "argument --thickness: must be a number in 1.6..2.6"),
    (["solve", "--sense", "resistor", "--ref-ohm", "-1"], "argument --ref-ohm"),
    (["solve", "--backend", "ngspice", "--rows", "2", "--cols", "2", "--inputs", "BAD_INPUTS"], "input voltage at batch 0, row 1 is nan"),
    (["solve", "--rows", "3", "--cols", "2", "--inputs", "SHORT_INPUTS"], r"inputs must have shape \[batch, 3\]"),
    (["solve", "--rows", "2", "--cols", "2", "--states", "BAD_STATES"], "unknown device state 5"),
    (["netlist", "--title", "x; shell", "-o", "OUT"], "unsafe netlist title"),
])
def test_cli_errors_are_one_line(args, match, tmp_path):
    files = {"BAD_INPUTS": "0.1,nan\n", "SHORT_INPUTS": "0.1,0.1\n", "BAD_STATES": "0,1\n5,0\n"}
    for k, content in files.items():
        (tmp_path / f"{k}.csv").write_text(content)
    args = [str(tmp_path / f"{a}.csv") if a in files else str(tmp_path / "o.cir") if a == "OUT" else a
            for a in args]
    proc = run_cli(*args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("xbar: error:"), proc.stderr
    assert "Traceback" not in proc.stderr
    assert re.search(match, lines[0]), lines[0]


def test_cli_missing_ngspice(tmp_path):
    proc = run_cli("solve", "--backend", "ngspice", env=dict(os.environ, XBAR_NGSPICE="/nonexistent/ngspice"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "ngspice not found" in proc.stderr


def test_cli_solve_and_netlist_roundtrip(tmp_path):
    out = tmp_path / "i.csv"
    assert run_cli("solve", "--rows", "5", "--cols", "4", "--backend", "ngspice", "-o", str(out)).returncode == 0
    spice = np.loadtxt(out, delimiter=",", skiprows=1)
    assert run_cli("solve", "--rows", "5", "--cols", "4", "-o", str(out)).returncode == 0
    native = np.loadtxt(out, delimiter=",", skiprows=1)
    assert spice.shape == (4, 4) and np.abs(spice - native).max() <= 1e-9 * np.abs(native).max()
    assert run_cli("netlist", "--rows", "3", "--cols", "2", "-o", str(tmp_path / "n.cir")).returncode == 0
    assert (tmp_path / "n.cir").read_text().count("\nX") == 6


def test_every_error_is_an_xbar_error():
    assert issubclass(ParameterError, XbarError) and issubclass(CircuitError, XbarError)
    assert issubclass(SolverError, XbarError)


@pytest.mark.parametrize("netlist", [
    "* voltage-source loop\nV1 a 0 DC 1\nV2 a 0 DC 2\nR1 a 0 1k\n.op\n.end\n",
    "* floating pair\nV1 a 0 DC 1\nR1 a 0 1k\nR2 c d 1k\n.op\n.end\n",
])
def test_ngspice_non_convergence_is_an_error(netlist, tmp_path):
    from xbar.solvers.ngspice import run_ngspice
    with pytest.raises(SolverError, match="ngspice (failed|did not converge directly)"):
        run_ngspice(netlist, tmp_path, timeout_s=60)


def test_ngspice_timeout_is_an_error():
    from xbar.solvers import NgspiceSolver
    circuit = build_circuit(Crossbar(DEV, np.zeros((30, 30), int), row_wire_ohm=1.0))
    with pytest.raises(SolverError, match="ngspice did not finish within 0.01 s"):
        NgspiceSolver(circuit, timeout_s=0.01).solve(np.full((1, 30), 0.1))
