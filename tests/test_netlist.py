"""Netlists: golden files, safety, and plain `ngspice -b` on a written netlist."""

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from xbar.array.circuit import build_circuit
from xbar.array.crossbar import Crossbar
from xbar.device.compound import CompoundMTJ
from xbar.device.junction import MTJ
from xbar.device.variation import Variation
from xbar.device.library import library_device
from xbar.util.errors import ParameterError
from xbar.array.netlist import format_number, netlist_text, output_vectors, read_raw, safe_title, write_netlist
from xbar.solvers import solve
from xbar.solvers.ngspice import find_ngspice

GOLDEN = Path(__file__).resolve().parent.parent / "netlists"


def golden_cases():
    """The crossbars behind the committed golden netlists (name -> (circuit, inputs))."""
    return {
        "2x2_1cell_tia": (build_circuit(Crossbar(CompoundMTJ(MTJ(10e3, 25e3), 1), np.array([[0, 1], [1, 0]]),
                                                 row_wire_ohm=1.0, col_wire_ohm=1.0, driver_ohm=10.0)),
                          [0.1, 0.05]),
        "3x2_3cell_resistor": (build_circuit(Crossbar(library_device(thickness_nm=1.9, n_cells=3), np.array([[0, 1], [2, 3], [3, 0]]),
                                                      row_wire_ohm=2.0, col_wire_ohm=2.0, sense="resistor",
                                                      ref_ohm=1e6)),
                               [0.1, 0.0, 0.07]),
        "2x3_2cell_ideal_wires_variation": (build_circuit(Crossbar(
            CompoundMTJ(MTJ(10e3, 30e3), 2, channel_ohm=0.0), np.array([[0, 1, 2], [2, 1, 0]]),
            variation=Variation(0.1, seed=4))), [0.1, 0.1]),
    }


