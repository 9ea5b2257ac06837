"""Access transistors and temperature on MNIST: shorts, temperature corners and cost.

1. Per input vector on a 128x128 tile (3-cell devices at 1.9 nm, 1 ohm wires, TIA, random
   inputs in [0, 0.1 V]): the chord iteration through access-transistor stacks
   (`StackNewtonSolver.solve_batch`) against the non-linear-junction path (V_h 0.5 V,
   `NewtonSolver.solve_batch`); set-ups apart. Wall and CPU seconds.
2. The paper's 784x128x10 MLP on MNIST (1 ohm wires, 128x128 tiles, V_read 0.1 V) without
   transistors at -40..125 C: accuracy, read energy and settling time per image
   (:func:`xbar.network.energy.network_read_report`, on 100 images), one figure.
3. The same network without and with access transistors (the built-in model, typical corner,
   word line at 1.0 V and at a current-limiting 0.6 V): accuracy with no faults and at 0.25,
   0.5 and 1 % shorted (500 ohm) cells, on ``--short-images`` test images.
4. ``--images`` test images through the tiles with access transistors, end to end (wall and CPU).

    nice python benchmarks/bench_access.py [--images 1000] [--short-images 300] [--skip-arrays]
        [--skip-temperature] [--skip-shorts] [--skip-timing] [--figure benchmarks/figures/temperature_mnist]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from xbar.array.circuit import build_circuit
from xbar.array.crossbar import Crossbar
from xbar.device.access import AccessTransistor
from xbar.device.library import library_device
from xbar.experiments.circuits import compare
from xbar.network.analog import AnalogNetwork
from xbar.network.circuit_spec import CircuitSpec
from xbar.network.datasets import load
from xbar.network.energy import network_read_report
from xbar.network.mlp import trained
from xbar.solvers import make_solver


def clocks():
    return time.perf_counter(), time.process_time()


def since(start):
    wall, cpu = clocks()
    return wall - start[0], cpu - start[1]


def per_vector(batch: int) -> None:
    print("| path | set-up wall (s) | ms per vector wall | ms per vector CPU | steps per vector | to Newton |")
    print("|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    states = rng.integers(0, 4, (128, 128))
    x = rng.uniform(0, 0.1, (batch, 128))
    for label, vh, access in (("access transistors (linear junctions)", np.inf, AccessTransistor()),
                              ("non-linear junctions, V_h 0.5 V", 0.5, None)):
        xb = Crossbar(library_device(thickness_nm=1.9, n_cells=3, v_half_volt=vh), states, row_wire_ohm=1.0,
                      col_wire_ohm=1.0, access=access)
        t = clocks()
        solver = make_solver(build_circuit(xb))
        solver.solve_batch(x[:1])  # factorization and the chord's dense transfers
        setup, _ = since(t)
        t = clocks()
        sol = solver.solve_batch(x)
        wall, cpu = since(t)
        print(f"| {label} | {setup:.2f} | {1e3 * wall / batch:.2f} | {1e3 * cpu / batch:.2f} | "
              f"{sol.solver['back_substitutions_per_vector']:.2f} | {sol.solver['newton_vectors']} |", flush=True)


def timing(net, data, images: int) -> None:
    print("| images | tiles | analog (%) | ideal quantized (%) | wall (s) | CPU (s) | load |")
    print("|---|---|---|---|---|---|---|")
    spec = CircuitSpec(n_cells=3, thickness_nm=1.9, wire_ohm=1.0, v_read=0.1, access=AccessTransistor())
    t = clocks()
    rec = compare(net, data, spec, n_test=images)
    wall, cpu = since(t)
    print(f"| {images} | access transistors, V_WL 1 V | {100 * rec['accuracy_analog']:.2f} | "
          f"{100 * rec['accuracy_ideal_quantized']:.2f} | {wall:.1f} | {cpu:.1f} | {os.getloadavg()[0]:.1f} |",
          flush=True)


def shorts(net, data, images: int) -> None:
    print("| shorted cells | access transistor | analog (%) | ideal quantized (%) | wall (s) | CPU (s) | load |")
    print("|---|---|---|---|---|---|---|")
    variants = (("none", None), ("V_WL 1.0 V (fully on)", AccessTransistor()),
                ("V_WL 0.6 V (current-limiting)", AccessTransistor(wordline_volt=0.6)))
    for rate in (0.0, 0.0025, 0.005, 0.01):
        for label, access in variants:
            spec = CircuitSpec(n_cells=3, thickness_nm=1.9, wire_ohm=1.0, v_read=0.1, fault_rate=rate,
                               fault_kind="short", access=access)
            t = clocks()
            rec = compare(net, data, spec, n_test=images)
            wall, cpu = since(t)
            print(f"| {100 * rate:g} % | {label} | {100 * rec['accuracy_analog']:.2f} | "
                  f"{100 * rec['accuracy_ideal_quantized']:.2f} | {wall:.1f} | {cpu:.1f} | "
                  f"{os.getloadavg()[0]:.1f} |", flush=True)


def temperature(net, data, images: int, figure: str | None) -> None:
    temps = (-40.0, 0.0, 27.0, 85.0, 125.0)
    print("| T (C) | analog (%) | array read energy (pJ/image) | with periphery (pJ/image) | settling, both layers (ns) "
          "| wall (s) |")
    print("|---|---|---|---|---|---|")
    rows = []
    for temp in temps:
        spec = CircuitSpec(n_cells=3, thickness_nm=1.9, wire_ohm=1.0, v_read=0.1, temperature_c=temp)
        t = clocks()
        rec = compare(net, data, spec, n_test=images)
        report = network_read_report(AnalogNetwork(net, spec), data.x_test[:min(images, 100)], noise=False)
        wall, _ = since(t)
        array_pj = 1e12 * report["array_j_per_image"]
        total_pj = array_pj + 1e12 * report["periphery_j_per_image"]
        settle_ns = 1e9 * sum(layer["settling_s"] for layer in report["layers"])
        rows.append((temp, 100 * rec["accuracy_analog"], array_pj, total_pj, settle_ns))
        print(f"| {temp:g} | {rows[-1][1]:.2f} | {array_pj:.2f} | {total_pj:.2f} | {settle_ns:.3f} | {wall:.1f} |",
              flush=True)
    if figure:
        plot(rows, figure)


def plot(rows, stem: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    t, acc, arr, tot, settle = (np.array(c) for c in zip(*rows))
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    for ax, y, label in zip(axes, (acc, arr, settle), ("MNIST accuracy (%)", "array read energy (pJ/image)",
                                                       "settling time (ns)")):
        ax.plot(t, y, "o-")
        ax.set_xlabel("temperature (C)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    fig.suptitle("784x128x10 MLP on 3-cell SOT-MTJ tiles, 1 ohm wires, V_read 0.1 V")
    fig.tight_layout()
    for ext in ("png", "svg"):
        fig.savefig(f"{stem}.{ext}", dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=1000, help="test images of the timing and temperature runs")
    ap.add_argument("--short-images", type=int, default=300, help="test images per point of the shorts table")
    ap.add_argument("--skip-timing", action="store_true")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--skip-arrays", action="store_true")
    ap.add_argument("--skip-shorts", action="store_true")
    ap.add_argument("--skip-temperature", action="store_true")
    ap.add_argument("--figure", default="benchmarks/figures/temperature_mnist")
    args = ap.parse_args()
    print(f"load {os.getloadavg()[0]:.2f}", flush=True)
    if not args.skip_arrays:
        per_vector(args.batch)
    if args.skip_shorts and args.skip_temperature and args.skip_timing:
        return
    net = trained("mnist", seed=0)
    data = load("mnist")
    if not args.skip_temperature:
        temperature(net, data, args.images, args.figure)
    if not args.skip_shorts:
        shorts(net, data, args.short_images)
    if not args.skip_timing:
        timing(net, data, args.images)


if __name__ == "__main__":
    main()
