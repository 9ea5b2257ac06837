"""Answers checked against something independent: the native solver's own check, a scaled ngspice
refused on the linear and non-linear paths (a real ngspice behind a wrapper that scales its raw
values), PySpice likewise, and a SPICE/native disagreement in infer is an error."""

import os
import stat
import sys
import types

import numpy as np
import pytest

from xbar.array.crossbar import Crossbar
from xbar.cli import main
from xbar.device.library import library_device
from xbar.device.variation import Variation
from xbar.solvers import checks, solve
from xbar.util.errors import SolverError

WILD = 'name = "wild"\nstate_ohm = [40000, 33000, 27200, 22400]\nstate_sigma = [{s}, {s}, {s}, {s}]\n'


def crossbar(v_half=np.inf, driver_ohm=10.0, sense="tia", shape=(5, 4)):
    rng = np.random.default_rng(3)
    return Crossbar(library_device(thickness_nm=1.9, n_cells=3, v_half_volt=v_half), rng.integers(0, 4, shape),
                    row_wire_ohm=2.0, col_wire_ohm=1.0, driver_ohm=driver_ohm, sense=sense,
                    variation=Variation(0.05, 1))


def inputs(n, rows=5):
    return np.random.default_rng(4).uniform(0.0, 0.1, (n, rows))


# --- the native solver checks its own answer ---------------------------------------------------

def wild(sigma):
    """The 8x8 crossbar of the issue's device file (measured states, no channel, 1 ohm wires) with
    state_sigma = ``sigma`` set past the range check: the solver's own check is what is under test."""
    from xbar.device.compound import CompoundMTJ
    device = CompoundMTJ.from_state_resistances([40000, 33000, 27200, 22400], 0.0, [1.0] * 4)
    object.__setattr__(device, "state_sigma", (float(sigma),) * 4)
    return sol_circuit(Crossbar(device, np.random.default_rng(0).integers(0, 4, (8, 8)), row_wire_ohm=1.0,
                                col_wire_ohm=1.0, variation=Variation(0.0, 0)))


@pytest.mark.bad_input
@pytest.mark.parametrize("sigma", [100, 40, 20])
def test_the_native_solver_refuses_a_circuit_it_cannot_resolve(sigma):
    """A device file's state_sigma = 100 gave currents of -1.9e116..+1.9e116 A with exit 0 (40: -0.12 A).
    Device files are now range-checked too; the solver's check stands behind every way in."""
    from xbar.solvers.native import NativeSolver
    c = wild(sigma)
    x = np.random.default_rng(4).uniform(0.0, 0.1, (4, 8))
    with pytest.raises(SolverError, match="the native solver's answer fails an independent check") as info:
        NativeSolver(c).solve(x)
    assert "past what double precision resolves" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.bad_input
