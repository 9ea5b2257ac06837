"""Non-linear (bias-dependent TMR) reads: Newton cost per vector, and MNIST on non-linear tiles.

1. Seconds per input vector on a 128x128 and a 784x128 array (3-cell devices at 1.9 nm,
   1 ohm wires, TIA), V_h = 0.5 V, at V_read 0.1 and 0.5 V, with random inputs in
   [0, V_read]: Newton (`solve`, node voltages; iterations) and the chord iteration
   (`solve_batch`, currents only; back-substitutions); set-ups (circuit, zero-bias
   factorizations; the chord's dense transfers) apart.
2. MNIST test images through the 784x128x10 network on non-linear 128x128 tiles
   (V_h 0.5 V, 1 ohm wires, V_read 0.1 V) end to end, as `xbar infer --vh 0.5` runs them
   (`compare`: circuits, solves, accuracy, per-layer errors, IR drop), on a cold cache.

   With ``--workers 1,2`` the non-linear network runs on this process, then with each layer's
   tiles as tasks on 2 local processes (``xbar infer --vh 0.5 --workers 2``); CPU seconds count
   every process.

3. With ``--tile``: one first-layer tile of that network (rows 256-383) and its first 256 MNIST
   row-voltage vectors, CPU seconds of its parts: set-up, chord per vector, IR-drop record; and
   how far the chord's currents are from Newton's at tol 1e-15 (first 6 vectors).

    python benchmarks/bench_nonlinear.py [--images 1000,10000] [--linear-too] [--batch 256]
        [--workers 1,2] [--skip-network | --skip-arrays] [--tile]
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np

from xbar.array.circuit import build_circuit
from xbar.array.crossbar import Crossbar
from xbar.network.datasets import load
from xbar.device.library import library_device
from xbar.experiments.circuits import compare
from xbar.network.analog import AnalogNetwork, tile_ir_drop
from xbar.network.circuit_spec import CircuitSpec
from xbar.network.mlp import trained
from xbar.solvers import NewtonSolver


def per_vector(rows: int, cols: int, v_read: float, batch: int) -> dict:
    rng = np.random.default_rng(0)
    xb = Crossbar(library_device(thickness_nm=1.9, n_cells=3, v_half_volt=0.5), rng.integers(0, 4, (rows, cols)),
                  row_wire_ohm=1.0, col_wire_ohm=1.0)
    t0 = time.perf_counter()
    solver = NewtonSolver(build_circuit(xb))
    solver.cholesky  # noqa: B018 - the zero-bias factorizations belong to the set-up
    setup = time.perf_counter() - t0
    x = rng.uniform(0, v_read, (batch, rows))
    newton_batch = min(batch, 32)
    t0 = time.perf_counter()
    solver.solve(x[:newton_batch])
    newton = time.perf_counter() - t0
    t0 = time.perf_counter()
    solver.solve_batch(x[:1])  # the chord's dense transfers
    chord_setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    sol = solver.solve_batch(x)
    chord = time.perf_counter() - t0
    return dict(shape=f"{rows}x{cols}", v_read=v_read, setup_s=setup, chord_setup_s=chord_setup,
                newton_ms=1e3 * newton / newton_batch,
                newton=f"{solver.iterations.min()}..{solver.iterations.max()}",
                chord_ms=1e3 * chord / batch, chord_solves=sol.solver["back_substitutions_per_vector"],
                fallback=sol.solver["newton_vectors"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=lambda t: [int(v) for v in t.split(",")], default=[1000],
                    help="comma list of test-set sizes, e.g. 1000,10000")
    ap.add_argument("--linear-too", action="store_true", help="also time the same images on linear tiles")
    ap.add_argument("--batch", type=int, default=256, help="input vectors per array in part 1")
    ap.add_argument("--workers", type=lambda t: [int(v) for v in t.split(",")], default=[1],
                    help="comma list of process counts for the non-linear network runs (1: this process; "
                         "default 1)")
    ap.add_argument("--skip-network", action="store_true")
    ap.add_argument("--skip-arrays", action="store_true", help="only the network part")
    ap.add_argument("--tile", action="store_true", help="only the parts of one network tile")
    args = ap.parse_args()
    print(f"load {os.getloadavg()[0]:.2f}")
    if args.tile:
        tile_parts()
        return
    if not args.skip_arrays:
        arrays(args.batch)
    if args.skip_network:
        return
    network(args.images, args.linear_too, args.workers)


def arrays(batch: int) -> None:
    print("| array | V_read (V) | set-up (s) | Newton iterations | Newton ms per vector | chord set-up (s) "
          "| chord back-substitutions per vector | chord ms per vector | to Newton |")
    print("|---|---|---|---|---|---|---|---|---|")
    for rows, cols in ((128, 128), (784, 128)):
        for v_read in (0.1, 0.5):
            r = per_vector(rows, cols, v_read, batch)
            print(f"| {r['shape']} | {v_read:g} | {r['setup_s']:.2f} | {r['newton']} | {r['newton_ms']:.1f} | "
                  f"{r['chord_setup_s']:.2f} | {r['chord_solves']:.2f} | {r['chord_ms']:.2f} | {r['fallback']} |",
                  flush=True)


def tile_parts() -> None:
    """CPU seconds of one first-layer tile's set-up, chord per vector and IR-drop record (256 MNIST vectors)."""
    spec = CircuitSpec(n_cells=3, thickness_nm=1.9, wire_ohm=1.0, v_read=0.1, v_half_volt=0.5)
    net = AnalogNetwork(trained("mnist", seed=0), spec)
    tile = net.tiles[0][4]
    x = net.row_voltages(load("mnist").x_test[:256], 0)[:, tile.rows[0]:tile.rows[1]]
    circuit = net.circuit(tile)
    t0 = time.process_time()
    solver = NewtonSolver(circuit)
    solver.solve_batch(x[:1])
    setup = time.process_time() - t0
    t0 = time.process_time()
    sol = solver.solve_batch(x)
    chord = (time.process_time() - t0) / len(x)
    t0 = time.process_time()
    tile_ir_drop(circuit, x[:16], solver)
    ir = time.process_time() - t0
    exact = NewtonSolver(circuit, tol=1e-15).solve(x[:6]).currents
    err = (np.abs(sol.currents[:6] - exact).max(axis=1) / np.abs(exact).max(axis=1)).max()
    print(f"tile {tile.index}: set-up {setup:.3f} s, chord {1e3 * chord:.2f} ms per vector "
          f"({sol.solver['back_substitutions_per_vector']:.2f} back-substitutions, {err:.1e} off Newton at "
          f"1e-15), IR-drop record {ir:.3f} s, load {os.getloadavg()[0]:.2f}")


