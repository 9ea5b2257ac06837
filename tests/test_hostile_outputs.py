"""Outputs and resources under attack: atomic writes with the user's umask, interrupted writes,
non-real and non-finite numbers at the solver boundary, and sizes refused before allocating."""

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from xbar.util import resources
from xbar.util.atomic import atomic_open, write_text
from xbar.cli import main
from xbar.array.crossbar import Crossbar
from xbar.device.junction import MTJ
from xbar.device.compound import CompoundMTJ
from xbar.util.errors import ParameterError, ResourceError, SolverError
from xbar.solvers import solve

from stand_ins import KILLED_WRITER

DEV = CompoundMTJ(MTJ(10e3, 25e3), 2)


def one_line_error(capsys, code, *needles):
    err = capsys.readouterr().err
    assert code != 0, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


@pytest.fixture
def umask():
    saved = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(saved)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


# --- Atomic writes --------------------------------------------------------------------------

def test_new_files_follow_the_umask_and_existing_files_keep_their_mode(tmp_path, umask):
    umask(0o022)
    assert mode(write_text(tmp_path / "a.txt", "x")) == 0o644
    umask(0o077)
    assert mode(write_text(tmp_path / "b.txt", "x")) == 0o600
    os.chmod(tmp_path / "a.txt", 0o640)
    umask(0o022)
    write_text(tmp_path / "a.txt", "y")
    assert mode(tmp_path / "a.txt") == 0o640 and (tmp_path / "a.txt").read_text() == "y"


def test_cli_outputs_are_0644_under_umask_022(tmp_path, umask, capsys):
    umask(0o022)
    outputs = {"net": tmp_path / "x.cir", "csv": tmp_path / "i.csv", "npy": tmp_path / "v.npy"}
    assert main(["netlist", "--rows", "2", "--cols", "2", "-o", str(outputs["net"])]) == 0
    assert main(["solve", "--rows", "2", "--cols", "2", "-o", str(outputs["csv"]),
                 "--voltages", str(outputs["npy"])]) == 0
    results = tmp_path / "r.jsonl"
    grid = tmp_path / "g.toml"
    grid.write_text('experiment = "crossbar"\n[params]\nrows = 3\ncols = 2\nbatch = 1\ncells = [1, 2]\n'
                    'wire_ohm = [0.5, 1.0]\n[figure]\nkind = "metric_lines"\nx = "wire_ohm"\nhue = "cells"\n'
                    'z = "rms_rel"\n')
    assert main(["sweep", str(grid), "-w", "1", "--quiet", "-o", str(results), "--csv", str(tmp_path / "s.csv"),
                 "--figure", str(tmp_path / "fig")]) == 0
    written = [*outputs.values(), results, tmp_path / "s.csv", tmp_path / "fig.png", tmp_path / "fig.svg"]
    assert {p.name: mode(p) for p in written} == {p.name: 0o644 for p in written}
    assert not list(tmp_path.glob(".*.part"))


def test_an_exception_while_writing_keeps_the_old_file(tmp_path):
    path = tmp_path / "out.csv"
    path.write_bytes(b"old contents, no newline")
    with pytest.raises(RuntimeError):
        with atomic_open(path, "wb") as f:
            f.write(b"half of the new")
            raise RuntimeError("interrupted")
    assert path.read_bytes() == b"old contents, no newline"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]




def test_kill_9_mid_write_keeps_the_old_file_and_the_next_write_clears_the_litter(tmp_path):
    path, started = tmp_path / "big.csv", tmp_path / "started"
    path.write_bytes(b"1,2,3\n4,5,6")
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path), str(started)])
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert started.exists()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert path.read_bytes() == b"1,2,3\n4,5,6"
    assert len(list(tmp_path.glob(".big.csv.*.part"))) == 1  # SIGKILL runs no cleanup...
    write_text(path, "7,8,9\n")
    assert path.read_text() == "7,8,9\n"
    assert not list(tmp_path.glob(".big.csv.*.part"))  # ...the next write removes it


def test_atomic_open_refuses_append_and_read_modes(tmp_path):
    for bad in ("a", "r+", "rb"):
        with pytest.raises(ValueError):
            with atomic_open(tmp_path / "x", bad):
                pass


# --- Non-real and non-finite numbers at the solver boundary ---------------------------------

@pytest.mark.bad_input
@pytest.mark.parametrize("backend", ["native", "ideal", "ngspice"])
@pytest.mark.parametrize("inputs, message", [
    ([[0.1 + 0.2j, 0.1, 0.1]], "complex values are refused"),
    (np.array([[0.1, 0.1, 0.1]], dtype=np.complex64), "complex values are refused"),
    ([[True, False, True]], "got bool values"),
    ([["0.1", "x", "0.2"]], "numeric row voltages"),
    ("0.1,0.2,0.3", "got a string"),
    (np.zeros((0, 3)), "hold no vectors"),
    ([[0.1, np.inf, 0.0]], "inputs must be finite"),
], ids=["complex", "complex64", "bool", "strings", "string", "empty", "inf"])
def test_non_real_inputs_are_refused_by_every_backend(backend, inputs, message):
    xb = Crossbar(DEV, np.zeros((3, 2), int), row_wire_ohm=1.0)
    with pytest.raises(ParameterError, match=message):
        solve(xb, inputs, backend)


