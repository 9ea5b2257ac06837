"""Core speed benchmark: netlist writing, ngspice, the native solver and badcrossbar on the same arrays.

Prints a Markdown table. Each array holds 3-cell devices at 1.9 nm with random
states, 1 ohm wire segments and virtual-ground sensing. badcrossbar (if
installed without its pycairo dependency, see benchmarks/README.md) solves the
same circuit with each device replaced by its exact equivalent resistance, and
its answer is checked against the native solver's.

    python benchmarks/bench_core.py [--ngspice-max 16384] [--vectors 10000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import warnings

import numpy as np

from xbar.circuit import build_circuit
from xbar.crossbar import Crossbar
from xbar.devices import library_device
from xbar.errors import SolverError
from xbar.netlist import netlist_text
from xbar.solvers import NativeSolver, NgspiceSolver
from xbar.solvers.native import device_transfer
from xbar.solvers.ngspice import ngspice_version

SIZES = [(32, 32), (64, 64), (128, 128), (256, 256), (784, 128), (784, 256)]


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def badcrossbar_time(circuit, x, native_currents):
    """Seconds per vector and worst relative deviation from xbar, or None if badcrossbar is absent."""
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
    return dt / len(x), dev


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ngspice-max", type=int, default=128 * 128,
                    help="largest rows*cols to run in ngspice (ngspice 39 without KLU needs ~100 s at 128x128)")
    ap.add_argument("--ngspice-timeout", type=float, default=900.0)
    ap.add_argument("--vectors", type=int, default=10000)
    ap.add_argument("--bad-vectors", type=int, default=20, help="vectors to time badcrossbar with")
    ap.add_argument("--sizes", default=",".join(f"{r}x{c}" for r, c in SIZES))
    args = ap.parse_args(argv)
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    print(f"ngspice: {ngspice_version()} (.options klu is written; ngspice < 40 ignores it)\n")
    print("| array | nodes | netlist (s) | ngspice op (s) | native factor (s) | native per vector (ms) "
          "| effective matrix (s) | total 10k vectors, native (s) | badcrossbar per vector (ms) "
          "| badcrossbar 10k (s, est.) | speedup | max rel. diff badcrossbar |")
    print("|" + "---|" * 12)
    rng = np.random.default_rng(0)
    for rows, cols in sizes:
        xb = Crossbar(library_device(thickness_nm=1.9, n_cells=3), rng.integers(0, 4, (rows, cols)), row_wire_ohm=1.0, col_wire_ohm=1.0)
        x = rng.uniform(0, 0.1, (args.vectors, rows))
        t0 = time.perf_counter()
        circuit = build_circuit(xb)
        solver = NativeSolver(circuit)
        t_factor = time.perf_counter() - t0
        matrix, t_matrix = timed(solver.effective_matrix)
        currents, t_apply = timed(lambda: x @ matrix.T)
        total = t_factor + t_matrix + t_apply
        _, t_direct = timed(solver.solve, x[:50])
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
        bad = badcrossbar_time(circuit, x[:args.bad_vectors], currents[:args.bad_vectors])
        if bad:
            per, dev = bad
            bad_cols = f"{1e3 * per:.1f} | {per * 1e4:.0f} | {per * 1e4 / total:.0f}x | {dev:.1e}"
        else:
            bad_cols = "n/a | n/a | n/a | n/a"
        print(f"| {rows}x{cols} | {circuit.n_nodes} | {t_net:.3f} | {ngs} | {t_factor:.3f} "
              f"| {1e3 * t_direct / 50:.2f} | {t_matrix:.3f} | {total:.2f} | {bad_cols} |", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"\npeak memory: {peak:.2f} GiB")


if __name__ == "__main__":
    sys.exit(main())
