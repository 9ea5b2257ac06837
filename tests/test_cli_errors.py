"""Every documented error path of the command line: exactly one stderr line, a non-zero exit, no traceback.

The big table runs ``xbar.cli.main`` in this process (fast: no interpreter start
per case); a smaller table runs the real ``xbar`` command in subprocesses, side
by side, to show the same holds for the process as a user sees it.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

import xbar
from xbar import cli
from xbar.network import datasets

#: Bad files, written by the ``files`` fixture, by placeholder name.
FILES = {
    "EMPTY.csv": b"",
    "BLANK.csv": b"\n\n",
    "TEXT.csv": b"a,b\nc,d\n",
    "NONUTF8.csv": b"\xff\xfe\x00\x01garbage",
    "NAN.csv": b"0.1,nan,0.1,0.1\n",
    "INF.csv": b"0.1,inf,0.1,0.1\n",
    "RAGGED.csv": b"0.1,0.1\n0.1\n",
    "WIDE.csv": b"0.1,0.1,0.1,0.1,0.1\n",
    "TWOROWS.csv": b"0.1,0.1,0.1,0.1\n0.1,0.1,0.1,0.1\n",
    "STATES_BIG.csv": b"0,1\n5,0\n",
    "STATES_NEG.csv": b"0,1\n-1,0\n",
    "STATES_FRAC.csv": b"0,1\n0.5,0\n",
    "STATES_NAN.csv": b"0,1\nnan,0\n",
}


def _npy_files(folder):
    np.save(folder / "ZERO_D.npy", np.array(3.0))
    np.save(folder / "THREE_D.npy", np.zeros((2, 2, 2)))
    np.save(folder / "EMPTY.npy", np.zeros((0, 4)))
    np.save(folder / "COMPLEX.npy", np.full((1, 4), 0.1 + 0.1j))
    np.save(folder / "STRINGS.npy", np.array([["a", "b", "c", "d"]]))
    np.save(folder / "OBJECT.npy", np.array([[1, None, 2, 3]], dtype=object), allow_pickle=True)
    (folder / "TRUNCATED.npy").write_bytes((folder / "THREE_D.npy").read_bytes()[:90])
    (folder / "NOT_NPY.npy").write_bytes(b"this is not numpy")


@pytest.fixture
def files(tmp_path):
    for name, content in FILES.items():
        (tmp_path / name).write_bytes(content)
    _npy_files(tmp_path)
    (tmp_path / "A_FOLDER").mkdir()
    (tmp_path / "A_FILE").write_text("x")
    return tmp_path


def _resolve(args, folder):
    """Replace placeholder names in ``args`` by paths in ``folder``."""
    out = []
    for a in args:
        if a.isupper() and (folder / a).exists() or a in ("MISSING.csv", "MISSING.npy"):
            out.append(str(folder / a))
        elif a.startswith("A_FILE"):
            out.append(str(folder / a))
        else:
            out.append(a)
    return out


# (argv, a phrase the one line must hold). Each row is one distinct bad input.
BAD = [
    # no or unknown command, unknown options
    ([], "arguments are required: COMMAND"),
    (["bogus"], "invalid choice: 'bogus'"),
    (["solve", "--bogus"], "unrecognized arguments: --bogus"),
    (["solve", "extra"], "unrecognized arguments: extra"),
    (["solve", "--wire-ohm"], "argument --wire-ohm: expected one argument"),
    (["solve", "--backend", "spectre"], "argument --backend: invalid choice"),
    (["solve", "--sense", "adc"], "argument --sense: invalid choice"),
    # seeds
    (["solve", "--seed", "-1"], "argument --seed: must be an integer in 0..4294967295"),
    (["solve", "--seed", "1.5"], "argument --seed: expected an integer"),
    (["solve", "--seed", "4294967296"], "argument --seed: must be an integer in 0..4294967295"),
    (["solve", "--seed", "abc"], "argument --seed: expected an integer"),
    (["solve", "--seed", "nan"], "argument --seed: expected an integer"),
    # counts
    (["solve", "--random", "0"], "argument --random: must be an integer >= 1"),
    (["solve", "--random", "-3"], "argument --random: must be an integer >= 1"),
    (["solve", "--random", "2.5"], "argument --random: expected an integer"),
    (["solve", "--rows", "0"], "argument --rows: must be an integer >= 1"),
    (["solve", "--rows", "-4"], "argument --rows: must be an integer >= 1"),
    (["solve", "--cols", "0"], "argument --cols: must be an integer >= 1"),
    (["solve", "--cols", "1e400"], "argument --cols: expected an integer"),
    (["solve", "--cells", "0"], "argument --cells: must be an integer in 1..6"),
    (["solve", "--cells", "7"], "argument --cells: must be an integer in 1..6"),
    (["solve", "--cells", "2.5"], "argument --cells: expected an integer"),
    # voltages
    (["solve", "--v-read", "inf"], "argument --v-read: must be a number > 0 and <= 10 V, got 'inf'"),
    (["solve", "--v-read", "nan"], "argument --v-read: must be a number > 0 and <= 10 V, got 'nan'"),
    (["solve", "--v-read", "-1"], "argument --v-read: must be a number > 0 and <= 10 V, got '-1'"),
    (["solve", "--v-read", "-inf"], "argument --v-read: must be a number > 0 and <= 10"),
    (["solve", "--v-read", "0"], "argument --v-read: must be a number > 0 and <= 10"),
    (["solve", "--v-read", "0.1V"], "argument --v-read: expected a number"),
    (["solve", "--v-read", "1e308"], "argument --v-read: must be a number > 0 and <= 10"),
    (["solve", "--wire-ohm", "1e308"], "argument --wire-ohm: must be a number in 0..1e+09"),
    (["solve", "--r-p", "1e-300", "--tmr", "0"], "argument --r-p: must be a number in 0.1..1e+10 ohm"),
    (["solve", "--r-p", "1e4", "--tmr", "1e308"], "argument --tmr: must be a number in 0..10000"),
    (["solve", "--sense", "resistor", "--ref-ohm", "1e-300"], "argument --ref-ohm"),
    (["solve", "--sigma", "50"], "argument --sigma: must be a number in 0..1"),
    (["solve", "--channel-ohm", "1e308"], "argument --channel-ohm"),
    (["infer", "--sigma", "50"], "argument --sigma: must be a number in 0..1"),
    (["infer", "--v-read", "1e308"], "argument --v-read"),
    # resistances and device values
    (["solve", "--wire-ohm", "-1e-9"], "argument --wire-ohm: must be a number in 0..1e+09 ohm, got '-1e-9'"),
    (["solve", "--wire-ohm", "inf"], "argument --wire-ohm: must be a number in 0..1e+09"),
    (["solve", "--wire-ohm", "-.5"], "argument --wire-ohm: must be a number in 0..1e+09"),
    (["solve", "--row-wire-ohm", "-1"], "argument --row-wire-ohm"),
    (["solve", "--col-wire-ohm", "nan"], "argument --col-wire-ohm"),
    (["solve", "--driver-ohm", "-2"], "argument --driver-ohm"),
    (["solve", "--access-ohm", "inf"], "argument --access-ohm"),
    (["solve", "--channel-ohm", "-1"], "argument --channel-ohm"),
    (["solve", "--ref-ohm", "0"], "argument --ref-ohm: must be a number in 0.001..1e+12"),
    (["solve", "--sigma", "-0.1"], "argument --sigma: must be a number in 0..1"),
    (["solve", "--sigma", "nan"], "argument --sigma"),
    (["solve", "--thickness", "1.5"], "argument --thickness: must be a number in 1.6..2.6"),
    (["solve", "--thickness", "2.7"], "argument --thickness: must be a number in 1.6..2.6"),
    (["solve", "--thickness", "inf"], "argument --thickness"),
    (["solve", "--r-p", "-1e3", "--tmr", "50"], "argument --r-p: must be a number in 0.1..1e+10 ohm"),
    (["solve", "--r-p", "1e4", "--tmr", "-5"], "argument --tmr: must be a number in 0..10000"),
    (["solve", "--r-p", "1e4"], "--r-p and --tmr go together"),
    (["solve", "--tmr", "50"], "--r-p and --tmr go together"),
    # input files
    (["solve", "--rows", "4", "--inputs", "EMPTY.csv"], "must be a non-empty [rows, columns] table"),
    (["solve", "--rows", "4", "--inputs", "BLANK.csv"], "must be a non-empty [rows, columns] table"),
    (["solve", "--rows", "4", "--inputs", "TEXT.csv"], "cannot read inputs"),
    (["solve", "--rows", "4", "--inputs", "NONUTF8.csv"], "cannot read inputs"),
    (["solve", "--rows", "4", "--inputs", "NAN.csv"], "input voltage at batch 0, row 1 is nan"),
    (["solve", "--rows", "4", "--inputs", "INF.csv"], "input voltage at batch 0, row 1 is inf"),
    (["solve", "--rows", "4", "--inputs", "RAGGED.csv"], "cannot read inputs"),
    (["solve", "--rows", "4", "--inputs", "WIDE.csv"], "inputs must have shape [batch, 4]"),
    (["solve", "--rows", "4", "--inputs", "ZERO_D.npy"], "must be a non-empty [rows, columns] table, got shape []"),
    (["solve", "--rows", "4", "--inputs", "THREE_D.npy"], "got shape [2, 2, 2]"),
    (["solve", "--rows", "4", "--inputs", "EMPTY.npy"], "got shape [0, 4]"),
    (["solve", "--rows", "4", "--inputs", "COMPLEX.npy"], "must be real numbers, got complex128"),
    (["solve", "--rows", "4", "--inputs", "STRINGS.npy"], "must be real numbers"),
    (["solve", "--rows", "4", "--inputs", "OBJECT.npy"], "cannot read inputs"),
    (["solve", "--rows", "4", "--inputs", "TRUNCATED.npy"], "cannot read inputs"),
    (["solve", "--rows", "4", "--inputs", "NOT_NPY.npy"], "cannot read inputs"),
    (["solve", "--rows", "4", "--inputs", "MISSING.csv"], "cannot read inputs"),
    (["solve", "--rows", "4", "--inputs", "A_FOLDER"], "A_FOLDER: is a folder"),
    # state files
    (["solve", "--states", "STATES_BIG.csv"], "unknown device state 5"),
    (["solve", "--states", "STATES_NEG.csv"], "unknown device state -1"),
    (["solve", "--states", "STATES_FRAC.csv"], "integers 0..3"),
    (["solve", "--states", "STATES_NAN.csv"], "integers 0..3"),
    (["solve", "--states", "EMPTY.csv"], "states in"),
    (["solve", "--states", "ZERO_D.npy"], "states in"),
    (["solve", "--states", "COMPLEX.npy"], "must be real numbers"),
    (["solve", "--states", "MISSING.npy"], "cannot read states"),
    # outputs
    (["solve", "--rows", "2", "--cols", "2", "-o", "A_FILE/out.csv"], "is a file, where a folder is needed"),
    (["solve", "--rows", "2", "--cols", "2", "--voltages", "A_FILE/v.npy"], "A_FILE"),
    (["solve", "--rows", "2", "--cols", "2", "-o", "A_FOLDER"], "is a folder, where a file is needed"),
    # netlist
    (["netlist"], "the following arguments are required: -o/--output"),
    (["netlist", "--title", "x; shell", "-o", "n.cir"], "unsafe netlist title"),
    (["netlist", "--title", "a\n.control\nshell ls\n.endc", "-o", "n.cir"], "unsafe netlist title"),
    (["netlist", "--v-read", "0", "-o", "n.cir"], "argument --v-read: must be a number > 0 and <= 10"),
    (["netlist", "--rows", "4", "--inputs", "TWOROWS.csv", "-o", "n.cir"], "a netlist takes one input vector"),
    (["netlist", "--rows", "4", "--inputs", "WIDE.csv", "-o", "n.cir"], "4"),
    (["netlist", "-o", "A_FILE/n.cir"], "A_FILE"),
    # output folders are checked before any work
    (["infer", "--out", "A_FILE"], "--out"),
    (["infer", "--out", "A_FILE/sub/deeper"], "is a file, where a folder is needed"),
    (["infer", "--netlist-dir", "A_FILE"], "--netlist-dir"),
    (["infer", "--vh", "0.5", "--study", "energy"], "analyse linear circuits only"),
    (["infer", "--access", "--study", "readout"], "analyse linear circuits only"),
    (["infer", "--dataset", "mnist", "--data-dir", "A_FILE"], "is a file; give the folder of the IDX files"),
    (["reproduce", "--out", "A_FILE"], "is a file, where a folder is needed"),
    (["program", "--out", "A_FILE"], "is a file, where a folder is needed"),
    (["program", "--cells", "1,,2"], "argument --cells: expected a value or a comma list"),
    (["program", "--thickness", "1.9,3"], "argument --thickness: must be a number in 1.6..2.6"),
    (["program", "--tile", "0"], "argument --tile: must be an integer >= 1"),
    (["program", "--max-pulses", "-1"], "argument --max-pulses: must be an integer >= 1"),
    (["program", "--seed", "-1"], "argument --seed"),
    (["program", "--field", "inf"], "argument --field: must be a finite number"),
    (["program", "--wire-ohm", "-1"], "argument --wire-ohm"),
    # infer
    (["infer", "--study", "magic"], "argument --study: unknown study 'magic'"),
    (["infer", "--study", "wire,magic"], "argument --study: unknown study 'magic'"),
    (["infer", "--tile", "0"], "argument --tile: must be a positive integer or 'none'"),
    (["infer", "--tile", "-5"], "argument --tile: must be a positive integer or 'none'"),
    (["infer", "--tile", "big"], "argument --tile: must be a positive integer or 'none'"),
    (["infer", "--limit", "0"], "argument --limit: must be an integer >= 1"),
    (["infer", "--adc-bits", "0"], "argument --adc-bits: must be an integer in 1..24"),
    (["infer", "--adc-bits", "25"], "argument --adc-bits: must be an integer in 1..24"),
    (["infer", "--calibrate", "-1"], "argument --calibrate: must be an integer >= 0"),
    (["infer", "--dataset", "cifar"], "argument --dataset: invalid choice"),
    (["infer", "--seed", "-1"], "argument --seed"),
    (["infer", "--sigma", "-1"], "argument --sigma"),
    (["infer", "--v-read", "nan"], "argument --v-read"),
    (["infer", "--ref-ohm", "0"], "argument --ref-ohm"),
    (["infer", "--cells", "7"], "argument --cells"),
    (["infer", "--thickness", "9"], "argument --thickness"),
    (["infer", "--wire-ohm", "-1"], "argument --wire-ohm"),
    (["infer", "--driver-ohm", "nan"], "argument --driver-ohm"),
    (["infer", "--scheme", "single"], "argument --scheme: invalid choice"),
    (["infer", "--backend", "spectre"], "argument --backend: invalid choice"),
    (["solve", "--backend", "ngspice", "--timeout", "0"], "argument --timeout: must be a finite number > 0"),
    (["solve", "--backend", "ngspice", "--timeout", "-5"], "argument --timeout: must be a finite number > 0"),
    (["infer", "--backend", "ngspice", "--timeout", "nan"], "argument --timeout"),
    (["infer", "--workers", "0"], "argument -w/--workers: must be an integer >= 1"),
    (["infer", "-w", "2", "--task-timeout", "-1"], "argument --task-timeout"),
    (["infer", "--task-timeout", "60"], "--task-timeout needs --workers or --scheduler"),
    (["infer", "-w", "2", "--scheduler", "tcp://127.0.0.1:1"], "give --workers (local processes) or --scheduler"),
    (["program", "--ceiling-margin", "-0.1"], "argument --ceiling-margin: must be a finite number >= 0"),
    # reproduce and sweep options
    (["reproduce", "--seeds", "0"], "argument --seeds: must be an integer >= 1"),
    (["reproduce", "--seeds", "-2"], "argument --seeds: must be an integer >= 1"),
    (["reproduce", "--dataset", "cifar"], "argument --dataset: invalid choice"),
    (["reproduce", "--rule", "median"], "argument --rule: invalid choice"),
    (["sweep", "--workers", "0"], "argument -w/--workers: must be an integer >= 1"),
    (["sweep", "-w", "-1"], "argument -w/--workers: must be an integer >= 1"),
    (["sweep"], "give a grid file or name"),
]


def _check_one_line(status, err, phrase):
    lines = err.strip().splitlines()
    assert status not in (0, None), err
    assert len(lines) == 1, err
    assert lines[0].startswith("xbar: error: ") and "Traceback" not in err, err
    assert phrase in lines[0], lines[0]


@pytest.mark.bad_input
@pytest.mark.parametrize("argv, phrase", BAD, ids=[" ".join(a) or "(none)" for a, _ in BAD])
def test_bad_invocation_is_one_line(argv, phrase, files, capsys, monkeypatch):
    monkeypatch.chdir(files)
    status = cli.main(_resolve(argv, files))
    _check_one_line(status, capsys.readouterr().err, phrase)


@pytest.mark.bad_input
def test_missing_dataset_offline_is_one_line_and_creates_nothing(tmp_path, capsys, monkeypatch):
    def offline(url, timeout):
        raise OSError("network is unreachable")

    monkeypatch.setattr(datasets.urllib.request, "urlopen", offline)
    datasets._load_cached.cache_clear()
    data, out = tmp_path / "data", tmp_path / "out"
    data.mkdir()
    status = cli.main(["infer", "--dataset", "mnist", "--data-dir", str(data), "--out", str(out), "--quiet"])
    _check_one_line(status, capsys.readouterr().err, "mnist file")
    assert list(data.iterdir()) == [] and not out.exists()


def test_an_unexpected_exception_is_one_internal_error_line(monkeypatch, capsys):
    def broken(args):
        raise RuntimeError("boom\nsecond line")

    parser = cli.build_parser
    monkeypatch.setattr(cli, "build_parser", lambda: _with_func(parser(), broken))
    monkeypatch.delenv("XBAR_DEBUG", raising=False)
    assert cli.main(["solve"]) == 1
    err = capsys.readouterr().err
    assert err == "xbar: error: internal error: RuntimeError: boom second line; set XBAR_DEBUG=1 for the traceback\n"
    monkeypatch.setenv("XBAR_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        cli.main(["solve"])


def _with_func(parser, func):
    parser._subparsers._group_actions[0].choices["solve"].set_defaults(func=func)
    return parser


def test_help_and_version_exit_zero(capsys):
    assert cli.main(["--version"]) == 0
    from xbar import __version__
    assert capsys.readouterr().out.strip() == f"xbar {__version__}"
    assert cli.main(["infer", "--help"]) == 0
    out = capsys.readouterr().out
    for study in ("wire", "calibration", "tile", "sense", "cells", "thickness", "adc", "variation"):
        assert f"  {study} " in out


def test_negative_numbers_are_values_not_options(tmp_path):
    args = cli.build_parser().parse_args(["solve", "--r-p", "1e4", "--tmr", "-0", "--wire-ohm", "0"])
    assert args.tmr_percent == 0.0
    ns = cli.build_parser().parse_args(["solve", "--seed", "7", "--v-read", "1e-1"])
    assert ns.seed == 7 and ns.v_read == 0.1


#: The same paths through the real command, in subprocesses run side by side.
PROCESS = [
    (["solve", "--seed", "-1"], "argument --seed"),
    (["solve", "--random", "0"], "argument --random"),
    (["solve", "--wire-ohm", "-1e-9"], "argument --wire-ohm"),
    (["solve", "--v-read", "inf"], "argument --v-read"),
    (["solve", "--rows", "4", "--inputs", "EMPTY.csv"], "non-empty"),
    (["solve", "--rows", "4", "--inputs", "ZERO_D.npy"], "non-empty"),
    (["infer", "--study", "magic"], "unknown study"),
    (["netlist", "--title", "x; shell", "-o", "n.cir"], "unsafe netlist title"),
    (["bogus"], "invalid choice"),
]


@pytest.mark.bad_input
def test_the_real_command_gives_one_line_per_bad_invocation(files):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(_root()), os.environ.get("PYTHONPATH")])))
    procs = [subprocess.Popen([sys.executable, "-m", "xbar.cli", *_resolve(argv, files)], cwd=files, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for argv, _ in PROCESS]
    for (argv, phrase), proc in zip(PROCESS, procs):
        _, err = proc.communicate(timeout=180)
        _check_one_line(proc.returncode, err, phrase)
        assert proc.returncode == 2
    assert sorted(p.name for p in files.iterdir()) == sorted(p.name for p in files.iterdir()
                                                             if p.name != "n.cir")  # no netlist written
    assert not (files / "n.cir").exists()


def _root():
    from pathlib import Path
    return Path(xbar.__file__).resolve().parent.parent


@pytest.mark.bad_input
def test_read_noise_on_a_non_linear_spec_is_refused_where_it_enters():
    # It ended in an AttributeError deep in the noise model (the non-linear tiles' solver has no factor).
    from xbar.device.access import AccessTransistor
    from xbar.network.circuit_spec import CircuitSpec
    from xbar.util.errors import ParameterError
    for kw in (dict(v_half_volt=0.5), dict(access=AccessTransistor())):
        with pytest.raises(ParameterError, match="linear circuits only"):
            CircuitSpec(n_cells=2, read_noise_t_s=1e-7, **kw)
    assert CircuitSpec(n_cells=2, read_noise_t_s=1e-7).read_noise_t_s == 1e-7
