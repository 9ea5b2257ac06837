"""The single-array subcommands: ``netlist``, ``solve`` and ``settle``, and the crossbar options they share."""

from __future__ import annotations

import argparse

from xbar.cli.argtypes import count, integer, positive, read_volt, ref_ohm, seed, series_ohm
from xbar.util.ranges import argtype
from xbar.cli.common import (
    add_model_options,
    add_physics_options,
    add_t_read,
    add_timeout,
    distinct_outputs,
    load_array,
    options_from_args,
    physics_from_args,
    save_array,
    save_solver_info,
    spice_options,
    write_json,
    yes,
)


def add_crossbar_options(p: argparse.ArgumentParser) -> None:
    """The options that describe a crossbar (shared by netlist, solve and settle)."""
    g = p.add_argument_group("crossbar")
    g.add_argument("--rows", type=count, default=8, help="rows (default 8)")
    g.add_argument("--cols", type=count, default=8, help="columns (default 8)")
    g.add_argument("--states", help="device states 0..cells, [rows, cols] CSV or NPY (default: random from --seed)")
    g.add_argument("--seed", type=seed, default=0, help="seed for random states, inputs and variation, "
                                                        "0..2^32-1 (default 0)")
    g.add_argument("--wire-ohm", type=series_ohm, default=1.0, help="row and column wire ohm per segment (default 1)")
    g.add_argument("--row-wire-ohm", type=argtype("row_wire_ohm"), help="row wire ohm per segment (overrides --wire-ohm)")
    g.add_argument("--col-wire-ohm", type=argtype("col_wire_ohm"), help="column wire ohm per segment (overrides --wire-ohm)")
    g.add_argument("--driver-ohm", type=argtype("driver_ohm"), default=0.0, help="row driver output resistance in ohm")
    g.add_argument("--access-ohm", type=argtype("access_ohm"), default=0.0, help="series access resistance per device in ohm")
    g.add_argument("--sense", choices=("tia", "resistor"), default="tia",
                   help="virtual-ground TIA or reference resistor to ground (default tia)")
    g.add_argument("--ref-ohm", type=ref_ohm, default=1e6, help="reference resistor in ohm (default 1e6, the paper's)")
    add_model_options(p)
    add_physics_options(p)


def crossbar_from_args(args):
    """The crossbar the options describe: device, variation and faults (seeded by --seed) from
    :func:`~xbar.cli.common.options_from_args`, states from --states or random."""
    import numpy as np

    from xbar.array.crossbar import Crossbar
    from xbar.util.errors import ParameterError
    opts = options_from_args(args)
    device = opts.device()
    cells = device.n_cells
    if args.states:
        states = load_array(args.states, "states")
        if np.any(states != np.round(states)):
            raise ParameterError(f"device states in {args.states} must be integers 0..{cells}")
        states = states.astype(np.int64)
    else:
        from xbar.util.resources import check_memory, estimate_bytes
        check_memory(f"a {args.rows}x{args.cols} crossbar of {cells}-cell devices",
                     estimate_bytes(args.rows, args.cols, cells))
        states = np.random.default_rng(args.seed).integers(0, cells + 1, (args.rows, args.cols))
    wire = args.wire_ohm
    return Crossbar(device, states,
                    row_wire_ohm=wire if args.row_wire_ohm is None else args.row_wire_ohm,
                    col_wire_ohm=wire if args.col_wire_ohm is None else args.col_wire_ohm,
                    driver_ohm=args.driver_ohm, access_ohm=args.access_ohm, sense=args.sense,
                    ref_ohm=args.ref_ohm, variation=opts.variation(args.seed), faults=opts.faults(args.seed),
                    **physics_from_args(args))


def inputs_from_args(args, rows: int):
    """Row voltages [batch, rows]: ``--inputs``, else ``--random`` vectors up to ``--v-read``."""
    import numpy as np
    if args.inputs:
        return load_array(args.inputs, "inputs")
    return np.random.default_rng(args.seed + 1).uniform(0.0, args.v_read, (args.random, rows))


