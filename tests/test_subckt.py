"""The array as a SPICE component: .subckt with ports only, and testbenches around it in plain ngspice."""

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from xbar.array.circuit import build_circuit
from xbar.array.crossbar import Crossbar
from xbar.array.netlist import netlist_text, write_netlist
from xbar.array.raw import read_raw
from xbar.array.subckt import check_subckt_name, subckt_ports
from xbar.array import testbench as tb  # (its functions' names start with test: not imported bare)
from xbar.array.testbench import SenseAmplifier, equivalent_crossbar
from xbar.cli import main
from xbar.device.faults import Faults
from xbar.device.library import library_device
from xbar.device.variation import Variation
from xbar.solvers import solve
from xbar.solvers.ngspice import find_ngspice
from xbar.util.errors import ParameterError

GOLDEN = Path(__file__).resolve().parent.parent / "netlists"
#: The golden pair: `xbar netlist` arguments of the subcircuit and its testbench, per sense mode.
GOLDEN_ARGS = {sense: ["--rows", "4", "--cols", "3", "--cells", "3", "--seed", "5", "--wire-ohm", "2",
                       "--driver-ohm", "10", "--sense", sense, "--v-read", "0.1"] for sense in ("tia", "resistor")}


def rel(a, b):
    return float(np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max())


def run_testbench(xb, x, tmp_path, amp=SenseAmplifier(), name="xbar_array"):
    write_netlist(xb, tmp_path / "array.cir", subckt=name)
    (tmp_path / "tb.cir").write_text(tb.testbench_text(xb, x, "array.cir", name, amp))
    subprocess.run([find_ngspice(), "-b", "-r", str(tmp_path / "tb.raw"), str(tmp_path / "tb.cir")], check=True,
                   capture_output=True, timeout=120)
    return tb.testbench_currents(read_raw(tmp_path / "tb.raw")[-1], xb, amp)


@pytest.mark.parametrize("sense", ["tia", "resistor"])
@pytest.mark.parametrize("cells", [1, 2, 3])
def test_testbench_with_subckt_agrees_with_native_solve(sense, cells, tmp_path):
    rng = np.random.default_rng(cells)
    xb = Crossbar(library_device(thickness_nm=1.9, n_cells=cells), rng.integers(0, cells + 1, (7, 5)),
                  row_wire_ohm=1.5, col_wire_ohm=2.0, driver_ohm=10.0, access_ohm=3.0, sense=sense,
                  variation=Variation(0.1, seed=3), faults=Faults(stuck_p=0.05, open=0.08, short=0.05, seed=3))
    assert not np.isfinite(xb.cell_ohm()).all() and (xb.cell_ohm() == 500.0).any()  # open and shorted cells
    x = rng.uniform(0.0, 0.2, 7)
    amp = SenseAmplifier()
    currents, v_out = run_testbench(xb, x, tmp_path, amp)
    same = solve(equivalent_crossbar(xb, amp), [x])  # the finite-gain amplifier, exactly
    assert rel(currents, same.currents[0]) <= 1e-9
    ideal = solve(xb, [x]).currents[0]
    if sense == "tia":
        assert 1e-7 < rel(currents, ideal) < 1e-4  # the finite gain's own effect: a 0.011 ohm virtual ground
        assert rel(v_out, -amp.feedback_ohm * currents) < 1e-3
    else:
        assert rel(currents, ideal) <= 1e-9  # the VCVS input draws nothing
        assert rel(v_out, amp.voltage_gain() * same.voltages[0]) <= 1e-9


def test_nonlinear_subckt_in_a_testbench(tmp_path):
    dev = library_device(thickness_nm=1.9, n_cells=2).with_v_half(0.4)
    xb = Crossbar(dev, np.random.default_rng(0).integers(0, 3, (5, 4)), row_wire_ohm=1.0, col_wire_ohm=1.0)
    x = np.full(5, 0.4)
    amp = SenseAmplifier(gain=1e6)
    currents, _ = run_testbench(xb, x, tmp_path, amp)
    assert rel(currents, solve(equivalent_crossbar(xb, amp), [x]).currents[0]) <= 1e-9


