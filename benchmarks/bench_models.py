"""Imported networks on circuits: a CNN (e.g. LeNet-5 from train_lenet.py) and the paper's MLP under faults.

1. ``--model FILE`` (ONNX or .npz): full precision, ideal quantized and analog
   accuracy on the dataset's whole test set, with wall time and peak memory,
   at 0 and 1 ohm per wire segment (3-cell devices at 1.9 nm, 128x128 tiles).
2. The paper's MLP (trained by xbar) against the faulty-cell rate (0-5 %, all
   kinds evenly, and 1 % of each kind) and against variation (legacy sigma and
   the correlated typical spreads x 0-4), 1 ohm wires.

Needs the IDX files in $XBAR_DATA_DIR. Prints Markdown tables.

    python benchmarks/bench_models.py --model lenet-mnist.onnx [--dataset mnist] [--skip-mlp]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import sys
import time

from xbar.network.datasets import load
from xbar.device.variation import Variation
from xbar.experiments.circuits import compare
from xbar.network.circuit_spec import CircuitSpec
from xbar.network.models import load_model
from xbar.network.mlp import default_cache_dir, trained


def load_avg() -> str:
    return " / ".join(f"{v:.1f}" for v in os.getloadavg())


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def row(label: str, rec: dict, seconds: float | None = None) -> str:
    pct = lambda v: "–" if v is None else f"{100 * v:.2f}"  # noqa: E731
    cells = [label, pct(rec["accuracy_full_precision"]), pct(rec["accuracy_ideal_quantized"]),
             pct(rec["accuracy_analog"]), pct(rec["top1_agreement"])]
    if seconds is not None:
        cells += [f"{seconds:.1f}", f"{peak_gib():.2f}", load_avg()]
    return "| " + " | ".join(cells) + " |"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="ONNX or .npz network to benchmark (part 1)")
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--skip-mlp", action="store_true", help="skip part 2")
    args = p.parse_args(argv)
    data = load(args.dataset)
    cache = default_cache_dir()
    base = CircuitSpec(n_cells=3, thickness_nm=1.9, wire_ohm=1.0)
    if args.model:
        model = load_model(args.model)
        print(f"## {model.name} on {data.name} ({len(data.y_test)} test images)\n")
        print("| wires (ohm/segment) | full precision (%) | ideal quantized (%) | analog (%) | agreement (%) "
              "| seconds | peak GiB | load (1/5/15 min) |")
        print("|---|---|---|---|---|---|---|---|")
        for wire in (0.0, 1.0):
            t0 = time.perf_counter()
            rec = compare(model, data, dataclasses.replace(base, wire_ohm=wire), cache_dir=cache)
            print(row(f"{wire:g}", rec, time.perf_counter() - t0), flush=True)
    if not args.skip_mlp:
        net = trained(args.dataset)
        print(f"\n## The paper's MLP on {data.name}: faults and variation (1 ohm wires)\n")
        print("| point | full precision (%) | ideal quantized (%) | analog (%) | agreement (%) |")
        print("|---|---|---|---|---|")
        points = [(f"{100 * r:g} % faulty (all kinds)", dict(fault_rate=r)) for r in (0, 0.005, 0.01, 0.02, 0.05)]
        points += [(f"1 % {k}", dict(fault_rate=0.01, fault_kind=k)) for k in ("stuck_p", "stuck_ap", "open", "short")]
        points += [(f"sigma {s:g} (independent)", dict(sigma=s)) for s in (0.02, 0.05, 0.1, 0.2)]
        t = Variation.typical()
        points += [(f"{k:g} x typical correlated", dict(device_ra_sigma=k * t.device_ra_sigma,
                                                         cell_ra_sigma=k * t.cell_ra_sigma,
                                                         device_tmr_sigma=k * t.device_tmr_sigma,
                                                         cell_tmr_sigma=k * t.cell_tmr_sigma)) for k in (0.5, 1, 2, 4)]
        for label, kw in points:
            print(row(label, compare(net, data, dataclasses.replace(base, **kw), cache_dir=cache)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
