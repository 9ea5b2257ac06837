"""The ``xbar`` command line: a thin layer over the modules.

Each subcommand is a ``_add_<name>(subparsers)`` function that registers its
options and sets ``func``. Every error is one line on stderr, never a traceback:
argparse errors and bad option values (checked at parse time by the converters
of :mod:`xbar.argtypes`), any :class:`~xbar.errors.XbarError` and bad files
give ``xbar: error: ...`` and exit status 2; anything unexpected gives one
``internal error`` line and exit status 1 (``XBAR_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path

from . import __version__
from .argtypes import (Parser, comma_list, count, finite, integer, ln_sigma, mtj_ohm, nonnegative, one_line,
                       positive, read_volt, ref_ohm, seed, series_ohm, tmr_percent, within)
from .errors import XbarError


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="xbar",
        description="Circuit-level simulator for compound SOT-MTJ crossbars.")
    parser.add_argument("--version", action="version", version=f"xbar {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a one-line usage error already printed
        return exc.code or 0
    debug = bool(os.environ.get("XBAR_DEBUG"))
    try:
        return args.func(args) or 0
    except XbarError as exc:
        if debug:
            raise
        return _fail(str(exc), 2)
    except OSError as exc:
        if debug:
            raise
        return _fail(_os_message(exc), 2)
    except MemoryError:
        if debug:
            raise
        return _fail("out of memory: try a smaller problem (fewer rows, columns or input vectors)", 1)
    except KeyboardInterrupt:
        print("xbar: interrupted; finished work is kept and a rerun resumes", file=sys.stderr)
        return 130
    except Exception as exc:  # the last resort: one line, never a traceback
        if debug:
            raise
        return _fail(f"internal error: {type(exc).__name__}: {exc}; set XBAR_DEBUG=1 for the traceback", 1)


def _os_message(exc: OSError) -> str:
    """One line for a file-system error, naming the path and what is wrong with it."""
    name = exc.filename or ""
    if isinstance(exc, FileExistsError) and os.path.isfile(name):
        return f"{name}: is a file, where a folder is needed"
    if isinstance(exc, IsADirectoryError):
        return f"{name}: is a folder, where a file is needed"
    if isinstance(exc, NotADirectoryError):
        return f"{name}: part of this path is a file, where a folder is needed"
    return f"{exc.strerror or exc}: {name}".rstrip(": ")


def _folder_to_write(path: str, option: str) -> str:
    """``path`` if it is, or can become, a folder (checked before any work, creating nothing); else an error."""
    from .errors import ParameterError
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ParameterError(f"{option} {path}: is a file, where a folder is needed")
    parent = p.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ParameterError(f"{option} {path}: {parent} is a file, where a folder is needed")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ParameterError(f"{option} {path}: cannot create or write in {parent} (permission denied)")
    return path


def _fail(message: str, status: int) -> int:
    print(f"xbar: error: {one_line(message)}", file=sys.stderr)
    return status


def _load_array(path: str, what: str):
    """Read a CSV or NPY file into a float array [n, m] (a single vector becomes one row), with one-line errors.

    Refuses empty, 0-d, more than 2-d, non-numeric and complex contents.
    """
    import warnings

    import numpy as np

    from .errors import ParameterError
    if os.path.isdir(path):
        raise ParameterError(f"cannot read {what} from {path}: it is a folder")
    from .resources import check_array_file
    check_array_file(path, what)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy warns on empty files; refused below
            if path.endswith(".npy"):
                array = np.load(path, allow_pickle=False)
            else:
                array = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float64)
    except (ValueError, OSError, EOFError, UnicodeDecodeError) as exc:
        raise ParameterError(f"cannot read {what} from {path}: {one_line(exc)}") from None
    if array.dtype.kind not in "biuf":
        raise ParameterError(f"{what} in {path} must be real numbers, got {array.dtype} values")
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.size == 0:
        raise ParameterError(f"{what} in {path} must be a non-empty [rows, columns] table, "
                             f"got shape {list(array.shape)}")
    return array.astype(np.float64)


def _save_array(path: str, array) -> None:
    import numpy as np

    from .atomic import atomic_open
    with atomic_open(path, "wb") as f:
        if path.endswith(".npy"):
            np.save(f, array)
        else:
            np.savetxt(f, array, delimiter=",", fmt="%.17g")


def v_half(text: str) -> float:
    """``--vh``: the junctions' TMR bias half-point in volt (checked by :func:`xbar.devices.check_v_half`)."""
    from .devices import check_v_half
    from .errors import ParameterError
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"V_h must be a voltage in volt, got {text!r}") from None
    try:
        return check_v_half(value)
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


_VH_HELP = ("bias-dependent TMR: the voltage V_h at which a junction's TMR halves, TMR(V) = TMR0 / "
            "(1 + (V/V_h)^2); 0.3-0.6 V is typical of CoFeB/MgO (0.5 V in the Beihang/Zhao compact models). "
            "Default: linear junctions (the paper's model)")