def add_netlist(sub) -> None:
    """Register ``xbar netlist``."""
    p = sub.add_parser("netlist", help="write the ngspice netlist of a crossbar",
                       description="Write a readable ngspice netlist (.op, ready for `ngspice -b -r out.raw`). "
                                   "Without --inputs every row source is set to --v-read, so the netlist "
                                   "solves to the currents of a fully driven array.")
    add_crossbar_options(p)
    p.add_argument("--inputs", help="row voltages for the sources, one row of a CSV/NPY file "
                                    "(default: every row at --v-read)")
    p.add_argument("--v-read", type=read_volt, default=0.1,
                   help="row voltage when --inputs is not given, volt (default 0.1)")
    p.add_argument("--title", help="title comment (letters, digits, spaces and _.,:()+-=%%/ only)")
    p.add_argument("-o", "--output", required=True, help="netlist file to write")
    p.add_argument("--subckt", metavar="NAME", help="write the array as .subckt NAME with ports only (row "
                   "inputs, column outputs, ref with resistor sensing): no sources, analysis or .end")
    p.add_argument("--testbench", metavar="FILE", help="with --subckt: also write a testbench that includes "
                   "it, drives the rows (--inputs/--v-read) and senses each column with an op-amp macro-model")
    p.set_defaults(func=run_netlist)


def run_netlist(args) -> int:
    """Run ``xbar netlist``; returns the exit status."""
    import numpy as np

    from xbar.array.circuit import build_circuit
    from xbar.util.errors import ParameterError
    from xbar.array.netlist import write_netlist
    xbar = crossbar_from_args(args)
    if args.inputs:
        inputs = load_array(args.inputs, "inputs")
        if len(inputs) != 1:
            raise ParameterError(f"a netlist takes one input vector: {args.inputs} holds {len(inputs)} rows")
        inputs, source = inputs[0], "row sources from the --inputs file"
    else:
        inputs, source = np.full(xbar.shape[0], args.v_read), f"every row source at {args.v_read:g} V"
    title = f"{args.title or 'xbar crossbar'}, {source}"
    if args.title and len(title) > 120:  # the title's limit (netlist.safe_title): keep the user's words
        title = args.title
    notes = periphery_notes(options_from_args(args).periphery())
    if args.subckt is not None:
        return _write_subckt(args, build_circuit(xbar), inputs, title, notes)
    if args.testbench:
        raise ParameterError("--testbench goes with --subckt (the testbench includes the subcircuit)")
    path = write_netlist(build_circuit(xbar), args.output, inputs=inputs, title=title, notes=notes)
    print(f"wrote {path} ({xbar.shape[0]}x{xbar.shape[1]}, {xbar.n_cells}-cell devices, sense {xbar.sense}, "
          f"{source})")
    return 0


def periphery_notes(periphery) -> list[str]:
    """Netlist comment lines recording a periphery model that differs from the default (not part of the circuit)."""
    from dataclasses import fields

    from xbar.analysis.periphery import Periphery
    return [f"periphery model (energy estimates, not in this circuit): {f.name} = {getattr(periphery, f.name):g}"
            for f in fields(periphery) if getattr(periphery, f.name) != getattr(Periphery(), f.name)]


def _write_subckt(args, circuit, inputs, title: str, notes=()) -> int:
    import os

    from xbar.array.netlist import write_netlist
    from xbar.array.testbench import SenseAmplifier, testbench_text
    from xbar.util.atomic import write_text
    from xbar.util.errors import ParameterError
    if args.inputs and not args.testbench:
        raise ParameterError("--inputs has no use with --subckt alone (a subcircuit has ports, not sources): "
                             "add --testbench FILE to drive it")
    if args.testbench and os.path.abspath(args.testbench) == os.path.abspath(args.output):
        raise ParameterError("--testbench and -o must be different files")
    path = write_netlist(circuit, args.output, title=args.title, subckt=args.subckt, notes=notes)
    rows, cols = circuit.shape
    print(f"wrote {path}: .subckt {args.subckt} with {rows} row inputs, {cols} column outputs"
          + (" and ref" if circuit.sense == "resistor" else ""))
    if args.testbench:
        include = os.path.relpath(os.path.abspath(path), os.path.dirname(os.path.abspath(args.testbench)))
        amp = SenseAmplifier(feedback_ohm=circuit.crossbar.tia_feedback_ohm)
        bench = write_text(args.testbench, testbench_text(circuit, inputs, include, args.subckt, amp))
        note = (f"; it equals xbar solve --sense resistor --ref-ohm {amp.input_ohm()!r} (the amplifier's input "
                "resistance)" if circuit.sense == "tia" else "")
        print(f"wrote {bench}: run ngspice -b {bench} ({title.split(', ', 1)[-1]}){note}")
    return 0


