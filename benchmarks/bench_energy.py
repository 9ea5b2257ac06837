"""Energy, latency and noise benchmark (issue 8).

1. The paper's 784x128x10 MNIST network at the default circuit (3-cell devices at
   1.9 nm, 1 ohm wires, 128x128 tiles, TIA, V_read 0.1 V, 30 ns reads) over the
   whole test set: energy per image with its breakdown, fJ/MAC, TOPS/W, settling
   and noise per layer; beside it the analytic (NeuroSim-style) estimate
   sum V^2 G t_read of the same arrays without IR drop.
2. Settling time of a 128x128 tile and of a 784x128 untiled array (full-scale
   step), with the analytic Elmore estimate, and the native transient's wall time;
   ngspice (.tran, KLU) over the same window beside it.

    XBAR_DATA_DIR=/path/to/data python benchmarks/bench_energy.py [--images N] [--skip-ngspice]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from xbar.array.circuit import build_circuit
from xbar.array.crossbar import Crossbar
from xbar.network.datasets import load
from xbar.device.library import library_device
from xbar.network.circuit_spec import CircuitSpec
from xbar.network.analog import AnalogNetwork
from xbar.network.mlp import trained
from xbar.network.energy import network_read_report
from xbar.analysis.readout import array_settling, elmore_estimate
from xbar.solvers.ngspice import ngspice_version
from xbar.solvers.ngspice_tran import ngspice_transient


def analytic_energy(net: AnalogNetwork, x: np.ndarray, t_read: float) -> float:
    """NeuroSim-style array read energy per image: sum_ij V_i^2 G_ij t_read on every tile, no IR drop."""
    from xbar.network.mlp import sigmoid
    a, total = x, 0.0
    for l, tiles in enumerate(net.tiles):
        v = net.row_voltages(a)
        for tile in tiles:
            vt = v[:, tile.rows[0]:tile.rows[1]]
            total += float(((vt ** 2).mean(axis=0) @ net.ideal_matrix(tile).sum(axis=1))) * t_read
        z = net.pre_activation(l, a)
        a = z if l == len(net.tiles) - 1 else sigmoid(z)
    return total


def network_table(images: int | None) -> None:
    data = load("mnist", os.environ.get("XBAR_DATA_DIR"))
    net = trained("mnist", seed=0, data_dir=os.environ.get("XBAR_DATA_DIR"), progress=False)
    spec = CircuitSpec()
    analog = AnalogNetwork(net, spec)
    x = data.x_test[:images]
    t = time.perf_counter()
    r = network_read_report(analog, x)
    seconds = time.perf_counter() - t
    est = analytic_energy(analog, x, r["t_read_s"])
    print(f"## MNIST 784x128x10, default circuit, {len(x)} test images ({seconds:.0f} s, load {os.getloadavg()[0]:.1f})\n")
    print("| quantity | value |\n|---|---|")
    print(f"| array energy per image (exact) | {r['array_j_per_image'] * 1e12:.4g} pJ |")
    print(f"| periphery per image (models) | {r['periphery_j_per_image'] * 1e12:.4g} pJ |")
    print(f"| array fJ/MAC, TOPS/W | {r['array_fj_per_mac']:.4g}, {r['array_tops_per_w']:.4g} |")
    print(f"| with periphery fJ/MAC, TOPS/W | {r['fj_per_mac']:.4g}, {r['tops_per_w']:.4g} |")
    print(f"| MACs per image (weights and biases) | {r['macs_per_image']} |")
    print(f"| Tellegen balance (worst tile) | {r['tellegen_error']:.1e} |")
    print(f"| analytic sum V^2 G t_read (no IR drop) | {est * 1e12:.4g} pJ: exact is "
          f"{100 * (r['array_j_per_image'] / est - 1):+.2f} % from it |")
    print("\n| part | fJ per image |\n|---|---|")
    for k, v in r["array_parts_j_per_image"].items():
        print(f"| {k} | {v * 1e15:.4g} |")
    for k, v in r["periphery_parts_j_per_image"].items():
        print(f"| periphery {k} (model) | {v * 1e15:.4g} |")
    print("\n| layer | tiles | array pJ | settling ns (largest tile) | Elmore estimate ns | noise rms (of full scale) |")
    print("|---|---|---|---|---|---|")
    for e in r["layers"]:
        print(f"| {e['layer']} | {e['tiles']} | {e['array_j'] * 1e12:.4g} | {e['settling_s'] * 1e9:.3g} "
              f"| {e['elmore_settle_estimate_s'] * 1e9:.3g} | {e['noise_rms_rel']:.2e} |")


def settling_table(skip_ngspice: bool) -> None:
    print(f"\n## Settling of a full-scale step (load {os.getloadavg()[0]:.1f})\n")
    print("| array | settling (ns) | Elmore estimate (ns) | steps x dt | native wall (s) | ngspice .tran (s) |")
    print("|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    version = "" if skip_ngspice else ngspice_version()
    for rows, cols in ((128, 128), (784, 128)):
        xb = Crossbar(library_device(thickness_nm=1.9, n_cells=3), rng.integers(0, 4, (rows, cols)), row_wire_ohm=1.0, col_wire_ohm=1.0)
        circuit = build_circuit(xb)
        x = np.full(rows, 0.1)
        t = time.perf_counter()
        w, s = array_settling(circuit, x)
        native_s = time.perf_counter() - t
        spice = "skipped"
        if not skip_ngspice and rows == 128:
            t = time.perf_counter()
            ngspice_transient(circuit, x, float(w.times_s[-1]), s["dt_s"], s["dt_s"], method="be")
            spice = f"{time.perf_counter() - t:.1f} ({version})"
        print(f"| {rows}x{cols} | {s['worst_s'] * 1e9:.3g} | {s['elmore_settle_estimate_s'] * 1e9:.3g} "
              f"(Elmore {elmore_estimate(circuit) * 1e9:.3g}) | {s['steps']} x {s['dt_s'] * 1e12:.3g} ps "
              f"| {native_s:.1f} | {spice} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, help="test images (default all 10,000)")
    ap.add_argument("--skip-ngspice", action="store_true")
    ap.add_argument("--skip-network", action="store_true")
    args = ap.parse_args()
    if not args.skip_network:
        network_table(args.images)
    settling_table(args.skip_ngspice)


if __name__ == "__main__":
    main()