def cpu_s() -> float:
    """CPU seconds of this process and of every child process reaped so far (the workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def network(images: list[int], linear_too: bool, workers: list[int]) -> None:
    net = trained("mnist", seed=0)
    data = load("mnist")
    print("| images | junctions | processes | end to end (s) | CPU (s) | analog accuracy | ideal quantized "
          "| layer RMS errors | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in images:
        for vh in ((None, 0.5) if linear_too else (0.5,)):
            spec = CircuitSpec(n_cells=3, thickness_nm=1.9, wire_ohm=1.0, v_read=0.1, v_half_volt=vh)
            for procs in (workers if vh is not None else [1]):
                tasks = dict(workers=procs) if procs > 1 else None
                c0, t0 = cpu_s(), time.perf_counter()
                rec = compare(net, data, spec, n_test=n, tasks=tasks)
                seconds, cpu = time.perf_counter() - t0, cpu_s() - c0
                print(f"| {n} | {'linear' if vh is None else f'V_h {vh:g} V'} | {procs} | {seconds:.1f} | {cpu:.1f} | "
                      f"{100 * rec['accuracy_analog']:.2f} % | {100 * rec['accuracy_ideal_quantized']:.2f} % | "
                      + ", ".join(f"{e['rms_rel']:.4f}" for e in rec["layers"]) + f" | {os.getloadavg()[0]:.2f} |",
                      flush=True)


if __name__ == "__main__":
    main()