def add_solve(sub) -> None:
    """Register ``xbar solve``."""
    p = sub.add_parser("solve", help="solve a crossbar for a batch of row voltages",
                       description="Solve a crossbar circuit and write column currents (and output voltages).")
    add_crossbar_options(p)
    p.add_argument("--backend", choices=("native", "ngspice", "pyspice", "ideal"), default="native",
                   help="solver (default native); ngspice runs the ngspice program, pyspice libngspice in-process")
    add_timeout(p)
    p.add_argument("--inputs", help="row voltages [batch, rows], CSV or NPY (default: random)")
    p.add_argument("--random", type=count, default=4, help="number of random input vectors, >= 1 (default 4)")
    p.add_argument("--v-read", type=read_volt, default=0.1,
                   help="largest random row voltage in volt, > 0 (default 0.1)")
    p.add_argument("-o", "--output", help="write currents [batch, cols] in ampere (CSV or NPY)")
    p.add_argument("--voltages", help="write sense output voltages [batch, cols] in volt (CSV or NPY)")
    p.add_argument("--node-voltages", metavar="FILE",
                   help="write every node's voltage [batch, nodes] in volt, ground first (CSV with node names, "
                        "or NPY; native backend; solving for them takes the factorized route)")
    p.add_argument("--energy", metavar="FILE", help="write the read's exact energy breakdown (array), the "
                   "periphery models and the output noise as JSON (native solution)")
    add_t_read(p)
    p.set_defaults(func=run_solve)


def run_solve(args) -> int:
    """Run ``xbar solve``; returns the exit status."""
    import numpy as np

    from xbar.util.resources import array_file_shape, check_memory, estimate_bytes
    from xbar.solvers import solve
    from xbar.util.errors import ParameterError
    distinct_outputs(("-o", args.output), ("-o's solver record", args.output and f"{args.output}.json"),
                     ("--voltages", args.voltages), ("--energy", args.energy))
    xbar = crossbar_from_args(args)
    if args.backend == "ideal" and not xbar.device.mtj.linear:
        where = "--vh" if getattr(args, "v_half_volt", None) is not None else "the device file"
        raise ParameterError(f"--backend ideal has no junction bias, so V_h = {xbar.device.mtj.v_half_volt:g} V "
                             f"({where}) would be ignored; use the native backend, or drop V_h")
    periphery = options_from_args(args).periphery()
    if options_from_args(args).periphery_values and not args.energy:
        raise ParameterError("the periphery options model the read's energy: add --energy FILE")
    batch = (array_file_shape(args.inputs) or (0,))[0] if args.inputs else args.random
    check_memory(f"solving {batch} input vector(s) on a {xbar.shape[0]}x{xbar.shape[1]} crossbar with {args.backend}",
                 estimate_bytes(*xbar.shape, xbar.n_cells, batch, args.backend))
    x = inputs_from_args(args, xbar.shape[0])
    sol = solve(xbar, x, backend=args.backend, node_voltages=bool(args.node_voltages), **spice_options(args))
    if args.node_voltages:
        from xbar.array.circuit import build_circuit
        names = build_circuit(xbar, check=False).node_names()  # node 0 is ground ("gnd_v", always 0 V)
        save_array(args.node_voltages, sol.node_voltages, ["gnd_v"] + [f"{n}_v" for n in names[1:]])
    if args.output:
        save_array(args.output, sol.currents, [f"i{j}_a" for j in range(sol.currents.shape[1])])
        save_solver_info(args.output, sol.solver)
    if args.voltages:
        save_array(args.voltages, sol.voltages, [f"vout{j}_v" for j in range(sol.voltages.shape[1])])
    print(f"{args.backend}: {len(sol.currents)} input vector(s) on {xbar.shape[0]}x{xbar.shape[1]}; "
          f"column currents {np.abs(sol.currents).min():.6g}..{np.abs(sol.currents).max():.6g} A"
          + (f" (route: {sol.solver['route']})" if "route" in sol.solver else ""))
    if "ngspice" in sol.solver:
        print(f"solved by {sol.solver['ngspice']} (KLU compiled in: {yes(sol.solver['klu_compiled'])}, "
              f"used: {yes(sol.solver['klu_used'])}); Kirchhoff residual {sol.solver['kcl_residual']:.1e}")
    if "newton_iterations_max" in sol.solver:
        info = sol.solver
        what = "access transistors" if xbar.access is not None else "non-linear junctions"
        print(f"{what} (V_h = {info['v_half_volt']:g} V): Newton converged to "
              f"{info['tol']:g} in {info['newton_iterations_min']}..{info['newton_iterations_max']} "
              "iterations per vector "
              f"({info['preconditioned_solves']} preconditioned solves)")
    if args.energy:
        from xbar.array.circuit import build_circuit
        from xbar.analysis.readout import array_energy, array_noise
        from xbar.solvers.native import NativeSolver
        circuit = build_circuit(xbar)
        if circuit.nonlinear:
            from xbar.util.errors import ParameterError
            raise ParameterError("--energy models linear junctions only (no access transistors); drop --vh "
                                 "(or the device file's v_half_volt) and the access transistor")
        solver = NativeSolver(circuit)
        report = array_energy(circuit, x, args.t_read, periphery, solver)
        noise = array_noise(circuit, x, args.t_read, solver)
        report["noise"] = {k: v for k, v in noise.items() if k != "rms_a"}
        write_json(args.energy, report)
        e = report["array_j"]["total"]
        print(f"energy per read: array {e * 1e15:.4g} fJ (exact; Tellegen error {report['tellegen_error']:.1e}), "
              f"periphery {report['periphery']['total_j'] * 1e15:.4g} fJ (models); "
              f"{report['array_efficiency']['fj_per_mac']:.4g} fJ/MAC array, "
              f"{report['total_efficiency']['tops_per_w']:.4g} TOPS/W with periphery; wrote {args.energy}")
    return 0


