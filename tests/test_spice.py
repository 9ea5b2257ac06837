"""The SPICE backends at tile scale: agreement with the native solver, what solved it, and clean refusals."""

import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from xbar.array.circuit import build_circuit
from xbar.array.crossbar import Crossbar
from xbar.device.junction import MTJ
from xbar.device.compound import CompoundMTJ
from xbar.device.variation import Variation
from xbar.device.library import library_device
from xbar.util.errors import ParameterError, SolverError
from xbar.array.netlist import read_raw
from xbar.solvers import solve
from xbar.solvers.ngspice import MAX_RESIDUAL, check_answer, ngspice_build, timeout_seconds

DEV = CompoundMTJ(MTJ(10e3, 25e3), 2)


def rel(a, b):
    return np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max()


def tile_128(sense):
    rng = np.random.default_rng(7)
    return Crossbar(library_device(thickness_nm=1.9, n_cells=3), rng.integers(0, 4, (128, 128)),
                    row_wire_ohm=1.0, col_wire_ohm=1.0, sense=sense, variation=Variation(0.05, 3))


@pytest.mark.parametrize("sense", ["tia", "resistor"])
@pytest.mark.parametrize("backend", ["ngspice", "pyspice"])
def test_128x128_tile_agrees_with_native(backend, sense):
    # 1 ohm wires, 3-cell devices with variation; a batch of two is one .dc sweep of the control source.
    xb = tile_128(sense)
    x = np.random.default_rng(1).uniform(0.0, 0.1, (2, 128))
    native = solve(xb, x)
    spice = solve(xb, x, backend)
    assert rel(spice.currents, native.currents) <= 1e-9
    assert rel(spice.voltages, native.voltages) <= 1e-9
    build = ngspice_build()
    assert spice.solver["backend"] == backend and spice.solver["ngspice"] == build["version"]
    assert spice.solver["klu_compiled"] == build["klu_compiled"]
    assert spice.solver["klu_used"] == build["klu_compiled"]
    assert spice.solver["kcl_residual"] <= MAX_RESIDUAL


@pytest.mark.parametrize("backend", ["ngspice", "pyspice"])
def test_single_vector_and_batch_paths_agree(backend):
    rng = np.random.default_rng(2)
    xb = Crossbar(library_device(thickness_nm=2.2, n_cells=2), rng.integers(0, 3, (6, 5)), row_wire_ohm=2.0,
                  col_wire_ohm=1.0, driver_ohm=10.0, variation=Variation(0.1, 1))
    x = rng.uniform(-0.1, 0.1, (3, 6))
    batch = solve(xb, x, backend).currents
    one = np.vstack([solve(xb, v[None], backend).currents for v in x])
    native = solve(xb, x).currents
    assert rel(batch, native) <= 1e-12 and rel(one, native) <= 1e-12


def test_native_and_ideal_record_their_backend():
    xb = Crossbar(DEV, np.array([[0, 1], [2, 1]]))
    assert solve(xb, [[0.1, 0.1]]).solver["backend"] == "native"
    assert solve(xb, [[0.1, 0.1]], "ideal").solver["backend"] == "ideal"