@pytest.mark.parametrize("name", sorted(golden_cases()))
def test_golden_netlists(name):
    circuit, inputs = golden_cases()[name]
    text = netlist_text(circuit, inputs=inputs, title=f"golden {name}")
    path = GOLDEN / f"{name}.cir"
    if os.environ.get("XBAR_REGEN_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"regenerate with XBAR_REGEN_GOLDEN=1 pytest {__file__}"


@pytest.mark.parametrize("name", sorted(golden_cases()))
def test_written_netlist_runs_in_plain_ngspice(name, tmp_path):
    circuit, inputs = golden_cases()[name]
    path = write_netlist(circuit, tmp_path / "x.cir", inputs=inputs)
    subprocess.run([find_ngspice(), "-b", "-r", str(tmp_path / "out.raw"), str(path)], check=True,
                   capture_output=True, timeout=120)
    plot = read_raw(tmp_path / "out.raw")[0]
    values = np.array([plot[v][0] for v in output_vectors(circuit)])
    expected = solve(circuit, [inputs])
    got = values if circuit.sense == "tia" else values / circuit.crossbar.ref_ohm
    assert np.abs(got - expected.currents[0]).max() <= 1e-9 * np.abs(expected.currents).max()


def test_ascii_raw_file_reads_like_binary(tmp_path):
    circuit, inputs = golden_cases()["2x2_1cell_tia"]
    path = write_netlist(circuit, tmp_path / "x.cir", inputs=inputs)
    env = dict(os.environ, SPICE_ASCIIRAWFILE="1")
    subprocess.run([find_ngspice(), "-b", "-r", str(tmp_path / "a.raw"), str(path)], check=True,
                   capture_output=True, timeout=120, env=env)
    assert b"Values:" in (tmp_path / "a.raw").read_bytes()
    plot = read_raw(tmp_path / "a.raw")[0]
    expected = solve(circuit, [inputs]).currents[0]
    got = np.array([plot[v][0] for v in output_vectors(circuit)])
    assert np.abs(got - expected).max() <= 1e-6 * np.abs(expected).max()  # ASCII keeps ~9 digits


def test_netlist_names_come_from_indices_only():
    circuit, _ = golden_cases()["3x2_3cell_resistor"]
    text = netlist_text(circuit)
    assert ".control" not in text and "shell" not in text
    for line in text.splitlines():
        if not line.startswith("*"):
            extra = "'*/" if line.startswith(".meas dc ") else ""  # par('v(o0)/1000000'): numbers and names
            assert all(ch.isalnum() or ch in " _.=:{}-+()" + extra for ch in line), line


@pytest.mark.parametrize("title", ["x\n.control\nshell rm -rf /\n.endc", "a;b", "q'uote", 7])
def test_unsafe_titles_are_refused(title):
    with pytest.raises(ParameterError, match="unsafe netlist title"):
        safe_title(title)


def test_netlist_generation_is_fast_enough_to_be_linear():
    # Not a timing test: checks the writer scales by writing a mid-size array.
    xb = Crossbar(library_device(thickness_nm=1.9, n_cells=3), np.zeros((64, 64), int), row_wire_ohm=1, col_wire_ohm=1)
    text = netlist_text(build_circuit(xb))
    assert text.count("\nX") == 64 * 64


@pytest.mark.parametrize("name", sorted(golden_cases()))
def test_plain_ngspice_prints_the_column_table(name, tmp_path):
    """`ngspice -b x.cir` shows i_col<j> and v_col<j> per column, not every node voltage."""
    circuit, inputs = golden_cases()[name]
    path = write_netlist(circuit, tmp_path / "x.cir", inputs=inputs)
    out = subprocess.run([find_ngspice(), "-b", str(path)], check=True, capture_output=True, text=True,
                         timeout=120).stdout
    table = {ln.split()[0]: float(ln.split()[2]) for ln in out.splitlines() if ln.startswith(("i_col", "v_col"))}
    cols = circuit.shape[1]
    assert len(table) == 2 * cols and "Node" not in out and "Voltage" not in out
    expected = solve(circuit, [inputs])
    got_i = np.array([table[f"i_col{j}"] for j in range(cols)])
    got_v = np.array([table[f"v_col{j}"] for j in range(cols)])
    assert np.abs(got_i - expected.currents[0]).max() <= 1e-5 * np.abs(expected.currents).max()  # 6 digits
    assert np.abs(got_v - expected.voltages[0]).max() <= 1e-5 * np.abs(expected.voltages).max()


def test_cells_that_differ_are_written_by_their_own_parameters():
    """A P cell whose R_P equals the mean R_AP is {rp1}, not {rap}; variation makes literal numbers."""
    mean_rap = CompoundMTJ.heterogeneous((MTJ(10e3, 20e3), MTJ(30e3, 60e3))).mtj.r_ap  # R_AP's alone set it
    dev = CompoundMTJ.heterogeneous((MTJ(10e3, 20e3), MTJ(mean_rap, 60e3)))  # cell 1's R_P = the mean R_AP
    assert dev.mtj.r_ap == dev.cells[1].r_p
    xb = Crossbar(dev, np.array([[0, 1, 2]]))
    text = netlist_text(build_circuit(xb))
    assert f".param rp0=10000 rap0=20000 rp1={format_number(mean_rap)} rap1=60000 rseg=150" in text
    assert "{rap}" not in text and "{rp}" not in text
    assert "X0_0 in0 c0_0 cmtj2 params: rc0={rap0} rc1={rap1}" in text
    assert "X0_1 in0 c0_1 cmtj2 params: rc0={rp0} rc1={rap1}" in text
    assert "X0_2 in0 c0_2 cmtj2 params: rc0={rp0} rc1={rp1}" in text
    varied = netlist_text(build_circuit(Crossbar(dev, np.array([[0, 1, 2]]), variation=Variation(0.1, 1))))
    assert not [ln for ln in varied.splitlines() if ln.startswith("X") and "{" in ln]


def test_read_raw_names_sweeps_and_subcircuit_nodes(tmp_path):
    circuit, inputs = golden_cases()["2x2_1cell_tia"]
    path = write_netlist(circuit, tmp_path / "x.cir", inputs=inputs)
    text = path.read_text().replace(".save i(vs0) i(vs1)", ".save all")
    path.write_text(text)
    subprocess.run([find_ngspice(), "-b", "-r", str(tmp_path / "o.raw"), str(path)], check=True,
                   capture_output=True, timeout=120)
    (plot,) = read_raw(tmp_path / "o.raw")
    assert plot["v(v-sweep)"].tolist() == [0.1] and plot["v(in0)"].tolist() == [0.1]
    assert "v(x0_0.h0)" in plot and plot["i(vs0)"].shape == (1,)


@pytest.mark.bad_input
@pytest.mark.parametrize("content", [None, b"", b"Title: x\nNo. Variables: 2\nNo. Points: 1\nVariables:\n", b"\x00garbage"])
def test_read_raw_refuses_missing_and_broken_files(content, tmp_path):
    from xbar.util.errors import SolverError
    path = tmp_path / "x.raw"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SolverError, match="raw file"):
        read_raw(path)


def test_read_raw_is_public():
    import xbar
    from xbar.array.raw import read_raw as raw_reader
    assert xbar.read_raw is raw_reader is read_raw
    assert "\"-r\", \"out.raw\"" in xbar.read_raw.__doc__