def add_settle(sub) -> None:
    """Register ``xbar settle``."""
    p = sub.add_parser("settle", help="step response of a crossbar with its capacitances; settling time",
                       description="Switch the row voltages on at t = 0 and integrate the circuit with its wire, "
                                   "junction and sense capacitances (native fixed-step transient, one "
                                   "factorization) until every column current stays within the band around its "
                                   "DC value; report each column's settling time. --backend ngspice also runs "
                                   "ngspice .tran over the same time for comparison.")
    add_crossbar_options(p)
    p.add_argument("--inputs", help="row voltages, first row of a CSV/NPY file (default: random up to --v-read)")
    p.add_argument("--v-read", type=read_volt, default=0.1, help="largest random row voltage in volt (default 0.1)")
    p.add_argument("--dt", type=positive, help="time step in s (default: the analytic Elmore delay / 20)")
    p.add_argument("--method", choices=("be", "trap"), default="be",
                   help="backward Euler (default; reports settling late by about dt / (2 tau), measured +1..3 %%, "
                        "stated with each run) or trapezoidal (no lag, but rings on modes faster than --dt)")
    p.add_argument("--band", type=positive,
                   help="band as a fraction of the largest column current (default: half an LSB of --adc-bits)")
    p.add_argument("--max-steps", type=integer(1), default=200000,
                   help="give up after this many steps (default 200000)")
    p.add_argument("--backend", choices=("native", "ngspice"), default="native",
                   help="ngspice: also run ngspice .tran and compare final values and settling times; "
                        "exit 1 when they disagree (default native)")
    add_timeout(p, "3600 s")
    p.add_argument("-o", "--output", help="waveforms: .npz (times, currents, ngspice's if run) or .csv")
    p.add_argument("--plot", metavar="STEM", help="write the step response as STEM.png and STEM.svg")
    p.add_argument("--json", metavar="FILE", help="write the settling summary as JSON")
    p.set_defaults(func=run_settle)