def _add_crossbar_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("crossbar")
    g.add_argument("--rows", type=count, default=8, help="rows (default 8)")
    g.add_argument("--cols", type=count, default=8, help="columns (default 8)")
    g.add_argument("--cells", type=integer(1, 6), default=3, help="MTJ cells per compound device, 1..6 (default 3)")
    g.add_argument("--thickness", type=within(1.6, 2.6), default=1.9,
                   help="free-layer thickness in nm from the paper's library, 1.6..2.6 (default 1.9)")
    g.add_argument("--r-p", type=mtj_ohm, help="custom R_P in ohm (with --tmr; overrides --thickness)")
    g.add_argument("--tmr", type=tmr_percent, help="custom TMR in percent (with --r-p)")
    g.add_argument("--channel-ohm", type=series_ohm, help="write-channel resistance in ohm (default: 150 + 150 n)")
    g.add_argument("--states", help="device states 0..cells, [rows, cols] CSV or NPY (default: random from --seed)")
    g.add_argument("--seed", type=seed, default=0, help="seed for random states, inputs and variation, "
                                                        "0..2^32-1 (default 0)")
    g.add_argument("--wire-ohm", type=series_ohm, default=1.0, help="row and column wire ohm per segment (default 1)")
    g.add_argument("--row-wire-ohm", type=series_ohm, help="row wire ohm per segment (overrides --wire-ohm)")
    g.add_argument("--col-wire-ohm", type=series_ohm, help="column wire ohm per segment (overrides --wire-ohm)")
    g.add_argument("--driver-ohm", type=series_ohm, default=0.0, help="row driver output resistance in ohm")
    g.add_argument("--access-ohm", type=series_ohm, default=0.0, help="series access resistance per device in ohm")
    g.add_argument("--sense", choices=("tia", "resistor"), default="tia",
                   help="virtual-ground TIA or reference resistor to ground (default tia)")
    g.add_argument("--ref-ohm", type=ref_ohm, default=1e6, help="reference resistor in ohm (default 1e6, the paper's)")
    g.add_argument("--sigma", type=ln_sigma, default=0.0, help="log-normal device-to-device variation of R_P, R_AP")
    g.add_argument("--vh", type=v_half, metavar="VOLT", help=_VH_HELP)
    g.add_argument("--device", metavar="FILE", help="device TOML file (measured states or cells that differ) or "
                   "a shipped name; replaces --cells/--thickness/--r-p/--tmr")


def _crossbar_from_args(args):
    import numpy as np

    from .crossbar import Crossbar
    from .devices import MTJ, CompoundMTJ, Variation, library_mtj
    from .errors import ParameterError
    if (args.r_p is None) != (args.tmr is None):
        raise ParameterError("--r-p and --tmr go together")
    vh = np.inf if args.vh is None else args.vh
    if args.device:
        from .device_file import load_device
        device = load_device(args.device)
        if args.vh is not None:
            device = device.with_v_half(args.vh)
        if args.channel_ohm is not None:
            device = CompoundMTJ(device.mtj, device.n_cells, args.channel_ohm, device.cells, device.state_sigma)
        args.cells = device.n_cells
    else:
        mtj = library_mtj(args.thickness, vh) if args.r_p is None else MTJ.from_tmr(args.r_p, args.tmr / 100.0, vh)
        device = CompoundMTJ(mtj, args.cells, args.channel_ohm)
    if args.states:
        states = _load_array(args.states, "states")
        if np.any(states != np.round(states)):
            raise ParameterError(f"device states in {args.states} must be integers 0..{args.cells}")
        states = states.astype(np.int64)
    else:
        from .resources import check_memory, estimate_bytes
        check_memory(f"a {args.rows}x{args.cols} crossbar of {args.cells}-cell devices",
                     estimate_bytes(args.rows, args.cols, args.cells))
        states = np.random.default_rng(args.seed).integers(0, args.cells + 1, (args.rows, args.cols))
    wire = args.wire_ohm
    return Crossbar(device, states,
                    row_wire_ohm=wire if args.row_wire_ohm is None else args.row_wire_ohm,
                    col_wire_ohm=wire if args.col_wire_ohm is None else args.col_wire_ohm,
                    driver_ohm=args.driver_ohm, access_ohm=args.access_ohm, sense=args.sense,
                    ref_ohm=args.ref_ohm, variation=Variation(args.sigma, args.seed))


def _inputs_from_args(args, rows: int):
    import numpy as np
    if args.inputs:
        return _load_array(args.inputs, "inputs")
    return np.random.default_rng(args.seed + 1).uniform(0.0, args.v_read, (args.random, rows))


def _add_netlist(sub) -> None:
    p = sub.add_parser("netlist", help="write the ngspice netlist of a crossbar",
                       description="Write a readable ngspice netlist (.op, ready for `ngspice -b -r out.raw`). "
                                   "Without --inputs every row source is set to --v-read, so the netlist "
                                   "solves to the currents of a fully driven array.")
    _add_crossbar_options(p)
    p.add_argument("--inputs", help="row voltages for the sources, one row of a CSV/NPY file "
                                    "(default: every row at --v-read)")
    p.add_argument("--v-read", type=read_volt, default=0.1,
                   help="row voltage when --inputs is not given, volt (default 0.1)")
    p.add_argument("--title", help="title comment (letters, digits, spaces and _.,:()+-=%%/ only)")
    p.add_argument("-o", "--output", required=True, help="netlist file to write")
    p.set_defaults(func=_run_netlist)


def _run_netlist(args) -> int:
    import numpy as np

    from .circuit import build_circuit
    from .errors import ParameterError
    from .netlist import write_netlist
    xbar = _crossbar_from_args(args)
    if args.inputs:
        inputs = _load_array(args.inputs, "inputs")
        if len(inputs) != 1:
            raise ParameterError(f"a netlist takes one input vector: {args.inputs} holds {len(inputs)} rows")
        inputs, source = inputs[0], "row sources from the --inputs file"
    else:
        inputs, source = np.full(xbar.shape[0], args.v_read), f"every row source at {args.v_read:g} V"
    title = f"{args.title or 'xbar crossbar'}, {source}"
    if args.title and len(title) > 120:  # the title's limit (netlist.safe_title): keep the user's words
        title = args.title
    path = write_netlist(build_circuit(xbar), args.output, inputs=inputs, title=title)
    print(f"wrote {path} ({xbar.shape[0]}x{xbar.shape[1]}, {xbar.n_cells}-cell devices, sense {xbar.sense}, "
          f"{source})")
    return 0


