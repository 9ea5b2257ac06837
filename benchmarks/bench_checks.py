"""What the answer checks (xbar.solvers.checks) cost: native solve and effective matrix with and without them.

    python benchmarks/bench_checks.py [--size 128] [--batch 16] [--repeat 5]

Each case is timed with the checks in place and with them replaced by no-ops, best of ``--repeat``;
then each check alone.
"""

import argparse
import time
from contextlib import contextmanager

import numpy as np

from xbar.array.circuit import build_circuit
from xbar.array.crossbar import Crossbar
from xbar.device.library import library_device
from xbar.device.variation import Variation
from xbar.solvers import checks
from xbar.solvers.native import NativeSolver

NAMES = ("check_currents", "check_node_voltages", "check_kcl", "check_matrix")


@contextmanager
def unchecked():
    saved = {n: getattr(checks, n) for n in NAMES}
    for n in NAMES:
        setattr(checks, n, lambda *a, **k: None)
    try:
        yield
    finally:
        for n, f in saved.items():
            setattr(checks, n, f)


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n = args.size
    circuit = build_circuit(Crossbar(library_device(thickness_nm=1.9, n_cells=3), rng.integers(0, 4, (n, n)),
                                     row_wire_ohm=1.0, col_wire_ohm=1.0, variation=Variation(0.05, 1)))
    x = rng.uniform(0, 0.1, (args.batch, n))
    solver = NativeSolver(circuit)
    solver.solve(x)  # factorize once
    cases = {"solve (node voltages, factorized)": lambda: solver.solve(x),
             "effective matrix (built from the factor)": lambda: (setattr(solver, "_matrix", None),
                                                                  solver.effective_matrix())}
    print(f"| case ({n}x{n}, batch {args.batch}) | with checks (s) | without (s) | cost |")
    print("|---|---|---|---|")
    for name, fn in cases.items():
        with_c = best(fn, args.repeat)
        with unchecked():
            without = best(fn, args.repeat)
        print(f"| {name} | {with_c:.4f} | {without:.4f} | {100 * (with_c / without - 1):+.1f} % |")
    v, m, g = solver.node_voltages(x), solver.effective_matrix(), solver._device_siemens()
    i = solver.solve(x).currents
    alone = {"check_node_voltages": lambda: checks.check_node_voltages(circuit, x, v, "bench"),
             "check_currents": lambda: checks.check_currents(circuit, x, i, "bench", device_siemens=g),
             "check_matrix": lambda: checks.check_matrix(circuit, m, "bench", device_siemens=g),
             "check_kcl (only past a 1e10 spread)": lambda: checks.check_kcl(circuit, v, solver.free_nodes,
                                                                             solver._branches, "bench")}
    print("\n| check alone | seconds |\n|---|---|")
    for name, fn in alone.items():
        print(f"| {name} | {best(fn, args.repeat):.5f} |")


if __name__ == "__main__":
    main()
