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
    m[0] = diag[0]
    c[0] = -upper[0] / m[0]
    for k in range(1, n):
        m[k] = diag[k] - lower * c[k - 1]
        c[k] = -upper[k] / m[k]
    out = []
    for r in rhs:
        d = np.empty_like(r)
        d[0] = r[0] / m[0]
        for k in range(1, n):
            d[k] = (r[k] - lower * d[k - 1]) / m[k]
        for k in range(n - 2, -1, -1):
            d[k] -= c[k] * d[k + 1]
        out.append(d)
    return out