def _add_solve(sub) -> None:
    p = sub.add_parser("solve", help="solve a crossbar for a batch of row voltages",
                       description="Solve a crossbar circuit and write column currents (and output voltages).")
    _add_crossbar_options(p)
    p.add_argument("--backend", choices=("native", "ngspice", "pyspice", "ideal"), default="native",
                   help="solver (default native); ngspice runs the ngspice program, pyspice libngspice in-process")
    _add_timeout(p)
    p.add_argument("--inputs", help="row voltages [batch, rows], CSV or NPY (default: random)")
    p.add_argument("--random", type=count, default=4, help="number of random input vectors, >= 1 (default 4)")
    p.add_argument("--v-read", type=read_volt, default=0.1,
                   help="largest random row voltage in volt, > 0 (default 0.1)")
    p.add_argument("-o", "--output", help="write currents [batch, cols] in ampere (CSV or NPY)")
    p.add_argument("--voltages", help="write sense output voltages [batch, cols] in volt (CSV or NPY)")
    p.add_argument("--energy", metavar="FILE", help="write the read's exact energy breakdown (array), the "
                   "periphery models and the output noise as JSON (native solution)")
    _add_t_read(p)
    p.set_defaults(func=_run_solve)


def _add_t_read(p: argparse.ArgumentParser) -> None:
    p.add_argument("--t-read", type=positive, default=30e-9, metavar="SECONDS",
                   help="read pulse width in s (default 30e-9: the ~30 ns SOT-MTJ read the paper cites)")


def _write_json(path: str, data) -> None:
    import json

    from .atomic import write_text
    write_text(path, json.dumps(data, indent=1, allow_nan=True) + "\n")


def _run_solve(args) -> int:
    import numpy as np

    from .resources import array_file_shape, check_memory, estimate_bytes
    from .solvers import solve
    xbar = _crossbar_from_args(args)
    batch = (array_file_shape(args.inputs) or (0,))[0] if args.inputs else args.random
    check_memory(f"solving {batch} input vector(s) on a {xbar.shape[0]}x{xbar.shape[1]} crossbar with {args.backend}",
                 estimate_bytes(*xbar.shape, xbar.n_cells, batch, args.backend))
    x = _inputs_from_args(args, xbar.shape[0])
    sol = solve(xbar, x, backend=args.backend, **_spice_options(args))
    if args.output:
        _save_array(args.output, sol.currents)
        _save_solver_info(args.output, sol.solver)
    if args.voltages:
        _save_array(args.voltages, sol.voltages)
    print(f"{args.backend}: {len(sol.currents)} input vector(s) on {xbar.shape[0]}x{xbar.shape[1]}; "
          f"column currents {np.abs(sol.currents).min():.6g}..{np.abs(sol.currents).max():.6g} A")
    if "ngspice" in sol.solver:
        print(f"solved by {sol.solver['ngspice']} (KLU compiled in: {_yes(sol.solver['klu_compiled'])}, "
              f"used: {_yes(sol.solver['klu_used'])}); Kirchhoff residual {sol.solver['kcl_residual']:.1e}")
    if "newton_iterations_max" in sol.solver:
        info = sol.solver
        print(f"non-linear junctions (V_h = {info['v_half_volt']:g} V): Newton converged to "
              f"{info['tol']:g} in {info['newton_iterations_min']}..{info['newton_iterations_max']} iterations per vector "
              f"({info['preconditioned_solves']} preconditioned solves)")
    if args.energy:
        from .circuit import build_circuit
        from .periphery import Periphery
        from .readout import array_energy, array_noise
        from .solvers.native import NativeSolver
        circuit = build_circuit(xbar)
        if circuit.nonlinear:
            from .errors import ParameterError
            raise ParameterError("--energy models linear junctions only; drop --vh (or the device file's "
                                 "v_half_volt)")
        solver = NativeSolver(circuit)
        report = array_energy(circuit, x, args.t_read, Periphery(), solver)
        noise = array_noise(circuit, x, args.t_read, solver)
        report["noise"] = {k: v for k, v in noise.items() if k != "rms_a"}
        _write_json(args.energy, report)
        e = report["array_j"]["total"]
        print(f"energy per read: array {e * 1e15:.4g} fJ (exact; Tellegen error {report['tellegen_error']:.1e}), "
              f"periphery {report['periphery']['total_j'] * 1e15:.4g} fJ (models); "
              f"{report['array_efficiency']['fj_per_mac']:.4g} fJ/MAC array, "
              f"{report['total_efficiency']['tops_per_w']:.4g} TOPS/W with periphery; wrote {args.energy}")
    return 0


def _add_settle(sub) -> None:
    p = sub.add_parser("settle", help="step response of a crossbar with its capacitances; settling time",
                       description="Switch the row voltages on at t = 0 and integrate the circuit with its wire, "
                                   "junction and sense capacitances (native fixed-step transient, one "
                                   "factorization) until every column current stays within the band around its "
                                   "DC value; report each column's settling time. --backend ngspice also runs "
                                   "ngspice .tran over the same time for comparison.")
    _add_crossbar_options(p)
    p.add_argument("--inputs", help="row voltages, first row of a CSV/NPY file (default: random up to --v-read)")
    p.add_argument("--v-read", type=float, default=0.1, help="largest random row voltage in volt (default 0.1)")
    p.add_argument("--dt", type=positive, help="time step in s (default: the analytic Elmore delay / 20)")
    p.add_argument("--method", choices=("be", "trap"), default="be",
                   help="backward Euler (default) or trapezoidal")
    p.add_argument("--adc-bits", type=integer(1, 24), default=8, help="band: half an LSB of this ADC (default 8 bits)")
    p.add_argument("--band", type=positive, help="band as a fraction of the largest column current (overrides --adc-bits)")
    p.add_argument("--max-steps", type=integer(1), default=200000, help="give up after this many steps (default 200000)")
    p.add_argument("--backend", choices=("native", "ngspice"), default="native",
                   help="ngspice: also run ngspice .tran and compare (default native)")
    p.add_argument("-o", "--output", help="waveforms: .npz (times, currents, ngspice's if run) or .csv")
    p.add_argument("--plot", metavar="STEM", help="write the step response as STEM.png and STEM.svg")
    p.add_argument("--json", metavar="FILE", help="write the settling summary as JSON")
    p.set_defaults(func=_run_settle)


