"""Core speed benchmark: netlist writing, ngspice, the native solver and badcrossbar on the same arrays.

Prints a Markdown table. Each array holds 3-cell devices at 1.9 nm with random
states, 1 ohm wire segments and virtual-ground sensing. badcrossbar (if
installed without its pycairo dependency, see benchmarks/README.md; it imports
without pycairo, only its plots need it) solves the same circuit with each
device replaced by its exact equivalent resistance, and its answer is checked
against the native solver's. badcrossbar factorizes once per call and solves all
right-hand sides of that call, so it gets the whole batch in one call (arrays up
to ``--bad-max`` cells); larger arrays get one call of ``--bad-vectors``
vectors, scaled to the batch (marked "est.").

Times are the best of ``--repeat`` runs (the machine is shared; the load
average is printed beside each row).

    python benchmarks/bench_core.py [--ngspice-max 16384] [--vectors 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import warnings

import numpy as np

from xbar.array.circuit import build_circuit, check_circuit
from xbar.array.crossbar import Crossbar
from xbar.device.library import library_device
from xbar.util.errors import SolverError
from xbar.array.netlist import netlist_text
from xbar.solvers import NativeSolver, NgspiceSolver
from xbar.solvers.native import device_transfer
from xbar.solvers.ngspice import ngspice_version

SIZES = [(32, 32), (64, 64), (128, 128), (256, 256), (784, 128), (784, 256)]


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def badcrossbar_time(circuit, x, native_currents):
    """Seconds for one badcrossbar call on all of ``x`` and its worst relative deviation from xbar, or None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import badcrossbar
    except ImportError:
        return None
    import logging
    logging.getLogger("badcrossbar").setLevel(logging.WARNING)
    g_eq, _ = device_transfer(circuit.cell_ohm, circuit.channel_segment_ohm)
    xb = circuit.crossbar
    sol, dt = timed(lambda: badcrossbar.compute(x.T, 1.0 / g_eq, r_i_word_line=xb.row_wire_ohm,
                                                r_i_bit_line=xb.col_wire_ohm, node_voltages=False,
                                                all_currents=False))
    out = np.atleast_2d(sol.currents.output)
    dev = np.abs(out - native_currents).max() / np.abs(native_currents).max()
    return dt, dev


def best_of(repeat, fn):
    """The best wall time of ``repeat`` calls of fn() -> (result, {phase: seconds}), phase by phase."""
    best = None
    for _ in range(repeat):
        out, times = fn()
        best = times if best is None else {k: min(v, best[k]) for k, v in times.items()}
    return out, best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ngspice-max", type=int, default=128 * 128,
                    help="largest rows*cols to run in ngspice (ngspice 39 without KLU needs ~100 s at 128x128)")
    ap.add_argument("--ngspice-timeout", type=float, default=900.0)
    ap.add_argument("--vectors", type=int, default=10000)
    ap.add_argument("--bad-max", type=int, default=128 * 128,
                    help="largest rows*cols for which badcrossbar gets the whole batch in one call")
    ap.add_argument("--bad-vectors", type=int, default=1000,
                    help="vectors of the one badcrossbar call on larger arrays (scaled to the batch)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per native measurement; the best is reported")
    ap.add_argument("--sizes", default=",".join(f"{r}x{c}" for r, c in SIZES))
    args = ap.parse_args(argv)
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    print(f"ngspice: {ngspice_version()} (.options klu is written; ngspice < 40 ignores it)\n")
    print(f"| array | nodes | netlist (s) | ngspice op (s) | build (s) | check (s) | native factor (s) "
          f"| native per vector (ms) | effective matrix (s) | total {args.vectors} vectors, native (s) | its CPU (s) "
          f"| check share | badcrossbar, one call (s) | speedup | max rel. diff badcrossbar | load |")
    print("|" + "---|" * 16)
    rng = np.random.default_rng(0)
    for rows, cols in sizes:
        xb = Crossbar(library_device(thickness_nm=1.9, n_cells=3), rng.integers(0, 4, (rows, cols)), row_wire_ohm=1.0, col_wire_ohm=1.0)
        x = rng.uniform(0, 0.1, (args.vectors, rows))
        load = os.getloadavg()[0]

        def native():
            t, cpu = {}, time.process_time()
            circuit, t["build"] = timed(build_circuit, xb, False)
            _, t["check"] = timed(check_circuit, circuit)
            def factored():
                solver = NativeSolver(circuit)
                solver.factor  # factorizes (on first use)
                return solver
            solver, t["factor"] = timed(factored)
            matrix, t["matrix"] = timed(solver.effective_matrix)
            currents, t["apply"] = timed(lambda: x @ matrix.T)
            t["cpu"] = time.process_time() - cpu
            return (circuit, solver, currents), t
        (circuit, solver, currents), t = best_of(args.repeat, native)
        total = sum(v for k, v in t.items() if k != "cpu")
        _, t_direct = best_of(args.repeat, lambda: (None, {"d": timed(solver.solve, x[:50])[1]}))
        t_direct = t_direct["d"]
        _, t_net = timed(netlist_text, circuit)
        if rows * cols <= args.ngspice_max:
            try:
                sp, t_sp = timed(NgspiceSolver(circuit, timeout_s=args.ngspice_timeout).solve, x[:1])
                assert np.abs(sp.currents - currents[:1]).max() <= 1e-9 * np.abs(currents[:1]).max()
                ngs = f"{t_sp:.2f}"
            except SolverError as exc:
                ngs = f"failed: {exc}"
        else:
            ngs = "not run"
        whole = rows * cols <= args.bad_max
        k = args.vectors if whole else min(args.bad_vectors, args.vectors)
        bad = badcrossbar_time(circuit, x[:k], currents[:k])
        if bad:
            t_bad, dev = bad
            t_bad_all = t_bad * args.vectors / k
            est = "" if whole else f" (est. from {k})"
            bad_cols = f"{t_bad_all:.1f}{est} | {t_bad_all / total:.0f}x | {dev:.1e}"
        else:
            bad_cols = "n/a | n/a | n/a"
        print(f"| {rows}x{cols} | {circuit.n_nodes} | {t_net:.3f} | {ngs} | {t['build']:.3f} | {t['check']:.3f} "
              f"| {t['factor']:.3f} | {1e3 * t_direct / 50:.2f} | {t['matrix']:.3f} | {total:.2f} | {t['cpu']:.2f} "
              f"| {100 * t['check'] / total:.1f} % | {bad_cols} | {load:.1f} |", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"\npeak memory: {peak:.2f} GiB")


if __name__ == "__main__":
    sys.exit(main())
