"""Fill-reducing elimination order for a crossbar's nodal matrix: geometric nested dissection.

Every node of a crossbar sits at a cell (i, j) of the array, and its wires only
reach neighbouring cells: a row-wire segment joins (i, j) to (i, j+1), a
column-wire segment (i, j) to (i+1, j). A line of row-wire nodes at column j
therefore cuts the array into a left and a right half, and a line of
column-wire nodes at row i into a top and a bottom half. Cutting the longer
side in two, recursively, and numbering each cut after both halves is nested
dissection (George 1973): on an n-node grid it fills the factor with
O(n log n) entries instead of the O(n^1.5) of minimum-degree orderings, so a
1024x1024 tile factorizes in a fraction of SuperLU's own ordering's time and
memory. The order is computed level by level on whole arrays, without
recursion in Python.
"""

from __future__ import annotations

import numpy as np

from xbar.array.circuit import Circuit

#: Largest box of cells (rows * cols) left to the natural order.
LEAF_CELLS = 32

#: What a node's wire can be cut by: a vertical cut (row-wire kinds), a horizontal one
#: (column-wire kinds), or either (top electrodes hang between both).
_ROW_CUT, _COL_CUT, _ANY_CUT = 0, 1, 2


def nested_dissection(row: np.ndarray, col: np.ndarray, cut: np.ndarray,
                      leaf_cells: int = LEAF_CELLS) -> np.ndarray:
    """A permutation of nodes [n] that numbers every separator after the two halves it separates.

    ``row``, ``col`` [n] are each node's cell coordinates; ``cut`` [n] says which
    cuts may take it as separator (0: vertical, i.e. a row-wire node; 1:
    horizontal, a column-wire node; 2: either). Boxes of at most ``leaf_cells``
    cells keep their nodes' given order.
    """
    n = len(row)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    lo_i, hi_i = np.full(n, row.min()), np.full(n, row.max() + 1)
    lo_j, hi_j = np.full(n, col.min()), np.full(n, col.max() + 1)
    # Base-3 digits per level: 0 first half, 1 second half, 2 separator (numbered after both).
    key = np.zeros(n, dtype=np.int64)
    depth = np.zeros(n, dtype=np.int64)
    active = np.arange(n)
    level = 0
    while len(active):
        level += 1
        a = active
        h, w = hi_i[a] - lo_i[a], hi_j[a] - lo_j[a]
        vertical = w >= h
        mid = np.where(vertical, (lo_j[a] + hi_j[a]) // 2, (lo_i[a] + hi_i[a]) // 2)
        pos = np.where(vertical, col[a], row[a])
        sep = (pos == mid) & (cut[a] != np.where(vertical, _COL_CUT, _ROW_CUT))
        done = (h * w <= leaf_cells) | sep
        first = pos <= mid
        key[a] = 3 * key[a] + np.where(done, 2, np.where(first, 0, 1))
        depth[a[done]] = level
        split = ~done
        shrink_hi = split & first
        shrink_lo = split & ~first
        for mask, bound, value in ((shrink_hi & vertical, hi_j, mid + 1), (shrink_lo & vertical, lo_j, mid + 1),
                                   (shrink_hi & ~vertical, hi_i, mid + 1), (shrink_lo & ~vertical, lo_i, mid + 1)):
            bound[a[mask]] = value[mask]
        active = a[split]
        if level > 60:  # 3**39 < 2**63; boxes halve each level, so this only guards the encoding
            raise AssertionError("nested dissection did not terminate")
    # Pad shorter digit strings with zeros so that a separator sorts after its whole subtree.
    key *= 3 ** (level - depth)
    return np.argsort(key, kind="stable")


def crossbar_order(circuit: Circuit, nodes: np.ndarray, last: np.ndarray | None = None) -> np.ndarray:
    """Nested-dissection order of ``nodes`` (node ids), as positions into ``nodes``.

    ``last`` [k] (positions into ``nodes``) are numbered last, in the given
    order, e.g. the ports of a Schur complement.
    """
    rows, _ = circuit.shape
    kind, i, j = circuit.node_labels[nodes].T
    # Kinds (see circuit.NODE_KINDS): 0 in, 1 d, 2 r, 3 t, 4 c, 5 o.
    row = np.where(kind == 5, rows, i)
    col = np.where(kind == 5, i, np.where(kind <= 1, -1, j))
    cut = np.select([kind <= 2, kind == 3], [_ROW_CUT, _ANY_CUT], _COL_CUT)
    if last is None or not len(last):
        return nested_dissection(row, col, cut)
    inner = np.ones(len(nodes), dtype=bool)
    inner[last] = False
    inner = np.flatnonzero(inner)
    return np.concatenate([inner[nested_dissection(row[inner], col[inner], cut[inner])], np.asarray(last)])