def _run_settle(args) -> int:
    import io

    import numpy as np

    from .atomic import atomic_open
    from .circuit import build_circuit
    from .errors import ParameterError
    from .readout import array_settling
    if args.dt is not None and (args.dt <= 0 or not np.isfinite(args.dt)):
        raise ParameterError(f"--dt must be a finite time > 0 s, got {args.dt!r}")
    if args.max_steps < 1:
        raise ParameterError(f"--max-steps must be >= 1, got {args.max_steps}")
    xbar = _crossbar_from_args(args)
    circuit = build_circuit(xbar)
    if circuit.nonlinear:
        raise ParameterError("settle models linear junctions only (the transient solver); drop --vh (or the "
                             "device file's v_half_volt)")
    rows = xbar.shape[0]
    x = (_load_array(args.inputs, "inputs")[0] if args.inputs
         else np.random.default_rng(args.seed + 1).uniform(0.0, args.v_read, rows))
    w, summary = array_settling(circuit, x, args.dt, args.band, args.adc_bits, args.method, args.max_steps)
    final = np.asarray(summary["final_a"])
    spice = None
    if args.backend == "ngspice":
        from .solvers.ngspice_tran import ngspice_transient
        dt = summary["dt_s"]
        spice = ngspice_transient(circuit, x, float(w.times_s[-1]), dt, dt,
                                  method="trap" if args.method == "trap" else "be")
        common = np.array([np.interp(w.times_s, spice.times_s, spice.currents[:, j])
                           for j in range(len(final))]).T
        summary["ngspice_max_diff_rel"] = float(np.abs(common - w.currents).max() / np.abs(final).max())
    if args.output:
        if args.output.endswith(".npz"):
            extra = {} if spice is None else {"ngspice_times_s": spice.times_s, "ngspice_currents_a": spice.currents}
            buf = io.BytesIO()
            np.savez(buf, times_s=w.times_s, currents_a=w.currents, final_a=final, **extra)
            with atomic_open(args.output) as f:
                f.write(buf.getvalue())
        else:
            buf = io.StringIO()
            header = "time_s," + ",".join(f"i{j}_a" for j in range(len(final)))
            np.savetxt(buf, np.column_stack([w.times_s, w.currents]), delimiter=",", fmt="%.17g",
                       header=header, comments="")
            with atomic_open(args.output, "w") as f:
                f.write(buf.getvalue())
    if args.plot:
        from . import plots
        plots.save(plots.step_response(w.times_s, w.currents, final, summary["band_a"],
                                       np.asarray(summary["settling_s"])), args.plot)
    if args.json:
        _write_json(args.json, summary)
    worst = summary["worst_s"]
    print(f"settled: worst column {worst * 1e9:.4g} ns to within {summary['band_a']:.3g} A "
          f"({summary['band_rel']:.3g} of full scale), {summary['steps']} steps of {summary['dt_s']:.3g} s "
          f"({args.method}); analytic estimate (Elmore delay x ln(1/band)) "
          f"{summary['elmore_settle_estimate_s'] * 1e9:.4g} ns"
          + (f"; ngspice .tran differs by {summary['ngspice_max_diff_rel']:.2e} of full scale"
             if spice is not None else ""))
    return 0


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _add_timeout(p: argparse.ArgumentParser) -> None:
    p.add_argument("--timeout", type=positive, metavar="SECONDS",
                   help="limit of each ngspice/pyspice run in seconds (default $XBAR_NGSPICE_TIMEOUT, else "
                        "scaled to the circuit: 300 s + 0.2 ms per node per input vector)")


def _spice_options(args) -> dict:
    """Solver options from --timeout, for the SPICE backends only."""
    if args.backend not in ("ngspice", "pyspice") or args.timeout is None:
        return {}
    from .solvers.ngspice import check_timeout
    return {"timeout_s": check_timeout(args.timeout)}


def _save_solver_info(output: str, info: dict) -> None:
    """Write what solved the outputs beside them, as ``<output>.json``."""
    import json

    from .atomic import write_text
    write_text(f"{output}.json", json.dumps(dict(info, outputs=output), indent=1) + "\n")


