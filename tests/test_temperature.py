"""Temperature: the models' factors, native vs ngspice at -40, 27 and 125 C, switching and read disturb."""

import numpy as np
import pytest

from xbar.analysis.read_disturb import read_disturb
from xbar.array.crossbar import Crossbar
from xbar.array.netlist import netlist_text
from xbar.device.library import library_device
from xbar.device.switching import SwitchingParams, critical_current, thermal_stability
from xbar.device.temperature import device_at, rp_factor, tmr_factor, wire_factor
from xbar.device.variation import Variation
from xbar.solvers import solve
from xbar.util.errors import ParameterError


def rel(a, b):
    return np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max()


def test_factors_are_one_at_27c_and_move_the_right_way():
    assert wire_factor(27.0) == tmr_factor(27.0) == rp_factor(27.0) == 1.0
    assert abs(wire_factor(125.0) - (1 + 3.9e-3 * 98)) <= 1e-12
    assert tmr_factor(125.0) < 1.0 < tmr_factor(-40.0)
    assert abs(tmr_factor(125.0) - 0.9387) <= 1e-3  # spin-wave form, a = 2e-5 K^-1.5: -6 % at 125 C
    dev = library_device(thickness_nm=1.9, n_cells=3)
    hot = device_at(dev, 125.0)
    assert hot.mtj.r_p < dev.mtj.r_p and hot.mtj.tmr < dev.mtj.tmr
    assert device_at(dev, 27.0) is dev
    with pytest.raises(ParameterError):
        device_at(dev, 1000.0)


@pytest.mark.parametrize("temp", [-40.0, 27.0, 125.0])
@pytest.mark.parametrize("sense,vh", [("tia", np.inf), ("resistor", np.inf), ("tia", 0.5)])
def test_native_matches_ngspice(temp, sense, vh):
    rng = np.random.default_rng(3)
    xb = Crossbar(library_device(thickness_nm=1.9, n_cells=3, v_half_volt=vh), rng.integers(0, 4, (16, 16)),
                  sense=sense, row_wire_ohm=2.0, col_wire_ohm=2.0, variation=Variation(0.05, 1), temperature_c=temp)
    x = rng.uniform(0.02, 0.3, (2, 16))
    native = solve(xb, x)
    assert rel(native.currents, solve(xb, x, backend="ngspice").currents) <= 1e-9
    text = netlist_text(xb)
    assert f".temp {temp:g}" in text and "Rr0_0 in0 r0_0 2 tc1=0.0039" in text


def test_hot_array_reads_less_and_batches_refuse_the_temp_sweep():
    rng = np.random.default_rng(0)
    states = rng.integers(0, 4, (8, 8))
    x = np.full((1, 8), 0.1)
    cold, hot = (solve(Crossbar(library_device(thickness_nm=1.9, n_cells=3), states, row_wire_ohm=1.0,
                                col_wire_ohm=1.0, temperature_c=t), x).currents.sum() for t in (-40.0, 125.0))
    assert hot > cold  # R_P falls and TMR falls: the AP cells conduct more when hot
    with pytest.raises(ParameterError, match="one input vector at a time"):
        netlist_text(Crossbar(library_device(thickness_nm=1.9, n_cells=1), states % 2, temperature_c=85.0),
                     batch=np.full((2, 8), 0.1))


def test_switching_and_read_disturb_follow_temperature():
    room, hot = SwitchingParams(), SwitchingParams(temperature_c=125.0)
    assert thermal_stability(hot, 1.9) < thermal_stability(room, 1.9)
    assert abs(thermal_stability(hot, 1.9) / thermal_stability(room, 1.9) - 0.6054) <= 1e-3
    assert critical_current(hot, 1.9) < critical_current(room, 1.9)
    assert read_disturb(1e-4, 1.9, hot)["probability_per_read"] > read_disturb(1e-4, 1.9, room)["probability_per_read"]
    with pytest.raises(ParameterError):
        SwitchingParams(temperature_c=-300.0)


@pytest.mark.parametrize("command", ["netlist", "solve", "settle", "infer", "program"])
def test_every_array_command_takes_temp_and_access_options(command, capsys):
    from xbar import cli
    try:
        assert cli.main([command, "--help"]) == 0
    except SystemExit as exc:
        assert exc.code == 0
    text = capsys.readouterr().out
    for flag in ("--temp", "--access", "--access-corner", "--access-width-nm", "--access-wordline-volt",
                 "--access-model"):
        assert flag in text, (command, flag)


def test_cli_temp_and_access_reach_the_circuit(tmp_path, capsys):
    from xbar import cli
    out = tmp_path / "a.cir"
    assert cli.main(["netlist", "--rows", "2", "--cols", "3", "--temp", "85", "--access-corner", "fast",
                     "-o", str(out)]) == 0
    text = out.read_text()
    assert ".temp 85" in text and "fast corner" in text and "Vwl1 wl1 0 DC {vwl}" in text
    assert cli.main(["solve", "--temp", "999"]) == 2
    assert "-200..300 C" in capsys.readouterr().err
    card = tmp_path / "bad.lib"
    card.write_text(".control\nshell echo hi\n.endc\n")
    assert cli.main(["solve", "--access-model", str(card), "--backend", "ngspice"]) != 0
    assert ".control is not allowed" in capsys.readouterr().err
