"""The SPICE cross-check of a whole network on one process and on a Dask cluster the benchmark starts.

MNIST test images through the 784x128x10 network on 128x128 tiles (3-cell devices at
1.9 nm, 1 ohm wires, TIA, V_read 0.1 V), every tile solved by ngspice (KLU), as
``xbar infer --backend ngspice --limit N`` solves them: first on this process, then with
each layer's tiles as tasks on a ``LocalCluster`` of 1, 2, ... worker processes (one
thread each). Prints wall seconds, CPU seconds of every process (this one, the workers
and their ngspice runs), and whether the logits equal the one-process run's exactly.

    python benchmarks/bench_spice_network.py [--images 100] [--workers 1,2] [--skip-serial] [--devices condensed]

``--devices condensed`` writes each device as its exact DC equivalent (``xbar infer --spice-devices
condensed``); the default writes every cell and channel segment (the devices' subcircuits).
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np

from xbar.network.analog import AnalogNetwork
from xbar.network.circuit_spec import CircuitSpec
from xbar.network.datasets import load
from xbar.network.mlp import trained


def cpu_s() -> float:
    """CPU seconds of this process and of every child (workers, ngspice) reaped so far."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(net, spec: CircuitSpec, x: np.ndarray, workers: int | None,
          devices: str = "full") -> tuple[np.ndarray, float, float, float, int]:
    """Logits, cluster start-up seconds, wall and CPU seconds of one ngspice pass, tile solves
    (workers None: this process; the CPU seconds include starting and closing the cluster)."""
    from dask.distributed import Client, LocalCluster

    analog = AnalogNetwork(net, spec)
    analog.spice_devices = devices
    c0 = cpu_s()
    if workers is None:
        t0 = time.perf_counter()
        logits, _, _ = analog.run(x, "ngspice")
        return logits, 0.0, time.perf_counter() - t0, cpu_s() - c0, len(analog.spice_runs)
    t0 = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.wait_for_workers(workers)
        start = time.perf_counter() - t0
        analog.use_workers(scheduler=client)
        t0 = time.perf_counter()
        logits, _, _ = analog.run(x, "ngspice")
        wall = time.perf_counter() - t0
    return logits, start, wall, cpu_s() - c0, len(analog.spice_runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--workers", type=lambda t: [int(v) for v in t.split(",")], default=[1, 2],
                    help="comma list of Dask worker counts")
    ap.add_argument("--skip-serial", action="store_true", help="no one-process run (no exactness check)")
    ap.add_argument("--devices", choices=("full", "condensed"), default="full",
                    help="ngspice netlists with every cell (full) or each device's DC equivalent (condensed)")
    args = ap.parse_args()
    net = trained("mnist", seed=0)
    x = load("mnist").x_test[:args.images]
    spec = CircuitSpec(n_cells=3, thickness_nm=1.9, wire_ohm=1.0, v_read=0.1)
    print(f"{args.images} MNIST images, 784x128x10 on 128x128 tiles, ngspice KLU, {args.devices} devices; "
          f"load {os.getloadavg()[0]:.2f}")
    print("| run | cluster start (s) | wall (s) | CPU, all processes (s) | tile solves | logits equal one process "
          "| load |")
    print("|---|---|---|---|---|---|---|")
    ref = None
    runs = ([None] if not args.skip_serial else []) + args.workers
    for workers in runs:
        logits, start, wall, cpu, solves = timed(net, spec, x, workers, args.devices)
        ref = logits if workers is None else ref
        same = "–" if ref is None or workers is None else ("yes" if np.array_equal(logits, ref) else "NO")
        name = "one process" if workers is None else f"Dask, {workers} worker{'s' if workers > 1 else ''}"
        print(f"| {name} | {start:.1f} | {wall:.1f} | {cpu:.1f} | {solves} | {same} | {os.getloadavg()[0]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