def _add_reproduce(sub) -> None:
    from .datasets import NAMES
    from .quantize import BIAS_MODES, SCALE_RULES
    p = sub.add_parser("reproduce", help="reproduce the paper's Fig. 5: accuracy against TMR and states",
                       description="Train the paper's network (inputs -> 128 sigmoid -> 10, Adam, 40 epochs), "
                                   "quantize it to compound-MTJ states, and write a Markdown report beside the "
                                   "paper's numbers with PNG/SVG figures. Trained networks and finished points "
                                   "are cached, so an interrupted run resumes where it stopped.")
    p.add_argument("--dataset", choices=NAMES, default="digits", help="dataset (default digits, bundled)")
    p.add_argument("--quick", action="store_true", help="reduced grid and 2 seeds (seconds on digits)")
    p.add_argument("--seeds", type=count, help="number of training seeds, 0..N-1 (default 3; quick 2)")
    p.add_argument("--rule", choices=SCALE_RULES, default="mse", help="per-layer scale rule (default mse)")
    p.add_argument("--bias", choices=BIAS_MODES, default="row",
                   help="bias as a quantized input row, or kept at full precision (default row)")
    p.add_argument("--data-dir", help="folder holding mnist/ and fashion-mnist/ IDX files "
                                      "(default $XBAR_DATA_DIR or ~/.cache/xbar/data)")
    p.add_argument("--cache-dir", help="cache of trained networks (default $XBAR_CACHE_DIR or ~/.cache/xbar)")
    p.add_argument("--out", help="output folder (default out/reproduce-<dataset>, -quick in quick mode)")
    p.add_argument("--device", metavar="FILE", help="also quantize to this device's states (TOML device file or "
                   "shipped name) and report it beside the library devices")
    p.add_argument("--quiet", action="store_true", help="no progress bars and no summary, only the report path")
    p.set_defaults(func=_run_reproduce)


def _run_reproduce(args) -> int:
    from .experiments.paper import DEFAULT_SEEDS, QUICK_SEEDS, reproduce
    seeds = range(args.seeds) if args.seeds else (QUICK_SEEDS if args.quick else DEFAULT_SEEDS)
    out = _folder_to_write(args.out or f"out/reproduce-{args.dataset}{'-quick' if args.quick else ''}", "--out")
    s = reproduce(args.dataset, out, seeds, quick=args.quick, rule=args.rule, bias=args.bias,
                  data_dir=args.data_dir, cache_dir=args.cache_dir, progress=not args.quiet, device_file=args.device)
    if not args.quiet:
        print(f"{s['dataset']}: full precision {s['full'][0]:.1f} %, best library device {s['best']['accuracy']:.1f} % "
              f"({s['best']['n_cells']} cells, {s['best']['thickness_nm']:.1f} nm), seeds {len(s['seeds'])}, "
              f"{s['info']['seconds']:.0f} s")
    print(f"wrote {s['report']} and figures in {out}")
    return 0


def _add_sweep(sub) -> None:
    p = sub.add_parser("sweep", help="run an experiment over a parameter grid: resumable, parallel, Dask",
                       description="Run every point of a grid over an experiment's parameters and append "
                                   "one JSON line per finished point to the results file. A rerun with the "
                                   "same results file skips finished points, also after a kill. Axes come "
                                   "from a TOML grid (experiment = NAME, [params], optional [figure]) and/or "
                                   "--param; the whole grid is checked before anything runs.")
    p.add_argument("grid", nargs="?", help="grid TOML file, or the name of a shipped grid (see --list)")
    p.add_argument("-e", "--experiment", help="experiment name, or module:function with --allow-import "
                                              "(replaces the grid's)")
    p.add_argument("--allow-import", action="append", default=[], metavar="MODULE",
                   help="allow module:function experiments from MODULE (exact name; repeatable). Without "
                        "it only registered experiments run, whatever a grid file names")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUES",
                   help="an axis, name=1,2,3 or inclusive name=start:stop:step; replaces the grid's "
                        "(repeatable)")
    p.add_argument("-o", "--results", help="results file, JSON lines (default <grid>.jsonl or "
                                           "sweep-<experiment>.jsonl)")
    p.add_argument("-w", "--workers", type=count, default=os.cpu_count() or 1,
                   help="local worker processes (default: one per CPU)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on an existing Dask cluster instead, "
                                                          "e.g. tcp://10.0.0.1:8786")
    p.add_argument("--quiet", action="store_true", help="no progress bar, only the summary line")
    p.add_argument("--device", metavar="FILE", help="device TOML file (or shipped name) for every point of an "
                   "experiment that takes device_file (inference); points are keyed by the file's content")
    p.add_argument("--vh", type=v_half, metavar="VOLT", help=_VH_HELP + "; for every point of an experiment "
                   "that takes v_half_volt (inference), like -p v_half_volt=VOLT")
    p.add_argument("--csv", metavar="OUT", help="write the finished records as CSV, in grid order")
    p.add_argument("--figure", metavar="STEM", help="draw the grid's [figure] from the results as "
                                                    "STEM[-panel].png/.svg")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--status", metavar="FILE", help="print points done and remaining in FILE, then exit")
    mode.add_argument("--export", metavar="FILE", help="write FILE's records as CSV (to --csv OUT, else "
                                                       "stdout) and/or its --figure, then exit")
    mode.add_argument("--list", action="store_true", help="list the experiments and shipped grids, then exit")
    p.set_defaults(func=_run_sweep)