@pytest.mark.bad_input
@pytest.mark.parametrize("backend", ["native", "ideal"])
def test_non_finite_outputs_are_an_error(backend):
    """Finite inputs whose currents overflow double precision: an error, never inf or NaN with exit 0."""
    # milliohm cells are outside the range table (xbar.util.ranges), so they come as explicit resistances
    dev = CompoundMTJ(MTJ(1e4, 2e4), 2, channel_ohm=0.0)
    xb = Crossbar(dev, cell_resistance_ohm=np.full((3, 2, 2), 1e-3), row_wire_ohm=1e-3, col_wire_ohm=1e-3)
    with pytest.raises(SolverError, match="non-finite"):
        solve(xb, [[1e308, 1e308, 1e308]], backend)


@pytest.mark.bad_input
def test_solution_refuses_non_finite_and_complex_arrays():
    from xbar.solvers.result import Solution
    with pytest.raises(SolverError, match="non-finite current"):
        Solution(np.array([[np.nan]]), np.array([[0.0]]))
    with pytest.raises(SolverError, match="not real numbers"):
        Solution(np.array([[1j]]), np.array([[0.0]]))


@pytest.mark.bad_input
@pytest.mark.parametrize("content", [b"1e308,1e308,1e308\n", b"1e308,-1e308,1e308\n"])
def test_cli_huge_inputs_give_one_line_and_no_output(tmp_path, capsys, content):
    inputs, out = tmp_path / "in.csv", tmp_path / "out.csv"
    inputs.write_bytes(content)
    code = main(["solve", "--rows", "3", "--cols", "2", "--r-p", "1", "--tmr", "100", "--channel-ohm", "0",
                 "--wire-ohm", "0.001", "--inputs", str(inputs), "-o", str(out)])
    one_line_error(capsys, code, "non-finite")
    assert not out.exists()


@pytest.mark.bad_input
def test_cli_complex_npy_inputs(tmp_path, capsys):
    inputs = tmp_path / "in.npy"
    np.save(inputs, np.array([[0.1 + 1j, 0.1, 0.1]]))
    one_line_error(capsys, main(["solve", "--rows", "3", "--cols", "2", "--inputs", str(inputs)]), "complex")


# --- Sizes refused before allocating ---------------------------------------------------------

def fast(call, limit_s=30.0):
    """``call()``, asserted to return within ``limit_s``: catches allocating first and failing late
    (57 s and 13.7 GB for 20000x20000 before the check); the refusals themselves take milliseconds."""
    import xbar.experiments.circuits  # noqa: F401  (warm the imports the CLI makes lazily)
    import xbar.solvers  # noqa: F401
    start = time.perf_counter()
    result = call()
    assert time.perf_counter() - start < limit_s
    return result


@pytest.mark.bad_input
@pytest.mark.parametrize("shape", [(100000, 100000), (20000, 20000)])
def test_huge_crossbar_refused_fast_with_the_estimate(shape):
    states = np.broadcast_to(np.zeros((1, 1), int), shape)  # no memory behind it
    with pytest.raises(ResourceError, match=r"needs about [0-9.]+ [GTP]iB of memory, more than the"):
        fast(lambda: Crossbar(DEV, states))


@pytest.mark.bad_input
@pytest.mark.parametrize("args, message", [
    (["--rows", "100000", "--cols", "100000"], "100000x100000 crossbar"),
    (["--rows", "20000", "--cols", "20000"], "20000x20000 crossbar"),
    (["--rows", "8", "--cols", "3000", "--random", "20000"], "solving 20000 input vector(s)"),
    (["--rows", "8", "--cols", "8", "--random", "10000000000"], "solving 10000000000 input vector(s)"),
])
def test_cli_huge_sizes_refused_fast(capsys, args, message):
    code = fast(lambda: main(["solve", *args]), 5.0)
    one_line_error(capsys, code, message, "GiB", "XBAR_MEMORY_LIMIT")


@pytest.mark.bad_input
def test_huge_input_file_refused_before_loading(tmp_path, capsys):
    big = tmp_path / "inputs.csv"
    with open(big, "wb") as f:
        f.write(b"0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1\n")
        f.truncate(1 << 30)  # a sparse 1 GiB file
    code = fast(lambda: main(["solve", "--rows", "8", "--cols", "3000", "--inputs", str(big)]), 5.0)
    one_line_error(capsys, code, "of memory")


@pytest.mark.bad_input
def test_memory_limit_from_the_environment(monkeypatch):
    monkeypatch.setenv("XBAR_MEMORY_LIMIT", "1M")
    with pytest.raises(ResourceError, match="more than the 1.0 MiB allowed by XBAR_MEMORY_LIMIT"):
        Crossbar(DEV, np.zeros((64, 64), int))
    monkeypatch.setenv("XBAR_MEMORY_LIMIT", "lots")
    with pytest.raises(ResourceError, match="XBAR_MEMORY_LIMIT must be a size"):
        Crossbar(DEV, np.zeros((2, 2), int))
    monkeypatch.setenv("XBAR_MEMORY_LIMIT", "64G")
    assert resources.available_bytes() == 64 << 30


def test_estimates_grow_with_size_and_batch_and_memory_is_known():
    small, big = resources.estimate_bytes(8, 8), resources.estimate_bytes(800, 800)
    assert 0 < small < big
    assert resources.estimate_bytes(8, 8, batch=1000) > resources.estimate_bytes(8, 8, batch=10)
    assert resources.available_bytes() > 0
    assert resources.parse_size("1.5G") == 3 << 29 and resources.parse_size("4096") == 4096