def test_subckt_has_ports_only():
    xb = Crossbar(library_device(thickness_nm=1.9, n_cells=2), np.array([[0, 1, 2], [2, 1, 0]]), col_wire_ohm=0.0,
                  sense="resistor")
    text = netlist_text(xb, subckt="My_Array2")
    lines = [ln for ln in text.splitlines() if not ln.startswith("*")]
    assert lines[0] == ".subckt My_Array2 in0 in1 o0 o1 o2 ref" and lines[-1] == ".ends My_Array2"
    assert subckt_ports(build_circuit(xb)) == ["in0", "in1", "o0", "o1", "o2", "ref"]
    assert not [ln for ln in lines if ln[:1].upper() in "VBE" or ln.startswith((".op", ".dc", ".options", ".save",
                                                                                 ".meas", ".end "))]
    assert ".end\n" not in text and not [ln for ln in lines if " 0 " in ln]  # ground inside is the port ref
    assert "Rref0 o0 ref 1000000" in text


@pytest.mark.bad_input
@pytest.mark.parametrize("name", ["1abc", "a b", "x\n.control", "", "a" * 65, "cmtj3", "CMTJx", 7, "a-b"])
def test_bad_subckt_names_are_refused(name):
    with pytest.raises(ParameterError, match="subcircuit name"):
        check_subckt_name(name)


@pytest.mark.bad_input
def test_subckt_refuses_sources(tmp_path):
    xb = Crossbar(library_device(thickness_nm=1.9, n_cells=1), np.zeros((2, 2), int))
    with pytest.raises(ParameterError, match="ports, not sources"):
        netlist_text(xb, inputs=[0.1, 0.1], subckt="arr")
    with pytest.raises(ParameterError, match="ports, not sources"):
        netlist_text(xb, subckt="arr", capacitors=True)
    with pytest.raises(ParameterError, match="include path"):
        tb.testbench_text(xb, [0.1, 0.1], "../x.cir", "arr")
    assert main(["netlist", "--rows", "2", "--cols", "2", "-o", str(tmp_path / "a.cir"), "--testbench",
                 str(tmp_path / "t.cir")]) == 2
    assert not (tmp_path / "a.cir").exists()


def golden_pair(sense, out: Path):
    assert main(["netlist", *GOLDEN_ARGS[sense], "--subckt", "xbar_array", "-o", str(out / f"xbar_array_4x3_{sense}.cir"),
                 "--testbench", str(out / f"testbench_4x3_{sense}.cir")]) == 0
    return out / f"xbar_array_4x3_{sense}.cir", out / f"testbench_4x3_{sense}.cir"


@pytest.mark.parametrize("sense", ["tia", "resistor"])
def test_golden_subckt_and_testbench(sense, tmp_path):
    for made in golden_pair(sense, tmp_path):
        if os.environ.get("XBAR_REGEN_GOLDEN"):
            (GOLDEN / made.name).write_text(made.read_text())
        assert made.read_text() == (GOLDEN / made.name).read_text(), \
            f"regenerate with XBAR_REGEN_GOLDEN=1 pytest {__file__}"


@pytest.mark.parametrize("sense", ["tia", "resistor"])
def test_golden_testbench_reproduces_xbar_solve(sense, tmp_path):
    """The shipped testbench, run where it lies, against `xbar solve` of the same circuit on the command line."""
    bench = GOLDEN / f"testbench_4x3_{sense}.cir"
    subprocess.run([find_ngspice(), "-b", "-r", str(tmp_path / "tb.raw"), str(bench)], check=True,
                   capture_output=True, timeout=120)
    plot = read_raw(tmp_path / "tb.raw")[-1]
    np.savetxt(tmp_path / "x.csv", np.full((1, 4), 0.1), delimiter=",")
    amp = SenseAmplifier()
    sense_args = ["--sense", "resistor", "--ref-ohm", repr(amp.input_ohm())] if sense == "tia" else []
    args = GOLDEN_ARGS[sense] + sense_args + ["--inputs", str(tmp_path / "x.csv"), "-o", str(tmp_path / "i.npy")]
    args.remove("--v-read"), args.remove("0.1")
    assert main(["solve", *args]) == 0
    expected = np.load(tmp_path / "i.npy")[0]
    o = np.array([plot[f"v(o{j})"][0] for j in range(3)])
    sa = np.array([plot[f"v(sa{j})"][0] for j in range(3)])
    currents = (o - sa) / amp.feedback_ohm if sense == "tia" else o / 1e6
    assert rel(currents, expected) <= 1e-9


def test_golden_testbench_prints_its_table():
    out = subprocess.run([find_ngspice(), "-b", str(GOLDEN / "testbench_4x3_tia.cir")], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    table = {ln.split()[0]: float(ln.split()[2]) for ln in out.splitlines() if ln.startswith(("i_col", "v_out"))}
    assert sorted(table) == ["i_col0", "i_col1", "i_col2", "v_out0", "v_out1", "v_out2"]
    assert all(1e-6 < table[f"i_col{j}"] < 1e-3 for j in range(3))