def _run_sweep(args) -> int:
    import re
    from contextlib import nullcontext
    from pathlib import Path

    from . import sweep
    from .errors import ParameterError
    if args.list:
        print("experiments: " + ", ".join(f"{k} ({v})" for k, v in sweep.EXPERIMENTS.items()))
        print("grids: " + ", ".join(sweep.shipped_grids()))
        return 0
    if args.status:
        s = sweep.sweep_status(args.status)
        print(f"{s.path}: {s.experiment}, {s.done} of {s.total} points done, {s.remaining} remaining")
        return 0
    if args.export:
        grid, results = sweep.grid_of(args.export), args.export
    else:
        if not (args.grid or args.experiment):
            raise ParameterError("give a grid file or name, or --experiment with --param axes")
        grid = sweep.load_grid(args.grid) if args.grid else sweep.Grid(args.experiment, {})
        axes = dict(sweep.parse_param(t) for t in args.param)
        if args.device:
            from .device_file import file_sha256, load_device
            load_device(args.device)  # checked before anything is written
            axes.update(device_file=[str(args.device)], device_sha256=[file_sha256(args.device)])
        if args.vh is not None:
            axes["v_half_volt"] = [args.vh]
        grid = sweep.with_axes(grid, axes, args.experiment)
    if args.figure and not grid.figure:
        raise ParameterError(f"--figure needs a [figure] table in the grid of experiment {grid.experiment!r}")
    if not args.export:
        plan = sweep.plan(grid, allow_import=args.allow_import)
        if args.figure:
            from .sweep_figures import check
            check(grid.figure, plan.grid.axes)
        name = Path(args.grid).stem if args.grid else "sweep-" + re.sub(r"\W+", "_", grid.experiment)
        results = args.results or f"{name}.jsonl"
        s = sweep.run_sweep(plan, results, workers=args.workers, scheduler=args.scheduler, quiet=args.quiet)
        print(f"{grid.experiment}: {s.total} points, {s.resumed} already done, {s.finished} finished now, "
              f"{len(s.failures)} failed -> {results}")
    records = sweep.load_records(results)
    if args.csv or (args.export and not args.figure):
        from .atomic import atomic_open
        with atomic_open(args.csv, "w", newline="") if args.csv else nullcontext(sys.stdout) as out:
            sweep.write_csv(records, out)
    if args.figure:
        from .plots import save
        from .sweep_figures import draw
        figures = draw(records, grid.figure)
        for panel, fig in figures.items():
            save(fig, Path(args.figure if len(figures) == 1 else f"{args.figure}-{panel}"))
    if not args.export and s.failures:
        point, message = s.failures[0]
        where = {k: point.params[k] for k in grid.axes}
        raise XbarError(f"{len(s.failures)} of {s.total} points failed, e.g. {where}: {message}; "
                        "finished points are saved and a rerun retries the failed ones")
    return 0


def _study_names(text: str) -> tuple[str, ...]:
    from .experiments.studies import parse_studies
    try:
        return parse_studies([text])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _tile_size(text: str) -> int | None:
    if text.strip().lower() in ("none", "untiled"):
        return None
    try:
        return count(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"must be a positive integer or 'none', got {text!r}") from None


def _cell_vc_ratio(text: str) -> float | None:
    if text.strip().lower() in ("none", "plain"):
        return None
    try:
        return within(1.0, 2.0)(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"must be a number in 1..2 or 'plain', got {text!r}") from None


def _add_infer(sub) -> None:
    from .experiments.studies import EXTRA_STUDIES, STUDIES
    every = {**STUDIES, **{k: f"{v} (opt-in: not part of all)" for k, v in EXTRA_STUDIES.items()}}
    p = sub.add_parser("infer", help="run a trained network through parasitic-aware crossbars",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description=textwrap.fill(
                                   "Map a trained, quantized network onto compound SOT-MTJ crossbar tiles, "
                                   "run the test set through the circuits, and compare with ideal quantized "
                                   "inference. Prints the comparison table; writes report.md, results.json "
                                   "and figures. By default only the base configuration runs (seconds); add "
                                   "studies around it with --study.", 88),
                       epilog="studies (--study NAME, repeatable, or --study all):\n" + "\n".join(
                           f"  {name:<12} {what}" for name, what in every.items()))
    p.add_argument("--dataset", choices=("digits", "mnist", "fashion"), default="digits",
                   help="digits (bundled, default), mnist or fashion")
    p.add_argument("--data-dir", help="folder of the IDX files (mnist/ or fashion-mnist/), or the folder "
                                      "holding mnist/ and fashion-mnist/ (default $XBAR_DATA_DIR or "
                                      "~/.cache/xbar/data)")
    p.add_argument("--seed", type=seed, default=0, help="training and variation seed, 0..2^32-1 (default 0)")
    p.add_argument("--cells", type=integer(1, 6), default=3, help="MTJ cells per compound device, 1..6 (default 3)")
    p.add_argument("--thickness", type=within(1.6, 2.6), default=1.9,
                   help="free-layer thickness in nm, 1.6..2.6 (default 1.9)")
    p.add_argument("--wire-ohm", type=series_ohm, default=1.0, help="row and column wire ohm per segment (default 1)")
    p.add_argument("--driver-ohm", type=series_ohm, default=0.0, help="row driver output resistance (ohm)")
    p.add_argument("--tile", type=_tile_size, default=128, help="tile size in devices (rows = columns), or "
                   "'none' for untiled (default 128)")
    p.add_argument("--sense", choices=("tia", "resistor"), default="tia", help="sense mode (default tia)")
    p.add_argument("--ref-ohm", type=ref_ohm, default=1e6, help="reference resistor for --sense resistor (ohm)")
    p.add_argument("--sigma", type=ln_sigma, default=0.0, help="log-normal device-to-device variation")
    p.add_argument("--variation", choices=("typical",),
                   help="correlated variation with the documented typical RA and TMR spreads (instead of --sigma)")
    p.add_argument("--device", metavar="FILE", help="device TOML file (measured states or cells that differ) or "
                   "a shipped name (measured-21pct, multisize-2p6nm); replaces --cells and --thickness")
    p.add_argument("--model", metavar="FILE", help="your own trained network instead of the paper's MLP: ONNX "
                   "(MLPs and CNNs; PyTorch: torch.onnx.export) or .npz weights w0, b0, w1, b1, ...")
    p.add_argument("--fault-rate", type=within(0.0, 1.0), default=0.0,
                   help="fraction of faulty cells, split evenly over stuck-P, stuck-AP, open and short (default 0)")
    p.add_argument("--v-read", type=read_volt, default=0.1, help="read voltage for a full input, volt (default 0.1)")
    p.add_argument("--vh", type=v_half, metavar="VOLT", help=_VH_HELP + "; each tile is then solved by "
                   "Newton's method for every batch (no effective matrix)")
    p.add_argument("--adc-bits", type=integer(1, 24), help="digitize each column current with this many bits, "
                                                           "1..24 (default: off)")
    p.add_argument("--scheme", choices=("differential", "reference"), default="differential",
                   help="weight mapping (default differential column pairs)")
    p.add_argument("--calibrate", type=integer(0), default=0, metavar="N",
                   help="fit a digital gain and offset per output on N training images (default 0: off)")
    p.add_argument("--backend", choices=("native", "ngspice", "pyspice"), default="native",
                   help="solver for the base run; ngspice/pyspice also report agreement with native "
                        "(about 0.3 s per image per tile with KLU: use with --limit)")
    _add_timeout(p)
    p.add_argument("--limit", type=count, help="use only the first N test images")
    _add_t_read(p)
    p.add_argument("--study", type=_study_names, action="append", default=[], metavar="NAME",
                   help="also run a study around the base run: repeatable, or 'all' for every one except "
                        "the opt-in ones (default: none). Studies: " + ", ".join(every) + " (listed below)")
    p.add_argument("--netlist-dir", help="also write every tile's ngspice netlist here")
    p.add_argument("--out", default="xbar-infer", help="output directory (default ./xbar-infer)")
    p.add_argument("--quiet", action="store_true", help="no progress bars and no plan or estimate lines")
    p.set_defaults(func=_run_infer)