def run_settle(args) -> int:
    """Run ``xbar settle``; returns the exit status."""
    import io

    import numpy as np

    from xbar.util.atomic import atomic_open
    from xbar.array.circuit import build_circuit
    from xbar.util.errors import ParameterError
    from xbar.analysis.readout import array_settling
    if args.dt is not None and (args.dt <= 0 or not np.isfinite(args.dt)):
        raise ParameterError(f"--dt must be a finite time > 0 s, got {args.dt!r}")
    if args.max_steps < 1:
        raise ParameterError(f"--max-steps must be >= 1, got {args.max_steps}")
    distinct_outputs(("-o", args.output), ("--json", args.json), ("--plot", args.plot and f"{args.plot}.png"),
                     ("--plot", args.plot and f"{args.plot}.svg"))
    xbar = crossbar_from_args(args)
    circuit = build_circuit(xbar)
    if circuit.nonlinear:
        raise ParameterError("settle models linear junctions only (the transient solver, no access transistors); "
                             "drop --vh (or the device file's v_half_volt) and the access transistor")
    rows = xbar.shape[0]
    x = (load_array(args.inputs, "inputs")[0] if args.inputs
         else np.random.default_rng(args.seed + 1).uniform(0.0, args.v_read, rows))
    periphery = options_from_args(args).periphery()
    w, summary = array_settling(circuit, x, args.dt, args.band, periphery.adc_bits, args.method, args.max_steps)
    from xbar.analysis.periphery import describe
    summary["periphery"] = describe(periphery)
    summary["tia_settle_model_s"] = periphery.tia_settle_s()
    final = np.asarray(summary["final_a"])
    spice = None
    if args.backend == "ngspice":
        from xbar.analysis.readout import ngspice_settling
        spice, summary["ngspice"] = ngspice_settling(circuit, x, w, summary,
                                                     timeout_s=spice_options(args).get("timeout_s"))
    if args.output:
        if args.output.endswith(".npz"):
            extra = {} if spice is None else {"ngspice_times_s": spice.times_s, "ngspice_currents_a": spice.currents}
            buf = io.BytesIO()
            np.savez(buf, times_s=w.times_s, currents_a=w.currents, final_a=final, **extra)
            with atomic_open(args.output) as f:
                f.write(buf.getvalue())
        else:
            from xbar.util.csv_safe import write_array
            buf = io.StringIO()
            header = "time_s," + ",".join(f"i{j}_a" for j in range(len(final)))
            write_array(buf, np.column_stack([w.times_s, w.currents]), header)
            with atomic_open(args.output, "w") as f:
                f.write(buf.getvalue())
    if args.plot:
        from xbar.analysis import plots
        plots.save(plots.step_response(w.times_s, w.currents, final, summary["band_a"],
                                       np.asarray(summary["settling_s"]),
                                       other=None if spice is None else (spice.times_s, spice.currents)), args.plot)
    if args.json:
        write_json(args.json, summary)
    worst = summary["worst_s"]
    print(f"settled: worst column {worst * 1e9:.4g} ns to within {summary['band_a']:.3g} A "
          f"({summary['band_rel']:.3g} of full scale), {summary['steps']} steps of {summary['dt_s']:.3g} s "
          f"({args.method}); analytic estimate (Elmore delay x ln(1/band)) "
          f"{summary['elmore_settle_estimate_s'] * 1e9:.4g} ns")
    if args.method == "be":
        print(f"backward Euler reports settling late by about dt / (2 tau) = {summary['be_lag_rel']:.1%} "
              "(measured +0.8..2.9 %; --method trap has no lag but can ring on modes faster than --dt)")
    if spice is not None:
        _print_comparison(summary["ngspice"])
    return 0


def _print_comparison(c: dict) -> None:
    from xbar.util.errors import SolverError
    print(f"ngspice .tran: final values {c['other_final_rel']:.2e} of full scale from the DC solution (native "
          f"{c['final_rel']:.2e}); worst settling {c['other_worst_s'] * 1e9:.4g} ns (native {c['worst_s'] * 1e9:.4g}"
          f" ns, {c['worst_diff_rel']:.2%} apart; columns at most {c['settling_diff_rel']:.2%}); after the first "
          "time constant "
          f"({c['tau_s'] * 1e12:.3g} ps) the traces differ by {c['error_after_tau_rel']:.2e} of full scale, after "
          f"three {c['error_after_3tau_rel']:.2e}: " + ("agree" if c["agree"] else "DISAGREE"))
    if not c["agree"]:
        raise SolverError("native and ngspice step responses disagree: " + "; ".join(c["problems"]))
