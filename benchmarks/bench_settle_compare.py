"""settle's native-vs-ngspice comparison and the integration methods' settling-time lag (issue 18, item 6).

Per size and sense mode: the native worst settling time with backward Euler (the default) and the
trapezoidal rule against a tenfold finer trapezoidal step, ngspice .tran's (backward Euler too), the
comparison's numbers, and ngspice's wall time against the estimate shown while it runs.
Usage: PYTHONPATH=. python3 benchmarks/bench_settle_compare.py [sizes...]   (default 16 64)
"""

import sys
import time

import numpy as np

from xbar.analysis.readout import NGSPICE_TRAN_NODE_STEP_S, array_settling, ngspice_settling
from xbar.array.circuit import build_circuit
from xbar.array.crossbar import Crossbar
from xbar.device.library import library_device


def main(sizes):
    print("| size | sense | be worst (ps) | be late | trap vs dt/10 | ngspice worst (ps) | worst diff | columns diff | "
          "final (ngspice) | error after tau | after 3 tau | ngspice s (estimate) | agree |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        for sense in ("tia", "resistor"):
            states = np.random.default_rng(0).integers(0, 4, (n, n))
            c = build_circuit(Crossbar(library_device(thickness_nm=1.9, n_cells=3), states, row_wire_ohm=1.0,
                                       col_wire_ohm=1.0, sense=sense))
            x = np.random.default_rng(1).uniform(0.0, 0.1, n)
            w, s = array_settling(c, x, progress=False)
            _, trap = array_settling(c, x, method="trap", progress=False)
            _, fine = array_settling(c, x, dt_s=s["dt_s"] / 10, method="trap", progress=False)
            t0 = time.perf_counter()
            _, r = ngspice_settling(c, x, w, s, progress=False)
            spice_s = time.perf_counter() - t0
            nodes = c.n_nodes + c.cell_ohm.size
            estimate = NGSPICE_TRAN_NODE_STEP_S * nodes * np.ceil(w.times_s[-1] / s["dt_s"])
            print(f"| {n}x{n} | {sense} | {s['worst_s'] * 1e12:.4g} | {s['worst_s'] / fine['worst_s'] - 1:+.2%} (stated {s['be_lag_rel']:.1%}) | "
                  f"{trap['worst_s'] / fine['worst_s'] - 1:+.3%} | {r['other_worst_s'] * 1e12:.4g} | "
                  f"{r['worst_diff_rel']:.2%} | {r['settling_diff_rel']:.2%} | {r['other_final_rel']:.1e} | {r['error_after_tau_rel']:.1e} | "
                  f"{r['error_after_3tau_rel']:.1e} | {spice_s:.1f} ({estimate:.1f}) | {r['agree']} |", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [16, 64])