def test_pyspice_export_simulates_to_the_same_outputs(tmp_path):
    # PySpice's own simulator, in a fresh process: the designer's route, apart from xbar's engine.
    script = """
import logging, sys
import numpy as np
from PySpice.Spice.NgSpice.Shared import NgSpiceShared
from xbar.array.crossbar import Crossbar
from xbar.device.library import library_device
from xbar.device.variation import Variation
from xbar.array.pyspice_export import to_pyspice
from xbar.solvers import solve
from xbar.solvers.pyspice import library_path
NgSpiceShared.LIBRARY_PATH = library_path()
logging.getLogger("PySpice").setLevel(logging.CRITICAL)
worst = 0.0
for sense in ("tia", "resistor"):
    rng = np.random.default_rng(4)
    xb = Crossbar(library_device(thickness_nm=1.9, n_cells=3), rng.integers(0, 4, (6, 5)), row_wire_ohm=1.0,
                  col_wire_ohm=1.0, driver_ohm=3.0, sense=sense, variation=Variation(0.05, 2))
    x = rng.uniform(0.0, 0.1, 6)
    op = to_pyspice(xb, x, title="export test").simulator(simulator="ngspice-shared").operating_point()
    if sense == "tia":
        got = np.array([float(op.branches[f"vs{j}"][0]) for j in range(5)])
    else:
        got = np.array([float(op.nodes[f"o{j}"][0]) for j in range(5)]) / xb.ref_ohm
    ref = solve(xb, x[None]).currents[0]
    worst = max(worst, np.abs(got - ref).max() / np.abs(ref).max())
print(worst)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.strip().splitlines()[-1]) <= 1e-9


def test_export_has_the_netlist_elements():
    from xbar.array.pyspice_export import to_pyspice
    xb = Crossbar(DEV, np.array([[0, 1], [2, 1]]), row_wire_ohm=1.0, col_wire_ohm=1.0)
    text = str(to_pyspice(xb, [0.1, 0.05]))
    assert text.count("\nX") == 4 and "V0 in0 0 0.1" in text and ".options klu" in text


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "xbar.cli", *args], capture_output=True, text=True,
                          timeout=180, env=env)


def test_doctor_names_klu_truthfully():
    proc = cli("doctor")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    klu = re.search(r"^KLU\s+\S+\s+(yes|no)", proc.stdout, re.M)
    version = subprocess.run(["ngspice", "-v"], capture_output=True, text=True).stdout
    assert klu and (klu.group(1) == "yes") == ("Compiled with KLU" in version)
    assert ngspice_build()["version"] in proc.stdout
    for what in ("pyspice", "BLAS", "cache", "data"):
        assert re.search(rf"^{what}\s", proc.stdout, re.M), what


def test_solve_writes_what_solved_it(tmp_path):
    import json
    out = tmp_path / "i.csv"
    proc = cli("solve", "--rows", "4", "--cols", "3", "--backend", "pyspice", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    info = json.loads((tmp_path / "i.csv.json").read_text())
    assert info["backend"] == "pyspice" and info["ngspice"] == ngspice_build()["version"]
    assert "KLU compiled in" in proc.stdout


@pytest.fixture
def no_pyspice(tmp_path):
    """An environment where `import PySpice` fails, as on a machine without it."""
    fake = tmp_path / "shadow" / "PySpice"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named PySpice')\n")
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(fake.parent), os.environ.get("PYTHONPATH", "")]))


@pytest.mark.bad_input
def test_pyspice_absent_refuses_in_one_line_and_others_still_work(no_pyspice):
    proc = cli("solve", "--backend", "pyspice", env=no_pyspice)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "PySpice is not installed" in proc.stderr
    for backend in ("native", "ngspice"):
        assert cli("solve", "--backend", backend, env=no_pyspice).returncode == 0


@pytest.mark.bad_input
def test_libngspice_absent_refuses_in_one_line_and_others_still_work():
    env = dict(os.environ, NGSPICE_LIBRARY_PATH="/nonexistent/libngspice.so.0")
    proc = cli("solve", "--backend", "pyspice", env=env)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "libngspice could not be loaded" in proc.stderr
    for backend in ("native", "ngspice"):
        assert cli("solve", "--backend", backend, env=env).returncode == 0


@pytest.mark.bad_input
@pytest.mark.parametrize("backend", ["ngspice", "pyspice"])
def test_huge_variation_is_refused_not_returned(backend):
    # Issue 13: sigma 50 gave negative currents for positive inputs, exit 0. The range table now refuses
    # Variation(50.0) (sigma <= 1), so the same spread comes as explicit cell resistances.
    dev = library_device(thickness_nm=1.9, n_cells=3)
    nominal = Crossbar(dev, np.random.default_rng(0).integers(0, 4, (8, 8))).cell_ohm()
    spread = np.exp(50.0 * np.random.default_rng(0).standard_normal(nominal.shape))
    xb = Crossbar(dev, cell_resistance_ohm=nominal * spread, row_wire_ohm=1.0, col_wire_ohm=1.0)
    with pytest.raises(SolverError, match="past the 1e\\+15 that ngspice's tolerances resolve"):
        solve(xb, np.full((2, 8), 0.1), backend)


@pytest.mark.bad_input
def test_kirchhoff_check_refuses_a_broken_answer():
    circuit = build_circuit(Crossbar(DEV, np.array([[0, 1], [2, 1]]), row_wire_ohm=1.0))
    x = np.array([[0.1, 0.05]])
    sol = solve(circuit, x, "ngspice")
    delivered = -sol.currents.sum() / 2  # what each of two row sources would carry if they split it evenly
    sources = np.full((1, 2), delivered)
    assert check_answer(circuit, sol.currents, sources) <= 1e-12
    with pytest.raises(SolverError, match="breaks Kirchhoff's current law"):
        check_answer(circuit, sol.currents * 1.01, sources)
    with pytest.raises(SolverError, match="non-finite"):
        check_answer(circuit, sol.currents * np.nan, sources)


@pytest.mark.bad_input
@pytest.mark.parametrize("value", ["soon", "0", "-5", "inf", "nan"])
def test_bad_timeouts_are_refused(monkeypatch, value):
    circuit = build_circuit(Crossbar(DEV, np.zeros((2, 2), int)))
    monkeypatch.setenv("XBAR_NGSPICE_TIMEOUT", value)
    with pytest.raises(ParameterError, match="(?i)timeout"):
        timeout_seconds(circuit, 1)


def test_timeout_default_scales_with_the_circuit(monkeypatch):
    monkeypatch.delenv("XBAR_NGSPICE_TIMEOUT", raising=False)
    small = build_circuit(Crossbar(DEV, np.zeros((2, 2), int)))
    big = build_circuit(Crossbar(DEV, np.zeros((64, 64), int), row_wire_ohm=1.0))
    assert 300 <= timeout_seconds(small, 1) < timeout_seconds(big, 1) < timeout_seconds(big, 100)
    monkeypatch.setenv("XBAR_NGSPICE_TIMEOUT", "7.5")
    assert timeout_seconds(big, 100) == 7.5 and timeout_seconds(big, 100, 3.0) == 3.0


def fake_ngspice(tmp_path, body):
    """A stand-in executable for error paths only (never for agreement): prints or hangs as told."""
    path = tmp_path / "fake-ngspice"
    path.write_text("#!/bin/sh\nif [ \"$1\" = \"-v\" ]; then echo '** ngspice-99'; exit 0; fi\n" + body + "\n")
    path.chmod(0o755)
    return str(path)


@pytest.mark.bad_input
def test_non_utf8_ngspice_output_is_one_line(tmp_path):
    exe = fake_ngspice(tmp_path, "printf 'Error: bad \\377\\376 bytes\\n'; exit 1")
    proc = cli("solve", "--backend", "ngspice", env=dict(os.environ, XBAR_NGSPICE=exe))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "ngspice failed (exit 1): Error: bad" in proc.stderr


@pytest.mark.bad_input
@pytest.mark.parametrize("content", [
    b"", b"garbage\x00\xff without any header", b"Title: x\nNo. Variables: 2\nNo. Points: 1\nVariables:\n",
    b"Title: x\nNo. Variables: 1\nNo. Points: 4\nVariables:\n\t0\ti(vs0)\tcurrent\nBinary:\n\x00\x01",
    b"Title: x\nNo. Variables: 1\nNo. Points: 2\nVariables:\n\t0\tv(o0)\tvoltage\nValues:\n 0\t1.5\n",
])
def test_truncated_or_garbage_raw_files_are_one_error(tmp_path, content):
    (tmp_path / "bad.raw").write_bytes(content)
    with pytest.raises(SolverError, match="raw file"):
        read_raw(tmp_path / "bad.raw")


@pytest.mark.bad_input
def test_truncated_raw_file_from_ngspice_is_one_line(tmp_path):
    exe = fake_ngspice(tmp_path, 'printf "Title: x\\nNo. Variables: 1\\nNo. Points: 9\\nVariables:\\n'
                                 '\\t0\\ti(vs0)\\tcurrent\\nBinary:\\n12" > "$3"; exit 0')
    proc = cli("solve", "--backend", "ngspice", env=dict(os.environ, XBAR_NGSPICE=exe))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "is truncated or not a raw file" in proc.stderr


@pytest.mark.bad_input
@pytest.mark.parametrize("how", ["timeout", "SIGTERM", "SIGINT"])
def test_stopped_runs_leave_no_temporary_folder(tmp_path, how):
    exe = fake_ngspice(tmp_path, "sleep 60")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, XBAR_NGSPICE=exe, TMPDIR=str(tmp))
    args = [sys.executable, "-m", "xbar.cli", "solve", "--backend", "ngspice"]
    if how == "timeout":
        args += ["--timeout", "1"]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if how != "timeout":
        deadline = time.monotonic() + 60
        while not list(tmp.glob("xbar-ngspice-*")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(tmp.glob("xbar-ngspice-*"))
        proc.send_signal(getattr(signal, how))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "Traceback" not in err
    assert not list(tmp.glob("xbar-ngspice-*"))


def test_network_through_pyspice_reports_agreement_with_native(tmp_path):
    from xbar.network.datasets import load
    from xbar.experiments.circuits import compare
    from xbar.network.circuit_spec import CircuitSpec
    from xbar.network.mlp import trained
    net, data = trained("digits", seed=0, hidden=16, epochs=40, cache_dir=tmp_path), load("digits")
    spec = CircuitSpec(n_cells=3, wire_ohm=1.0, tile_rows=40, tile_cols=12, sigma=0.05)
    rec = compare(net, data, spec, backend="pyspice", n_test=8)
    spice = rec["spice"]
    assert spice["backend"] == "pyspice" and spice["ngspice"] == ngspice_build()["version"]
    assert spice["klu_used"] == ngspice_build()["klu_compiled"] and spice["tile_solves"] >= 4
    assert spice["logits_max_rel_to_native"] <= 1e-9 and spice["prediction_agreement_with_native"] == 1.0


def test_pyspice_in_worker_processes(tmp_path):
    # One libngspice per process: the parent's, a forked child's copy, and spawned workers' own.
    script = tmp_path / "workers.py"
    script.write_text("""
