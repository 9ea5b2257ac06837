"""Programming benchmark: program-and-verify the paper's 784x128x10 MNIST network, then evaluate it.

For 3-cell devices at 1.6, 1.9, 2.2 and 2.6 nm (6 mT assisting field, 128x128
tiles, 1 ohm wires): every device of the mapped network (~200k) is programmed
from all-AP, and the full 10,000-image test set runs through the circuits as
programmed and as intended. Prints yield, stuck and broken devices, write
energy and time, accuracies, and the wall time per thickness (program +
both evaluations); the target is <= 2 minutes per thickness.

Needs the MNIST IDX files in $XBAR_DATA_DIR (e.g. ../shared/data); the trained
network comes from the training cache (trained first when missing).

    python benchmarks/bench_program.py [--thickness 1.6,1.9,2.2,2.6] [--cells 3] [--field 6]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from xbar.network.datasets import load
from xbar.experiments.programming import program_point
from xbar.network.circuit_spec import CircuitSpec
from xbar.network.mlp import trained
from xbar.device.switching import SwitchingParams


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--thickness", default="1.6,1.9,2.2,2.6")
    ap.add_argument("--cells", type=int, default=3)
    ap.add_argument("--field", type=float, default=6.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t = time.perf_counter()
    net = trained(args.dataset, seed=args.seed)
    data = load(args.dataset)
    print(f"network and data ready in {time.perf_counter() - t:.1f} s; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f} at start")
    print()
    print(f"| t (nm) | devices | yield | stuck | broken | pulses | write energy | write time | ideal q. | "
          f"intended | programmed | shorts isolated | program s | total s | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for thickness in (float(v) for v in args.thickness.split(",")):
        spec = CircuitSpec(n_cells=args.cells, thickness_nm=thickness)
        r = program_point(net, data, spec, SwitchingParams(field_mt=args.field), seed=args.seed)
        print(f"| {thickness:.1f} | {r['devices']} | {100 * r['yield_fraction']:.2f} % | {r['stuck']} | {r['broken']} "
              f"| {r['pulses']} | {r['energy_j'] * 1e3:.3f} mJ | {r['time_s']:.3f} s | "
              f"{100 * r['accuracy_ideal_quantized']:.2f} % | {100 * r['accuracy_intended']:.2f} % | "
              f"{100 * r['accuracy_programmed']:.2f} % | {100 * r['accuracy_without_shorts']:.2f} % | "
              f"{r['seconds_program']:.1f} | {r['seconds_total']:.1f} | "
              f"{os.getloadavg()[0]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
