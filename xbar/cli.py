"""The ``xbar`` command line: a thin layer over the modules.

Each subcommand is a ``_add_<name>(subparsers)`` function that registers its
options and sets ``func``. Any :class:`~xbar.errors.XbarError` (and bad files)
becomes one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from .errors import XbarError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xbar",
        description="Circuit-level simulator for compound SOT-MTJ crossbars.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except XbarError as exc:
        print(f"xbar: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"xbar: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("xbar: interrupted; finished work is kept and a rerun resumes", file=sys.stderr)
        return 130


def _load_array(path: str, what: str):
    """Read a CSV or NPY file into a numpy array, with one-line errors."""
    import numpy as np

    from .errors import ParameterError
    try:
        if path.endswith(".npy"):
            return np.load(path, allow_pickle=False)
        return np.loadtxt(path, delimiter=",", ndmin=2)
    except (ValueError, OSError) as exc:
        raise ParameterError(f"cannot read {what} from {path}: {exc}") from None


def _save_array(path: str, array) -> None:
    import numpy as np
    if path.endswith(".npy"):
        np.save(path, array)
    else:
        np.savetxt(path, array, delimiter=",", fmt="%.17g")


def _add_crossbar_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("crossbar")
    g.add_argument("--rows", type=int, default=8, help="rows (default 8)")
    g.add_argument("--cols", type=int, default=8, help="columns (default 8)")
    g.add_argument("--cells", type=int, default=3, help="MTJ cells per compound device, 1..6 (default 3)")
    g.add_argument("--thickness", type=float, default=1.9,
                   help="free-layer thickness in nm from the paper's library, 1.6..2.6 (default 1.9)")
    g.add_argument("--r-p", type=float, help="custom R_P in ohm (with --tmr; overrides --thickness)")
    g.add_argument("--tmr", type=float, help="custom TMR in percent (with --r-p)")
    g.add_argument("--channel-ohm", type=float, help="write-channel resistance in ohm (default: 150 + 150 n)")
    g.add_argument("--states", help="device states 0..cells, [rows, cols] CSV or NPY (default: random from --seed)")
    g.add_argument("--seed", type=int, default=0, help="seed for random states, inputs and variation")
    g.add_argument("--wire-ohm", type=float, default=1.0, help="row and column wire ohm per segment (default 1)")
    g.add_argument("--row-wire-ohm", type=float, help="row wire ohm per segment (overrides --wire-ohm)")
    g.add_argument("--col-wire-ohm", type=float, help="column wire ohm per segment (overrides --wire-ohm)")
    g.add_argument("--driver-ohm", type=float, default=0.0, help="row driver output resistance in ohm")
    g.add_argument("--access-ohm", type=float, default=0.0, help="series access resistance per device in ohm")
    g.add_argument("--sense", choices=("tia", "resistor"), default="tia",
                   help="virtual-ground TIA or reference resistor to ground (default tia)")
    g.add_argument("--ref-ohm", type=float, default=1e6, help="reference resistor in ohm (default 1e6, the paper's)")
    g.add_argument("--sigma", type=float, default=0.0, help="log-normal device-to-device variation of R_P, R_AP")
    g.add_argument("--device", metavar="FILE", help="device TOML file (measured states or cells that differ) or "
                   "a shipped name; replaces --cells/--thickness/--r-p/--tmr")


def _crossbar_from_args(args):
    import numpy as np

    from .crossbar import Crossbar
    from .devices import MTJ, CompoundMTJ, Variation, library_mtj
    from .errors import ParameterError
    if (args.r_p is None) != (args.tmr is None):
        raise ParameterError("--r-p and --tmr go together")
    if args.device:
        from .device_file import load_device
        device = load_device(args.device)
        if args.channel_ohm is not None:
            device = CompoundMTJ(device.mtj, device.n_cells, args.channel_ohm, device.cells, device.state_sigma)
        args.cells = device.n_cells
    else:
        mtj = library_mtj(args.thickness) if args.r_p is None else MTJ.from_tmr(args.r_p, args.tmr / 100.0)
        device = CompoundMTJ(mtj, args.cells, args.channel_ohm)
    if args.states:
        states = _load_array(args.states, "states")
        if np.any(states != np.round(states)):
            raise ParameterError(f"device states in {args.states} must be integers 0..{args.cells}")
        states = states.astype(np.int64)
    else:
        if args.rows < 1 or args.cols < 1:
            raise ParameterError(f"--rows and --cols must be >= 1, got {args.rows} x {args.cols}")
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
                       description="Write a readable ngspice netlist (.op, ready for `ngspice -b -r out.raw`).")
    _add_crossbar_options(p)
    p.add_argument("--inputs", help="row voltages for the sources, one row of a CSV/NPY file (default 0 V)")
    p.add_argument("--title", help="title comment (letters, digits, spaces and _.,:()+-=%%/ only)")
    p.add_argument("-o", "--output", required=True, help="netlist file to write")
    p.set_defaults(func=_run_netlist)


def _run_netlist(args) -> int:
    from .circuit import build_circuit
    from .netlist import write_netlist
    xbar = _crossbar_from_args(args)
    inputs = _load_array(args.inputs, "inputs")[0] if args.inputs else None
    path = write_netlist(build_circuit(xbar), args.output, inputs=inputs, title=args.title)
    print(f"wrote {path} ({xbar.shape[0]}x{xbar.shape[1]}, {xbar.n_cells}-cell devices, sense {xbar.sense})")
    return 0


def _add_solve(sub) -> None:
    p = sub.add_parser("solve", help="solve a crossbar for a batch of row voltages",
                       description="Solve a crossbar circuit and write column currents (and output voltages).")
    _add_crossbar_options(p)
    p.add_argument("--backend", choices=("native", "ngspice", "ideal"), default="native",
                   help="solver (default native)")
    p.add_argument("--inputs", help="row voltages [batch, rows], CSV or NPY (default: random)")
    p.add_argument("--random", type=int, default=4, help="number of random input vectors (default 4)")
    p.add_argument("--v-read", type=float, default=0.1, help="largest random row voltage in volt (default 0.1)")
    p.add_argument("-o", "--output", help="write currents [batch, cols] in ampere (CSV or NPY)")
    p.add_argument("--voltages", help="write sense output voltages [batch, cols] in volt (CSV or NPY)")
    p.set_defaults(func=_run_solve)


def _run_solve(args) -> int:
    import numpy as np

    from .solvers import solve
    xbar = _crossbar_from_args(args)
    x = _inputs_from_args(args, xbar.shape[0])
    sol = solve(xbar, x, backend=args.backend)
    if args.output:
        _save_array(args.output, sol.currents)
    if args.voltages:
        _save_array(args.voltages, sol.voltages)
    print(f"{args.backend}: {len(sol.currents)} input vector(s) on {xbar.shape[0]}x{xbar.shape[1]}; "
          f"column currents {np.abs(sol.currents).min():.6g}..{np.abs(sol.currents).max():.6g} A")
    return 0


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
    p.add_argument("--seeds", type=int, help="number of training seeds, 0..N-1 (default 3; quick 2)")
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
    from .errors import ParameterError
    if args.seeds is not None and args.seeds < 1:
        raise ParameterError(f"--seeds must be at least 1, got {args.seeds}")
    seeds = range(args.seeds) if args.seeds else (QUICK_SEEDS if args.quick else DEFAULT_SEEDS)
    out = args.out or f"out/reproduce-{args.dataset}{'-quick' if args.quick else ''}"
    s = reproduce(args.dataset, out, seeds, quick=args.quick, rule=args.rule, bias=args.bias,
                  data_dir=args.data_dir, cache_dir=args.cache_dir, progress=not args.quiet, device_file=args.device)
    if not args.quiet:
        print(f"{s['dataset']}: full precision {s['full'][0]:.1f} %, best library device {s['best']['accuracy']:.1f} % "
              f"({s['best']['n_cells']} cells, {s['best']['thickness_nm']:.1f} nm), seeds {len(s['seeds'])}, "
              f"{s['info']['seconds']:.0f} s")
    print(f"wrote {s['report']} and figures in {out}")
    return 0


def _add_sweep(sub) -> None:
    import os
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
    p.add_argument("-w", "--workers", type=int, default=os.cpu_count() or 1,
                   help="local worker processes (default: one per CPU)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on an existing Dask cluster instead, "
                                                          "e.g. tcp://10.0.0.1:8786")
    p.add_argument("--quiet", action="store_true", help="no progress bar, only the summary line")
    p.add_argument("--device", metavar="FILE", help="device TOML file (or shipped name) for every point of an "
                   "experiment that takes device_file (inference); points are keyed by the file's content")
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
        with open(args.csv, "w", newline="") if args.csv else nullcontext(sys.stdout) as out:
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


def _add_infer(sub) -> None:
    p = sub.add_parser("infer", help="run a trained network through parasitic-aware crossbars",
                       description="Map a trained, quantized network onto compound SOT-MTJ crossbar tiles, "
                                   "run the test set through the circuits, and compare with ideal quantized "
                                   "inference. Prints the comparison table; writes report.md, results.json "
                                   "and figures.")
    p.add_argument("--dataset", choices=("digits", "mnist", "fashion"), default="digits",
                   help="digits (bundled, default), mnist or fashion")
    p.add_argument("--data-dir", help="directory of the IDX files (default $XBAR_DATA_DIR or the user cache)")
    p.add_argument("--seed", type=int, default=0, help="training seed")
    p.add_argument("--cells", type=int, default=3, help="MTJ cells per compound device, 1..6 (default 3)")
    p.add_argument("--thickness", type=float, default=1.9, help="free-layer thickness in nm, 1.6..2.6 (default 1.9)")
    p.add_argument("--wire-ohm", type=float, default=1.0, help="row and column wire ohm per segment (default 1)")
    p.add_argument("--driver-ohm", type=float, default=0.0, help="row driver output resistance (ohm)")
    p.add_argument("--tile", default="128", help="tile size in devices (rows = columns), or 'none' for untiled "
                   "(default 128)")
    p.add_argument("--sense", choices=("tia", "resistor"), default="tia", help="sense mode (default tia)")
    p.add_argument("--ref-ohm", type=float, default=1e6, help="reference resistor for --sense resistor (ohm)")
    p.add_argument("--sigma", type=float, default=0.0, help="log-normal device-to-device variation")
    p.add_argument("--variation", choices=("typical",),
                   help="correlated variation with the documented typical RA and TMR spreads (instead of --sigma)")
    p.add_argument("--device", metavar="FILE", help="device TOML file (measured states or cells that differ) or "
                   "a shipped name (measured-21pct, multisize-2p6nm); replaces --cells and --thickness")
    p.add_argument("--model", metavar="FILE", help="your own trained network instead of the paper's MLP: ONNX "
                   "(MLPs and CNNs; PyTorch: torch.onnx.export) or .npz weights w0, b0, w1, b1, ...")
    p.add_argument("--fault-rate", type=float, default=0.0,
                   help="fraction of faulty cells, split evenly over stuck-P, stuck-AP, open and short (default 0)")
    p.add_argument("--v-read", type=float, default=0.1, help="read voltage for a full input, volt (default 0.1)")
    p.add_argument("--adc-bits", type=int, help="digitize each column current with this many bits (default: off)")
    p.add_argument("--scheme", choices=("differential", "reference"), default="differential",
                   help="weight mapping (default differential column pairs)")
    p.add_argument("--calibrate", type=int, default=0, metavar="N",
                   help="fit a digital gain and offset per output on N training images (default 0: off)")
    p.add_argument("--backend", choices=("native", "ngspice"), default="native",
                   help="solver for the base run (ngspice is slow: use with --limit)")
    p.add_argument("--limit", type=int, help="use only the first N test images")
    p.add_argument("--study", default="all",
                   help="comma list of studies around the base run: wire,calibration,tile,sense,cells,thickness,"
                        "adc,variation; "
                        "'all' (default) or 'none'; opt-in only: faults (accuracy vs fault rate 0-5 %%), "
                        "correlated (typical RA/TMR spread x 0-4)")
    p.add_argument("--netlist-dir", help="also write every tile's ngspice netlist here")
    p.add_argument("--out", default="xbar-infer", help="output directory (default ./xbar-infer)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
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
    from .errors import ParameterError
    from .experiments.circuits import EXTRA_STUDIES, STUDIES, run_infer
    from .inference import CircuitSpec
    if args.study == "all":
        studies = STUDIES
    elif args.study == "none":
        studies = ()
    else:
        studies = tuple(s.strip() for s in args.study.split(","))
        unknown = [s for s in studies if s not in STUDIES + EXTRA_STUDIES]
        if unknown:
            raise ParameterError(f"unknown study {unknown[0]!r}; choose from {', '.join(STUDIES + EXTRA_STUDIES)}, all or none")
    if args.tile.lower() in ("none", "untiled"):
        tile = None
    else:
        try:
            tile = int(args.tile)
        except ValueError:
            raise ParameterError(f"--tile must be a positive integer or 'none', got {args.tile!r}") from None
    if args.limit is not None and args.limit < 1:
        raise ParameterError(f"--limit must be >= 1, got {args.limit}")
    spec = CircuitSpec(n_cells=args.cells, thickness_nm=args.thickness, wire_ohm=args.wire_ohm,
                       driver_ohm=args.driver_ohm, sense=args.sense, ref_ohm=args.ref_ohm, sigma=args.sigma,
                       variation_seed=args.seed, tile_rows=tile, tile_cols=tile, v_read=args.v_read,
                       adc_bits=args.adc_bits, scheme=args.scheme, calibration_images=args.calibrate,
                       fault_rate=args.fault_rate, device_file=args.device, **_typical_variation(args.variation))
    result = run_infer(args.dataset, spec, args.out, studies=studies, seed=args.seed, n_test=args.limit,
                       data_dir=args.data_dir, backend=args.backend, netlist_dir=args.netlist_dir,
                       quiet=args.quiet, model_file=args.model)
    base = result["base"]
    where = f"from {args.device}" if args.device else f"at {args.thickness} nm"
    print(f"{base['dataset']}: {base['n_test']} test images, {spec.n_cells}-cell devices {where}, "
          f"{args.wire_ohm:g} ohm wires, tile {args.tile}, sense {args.sense}")
    print("| full precision | paper-method quantized | ideal quantized | analog | agreement |")
    print("|---|---|---|---|---|")
    print("| " + " | ".join("–" if base[k] is None else f"{100 * base[k]:.2f} %" for k in (
        "accuracy_full_precision", "accuracy_paper_quantized", "accuracy_ideal_quantized",
        "accuracy_analog", "top1_agreement")) + " |")
    for e in base["layers"]:
        print(f"layer {e['layer']}: output error RMS {e['rms_rel']:.3e}, worst {e['worst_rel']:.3e} (relative)")
    worst = max(base["ir_drop"], key=lambda s: s["worst_rel"])
    print(f"worst IR drop: {100 * worst['worst_rel']:.2f} % of V_read (layer {worst['layer']}, "
          f"tile {tuple(worst['tile'])})")
    print(f"report: {args.out}/report.md")
    return 0


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
    p.add_argument("--data-dir", help="directory of the IDX files (default $XBAR_DATA_DIR or the user cache)")
    p.add_argument("--seed", type=int, default=0, help="training and programming seed (default 0)")
    p.add_argument("--cells", default="3", help="cells per device, or a comma list (default 3)")
    p.add_argument("--thickness", default="1.6,1.9,2.2,2.6",
                   help="free-layer thickness in nm, or a comma list, within 1.6..2.6 (default 1.6,1.9,2.2,2.6)")
    p.add_argument("--field", type=float, default=6.0, help="assisting field in mT (default 6, the paper's -6 mT)")
    p.add_argument("--wire-ohm", type=float, default=1.0, help="row and column wire ohm per segment (default 1)")
    p.add_argument("--tile", type=int, default=128, help="tile size in devices (default 128)")
    p.add_argument("--max-pulses", type=int, default=400, help="pulse budget per device (default 400)")
    p.add_argument("--limit", type=int, help="evaluate on the first N test images only")
    p.add_argument("--out", default="xbar-program", help="output directory (default ./xbar-program)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_program)


def _number_list(text: str, kind, what: str) -> list:
    from .errors import ParameterError
    try:
        return [kind(v) for v in text.split(",") if v.strip()] or [kind("")]
    except ValueError:
        raise ParameterError(f"{what} must be a number or a comma list of numbers, got {text!r}") from None


def _run_program(args) -> int:
    import dataclasses

    from .errors import ParameterError
    from .experiments.programming import run_program
    from .inference import CircuitSpec
    from .programming import ProgramParams
    from .switching import SwitchingParams, check_thickness, critical_current
    cells = _number_list(args.cells, int, "--cells")
    thicknesses = [check_thickness(t) for t in _number_list(args.thickness, float, "--thickness")]
    if args.limit is not None and args.limit < 1:
        raise ParameterError(f"--limit must be >= 1, got {args.limit}")
    switching = SwitchingParams(field_mt=args.field)
    for t in thicknesses:
        critical_current(switching, t)
    spec = CircuitSpec(wire_ohm=args.wire_ohm, tile_rows=args.tile, tile_cols=args.tile)
    for c in cells:
        dataclasses.replace(spec, n_cells=c)
    params = ProgramParams(max_pulses=args.max_pulses)
    records = run_program(args.dataset, spec, args.out, thicknesses, cells, switching, params, seed=args.seed,
                          n_test=args.limit, data_dir=args.data_dir, quiet=args.quiet)
    print(f"{args.dataset}: {records[0]['n_test']} test images, field {args.field:g} mT")
    print("| cells | t (nm) | yield | stuck | broken | energy (uJ) | time (ms) | intended | programmed |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in records:
        print(f"| {r['cells']} | {r['thickness_nm']:.1f} | {100 * r['yield_fraction']:.2f} % | {r['stuck']} | "
              f"{r['broken']} | {r['energy_j'] * 1e6:.2f} | {r['time_s'] * 1e3:.2f} | "
              f"{100 * r['accuracy_intended']:.2f} % | {100 * r['accuracy_programmed']:.2f} % |")
    print(f"report: {args.out}/report.md")
    return 0


#: Every subcommand's registration function, in the order ``--help`` lists them.
_COMMANDS: list = [_add_netlist, _add_solve, _add_infer, _add_reproduce, _add_sweep, _add_program]

if __name__ == "__main__":
    sys.exit(main())