import multiprocessing as mp
import numpy as np
from xbar.array.crossbar import Crossbar
from xbar.device.junction import MTJ
from xbar.device.compound import CompoundMTJ
from xbar.solvers import solve

def job(seed):
    rng = np.random.default_rng(seed)
    xb = Crossbar(CompoundMTJ(MTJ(10e3, 25e3), 2), rng.integers(0, 3, (6, 5)), row_wire_ohm=1.0)
    x = rng.uniform(0, 0.1, (3, 6))
    a, b = solve(xb, x, "pyspice").currents, solve(xb, x).currents
    return float(np.abs(a - b).max() / np.abs(b).max())

if __name__ == "__main__":
    worst = job(0)
    for method in ("fork", "spawn"):
        with mp.get_context(method).Pool(2) as pool:
            worst = max([worst] + pool.map(job, range(4)))
    print(worst)
""")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.strip().splitlines()[-1]) <= 1e-12


@pytest.mark.parametrize("cells, sense", [(3, "tia"), (2, "resistor"), (1, "tia")])
def test_condensed_devices_give_the_full_netlists_answer_with_fewer_equations(cells, sense):
    """Each device as its exact DC equivalent: the same currents as the subcircuit netlist and the native solver
    (variation, stuck, open and shorted cells included), from a netlist without the channel nodes."""
    from xbar.array.netlist import netlist_text
    from xbar.device.faults import Faults
    from xbar.solvers import make_solver
    rng = np.random.default_rng(cells)
    xb = Crossbar(library_device(thickness_nm=2.2, n_cells=cells), rng.integers(0, cells + 1, (20, 12)),
                  row_wire_ohm=1.5, col_wire_ohm=2.0, sense=sense, variation=Variation(sigma=0.05, seed=3),
                  faults=Faults.uniform(0.08, seed=4))
    x = rng.uniform(0, 0.1, (6, 20))
    native = make_solver(xb, "native").solve(x).currents
    full, condensed = (make_solver(xb, "ngspice", devices=d).solve(x) for d in ("full", "condensed"))
    scale = np.abs(native).max()
    assert np.abs(condensed.currents - native).max() <= 1e-9 * scale
    assert np.abs(condensed.currents - full.currents).max() <= 1e-9 * scale
    assert condensed.solver["devices"] == "condensed" and full.solver["devices"] == "full"
    text = netlist_text(xb, condensed=True)
    assert ".subckt" not in text and not re.search(r"^X", text, re.M) and re.search(r"^R0_0 ", text, re.M)


@pytest.mark.bad_input
def test_condensed_devices_are_refused_where_no_dc_equivalent_exists():
    from xbar.array.netlist import netlist_text
    from xbar.device.access import AccessTransistor
    from xbar.solvers import make_solver
    linear = Crossbar(library_device(thickness_nm=1.9, n_cells=3), np.ones((4, 4), int))
    for xb, extra in ((Crossbar(library_device(thickness_nm=1.9, n_cells=3, v_half_volt=0.5), np.ones((4, 4), int)),
                       {}), (Crossbar(library_device(thickness_nm=1.9, n_cells=3), np.ones((4, 4), int),
                                      access=AccessTransistor()), {}), (linear, dict(capacitors=True))):
        with pytest.raises(ParameterError, match="condensed devices are exact only"):
            netlist_text(xb, condensed=True, **extra)
    with pytest.raises(ParameterError, match="devices"):
        make_solver(linear, "ngspice", devices="tiny")
