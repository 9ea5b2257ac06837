"""settle's native-vs-ngspice comparison (final values, settling times, error after the first time
constant), the trapezoidal default, responses that never settle, and progress on long steps."""

import numpy as np
import pytest

from xbar.analysis import plots
from xbar.analysis.readout import array_settling, ngspice_settling
from xbar.analysis.settling import check_settled, compare_step_responses
from xbar.array.circuit import build_circuit
from xbar.array.crossbar import Crossbar
from xbar.cli import main
from xbar.device.library import library_device
from xbar.util.errors import SolverError
from xbar.util.progress import ticking


def circuit(sense, n=8):
    states = np.random.default_rng(0).integers(0, 4, (n, n))
    return build_circuit(Crossbar(library_device(thickness_nm=1.9, n_cells=3), states, row_wire_ohm=1.0,
                                  col_wire_ohm=1.0, sense=sense))


def inputs(n=8):
    return np.random.default_rng(1).uniform(0.0, 0.1, n)


@pytest.fixture(scope="module", params=["tia", "resistor"])
def runs(request):
    c = circuit(request.param)
    w, summary = array_settling(c, inputs(), progress=False)
    spice, report = ngspice_settling(c, inputs(), w, summary, progress=False)
    return c, w, summary, spice, report


def test_correct_solvers_agree(runs):
    _, w, summary, spice, report = runs
    assert report["agree"], report["problems"]
    assert report["final_rel"] < summary["band_rel"] and report["other_final_rel"] < summary["band_rel"]
    assert report["worst_diff_rel"] < 0.05  # backward Euler against ngspice's adaptive steps
    assert report["error_after_3tau_rel"] < 2 * summary["band_rel"]
    assert report["tau_s"] == pytest.approx(summary["worst_s"] / np.log(1 / summary["band_rel"]), rel=1e-9)


@pytest.mark.parametrize("perturb, problem", [
    (lambda t, i: (t, i * 1.01), "from the DC solution"),         # a 1 % gain error
    (lambda t, i: (t * 1.2, i), "settle differently"),           # a 20 % slower trace
])
def test_a_perturbed_trace_fails(runs, perturb, problem):
    _, w, summary, spice, _ = runs
    t, i = perturb(spice.times_s, spice.currents)
    report = compare_step_responses(w.times_s, w.currents, t, i, np.asarray(summary["final_a"]),
                                    summary["band_a"], summary["dt_s"])
    assert not report["agree"] and any(problem in p for p in report["problems"])


def test_backward_euler_default_states_its_lag():
    """The default (be) settles late by about dt / (2 tau) against a tenfold finer trapezoidal step, and says so;
    the trapezoidal rule is on time for the worst column."""
    c = circuit("resistor")
    _, be = array_settling(c, inputs(), progress=False)
    _, trap = array_settling(c, inputs(), method="trap", progress=False)
    _, fine = array_settling(c, inputs(), dt_s=be["dt_s"] / 10, method="trap", progress=False)
    lag = be["worst_s"] / fine["worst_s"] - 1
    assert be["method"] == "be" and 0.01 < lag < 0.05
    assert 0.5 < be["be_lag_rel"] / lag < 3 and trap["be_lag_rel"] == 0.0
    assert abs(trap["worst_s"] / fine["worst_s"] - 1) < 0.005


@pytest.mark.bad_input
def test_a_response_that_never_settles_is_an_error(capsys):
    with pytest.raises(SolverError, match="did not settle within 30 steps"):
        array_settling(circuit("tia"), inputs(), max_steps=30, progress=False)
    with pytest.raises(SolverError, match="column 2"):
        check_settled(np.array([1e-9, 2e-9, np.inf]), 5e-9, 100)
    assert main(["settle", "--rows", "8", "--cols", "8", "--max-steps", "30"]) != 0
    err = capsys.readouterr().err
    assert "did not settle" in err and "inf" not in err and len(err.strip().splitlines()) == 1


def test_settle_cli_prints_the_comparison(tmp_path, capsys):
    assert main(["settle", "--rows", "8", "--cols", "8", "--backend", "ngspice", "--plot",
                 str(tmp_path / "s"), "--json", str(tmp_path / "s.json")]) == 0
    out = capsys.readouterr().out
    assert "apart; columns at most" in out and "after the first time constant" in out and out.rstrip().endswith("agree")
    assert (tmp_path / "s.png").stat().st_size > 0


def test_step_plot_overlays_ngspice_on_a_log_axis(runs):
    _, w, summary, spice, _ = runs
    fig = plots.step_response(w.times_s, w.currents, np.asarray(summary["final_a"]), summary["band_a"],
                              np.asarray(summary["settling_s"]), other=(spice.times_s, spice.currents))
    top, zoom = fig.axes
    assert zoom.get_xscale() == "log" and zoom.get_ylim() == (-5, 5)
    assert any(line.get_label() == "ngspice" for line in top.get_lines())


def test_ticking_shows_elapsed_against_the_estimate(capsys):
    import time
    with ticking("a long step", 3.0, interval_s=0.05, delay_s=0.1):
        time.sleep(0.4)
    err = capsys.readouterr().err
    assert "a long step" in err and "/3 s estimated" in err
    with ticking("a quick step", 3.0, interval_s=0.05):
        time.sleep(0.2)
    assert capsys.readouterr().err == ""  # shown only after 2 s


def test_a_column_along_the_band_edge_agrees_by_amplitude():
    """Crossing times 2x apart, traces 0.2 % of a band apart: the same settling, judged by amplitude."""
    t = np.linspace(0, 10e-9, 1001)
    band, final = 1e-9, np.array([1e-6])
    a = final + band * (0.999 + 2 * np.exp(-t / 0.5e-9) - np.where(t > 9e-9, 0.5, 0.0))[:, None]
    b = a + 0.002 * band  # creeps just outside the band until 9 ns; a enters it at 3.8 ns
    report = compare_step_responses(t, a, t, b, final, band, 1e-11)
    assert report["settling_diff_rel"] > 0.5 and report["agree"], report
    fast, slow = (final + 500 * band * np.exp(-t / tau)[:, None] for tau in (0.5e-9, 0.6e-9))  # 20 % slower
    assert not compare_step_responses(t, fast, t, slow, final, band, 1e-11)["agree"]
