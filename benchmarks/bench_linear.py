"""Linear engines for the crossbar's nodal system, side by side: which one to use where.

Each engine runs in its own process (so its peak memory is its own) on the same
array: 3-cell devices at 1.9 nm with random states, 1 ohm wire segments,
virtual-ground sensing (L_FF is symmetric positive definite).

* ``superlu-mmd``: SuperLU with its minimum-degree ordering (xbar before issue 12);
  effective matrix by one solve per output in column chunks.
* ``superlu-nd``: SuperLU in xbar's geometric nested-dissection order with the
  ports last (xbar's engine now); effective matrix from the ports' Schur complement.
* ``cholmod``: sparse Cholesky from ``cholespy`` (CHOLMOD, its own ordering);
  effective matrix by one solve per output in column chunks.
* ``pcg``: conjugate gradients preconditioned by exact tridiagonal solves along
  every row and column wire (LAPACK gttrf/gttrs), to a relative residual of 1e-12.

Columns: set-up (order + factorization, or the preconditioner), one solve of 1
and of 64 right-hand sides, the effective matrix (optional: ``--matrix``), the
largest difference from the direct solve, and peak memory of the process.

    python benchmarks/bench_linear.py [--sizes 128x128,784x128] [--engines ...] [--matrix] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

ENGINES = ("superlu-mmd", "superlu-nd", "cholmod", "pcg")


def build(rows, cols):
    from xbar.array.circuit import build_circuit
    from xbar.array.crossbar import Crossbar
    from xbar.device.library import library_device
    rng = np.random.default_rng(0)
    xb = Crossbar(library_device(thickness_nm=1.9, n_cells=3), rng.integers(0, 4, (rows, cols)), row_wire_ohm=1.0, col_wire_ohm=1.0)
    t = time.perf_counter()
    circuit = build_circuit(xb, check=False)
    t_build = time.perf_counter() - t
    return circuit, t_build


def free_system(circuit):
    from xbar.solvers.native import conductance_matrix
    lap = conductance_matrix(circuit)
    fixed = np.zeros(circuit.n_nodes, bool)
    fixed[[0, *circuit.input_nodes, *circuit.sense_nodes]] = True
    free = np.flatnonzero(~fixed)
    lap_free = lap[free]
    c_free = (-lap[circuit.sense_nodes])[:, free].tocsc()
    return free, lap_free[:, free].tocsr(), lap_free[:, circuit.input_nodes].tocsc(), c_free


class Pcg:
    """CG on L_FF preconditioned by its tridiagonal part along the wires (row wires row by row, columns column by column)."""

    def __init__(self, circuit, free, a):
        from scipy.linalg.lapack import dgttrf
        rows, _ = circuit.shape
        kind, i, j = circuit.node_labels[free].T
        row_kind = kind <= 2
        # Row-wire nodes row-major, then column-wire nodes column-major, then top electrodes.
        group = np.where(row_kind, 0, np.where(kind == 3, 2, 1))
        major = np.where(row_kind, i, np.where(kind == 5, i, j))
        minor = np.where(row_kind, np.where(kind <= 1, -1, j), np.where(kind == 5, rows, i))
        self.perm = np.lexsort((minor, major, group))
        ap = a[self.perm][:, self.perm].tocsr()
        self.a = ap
        d, e = ap.diagonal(), ap.diagonal(1)
        self.dl, self.d, self.du, self.du2, self.ipiv, info = dgttrf(e.copy(), d.copy(), e.copy())
        assert info == 0

    def precondition(self, r):
        from scipy.linalg.lapack import dgttrs
        x, info = dgttrs(self.dl, self.d, self.du, self.du2, self.ipiv, r)
        return x

    def solve(self, b, tol=1e-12, maxiter=500):
        b = b[self.perm]
        x = np.zeros_like(b)
        r = b.copy()
        z = self.precondition(r)
        p = z.copy()
        rz = (r * z).sum(0)
        bnorm = np.linalg.norm(b, axis=0)
        for it in range(1, maxiter + 1):
            q = self.a @ p
            alpha = rz / (p * q).sum(0)
            x += alpha * p
            r -= alpha * q
            if (np.linalg.norm(r, axis=0) <= tol * bnorm).all():
                break
            z = self.precondition(r)
            rz_new = (r * z).sum(0)
            p = z + (rz_new / rz) * p
            rz = rz_new
        out = np.empty_like(x)
        out[self.perm] = x
        self.iterations = it
        return out


def run_engine(engine, rows, cols, matrix, repeat):
    """Time one engine on one array in this process; returns a dict."""
    from threadpoolctl import threadpool_limits
    circuit, t_build = build(rows, cols)
    free, a, lap_fs, c_free = free_system(circuit)
    rng = np.random.default_rng(1)
    b1 = -(lap_fs @ rng.uniform(0, 0.1, rows))
    b64 = np.asfortranarray(-(lap_fs @ rng.uniform(0, 0.1, (rows, 64))))
    out = dict(engine=engine, array=f"{rows}x{cols}", nodes=circuit.n_nodes, build_s=t_build)
    best = lambda ts: min(ts)  # noqa: E731
    setups, s1, s64, mats = [], [], [], []
    for _ in range(repeat):
        t = time.perf_counter()
        if engine == "superlu-nd":
            from xbar.solvers import NativeSolver
            solver = NativeSolver(circuit)
            factor = solver.factor
            solve = factor.solve
        elif engine == "superlu-mmd":
            from scipy.sparse.linalg import splu
            with threadpool_limits(1, user_api="blas"):
                lu = splu(a.tocsc(), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                          options=dict(SymmetricMode=True))
            solve = lambda b: lu.solve(np.asfortranarray(b))  # noqa: E731
        elif engine == "cholmod":
            import cholespy
            coo = a.tocoo()
            chol = cholespy.CholeskySolverD(a.shape[0], coo.row.astype(np.int32), coo.col.astype(np.int32),
                                            coo.data, cholespy.MatrixType.COO)

            def solve(b):
                b = np.ascontiguousarray(b)
                x = np.zeros_like(b)
                chol.solve(b, x)
                return x
        else:
            pcg = Pcg(circuit, free, a)
            solve = pcg.solve
        setups.append(time.perf_counter() - t)
        with threadpool_limits(1, user_api="blas"):
            t = time.perf_counter()
            x1 = solve(b1[:, None] if engine == "pcg" else b1)
            s1.append(time.perf_counter() - t)
            if engine == "pcg":
                out["pcg_iterations_1"] = pcg.iterations
            t = time.perf_counter()
            x64 = solve(b64)
            s64.append(time.perf_counter() - t)
            if engine == "pcg":
                out["pcg_iterations_64"] = pcg.iterations
        if matrix:
            t = time.perf_counter()
            if engine == "superlu-nd":
                solver._matrix = None
                m = solver.effective_matrix()
            else:
                m = np.empty((cols, rows))
                for k in range(0, cols, 48):
                    y = solve(np.asfortranarray(c_free[k:k + 48].T.toarray()))
                    m[k:k + 48] = -(lap_fs.T @ y).T
            mats.append(time.perf_counter() - t)
    x1 = np.asarray(x1).reshape(-1)
    res = np.abs(a @ x1 - b1).max() / np.abs(b1).max()
    res64 = np.abs(a @ x64 - b64).max() / np.abs(b64).max()
    out.update(setup_s=best(setups), solve1_s=best(s1), solve64_s=best(s64), residual=max(res, res64),
               matrix_s=best(mats) if mats else None,
               peak_gib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)
    if matrix:
        np.save(f"/tmp/bench_linear_{os.getpid()}_m.npy", m)
        out["matrix_file"] = f"/tmp/bench_linear_{os.getpid()}_m.npy"
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="128x128,256x256,784x128,512x512")
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--matrix", action="store_true", help="also build the effective matrix with each engine")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is reported")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        engine, size = args.one.split("@")
        rows, cols = (int(v) for v in size.split("x"))
        print(json.dumps(run_engine(engine, rows, cols, args.matrix, args.repeat)))
        return 0
    print(f"load average at start: {os.getloadavg()[0]:.1f}\n")
    print("| array | nodes | engine | set-up (s) | solve 1 (ms) | solve 64 (s) | PCG iterations | "
          "effective matrix (s) | max. diff. M vs superlu-nd | residual | peak (GiB) | load |")
    print("|" + "---|" * 12)
    for size in args.sizes.split(","):
        ref = None
        results = []
        for engine in args.engines.split(","):
            cmd = [sys.executable, __file__, "--one", f"{engine}@{size}", "--repeat", str(args.repeat)]
            if args.matrix:
                cmd.append("--matrix")
            load = os.getloadavg()[0]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode:
                print(f"| {size} | | {engine} | failed: {proc.stderr.strip().splitlines()[-1]} |||||||||")
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            r["load"] = load
            results.append(r)
            if engine == "superlu-nd" and args.matrix:
                ref = np.load(r["matrix_file"])
        for r in results:
            diff = "–"
            if ref is not None and r.get("matrix_file"):
                m = np.load(r["matrix_file"])
                diff = f"{np.abs(m - ref).max() / np.abs(ref).max():.1e}"
            if r.get("matrix_file"):
                os.unlink(r["matrix_file"])
            its = f"{r['pcg_iterations_1']} / {r['pcg_iterations_64']}" if "pcg_iterations_1" in r else "–"
            mat = f"{r['matrix_s']:.2f}" if r["matrix_s"] is not None else "–"
            print(f"| {r['array']} | {r['nodes']} | {r['engine']} | {r['setup_s']:.3f} | {1e3 * r['solve1_s']:.1f} "
                  f"| {r['solve64_s']:.3f} | {its} | {mat} | {diff} | {r['residual']:.1e} | {r['peak_gib']:.2f} "
                  f"| {r['load']:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