def _typical_variation(name: str | None) -> dict:
    """CircuitSpec fields of ``--variation typical`` (empty without it)."""
    if name is None:
        return {}
    from .devices import Variation
    v = Variation.typical()
    return dict(device_ra_sigma=v.device_ra_sigma, cell_ra_sigma=v.cell_ra_sigma,
                device_tmr_sigma=v.device_tmr_sigma, cell_tmr_sigma=v.cell_tmr_sigma)


def _run_infer(args) -> int:
    import os
    if _spice_options(args):
        os.environ["XBAR_NGSPICE_TIMEOUT"] = str(_spice_options(args)["timeout_s"])
    from .experiments.circuits import run_infer
    from .experiments.studies import parse_studies
    from .inference import CircuitSpec
    studies = parse_studies(",".join(s) for s in args.study)
    tile = args.tile
    spec = CircuitSpec(n_cells=args.cells, thickness_nm=args.thickness, wire_ohm=args.wire_ohm,
                       driver_ohm=args.driver_ohm, sense=args.sense, ref_ohm=args.ref_ohm, sigma=args.sigma,
                       variation_seed=args.seed, tile_rows=tile, tile_cols=tile, v_read=args.v_read,
                       adc_bits=args.adc_bits, scheme=args.scheme, calibration_images=args.calibrate,
                       fault_rate=args.fault_rate, device_file=args.device, v_half_volt=args.vh, **_typical_variation(args.variation))
    say = None if args.quiet else (lambda line: print(line, flush=True))
    _folder_to_write(args.out, "--out")
    if args.netlist_dir:
        _folder_to_write(args.netlist_dir, "--netlist-dir")
    result = run_infer(args.dataset, spec, args.out, studies=studies, seed=args.seed, n_test=args.limit,
                       data_dir=args.data_dir, backend=args.backend, netlist_dir=args.netlist_dir,
                       quiet=args.quiet, say=say, model_file=args.model, t_read_s=args.t_read)
    base = result["base"]
    where = f"from {args.device}" if args.device else f"at {args.thickness} nm"
    print(f"{base['dataset']}: {base['n_test']} test images, {spec.n_cells}-cell devices {where}, "
          f"{args.wire_ohm:g} ohm wires, tile {tile or 'none'}, sense {args.sense}")
    print("| full precision | paper-method quantized | ideal quantized | analog | agreement |")
    print("|---|---|---|---|---|")
    print("| " + " | ".join("–" if base[k] is None else f"{100 * base[k]:.2f} %" for k in (
        "accuracy_full_precision", "accuracy_paper_quantized", "accuracy_ideal_quantized",
        "accuracy_analog", "top1_agreement")) + " |")
    for e in base["layers"]:
        print(f"layer {e['layer']}: output error: worst {e['worst_rel']:.3e} (of the largest ideal output), "
              f"RMS {e['rms_rel']:.3e} (of the RMS ideal output)")
    worst = max(base["ir_drop"], key=lambda s: s["worst_rel"])
    print(f"worst IR drop: {100 * worst['worst_rel']:.2f} % of V_read (layer {worst['layer']}, "
          f"tile {tuple(worst['tile'])})")
    rd = base["read_disturb"]
    print(f"read disturb: worst channel current density {1e-4 * rd['worst_j_a_per_m2']:.3g} A/cm^2 "
          f"({rd['j_over_jc0']:.2g} J_c0), P(switch) {rd['probability_per_read']:.2g} per read")
    if base.get("junction_solver"):
        from .experiments.circuits import junction_solver_line
        print(junction_solver_line(base["junction_solver"]))
    if base.get("spice"):
        from .experiments.circuits import spice_lines
        print(spice_lines(base["spice"])[0])
    e = base.get("energy")
    if e:
        settle = [layer["settling_s"] for layer in e["layers"] if "settling_s" in layer]
        print(f"energy per image: array {e['array_j_per_image'] * 1e12:.4g} pJ (exact), periphery "
              f"{e['periphery_j_per_image'] * 1e12:.4g} pJ (models); {e['fj_per_mac']:.4g} fJ/MAC, "
              f"{e['tops_per_w']:.4g} TOPS/W (array alone {e['array_fj_per_mac']:.4g} fJ/MAC); worst settling "
              f"{max(settle) * 1e9:.3g} ns" if settle else "")
    if not studies:
        print("studies: none run (add --study NAME or --study all; see xbar infer --help)")
    print(f"report: {Path(args.out) / 'report.md'}")
    return 0


