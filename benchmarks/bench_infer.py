"""Whole-network analog inference benchmark (MNIST / Fashion-MNIST, 784x128x10, full test sets).

1. End to end: the 10,000-image MNIST test set through the network on 1 ohm wires
   (default 128x128 tiles, 3-cell devices at 1.9 nm, TIA sensing): circuits,
   effective matrices, both inference chains, per-layer errors and IR drop.
   Reports seconds and peak memory; the network comes from the training cache
   (its training time is reported separately when it had to be trained).
2. The per-image cost of ngspice on the same tiles (one image; ngspice 39 has no
   KLU), extrapolated to the test set.
3. Accuracy tables for 1-, 2- and 3-cell devices at 0, 1 and 5 ohm per segment, also after
   digital calibration (gain and offset per output, fitted on 256 training images).

Needs the IDX files in $XBAR_DATA_DIR (e.g. ../shared/data).

    python benchmarks/bench_infer.py [--datasets mnist,fashion] [--skip-ngspice]
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import time


from xbar.network.datasets import load
from xbar.experiments.circuits import compare
from xbar.network.circuit_spec import CircuitSpec
from xbar.network.analog import AnalogNetwork
from xbar.network.mlp import sigmoid, trained
from xbar.solvers import NgspiceSolver


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def ngspice_per_image(net, data, spec) -> tuple[float, str]:
    """Seconds ngspice needs for one image through every tile (each tile class timed once)."""
    analog_net = AnalogNetwork(net, spec)
    a = data.x_test[:1]
    total, notes = 0.0, []
    for l, tiles in enumerate(analog_net.tiles):
        v = analog_net.row_voltages(a)
        timed: dict[tuple, float] = {}
        for tile in tiles:
            shape = tile.states.shape
            if shape not in timed:
                t = time.perf_counter()
                NgspiceSolver(analog_net.circuit(tile)).solve(v[:, tile.rows[0]:tile.rows[1]])
                timed[shape] = time.perf_counter() - t
                notes.append(f"layer {l} tile {shape[0]}x{shape[1]}: {timed[shape]:.1f} s")
            total += timed[shape]
        a = sigmoid(analog_net.pre_activation(l, a))
    return total, "; ".join(notes)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="mnist,fashion")
    ap.add_argument("--skip-ngspice", action="store_true")
    args = ap.parse_args(argv)
    base = CircuitSpec(n_cells=3, thickness_nm=1.9, wire_ohm=1.0)

    t = time.perf_counter()
    net = trained("mnist", seed=0, progress=True)
    t_train = time.perf_counter() - t
    t = time.perf_counter()
    data = load("mnist")
    rec = compare(net, data, base)
    t_e2e = time.perf_counter() - t
    print("## End to end: MNIST test set, 784x128x10, 1 ohm wires, 128x128 tiles, 3 cells at 1.9 nm\n")
    print("| images | seconds (data + circuits + inference + report numbers) | peak memory (GiB) "
          "| training (s, 0 if cached) | full precision | ideal quantized | analog | agreement |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {rec['n_test']} | {t_e2e:.1f} | {peak_gib():.2f} | {t_train:.0f} "
          f"| {100 * rec['accuracy_full_precision']:.2f} | {100 * rec['accuracy_ideal_quantized']:.2f} "
          f"| {100 * rec['accuracy_analog']:.2f} | {100 * rec['top1_agreement']:.2f} |\n", flush=True)

    if not args.skip_ngspice:
        per, notes = ngspice_per_image(net, data, base)
        print(f"ngspice per image: {per:.0f} s ({notes}); 10,000 images: {per * 1e4 / 3600:.0f} h, "
              f"{per * 1e4 / t_e2e:.0f}x the native end-to-end time\n", flush=True)

    for name in args.datasets.split(","):
        net = trained(name, seed=0, progress=True)
        data = load(name)
        print(f"## {name}: accuracy (%) over the full test set, 128x128 tiles, 1.9 nm, TIA\n")
        print("| cells | wire ohm | full precision | paper-method quantized | ideal quantized | analog "
              "| agreement | layer-0 RMS rel. err. | worst IR drop (% of V_read) | analog, calibrated "
              "| agreement, calibrated |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for cells in (1, 2, 3):
            for wire in (0.0, 1.0, 5.0):
                spec = dataclasses.replace(base, n_cells=cells, wire_ohm=wire)
                r = compare(net, data, spec)
                c = compare(net, data, dataclasses.replace(spec, calibration_images=256))
                print(f"| {cells} | {wire:g} | {100 * r['accuracy_full_precision']:.2f} "
                      f"| {100 * r['accuracy_paper_quantized']:.2f} | {100 * r['accuracy_ideal_quantized']:.2f} "
                      f"| {100 * r['accuracy_analog']:.2f} | {100 * r['top1_agreement']:.2f} "
                      f"| {r['layers'][0]['rms_rel']:.3f} | {100 * max(s['worst_rel'] for s in r['ir_drop']):.1f} "
                      f"| {100 * c['accuracy_analog']:.2f} | {100 * c['top1_agreement']:.2f} |",
                      flush=True)
        print()
    print(f"peak memory: {peak_gib():.2f} GiB")


if __name__ == "__main__":
    sys.exit(main())
