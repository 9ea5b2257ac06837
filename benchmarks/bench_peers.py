"""xbar, badcrossbar and CrossSim side by side on the same plain crossbars: times, ratios and accuracy.

The circuit: one library MTJ per cell (1.9 nm, random P/AP states) between a row
and a column wire of 1 or 5 ohm segments, ideal row sources, virtual-ground
sensing. badcrossbar and CrossSim get each device's exact conductance. Each
regime runs the peers interleaved (xbar, badcrossbar, CrossSim, xbar, ...) and
reports the best of ``--repeat`` rounds, so a load change on the shared machine
hits all of them alike; the ratio columns are peer time / xbar time (> 1: xbar
is faster). Accuracy is each answer's largest deviation from xbar's, relative to
the largest current.

* ``xbar``: the public ``xbar.solve(crossbar, inputs)`` (it picks its route; the
  route is printed);
* ``badcrossbar``: ``badcrossbar.compute`` with all vectors in one call
  (installed with ``pip install --no-deps badcrossbar==1.1.0``, benchmarks/README.md);
* ``CrossSim``: its default parasitic solver (``NoninterleavedInputSourceArray``
  with the default ``CrossSimParameters``: relaxation 1, error threshold 1e-3 of
  the full-scale input, at most 100 iterations, under-relaxation retries), called
  directly on the conductance matrix, one call per batch: its own array model
  without the AnalogCore layers above it. CrossSim is not on the package index:
  unpack its release archive (3.2.0) and point ``--crosssim`` or
  ``$XBAR_CROSSSIM`` at the folder that holds ``simulator/`` (benchmarks/README.md).
  Without it its columns say "absent".

    python benchmarks/bench_peers.py [--one 64,128] [--batch 64,128,256,512] [--vectors 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings

import numpy as np

import xbar
from xbar.array.crossbar import Crossbar
from xbar.device.library import library_device
from xbar.solvers.lines import device_siemens


def plain_crossbar(n: int, wire_ohm: float, seed: int = 0) -> Crossbar:
    rng = np.random.default_rng(seed)
    return Crossbar(library_device(thickness_nm=1.9, n_cells=1), rng.integers(0, 2, (n, n)),
                    row_wire_ohm=wire_ohm, col_wire_ohm=wire_ohm)


def conductances(xb: Crossbar) -> np.ndarray:
    """Each device's exact conductance [rows, cols] in siemens (cell and channel in series)."""
    return device_siemens(xb.cell_resistance_ohm, xb.channel_segment_ohm(), xb.access_ohm)


def load_badcrossbar():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import badcrossbar
    except ImportError:
        return None
    logging.getLogger("badcrossbar").setLevel(logging.WARNING)
    return badcrossbar


def load_crosssim(path: str | None):
    """CrossSim's array model class, or None when it cannot be imported."""
    if path:
        sys.path.insert(0, os.path.abspath(path))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from simulator import CrossSimParameters
            from simulator.backend import ComputeBackend
            from simulator.circuits.array import NoninterleavedInputSourceArray
    except ImportError:
        return None
    ComputeBackend(use_gpu=False)
    return CrossSimParameters, NoninterleavedInputSourceArray


def peers(xb: Crossbar, x: np.ndarray, bad, crosssim) -> dict:
    """name -> function() returning sense currents [batch, cols] for inputs ``x`` [batch, rows]."""
    g = conductances(xb)
    out = {"xbar": lambda: xbar.solve(xb, x)}
    if bad is not None:
        def run_bad():
            sol = bad.compute(x.T, 1.0 / g, r_i_word_line=xb.row_wire_ohm, r_i_bit_line=xb.col_wire_ohm,
                              node_voltages=False, all_currents=False)
            return np.atleast_2d(sol.currents.output)
        out["badcrossbar"] = run_bad
    if crosssim is not None:
        params_cls, array_cls = crosssim
        params = params_cls()
        params.xbar.array.parasitics.enable = True
        params.xbar.array.parasitics.Rp_row = xb.row_wire_ohm
        params.xbar.array.parasitics.Rp_col = xb.col_wire_ohm
        params.simulation.hide_convergence_msg = True
        r_norm = params.xbar.device.Rmin  # CrossSim takes conductances and wires normalized by Rmin
        matrix = g.T * r_norm  # [outputs, inputs]
        full_scale = np.abs(x).max()  # its inputs are fractions of full scale, its threshold 1e-3 of that

        def run_crosssim():
            vec = x[0] / full_scale if len(x) == 1 else x.T / full_scale
            i = array_cls(params).iterative_solve(matrix, vec)
            return np.atleast_2d(np.asarray(i).T) * full_scale / r_norm
        out["CrossSim"] = run_crosssim
    return out


