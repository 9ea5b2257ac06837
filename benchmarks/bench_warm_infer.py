"""Warm ``xbar infer``: the whole command, end to end, once its caches are filled.

Runs ``xbar infer --dataset mnist --study none`` (10,000 test images, default
circuit) once to fill the caches (trained network, effective matrices, IR-drop
numbers), then ``--repeat`` more times, and prints each run's wall time, its CPU
time (user + system, from the child's rusage) and the load average before it.
The best wall time is the result; the CPU time shows what the command itself
costs when other jobs share the cores.

    python benchmarks/bench_warm_infer.py [--repeat 3] [--cache DIR] [--dataset mnist]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time


def run_once(cmd: list[str], env: dict) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--cache", help="XBAR_CACHE_DIR to use (default: $XBAR_CACHE_DIR, else a fresh one)")
    args = ap.parse_args(argv)
    env = dict(os.environ)
    if args.cache:
        env["XBAR_CACHE_DIR"] = args.cache
    env.setdefault("XBAR_CACHE_DIR", tempfile.mkdtemp(prefix="xbar-warm-"))
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "xbar.cli", "infer", "--dataset", args.dataset, "--study", "none",
               "--out", out, "--quiet"]
        cold, cold_cpu = run_once(cmd, env)
        print(f"cold run (fills the caches): {cold:.1f} s wall, {cold_cpu:.1f} s CPU\n")
        print("| run | wall (s) | CPU user+sys (s) | load before |")
        print("|---|---|---|---|")
        walls = []
        for k in range(args.repeat):
            load = os.getloadavg()[0]
            wall, cpu = run_once(cmd, env)
            walls.append(wall)
            print(f"| {k + 1} | {wall:.2f} | {cpu:.2f} | {load:.1f} |", flush=True)
        print(f"\nbest warm: {min(walls):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
