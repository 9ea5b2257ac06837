"""Sweep speedup: 2 local workers against 1 (and a 2-process Dask LocalCluster) on a CPU-bound sweep.

The sweep is the ``variation`` experiment (Monte Carlo of device variation: every
trial builds and factorizes a crossbar circuit) over 16 seeds. Each configuration
runs end to end into a fresh results file, pool start-up included; rounds interleave
the configurations and the best of ``--repeat`` rounds counts. BLAS is pinned to one
thread per worker (run_sweep does that for its local workers; the environment below
covers the Dask workers).

    nice python benchmarks/bench_sweep.py [--points 16] [--size 64] [--trials 20] [--repeat 2]
"""

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from contextlib import ExitStack  # noqa: E402
from pathlib import Path  # noqa: E402

from xbar.sweeps.grid import Grid, plan
from xbar.sweeps.run import run_sweep


def busy_cpu_s() -> float:
    """CPU seconds all processes on the machine have used since boot (/proc/stat, idle and iowait excluded)."""
    ticks = [int(v) for v in open("/proc/stat").readline().split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    """CPU seconds of this process and its reaped children (the local pool's workers once it shuts down)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run_once(sweep, path: Path, **how) -> tuple[float, float]:
    """Wall time in seconds of one complete run into a fresh results file, and the cores that
    other processes kept busy meanwhile (local pools only: Dask's workers are not reaped until the end)."""
    busy, own, start = busy_cpu_s(), own_cpu_s(), time.perf_counter()
    summary = run_sweep(sweep, path, quiet=True, **how)
    seconds = time.perf_counter() - start
    assert summary.finished == len(sweep.points) and not summary.failures
    others = (busy_cpu_s() - busy - (own_cpu_s() - own)) / seconds
    return seconds, others if "workers" in how else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=16, help="sweep points (seeds), default 16")
    parser.add_argument("--size", type=int, default=64, help="array rows = cols, default 64")
    parser.add_argument("--trials", type=int, default=20, help="variation draws per point, default 20")
    parser.add_argument("--repeat", type=int, default=2, help="rounds over all configurations, best counts")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster row")
    args = parser.parse_args()

    sweep = plan(Grid("variation", {"seed": tuple(range(args.points)), "rows": (args.size,),
                                    "cols": (args.size,), "trials": (args.trials,)}))
    configs = {"local, 1 worker": {"workers": 1}, "local, 2 workers": {"workers": 2}}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        if not args.no_dask:
            from dask.distributed import LocalCluster

            cluster = stack.enter_context(LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                                       dashboard_address=None))
            configs["Dask LocalCluster, 2 processes"] = {"scheduler": cluster.scheduler_address}
        best = dict.fromkeys(configs, (float("inf"), float("nan")))
        runs = 0
        for _ in range(args.repeat):  # rounds interleave the configurations, so a burst of load hits all alike
            for name, how in configs.items():
                runs += 1
                best[name] = min(best[name], run_once(sweep, Path(tmp) / f"run{runs}.jsonl", **how))

    base = best["local, 1 worker"][0]
    print(f"CPU-bound sweep: experiment 'variation', {args.points} points ({args.size}x{args.size} array, "
          f"{args.trials} circuit solves each), best of {args.repeat}; {os.cpu_count()} CPUs")
    print()
    print("| executor | wall s | points/s | speedup over 1 worker | other processes' load (cores) |")
    print("|---|---:|---:|---:|---:|")
    for name, (seconds, others) in best.items():
        shown = "n/a" if others != others else f"{others:.2f}"
        print(f"| {name} | {seconds:.2f} | {args.points / seconds:.2f} | {base / seconds:.2f}x | {shown} |")


if __name__ == "__main__":
    main()