def race(fns: dict, repeat: int) -> tuple[dict, dict]:
    """Best wall time of each function over ``repeat`` interleaved rounds, and each one's last result.

    A peer that raises (CrossSim gives up when its relaxation cannot converge) is dropped, its result
    the error's text."""
    best, result = {}, {}
    for _ in range(repeat):
        for name, fn in fns.items():
            if isinstance(result.get(name), str):
                continue
            t = time.perf_counter()
            try:
                result[name] = fn()
            except Exception as exc:  # noqa: BLE001  (a peer's failure is a result to print)
                if name == "xbar":
                    raise
                result[name] = f"failed: {type(exc).__name__}"
                continue
            best[name] = min(best.get(name, np.inf), time.perf_counter() - t)
    return best, result


def regime(title: str, sizes, batch: int, wires, repeat: int, bad, crosssim, crosssim_max: int) -> None:
    print(f"\n### {title}\n")
    print("| array | wire (ohm) | xbar route | xbar (ms) | badcrossbar (ms) | ratio | dev. | "
          "CrossSim (ms) | ratio | dev. | load |")
    print("|" + "---|" * 11)
    for n in sizes:
        for wire in wires:
            xb = plain_crossbar(n, wire)
            x = np.random.default_rng(n).uniform(0.0, 0.1, (batch, n))
            use_cs = crosssim if n * n * batch <= crosssim_max else None
            best, result = race(peers(xb, x, bad, use_cs), repeat)
            sol = result.pop("xbar")
            ref = sol.currents
            cells = [f"{n}x{n}", f"{wire:g}", sol.solver.get("route", "-"), f"{best['xbar'] * 1e3:.2f}"]
            for name in ("badcrossbar", "CrossSim"):
                if isinstance(result.get(name), str):
                    cells += [result[name], "-", "-"]
                elif name in result:
                    dev = np.abs(result[name] - ref).max() / np.abs(ref).max()
                    cells += [f"{best[name] * 1e3:.2f}", f"{best[name] / best['xbar']:.2f}", f"{dev:.1e}"]
                else:
                    absent = (bad if name == "badcrossbar" else crosssim) is None
                    cells += ["absent" if absent else "skipped", "-", "-"]
            cells.append(f"{os.getloadavg()[0]:.1f}")
            print("| " + " | ".join(cells) + " |", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--one", default="64,128,256", help="sizes for one input vector")
    ap.add_argument("--batch", default="64,128,256,512", help="sizes for --vectors input vectors")
    ap.add_argument("--vectors", type=int, default=100)
    ap.add_argument("--wires", default="1,5", help="wire segment resistances in ohm")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved rounds; the best of each is reported")
    ap.add_argument("--repeat-one", type=int, default=15, help="interleaved rounds for one vector")
    ap.add_argument("--crosssim", default=os.environ.get("XBAR_CROSSSIM"),
                    help="folder holding CrossSim's simulator/ package (default $XBAR_CROSSSIM)")
    ap.add_argument("--crosssim-max", type=int, default=256 * 256 * 100,
                    help="largest rows*cols*vectors given to CrossSim (it takes seconds per vector at 256x256)")
    args = ap.parse_args(argv)
    sizes = lambda text: [int(v) for v in text.split(",") if v]  # noqa: E731
    wires = [float(v) for v in args.wires.split(",")]
    bad, crosssim = load_badcrossbar(), load_crosssim(args.crosssim)
    print(f"badcrossbar: {'present' if bad else 'absent'}; CrossSim: {'present' if crosssim else 'absent'}; "
          f"load average at start {os.getloadavg()[0]:.1f}")
    if args.one:
        regime("One input vector", sizes(args.one), 1, wires, args.repeat_one, bad, crosssim, args.crosssim_max)
    if args.batch:
        regime(f"{args.vectors} input vectors", sizes(args.batch), args.vectors, wires, args.repeat, bad, crosssim,
               args.crosssim_max)
    return 0


if __name__ == "__main__":
    sys.exit(main())
