"""The effective matrix of a plain linear crossbar by nested dissection on dense Schur complements, batched.

Every cell (i, j) of a standard crossbar holds two nodes: its row wire r_ij and
its column wire c_ij, joined by the device (its exact equivalent conductance,
access resistor in series). Row wires run r_i0 - r_i1 - ..., fed at r_i0 from
the source through driver and first segment; column wires run c_0j - c_1j - ...
into the sense element at c_(R-1)j. With the sources as current injections and
the sense elements as conductances to ground, the sense currents are
``g_out (A^-1)[out, in] g_in V``: only the Schur complement of the nodal
matrix A onto the ports (r_i0 and c_(R-1)j) is needed.

It is computed bottom-up over a quadtree of blocks (nested dissection, George
1973, on the array's own geometry): a block of h x w cells is kept as the dense
Schur complement of everything in it onto its edges: the row-wire nodes of its
first column and of the column after its last, the column-wire nodes of its
first row and of the row after its last (below the last row: one virtual node
per column, see :func:`_leaves`); the array's open ends (the row wires' last
cells, the column wires' first) are no edge. Two neighbouring blocks share an
edge: merging them adds their Schur complements there and eliminates it (a
Cholesky factorization and one symmetric update). The blocks of one level all
have the same size, so a level is a few batched dense operations over at most
four kinds of block (touching the array's top edge, its right edge, both or
neither), from single cells up to the whole array, in chunks of arrays small
enough for malloc to reuse. On a 1024x1024 tile: 6.2 s of one core and 0.75 GiB
(load 5), where SuperLU's factorization and the extraction of its trailing
factor took 19 s and 3.9 GiB (benchmarks/RESULTS.md); and more exactly
(Cholesky on SPD blocks): 2.5e-12 of the line-current CG's answer at 512x512,
against 8.4e-12.

It applies to plain crossbars (:func:`is_standard`) whose sides are powers of
two, from :data:`MIN_CELLS` on, with non-zero row and column wire resistance and
no temperature model (:func:`applies`); other circuits take the sparse route
(:class:`~xbar.solvers.native.NativeSolver`).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import blas, cho_factor, cho_solve, cholesky, solve_triangular
from threadpoolctl import threadpool_limits

from xbar.array.circuit import Circuit

#: Smallest array (rows * cols) for which the effective matrix takes this route; smaller ones factorize in
#: well under a second.
MIN_CELLS = 128 * 128
#: Most matrix entries per batch of blocks merged at once: arrays of up to 8 MiB, which malloc serves from
#: memory it reuses instead of fresh pages (on the 2-core machine the kernel's page faults on fresh memory
#: took a third of the time).
CHUNK_ENTRIES = 2 ** 20
#: Largest shared edge solved in one batched numpy call; larger ones go one by one through LAPACK.
BATCH_MAX = 128


def is_standard(circuit: Circuit) -> bool:
    """True when ``circuit`` holds exactly its crossbar's uniform wires, drivers, access and sense resistors."""
    xbar = circuit.crossbar
    expected = {"Rdrv": xbar.driver_ohm, "Rr": xbar.row_wire_ohm, "Ra": xbar.access_ohm, "Rc": xbar.col_wire_ohm,
                "Rref": xbar.ref_ohm if xbar.sense == "resistor" else 0.0}
    present = {g.prefix: g for g in circuit.resistors}
    if set(present) - set(expected):
        return False
    return all((name in present) == (ohm > 0) and (name not in present or bool(np.all(present[name].ohm == ohm)))
               for name, ohm in expected.items())




def applies(circuit: Circuit) -> bool:
    """True when this route computes ``circuit``'s effective matrix (else the sparse route does)."""
    rows, cols = circuit.shape
    return (rows * cols >= MIN_CELLS and rows & (rows - 1) == 0 and cols & (cols - 1) == 0
            and circuit.access is None and circuit.crossbar.temperature_c is None and is_standard(circuit)
            and circuit.crossbar.row_wire_ohm > 0 and circuit.crossbar.col_wire_ohm > 0)


def _layout(h: int, w: int, top: bool, right: bool) -> dict:
    """A block's edges, in the order of its Schur complement: name -> (start, length). Left: the row-wire nodes
    of its first column [h]; right: those of the column after its last [h] (absent on the array's right side,
    ``right``: open ends); top: the column-wire nodes of its first row [w] (absent on the array's top side,
    ``top``); bottom: those of the row after its last [w] (the array's sense side: one virtual node each)."""
    out, at = {}, 0
    for name, n, present in (("L", h, True), ("R", h, not right), ("T", w, not top), ("B", w, True)):
        if present:
            out[name] = (at, n)
            at += n
    out["size"] = at
    return out


