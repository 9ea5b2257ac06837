"""Large tiles: build, check, one exact solve, factorization and the effective matrix, with peak memory.

Each array (3-cell devices at 1.9 nm, random states, 1 ohm wire segments,
virtual-ground sensing) runs in its own process so that its peak memory is its
own. Phases, in order: build the circuit; check it (scipy.sparse.csgraph); set
up the native solver (the nodal matrices); the effective matrix (for a plain
crossbar of 2 or 3 cells times a power of two per side: batched nested
dissection on dense Schur complements, :mod:`xbar.solvers.grid`; else the
SuperLU factorization and its Schur complement onto the ports), so "check to
matrix" is check + set-up + matrix, its peak the peak after the matrix; then
one exact solve of one input vector (on a large tile not yet factorized:
wire-preconditioned CG to a relative residual of 1e-14) and the SuperLU
factorization (with its nested-dissection order). Each phase gives wall and CPU
seconds (the machine is shared) and the peak memory after it. The residual of
the solve and the deviation of M from it are printed.

    python benchmarks/bench_large.py [--sizes 1024x1024,2048x512]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def phase(out: dict, name: str, fn):
    """Run fn(), record its wall and CPU seconds and the peak memory after it under ``name``."""
    t, c = time.perf_counter(), cpu_s()
    result = fn()
    out[name] = (time.perf_counter() - t, cpu_s() - c, peak_gib())
    return result


def run_one(rows: int, cols: int) -> dict:
    from xbar.array.circuit import build_circuit, check_circuit
    from xbar.array.crossbar import Crossbar
    from xbar.device.library import library_device
    from xbar.solvers import NativeSolver

    rng = np.random.default_rng(0)
    xb = Crossbar(library_device(thickness_nm=1.9, n_cells=3), rng.integers(0, 4, (rows, cols)), row_wire_ohm=1.0, col_wire_ohm=1.0)
    x = rng.uniform(0, 0.1, (1, rows))
    out = dict(array=f"{rows}x{cols}")
    circuit = phase(out, "build", lambda: build_circuit(xb, check=False))
    out["nodes"] = circuit.n_nodes
    phase(out, "check", lambda: check_circuit(circuit))
    solver = phase(out, "setup", lambda: NativeSolver(circuit))
    # Check to matrix: the effective matrix straight after set-up (grid.py for plain crossbars, else the
    # factorization and its Schur complement), so its time and peak are its own.
    m = phase(out, "matrix", solver.effective_matrix)
    out["factorized"] = solver._factor is not None
    sol = phase(out, "solve", lambda: solver.solve(x))  # wire-preconditioned CG unless factorized
    out["cg_used"] = solver._factor is None
    rhs = -(solver._lap_fs @ x[0])
    v = sol.node_voltages[0][solver.free_nodes]
    out["residual"] = float(np.abs(solver.free_matrix() @ v - rhs).max() / np.abs(rhs).max())
    phase(out, "factor", lambda: solver.factor)
    out["matrix_vs_solve"] = float(np.abs(x @ m.T - sol.currents).max() / np.abs(sol.currents).max())
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1024x1024,2048x512")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        rows, cols = (int(v) for v in args.one.split("x"))
        print(json.dumps(run_one(rows, cols)))
        return 0
    print("Each phase: wall s / CPU s (user + system of the process) / peak GiB after it.\n")
    print("| array | nodes | build | check | set-up | effective matrix | check to matrix | one exact solve (CG) "
          "| residual | factorization | M vs CG solve | load |")
    print("|" + "---|" * 12)
    for size in args.sizes.split(","):
        load = os.getloadavg()[0]
        proc = subprocess.run([sys.executable, __file__, "--one", size], capture_output=True, text=True)
        if proc.returncode:
            print(f"| {size} | failed: {proc.stderr.strip().splitlines()[-1]} |")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        cell = lambda k: "{:.2f} / {:.2f} / {:.2f}".format(*r[k])  # noqa: E731
        solve = cell("solve") + ("" if r["cg_used"] else " (factor)")
        total = sum(r[k][0] for k in ("check", "setup", "matrix")), sum(r[k][1] for k in ("check", "setup", "matrix"))
        matrix = cell("matrix") + (" (factor)" if r["factorized"] else "")
        print(f"| {r['array']} | {r['nodes']} | {cell('build')} | {cell('check')} | {cell('setup')} | {matrix} "
              f"| {total[0]:.2f} / {total[1]:.2f} / {r['matrix'][2]:.2f} | {solve} | {r['residual']:.1e} "
              f"| {cell('factor')} | {r['matrix_vs_solve']:.1e} | {load:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