def _add_doctor(sub) -> None:
    p = sub.add_parser("doctor", help="show what xbar runs on: ngspice, KLU, PySpice, BLAS, directories",
                       description="One screen on the installation: ngspice path and version, whether KLU is "
                                   "compiled in (`ngspice -v`) and used (a test solve), libngspice/PySpice, the "
                                   "BLAS library and threads, the cache and data directories, and which datasets "
                                   "are present. Exits 1 only when something required is missing.")
    p.set_defaults(func=_run_doctor)


def _run_doctor(args) -> int:
    from .doctor import checks, exit_status, report
    found = checks()
    print(report(found))
    return exit_status(found)


def _add_program(sub) -> None:
    p = sub.add_parser("program", help="program a mapped network with program-and-verify, then evaluate it",
                       description="Map a trained network onto compound SOT-MTJ tiles as `xbar infer` does, "
                                   "program every device from all-AP with SOT pulses (program-and-verify: "
                                   "rising pulses below breakdown, a read after each, overshoot undone), "
                                   "and report yield, stuck and broken devices, write energy and time, and "
                                   "the test accuracy as programmed beside the intended one. Several "
                                   "thicknesses or cell counts make a study; finished points are kept in "
                                   "OUT/results.jsonl, so a rerun resumes.")
    p.add_argument("--dataset", choices=("digits", "mnist", "fashion"), default="digits",
                   help="digits (bundled, default), mnist or fashion")
    p.add_argument("--data-dir", help="folder of the IDX files (mnist/ or fashion-mnist/), or the folder "
                                      "holding mnist/ and fashion-mnist/ (default $XBAR_DATA_DIR or "
                                      "~/.cache/xbar/data)")
    p.add_argument("--seed", type=seed, default=0, help="training and programming seed, 0..2^32-1 (default 0)")
    p.add_argument("--cells", type=comma_list(integer(1, 6)), default=[3],
                   help="cells per device, 1..6, or a comma list (default 3)")
    p.add_argument("--thickness", type=comma_list(within(1.6, 2.6)), default=[1.6, 1.9, 2.2, 2.6],
                   help="free-layer thickness in nm, or a comma list, within 1.6..2.6 (default 1.6,1.9,2.2,2.6)")
    p.add_argument("--field", type=finite, default=6.0, help="assisting field in mT (default 6, the paper's -6 mT)")
    p.add_argument("--cell-vc-ratio", type=_cell_vc_ratio, default=1.25,
                   help="voltage a 3-cell device needs to switch fully over a 1-cell one, 1..2 (default 1.25, "
                        "fitted to the paper's 20-30 %%), or 'plain': equal critical current per cell (~2.1x)")
    p.add_argument("--wire-ohm", type=series_ohm, default=1.0, help="row and column wire ohm per segment (default 1)")
    p.add_argument("--tile", type=count, default=128, help="tile size in devices (default 128)")
    p.add_argument("--max-pulses", type=count, default=400, help="pulse budget per device (default 400)")
    p.add_argument("--ceiling-margin", type=nonnegative, default=0.1,
                   help="ramp ceiling: this many volts below the mean breakdown voltage (default 0.1)")
    p.add_argument("--limit", type=count, help="evaluate on the first N test images only")
    p.add_argument("--out", default="xbar-program", help="output directory (default ./xbar-program)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_program)


def _run_program(args) -> int:
    import dataclasses

    from .experiments.programming import run_program
    from .inference import CircuitSpec
    from .programming import ProgramParams
    from .switching import SwitchingParams, check_thickness, critical_current
    cells = args.cells
    thicknesses = [check_thickness(t) for t in args.thickness]
    switching = SwitchingParams(field_mt=args.field, multi_cell_vc_ratio=args.cell_vc_ratio)
    for t in thicknesses:
        critical_current(switching, t)
    spec = CircuitSpec(wire_ohm=args.wire_ohm, tile_rows=args.tile, tile_cols=args.tile)
    for c in cells:
        dataclasses.replace(spec, n_cells=c)
    params = ProgramParams(max_pulses=args.max_pulses, ceiling_margin_v=args.ceiling_margin)
    _folder_to_write(args.out, "--out")
    records = run_program(args.dataset, spec, args.out, thicknesses, cells, switching, params, seed=args.seed,
                          n_test=args.limit, data_dir=args.data_dir, quiet=args.quiet)
    print(f"{args.dataset}: {records[0]['n_test']} test images, field {args.field:g} mT")
    print("| cells | t (nm) | yield | stuck | broken | energy (uJ) | time (ms) | intended | programmed | "
          "shorts isolated |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in records:
        print(f"| {r['cells']} | {r['thickness_nm']:.1f} | {100 * r['yield_fraction']:.2f} % | {r['stuck']} | "
              f"{r['broken']} | {r['energy_j'] * 1e6:.2f} | {r['time_s'] * 1e3:.2f} | "
              f"{100 * r['accuracy_intended']:.2f} % | {100 * r['accuracy_programmed']:.2f} % | "
              f"{100 * r['accuracy_without_shorts']:.2f} % |")
    print(f"report: {args.out}/report.md")
    return 0


#: Every subcommand's registration function, in the order ``--help`` lists them.
_COMMANDS: list = [_add_netlist, _add_solve, _add_settle, _add_infer, _add_reproduce, _add_sweep, _add_program,
                   _add_doctor]

if __name__ == "__main__":
    sys.exit(main())
