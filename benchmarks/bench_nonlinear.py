"""Non-linear (bias-dependent TMR) reads: Newton cost per vector, and MNIST on non-linear tiles.

1. Newton iterations and seconds per input vector on a 128x128 and a 784x128 array
   (3-cell devices at 1.9 nm, 1 ohm wires, TIA), V_h = 0.5 V, at V_read 0.1 and 0.5 V,
   with random inputs in [0, V_read]; set-up (circuit and zero-bias factorization) apart.
2. MNIST test images through the 784x128x10 network on non-linear 128x128 tiles
   (V_h 0.5 V, 1 ohm wires, V_read 0.1 V) end to end, as `xbar infer --vh 0.5` runs them.

    python benchmarks/bench_nonlinear.py [--images 1000] [--batch 200] [--skip-network]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from xbar.circuit import build_circuit
from xbar.crossbar import Crossbar
from xbar.datasets import load
from xbar.devices import library_device
from xbar.experiments.circuits import compare
from xbar.inference import CircuitSpec
from xbar.network import trained
from xbar.solvers import NewtonSolver


def per_vector(rows: int, cols: int, v_read: float, batch: int) -> dict:
    rng = np.random.default_rng(0)
    xb = Crossbar(library_device(thickness_nm=1.9, n_cells=3, v_half_volt=0.5), rng.integers(0, 4, (rows, cols)),
                  row_wire_ohm=1.0, col_wire_ohm=1.0)
    t0 = time.perf_counter()
    solver = NewtonSolver(build_circuit(xb))
    setup = time.perf_counter() - t0
    x = rng.uniform(0, v_read, (batch, rows))
    t0 = time.perf_counter()
    solver.solve(x)
    seconds = time.perf_counter() - t0
    return dict(shape=f"{rows}x{cols}", v_read=v_read, setup_s=setup, ms_per_vector=1e3 * seconds / batch,
                newton=f"{solver.iterations.min()}..{solver.iterations.max()}",
                solves_per_vector=solver.inner_iterations / max(1, int(np.ceil(batch / max(
                    1, 4_000_000 // solver.circuit.n_nodes)))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=100, help="input vectors per array in part 1")
    ap.add_argument("--skip-network", action="store_true")
    args = ap.parse_args()
    print(f"load {os.getloadavg()[0]:.2f}")
    print("| array | V_read (V) | set-up (s) | Newton iterations | preconditioned solves per batch chunk "
          "| ms per vector |")
    print("|---|---|---|---|---|---|")
    for rows, cols in ((128, 128), (784, 128)):
        for v_read in (0.1, 0.5):
            r = per_vector(rows, cols, v_read, args.batch)
            print(f"| {r['shape']} | {v_read:g} | {r['setup_s']:.2f} | {r['newton']} | "
                  f"{r['solves_per_vector']:.0f} | {r['ms_per_vector']:.1f} |", flush=True)
    if args.skip_network:
        return
    net = trained("mnist", seed=0)
    data = load("mnist")
    spec = CircuitSpec(n_cells=3, thickness_nm=1.9, wire_ohm=1.0, v_read=0.1, v_half_volt=0.5)
    t0 = time.perf_counter()
    rec = compare(net, data, spec, n_test=args.images)
    seconds = time.perf_counter() - t0
    print(f"load {os.getloadavg()[0]:.2f}")
    print(f"MNIST, {args.images} test images on non-linear tiles (V_h 0.5 V, 1 ohm, V_read 0.1 V): "
          f"{seconds:.1f} s end to end; analog accuracy {100 * rec['accuracy_analog']:.2f} % "
          f"(ideal quantized {100 * rec['accuracy_ideal_quantized']:.2f} %), layer RMS errors "
          + ", ".join(f"{e['rms_rel']:.3e}" for e in rec["layers"]))


if __name__ == "__main__":
    main()