def test_a_wild_device_file_is_one_line(tmp_path, capsys):
    device = tmp_path / "wild.toml"
    device.write_text(WILD.format(s=100))
    out = tmp_path / "i.csv"
    assert main(["solve", "--device", str(device), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "state_sigma" in err and not out.exists(), err


def test_ordinary_and_wide_spreads_still_solve():
    from xbar.solvers.native import NativeSolver
    x = np.random.default_rng(4).uniform(0.0, 0.1, (4, 8))
    sol = NativeSolver(wild(5)).solve(x)  # spread ~1e9: still exact (ngspice agrees)
    assert np.isfinite(sol.currents).all() and (sol.currents > 0).all()
    for xb in (crossbar(), crossbar(sense="resistor"), crossbar(driver_ohm=0.0), crossbar(v_half=0.5)):
        x = np.vstack([inputs(3), -inputs(1), np.zeros((1, 5))])
        sol = solve(xb, x)
        checks.check_currents(sol_circuit(xb), x, sol.currents, "test")
        v = NativeSolver(sol_circuit(xb)).node_voltages(x) if sol.node_voltages is None else sol.node_voltages
        checks.check_node_voltages(sol_circuit(xb), x, v, "test")


def sol_circuit(xb):
    from xbar.array.circuit import build_circuit
    return build_circuit(xb)


@pytest.mark.bad_input
@pytest.mark.parametrize("factor", [1.5, -1.0, 1e3])
def test_currents_outside_the_passive_bounds_are_refused(factor):
    xb = crossbar()
    x = inputs(3)
    good = solve(xb, x).currents
    with pytest.raises(SolverError, match="fails an independent check"):
        checks.check_currents(sol_circuit(xb), x, good * factor, "test")


@pytest.mark.bad_input
def test_an_effective_matrix_outside_the_bounds_is_refused():
    from xbar.solvers.native import NativeSolver
    c = sol_circuit(crossbar())
    m = NativeSolver(c).effective_matrix()
    checks.check_matrix(c, m, "test")
    with pytest.raises(SolverError, match="more than its zero-parasitic"):
        checks.check_matrix(c, m * 1.5, "test")
    bad = m.copy()
    bad[0, 0] = -m[0, 0]
    with pytest.raises(SolverError, match="negative transfer"):
        checks.check_matrix(c, bad, "test")


# --- a wrong ngspice that is self-consistent -----------------------------------------------------

WRAPPER = """#!{python}
import glob, os, subprocess, sys
import numpy as np
code = subprocess.call(["{real}"] + sys.argv[1:])
raws = glob.glob("*.raw") + [sys.argv[i + 1] for i, a in enumerate(sys.argv[:-1]) if a == "-r"]
for path in set(raws):
    data = open(path, "rb").read()
    at = data.index(b"Binary:\\n") + len(b"Binary:\\n")
    values = np.frombuffer(data[at:], dtype="<f8") * {scale}
    open(path, "wb").write(data[:at] + values.astype("<f8").tobytes())
sys.exit(code)
"""


def fake_ngspice(tmp_path, scale):
    import shutil
    real = shutil.which("ngspice")
    if real is None:
        pytest.skip("ngspice not installed")
    path = tmp_path / f"ngspice-x{scale}"
    path.write_text(WRAPPER.format(python=sys.executable, real=real, scale=scale))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.mark.parametrize("v_half", [np.inf, 0.5], ids=["linear", "nonlinear"])
@pytest.mark.parametrize("driver_ohm", [10.0, 0.0])
@pytest.mark.parametrize("batch", [1, 3])
def test_the_scaling_wrapper_is_honest_at_scale_one(tmp_path, monkeypatch, v_half, driver_ohm, batch):
    monkeypatch.setenv("XBAR_NGSPICE", fake_ngspice(tmp_path, 1.0))
    xb = crossbar(v_half, driver_ohm)
    x = inputs(batch)
    assert np.abs(solve(xb, x, "ngspice").currents - solve(xb, x).currents).max() < 1e-9 * 1e-3


@pytest.mark.bad_input
@pytest.mark.parametrize("v_half", [np.inf, 0.5], ids=["linear", "nonlinear"])
@pytest.mark.parametrize("driver_ohm", [10.0, 0.0])
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("scale", [1.5, 0.9])
def test_a_scaled_ngspice_answer_is_refused(tmp_path, monkeypatch, v_half, driver_ohm, batch, scale):
    monkeypatch.setenv("XBAR_NGSPICE", fake_ngspice(tmp_path, scale))
    with pytest.raises(SolverError, match="ngspice's answer fails an independent check"):
        solve(crossbar(v_half, driver_ohm), inputs(batch), "ngspice")


@pytest.mark.bad_input
def test_a_scaled_ngspice_is_one_line_on_the_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XBAR_NGSPICE", fake_ngspice(tmp_path, 1.5))
    out = tmp_path / "i.csv"
    assert main(["solve", "--rows", "4", "--cols", "3", "--backend", "ngspice", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ngspice's answer fails an independent check" in err, err
    assert not out.exists()


@pytest.mark.bad_input
@pytest.mark.parametrize("v_half", [np.inf, 0.5], ids=["linear", "nonlinear"])
def test_a_scaled_pyspice_answer_is_refused(monkeypatch, v_half):
    pytest.importorskip("PySpice")
    from xbar.solvers import pyspice
    try:
        engine = pyspice.engine()
    except SolverError as exc:
        pytest.skip(str(exc))
    honest = engine.vectors
    monkeypatch.setattr(engine, "vectors", lambda names: {k: v * 1.5 for k, v in honest(names).items()})
    with pytest.raises(SolverError, match="ngspice's answer fails an independent check"):
        solve(crossbar(v_half), inputs(2), "pyspice")


@pytest.mark.bad_input
def test_a_spice_native_disagreement_in_infer_is_an_error():
    from xbar.experiments.circuits import spice_agreement
    logits = np.array([[1.0, 2.0], [0.5, -1.0]])
    net = types.SimpleNamespace(run=lambda x, backend: (logits, None, None),
                                spice_runs=[dict(backend="ngspice", ngspice="ngspice-46", klu_compiled=True,
                                                 klu_used=True, kcl_residual=1e-15)])
    assert spice_agreement(net, None, logits * (1 + 1e-9))["logits_max_rel_to_native"] < 1e-8
    with pytest.raises(SolverError, match="disagree: outputs differ by 0.5 of the largest"):
        spice_agreement(net, None, logits * 1.5)


# --- the other wrong answers: one line, non-zero exit, nothing written --------------------------

def one_error_line(capsys, status, phrase):
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and err.startswith("xbar: error: "), err
    assert phrase in err, err
    return err


@pytest.mark.bad_input
@pytest.mark.parametrize("steps", ["2", "60"])
def test_a_transient_that_never_settles_is_an_error(tmp_path, capsys, steps):
    """It printed "settled: worst column inf ns" with exit 0."""
    out, summary = tmp_path / "w.csv", tmp_path / "s.json"
    status = main(["settle", "--rows", "4", "--cols", "3", "--max-steps", steps, "-o", str(out), "--json", str(summary)])
    one_error_line(capsys, status, f"did not settle within {steps} steps")
    assert not out.exists() and not summary.exists()


@pytest.mark.bad_input
@pytest.mark.parametrize("argv, phrase", [
    (["solve", "--energy", "{d}/o.csv", "-o", "{d}/o.csv"], "-o and --energy both name"),
    (["solve", "--voltages", "{d}/o.csv", "-o", "{d}/./o.csv"], "-o and --voltages both name"),
    (["solve", "--energy", "{d}/o.csv.json", "-o", "{d}/o.csv"], "-o's solver record and --energy both name"),
    (["settle", "--json", "{d}/s.png", "--plot", "{d}/s", "--max-steps", "5"], "--json and --plot both name"),
], ids=["energy", "voltages", "solver record", "settle plot"])
def test_two_outputs_naming_one_file_are_refused(tmp_path, capsys, argv, phrase):
    """--energy o.csv -o o.csv replaced the currents with the energy JSON."""
    status = main([a.format(d=tmp_path) for a in argv])
    one_error_line(capsys, status, phrase)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.bad_input
@pytest.mark.parametrize("extra", [["--vh", "0.5"], ["--device", "DEVICE"]], ids=["--vh", "device file V_h"])
def test_the_ideal_backend_refuses_a_junction_bias_it_would_ignore(tmp_path, capsys, extra):
    device = tmp_path / "d.toml"
    device.write_text('name = "nl"\nstate_ohm = [40000, 30000, 22400]\nv_half_volt = 0.4\n')
    status = main(["solve", "--backend", "ideal", "-o", str(tmp_path / "o.csv")]
                  + [str(device) if a == "DEVICE" else a for a in extra])
    one_error_line(capsys, status, "--backend ideal has no junction bias")
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.bad_input
def test_an_unreachable_scheduler_fails_before_any_progress_bar(tmp_path, capsys):
    results = tmp_path / "r.jsonl"
    status = main(["sweep", "-e", "crossbar", "-p", "rows=2", "-p", "cols=2", "-o", str(results),
                   "--scheduler", "nowhere"])
    err = one_error_line(capsys, status, "cannot reach the Dask scheduler at 'nowhere'")
    assert "\r" not in err and "pt/s" not in err and not results.exists()
