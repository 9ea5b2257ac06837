"""Sweep speedup: 2 local workers against 1 (and a 2-process Dask LocalCluster) on a CPU-bound sweep.

The sweep is the ``variation`` experiment (Monte Carlo of device variation: every
trial builds and factorizes a crossbar circuit) over 16 seeds. Each configuration
runs end to end into a fresh results file, pool start-up included; the best of
``--repeat`` runs counts. BLAS is pinned to one thread per worker (run_sweep does
that for its local workers; the environment below covers the Dask workers).

    nice python benchmarks/bench_sweep.py [--points 16] [--size 64] [--trials 10] [--repeat 2]
"""

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from xbar.sweep import Grid, plan, run_sweep  # noqa: E402


def timed(sweep, directory: Path, repeat: int, **how) -> float:
    """Best wall time in seconds of ``repeat`` complete runs into fresh results files."""
    best = float("inf")
    for k in range(repeat):
        path = directory / f"run-{len(list(directory.iterdir()))}.jsonl"
        start = time.perf_counter()
        summary = run_sweep(sweep, path, quiet=True, **how)
        best = min(best, time.perf_counter() - start)
        assert summary.finished == len(sweep.points) and not summary.failures
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=16, help="sweep points (seeds), default 16")
    parser.add_argument("--size", type=int, default=64, help="array rows = cols, default 64")
    parser.add_argument("--trials", type=int, default=10, help="variation draws per point, default 10")
    parser.add_argument("--repeat", type=int, default=2, help="runs per configuration, best counts")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster row")
    args = parser.parse_args()

    sweep = plan(Grid("variation", {"seed": tuple(range(args.points)), "rows": (args.size,),
                                    "cols": (args.size,), "trials": (args.trials,)}))
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows.append(("local, 1 worker", timed(sweep, tmp, args.repeat, workers=1)))
        rows.append(("local, 2 workers", timed(sweep, tmp, args.repeat, workers=2)))
        if not args.no_dask:
            from dask.distributed import LocalCluster

            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster:
                rows.append(("Dask LocalCluster, 2 processes",
                             timed(sweep, tmp, args.repeat, scheduler=cluster.scheduler_address)))
    load_after = os.getloadavg()

    base = rows[0][1]
    print(f"CPU-bound sweep: experiment 'variation', {args.points} points ({args.size}x{args.size} array, "
          f"{args.trials} circuit solves each), best of {args.repeat}; {os.cpu_count()} CPUs; "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print()
    print("| executor | wall s | points/s | speedup over 1 worker |")
    print("|---|---:|---:|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} | {args.points / seconds:.2f} | {base / seconds:.2f}x |")


if __name__ == "__main__":
    main()
