"""SPICE benchmark: ngspice 39 (no KLU), ngspice 46 with KLU (subprocess), pyspice (libngspice) and native.

For each array (3-cell devices at 1.9 nm, random states, log-normal variation
0.05, 1 ohm wire segments, virtual-ground sensing) it prints one Markdown row
per backend: the cost of a single operating point (netlist writing, parsing,
solving: the whole call), the cost per input vector in one batch (wall, and
CPU time of xbar and ngspice together: steadier on a shared machine), and the
largest difference to the native solver relative to the largest native current.
Rows that would take too long are skipped: ``--max-single-cells`` and
``--max-batch-cells`` cap the array size (rows x cols) per backend kind, and a
smaller ``--big-batch`` is used above ``--max-batch-cells``.

The ngspice 39 column needs a second ngspice executable; Debian bookworm's can be
unpacked beside the system one without replacing it:

    apt-get download ngspice=39.3+ds-1 && dpkg -x ngspice_39.3+ds-1_amd64.deb /tmp/ng39
    python benchmarks/bench_spice.py --ngspice39 /tmp/ng39/usr/bin/ngspice

    python benchmarks/bench_spice.py [--sizes 32x32,64x64] [--batch 100] [--strategies]

``--strategies`` instead compares batch strategies at 128x128 on ngspice 46:
the ``.dc`` sweep xbar uses, ``alter`` + ``op`` in one ``.control`` loop, and
one process per vector.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from xbar.array.circuit import build_circuit
from xbar.array.crossbar import Crossbar
from xbar.device.variation import Variation
from xbar.device.library import library_device
from xbar.util.errors import XbarError
from xbar.array.netlist import format_number, netlist_text, output_vectors, read_raw
from xbar.solvers import make_solver
from xbar.solvers.ngspice import ngspice_build

SIZES = "32x32,64x64,128x128,256x256,784x256"


def crossbar(rows: int, cols: int) -> Crossbar:
    rng = np.random.default_rng(0)
    return Crossbar(library_device(thickness_nm=1.9, n_cells=3), rng.integers(0, 4, (rows, cols)),
                    row_wire_ohm=1.0, col_wire_ohm=1.0, variation=Variation(0.05, 1))


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (ngspice), user + system."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(backend: str, circuit, x, **options):
    """(solution, wall seconds, CPU seconds) of one solve, solver setup included."""
    start, cpu = time.perf_counter(), cpu_seconds()
    sol = make_solver(circuit, backend, **options).solve(x)
    return sol, time.perf_counter() - start, cpu_seconds() - cpu


def rel(a, b) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


def table(args) -> None:
    kinds = [("native", "native", {})]
    if args.ngspice39:
        kinds.append(("ngspice 39 (subprocess)", "ngspice", {"executable": args.ngspice39, "timeout_s": 3600}))
    build = ngspice_build()
    kinds += [(f"{build['version']}{' KLU' if build['klu_compiled'] else ''} (subprocess)", "ngspice", {}),
              (f"{build['version']}{' KLU' if build['klu_compiled'] else ''} (pyspice, shared)", "pyspice", {})]
    load = os.getloadavg()
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} CPUs\n")
    print("| array | backend | single op (s) | batch | per vector in batch (s) | CPU per vector (s) "
          "| max rel diff to native |")
    print("|---|---|---|---|---|---|---|")
    for size in args.sizes.split(","):
        rows, cols = map(int, size.split("x"))
        circuit = build_circuit(crossbar(rows, cols))
        cells = rows * cols
        batch = args.batch if cells <= args.max_batch_cells else args.big_batch
        x = np.random.default_rng(1).uniform(0.0, 0.1, (batch, rows))
        native = make_solver(circuit, "native").solve(x).currents
        for label, backend, options in kinds:
            is_39 = "executable" in options
            max_single = args.max_single_cells_39 if is_39 else args.max_single_cells
            single = per_vector = cpu = "not run"
            diff = []
            try:
                if cells <= max_single:
                    sol, t, _ = timed(backend, circuit, x[:1], **options)
                    single, diff = f"{t:.2f}", diff + [rel(sol.currents, native[:1])]
                if batch > 1 and cells <= (args.max_batch_cells_39 if is_39 else max_single):
                    sol, t, c = timed(backend, circuit, x, **options)
                    per_vector, cpu, diff = f"{t / batch:.3f}", f"{c / batch:.3f}", diff + [rel(sol.currents, native)]
            except XbarError as exc:
                single = f"failed: {exc}"
            worst = f"{max(diff):.1e}" if diff else "-"
            print(f"| {rows}x{cols} | {label} | {single} | {batch} | {per_vector} | {cpu} | {worst} |", flush=True)
    load = os.getloadavg()
    print(f"\nload average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def strategies(args) -> None:
    """Per-vector cost of batch strategies on one 128x128 array (ngspice 46)."""
    circuit = build_circuit(crossbar(128, 128))
    n = args.strategy_batch
    x = np.random.default_rng(1).uniform(0.0, 0.1, (n, 128))
    native = make_solver(circuit, "native").solve(x).currents
    exe = ngspice_build()["path"]
    outs = output_vectors(circuit)
    print(f"load average at start: {os.getloadavg()[0]:.2f}; batch of {n} at 128x128\n")
    print("| strategy | per vector (s) | max rel diff to native |")
    print("|---|---|---|")
    sol, t, _ = timed("ngspice", circuit, x)
    print(f"| .dc sweep of TEMP, pwl(temper) row sources (xbar's) | {t / n:.3f} | {rel(sol.currents, native):.1e} |")
    with tempfile.TemporaryDirectory(prefix="xbar-bench-") as tmp:
        lines = [".control", "set filetype=binary"]
        for k, row in enumerate(x):
            if k:
                lines += [f"alter V{i} dc = {format_number(v)}" for i, v in enumerate(row)]
            lines += ["op", f"write {tmp}/a{k}.raw {' '.join(outs)}", "destroy all"]
        text = (netlist_text(circuit, inputs=x[0], analysis=False) + f".save {' '.join(outs)}\n"
                + "\n".join(lines + ["quit", ".endc", ".end"]) + "\n")
        Path(tmp, "a.cir").write_text(text)
        start = time.perf_counter()
        subprocess.run([exe, "-b", f"{tmp}/a.cir"], capture_output=True, check=True)
        t = time.perf_counter() - start
        got = np.array([[read_raw(f"{tmp}/a{k}.raw")[-1][o][0] for o in outs] for k in range(n)])
        print(f"| alter + op in one .control loop (.save outputs, destroy all) | {t / n:.3f} | "
              f"{rel(got, native):.1e} |")
        start = time.perf_counter()
        for k in range(min(n, 3)):
            make_solver(circuit, "ngspice").solve(x[k:k + 1])
        t = (time.perf_counter() - start) / min(n, 3)
        print(f"| one process per vector (.op) | {t:.3f} | - |")
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default=SIZES, help=f"comma list of ROWSxCOLS (default {SIZES})")
    p.add_argument("--batch", type=int, default=100, help="input vectors per batch (default 100)")
    p.add_argument("--big-batch", type=int, default=10, help="batch above --max-batch-cells (default 10)")
    p.add_argument("--max-batch-cells", type=int, default=128 * 128, help="largest array for the full batch")
    p.add_argument("--max-single-cells", type=int, default=784 * 256, help="largest array for SPICE")
    p.add_argument("--ngspice39", help="path of an ngspice 39 executable (no KLU) for its column")
    p.add_argument("--max-single-cells-39", type=int, default=128 * 128, help="largest array for ngspice 39")
    p.add_argument("--max-batch-cells-39", type=int, default=64 * 64, help="largest array for ngspice 39 batches")
    p.add_argument("--strategies", action="store_true", help="compare batch strategies at 128x128 instead")
    p.add_argument("--strategy-batch", type=int, default=20, help="batch of --strategies (default 20)")
    args = p.parse_args()
    strategies(args) if args.strategies else table(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
