"""Memory estimate against measured peak: does xbar/resources.py refuse only the hopeless?

Each case runs in a fresh process (peak RSS from getrusage, minus the process's baseline after
imports) and is compared with :func:`xbar.util.resources.estimate_bytes`. Then the refusals the issue
lists are timed. Prints two Markdown tables.

    PYTHONPATH=$PWD python benchmarks/bench_memory.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

CASE = """
import json, resource, sys
import numpy as np
from xbar.array.crossbar import Crossbar
from xbar.device.library import library_device
from xbar.solvers import solve
rows, cols, batch, backend = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
states = np.random.default_rng(0).integers(0, 4, (rows, cols))
xb = Crossbar(library_device(thickness_nm=1.9, n_cells=3), states, row_wire_ohm=1.0, col_wire_ohm=1.0)
solve(xb, np.random.default_rng(1).uniform(0, 0.1, (batch, rows)), backend=backend)
print(json.dumps((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024))
"""

CASES = [(64, 64, 16, "native"), (128, 128, 16, "native"), (256, 256, 16, "native"),
         (128, 128, 1000, "native"), (8, 3000, 200, "native"), (256, 256, 16, "ideal")]

REFUSALS = [["--rows", "100000", "--cols", "100000"], ["--rows", "20000", "--cols", "20000"],
            ["--rows", "8", "--cols", "3000", "--random", "20000"]]


def main() -> None:
    from xbar.util.resources import available_bytes, estimate_bytes, human

    env = {**os.environ, "XBAR_MEMORY_LIMIT": "1T"}
    print(f"available memory: {human(available_bytes())}; load {os.getloadavg()[0]:.1f}\n")
    print("| array | batch | backend | measured peak | estimate | estimate / measured |")
    print("|---|---|---|---|---|---|")
    for rows, cols, batch, backend in CASES:
        out = subprocess.run([sys.executable, "-c", CASE, str(rows), str(cols), str(batch), backend],
                             capture_output=True, text=True, env=env, check=True)
        measured = json.loads(out.stdout)
        est = estimate_bytes(rows, cols, 3, batch, backend)
        print(f"| {rows}x{cols} | {batch} | {backend} | {human(measured)} | {human(est)} | {est / measured:.2f} |")
    print("\n| refused command | seconds | message |")
    print("|---|---|---|")
    for args in REFUSALS:
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "xbar.cli", "solve", *args], capture_output=True, text=True)
        seconds = time.perf_counter() - start
        print(f"| xbar solve {' '.join(args)} | {seconds:.2f} (incl. start-up) | {out.stderr.strip()} |")


if __name__ == "__main__":
    main()