def _leaves(g: np.ndarray, g_row: float, g_col: float, g_in: float, g_out: float) -> dict:
    """Single cells as blocks: each one's conductance matrix onto its edges, by kind of block.

    A cell's left edge is its own row-wire node, its right edge the next cell's; its top edge its own
    column-wire node, its bottom edge the next row's (on the last row: a virtual node, the last segment and
    the sense element being two conductances 2 g_out in series through it, so that the sense current is
    2 g_out times its voltage). On the array's top row the cell's own column-wire node is an open end: it
    is eliminated at once (the device and the segment below it in series).
    """
    rows, cols = g.shape
    oi, oj = np.divmod(np.arange(rows * cols), cols)
    out = {}
    for top in (False, True):
        for right in (False, True):
            sel = np.flatnonzero(((oi == 0) == top) & ((oj == cols - 1) == right))
            if not len(sel):
                continue
            dev = g.ravel()[sel]
            seg = np.where(oi[sel] == rows - 1, 2.0 * g_out, g_col)  # the column segment below the cell
            lay = _layout(1, 1, top, right)
            lap = np.zeros((len(sel), lay["size"], lay["size"]))
            left, bottom = lay["L"][0], lay["B"][0]
            lap[:, left, left] = np.where(oj[sel] == 0, g_in, 0.0)  # source, driver and first segment
            lap[:, bottom, bottom] = np.where(oi[sel] == rows - 1, 2.0 * g_out, 0.0)
            if not right:
                r = lay["R"][0]
                lap[:, left, left] += g_row
                lap[:, r, r] = g_row
                lap[:, left, r] = lap[:, r, left] = -g_row
            if top:  # device and segment in series from the row wire to the bottom edge
                dev = seg = dev * seg / (dev + seg)
                lap[:, left, bottom] = lap[:, bottom, left] = -dev
            else:
                t = lay["T"][0]
                lap[:, t, t] = dev + seg
                lap[:, left, t] = lap[:, t, left] = -dev
                lap[:, t, bottom] = lap[:, bottom, t] = -seg
            lap[:, left, left] += dev
            lap[:, bottom, bottom] += seg
            out[top, right] = (oi[sel], oj[sel], lap)
    return out


