"""Batched tridiagonal solves along the first axis, for the chains of channel nodes inside compound devices."""

from __future__ import annotations

import numpy as np


def tridiagonal(diag: np.ndarray, lower: float, upper: np.ndarray, rhs: tuple) -> list[np.ndarray]:
    """Solve tridiagonal systems along the first axis (Thomas algorithm: the systems are diagonally dominant).

    Row k: ``lower x[k-1] + diag[k] x[k] - upper[k] x[k+1] = rhs[k]``, for each array in ``rhs``
    ([n, ...] like ``diag``); ``upper`` [n] is the coupling to k+1 (0 for the last row).
    """
    n = diag.shape[0]
    c = np.empty_like(diag)
    m = np.empty_like(diag)
    t = np.empty_like(diag[0])  # one scratch row: every update in place (the rows are large batches)
    m[0] = diag[0]
    np.divide(-upper[0], m[0], out=c[0])
    for k in range(1, n):
        np.multiply(c[k - 1], lower, out=t)
        np.subtract(diag[k], t, out=m[k])
        np.divide(-upper[k], m[k], out=c[k])
    out = []
    for r in rhs:
        d = np.empty_like(r)
        np.divide(r[0], m[0], out=d[0])
        for k in range(1, n):
            np.multiply(d[k - 1], lower, out=t)
            np.subtract(r[k], t, out=d[k])
            d[k] /= m[k]
        for k in range(n - 2, -1, -1):
            np.multiply(c[k], d[k + 1], out=t)
            d[k] -= t
        out.append(d)
    return out
