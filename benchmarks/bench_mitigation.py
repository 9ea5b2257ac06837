"""Mitigations on the paper's MLP (784x128x10, MNIST), 1 ohm wires, 128x128 tiles, 3-cell devices at 1.9 nm.

For each problem the project measured (IR drop, faults, variation, non-linear reads), the analog accuracy
without mitigation, with each useful mitigation, and the ideal quantized (intended) accuracy; the issue's
floor beside it. Prints a Markdown table (and writes it with --out).

    nice -n 10 python benchmarks/bench_mitigation.py [--n-test 10000] [--nonlinear-n-test 1000]
    python benchmarks/bench_mitigation.py --model lenet-mnist.onnx   # the same table for an imported network

``--model`` takes any network ``xbar infer --model`` reads (ONNX or npz), e.g. the LeNet-5 that
``benchmarks/train_lenet.py`` trains and exports; its convolutions run on the tiles as im2col.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

from xbar.experiments.circuits import compare
from xbar.network.circuit_spec import CircuitSpec
from xbar.network.datasets import load
from xbar.network.mlp import default_cache_dir, trained
from xbar.network.models import load_model

BASE = CircuitSpec(n_cells=3, thickness_nm=1.9, wire_ohm=1.0, tile_rows=128, tile_cols=128)
TYPICAL_X2 = dict(device_ra_sigma=0.10, cell_ra_sigma=0.06, device_tmr_sigma=0.06, cell_tmr_sigma=0.04)

#: (problem, spec changes, floor in %, the mitigations to try: (label, mitigation, calibration images)).
CASES = (
    ("IR drop only", {}, "within 0.3 of ideal",
     (("none", "none", 0), ("calibration", "none", 1000), ("compensate", "compensate=3", 0),
      ("compensate + calibration", "compensate=3", 1000))),
    ("1 % faulty cells, all kinds", dict(fault_rate=0.01), ">= 93",
     (("none", "none", 0), ("aware + disconnect + compensate", "compensate=3,aware,disconnect", 0),
      ("... + calibration", "compensate=3,aware,disconnect", 1000))),
    ("0.5 % shorts", dict(fault_rate=0.005, fault_kind="short"), ">= 94",
     (("none", "none", 0), ("disconnect + compensate", "compensate=3,disconnect", 0),
      ("... + calibration", "compensate=3,disconnect", 1000))),
    ("typical variation x2", TYPICAL_X2, ">= 92",
     (("none", "none", 0), ("aware + compensate", "compensate=3,aware", 0),
      ("... + calibration", "compensate=3,aware", 1000))),
    ("V_read 0.3 V, V_h 0.3 V", dict(v_read=0.3, v_half_volt=0.3), ">= 93",
     (("none", "none", 0), ("calibration", "none", 1000), ("compensate + calibration", "compensate=3", 1000),
      ("operating point + compensate + calibration", "compensate=3,operating-point", 1000))),
)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--n-test", type=int, default=10000)
    p.add_argument("--nonlinear-n-test", type=int, default=1000)
    p.add_argument("--model", help="an ONNX or npz network instead of the paper's MLP (trained by xbar, seed 0)")
    p.add_argument("--only", help="run only the cases whose name contains this text")
    p.add_argument("--out", help="also write the table to this Markdown file")
    args = p.parse_args(argv)
    data = load(args.dataset)
    net = load_model(args.model) if args.model else trained(args.dataset, seed=0)
    lines = ["| problem | mitigation | images | ideal quantized (%) | analog (%) | gap (points) | floor | cost | s |",
             "|---|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    for problem, changes, floor, tries in CASES:
        if args.only and args.only not in problem:
            continue
        n = args.nonlinear_n_test if "v_half_volt" in changes else args.n_test
        for label, mitigation, images in tries:
            spec = replace(BASE, **changes, mitigation=mitigation, calibration_images=images)
            t0 = time.perf_counter()
            rec = compare(net, data, spec, n_test=n, cache_dir=default_cache_dir())
            cost = rec.get("mitigation") or {}
            what = ", ".join(f"{k} {cost[k]}" for k in ("tile_factorizations", "devices_disconnected",
                                                        "shorted_devices", "spare_pairs_needed") if cost.get(k))
            line = (f"| {problem} | {label}{f' ({images} images)' if images else ''} | {rec['n_test']} "
                    f"| {100 * rec['accuracy_ideal_quantized']:.2f} | {100 * rec['accuracy_analog']:.2f} "
                    f"| {100 * (rec['accuracy_ideal_quantized'] - rec['accuracy_analog']):.2f} | {floor} "
                    f"| {what or '-'} | {time.perf_counter() - t0:.0f} |")
            lines.append(line)
            print(line, flush=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