def _merge(level: dict, h: int, w: int, nb: tuple, vertical: bool) -> dict:
    """The next level: pairs of h x w blocks merged one above the other (``vertical``) or side by side.

    ``level``: kind (top, right) -> (block row [m], block column [m], matrices [m, n, n]); ``nb``: blocks per
    column and per row at this level. The two blocks share an edge (the upper one's bottom is the lower one's
    top; the left one's right the right one's left): their Schur complements add there, and it is eliminated.
    """
    index = {kind: np.full(nb, -1) for kind in level}
    for kind, (bi, bj, _) in level.items():
        index[kind][bi, bj] = np.arange(len(bi))
    qb = (nb[0] // 2, nb[1]) if vertical else (nb[0], nb[1] // 2)
    pi, pj = (a.ravel() for a in np.meshgrid(np.arange(qb[0]), np.arange(qb[1]), indexing="ij"))
    ph, pw = (2 * h, w) if vertical else (h, 2 * w)
    out = {}
    for top in (False, True):
        for right in (False, True):
            sel = ((pi == 0) == top) & ((pj == qb[1] - 1) == right)
            if not sel.any():
                continue
            qi, qj = pi[sel], pj[sel]
            if vertical:  # a above b
                ka, kb, ai, aj, bi, bj = (top, right), (False, right), 2 * qi, qj, 2 * qi + 1, qj
            else:  # a left of b
                ka, kb, ai, aj, bi, bj = (top, False), (top, right), qi, 2 * qj, qi, 2 * qj + 1
            parent = _layout(ph, pw, top, right)
            if vertical:
                to_a = {"L": parent["L"][0], "R": parent.get("R", (0,))[0], "T": parent.get("T", (0,))[0]}
                to_b = {"L": parent["L"][0] + h, "R": parent.get("R", (0,))[0] + h, "B": parent["B"][0]}
            else:
                to_a = {"L": parent["L"][0], "T": parent.get("T", (0,))[0], "B": parent["B"][0]}
                to_b = {"R": parent.get("R", (0,))[0], "T": parent.get("T", (0,))[0] + w, "B": parent["B"][0] + w}
            k = parent["size"]
            pairs = [(ka, ai, aj, to_a, "B" if vertical else "R"), (kb, bi, bj, to_b, "T" if vertical else "L")]
            dest = np.empty((len(qi), k, k))
            step = max(1, CHUNK_ENTRIES // (k * k))
            for lo in range(0, len(qi), step):  # chunks small enough for malloc to reuse (see CHUNK_ENTRIES)
                part = slice(lo, lo + step)
                children = [(np.take(level[kind][2], index[kind][ci[part], cj[part]], axis=0), lay,
                             {e: at for e, at in to.items() if e in lay}, shared)
                            for kind, ci, cj, to, shared in pairs for lay in [_layout(h, w, *kind)]]
                _join(children, k, dest[part])
            out[top, right] = (qi, qj, dest)
    return out


def _join(children: list, k: int, out: np.ndarray) -> None:
    """The parent's Schur complement into ``out`` [m, k, k] from two children that share one edge.

    ``children``: (matrices [m, n, n], layout, parent position of each kept edge, name of the shared edge).
    With D the sum of the children's shared blocks and Y the shared rows of both, placed at the parent's
    columns: ``S = blockdiag(children's kept blocks) - Y^T D^-1 Y``.
    """
    m = len(children[0][0])
    # Both children's entries side by side in one row per block (and a zero): every piece of the parent is
    # then one gather along that row (single-axis takes: small blocks are many).
    base = np.concatenate([c[0].reshape(m, -1) for c in children] + [np.zeros((m, 1))], axis=1)
    zero = base.shape[1] - 1
    owner, src, first = np.empty(k, dtype=int), np.empty(k, dtype=int), np.empty(k, dtype=int)
    offset, shared = 0, []
    for i, (child, lay, to, edge) in enumerate(children):
        size = child.shape[1]
        for e, at in to.items():
            owner[at:at + lay[e][1]] = i
            src[at:at + lay[e][1]] = np.arange(lay[e][0], lay[e][0] + lay[e][1])
        start, n = lay[edge]
        shared.append((offset, size, np.arange(start, start + n)))
        first[owner == i] = offset
        offset += size * size
    size = np.array([c[0].shape[1] for c in children])[owner]
    blocks = np.where(owner[:, None] == owner[None, :], first[:, None] + src[:, None] * size[:, None] + src[None, :],
                      zero)
    rows = np.array([shared[o][2] for o in owner]).T  # [n, k]: the shared node t of the column's child
    y = np.take(base, (first + rows * size + src).ravel(), axis=1).reshape(m, n, k)
    d = sum(np.take(base, (off + sh[:, None] * sz + sh[None, :]).ravel(), axis=1) for off, sz, sh in shared)
    d = d.reshape(m, n, n)
    if n == 1:  # one shared node: a rank-one update (a batch of outer products, not of 1x1 LAPACK calls)
        yt = y[:, 0, :, None]
        np.matmul(yt, yt.transpose(0, 2, 1) / -d[:, :1, :1], out=out)
    elif n <= BATCH_MAX:
        y = np.linalg.solve(np.linalg.cholesky(d), y)
        np.matmul(y.transpose(0, 2, 1), y, out=out)
        np.negative(out, out=out)
    else:  # large blocks, few of them: LAPACK and a symmetric rank-n update
        for i in range(m):
            z = solve_triangular(cholesky(d[i], lower=True, check_finite=False), y[i], lower=True,
                                 check_finite=False)
            upper = blas.dsyrk(-1.0, z, trans=1)
            out[i] = upper
            out[i] += np.triu(upper, 1).T
    out += np.take(base, blocks.ravel(), axis=1).reshape(m, k, k)


def effective_matrix(circuit: Circuit, device_siemens: np.ndarray) -> np.ndarray:
    """M [cols, rows] in siemens of a circuit that :func:`applies`: sense currents = inputs @ M.T.

    ``device_siemens`` [rows, cols]: the devices' equivalent conductances
    (:func:`~xbar.solvers.native.device_transfer`; the access resistor is added here).
    """
    xbar = circuit.crossbar
    rows, cols = circuit.shape
    ohm = {g.prefix: float(g.ohm[0]) for g in circuit.resistors}
    g_dev = device_siemens
    if "Ra" in ohm:
        g_dev = g_dev / (1.0 + ohm["Ra"] * g_dev)
    g_in = 1.0 / (ohm.get("Rdrv", 0.0) + ohm["Rr"])
    g_out = 1.0 / (ohm["Rc"] + (ohm.get("Rref", 0.0) if xbar.sense == "resistor" else 0.0))
    h = w = 1
    with threadpool_limits(1, user_api="blas"):  # threads only wait on each other on a busy machine (10-25x)
        level = _leaves(g_dev, 1.0 / ohm["Rr"], 1.0 / ohm["Rc"], g_in, g_out)
        while h < rows or w < cols:
            vertical = w == cols or (h <= w and h < rows)
            level = _merge(level, h, w, (rows // h, cols // w), vertical)
            h, w = (2 * h, w) if vertical else (h, 2 * w)
        return _port_matrix(level[True, True][2][0], rows, 2.0 * g_out * g_in)


def _port_matrix(s: np.ndarray, rows: int, scale: float) -> np.ndarray:
    """``scale (S^-1)[out, in]`` from the Schur complement s onto [in ports (rows), out nodes]."""
    # (S^-1)[out, in] = -T^-1 S_oi S_ii^-1 with T = S_oo - S_oi S_ii^-1 S_io.
    low = cholesky(s[:rows, :rows], lower=True, check_finite=False)
    y = solve_triangular(low, s[:rows, rows:], lower=True, check_finite=False)
    t = s[rows:, rows:] - y.T @ y
    wt = solve_triangular(low, y, lower=True, trans="T", check_finite=False)  # S_ii^-1 S_io
    return -scale * cho_solve(cho_factor(t, check_finite=False), wt.T, check_finite=False)
